"""Command line: ``tensorcore demo`` (also ``python -m tensorcore [demo]``) and
``tensorcore train`` (``tensorcore.cli.train``: tune, train and test an MLP on a bundled
dataset; ``tensorcore train --help``).

``demo`` trains a two-layer network (2 -> hidden ReLU -> 2) by full-batch gradient descent
on two interleaving spirals drawn from a seeded generator (nothing is downloaded), printing
the loss as it falls and the final training accuracy::

    tensorcore demo --epochs 300 --hidden 32 --backend numpy

With no subcommand, ``demo`` runs. Subcommands live in ``_build_parser``; each has a
``func(args) -> exit code`` and can share the options of ``tensorcore.cli.options``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.cli.options import (
    Parser,
    add_device_options,
    finite_positive_float,
    int_range,
    positive_int,
    seed_int,
    select_device,
)
from tensorcore.cli.train import add_train_parser


# -- data ---------------------------------------------------------------------------------------
def make_spirals(n: int = 400, seed: int = 0, turns: float = 1.5, noise: float = 0.04):
    """Two interleaving spirals: ``(x, y)``, float32 points (n, 2) and int64 labels (n,).

    Class ``c`` lies on the arm ``r (cos(t + c pi), sin(t + c pi))`` with ``r = t / t_max``
    scaled to [0, 2]; Gaussian noise of scale ``noise`` is added. ``n`` is rounded down to an
    even number; the same seed gives the same points.
    """
    rng = np.random.default_rng(seed)
    per = n // 2
    t_max = 2 * np.pi * turns
    xs, ys = [], []
    for c in range(2):
        t = np.sqrt(rng.random(per)) * t_max  # sqrt: points spread evenly along the arm
        r = 2 * t / t_max
        pts = np.stack([r * np.cos(t + c * np.pi), r * np.sin(t + c * np.pi)], axis=1)
        xs.append(pts + rng.normal(scale=noise, size=pts.shape))
        ys.append(np.full(per, c, dtype=np.int64))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


# -- demo ---------------------------------------------------------------------------------------
def _forward(x, params):
    w1, b1, w2, b2 = params
    return F.linear(F.linear_act(x, w1, b1, "relu"), w2, b2)


def _accuracy(logits, y) -> float:
    return (logits.argmax(1) == y).float().mean().item()


def _init_params(n_in: int, hidden: int, n_out: int, dev):
    """He-normal first layer with biases uniform on [-1, 1] (so the ReLU kinks do not all
    pass through the origin, where the spirals start), small second layer, zero bias."""
    w1 = tc.randn(hidden, n_in, device=dev) * float(np.sqrt(2.0 / n_in))
    b1 = tc.rand(hidden, device=dev) * 2 - 1
    w2 = tc.randn(n_out, hidden, device=dev) * float(np.sqrt(1.0 / hidden))
    b2 = tc.zeros(n_out, device=dev)
    return [p.requires_grad_() for p in (w1, b1, w2, b2)]


def run_demo(args) -> int:
    """Train and report; returns the exit status."""
    with contextlib.ExitStack() as stack:
        dev = select_device(args, stack)
        backend = tc.backends.get_backend(dev)
        tc.manual_seed(args.seed)
        xs, ys = make_spirals(args.points, seed=args.seed)
        x = tc.tensor(xs, device=dev)
        y = tc.tensor(ys, device=dev)
        params = _init_params(x.shape[1], args.hidden, 2, dev)
        every = args.log_every or max(1, args.epochs // 10)

        print(f"tensorcore demo: 2 -> {args.hidden} (ReLU) -> 2 network, "
              f"{x.shape[0]} points on two interleaving spirals")
        print(f"device {dev}, backend {backend.name}, {x.dtype}, full-batch gradient descent, "
              f"lr {args.lr:g}, {args.epochs} epochs, seed {args.seed}")
        start = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            loss = F.cross_entropy(_forward(x, params), y)
            loss.backward()
            with tc.no_grad():
                for p in params:
                    p -= args.lr * p.grad
                    p.grad = None
            if epoch == 1 or epoch % every == 0 or epoch == args.epochs:
                value = loss.item()
                print(f"epoch {epoch:>{len(str(args.epochs))}}  loss {value:.4f}")
                if not math.isfinite(value):
                    return _diverged(args, value, epoch)
        with tc.no_grad():
            logits = _forward(x, params)
            final_loss = F.cross_entropy(logits, y).item()
            acc = _accuracy(logits, y)
        if not math.isfinite(final_loss):
            return _diverged(args, final_loss, args.epochs)
        seconds = time.perf_counter() - start
        print(f"final loss {final_loss:.4f}  train accuracy {100 * acc:.1f}%  ({seconds:.2f} s)")
    return 0


def _diverged(args, loss: float, epoch: int) -> int:
    print(f"{args.parser.prog}: error: the loss is {loss} at epoch {epoch}: training "
          f"diverged (try a smaller --lr than {args.lr:g})", file=sys.stderr)
    return 1


# -- command line -------------------------------------------------------------------------------
def _build_parser() -> Parser:
    parser = Parser(
        prog="tensorcore",
        description="tensorcore: a multi-backend array and reverse-mode autodiff engine.",
        epilog="With no command, 'demo' runs.")
    parser.add_argument("--version", action="version", version=f"tensorcore {tc.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="train a small network on synthetic data (a few seconds)",
        description="Train a two-layer ReLU network by gradient descent on two interleaving "
                    "spirals (generated from --seed, no downloads); print the loss and the "
                    "final training accuracy.")
    add_device_options(demo)
    demo.add_argument("--epochs", type=positive_int, default=500,
                      help="full-batch gradient steps (default: 500)")
    demo.add_argument("--hidden", type=positive_int, default=64,
                      help="hidden units (default: 64)")
    demo.add_argument("--lr", type=finite_positive_float, default=1.0,
                      help="learning rate (default: 1.0)")
    demo.add_argument("--seed", type=seed_int, default=0,
                      help="seed for the data and the initial weights, 0 to 2**32 - 1 "
                           "(default: 0)")
    demo.add_argument("--points", type=int_range(2), default=400,
                      help="number of training points (default: 400)")
    demo.add_argument("--log-every", type=positive_int, default=None,
                      help="print the loss every N epochs (default: epochs / 10)")
    demo.set_defaults(func=run_demo, parser=demo)
    add_train_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``tensorcore`` console script and ``python -m tensorcore``.

    Bad arguments exit with status 2 and one line on stderr (``Parser.error``); a failure of
    the machine during the run (a file that cannot be written, a full disk, memory) exits
    with status 1 and one line, Ctrl-C with status 130."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")  # no subcommand: the demo, with any options given
    args = _build_parser().parse_args(argv)
    prog = args.parser.prog
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (``| head``): nothing more can be shown; stdout is
        # pointed at devnull so that the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except MemoryError as e:
        print(f"{prog}: error: out of memory{f' ({e})' if str(e) else ''}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
