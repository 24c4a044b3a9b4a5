"""What a file's lint reads off the whole of the other files' summaries,
worked out once per mapping of them rather than once per file.

A whole-tree run's worker lints the files of a round with one mapping of
the tree's summaries (the round's, received once: lint/shipping.py).
Each file's lint scanned all of it (~20,000 keys on Xen 4.17) for the
few kinds of keys it reads: the witnesses of calls from other files, the
states their calls agree on, the fields and calls the tree settled for
the file, the names of the helpers.  Of the second pass and the later
rounds that was ~8 % of the workers' time, the same answer each time.

The memo is by the mapping's identity, and holds the mapping (so that
its identity is not reused by another while the memo holds it): the
lints read it and never change it (a file's analysis only reads
``external``).  Only the last few mappings are kept (a round's, and the
architectures' views of it).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Mappings smaller than this are scanned again: the memo would cost more.
_SMALL = 64
# The mappings whose facts are kept (a round's, its architectures' views).
_KEEP = 4

# id(mapping) -> (the mapping, what -> its value); insertion order is age.
_MEMO: dict[int, tuple[Mapping[str, Any], dict[Hashable, Any]]] = {}


def of_mapping(external: Mapping[str, Any], what: Hashable, make: Callable[[], T]) -> T:
    """``make()``, once per ``external`` and ``what`` (a pure function of
    the mapping's contents, which the caller must not change)."""
    if len(external) < _SMALL:
        return make()
    key = id(external)
    got = _MEMO.get(key)
    if got is None or got[0] is not external:
        while len(_MEMO) >= _KEEP:
            del _MEMO[next(iter(_MEMO))]
        got = _MEMO[key] = (external, {})
    facts = got[1]
    if what in facts:
        return facts[what]  # type: ignore[no-any-return]
    value = facts[what] = make()
    return value


def clear() -> None:
    _MEMO.clear()


__all__ = ["clear", "of_mapping"]
