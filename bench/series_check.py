"""How often ``xenpatch series --check`` fails a patch that brings back a
lock bug Xen fixed upstream.

    .venv/bin/python bench/series_check.py [--only FIX ...] [--limit N]

For each bug of bench/history_bugs.toml that the lint catches (no
``cause``), a throw-away clone of the public history checks out the fix and
commits ``git revert`` of it: a one-patch series that reintroduces the bug.
``--check`` (git am onto the fix, lint before and after, findings compared
by fingerprint) must fail it.  Printed per bug: the verdict, the new
findings, and how many findings the touched files had before the patch;
at the end the totals, and how many of the caught ones the old exit-code
comparison would have missed (the file had a finding already).

Bugs on RCU read sections need the lint's ``rcu`` kind (on in
rules/lint.toml; with it off, --check passes those: the lint's recall, not
the check's).  The history comes from XENPATCH_XEN_MIRROR
(default /work/.mirror/xen-project+xen/repo), read only; clones go to a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenpatch.series import check  # noqa: E402
from xenpatch.series import series as series_mod  # noqa: E402

MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
BUGS = Path(__file__).resolve().parent / "history_bugs.toml"


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True)


def one(bug: dict[str, str], work: Path) -> tuple[bool, int, int] | None:
    """(check failed, new findings, findings before) or None if no revert."""
    repo = work / bug["fix"]
    _git(work, "clone", "-q", "--shared", "--no-checkout", str(MIRROR), str(repo))
    _git(repo, "config", "user.name", "Bench")
    _git(repo, "config", "user.email", "bench@example.org")
    _git(repo, "checkout", "-q", "-b", "revert", bug["fix"])
    if _git(repo, "revert", "--no-edit", "HEAD").returncode != 0:
        return None
    built = series_mod.build(repo, series_mod.Options(spec=f"{bug['fix']}..HEAD",
                                                      maintainers=False))
    lines: list[str] = []
    failed = check.check(repo, built, report=lines.append, lint=True) == check.Outcome.FAILED
    new = [line for line in lines if "new lint finding" in line]
    before = 0
    for line in lines:
        m = re.search(r"had (\d+) before the patch|\((\d+) in the touched files", line)
        if m:
            before = int(m.group(1) or m.group(2))
    for line in new:
        print(f"    {line.split('new lint finding: ', 1)[1][:150]}")
    return (failed and bool(new)), len(new), before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="fix commits to run")
    ap.add_argument("--limit", type=int, help="at most this many bugs")
    args = ap.parse_args()
    if not (MIRROR / "HEAD").exists():
        print(f"bench: no clone of the Xen history at {MIRROR}", file=sys.stderr)
        return 2
    bugs = [b for b in tomllib.loads(BUGS.read_text())["bug"] if "cause" not in b]
    if args.only:
        bugs = [b for b in bugs if any(b["fix"].startswith(o) for o in args.only)]
    bugs = bugs[: args.limit] if args.limit else bugs
    caught = missed_before = ran = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xenpatch-bench-check-") as tmp:
        for bug in bugs:
            t = time.perf_counter()
            got = one(bug, Path(tmp))
            if got is None:
                print(f"{bug['fix']} revert does not apply; skipped")
                continue
            failed, new, before = got
            ran += 1
            caught += failed
            missed_before += failed and before > 0
            print(f"{bug['fix']} [{bug['lock']}] {'FAILED' if failed else 'passed'}: {new} new "
                  f"finding(s), {before} in the touched files before "
                  f"({time.perf_counter() - t:.0f} s) {bug['desc'][:60]}")
    print(f"\n{caught}/{ran} reverted fixes failed by --check "
          f"({time.perf_counter() - start:.0f} s); {missed_before} of those in files that "
          "already had a finding (an exit-code comparison passes them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
