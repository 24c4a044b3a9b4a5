"""The pre-commit hook replayed on the commits of the public Xen history.

    .venv/bin/python bench/hook_replay.py [--count N] [--rev REV] [--since-date DATE]
                                          [--json OUT] [--cache DIR] [--only SHA ...]

Whole-tree runs say little of what a developer meets: the hook lints the
few files a commit touches, with the tree's summaries computed lazily and
kept in a cache between commits.  For the last N non-merge commits of REV
(default master) that change a C file under xen/, oldest first, one scratch
clone of the history is moved to each commit (``git checkout -f``, as a
developer's tree moves) and, from the clone's top (xen/'s parent), with one
XENPATCH_CACHE kept over the whole replay:

- ``xenpatch lint --since C^ FILES`` (the patch mode: what the commit adds),
- ``xenpatch lint FILES`` (the plain hook: what touching the files shows),

FILES being the commit's C files under xen/ that exist at C.  Exit codes,
findings, wall and CPU time and stderr are recorded per commit; a commit is
blocked when the run exits 1.  Runs are ``nice -n 10`` and ``-j 1`` (the
machine's timings are shared).  Only figures are printed: nothing is
asserted.

The history comes from XENPATCH_XEN_MIRROR (default
/work/.mirror/xen-project+xen/repo), read only; without it the bench says
"skipped: no mirror" and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
CLI = "import sys; from xenpatch.cli import main; sys.exit(main())"
# What a commit must touch to be replayed (git pathspecs: '*' crosses '/').
PATHSPEC = "xen/*.c"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def commits(repo: Path, rev: str, count: int, since_date: str | None) -> list[str]:
    """The last ``count`` non-merge commits of ``rev`` touching a C file
    under xen/, oldest first (the order a developer's tree moves in)."""
    args = ["log", "--no-merges", "--format=%H", f"-n{count}"]
    if since_date:
        args.append(f"--since={since_date}")
    # A clone has the mirror's other branches as origin/*.
    known = subprocess.run(["git", "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"],
                           cwd=repo, capture_output=True).returncode == 0
    out = git(repo, *args, rev if known else f"origin/{rev}", "--", PATHSPEC).split()
    return out[::-1]


def changed_files(repo: Path, commit: str) -> list[str]:
    """The commit's C files under xen/ that exist after it (added, modified,
    renamed to): those the hook is given."""
    out = git(repo, "diff-tree", "--no-commit-id", "-r", "--name-only", "--diff-filter=d",
              f"{commit}^", commit, "--", PATHSPEC)
    return [p for p in out.split() if p.endswith(".c")]


def _progress_only(stderr: str) -> str:
    """stderr without the progress lines the CLI may print (``N/M`` counts
    redrawn with carriage returns)."""
    kept = []
    for line in stderr.replace("\r", "\n").splitlines():
        text = line.strip()
        if text and not text.replace("/", "").replace(" ", "").replace("files", "").isdigit():
            kept.append(line)
    return "\n".join(kept)


def trouble(stderr: str) -> str:
    """What in a run's stderr is neither progress nor the CLI's own status
    lines (``xenpatch lint: ...``, e.g. the exit 3's reason): a traceback,
    a warning, anything a developer would not expect."""
    return "\n".join(line for line in _progress_only(stderr).splitlines()
                     if not line.startswith("xenpatch lint: "))


def lint(top: Path, files: list[str], cache: Path, out: Path,
         since: str | None = None) -> dict[str, Any]:
    """One hook run from the clone's top: its exit code, findings, times and
    stderr."""
    cmd = ["nice", "-n", "10", sys.executable, "-c", CLI, "lint", "-j", "1",
           "--format", "json", "-o", str(out)]
    if since is not None:
        cmd += ["--since", since]
    env = dict(os.environ, XENPATCH_CACHE=str(cache), PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *files], cwd=top, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    findings: list[dict[str, Any]] = []
    not_analysed = undecided = 0
    if out.exists():
        try:
            doc = json.loads(out.read_text())
            findings = [{k: f[k] for k in ("path", "line", "id", "function", "message",
                                           "lock", "fingerprint")} for f in doc["findings"]]
            not_analysed = len(doc.get("not_analysed", []))
            undecided = len(doc.get("undecided", []))
        except (json.JSONDecodeError, KeyError) as exc:
            findings = []
            proc.stderr += f"\n(bench) unreadable report: {exc}"
        out.unlink()
    stderr = _progress_only(proc.stderr)
    return {"exit": proc.returncode, "findings": findings, "not_analysed": not_analysed,
            "undecided": undecided, "wall": round(wall, 3), "cpu": round(cpu, 3),
            "stderr": stderr, "trouble": trouble(stderr)}


def replay(mirror: Path, rev: str, count: int, since_date: str | None, cache: Path,
           only: list[str] | None = None, log: Any = None) -> list[dict[str, Any]]:
    """Every commit replayed in one scratch clone of ``mirror``."""
    with tempfile.TemporaryDirectory(prefix="xenpatch-hook-replay-") as tmp:
        top = Path(tmp) / "xen"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror),
                        str(top)], check=True, capture_output=True)
        todo = commits(top, rev, count, since_date)
        if only:
            todo = [c for c in todo if any(c.startswith(o) for o in only)]
        report = Path(tmp) / "report.json"
        rows: list[dict[str, Any]] = []
        for i, commit in enumerate(todo):
            git(top, "checkout", "-q", "-f", commit)
            files = changed_files(top, commit)
            row: dict[str, Any] = {
                "commit": commit,
                "subject": git(top, "log", "-1", "--format=%s", commit).strip(),
                "date": git(top, "log", "-1", "--format=%cs", commit).strip(),
                "files": files}
            if files:
                row["patch"] = lint(top, files, cache, report, since=f"{commit}^")
                row["plain"] = lint(top, files, cache, report)
            rows.append(row)
            if log is not None:
                log(_line(i + 1, len(todo), row))
        return rows


def _line(n: int, total: int, row: dict[str, Any]) -> str:
    if not row["files"]:
        return f"[{n}/{total}] {row['commit'][:10]} no C file left"
    p, q = row["patch"], row["plain"]
    return (f"[{n}/{total}] {row['commit'][:10]} {len(row['files'])} file(s) "
            f"patch exit {p['exit']} ({len(p['findings'])}) {p['wall']:.1f}s, "
            f"plain exit {q['exit']} ({len(q['findings'])}) {q['wall']:.1f}s"
            + (" STDERR" if p["trouble"] or q["trouble"] else ""))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of a replay."""
    ran = [r for r in rows if r["files"]]
    warm = ran[1:]

    def times(mode: str, rows_: list[dict[str, Any]]) -> dict[str, float]:
        walls = [r[mode]["wall"] for r in rows_]
        if not walls:
            return {}
        return {"median": statistics.median(walls), "p90": _pct(walls, 0.9),
                "max": max(walls),
                "cpu_median": statistics.median(r[mode]["cpu"] for r in rows_)}

    def per_commit(r: dict[str, Any]) -> dict[str, Any]:
        return {"wall": r["patch"]["wall"] + r["plain"]["wall"],
                "cpu": r["patch"]["cpu"] + r["plain"]["cpu"]}

    both = [per_commit(r) for r in warm]
    return {
        "commits": len(rows), "replayed": len(ran),
        "files": sum(len(r["files"]) for r in ran),
        "patch_blocks": [r["commit"] for r in ran if _blocks(r["patch"])],
        "plain_blocks": [r["commit"] for r in ran if _blocks(r["plain"])],
        # A crash exits 1 too (Python's status for an uncaught exception):
        # the hook stops the commit without a finding to show.
        "crashes": [r["commit"] for r in ran
                    if "Traceback" in r["patch"]["stderr"] + r["plain"]["stderr"]],
        # The patch mode's findings are the plain run's, less the old ones:
        # one the plain run lacks is a difference between two runs of the
        # same files (the cache, a bound).
        "patch_not_in_plain": [r["commit"] for r in ran if _extra(r)],
        "patch_exits": _count(r["patch"]["exit"] for r in ran),
        "plain_exits": _count(r["plain"]["exit"] for r in ran),
        # Exit 3 stops a commit too, unless the hook passes --partial.
        "patch_incomplete": [r["commit"] for r in ran if r["patch"]["exit"] == 3],
        "plain_incomplete": [r["commit"] for r in ran if r["plain"]["exit"] == 3],
        "trouble": [r["commit"] for r in ran
                    if r["patch"]["trouble"] or r["plain"]["trouble"]],
        "cold": per_commit(ran[0]) if ran else {},
        "patch_time": times("patch", warm), "plain_time": times("plain", warm),
        "commit_time": ({"median": statistics.median(b["wall"] for b in both),
                         "p90": _pct([b["wall"] for b in both], 0.9),
                         "max": max(b["wall"] for b in both)} if both else {}),
    }


def _blocks(run: dict[str, Any]) -> bool:
    return run["exit"] == 1 and "Traceback" not in run["stderr"]


def _extra(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The patch mode's findings that the plain run of the same files does
    not report (compared without line numbers)."""
    def same(f: dict[str, Any]) -> tuple[str, ...]:
        return (f["path"], f["function"], f["id"], f["lock"] or "")
    plain = {same(f) for f in row["plain"]["findings"]}
    return [f for f in row["patch"]["findings"] if same(f) not in plain]


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def show(rows: list[dict[str, Any]], figs: dict[str, Any]) -> None:
    print(f"\n{figs['replayed']} commits replayed ({figs['commits']} selected), "
          f"{figs['files']} file runs")
    for mode, title in (("patch", "patch mode (--since C^)"), ("plain", "plain hook")):
        print(f"{title}: exits {figs[mode + '_exits']}, "
              f"{len(figs[mode + '_blocks'])} commit(s) blocked")
        for r in rows:
            if r["files"] and _blocks(r[mode]):
                print(f"  {r['commit'][:12]} {r['date']} {r['subject'][:70]}")
                for f in r[mode]["findings"]:
                    print(f"    {f['path']}:{f['line']} {f['function']} [{f['id']}] "
                          f"{f['message'][:110]} {{{f['fingerprint'][:8]}}}")
    if figs["crashes"]:
        print(f"crashed (a traceback, exit 1): {len(figs['crashes'])} commit(s): "
              + ", ".join(c[:12] for c in figs["crashes"]))
    if figs["patch_not_in_plain"]:
        print("patch-mode findings the plain run lacks: "
              + ", ".join(c[:12] for c in figs["patch_not_in_plain"]))
    print(f"exit 3 (incomplete: blocks unless --partial): patch mode "
          f"{len(figs['patch_incomplete'])}, plain {len(figs['plain_incomplete'])} commit(s)")
    if figs["trouble"]:
        print(f"unexpected stderr in {len(figs['trouble'])} commit(s):")
        for r in rows:
            if r["commit"] in figs["trouble"]:
                text = (r["patch"]["trouble"] + "\n" + r["plain"]["trouble"]).strip()
                print(f"  {r['commit'][:12]}: {text[-400:]}")
    else:
        print("stderr: nothing but progress and the CLI's status lines")
    cold = figs["cold"]
    if cold:
        print(f"time: first (cold cache) commit {cold['wall']:.1f} s wall, "
              f"{cold['cpu']:.1f} s CPU (both runs)")
    for mode in ("patch_time", "plain_time", "commit_time"):
        t = figs[mode]
        if t:
            print(f"  {mode}: median {t['median']:.2f} s, p90 {t['p90']:.2f} s, "
                  f"max {t['max']:.2f} s wall"
                  + (f", CPU median {t['cpu_median']:.2f} s" if "cpu_median" in t else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=150, help="commits to replay")
    ap.add_argument("--rev", default="master", help="the tip to replay up to")
    ap.add_argument("--since-date", help="only commits after this date (git --since)")
    ap.add_argument("--only", nargs="*", help="only these commits (of those selected)")
    ap.add_argument("--cache", type=Path,
                    help="the hook's XENPATCH_CACHE (default: a fresh one, removed after)")
    ap.add_argument("--json", type=Path, help="write every run's record here")
    ap.add_argument("--show", type=Path, metavar="JSON",
                    help="print the figures of a replay written by --json, and exit")
    ap.add_argument("--mirror", type=Path, default=MIRROR, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.show is not None:
        rows = json.loads(args.show.read_text())["commits"]
        for r in rows:
            for mode in ("patch", "plain"):
                if mode in r:  # a record written before "trouble" was
                    r[mode].setdefault("trouble", trouble(r[mode]["stderr"]))
        show(rows, summary(rows))
        return 0
    if not (args.mirror / "HEAD").exists():
        print("skipped: no mirror")
        return 0
    with tempfile.TemporaryDirectory(prefix="xenpatch-hook-cache-") as fresh:
        cache = args.cache if args.cache is not None else Path(fresh)
        start = time.perf_counter()
        rows = replay(args.mirror, args.rev, args.count, args.since_date, cache, args.only,
                      log=lambda s: print(s, flush=True))
    figs = summary(rows)
    show(rows, figs)
    print(f"({time.perf_counter() - start:.0f} s in all)")
    if args.json is not None:
        args.json.write_text(json.dumps({"rev": args.rev, "count": args.count,
                                         "since_date": args.since_date, "figures": figs,
                                         "commits": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
