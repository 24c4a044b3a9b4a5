"""Figures for `xenpatch lint` on the whole xen/ of Xen 4.17.

    .venv/bin/python bench/lint.py [XEN_DIR]

Prints: wall and CPU time of the lint with 2 worker processes (the real
runner: both passes, the tree cache filled from cold), of a parse-only pass
over the same files with the same 2 processes, and their ratios (target:
lint <= 1.5x parse-only, goal 1.2x), best of ROUNDS alternated runs of each
($XENPATCH_BENCH_ROUNDS, default 3); the peak RSS of the largest worker of
each (target: < 200 MB; each measured in a process of its own); each
map of the lint over its workers (the first pass, the second, the later
rounds': files, files linted in it, CPU); and the
wall and CPU times of one `xenpatch lint` process on common/grant_table.c,
interpreter start included, beside one process that only parses that file:
with an empty cache (target <= 1.0 s), warm (target <= 0.3 s), warm
after an edit of the file, and the hook's patch mode (`lint --since HEAD`
in a scratch repository of the tree: a retried commit, and the next commit
of the same file) ($XENPATCH_BENCH_SINGLE=1: these only, the whole-tree
figures left out).  $XENPATCH_BENCH_PROFILE=1 prints instead
where the whole-tree lint's time goes: the run in one process under
cProfile, each stage's share of it (stages nest: a fill inside XL017's
records counts in both).  The package is compiled first, as an install
has it.  CPU times and the load average are printed because a loaded
machine stretches wall times.  No assertion: the machine's load is not
ours to judge.
"""

from __future__ import annotations

import os
import resource
import shutil
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
ROUNDS = int(os.environ.get("XENPATCH_BENCH_ROUNDS", "3"))

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
    c0 = time.process_time()
    if what == "parse":
        with ProcessPoolExecutor(JOBS, initializer=_init_parse) as ex:
            list(ex.map(_parse_one, order, chunksize=4))
    else:
        # The real runner: both passes, and the tree cache brought up to date.
        results = lint_files([(Path(f), f) for f in order], jobs=JOBS)
        nfind = sum(len(r.findings) for r in results)
        from xenpatch.lint.passes import FIGURES

        # Each map of the run: what, files, files linted (not None), CPU.
        print(";".join(f"{m.what},{m.tasks},{m.results},{m.cpu:.2f}" for m in FIGURES),
              file=sys.stderr)
    wall = time.perf_counter() - t0
    kid = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    # CPU of this process since the clock started and of all its workers.
    cpu = time.process_time() - c0 + kid.ru_utime + kid.ru_stime
    print(f"{wall} {kid.ru_maxrss / 1024} {me.ru_maxrss / 1024} {nfind} {cpu}")


def _measure(what: str, xen: Path) -> tuple[float, float, float, int, float]:
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run(
            [sys.executable, __file__, "--child", what, str(xen)], capture_output=True,
            text=True, check=True, env={**os.environ, "XENPATCH_CACHE": cache},
        )
    out = done.stdout.split()
    if what == "lint":
        _MAPS.append(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "")
    return float(out[0]), float(out[1]), float(out[2]), int(out[3]), float(out[4])


# Each lint round's maps, as its child printed them (_child).
_MAPS: list[str] = []


def _print_maps() -> None:
    """The passes of the lint round with the least CPU: files, files
    linted in that pass, CPU of the workers."""
    names = {"first": "first pass", "again": "second pass / later rounds",
             "round_task": "later round (lint, sums)"}
    rounds = [[m.split(",") for m in line.split(";")] for line in _MAPS if line]
    if not rounds:
        return
    best = min(rounds, key=lambda ms: sum(float(m[3]) for m in ms))
    for what, tasks, linted, cpu in best:
        print(f"  {names.get(what, what):27}: {int(tasks):5} files, {int(linted):4} linted, "
              f"{float(cpu):6.2f} s CPU in the workers")


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process, start included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


_PARSE_ONE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from xenpatch.c.masking import default_macro_table\n"
    "from xenpatch.c.source import SourceError, parse_bytes\n"
    "raw = Path(sys.argv[1]).read_bytes()\n"
    "try:\n"
    "    parse_bytes(sys.argv[1], raw, default_macro_table())\n"
    "except SourceError:\n"
    "    parse_bytes(sys.argv[1], bytes(b if b < 0x80 else 0x3F for b in raw),"
    " default_macro_table())\n"
)


def _single_file(xen: Path) -> dict[str, tuple[float, float]]:
    """One ``xenpatch lint common/grant_table.c`` process, interpreter start
    included, beside one process that only parses the same file: cold (an
    empty cache: the name index, the summaries it needs; best of 3, each
    with a new cache), warm (best of 5, nothing changed), and warm after an
    edit of the file (in a copy of the tree: its summaries kept, the file
    linted again; best of 3, each with another edit)."""
    target = xen / "common" / "grant_table.c"
    exe = str(Path(sys.executable).with_name("xenpatch"))
    out: dict[str, tuple[float, float]] = {}
    base = dict(os.environ)
    out["parse"] = _best([_timed([sys.executable, "-c", _PARSE_ONE, str(target)], base)
                          for _ in range(3)])
    colds = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as cache:
            colds.append(_timed([exe, "lint", str(target)], {**base, "XENPATCH_CACHE": cache}))
    out["cold"] = _best(colds)
    with tempfile.TemporaryDirectory() as cache:
        env = {**base, "XENPATCH_CACHE": cache}
        _timed([exe, "lint", str(target)], env)
        out["warm"] = _best([_timed([exe, "lint", str(target)], env) for _ in range(5)])
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        env = {**base, "XENPATCH_CACHE": cache}
        copy = Path(tmp) / "xen"
        shutil.copytree(xen, copy, symlinks=True,
                        ignore=shutil.ignore_patterns("*.o", "*.a", "*.d"))
        edited = copy / "common" / "grant_table.c"
        _timed([exe, "lint", str(edited)], env)
        runs = []
        for i in range(3):
            with edited.open("a") as f:
                f.write(f"/* edit {i} */\n")
            runs.append(_timed([exe, "lint", str(edited)], env))
        out["edited"] = _best(runs)
        out.update(_patch_mode(exe, copy, edited, env))
    return out


def _patch_mode(exe: str, copy: Path, edited: Path, env: dict[str, str]
                ) -> dict[str, tuple[float, float]]:
    """The hook's patch mode on the file, the tree a repository (its
    summaries warm): ``lint --since HEAD`` with the edit staged, run again
    as a retried commit does (best of 3), after a commit with another
    edit staged (best of 3: no finding now, so the committed version is
    not linted), and the same with a finding in the file (both versions
    linted: the committed one again, the file's own text having changed
    since)."""
    git_env = {**env, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=copy, capture_output=True, check=True, env=git_env)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    since = [exe, "lint", "--since", "HEAD", str(edited)]
    with edited.open("a") as f:
        f.write("/* staged */\n")
    _timed(since, env)
    out = {"retry": _best([_timed(since, env) for _ in range(3)])}
    runs = []
    for i in range(3):
        git("commit", "-q", "-am", f"edit {i}")
        with edited.open("a") as f:
            f.write(f"/* next {i} */\n")
        runs.append(_timed(since, env))
    out["next"] = _best(runs)
    # The same with a finding in the file: nothing spares the committed
    # version's lint then (lint/since.py), both versions are linted.
    with edited.open("a") as f:
        f.write(_LEAK)
    git("commit", "-q", "-am", "a leak")
    runs = []
    for i in range(3):
        with edited.open("a") as f:
            f.write(f"/* found {i} */\n")
        runs.append(_timed(since, env))
        git("commit", "-q", "-am", f"found {i}")
    out["next_found"] = _best(runs)
    return out


# A function whose error path leaves the grant table's lock held (XL001),
# appended to grant_table.c for the patch mode's commits with a finding.
_LEAK = """
static int bench_leak(struct domain *d, int y)
{
    grant_write_lock(d->grant_table);
    if ( y )
        return -EINVAL;
    grant_write_unlock(d->grant_table);
    return 0;
}
"""


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--profile":
        _profile(Path(sys.argv[2]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
        return 0
    xen = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_XEN
    if not (xen / "common" / "grant_table.c").is_file():
        print(f"no Xen tree at {xen} (scripts/fetch-xen-source.sh fetches it)", file=sys.stderr)
        return 2
    n = len(list(xen.rglob("*.c")))
    # As an installed package is: its modules compiled once (pip does it at
    # install time; PYTHONDONTWRITEBYTECODE would otherwise make every
    # process below compile them again, which no user pays).
    # And the methods dataclasses writes for its classes (the install's
    # step too, scripts/setup.sh: xenpatch/methodcode.py).
    compiled = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "xenpatch")],
                   capture_output=True, check=False, env=compiled)
    subprocess.run([sys.executable, "-m", "xenpatch.precompile"], capture_output=True,
                   check=False, cwd=ROOT, env={**compiled, "PYTHONPATH": str(ROOT)})
    print(f"xen tree: {xen} ({n} .c files), {JOBS} worker processes")
    print(f"load average before: {_loadavg()}")
    if os.environ.get("XENPATCH_BENCH_PROFILE") == "1":
        with tempfile.TemporaryDirectory() as cache:
            subprocess.run([sys.executable, __file__, "--profile", str(xen)], check=True,
                           env={**os.environ, "XENPATCH_CACHE": cache})
        return 0
    if os.environ.get("XENPATCH_BENCH_SINGLE") == "1":
        _print_single(xen)
        return 0
    # Alternated, best of ROUNDS each: other processes' load comes and goes.
    parses, lints = [], []
    for _ in range(ROUNDS):
        parses.append(_measure("parse", xen))
        lints.append(_measure("lint", xen))
    print("rounds (wall s / CPU s): parse-only " + ", ".join(
        f"{r[0]:.1f}/{r[4]:.1f}" for r in parses) + "; lint " + ", ".join(
        f"{r[0]:.1f}/{r[4]:.1f}" for r in lints))
    parse_t, parse_cpu = min(r[0] for r in parses), min(r[4] for r in parses)
    lint_t, lint_cpu = min(r[0] for r in lints), min(r[4] for r in lints)
    parse_kid, parse_me = max(r[1] for r in parses), max(r[2] for r in parses)
    lint_kid, lint_me = max(r[1] for r in lints), max(r[2] for r in lints)
    nfind = lints[0][3]
    print(f"parse-only           : {parse_t:7.2f} s wall {parse_cpu:7.2f} s CPU")
    print(f"lint                 : {lint_t:7.2f} s wall {lint_cpu:7.2f} s CPU   ({nfind} "
          "findings; both passes, cold tree cache)")
    print(f"lint / parse-only    : {lint_t / parse_t:7.2f} wall {lint_cpu / parse_cpu:7.2f} CPU"
          "   (target <= 1.5, goal 1.2)")
    print("lint's maps over the workers (the round with the least CPU in them):")
    _print_maps()
    print(f"peak RSS of a worker, parse-only: {parse_kid:.0f} MB (parent {parse_me:.0f} MB)   "
          "(target < 200 MB)")
    print(f"peak RSS of a worker, lint      : {lint_kid:.0f} MB (parent {lint_me:.0f} MB)   "
          "(target < 200 MB)")
    _print_single(xen)
    return 0


def _machine_speed() -> float:
    """CPU seconds of a fixed pure-Python loop in this process: the
    machine's speed at the moment.  The cold file's target is absolute, and
    the host's speed moved it more than most changes did (docs/lint-speed.md,
    seventh session): printed so that figures of different runs compare."""
    c0 = time.process_time()
    x = 0
    for i in range(20_000_000):
        x += i & 7
    return time.process_time() - c0


def _print_single(xen: Path) -> None:
    before = _machine_speed()
    one = _single_file(xen)
    after = _machine_speed()
    p_wall, p_cpu = one["parse"]
    print("one `xenpatch lint common/grant_table.c` process (interpreter start included),")
    print(f"  parse-only process of the same file : {p_wall:5.2f} s wall {p_cpu:5.2f} s CPU")
    for key, what, target in (("cold", "empty cache", "<= 1.0 s"),
                              ("warm", "cache warm, nothing changed", "<= 0.3 s"),
                              ("edited", "cache warm, the file edited", ""),
                              ("retry", "--since HEAD, a commit retried", ""),
                              ("next", "--since HEAD, the next commit", ""),
                              ("next_found", "  the same, a finding in the file", "")):
        wall, cpu = one[key]
        print(f"  {what:36}: {wall:5.2f} s wall {cpu:5.2f} s CPU   ({wall / p_wall:4.2f}x "
              f"parse-only){'   target ' + target if target else ''}")
    print(f"the machine's speed: a fixed Python loop took {before:4.2f} s of CPU before these "
          f"runs and {after:4.2f} s after")
    print(f"load average after: {_loadavg()}")


# (label, module path suffix, function): the stages _profile() reports.
_STAGES = (
    ("first pass (workers.first)", "lint/workers.py", "first"),
    ("second pass, later rounds (workers.again)", "lint/workers.py", "again"),
    ("  parse (source.parse_bytes)", "c/source.py", "parse_bytes"),
    ("  CFGs (cfg.build_cfg)", "c/cfg.py", "build_cfg"),
    ("  fills (actions.fill_actions)", "analysis/actions.py", "fill_actions"),
    ("    their preludes (actions._prelude)", "analysis/actions.py", "_prelude"),
    ("  facts collected for fills (functions.collect)", "analysis/functions.py", "collect"),
    ("  dataflow runs (dataflow.Engine.run)", "analysis/dataflow.py", "run"),
    ("  helpers' summaries (FileAnalysis.summarise)", "analysis/fileanalysis.py", "summarise"),
    ("  XL017's take records (irqwitness.Records.of)", "lint/irqwitness.py", "of"),
    ("  entry states (irqentries.with_entry_states)", "lint/irqentries.py", "with_entry_states"),
    ("  XL015 (precond.precondition_findings)", "lint/precond.py", "precondition_findings"),
)


def _profile(xen: Path) -> None:
    """The whole-tree lint in this process (one job: cProfile sees one
    process) under cProfile: each stage's share of its time."""
    import cProfile
    import pstats

    from xenpatch.lint.run import lint_files

    files = sorted(xen.rglob("*.c"))
    order = [(f, str(f)) for f in sorted(files, key=lambda f: -f.stat().st_size)]
    prof = cProfile.Profile()
    prof.enable()
    lint_files(order, jobs=1)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())
    print(f"whole-tree lint in one process under cProfile: {total:.1f} s "
          "(profiled; stages nest)")
    for label, where, name in _STAGES:
        cum = sum(ct for (file, _, fn), (_, _, _, ct, _) in stats.items()
                  if fn == name and file.endswith(where))
        print(f"  {label:48}: {cum:6.2f} s  {100 * cum / total:5.1f} %")


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"



if __name__ == "__main__":
    sys.exit(main())
