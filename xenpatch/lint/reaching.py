"""Which names a file's text reaches: directly, or through a header inline
or macro of its tree that calls one (pcidevs_lock() calls
pcidevs_lock_unsafe()); the second pass and the lazy plan ask it of every
file, from its text, without parsing it."""

from __future__ import annotations

from pathlib import Path

from xenpatch.analysis.headers import IDENT, HeaderIndex, header_index, inline_ids
from xenpatch.c.source import is_identifier_in
from xenpatch.graphs import reachable


def calls_any(path: Path, names: frozenset[str], raw: bytes | None = None,
              among: frozenset[str] | None = None) -> bool:
    """Does the file (or ``raw`` in its place) name any of ``names``, or a
    header inline or macro of its tree that reaches one (pcidevs_lock()
    calls pcidevs_lock_unsafe())?  The file is read again: cheaper than
    keeping every file's identifiers from the first pass.  ``among``: a
    set holding ``names``, the same for many calls (the second pass asks
    each file for the tree's helpers less its own): what reaches it is
    derived once, and then each name the file uses forward."""
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError:
            return False
    headers = header_index(path)
    wanted = reaching_names(headers, names if among is None else among)
    if among is None:
        # A substring test first, then each name met looked up as a word
        # where it occurs: the answer the file's identifiers (IDENT.findall)
        # give, without splitting all of a big file's text (the lazy plan's
        # later round asks ~20 definers, x86 mm.c among them, this way).
        return any(n in raw and is_identifier_in(raw, n) for n in wanted)
    # A substring test first: most files name none of a few dozen names.
    if not any(n in raw for n in wanted):
        return False
    used = set(IDENT.findall(raw)) & wanted
    if not used:
        return False
    return any(not _forward(headers, n).isdisjoint(names) for n in used)


def _forward(headers: HeaderIndex, name: bytes) -> frozenset[str]:
    """``name`` and what it reaches through the headers' inlines and
    macros (reached_from() of one name, once per index)."""
    text = name.decode()
    if text not in headers.wrappers and text not in headers.inlines:
        # Itself alone, as reached_from() would say: not kept, since most
        # names are such and the memo is per directory's index (~80,000
        # entries, 5 MB of a whole-tree worker of Xen 4.17).
        return frozenset((text,))
    return headers.memo(("forward", name), lambda: _reached_from(headers, frozenset({text})))


def _reached_by(headers: HeaderIndex) -> dict[bytes, list[bytes]]:
    """Name -> the header inlines and macros whose bodies name it, once per
    index (each file's second-pass test asks for its own set of names)."""
    bodies: dict[bytes, frozenset[bytes] | set[bytes]] = {
        n.encode(): inline_ids(headers, n)[0] for n in headers.inlines
    }
    # A statement macro (``stated``) reaches its lock call only as the table
    # accepts it, and the table's names are seeds of their own.
    bodies.update({n.encode(): {w.target.encode()} for n, w in headers.wrappers.items()
                   if w.stated is None})
    users: dict[bytes, list[bytes]] = {}
    for n, ids in bodies.items():
        for i in ids:
            users.setdefault(i, []).append(n)
    return users


def reached_from(path: Path, names: frozenset[str]) -> frozenset[str]:
    """``names`` and what the inlines and macros of ``path``'s headers among
    them call, transitively (get_gfn() reaches p2m.c's function)."""
    return _reached_from(header_index(path), names)


def _reached_from(headers: HeaderIndex, names: frozenset[str]) -> frozenset[str]:
    def succ(n: str) -> list[str]:
        w = headers.wrappers.get(n)
        if w is not None:
            return [w.target] if w.stated is None else []
        return [b.decode() for b in inline_ids(headers, n)[0]] if n in headers.inlines else []

    return frozenset(reachable(names, succ))


def reaching_names(headers: HeaderIndex, names: frozenset[str]) -> frozenset[bytes]:
    """``names`` and the header inlines and macros that reach one of them."""

    def make() -> frozenset[bytes]:
        # The least set holding the names and every inline or macro whose
        # body names one of the set: what reaches them backwards.
        users = headers.memo("reached by", lambda: _reached_by(headers))
        return frozenset(reachable((n.encode() for n in names), lambda n: users.get(n, ())))

    return headers.memo(("reaching", names), make)
