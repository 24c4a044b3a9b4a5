"""The bracket that closes an open one, in text or in a token list.

One counter for every reader of C text that has found an opening
bracket by other means (a regular expression, a token) and wants its
match: a function's body brace, a call's parenthesis, a macro's
argument list.  Strings and comments are the caller's to blank first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def closing(seq: Sequence[T], at: int, open_: T, close: T,
            limit: int | None = None) -> int | None:
    """The index of the ``close`` matching the ``open_`` at ``at`` (None:
    unclosed, or not closed within ``limit`` items of it).  For bytes the
    items are ints: pass ``ord("(")``."""
    depth = 0
    end = len(seq) if limit is None else min(len(seq), at + limit)
    for i in range(at, end):
        c = seq[i]
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
    return None


__all__ = ["closing"]
