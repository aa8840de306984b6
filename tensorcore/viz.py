"""Pictures of the autograd graph: ``make_dot(tensor)``, as torchviz draws PyTorch's.

``make_dot`` walks the graph that ``tensor.backward()`` would walk (the ``grad_fn`` nodes and
their edges, as the engine follows them) and returns a :class:`Digraph`: one box per op (its
Function's name and output shape), one per leaf that requires grad (named from ``params``),
the tensors each op saved for backward (small orange boxes, dashed), and the root tensor.
``.source`` is Graphviz DOT text. Pictures come from the ``dot`` program where it is on PATH,
else from a pure-Python layered layout drawn with matplotlib, so a notebook shows one on any
machine (``_repr_svg_`` / ``_repr_png_``).

Choices for odd input: a leaf that requires grad is drawn alone (as torchviz does; its
backward accumulates into it); a tensor that needs no gradient (plain, or made under
``no_grad``) has no graph: ValueError. A graph already walked by ``backward()`` without
``retain_graph`` keeps its edges, only the saved values are gone: it is drawn, each freed
op marked "(freed)", with a warning saying so. Past ``max_nodes`` ops and leaves the drawing
keeps those nearest the root and one "... N more nodes" box (``summarised`` is True).

>>> import tensorcore as tc
>>> from tensorcore.viz import make_dot
>>> w = tc.ones(2, 3, requires_grad=True)
>>> x = tc.ones(2, 3)
>>> g = make_dot((w * x).sum(), params={"w": w})
>>> g
<Digraph: 2 ops, 1 leaf, 1 saved tensor, 5 boxes, 4 edges>
>>> print(g.source.splitlines()[0])
digraph {
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from .autograd.function import FREED, Function, _SavedOutput
from .tensor import Tensor
from .utils.atomic import atomic_write

__all__ = ["Digraph", "make_dot"]

# Box styles (Graphviz attributes), torchviz's colours: root green, leaves blue, saved orange.
_STYLE = {
    "root": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
    "op": 'shape=box, style=filled, fillcolor="lightgrey"',
    "leaf": 'shape=box, style=filled, fillcolor="lightblue"',
    "saved": 'shape=box, style=filled, fillcolor="orange", fontsize=10',
    "more": 'shape=box, style=dashed',
}
_COLOUR = {"root": "#caff70", "op": "#d3d3d3", "leaf": "#add8e6", "saved": "#ffa500",
           "more": "white"}


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ")"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class Digraph:
    """A drawn graph: boxes (``nodes``: id, label, kind), arrows (``edges``: from input to
    consumer, dashed for saved tensors), its DOT ``source``, and pictures of it.

    ``summarised``: whether boxes were left out past ``max_nodes`` (``hidden`` of them);
    ``freed``: how many ops lost their saved values to a ``backward()``."""

    def __init__(self, nodes: list, edges: list, counts: dict, hidden: int, freed: int):
        self.nodes, self.edges, self.counts = nodes, edges, counts
        self.hidden, self.freed = hidden, freed
        self.summarised = hidden > 0

    # -- text ------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The graph as Graphviz DOT text (top to bottom: inputs above, the root below)."""
        lines = ["digraph {", '\tgraph [size="12,12"]',
                 '\tnode [align=left, fontname=monospace, fontsize=10, height=0.2, '
                 'ranksep=0.1]']
        for nid, label, kind in self.nodes:
            lines.append(f'\t{nid} [label="{_escape(label)}", {_STYLE[kind]}]')
        for src, dst, dashed in self.edges:
            lines.append(f"\t{src} -> {dst}" + (" [style=dashed]" if dashed else ""))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        c = self.counts
        parts = [_plural(c["op"], "op"), _plural(c["leaf"], "leaf").replace("leafs", "leaves"),
                 _plural(c["saved"], "saved tensor"), _plural(len(self.nodes), "box")
                 .replace("boxs", "boxes"), _plural(len(self.edges), "edge")]
        if self.freed:
            parts.append(f"{self.freed} freed by backward()")
        if self.summarised:
            parts.append(f"summarised: {self.hidden} more nodes not drawn")
        return f"<Digraph: {', '.join(parts)}>"

    # -- pictures --------------------------------------------------------------------------
    @staticmethod
    def engine() -> str:
        """Which renderer draws: ``"dot"`` where Graphviz is on PATH, else ``"matplotlib"``."""
        return "dot" if shutil.which("dot") else "matplotlib"

    def pipe(self, format: str = "png") -> bytes:
        """The picture as bytes, ``format`` ``"png"`` or ``"svg"``, from the engine in use."""
        if format not in ("png", "svg"):
            raise ValueError(f"make_dot pictures are 'png' or 'svg', got {format!r}")
        if self.engine() == "dot":
            return _run_dot(self.source, format)
        return _draw_matplotlib(self, format)

    def save(self, path) -> Path:
        """Write the picture to ``path`` (PNG or SVG by its suffix), atomically."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg"):
            raise ValueError(f"save: the file name must end in .png or .svg, got {path.name!r}")
        data = self.pipe(fmt)
        with atomic_write(path, "wb") as fh:
            fh.write(data)
        return path

    def _repr_svg_(self) -> str | None:
        """Jupyter's inline picture where Graphviz draws (else None: the PNG is shown)."""
        if self.engine() != "dot":
            return None
        return self.pipe("svg").decode("utf-8")

    def _repr_png_(self) -> bytes | None:
        """Jupyter's inline picture where matplotlib draws (else None: the SVG is shown)."""
        if self.engine() == "dot":
            return None
        return self.pipe("png")


def _escape(label: str) -> str:
    return label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _run_dot(source: str, fmt: str) -> bytes:
    """Graphviz's ``dot`` on the DOT text; its failure is a RuntimeError with its message."""
    try:
        done = subprocess.run(["dot", f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"make_dot: running Graphviz 'dot' failed: {e}") from e
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"make_dot: Graphviz 'dot -T{fmt}' exited with status "
                           f"{done.returncode}: {err or 'no output'}")
    return done.stdout


# -- the walk ------------------------------------------------------------------------------
def make_dot(tensor, params=None, show_saved: bool = True, max_nodes: int = 500) -> Digraph:
    """Draw the graph that ``tensor.backward()`` would walk.

    ``params``: a mapping name -> tensor (e.g. ``dict(model.named_parameters())``) naming
    the leaves; ``show_saved``: draw the tensors each op saved for backward; ``max_nodes``:
    the most ops and leaves drawn, those nearest the root (the rest become one box).

    >>> import tensorcore as tc
    >>> a = tc.ones(3, requires_grad=True)
    >>> g = make_dot((a * 2).exp().sum(), params={"a": a}, show_saved=False)
    >>> [label.split("\\n")[0] for _, label, kind in g.nodes if kind == "op"]
    ['SumBackward0', 'ExpBackward0', 'MulBackward0']
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dot expects a Tensor, got {type(tensor).__name__}")
    if type(show_saved) is not bool:
        raise TypeError(f"make_dot: show_saved must be a bool, got {type(show_saved).__name__}")
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValueError(f"make_dot: max_nodes must be a positive int, got {max_nodes!r}")
    names = _param_names(params)
    if tensor.grad_fn is None and not tensor.requires_grad:
        raise ValueError("make_dot: the tensor has no graph: requires_grad is False and "
                         "grad_fn is None (made from tensors that need no gradient, or under "
                         "no_grad()); nothing for backward() to walk")
    order, hidden = _walk(tensor.grad_fn if tensor.grad_fn is not None else tensor, max_nodes)
    return _build(tensor, order, hidden, names, show_saved)


def _param_names(params) -> dict:
    """id(tensor) -> name, from ``params`` (a mapping name -> Tensor, or None)."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError("make_dot: params must be a mapping name -> Tensor, e.g. "
                        f"dict(model.named_parameters()); got {type(params).__name__}")
    names = {}
    for name, t in params.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dot: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names[id(t)] = str(name)
    return names


def _inputs(item) -> list:
    """What the engine walks to from ``item``: a node's edge targets (nodes, or leaves)."""
    if not isinstance(item, Function):
        return []  # a leaf: the walk ends there
    return [e[0] for e in item._edges if e is not None]


def _walk(start, max_nodes: int) -> tuple[list, int]:
    """Breadth first from ``start`` along the engine's edges: the first ``max_nodes`` items
    (nodes and leaves, each once; nearest the root first), and how many more there are. One
    pass over the graph, iterative, so a graph of any depth neither recurses nor hangs."""
    seen = {id(start)}
    queue = deque([start])
    order = []
    hidden = 0
    while queue:
        item = queue.popleft()
        if len(order) < max_nodes:
            order.append(item)
        else:
            hidden += 1
        for target in _inputs(item):
            if id(target) not in seen:
                seen.add(id(target))
                queue.append(target)
    return order, hidden


def _saved_shapes(node: Function) -> list:
    """(index, shape, tensor or None) of each tensor ``node`` saved for backward."""
    saved = node._saved
    if type(saved) is not tuple:
        return []
    out = []
    for i, entry in enumerate(saved):
        if type(entry) is _SavedOutput:
            out.append((i, entry.data.shape, None))
        elif type(entry) is tuple and isinstance(entry[0], Tensor):
            out.append((i, entry[0].shape, entry[0]))
    return out


def _build(root: Tensor, order: list, hidden: int, names: dict, show_saved: bool) -> Digraph:
    """Boxes and arrows for the walked items (``order``), the root tensor and the summary."""
    ids = {id(item): f"n{i}" for i, item in enumerate(order)}
    nodes, edges = [], []
    counts = {"op": 0, "leaf": 0, "saved": 0}
    freed = 0
    more_edges = set()  # kept nodes with an input that was not drawn
    for item in order:
        nid = ids[id(item)]
        if not isinstance(item, Function):
            name = names.get(id(item))
            label = _shape(item.shape) if name is None else f"{name}\n{_shape(item.shape)}"
            nodes.append((nid, label, "leaf"))
            counts["leaf"] += 1
            continue
        counts["op"] += 1
        label = item.name() + "\n" + " ".join(_shape(m[0]) for m in item._out_meta)
        if item._saved is FREED:
            freed += 1
            label += "\n(freed)"
        nodes.append((nid, label, "op"))
        for target in _inputs(item):
            src = ids.get(id(target))
            if src is not None:
                edges.append((src, nid, False))
            elif nid not in more_edges:
                more_edges.add(nid)
        if show_saved:
            for i, shape, t in _saved_shapes(item):
                sid = f"{nid}s{i}"
                name = names.get(id(t)) if t is not None else None
                head = "saved" if name is None else f"saved: {name}"
                nodes.append((sid, f"{head}\n{_shape(shape)}", "saved"))
                edges.append((sid, nid, True))
                counts["saved"] += 1
    root_name = names.get(id(root), "output")
    if root.grad_fn is not None:  # a lone leaf is its own box; else the root below its op
        nodes.append(("root", f"{root_name}\n{_shape(root.shape)}", "root"))
        edges.append((ids[id(root.grad_fn)], "root", False))
    if hidden:
        nodes.append(("more", f"... {hidden} more nodes", "more"))
        edges.extend(("more", nid, True) for nid in sorted(more_edges, key=_id_order))
    if freed:
        warnings.warn(f"make_dot: {freed} op(s) of this graph were freed by backward() (their "
                      "saved tensors are gone; drawn as '(freed)'); call backward("
                      "retain_graph=True) to keep them", UserWarning, stacklevel=3)
    return Digraph(nodes, edges, counts, hidden, freed)


def _id_order(nid: str) -> int:
    return int(nid[1:])


# -- the pure-Python picture ---------------------------------------------------------------
def layout(nodes: list, edges: list) -> dict:
    """Positions (x, layer) of the boxes: longest-path layers counted from the root (a box
    sits one layer above its furthest consumer), then each layer ordered by the mean place
    of its neighbours (one barycenter pass down, one up) to reduce crossings."""
    consumers = {nid: [] for nid, _, _ in nodes}
    inputs = {nid: [] for nid, _, _ in nodes}
    for src, dst, _ in edges:
        consumers[src].append(dst)
        inputs[dst].append(src)
    # Kahn's order from the sinks (the root): a box is placed once all its consumers are
    pending = {nid: len(c) for nid, c in consumers.items()}
    ready = deque(nid for nid, n in pending.items() if n == 0)
    layer = dict.fromkeys(consumers, 0)
    while ready:
        nid = ready.popleft()
        for src in inputs[nid]:
            layer[src] = max(layer[src], layer[nid] + 1)
            pending[src] -= 1
            if pending[src] == 0:
                ready.append(src)
    rows: list[list] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for nid, _, _ in nodes:
        rows[layer[nid]].append(nid)
    place = {}
    for row in rows:
        place.update((nid, i) for i, nid in enumerate(row))
    for sweep, links in ((range(1, len(rows)), consumers),
                         (range(len(rows) - 2, -1, -1), inputs)):
        for k in sweep:
            row = rows[k]
            row.sort(key=lambda nid: _mean([place[n] for n in links[nid]], place[nid]))
            place.update((nid, i) for i, nid in enumerate(row))
    return {nid: (place[nid] - (len(rows[layer[nid]]) - 1) / 2, layer[nid])
            for row in rows for nid in row}


def _mean(values: list, default: float) -> float:
    return sum(values) / len(values) if values else default


def _draw_matplotlib(graph: Digraph, fmt: str) -> bytes:
    """The layered layout drawn with matplotlib (its Agg canvas: no pyplot, no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pos = layout(graph.nodes, graph.edges)
    depth = max((y for _, y in pos.values()), default=0) + 1
    width = max((abs(x) for x, _ in pos.values()), default=0) * 2 + 1
    fig = Figure(figsize=(min(max(3.0, 1.7 * width), 40.0), min(max(2.0, 0.9 * depth), 80.0)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(-width / 2 - 0.2, width / 2 + 0.2)
    ax.set_ylim(-0.6, depth - 0.4)
    boxes = {}
    for nid, label, kind in graph.nodes:
        x, y = pos[nid]
        boxes[nid] = ax.text(x, y, label, ha="center", va="center", fontsize=7,
                             family="monospace", zorder=2,
                             bbox={"boxstyle": "round,pad=0.3", "facecolor": _COLOUR[kind],
                                   "edgecolor": "#333333",
                                   "linestyle": "--" if kind == "more" else "-"})
    fig.canvas.draw()  # places the boxes, so that each arrow is clipped at their edges
    for src, dst, dashed in graph.edges:
        ax.annotate("", xy=pos[dst], xytext=pos[src], zorder=3,
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 1,
                                "shrinkB": 1, "patchA": boxes[src].get_bbox_patch(),
                                "patchB": boxes[dst].get_bbox_patch(),
                                "linestyle": "--" if dashed else "-"})
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100)
    return buf.getvalue()
