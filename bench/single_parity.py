"""Single-file parity: each of a sample of files linted alone, as the
pre-commit hook lints it (one `xenpatch lint FILE` process run from the
tree, an empty cache each), by one revision's code.

    .venv/bin/python bench/single_parity.py run REPO OUT [XEN_DIR] [JOBS]
    .venv/bin/python bench/single_parity.py compare OUT_A OUT_B

``run`` writes OUT/results.json (per file: the JSON report, CPU seconds
of the process, children included, and wall seconds); ``compare`` says
which files' reports differ (findings with their fingerprints,
not_analysed, stats) and sums the CPU times.  A change meant to speed up
the single-file run (lazy.py, lazyrounds.py) must leave every report as
it was; the whole-tree sweep does not run that code.

The sample: the files of the 4.17 whole-tree findings and of the chains
the lazy plan's later round was written for (ALWAYS), then xen/common and
xen/arch/x86 files naming a lock operation, evenly spaced in sorted order
(SAMPLE of each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_XEN = Path.home() / ".cache/xenpatch/xen-src/xen-4.17.5+72-g01140da4e8/xen"
SAMPLE = 20
ALWAYS = ("common/grant_table.c", "common/page_alloc.c", "arch/x86/mm.c",
          "common/memory.c", "common/domain.c", "arch/x86/mm/shadow/multi.c",
          "arch/arm/irq.c", "arch/x86/hvm/vmsi.c", "arch/x86/mm/p2m-pod.c")
_RUN = "import sys; from xenpatch.cli import main; sys.exit(main(sys.argv[1:]))"


def sample(xen: Path) -> list[str]:
    out: list[str] = list(ALWAYS)
    for top in ("common", "arch/x86"):
        files = sorted(str(p.relative_to(xen)) for p in (xen / top).rglob("*.c")
                       if b"_lock(" in p.read_bytes())
        step = max(1, len(files) // SAMPLE)
        out += [f for f in files[::step][:SAMPLE] if f not in out]
    return out


def _one(repo: Path, xen: Path, rel: str) -> dict[str, object]:
    """One lint process; its CPU (children included: the name index's
    forked scan, _halved()'s child) read by a parent of its own from
    RUSAGE_CHILDREN."""
    code = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "w = time.perf_counter() - t0\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "json.dump({'out': p.stdout.decode(), 'err': p.stderr.decode()[-2000:],"
        " 'cpu': u.ru_utime + u.ru_stime, 'wall': w}, sys.stdout)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XENPATCH_CACHE": cache, "PYTHONPATH": str(repo)}
        got = json.loads(subprocess.run(
            [sys.executable, "-c", code, sys.executable, "-c", _RUN, "lint", "--format",
             "json", rel], cwd=xen, env=env, capture_output=True, check=True).stdout)
    try:
        report = json.loads(got["out"])
    except ValueError:
        report = {"error": got["err"]}
    return {"report": report, "cpu": got["cpu"], "wall": got["wall"]}


def run(repo: Path, out: Path, xen: Path, jobs: int) -> None:
    files = sample(xen)
    with ThreadPoolExecutor(jobs) as ex:
        got = dict(zip(files, ex.map(lambda f: _one(repo, xen, f), files), strict=True))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(got, indent=1, sort_keys=True))
    cpu = sum(float(g["cpu"]) for g in got.values())  # type: ignore[arg-type]
    print(f"{len(files)} files, CPU {cpu:.1f} s in all")


def compare(a: Path, b: Path) -> int:
    ra = json.loads((a / "results.json").read_text())
    rb = json.loads((b / "results.json").read_text())
    differ = [f for f in sorted(set(ra) | set(rb))
              if f not in ra or f not in rb
              or ra[f]["report"] != rb[f]["report"]]
    for f in differ:
        print(f"DIFFERS: {f}")
    common = sorted(set(ra) & set(rb))
    ca = sum(ra[f]["cpu"] for f in common)
    cb = sum(rb[f]["cpu"] for f in common)
    print(f"{len(common)} files, {len(differ)} differ; CPU {ca:.1f} s -> {cb:.1f} s")
    slow = sorted(common, key=lambda f: rb[f]["cpu"] - ra[f]["cpu"])
    for f in slow[:5] + slow[-5:]:
        print(f"  {f}: {ra[f]['cpu']:.2f} -> {rb[f]['cpu']:.2f} s CPU")
    return 1 if differ else 0


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        xen = Path(sys.argv[4]) if len(sys.argv) > 4 else DEFAULT_XEN
        jobs = int(sys.argv[5]) if len(sys.argv) > 5 else 2
        run(Path(sys.argv[2]).resolve(), Path(sys.argv[3]), xen, jobs)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        return compare(Path(sys.argv[2]), Path(sys.argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
