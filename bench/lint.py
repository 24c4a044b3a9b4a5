"""Figures for `xenpatch lint` on the whole xen/ of Xen 4.17.

    .venv/bin/python bench/lint.py [XEN_DIR]

Prints: wall time of the lint with 2 worker processes, wall time of a
parse-only pass over the same files with the same 2 processes, their ratio
(target: lint <= 1.5x parse-only), the peak RSS of each worker (target:
< 200 MB), and the wall time of one `xenpatch lint` process on
common/grant_table.c, interpreter start included (target: < 0.4 s; the best
of 5 runs, so page cache and CPU frequency noise count against us once).
No assertion: the machine's load is not ours to judge.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_XEN = Path.home() / ".cache/xenpatch/xen-src/xen-4.17.5+72-g01140da4e8/xen"
JOBS = 2

_CONFIG = None


def _init_lint() -> None:
    global _CONFIG
    from xenpatch.lint.analyze import LintConfig

    _CONFIG = LintConfig.load()


def _init_parse() -> None:
    global _CONFIG
    from xenpatch.c.masking import default_macro_table

    _CONFIG = default_macro_table()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lint_one(path: str) -> tuple[int, float, int]:
    from xenpatch.lint.analyze import lint_file

    r = lint_file(Path(path), path, _CONFIG)  # type: ignore[arg-type]
    return os.getpid(), _peak_mb(), len(r.findings)


def _parse_one(path: str) -> tuple[int, float, int]:
    from xenpatch.c.source import SourceError, parse_bytes

    raw = Path(path).read_bytes()
    try:
        parse_bytes(path, raw, _CONFIG)  # type: ignore[arg-type]
    except SourceError:
        # The lint pass re-parses such files with stray bytes replaced;
        # do the same so both passes parse the same text.
        parse_bytes(path, bytes(b if b < 0x80 else 0x3F for b in raw), _CONFIG)  # type: ignore[arg-type]
    return os.getpid(), _peak_mb(), 0


def _run(files: list[str], init, work) -> tuple[float, dict[int, float], int]:
    # Biggest files first, as the lint runner does.
    order = sorted(files, key=lambda f: -os.path.getsize(f))
    t0 = time.perf_counter()
    peaks: dict[int, float] = {}
    total = 0
    with ProcessPoolExecutor(JOBS, initializer=init) as ex:
        for pid, peak, n in ex.map(work, order, chunksize=4):
            peaks[pid] = max(peaks.get(pid, 0.0), peak)
            total += n
    return time.perf_counter() - t0, peaks, total


def _single_file(xen: Path) -> tuple[float, float]:
    target = xen / "common" / "grant_table.c"
    exe = Path(sys.executable).with_name("xenpatch")

    def best(cmd: list[str]) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False)
            times.append(time.perf_counter() - t0)
        return min(times)

    full = best([str(exe), "lint", str(target)]) if exe.exists() else float("nan")
    alone = best([sys.executable, "-m", "xenpatch.lint.cli", str(target)])
    return full, alone


def main() -> int:
    xen = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_XEN
    if not (xen / "common" / "grant_table.c").is_file():
        print(f"no Xen tree at {xen} (scripts/fetch-xen-source.sh fetches it)", file=sys.stderr)
        return 2
    files = [str(p) for p in sorted(xen.rglob("*.c"))]
    print(f"xen tree: {xen} ({len(files)} .c files), {JOBS} worker processes")
    parse_t, parse_peaks, _ = _run(files, _init_parse, _parse_one)
    lint_t, lint_peaks, nfind = _run(files, _init_lint, _lint_one)
    print(f"parse-only wall time : {parse_t:7.2f} s")
    print(f"lint wall time       : {lint_t:7.2f} s   ({nfind} findings)")
    print(f"lint / parse-only    : {lint_t / parse_t:7.2f}   (target <= 1.5)")
    for name, peaks in (("parse-only", parse_peaks), ("lint", lint_peaks)):
        figures = ", ".join(f"{p:.0f} MB" for _, p in sorted(peaks.items()))
        print(f"peak RSS per worker, {name:10}: {figures}   (target < 200 MB)")
    full, alone = _single_file(xen)
    print(f"one `xenpatch lint common/grant_table.c` : {full:5.2f} s   (target < 0.4 s)")
    print(f"same, `python -m xenpatch.lint.cli`      : {alone:5.2f} s   "
          "(without the other subcommands' imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
