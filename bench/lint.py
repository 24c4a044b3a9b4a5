"""Figures for `xenpatch lint` on the whole xen/ of Xen 4.17.

    .venv/bin/python bench/lint.py [XEN_DIR]

Prints: wall time of the lint with 2 worker processes (the real runner:
both passes, the tree cache filled from cold), wall time of a parse-only
pass over the same files with the same 2 processes, their ratio (target:
lint <= 1.5x parse-only), the peak RSS of the largest worker of each
(target: < 200 MB; each measured in a process of its own), and the wall
time of one `xenpatch lint` process on common/grant_table.c, interpreter
start included (target: < 0.4 s; the best of 5 runs with the tree cache
warm, and the first, cold, run).  No assertion: the machine's load is not
ours to judge.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_XEN = Path.home() / ".cache/xenpatch/xen-src/xen-4.17.5+72-g01140da4e8/xen"
JOBS = 2

_CONFIG = None


def _init_parse() -> None:
    global _CONFIG
    from xenpatch.c.masking import default_macro_table

    _CONFIG = default_macro_table()


def _parse_one(path: str) -> int:
    from xenpatch.c.source import SourceError, parse_bytes

    raw = Path(path).read_bytes()
    try:
        parse_bytes(path, raw, _CONFIG)  # type: ignore[arg-type]
    except SourceError:
        # The lint pass re-parses such files with stray bytes replaced;
        # do the same so both passes parse the same text.
        parse_bytes(path, bytes(b if b < 0x80 else 0x3F for b in raw), _CONFIG)  # type: ignore[arg-type]
    return 0


def _child(what: str, xen: Path) -> None:
    """One measurement in a process of its own, so that the peak RSS of its
    workers (RUSAGE_CHILDREN, read once they are reaped) is its own.
    Prints: wall seconds, peak worker MB, peak parent MB, findings."""
    files = sorted(xen.rglob("*.c"))
    # Biggest files first, as the lint runner does.
    order = [str(f) for f in sorted(files, key=lambda f: -f.stat().st_size)]
    nfind = 0
    # Each side's modules are imported before the clock starts, and the
    # forked workers inherit them: import time is the single-file figure's.
    from xenpatch.c import masking, source  # noqa: F401
    from xenpatch.lint.run import lint_files

    t0 = time.perf_counter()
    if what == "parse":
        with ProcessPoolExecutor(JOBS, initializer=_init_parse) as ex:
            list(ex.map(_parse_one, order, chunksize=4))
    else:
        # The real runner: both passes, and the tree cache brought up to date.
        results = lint_files([(Path(f), f) for f in order], jobs=JOBS)
        nfind = sum(len(r.findings) for r in results)
    wall = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{wall} {kids} {me} {nfind}")


def _measure(what: str, xen: Path) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run(
            [sys.executable, __file__, "--child", what, str(xen)], capture_output=True,
            text=True, check=True, env={**os.environ, "XENPATCH_CACHE": cache},
        ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), int(out[3])


def _single_file(xen: Path) -> tuple[float, float, float]:
    """Cold (first run in the tree: the tree cache is filled), then warm
    (best of 5), then warm without the other subcommands' imports."""
    target = xen / "common" / "grant_table.c"
    exe = Path(sys.executable).with_name("xenpatch")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XENPATCH_CACHE": cache}

        def run(cmd: list[str]) -> float:
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False, env=env)
            return time.perf_counter() - t0

        cmd = [str(exe), "lint", str(target)]
        cold = run(cmd)
        full = min(run(cmd) for _ in range(5))
        alone = min(run([sys.executable, "-m", "xenpatch.lint.cli", str(target)])
                    for _ in range(5))
    return cold, full, alone


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
        return 0
    xen = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_XEN
    if not (xen / "common" / "grant_table.c").is_file():
        print(f"no Xen tree at {xen} (scripts/fetch-xen-source.sh fetches it)", file=sys.stderr)
        return 2
    n = len(list(xen.rglob("*.c")))
    print(f"xen tree: {xen} ({n} .c files), {JOBS} worker processes")
    parse_t, parse_kid, parse_me, _ = _measure("parse", xen)
    lint_t, lint_kid, lint_me, nfind = _measure("lint", xen)
    print(f"parse-only wall time : {parse_t:7.2f} s")
    print(f"lint wall time       : {lint_t:7.2f} s   ({nfind} findings; both passes, cold tree "
          "cache)")
    print(f"lint / parse-only    : {lint_t / parse_t:7.2f}   (target <= 1.5)")
    print(f"peak RSS of a worker, parse-only: {parse_kid:.0f} MB (parent {parse_me:.0f} MB)   "
          "(target < 200 MB)")
    print(f"peak RSS of a worker, lint      : {lint_kid:.0f} MB (parent {lint_me:.0f} MB)   "
          "(target < 200 MB)")
    cold, full, alone = _single_file(xen)
    print(f"one `xenpatch lint common/grant_table.c` : {full:5.2f} s   (target < 0.4 s; "
          "tree cache warm)")
    print(f"same, first run in the tree              : {cold:5.2f} s   (fills the tree cache)")
    print(f"same, `python -m xenpatch.lint.cli`      : {alone:5.2f} s   "
          "(without the other subcommands' imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
