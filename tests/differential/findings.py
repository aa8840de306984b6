"""Sum up a findings file written with TENSORCORE_DIFF_COLLECT=path.

``cd tests && python -m differential.findings path [--examples K]`` prints, per op, each
distinct kind of difference (its message with numbers, shapes and values stripped), how many
examples showed it, and the shortest repro of each.
"""

from __future__ import annotations

import argparse
import collections
import json
import re

_VARIABLE = re.compile(r"\(index \[.*?\]: .*?\)|-?\d+(\.\d+)?(e[-+]?\d+)?|\(\d+(, \d+)*,?\)"
                       r"|np\.\w+\(.*?\)|'[^']*'|\[[\d, ]*\]")


def signature(diff: str) -> str:
    """A difference message with what varies between examples taken out."""
    return _VARIABLE.sub("#", diff)


def summarize(path: str, examples: int = 1) -> str:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    groups: dict = collections.defaultdict(list)
    for r in rows:
        for d in r["diffs"]:
            groups[(r["op"], signature(d))].append(r)
    per_op = collections.Counter(r["op"] for r in rows)
    out = [f"{len(rows)} differing examples in {len(per_op)} ops"]
    for op, n in sorted(per_op.items(), key=lambda kv: -kv[1]):
        out.append(f"\n## {op}: {n} examples")
        kinds = sorted(((k, v) for k, v in groups.items() if k[0] == op),
                       key=lambda kv: -len(kv[1]))
        for (_, sig), members in kinds:
            out.append(f"- {len(members)} x {sig}")
            for r in sorted(members, key=lambda r: len(r["repro"]))[:examples]:
                out.append(f"    {r['repro'][:300]}")
                out.append(f"      -> {[d for d in r['diffs'] if signature(d) == sig][0][:300]}")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--examples", type=int, default=1)
    a = p.parse_args()
    print(summarize(a.path, a.examples))


if __name__ == "__main__":
    main()
