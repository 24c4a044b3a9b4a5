"""A range-diff of two versions of a series, in the shape of ``git range-diff``.

Pairing follows git's range-diff.c: identical patches pair first; the rest
go through a minimum-cost assignment where pairing two patches costs the
size of the diff between them and leaving one unpaired costs 60% of its own
size (``--creation-factor=60``).  The header lines (``1:  abc ! 1:  def
subject``) and their order are git's; the body of a changed pair is a
plain unified diff of the two patches (git's is reformatted with ``##``
section headers), indented by four spaces.
"""

from __future__ import annotations

import difflib
import os

from xenpatch import git
from xenpatch.git import CommitInfo

CREATION_FACTOR = 60
_COST_MAX = 1 << 30


def patch_texts(repo_dir: str | os.PathLike[str], info: CommitInfo) -> tuple[str, str]:
    """(whole text, diff part) of a commit in the form range-diff.c builds from
    ``git log -p``: metadata and message, then per file a `` ## path ##``
    line and hunks whose headers keep only ``path: function`` — so that a
    rebase alone (new shas, shifted line numbers) compares equal."""
    head = [" ## Metadata ##", f"Author: {info.author.name} <{info.author.email}>", "",
            " ## Commit message ##"]
    lines = info.text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    head += [("    " + line).rstrip() for line in "\n".join(lines).rstrip().split("\n")]
    diff_lines: list[str] = []
    for change in git.commit_changes(repo_dir, info.sha):
        old = change.old_path.decode("utf-8", "surrogateescape")
        new = change.new_path.decode("utf-8", "surrogateescape")
        if change.status == "A":
            title = f"{new} (new)"
        elif change.status == "D":
            title = f"{old} (deleted)"
        elif change.status == "R":
            title = f"{old} => {new}"
        else:
            title = new
        if change.old_mode and change.new_mode and change.old_mode != change.new_mode:
            title += f" (mode change {change.old_mode:06o} => {change.new_mode:06o})"
        current = old if change.status == "D" else new
        diff_lines += ["", f" ## {title} ##"]
        for line in change.body.decode("utf-8", "replace").split("\n"):
            if not line:
                continue
            if line.startswith("@@ "):
                rest = line[3:]
                func = rest[rest.index("@@") + 2 :] if "@@" in rest else ""
                diff_lines.append("@@" + (f" {current}:" if func else "") + func)
            elif line[0] in "+-" or line[0] == " ":
                diff_lines.append(line)
            else:  # "\ No newline at end of file", binary payloads
                diff_lines.append(" " + line)
    diff = "\n".join(diff_lines[1:]) + "\n" if diff_lines else ""
    return "\n".join(head) + "\n" + ("\n" + diff if diff else ""), diff


def _diffsize(a: str, b: str) -> int:
    """Hunks plus lines that a 3-context diff of ``a`` → ``b`` emits (git's
    diffsize(), with difflib standing in for xdiff)."""
    out = difflib.unified_diff(a.split("\n"), b.split("\n"), n=3, lineterm="")
    count = 0
    for line in out:
        if line.startswith(("---", "+++")) and count == 0:
            continue
        count += 1
    return count


def _assignment(cost: list[list[int]]) -> list[int]:
    """Hungarian algorithm (square matrix): column assigned to each row."""
    n = len(cost)
    u: list[float] = [0] * (n + 1)  # potentials: delta is a float
    v: list[float] = [0] * (n + 1)
    p = [0] * (n + 1)
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [float("inf")] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], float("inf"), 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    row = [-1] * n
    for j in range(1, n + 1):
        if p[j]:
            row[p[j] - 1] = j - 1
    return row


def range_diff(
    repo_dir: str | os.PathLike[str], old_range: str, new_range: str
) -> str:
    """``git range-diff old_range new_range`` (ranges as ``BASE..HEAD``)."""
    _, old = git.resolve_range(repo_dir, old_range)
    _, new = git.resolve_range(repo_dir, new_range)
    a_full, a_text = zip(*[patch_texts(repo_dir, c) for c in old], strict=True) if old \
        else ((), ())
    b_full, b_text = zip(*[patch_texts(repo_dir, c) for c in new], strict=True) if new \
        else ((), ())
    a_match = [-1] * len(old)
    b_match = [-1] * len(new)
    for i, ta in enumerate(a_text):  # identical patches first
        for j, tb in enumerate(b_text):
            if b_match[j] < 0 and ta == tb:
                a_match[i], b_match[j] = j, i
                break
    n = len(old) + len(new)
    cost = [[0] * n for _ in range(n)]
    # range-diff.c's util->diffsize: the number of lines of the diff part
    a_size = [t.count("\n") - t.count("\n\n") for t in a_text]
    b_size = [t.count("\n") - t.count("\n\n") for t in b_text]
    for i in range(len(old)):
        for j in range(len(new)):
            if a_match[i] == j:
                c = 0
            elif a_match[i] >= 0 or b_match[j] >= 0:
                c = _COST_MAX
            else:
                c = _diffsize(a_text[i], b_text[j])
            cost[i][j] = c
        for j in range(len(new), n):
            cost[i][j] = a_size[i] * CREATION_FACTOR // 100 if a_match[i] < 0 else _COST_MAX
    for j in range(len(new)):
        c = b_size[j] * CREATION_FACTOR // 100 if b_match[j] < 0 else _COST_MAX
        for i in range(len(old), n):
            cost[i][j] = c
    rows = _assignment(cost) if n else []
    for i in range(len(old)):
        j = rows[i]
        if 0 <= j < len(new):
            a_match[i], b_match[j] = j, i

    abbrev = git.abbreviator(repo_dir)
    width = len(str(1 + max(len(old), len(new))))
    some = (old or new)[0].sha
    dashes = "-" * len(abbrev(some))
    out: list[str] = []

    def header(i: int | None, j: int | None) -> None:
        a_part = f"{i + 1:>{width}}:  {abbrev(old[i].sha)}" if i is not None else \
            f"{'-':>{width}}:  {dashes}"
        b_part = f"{j + 1:>{width}}:  {abbrev(new[j].sha)}" if j is not None else \
            f"{'-':>{width}}:  {dashes}"
        if j is None:
            status = "<"
        elif i is None:
            status = ">"
        else:
            status = "=" if a_full[i] == b_full[j] else "!"
        subject = old[i].subject if i is not None else new[j].subject  # type: ignore[index]
        out.append(f"{a_part} {status} {b_part} {subject}\n")
        if status == "!":
            body = difflib.unified_diff(
                a_full[i].split("\n"), b_full[j].split("\n"), n=3, lineterm=""  # type: ignore[index]
            )
            for line in list(body)[2:]:
                out.append(f"    {line}".rstrip() + "\n")

    shown = [False] * len(old)
    i = j = 0
    while i < len(old) or j < len(new):
        while i < len(old) and shown[i]:
            i += 1
        if i < len(old) and a_match[i] < 0:
            header(i, None)
            shown[i] = True
            i += 1
            continue
        while j < len(new) and b_match[j] < 0:
            header(None, j)
            j += 1
        if j < len(new):
            k = b_match[j]
            header(k, j)
            shown[k] = True
            j += 1
    return "".join(out)
