"""The later round's second hop: which functions of other files, reached
from the linted file's calls made holding a lock and with no summary at
hand, take a lock of the kind it holds there.

A file linted alone (the hook) has the summaries of what it calls, not of
what those callees call in a third file.  caller.c holding ``s->lock``
calls relay.c's relay(s), which calls taker.c's take_count(s), which takes
``s->lock``: relay()'s summary at hand says nothing, and the self-deadlock
is seen only by a whole-tree run, unless the later round computes
take_count()'s summary and relay()'s again with it (lazyrounds.py).  Doing
so for every name the callees reach would parse tens of files for one
(grant_table.c: 70 names in 42 files on Xen 4.17), so a text test chooses:
a name is followed when its text, or that of its own file's functions it
calls, takes a lock the linted file holds at a call, named by the same
identity the whole-tree merge uses (irqsafe.identity()), in the arguments
of one of the lock table's acquires or wrappers:

- a struct field's lock: the field path after a variable the same text
  declares with the struct type (``struct st *q`` ...
  ``spin_lock(&q->lock)``);
- a file-scope lock with a plain name: that name (``spin_lock(&heap_lock)``,
  not the query of ``spin_is_locked(&heap_lock)``).

A take through a macro or an inline that hides the path (``p2m_lock(p)``),
or through a variable of another type (``gt->lock`` where the file holds
``d->grant_table->lock``), is not followed: a finding fewer than the
whole-tree run, never one more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from xenpatch.lint import nameindex

_WORD = re.compile(r"[A-Za-z_]\w*")
_PART = re.compile(r"(->|\.)([A-Za-z_]\w*)")
_KINDS = ("struct", "union")


def _type_text(t: str) -> bytes | None:
    """A declaration's spelling of a squashed struct type (``structst``:
    functions.shape_fn()), as a pattern; None for anything else (a
    typedef name, a pointer to pointer): nothing narrows the test then,
    so the identity is not followed."""
    for kw in _KINDS:
        if t.startswith(kw) and len(t) > len(kw) and _WORD.fullmatch(t[len(kw):]):
            return kw.encode() + rb"\s+" + re.escape(t[len(kw):].encode()) + rb"\b"
    return None


def _path_text(path: str) -> bytes | None:
    parts = _PART.findall(path)
    if not parts or "".join(a + b for a, b in parts) != path.replace(" ", ""):
        return None
    return rb"\s*(?:->|\.)\s*".join(re.escape(b.encode()) for _, b in parts) + rb"\b"


class LockTest:
    """The text test of one set of held locks (module doc)."""

    def __init__(self, locks: Iterable[tuple[str, str]], acquires: Iterable[str] = ()) -> None:
        self.acquires = frozenset(acquires)
        self.fields: list[tuple[re.Pattern[bytes], bytes]] = []
        names: list[bytes] = []
        tails: list[bytes] = []
        for t, path in sorted(set(locks)):
            if not t:
                if _WORD.fullmatch(path):
                    names.append(re.escape(path.encode()))
                continue
            typed, tail = _type_text(t), _path_text(path)
            if typed is None or tail is None:
                continue
            # The variables declared with the type: "struct st *q", also in
            # a parameter list or after a comma.
            decl = re.compile(typed + rb"\s*\*\s*([A-Za-z_]\w*)")
            self.fields.append((decl, rb"\s*(?:->|\.)\s*" + tail))
            tails.append(tail)
        self.names = re.compile(rb"\b(?:" + b"|".join(names) + rb")\b") if names else None
        self._tails = re.compile(rb"(?:->|\.)\s*(?:" + b"|".join(tails) + rb")") \
            if tails else None

    def may_take(self, raw: bytes) -> bool:
        """A file's text first: most name none of the locks at all."""
        return (self.names is not None and self.names.search(raw) is not None) or \
            (self._tails is not None and self._tails.search(raw) is not None)

    def __bool__(self) -> bool:
        return bool(self.acquires) and (bool(self.fields) or self.names is not None)

    def takes(self, text: bytes) -> bool:
        """Does ``text`` take one of the locks as the module doc says?"""
        if self.names is not None and any(
                self._acquired(text, m.start()) for m in self.names.finditer(text)):
            return True
        for decl, tail in self.fields:
            heads = {m.group(1) for m in decl.finditer(text)}
            if heads and any(self._acquired(text, m.start()) for m in re.finditer(
                    rb"\b(?:" + b"|".join(re.escape(h) for h in sorted(heads)) + rb")\s*\)?"
                    + tail,
                    text)):
                return True
        return False

    def _acquired(self, text: bytes, at: int) -> bool:
        """Is ``at`` inside the arguments of a call of an acquire (other
        arguments may come first: percpu_read_lock(grant_rwlock,
        &gt->lock)), within its statement?"""
        depth = 0
        i = at - 1
        while i >= 0:
            c = text[i]
            if c in _STOPS:
                return False
            if c == _CLOSE:
                depth += 1
            elif c == _OPEN:
                if depth:
                    depth -= 1
                else:
                    m = _CALLEE.search(text, max(0, i - 128), i)
                    if m is not None and m.group(1).decode() in self.acquires:
                        return True
            i -= 1
        return False


_STOPS = frozenset(b";{}")
_OPEN, _CLOSE = ord("("), ord(")")
# The name just before a "(": the call's.
_CALLEE = re.compile(rb"([A-Za-z_]\w*)\s*$")


def followed(test: LockTest, names: Iterable[str], definers: Mapping[str, Iterable[str]],
             me: str | None, read: Callable[[str], bytes | None]) -> frozenset[str]:
    """Those of ``names`` some definer (not ``me``) of which passes
    ``test`` in the text of the definition and of its file's functions it
    calls, followed by name."""
    if not test:
        return frozenset()
    from xenpatch.lint.excerpt import text_ends

    by_file: dict[str, list[str]] = {}
    for n in names:
        for r in definers.get(n, ()):
            if r != me:
                by_file.setdefault(r, []).append(n)
    out: set[str] = set()
    for r, ns in sorted(by_file.items()):
        raw = read(r)
        if raw is None or not test.may_take(raw):
            continue
        defs = nameindex.definitions(raw)
        ends = text_ends(raw, defs)
        spans: dict[str, list[tuple[int, int]]] = {}
        for i, d in enumerate(defs):
            spans.setdefault(d.name, []).append((d.start, max(ends[i], d.brace)))
        for n in ns:
            if n in out:
                continue
            seen: set[str] = set()
            todo = [n]
            while todo:
                m = todo.pop()
                if m in seen or m not in spans:
                    continue
                seen.add(m)
                text = b"".join(raw[a:b] for a, b in spans[m])
                if test.takes(text):
                    out.add(n)
                    break
                todo.extend(x for x in nameindex.identifiers(text) if x in spans)
    return frozenset(out)
