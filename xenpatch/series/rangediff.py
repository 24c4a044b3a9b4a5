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

from xenpatch.series import git
from xenpatch.series.diff import file_diff
from xenpatch.series.git import CommitInfo

CREATION_FACTOR = 60
_COST_MAX = 1 << 30


def patch_text(repo_dir: str | os.PathLike[str], info: CommitInfo) -> str:
    """Message and diff of a commit, without what a rebase alone changes
    (shas in index lines, hunk line numbers)."""
    lines = [f"Author: {info.author.name} <{info.author.email}>", ""]
    lines += ["    " + line for line in info.text.rstrip("\n").split("\n")]
    lines.append("")
    for change in git.commit_changes(repo_dir, info.sha):
        text = file_diff(change, lambda _sha: "").decode("utf-8", "replace")
        for line in text.split("\n"):
            if line.startswith("index "):
                continue
            if line.startswith("@@ "):
                # keep only the function context of the hunk header
                tail = line.split("@@", 2)[-1]
                line = "@@" + tail
            lines.append(line)
    return "\n".join(lines)


def _diffsize(a: str, b: str) -> int:
    """Lines a 3-context diff of ``a`` → ``b`` emits (git's diffsize())."""
    out = difflib.unified_diff(a.split("\n"), b.split("\n"), n=3, lineterm="")
    return sum(1 for line in out if not line.startswith(("---", "+++", "@@")))


def _assignment(cost: list[list[int]]) -> list[int]:
    """Hungarian algorithm (square matrix): column assigned to each row."""
    n = len(cost)
    u = [0] * (n + 1)
    v = [0] * (n + 1)
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
    a_text = [patch_text(repo_dir, c) for c in old]
    b_text = [patch_text(repo_dir, c) for c in new]
    a_match = [-1] * len(old)
    b_match = [-1] * len(new)
    for i, ta in enumerate(a_text):  # identical patches first
        for j, tb in enumerate(b_text):
            if b_match[j] < 0 and ta == tb:
                a_match[i], b_match[j] = j, i
                break
    n = len(old) + len(new)
    cost = [[0] * n for _ in range(n)]
    a_size = [_diffsize(t, "") for t in a_text]
    b_size = [_diffsize("", t) for t in b_text]
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
            status = "=" if a_text[i] == b_text[j] else "!"
        subject = old[i].subject if i is not None else new[j].subject  # type: ignore[index]
        out.append(f"{a_part} {status} {b_part} {subject}\n")
        if status == "!":
            body = difflib.unified_diff(
                a_text[i].split("\n"), b_text[j].split("\n"), n=3, lineterm=""  # type: ignore[index]
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
