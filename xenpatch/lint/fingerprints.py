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
from collections.abc import Callable, Iterable

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


def fingerprints(
    findings: Iterable[Finding], path_of: Callable[[str], str] = lambda p: p
) -> list[tuple[Finding, str]]:
    """Each finding with its fingerprint, in the order given.

    ``path_of`` maps a finding's path to the one that names the file in the
    fingerprint (the repository-relative path in SARIF), so that the same
    file linted from another directory keeps its fingerprints."""
    items = list(findings)
    order = sorted(range(len(items)), key=lambda i: (items[i].path, items[i].line,
                                                     items[i].col, items[i].check))
    seen: dict[tuple[str, str, str, str], int] = {}
    prints: dict[int, str] = {}
    for i in order:
        f = items[i]
        ident = (path_of(f.path), f.function, f.check, subject(f))
        nth = seen.get(ident, 0)
        seen[ident] = nth + 1
        h = hashlib.sha256("\0".join((*ident, str(nth))).encode())
        prints[i] = h.hexdigest()[:32]
    return [(f, prints[i]) for i, f in enumerate(items)]


def new_since(before: Iterable[Finding], after: Iterable[Finding],
              path_of: Callable[[str], str] = lambda p: p) -> list[Finding]:
    """The findings of ``after`` whose fingerprints ``before`` lacks."""
    old = {fp for _, fp in fingerprints(before, path_of)}
    return [f for f, fp in fingerprints(after, path_of) if fp not in old]
