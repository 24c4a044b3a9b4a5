"""CPU cost of one lint check on a whole tree, file by file (the hook's
setting: no cross-file pass).

    .venv/bin/python bench/check_cost.py [--check XL017] [--rounds N] [XEN_DIR]

Lints every .c file under XEN_DIR (default: Debian's 4.17) in this one
process with the rules as they are and with the check switched off (for
XL017 also its eras, so nothing of it runs), alternating, after one warm-up
pass; prints each round's CPU (time.process_time) and wall time, the best
CPU ratio, and the load average.  No assertion: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenpatch.lint.config import LintConfig  # noqa: E402
from xenpatch.lint.filelint import lint_file  # noqa: E402

DEFAULT_XEN = Path.home() / ".cache/xenpatch/xen-src/xen-4.17.5+72-g01140da4e8/xen"


def one_pass(files: list[Path], config: LintConfig) -> tuple[float, float, int]:
    c0, w0, n = time.process_time(), time.time(), 0
    for p in files:
        n += len(lint_file(p, str(p), config).findings)
    return time.process_time() - c0, time.time() - w0, n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", default="XL017")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("xen", nargs="?", type=Path, default=DEFAULT_XEN)
    a = ap.parse_args()
    on = LintConfig.load()
    off = replace(on, enabled=on.enabled - {a.check})
    if a.check == "XL017":
        off = replace(off, irqsafe_eras=())
    files = sorted(a.xen.rglob("*.c"))
    one_pass(files, off)  # the header indexes and parses of inlines, once
    got: dict[str, list[tuple[float, float, int]]] = {"with": [], "without": []}
    for r in range(a.rounds):
        order = [("without", off), ("with", on)] if r % 2 == 0 else [("with", on),
                                                                     ("without", off)]
        for name, c in order:
            got[name].append(one_pass(files, replace(c)))
    for name, runs in got.items():
        print(f"{a.check} {name:7}: " + "  ".join(
            f"cpu {c:.2f} s wall {w:.1f} s ({n} findings)" for c, w, n in runs))
    best = min(c for c, _, _ in got["with"]) / min(c for c, _, _ in got["without"])
    print(f"best CPU ratio with/without: {best:.3f}; load {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
