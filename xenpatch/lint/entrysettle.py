"""What the calls of a function or through a field hold over the tree
(lint/entryheld.py's facts across files): settle() over a whole tree's
first passes, caller_fields() for the hook's run on a few files
(lint/upcallers.py).

A name is asked ("->FIELD", "()FUNCTION": WANT_KEY) by the file storing or
defining what it calls.  Every mention of it in the tree's other files
must be accounted for: in a file that said what its calls hold (every
mention of its own being such a call, a store or a test), or, for a
field, a store, a struct member's declaration, a member of it
(``x.f.y``), a function's prototype or definition of that name; for a
function, a header's prototype.  A mention in a directive (a macro's body)
or anything else leaves the name unknown.  What the other files' calls
agree on goes to the asking file (HELD_KEY + NAME + "|" + FILE; no effect:
no other file calls it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xenpatch.analysis import fnptrs
from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.lockentry import HeldSet, meet
from xenpatch.analysis.locktable import Summary
from xenpatch.c.patterns import LINE_REST
from xenpatch.c.source import directives
from xenpatch.lint.entryheld import (
    CALLS,
    FIELD,
    HELD_KEY,
    WANT_KEY,
    asks_own,
    held_of,
    summary_of,
)
from xenpatch.lint.treescan import TreeScan


def _mention_ok(code: bytes, start: int, end: int) -> bool:
    """A mention, in a file that said nothing of the field, that no call
    through it can hide in: a store, a member's declaration, a member of
    it, a prototype or definition of a function of that name."""
    before = code[max(0, start - 200):start]
    after = code[end:end + 200]
    line_start = code.rfind(b"\n", 0, start) + 1
    if re.search(rb"(?:->|\.)\s*$", before):
        return re.match(rb"\s*(?:=(?!=)|\.|->)", after) is not None
    if re.search(rb"\(\s*\*\s*$", before) and re.match(rb"\s*\)\s*\(", after):
        return True
    return _declarator(code, start, end, line_start)


def _declarator(code: bytes, start: int, end: int, line_start: int) -> bool:
    """Is the mention the name of a function declared or defined at file
    scope (``int name(...)`` leading its line)?"""
    if re.match(rb"\s*\(", code[end:end + 200]) and re.fullmatch(
            rb"\s*(?:(?:static|extern|inline|const|unsigned|signed|struct)\s+)*"
            rb"[A-Za-z_]\w*[\s*]+", code[line_start:start]):
        depth = code.count(b"{", 0, start) - code.count(b"}", 0, start)
        return depth == 0
    return False


def _prototype(code: bytes, start: int, end: int) -> bool:
    """A declaration of the function (not its definition): a ``;`` ends it
    before any ``{``."""
    if not _declarator(code, start, end, code.rfind(b"\n", 0, start) + 1):
        return False
    semi, brace = code.find(b";", end), code.find(b"{", end)
    return semi >= 0 and (brace < 0 or semi < brace)


def _words(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]]
           ) -> tuple[dict[str, set[Path]], dict[str, dict[Path, HeldSet]],
                      dict[str, set[Path]]]:
    """(field -> the files asking about it, field -> file -> what its calls
    through it hold), by absolute path."""
    wants: dict[str, set[Path]] = {}
    said: dict[str, dict[Path, HeldSet]] = {}
    own: dict[str, set[Path]] = {}
    for p, _, ex in per_file:
        rp = Path(os.path.abspath(p))
        for k, s in ex.items():
            if k.startswith(WANT_KEY):
                wants.setdefault(k[len(WANT_KEY):], set()).add(rp)
                if asks_own(s):
                    own.setdefault(k[len(WANT_KEY):], set()).add(rp)
            elif k.startswith((FIELD, CALLS)) and "|" not in k:
                said.setdefault(k[len(HELD_KEY):], {})[rp] = held_of(s)
    return wants, said, own


def _word_ok(code: bytes, name: str, header: bool) -> bool:
    """Is every mention of the asked ``name`` ("->FIELD" or "()FUNCTION")
    in a file that said nothing of it harmless: for a field, _all_ok(); for
    a function, a header's prototype."""
    if name.startswith("->"):
        return _all_ok(code, name[2:].encode())
    if not header:
        return False
    word = re.compile(rb"\b" + re.escape(name[2:].encode()) + rb"\b")
    if any(word.search(d.group(0)) for d in directives(_DIRECTIVE, code)):
        return False  # a macro's body may call it
    return all(_prototype(code, m.start(), m.end()) for m in word.finditer(code))


def mentions_ok(raw: bytes, name: str, header: bool = False) -> bool:
    """Is every mention of the asked ``name`` ("->FIELD", "()FUNCTION") in
    the text (of a header?) one no call can hide in (_word_ok())?"""
    return _word_ok(fnptrs.code_only(raw), name, header)


_DIRECTIVE = re.compile(rb"#" + LINE_REST)


def _all_ok(code: bytes, w: bytes) -> bool:
    word = re.compile(rb"\b" + re.escape(w) + rb"\b")
    for d in directives(_DIRECTIVE, code):
        if word.search(d.group(0)):
            return False  # a macro's body may call through it
    return all(_mention_ok(code, m.start(), m.end()) for m in word.finditer(code))


def _decide(x: Path, said: Mapping[Path, HeldSet], own: bool) -> Summary | None:
    """What the other files' calls hold, for the file ``x``, every mention
    being accounted for (no effect: none calls it; said only to a file
    calling it itself, ``own``, whose calls then decide)."""
    sets = [s for p, s in said.items() if p != x]
    if not sets:
        return Summary((), None) if own else None
    held = meet(sets)
    return summary_of(held) if held else None


def settle(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]],
           scan: TreeScan | None = None) -> dict[str, Summary]:
    """The fields the files asked about (WANT_KEY), each with what every
    other file's calls through it hold, where every mention in the tree
    is accounted for (module doc).  ``scan``: the tree's text as the run
    read it (treescan.py), if of this tree."""
    wants, said, own = _words(per_file)
    if not wants:
        return {}
    root = find_xen_root(Path(os.path.abspath(per_file[0][0])))
    if root is None:
        return {}
    if scan is None or scan.root != root:
        scan = TreeScan(root)
    # Per field, the files whose mentions are unaccounted for.
    bad: dict[str, set[Path]] = {f: set() for f in wants}
    words = {f[2:].encode(): [n for n in wants if n[2:] == f[2:]] for f in wants}
    hits = scan.naming(words)
    for i in sorted(hits):
        path = scan.paths[i]
        code = scan.code(i)
        rp = Path(os.path.abspath(path))
        for w in hits[i]:
            names = words[w]
            for name in names:
                if rp not in said.get(name, {}) and \
                        not _word_ok(code, name, path.suffix == ".h"):
                    bad[name].add(rp)
    out: dict[str, Summary] = {}
    for name, askers in sorted(wants.items()):
        for x in sorted(askers):
            if not x.is_relative_to(root) or bad[name] - {x}:
                continue
            rel = x.relative_to(root).as_posix()
            got = _decide(x, said.get(name, {}), x in own.get(name, ()))
            if got is not None:
                out[f"{HELD_KEY}{name}|{rel}"] = got
    return out


def asked(exports: Mapping[str, Summary]) -> frozenset[str]:
    """The fields ("->FIELD") and functions ("()NAME") a first pass asks
    the tree about."""
    return frozenset(k[len(WANT_KEY):] for k in exports if k.startswith(WANT_KEY))


def caller_fields(path: Path, rel: str, own: Mapping[str, Summary],
                  mentions: Mapping[str, Sequence[str]], root: Path,
                  read: Callable[[str], bytes | None],
                  first: Callable[[str, bytes], Mapping[str, Summary]],
                  most: int) -> dict[str, Summary]:
    """For a run on a few files (the hook's: lint/upcallers.py), settle()'s
    answer for the fields the file at ``path`` (``rel`` under ``root``)
    asks about: ``mentions``, per field, the files of the tree naming it
    (relative); ``read(r)``, a file's text; ``first(r, text)``, its first
    pass's exports.  A file whose mentions are all of the harmless kinds
    needs no pass; a C file whose are not gets one (at most ``most`` in
    all); any other file, or more, leaves the field unknown."""
    out: dict[str, Summary] = {}
    x = Path(os.path.abspath(path))
    budget = most
    for fld in sorted(asked(own)):
        # The files needing a pass, found before any is run: past the
        # budget, the field is left unknown at no more cost.
        need: list[tuple[str, bytes]] = []
        ok = True
        for r in mentions.get(fld[2:], ()):
            if r == rel:
                continue
            raw = read(r)
            if raw is not None and mentions_ok(raw, fld, r.endswith(".h")):
                continue
            if raw is None or not r.endswith(".c"):
                ok = False
                break
            need.append((r, raw))
        if not ok or len(need) > budget:
            continue
        budget -= len(need)
        said: dict[Path, HeldSet] = {}
        for r, raw in need:
            s = first(r, raw).get(HELD_KEY + fld)
            if s is None:
                ok = False  # a mention its first pass could not state
                break
            said[Path(os.path.abspath(root / r))] = held_of(s)
        if ok:
            got = _decide(x, said, asks_own(own[WANT_KEY + fld]))
            if got is not None:
                out[f"{HELD_KEY}{fld}|{rel}"] = got
    return out


_SETTLED: dict[int, tuple[Mapping[str, Summary], frozenset[str]]] = {}


def settled_for(summaries: Mapping[str, Summary], path: Path) -> bool:
    """Did the tree settle a name for the file at ``path`` (one it asked
    about: a second pass may find in it what the first could not)?"""
    got = _SETTLED.get(id(summaries))
    if got is None or got[0] is not summaries:
        files = frozenset(k.rpartition("|")[2] for k in summaries
                          if k.startswith((FIELD, CALLS)) and "|" in k)
        _SETTLED.clear()
        _SETTLED[id(summaries)] = got = (summaries, files)
    if not got[1]:
        return False
    p = Path(os.path.abspath(path))
    root = find_xen_root(p)
    return root is not None and p.is_relative_to(root) and \
        p.relative_to(root).as_posix() in got[1]


__all__ = ["asked", "caller_fields", "mentions_ok", "settle", "settled_for"]
