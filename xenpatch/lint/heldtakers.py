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
  not the query of ``spin_is_locked(&heap_lock)``);
- a wrapper macro (the lock table's or the linted file's headers') whose
  lock argument is a parameter's field path, called with such a variable
  there: ``pod_lock(p2m)`` takes ``&(p2m)->pod.lock``.

A take through an inline or a function that hides the path, or through a
variable of another type (``gt->lock`` where the file holds
``d->grant_table->lock``), is not followed: a finding fewer than the
whole-tree run, never one more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from xenpatch.analysis.headers import split_args
from xenpatch.analysis.locktable import Wrapper, substitute
from xenpatch.c.brackets import closing
from xenpatch.lint import nameindex
from xenpatch.lint.lazyfield import path_pattern

_WORD = re.compile(r"[A-Za-z_]\w*")
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


class LockTest:
    """The text test of one set of held locks (module doc)."""

    def __init__(self, locks: Iterable[tuple[str, str]], acquires: Mapping[str, int],
                 wrappers: Mapping[str, Wrapper] | None = None) -> None:
        """``acquires``: the lock table's acquires and trylocks, each with
        the index of its lock argument; ``wrappers``: macros standing for
        a call of one of them or of another wrapper."""
        resolved = _resolved(acquires, wrappers or {})
        self.acquires = frozenset(acquires) | resolved.keys()
        self.fields: list[tuple[re.Pattern[bytes], bytes, list[tuple[bytes, int]]]] = []
        names: list[bytes] = []
        # Per way of naming a lock, words its text must hold (substring
        # tests: a file's whole text is asked first).
        self._needles: list[tuple[bytes, ...]] = []
        for t, path in sorted(set(locks)):
            if not t:
                if _WORD.fullmatch(path):
                    names.append(re.escape(path.encode()))
                    self._needles.append((path.encode(),))
                continue
            typed, tail = _type_text(t), path_pattern(f"{t}#{path}")
            if typed is None or tail is None:
                continue
            # The variables declared with the type: "struct st *q", also in
            # a parameter list or after a comma.
            decl = re.compile(typed + rb"\s*\*\s*([A-Za-z_]\w*)")
            # The wrappers taking the path of one of their arguments.
            macros = sorted((w.encode(), i) for w, (i, p) in resolved.items()
                            if p == path.replace(" ", ""))
            self.fields.append((decl, tail.pattern, macros))
            tag = _WORD.findall(t)[-1].encode().removeprefix(b"struct").removeprefix(b"union")
            self._needles.append((tag, _WORD.findall(path)[-1].encode()))
            self._needles.extend((tag, w) for w, _ in macros)
        self.names = re.compile(rb"\b(?:" + b"|".join(names) + rb")\b") if names else None

    def may_take(self, raw: bytes) -> bool:
        """A file's text first: most name none of the locks at all."""
        return any(all(n in raw for n in needles) for needles in self._needles)

    def __bool__(self) -> bool:
        return bool(self.acquires) and (bool(self.fields) or self.names is not None)

    def takes(self, text: bytes) -> bool:
        """Does ``text`` take one of the locks as the module doc says?"""
        if self.names is not None and any(
                self._acquired(text, m.start()) for m in self.names.finditer(text)):
            return True
        for decl, tail, macros in self.fields:
            heads = {m.group(1) for m in decl.finditer(text)}
            if not heads:
                continue
            alts = b"|".join(re.escape(h) for h in sorted(heads))
            if any(self._acquired(text, m.start()) for m in re.finditer(
                    rb"\b(?:" + alts + rb")\s*\)?" + tail, text)):
                return True
            for w, i in macros:
                for m in re.finditer(rb"\b" + re.escape(w) + rb"\s*\(", text):
                    close = closing(text, m.end() - 1, _OPEN, _CLOSE, _ARGS)
                    args = split_args(text[m.end():close].decode("latin-1")) \
                        if close is not None else []
                    if i < len(args) and _bare(args[i]).encode("latin-1") in heads:
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


def _resolved(acquires: Mapping[str, int], wrappers: Mapping[str, Wrapper],
              ) -> dict[str, tuple[int, str]]:
    """The wrappers that stand for an acquire, each with the parameter
    its lock argument is a field path of and that path (``pod_lock`` ->
    mm_lock -> spin_lock_recursive: (0, "->pod.lock")), or (-1, "")
    where the lock argument is no such path."""
    out: dict[str, tuple[int, str]] = {}
    for name, w in wrappers.items():
        args, target = list(w.args), w.target
        for _ in range(4):  # a wrapper of a wrapper, a few deep
            inner = wrappers.get(target)
            if inner is None or inner is w:
                break
            args = [substitute(a, args) for a in inner.args]
            target = inner.target
        if target not in acquires:
            continue
        at = acquires[target]
        lock = _bare(args[at]).lstrip("&") if at < len(args) else ""
        m = _TEMPLATE.fullmatch(lock)
        out[name] = (int(m.group(1)), m.group(2)) if m is not None else (-1, "")
    return out


_TEMPLATE = re.compile(r"\$(\d+)((?:(?:->|\.)[A-Za-z_]\w*)+)")


def _bare(arg: str) -> str:
    """An argument without blanks or parentheses: ``&( q )->lock`` is
    ``&q->lock``."""
    return arg.replace(" ", "").replace("(", "").replace(")", "").strip()


# How far a wrapper call's arguments are looked for.
_ARGS = 512
_STOPS = frozenset(b";{}")
_OPEN, _CLOSE = ord("("), ord(")")
# The name just before a "(": the call's.
_CALLEE = re.compile(rb"([A-Za-z_]\w*)\s*$")


Spans = dict[str, list[tuple[int, int]]]


def spans_of(raw: bytes) -> Spans:
    """Each function of a file's text and where its definitions' texts
    run (the scans' excerpt.text_ends())."""
    from xenpatch.lint.excerpt import text_ends

    defs = nameindex.definitions(raw)
    ends = text_ends(raw, defs)
    spans: Spans = {}
    for i, d in enumerate(defs):
        spans.setdefault(d.name, []).append((d.start, max(ends[i], d.brace)))
    return spans


def followed(test: LockTest, names: Iterable[str], definers: Mapping[str, Iterable[str]],
             me: str | None, read: Callable[[str], bytes | None],
             spans: Callable[[str, bytes], Spans] | None = None) -> frozenset[str]:
    """Those of ``names`` some definer (not ``me``) of which passes
    ``test`` in the text of the definition and of its file's functions it
    calls, followed by name.  ``spans``: spans_of() of a definer, kept by
    the caller for its other tests."""
    if not test:
        return frozenset()
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
        where = spans(r, raw) if spans is not None else spans_of(raw)
        for n in ns:
            if n in out:
                continue
            seen: set[str] = set()
            todo = [n]
            while todo:
                m = todo.pop()
                if m in seen or m not in where:
                    continue
                seen.add(m)
                text = b"".join(raw[a:b] for a, b in where[m])
                if test.takes(text):
                    out.add(n)
                    break
                todo.extend(x for x in nameindex.identifiers(text) if x in where)
    return frozenset(out)
