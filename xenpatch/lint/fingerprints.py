"""Fingerprints of findings that survive edits elsewhere in the file.

Code-scanning dashboards (SARIF ``partialFingerprints``), GitLab's Code
Quality widget and ``lint --since`` recognise a finding across revisions by
its fingerprint.  A line number would make every finding below an inserted
line look new, so the fingerprint is built from what the finding is about:
the file, the function, the check, the lock expression, and which of the
function's findings of that kind it is (the first, the second... in source
order), which lines inserted above or below do not change.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from xenpatch.lint.findings import Finding

# Bump when what goes into a fingerprint changes: dashboards then see every
# finding as new once, rather than matching unrelated ones.
VERSION = "xenpatchLint/v2"

_LINE_REF = re.compile(r"\bline \d+")


def subject(f: Finding) -> str:
    """What the finding is about, without any line number: the lock
    expression when the finding records it, else its message with the line
    numbers it cites (``taken at line 16``) left out."""
    return f.key if f.key else _LINE_REF.sub("line", f.message)


def ident(f: Finding, path_of: Callable[[str], str] = lambda p: p) -> tuple[str, str, str, str]:
    """What a fingerprint is made of, but the occurrence."""
    return (path_of(f.path), f.function, f.check, subject(f))


def fingerprints(
    findings: Iterable[Finding], path_of: Callable[[str], str] = lambda p: p,
    among: Iterable[Finding] | None = None,
) -> list[tuple[Finding, str]]:
    """Each finding with its fingerprint, in the order given.

    ``path_of`` maps a finding's path to the one that names the file in the
    fingerprint (the repository-relative path in SARIF), so that the same
    file linted from another directory keeps its fingerprints.  ``among``:
    the run's findings these are some of (``--since`` reports the new
    ones): the occurrences are counted among them, so that a finding has
    the fingerprint the report of all would give it."""
    chosen = list(findings)
    if among is not None:
        every = dict(fingerprints(among, path_of))
        return [(f, every[f]) for f in chosen]
    items = chosen
    order = sorted(range(len(items)), key=lambda i: (items[i].path, items[i].line,
                                                     items[i].col, items[i].check))
    seen: dict[tuple[str, str, str, str], int] = {}
    prints: dict[int, str] = {}
    for i in order:
        f = items[i]
        what = ident(f, path_of)
        nth = seen.get(what, 0)
        seen[what] = nth + 1
        h = hashlib.sha256("\0".join((*what, str(nth))).encode())
        prints[i] = h.hexdigest()[:32]
    return [(f, prints[i]) for i, f in enumerate(items)]


Anchor = Callable[[Finding], str]


def text_anchor(texts: Mapping[str, bytes | None]) -> Anchor:
    """A finding's source text in ``texts`` (its path -> the file's text,
    None: absent): its line's and its path's first step's (the take),
    blanks ignored, so that a finding that only moved has the same."""
    lines = {path: text.splitlines() if text is not None else []
             for path, text in texts.items()}

    def line(path: str, n: int) -> bytes:
        got = lines.get(path, [])
        return b" ".join(got[n - 1].split()) if 0 < n <= len(got) else b""

    def of(f: Finding) -> str:
        take = line(f.path, f.flow[0].line) if f.flow else b""
        return (line(f.path, f.line) + b"\0" + take).decode("utf-8", "replace")
    return of


def new_since(before: Iterable[Finding], after: Iterable[Finding],
              path_of: Callable[[str], str] = lambda p: p,
              anchors: tuple[Anchor, Anchor] | None = None) -> list[Finding]:
    """The findings of ``after`` whose fingerprints ``before`` lacks.

    Where a function has more findings of one kind on one lock than
    before, the fingerprints say how many are new, not which: a take added
    above an old one's would make the old one (its occurrence number now
    one more) the new one.  ``anchors`` give a finding's source text at
    each side (before's, after's): the findings whose text a finding of
    before has are the old ones, and only the others can be new -- the
    first of them taken as edits of the old ones left unmatched, in
    source order, as the occurrence numbers would."""
    after = list(after)
    if anchors is None:
        old = {fp for _, fp in fingerprints(before, path_of)}
        return [f for f, fp in fingerprints(after, path_of) if fp not in old]
    olds: dict[tuple[str, str, str, str], list[Finding]] = {}
    news: dict[tuple[str, str, str, str], list[Finding]] = {}
    for group, items in ((olds, before), (news, after)):
        for f in sorted(items, key=lambda f: (f.path, f.line, f.col, f.check)):
            group.setdefault(ident(f, path_of), []).append(f)
    fresh: set[Finding] = set()
    for what, mine in news.items():
        theirs = olds.get(what, [])
        if len(mine) <= len(theirs):
            continue
        left = Counter(anchors[0](f) for f in theirs)
        unmatched = []
        for f in mine:
            text = anchors[1](f)
            if left[text] > 0:
                left[text] -= 1
            else:
                unmatched.append(f)
        fresh.update(unmatched[left.total():])
    return [f for f in after if f in fresh]
