"""IRQ-state bugs planted in real Xen trees (tests/lint/irq_injection.py),
each file linted alone as the pre-commit hook lints it: how many are
reported with the expected check at the planted line, per shape and tree,
and what else the planting changed in that function.

    .venv/bin/python bench/irq_injected.py [--per-shape N] XEN_DIR...

Exit 3 when some planted bug was missed (the figures are then a partial
success, not a pass).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from lint.irq_injection import SHAPES, irq_planted  # noqa: E402

from xenpatch.lint.run import lint_files  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-shape", type=int, default=10)
    ap.add_argument("trees", nargs="+", type=Path)
    a = ap.parse_args()
    os.environ.setdefault("XENPATCH_CACHE", tempfile.mkdtemp(prefix="irqinj-"))
    missed_any = False
    for xen in a.trees:
        t0, c0 = time.time(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
        injs = irq_planted(xen, a.per_shape)
        got: Counter[str] = Counter()
        tot: Counter[str] = Counter()
        for inj in injs:
            path = xen / inj.rel
            [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
            tot[inj.shape] += 1
            hit = [f for f in r.findings if f.check == inj.check and f.line == inj.line]
            if hit:
                got[inj.shape] += 1
            else:
                missed_any = True
                there = sorted((f.line, f.check) for f in r.findings
                               if f.function == inj.function)
                print(f"  missed {inj}: {there}")
        wall = time.time() - t0
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - c0
        row = ", ".join(f"{s} {got[s]}/{tot[s]}" for s in SHAPES)
        print(f"{xen}: {sum(got.values())}/{sum(tot.values())} ({row}); "
              f"wall {wall:.1f} s, cpu {cpu:.1f} s, load {os.getloadavg()[0]:.2f}")
    return 3 if missed_any else 0


if __name__ == "__main__":
    sys.exit(main())
