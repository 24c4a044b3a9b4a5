"""The hook's patch mode over a developer's series on one file.

    .venv/bin/python bench/hook_series.py [--file PATH ...] [--count K] [--rev REV]

A developer commits one change after another to the same files, and the
pre-commit hook ``xenpatch lint --since HEAD FILES`` runs before each
commit, sometimes twice (a commit retried after a finding).  Upstream's
own history rarely shows that (its next commit of a file comes after
other files changed), so the series is made: in a scratch clone of the
history at REV, the files as they were at each of the last K+1 upstream
commits touching one of them (``--file`` again for several: one hook
process, as pre-commit runs up to four files in one) are committed one
after the other on a branch, and before each commit the hook runs

- with the cache kept over the series (the next commit: the staged
  version is new, and the committed one is linted again, the files' own
  texts having changed since its report was kept),
- again (the retry: nothing is new),
- from an empty cache (the baseline, in the same process).

Printed: each run's exit and CPU seconds (children included), whether the
kept cache's two reports equal the empty cache's (a report that differs
is a defect of the cache, named, and makes the exit 1), and the medians
with their ratios to the empty cache.  Nothing is asserted on time: the
machine is shared.

The history comes from XENPATCH_XEN_MIRROR (default
/work/.mirror/xen-project+xen/repo), read only; without it the bench says
"skipped: no mirror" and exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
CLI = "import sys; from xenpatch.cli import main; sys.exit(main())"
_GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}

Run = tuple[int, str, str, float]


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True,
                          env={**os.environ, **_GIT_ENV}).stdout


def hook(repo: Path, paths: list[str], cache: Path) -> Run:
    """``lint --since HEAD paths`` from the clone's top: (exit, JSON report,
    stderr, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([sys.executable, "-c", CLI, "lint", "-j", "1", "--format", "json",
                        "--since", "HEAD", *paths], cwd=repo, capture_output=True, text=True,
                       env={**os.environ, "XENPATCH_CACHE": str(cache)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, p.stdout, p.stderr, cpu


def series(mirror: Path, rev: str, paths: list[str], count: int, work: Path
           ) -> list[tuple[str, Run, Run, Run]]:
    """(upstream commit, next, retry, empty cache) per version after the first."""
    repo = work / "xen"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(mirror), str(repo)], check=True)
    top = rev if subprocess.run(["git", "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"],
                                cwd=repo, capture_output=True).returncode == 0 else f"origin/{rev}"
    shas = git(repo, "log", "--no-merges", "--format=%H", f"-n{count + 1}", top, "--",
               *paths).decode().split()[::-1]
    git(repo, "checkout", "-q", "-f", "-B", "hook-series", top)
    kept = work / "kept"

    def stage(sha: str) -> list[str]:
        """The files as they were at ``sha`` (those it has), staged."""
        there = [p for p in paths if git(repo, "ls-tree", sha, "--", p)]
        for p in there:
            (repo / p).write_bytes(git(repo, "show", f"{sha}:{p}"))
        git(repo, "add", "--", *there)
        return there

    stage(shas[0])
    git(repo, "commit", "-q", "--allow-empty", "-m", "version 0")
    hook(repo, paths, kept)  # the first commit's run fills the cache
    rows = []
    for i, sha in enumerate(shas[1:], 1):
        linted = stage(sha)
        nxt = hook(repo, linted, kept)
        retry = hook(repo, linted, kept)
        with tempfile.TemporaryDirectory(dir=work) as empty:
            cold = hook(repo, linted, Path(empty))
        rows.append((sha, nxt, retry, cold))
        print(f"[{i}/{len(shas) - 1}] {sha[:10]} exit {cold[0]}: next {nxt[3]:.2f} s, "
              f"retry {retry[3]:.2f} s, empty cache {cold[3]:.2f} s CPU"
              f"{'' if nxt[:3] == cold[:3] == retry[:3] else '   REPORTS DIFFER'}", flush=True)
        git(repo, "commit", "-q", "--allow-empty", "-m", f"version {i}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", action="append", dest="files",
                    help="a file of the series (again for several; "
                         "default xen/common/grant_table.c)")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--rev", default="master")
    ap.add_argument("--mirror", type=Path, default=MIRROR, help=argparse.SUPPRESS)
    args = ap.parse_args()
    files = args.files or ["xen/common/grant_table.c"]
    if not (args.mirror / "HEAD").exists():
        print("skipped: no mirror")
        return 0
    with tempfile.TemporaryDirectory(prefix="xenpatch-hook-series-") as tmp:
        rows = series(args.mirror, args.rev, files, args.count, Path(tmp))
    if not rows:
        print(f"no versions of {' '.join(files)} at {args.rev}")
        return 0
    differ = [sha[:10] for sha, n, r, c in rows if not n[:3] == r[:3] == c[:3]]
    med = {what: statistics.median(row[k][3] for row in rows)
           for k, what in ((1, "next"), (2, "retry"), (3, "cold"))}
    print(f"{' '.join(files)}, {len(rows)} commits: reports equal to an empty cache's in "
          f"{len(rows) - len(differ)}{'; differ: ' + ', '.join(differ) if differ else ''}")
    print(f"median CPU: next commit {med['next']:.2f} s ({med['next'] / med['cold']:.2f}x the "
          f"empty cache), retried commit {med['retry']:.2f} s ({med['retry'] / med['cold']:.2f}x), "
          f"empty cache {med['cold']:.2f} s")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
