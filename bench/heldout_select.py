"""Select the held-out set of upstream lock-bug fixes mechanically.

    .venv/bin/python bench/heldout_select.py > bench/history_heldout.toml

The held-out set of bench/history.py (``--bugs bench/history_heldout.toml``)
is chosen by this query alone, written down and committed before the lint is
measured on it, so that no analysis change can be tuned to it:

1. ``git log master`` of the public history (XENPATCH_XEN_MIRROR) whose
   message matches GREP (case-insensitive) and that touch ``xen/**.c``;
2. non-merge commits, not already in bench/history_bugs.toml;
3. whose C changes under xen/ are small (at most MAX_FILES files and
   MAX_LINES changed lines: a fix, not a rework);
4. whose changed lines (added or removed, comments aside) call a lock
   primitive (CALL): the fix moves, adds or drops a lock operation.

A second query adds fixes whose message says less: commits whose message
matches SHAPE_GREP and whose C changes under xen/ are tiny (at most 2 files,
SHAPE_LINES changed lines) with an unlock or put_gfn call among them.

What the queries let through that is not a lock-discipline bug fix (a lock
order, a missing lock, a refcount) is marked by hand afterwards with
``excluded = "reason"``, judged from the commit alone, and the bench shows it
as excluded rather than dropping it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))
ORIGINAL = Path(__file__).resolve().parent / "history_bugs.toml"

GREP = (
    r"missing (un)?lock|unlock on (the )?error|error path.*(unlock|lock)|"
    r"(unlock|lock).*error path|double (un)?lock|unlock(ed)? twice|lock(ed)? twice|"
    r"lock leak|leak.*lock|lock.*leak|without (releasing|unlocking|dropping)|"
    r"forgot(ten)? to (unlock|release|drop)|still hold|deadlock|rcu_unlock_domain|"
    r"put_gfn|unbalanced|imbalance|(drop|release)s? the lock|lock (is )?not released|"
    r"(un)?locking (fix|issue|bug)|fix (un)?locking|unlock|lock(ed)? held|held lock|"
    r"leaves? .*locked|with .* held|error path|error handling|bail(ing)? out|rcu_lock|"
    r"release .*(lock|reference)|drop .*(lock|reference)|leak"
)
CALL = re.compile(r"\b\w*(?:lock|put_gfn|get_gfn)\w*\s*\(")
MAX_FILES = 3
MAX_LINES = 80
SHAPE_GREP = r"fix|missing|leak|error|fail|forg[eo]t|bug|XSA|coverity|balance"
SHAPE_CALL = re.compile(r"\b\w*(?:unlock|put_gfn)\w*\s*\(")
SHAPE_LINES = 12


def git(*args: str) -> str:
    return subprocess.run(["git", f"--git-dir={MIRROR}", *args], capture_output=True,
                          check=True).stdout.decode(errors="replace")


def shape_query() -> list[str]:
    """``%H %P`` lines of the second query, newest first."""
    log = git("log", "master", "--no-merges", "-i", "-E", f"--grep={SHAPE_GREP}",
              "--format=@@C %H %P", "-p", "-U0", "--", "xen/*.c")
    out: list[str] = []
    cur: dict | None = None

    def done(c: dict | None) -> None:
        if c is None or len(c["head"].split()) != 2:
            return
        cfiles = [f for f in c["files"] if f.endswith(".c") and f.startswith("xen/")]
        if cfiles and len(cfiles) <= 2 and c["n"] <= SHAPE_LINES and c["hit"]:
            out.append(c["head"])

    for line in log.splitlines():
        if line.startswith("@@C "):
            done(cur)
            cur = {"head": line[4:], "files": [], "n": 0, "hit": False}
        elif cur is None or line.startswith(("diff ", "index ", "--- ")):
            continue
        elif line.startswith("+++ b/"):
            cur["files"].append(line[6:].strip())
        elif line[:1] in "+-" and not line.startswith("+++"):
            cur["n"] += 1
            s = line[1:].strip()
            if not s.startswith(("/*", "*", "//")) and SHAPE_CALL.search(s):
                cur["hit"] = True
    done(cur)
    return out


def main() -> int:
    known = {b["fix"] for b in tomllib.loads(ORIGINAL.read_text())["bug"]}
    log = git("log", "master", "--no-merges", "-i", "-E", f"--grep={GREP}",
              "--format=%H %P", "--", "xen/*.c")
    first = log.splitlines()
    seen = {ln.split()[0] for ln in first}
    log = "\n".join(first + [ln for ln in shape_query() if ln.split()[0] not in seen])
    print("# Held-out set of bench/history.py, written by bench/heldout_select.py")
    print("# (the query is in its docstring); do not edit the selection by hand.")
    print("# `excluded` marks, with the reason, commits that are not lock-discipline")
    print("# bug fixes (judged from the commit, before any measurement).")
    n = 0
    for line in log.splitlines():
        fix, *parents = line.split()
        if len(parents) != 1 or any(fix.startswith(k) for k in known):
            continue
        stat = git("diff", "--numstat", parents[0], fix, "--", "xen/*.c")
        files, lines = [], 0
        for row in stat.splitlines():
            add, rem, path = row.split("\t")
            if add == "-" or not path.endswith(".c"):
                continue
            files.append(path)
            lines += int(add) + int(rem)
        if not files or len(files) > MAX_FILES or lines > MAX_LINES:
            continue
        diff = git("diff", "-U0", parents[0], fix, "--", *files)
        changed = [
            ln[1:] for ln in diff.splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
        ]
        if not any(CALL.search(c) for c in changed
                   if not c.strip().startswith(("/*", "*", "//"))):
            continue
        subject = git("log", "-1", "--format=%s", fix).strip().replace("\\", "\\\\")
        subject = subject.replace('"', '\\"')
        n += 1
        print()
        print("[[bug]]")
        print(f'fix = "{fix[:10]}"')
        print(f'parent = "{parents[0][:10]}"')
        print(f"files = [{', '.join(repr(f).replace(chr(39), chr(34)) for f in files)}]")
        print('kind = "unknown"')
        print('lock = "unknown"')
        print(f'desc = "{subject}"')
    print(f"# {n} commits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
