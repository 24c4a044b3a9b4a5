"""Select the held-out set of upstream lock-bug fixes mechanically.

    .venv/bin/python bench/heldout_select.py > /tmp/heldout.toml
    mv /tmp/heldout.toml bench/history_heldout.toml

The output is a merge: the entries already in bench/history_heldout.toml
are written first, verbatim (with their header, ``excluded``, ``kind``,
``cause``, ``category``, ``open_at_fix`` fields: whatever was judged or
measured on them stays), and the candidates the queries find that are not
there yet are appended after them with ``kind = "unknown"``, to be judged by
hand from the commit alone before the bench is run on them.

The held-out set of bench/history.py (``--bugs bench/history_heldout.toml``)
is chosen by this query alone, written down and committed before the lint is
measured on it, so that no analysis change can be tuned to it:

1. ``git log master`` of the public history (XENPATCH_XEN_MIRROR) whose
   message matches GREP (case-insensitive) and that touch ``xen/**.c``;
2. non-merge commits, not already in bench/history_bugs.toml;
3. whose C changes under xen/ are small (at most MAX_FILES files and
   MAX_LINES changed lines: a fix, not a rework; the first selection used 3
   files and 80 lines, widened to 5 and 200 by the extension below);
4. whose changed lines (added or removed, comments aside) call a lock
   primitive (CALL): the fix moves, adds or drops a lock operation.

A second query adds fixes whose message says less: commits whose message
matches SHAPE_GREP and whose C changes under xen/ are tiny (at most 2 files,
SHAPE_LINES changed lines) with an unlock or put_gfn call among them.

A third query (the extension of 2026-12-03, made to get a held-out set
larger than bench/history_bugs.toml's) takes commits whose message says
less about the fix but names a lock (LOCK_GREP: lock, rcu, spin, irq, XSA,
deadlock, hang), whose C changes under xen/ are small (3. above), and whose
changed lines change the lock discipline itself (lock_shape): either the
count of releases added minus removed differs from that of acquisitions (an
unlock added or dropped without its lock, the shape of a leak or a double
release fixed), or an acquire or release of the same lock expression is
replaced by another primitive (spin_lock_irq -> spin_lock_irqsave, read ->
write: the shape of a wrong-primitive or self-deadlock fix).

A fourth query takes the same lock_shape whatever the message says (the
bitkeeper-era commits say nothing useful), on smaller changes (at most
ANY_FILES files and ANY_LINES changed lines: the first selection's limits).

A fifth query is the first one's filters (3. and 4.) on commits whose
message names a lock (LOCK_WORDS) and a fix (FIX_WORDS), in any of its lines
("fix spinlock irq-safety", "bug-fix: hypervisor hang ... the p2m lock is
already taken"), whatever lock calls the diff changes.

Nothing in any query looks at what the lint reports.

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
MAX_FILES = 5
MAX_LINES = 200
SHAPE_GREP = r"fix|missing|leak|error|fail|forg[eo]t|bug|XSA|coverity|balance"
SHAPE_CALL = re.compile(r"\b\w*(?:unlock|put_gfn)\w*\s*\(")
SHAPE_LINES = 12
LOCK_GREP = r"lock|rcu|spin|irq|XSA|deadlock|hang"
LOCK_WORDS = r"(lock|rcu|spin|irq|XSA)"
FIX_WORDS = r"(fix|bug|deadlock|hang|leak|miss|wrong|correct|broken|bogus|error|fail)"
ANY_FILES = 3
ANY_LINES = 80
# A release: any unlock, put_gfn(), an irqrestore.  An acquisition: any other
# call named for a lock (spin_lock_irqsave, read_lock, rcu_lock_domain_by_id,
# get_gfn...), less the names that only test or set a lock up.
RELEASE = re.compile(r"\b(\w*(?:unlock\w*|put_gfn\w*|_irqrestore))\s*\(([^;]*)")
ACQUIRE = re.compile(r"\b((?!\w*unlock)\w*(?:lock\w*|get_gfn\w*|_irqsave))\s*\(([^;]*)")
NOT_ACQUIRE = re.compile(r"init|is_locked|locked|lock_t|blocked|clock|block|lockdep")
HELDOUT = Path(__file__).resolve().parent / "history_heldout.toml"


def git(*args: str) -> str:
    return subprocess.run(["git", f"--git-dir={MIRROR}", *args], capture_output=True,
                          check=True).stdout.decode(errors="replace")


def lock_ops(lines: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(releases, acquisitions) called on ``lines`` (code, comments
    aside), each as (function, first arguments)."""
    rel: list[tuple[str, str]] = []
    acq: list[tuple[str, str]] = []
    for line in lines:
        s = line.strip()
        if s.startswith(("/*", "*", "//")):
            continue
        rel += [(m.group(1), m.group(2).strip()) for m in RELEASE.finditer(s)]
        acq += [(m.group(1), m.group(2).strip()) for m in ACQUIRE.finditer(s)
                if not NOT_ACQUIRE.search(m.group(1))]
    return rel, acq


def lock_shape(added: list[str], removed: list[str]) -> bool:
    """The changed lines change the lock discipline: the releases' balance
    moves apart from the acquisitions', or an operation on one lock
    expression is replaced by another primitive."""
    rel_a, acq_a = lock_ops(added)
    rel_r, acq_r = lock_ops(removed)
    if len(rel_a) - len(rel_r) != len(acq_a) - len(acq_r):
        return True
    return any(old[1] and old[1] == new[1] and old[0] != new[0]
               for old in rel_r + acq_r for new in rel_a + acq_a)


def lock_query(grep: str, max_files: int, max_lines: int) -> list[str]:
    """``%H %P`` lines of the third (and fourth) query, newest first."""
    log = git("log", "master", "--no-merges", "-i", "-E", f"--grep={grep}",
              "--format=@@C %H %P", "-p", "-U0", "--", "xen/*.c")
    out: list[str] = []
    cur: dict | None = None

    def done(c: dict | None) -> None:
        if c is None or len(c["head"].split()) != 2:
            return
        cfiles = [f for f in c["files"] if f.endswith(".c") and f.startswith("xen/")]
        n = len(c["added"]) + len(c["removed"])
        if (cfiles and len(cfiles) <= max_files and n <= max_lines
                and lock_shape(c["added"], c["removed"])):
            out.append(c["head"])

    for line in log.splitlines():
        if line.startswith("@@C "):
            done(cur)
            cur = {"head": line[4:], "files": [], "added": [], "removed": []}
        elif cur is None or line.startswith(("diff ", "index ", "--- ")):
            continue
        elif line.startswith("+++ b/"):
            cur["files"].append(line[6:].strip())
        elif line.startswith("+"):
            cur["added"].append(line[1:])
        elif line.startswith("-"):
            cur["removed"].append(line[1:])
    done(cur)
    return out


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
    old_text = HELDOUT.read_text(encoding="utf-8") if HELDOUT.exists() else ""
    have = [b["fix"] for b in tomllib.loads(old_text).get("bug", [])]
    log = git("log", "master", "--no-merges", "-i", "-E", f"--grep={GREP}",
              "--format=%H %P", "--", "xen/*.c")
    first = log.splitlines()
    seen = {ln.split()[0] for ln in first}
    fifth = git("log", "master", "--no-merges", "-i", "-E", "--all-match",
                f"--grep={LOCK_WORDS}", f"--grep={FIX_WORDS}",
                "--format=%H %P", "--", "xen/*.c").splitlines()
    for extra in (shape_query(), lock_query(LOCK_GREP, MAX_FILES, MAX_LINES),
                  lock_query(".", ANY_FILES, ANY_LINES), fifth):
        first += [ln for ln in extra if ln.split()[0] not in seen]
        seen |= {ln.split()[0] for ln in extra}
    log = "\n".join(first)
    if old_text:
        # The entries already judged (and measured) stay as they are.
        print(old_text.rstrip("\n"))
    else:
        print("# Held-out set of bench/history.py, written by bench/heldout_select.py")
        print("# (the query is in its docstring); do not edit the selection by hand.")
        print("# `excluded` marks, with the reason, commits that are not lock-discipline")
        print("# bug fixes (judged from the commit, before any measurement).")
    n = 0
    for line in log.splitlines():
        fix, *parents = line.split()
        if len(parents) != 1 or any(fix.startswith(k) for k in known):
            continue
        if any(fix.startswith(h) for h in have):
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
    print(f"# {len(have)} entries kept, {n} new commits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
