"""The IRQ state other files call one linted file's functions in, for a
run on a few files of a tree (the pre-commit hook's): the upward half of
what a whole-tree run settles (lint/irqcalls.py).

The lazy summaries (lazy.py) follow a file's calls down; the IRQ facts a
whole-tree run gives a file come from its callers, up: the state every
other file calls a non-static function in (an entry), one other file's
call with IRQs off (a context, lint/irqcontext.py) -- or on, for a plain
take XL017 wants the state of (irqentry.ON_TOO, lint/irqsafectx.py) --,
what the other files' calls through a field the file stores a function
in agree on.  A file's
first pass says which of these it would read (irqentry.WANT): only
functions whose findings can depend on their caller's IRQ state.  For
those names only:

- the files of the tree whose code mentions one (a text scan of every
  source, as irqcalls reads them; kept per tree state);
- of those, the ones that could state an IRQ state at all (their text, or
  their headers' inlines and macros, name the IRQ API; for a call with
  IRQs on, defining a hypercall's handler, analysis/irqroots.py) get their
  first pass, as a whole-tree run's (kept by content); a name some other mention
  of which no file can state is not looked at further: irqcalls.settle()
  would leave it unknown;
- irqcalls.settle() over the file and those callers, in a whole-tree run's
  order, gives the facts; the file is linted again with them.

A mention left out is never a fact: settle() drops a name a file mentions
without stating it, and a missing context is one finding fewer, never one
more (no guessing).  A name with more callers to read than MOST_CALLERS
is left unknown.  Everything is kept in one JSON file per tree (under the
tree cache's directory, in upcallers/), written whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.irqentry import (
    CALL_KEY,
    FIELD_KEY,
    LOCKS_KEY,
    ON_TOO,
    WANT,
    WITNESS,
    summary_state,
)
from xenpatch.analysis.locktable import Summary
from xenpatch.c.patterns import whole_word
from xenpatch.c.source import can_be_identifier
from xenpatch.c.texts import read_bytes, read_or_none
from xenpatch.lint import entrysettle
from xenpatch.lint.aheadpasses import (
    found_for,
    in_making,
    let_go_unless,
    waited_for,
)
from xenpatch.lint.callerroots import MOST_CALLERS, FirstPass, enters_on
from xenpatch.lint.inputs import SOURCE_SUFFIXES
from xenpatch.lint.treecache import (
    EARLIER,
    TreeCache,
    content_hash,
    read_record,
    stamped,
    summary_in,
    summary_out,
    write_record,
)

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig

# 2: the first passes kept carry the locks their calls hold too
# (lint/entryheld.py); 3: upchains.py's searches are kept; 4: a linted
# file's facts are kept for a few of its contents.
_FORMAT = 4
# The tree states whose mentions are kept.
_STATES = 4


def wanted(exports: Mapping[str, Summary]) -> tuple[frozenset[str], frozenset[str],
                                                     frozenset[str]]:
    """The facts a first pass's exports ask of the tree: (functions whose
    entry, functions whose other callers one at a time, fields whose
    other callers)."""
    entry, ctx, fields = set(), set(), set()
    for k, s in exports.items():
        if summary_state(s) != WANT or k.startswith(LOCKS_KEY):
            # irqwitness.ASK's: a lock's, answered by upchains.py, no name.
            continue
        if k.startswith(WITNESS):
            ctx.add(k[len(WITNESS):])  # NAME, or NAME + ON_TOO
        elif k.startswith(CALL_KEY):
            entry.add(k[len(CALL_KEY):])
        elif k.startswith(FIELD_KEY) and k.endswith("|"):
            fields.add(k[len(FIELD_KEY):-1])
    return frozenset(entry), frozenset(ctx), frozenset(fields)


def caller_facts(cache: TreeCache, path: Path, display: str, raw: bytes,
                 own: Mapping[str, Summary], config: LintConfig, first_pass: FirstPass,
                 display_of: Callable[[Path], str]) -> dict[str, Summary]:
    """The IRQ facts a whole-tree run gives the file at ``path`` (``raw``
    its text, ``own`` its first pass's exports) from its callers in other
    files, as external summaries for its lint."""
    entry, asks, fields = wanted(own)
    # A context's name, and those asked with IRQs on too (irqentry.ON_TOO).
    ctx = frozenset(c.partition("|")[0] for c in asks)
    on = frozenset(c[:-len(ON_TOO)] for c in asks if c.endswith(ON_TOO))
    stored = stored_fields(raw) - fields
    if stored and not _names_irq(path, raw, config):
        stored = frozenset()  # no check of the file reads its entry state
    # The fields and functions whose other callers' held locks the file
    # asks about (lint/entrysettle.py).
    held = entrysettle.asked(own)
    rel = _rel(cache, path)
    if rel is None:
        return {}
    side = _Side.open(cache)
    digest = content_hash(raw)
    if not entry and not ctx and not fields and not stored and not held:
        # Nothing asked of the tree: what is kept of the file stands
        # whatever the other files hold (fresh()).
        if side.facts_of(rel, digest)[3:] != ("",):
            side.keep_facts(rel, ("", {}, digest, ""))
            side.save()
        return {}
    state = side.tree_state(cache, rel)
    key = _key(state, digest, own, display + "\0" + display_of(cache.root))
    got = side.facts_of(rel, digest)
    if got and got[0] == key:
        return {k: summary_in(v) for k, v in got[1].items()}
    names = entry | ctx | fields | stored | frozenset(n[2:] for n in held)
    mentions = side.mentions(cache.root, state, names)
    callers = _callers(cache, side, rel, mentions, entry | fields, ctx, config, on)
    # A pass being made ahead of a file no fact asks takes no more CPU.
    let_go_unless(cache.root / r for r in callers)
    facts: dict[str, Summary] = {}
    if callers:
        facts = _settled(cache, side, path, display, raw, own, callers, first_pass,
                         display_of, entry, ctx, fields, rel, state, config)
    if on:
        # Another file's IRQ-safe take of a field lock the file takes
        # plainly, and then only, a caller's caller's state through other
        # files' functions (upchains.py: the cheap search first).
        from xenpatch.lint import upchains

        facts.update(upchains.against_safe(cache, side, rel, state, own, facts, on, config,
                                           first_pass, display_of))
    if stored:
        facts.update(_field_facts(cache, side, rel, own, stored, mentions, config, first_pass,
                                  display_of))
    if held:
        facts.update(entrysettle.caller_fields(
            path, rel, own, mentions, cache.root, lambda r: read_or_none(cache.root / r),
            lambda r, text: side.first(r, text, display_of(cache.root / r), cache.root / r,
                                       first_pass), MOST_CALLERS))
    side.keep_facts(rel, (key, {k: summary_out(s) for k, s in sorted(facts.items())},
                          digest, state))
    side.save()
    return facts


def fresh(cache: TreeCache, rel: str, raw: bytes) -> bool:
    """Are the facts a kept result of the file (its text ``raw``) was
    linted with still what its callers give?  No record of the text: not
    known (the record was lost), so no."""
    side = _Side.open(cache)
    got = side.facts_of(rel, content_hash(raw))
    if not got:
        return False
    return got[3] == "" or side.tree_state(cache, rel) == got[3]


def _rel(cache: TreeCache, path: Path) -> str | None:
    try:
        return Path(os.path.abspath(path)).relative_to(cache.root).as_posix()
    except ValueError:
        return cache.rel(path.resolve())


def _key(state: str, digest: str, own: Mapping[str, Summary], display: str) -> str:
    h = hashlib.sha256(f"{state}\0{digest}\0{display}\0".encode())
    h.update(json.dumps({k: summary_out(s) for k, s in sorted(own.items())
                         if k.startswith(FIELD_KEY)}, sort_keys=True).encode())
    return h.hexdigest()


def _callers(cache: TreeCache, side: _Side, rel: str, mentions: Mapping[str, list[str]],
             whole: frozenset[str], ctx: frozenset[str], config: LintConfig,
             on: frozenset[str] = frozenset()) -> list[str]:
    """The files worth a first pass: for a name ``whole`` (every other
    mention must state its calls), all its mentioning files if each can
    state one (else none); for a name of ``ctx`` (one call at a time with
    IRQs off), all those that can turn them off, or none; of ``on`` (with
    IRQs on too), those that can know them on as well: by the IRQ API, or
    defining a function the tree's entry code calls with IRQs on (a
    hypercall's handler, analysis/irqroots.py).  Names needing
    fewer files first, up to MOST_CALLERS files in all."""
    from xenpatch.analysis import fnptrs
    from xenpatch.lint.irqcalls import prototypes_only

    root = cache.root
    texts: dict[str, bytes] = {}

    def text(r: str) -> bytes:
        if r not in texts:
            try:
                texts[r] = read_bytes(root / r)
            except OSError:
                texts[r] = b""
        return texts[r]

    def states(r: str, off: bool) -> bool:
        return side.can_state(cache, r, off, text, config)

    asks: list[tuple[int, str, set[str]]] = []
    for n in sorted(mentions):
        files = [r for r in mentions[n] if r != rel]
        if n in whole:
            users = [r for r in files if not (r.endswith(".h") and prototypes_only(
                fnptrs.code_only(text(r)), n))]
            # The ones that surely cannot state a call first (an assembly
            # file), then those whose headers are indexed already (the
            # linted file's folder): one that cannot settles it.
            here = rel.rpartition("/")[0]
            users.sort(key=lambda r: (r.endswith((".c", ".h")), r.rpartition("/")[0] != here))
            if users and all(states(r, False) for r in users):
                asks.append((len(users), n, set(users)))
        if n in ctx:
            # All of them or none: the first in a whole-tree run's order is
            # the one the note names.
            some = {r for r in files if states(r, True) or (
                n in on and (states(r, False) or enters_on(r, text, config, root)))}
            if some:
                asks.append((len(some), n, some))
    out: set[str] = set()
    for _, _, some in sorted(asks, key=lambda a: (a[0], a[1])):
        if len(out | some) <= MOST_CALLERS:
            out |= some
    return sorted(out)


# A function stored into a field: ``.f = name`` or ``->f = name`` (not a
# call of it: ``->f = name(``).
_STORE = re.compile(rb"(?:->|\.)\s*([A-Za-z_]\w*)\s*=(?!=)\s*&?\s*([A-Za-z_]\w*)\b(?!\s*\()")


def stored_fields(raw: bytes) -> frozenset[str]:
    """The fields the text stores one of its own functions in."""
    from xenpatch.lint import nameindex

    mine = {d.name.encode() for d in nameindex.definitions(raw)}
    return frozenset(m.group(1).decode() for m in _STORE.finditer(raw) if m.group(2) in mine)


def _field_facts(cache: TreeCache, side: _Side, rel: str, own: Mapping[str, Summary],
                 stored: frozenset[str], mentions: Mapping[str, list[str]],
                 config: LintConfig, first_pass: FirstPass,
                 display_of: Callable[[Path], str]) -> dict[str, Summary]:
    """What the tree's calls through each field the file stores a function
    in agree on, as a whole-tree run merges the files' words
    (treeexports.tree_exports(): "%irq:->FIELD"): from the first passes of
    the files calling through it.  A field some file names otherwise than
    as a member (a macro's argument: a call the text cannot see) is left
    unknown, as is one a caller that can state no IRQ state calls through."""
    from xenpatch.analysis.fieldtexts import fields_called
    from xenpatch.lint.treeexports import tree_exports

    out: dict[str, Summary] = {}
    for fld in sorted(stored):
        calling: list[tuple[str, bytes]] = []
        ok = True
        for r in mentions.get(fld, []):
            if r == rel:
                continue
            try:
                raw = read_bytes(cache.root / r)
            except OSError:
                ok = False
                break
            if fld in fields_called(raw):
                if not side.can_state(cache, r, False, _text_of(raw), config):
                    ok = False
                    break
                calling.append((r, raw))
            elif not _members_only(raw, fld):
                ok = False
                break
        if not ok or not calling or len(calling) > MOST_CALLERS:
            continue
        words: list[Mapping[str, Summary]] = [
            side.first(r, raw, display_of(cache.root / r), cache.root / r, first_pass)
            for r, raw in calling]
        words.append(own)
        key = FIELD_KEY + fld
        got = tree_exports({key: ex[key]} if key in ex else {} for ex in words).get(key)
        if got is not None and summary_state(got) in ("on", "off"):
            out[key] = got
    return out


def _text_of(raw: bytes) -> Callable[[str], bytes]:
    return lambda _rel: raw


def _members_only(raw: bytes, fld: str) -> bool:
    """Is every mention of ``fld`` in the code a member (after ``.`` or
    ``->``) or a member's declaration (``(*fld)``)?"""
    from xenpatch.analysis import fnptrs

    code = fnptrs.code_only(raw)
    for m in whole_word(fld.encode()).finditer(code):
        before = code[max(0, m.start() - 8):m.start()].rstrip()
        if before.endswith((b".", b"->")) or before.endswith(b"(*"):
            continue
        return False
    return True


def _names_irq(path: Path, raw: bytes, config: LintConfig, off: bool = False) -> bool:
    """Can the file's first pass know an IRQ state anywhere (``off``: know
    IRQs off): does its text name the IRQ API (a move, an _irq lock, a
    callback with a known state, the enabled test an assert makes), or a
    header inline or macro that does?  Only a move that turns IRQs off or
    saves them, an _irq lock, a callback run with them off or the test can
    make them known off."""
    from xenpatch.analysis.headers import header_index
    from xenpatch.analysis.irqstate import ENABLED_TEST, IRQ_FLAVOURS
    from xenpatch.c.source import identifier_set
    from xenpatch.lint.reaching import reaching_names

    irq = config.irq
    seeds = frozenset({
        *(n for n, (effect, _) in irq.calls.items() if not off or effect in ("off", "save")),
        *(n for n, (_, state) in irq.callbacks.items() if not off or state == "off"),
        *(() if off else irq.flags), ENABLED_TEST,
        *(n for n, op in config.table.ops.items() if op.flavour in IRQ_FLAVOURS)})
    names = reaching_names(header_index(path), seeds)
    return not names.isdisjoint(identifier_set(raw))


def _settled(cache: TreeCache, side: _Side, path: Path, display: str, text: bytes,
             own: Mapping[str, Summary], callers: list[str], first_pass: FirstPass,
             display_of: Callable[[Path], str], entry: frozenset[str],
             ctx: frozenset[str], fields: frozenset[str], rel: str,
             state: str, config: LintConfig) -> dict[str, Summary]:
    """irqcalls.settle() over the file and its ``callers``, for the names
    asked.  Each file's word is cut to those names (what settle() says of a
    name rests on the words about it and the tree's text only), so an edit
    of the file that changes none of them reads the answer back: settle()
    reads the whole tree."""
    from xenpatch.lint import nameindex
    from xenpatch.lint.irqcalls import settle

    items: list[tuple[int, str, Path, Mapping[str, Summary]]] = []
    todo: list[tuple[str, bytes, str, Path]] = []
    for r in callers:
        p = cache.root / r
        try:
            raw = read_bytes(p)
        except OSError:
            continue
        todo.append((r, raw, display_of(p), p))
    for (_, raw, shown, p), ex in zip(todo, side.first_all(todo, first_pass), strict=True):
        items.append((len(raw), shown, p, ex))
    items.append((path.stat().st_size if path.exists() else 0, display, path, own))
    # A whole-tree run's order: biggest first, then by name (the first
    # file saying a context is the one its note names).
    items.sort(key=lambda t: (-t[0], t[1]))
    asked = entry | ctx | fields
    per_file = [(p, shown, {k: s for k, s in ex.items() if _name_of(k) in asked})
                for _, shown, p, ex in items]
    h = hashlib.sha256(f"{state}\0{rel}\0".encode())
    h.update(json.dumps([[shown, {k: summary_out(s) for k, s in sorted(ex.items())}]
                         for _, shown, ex in per_file]).encode())
    # The file's own text counts in settle() by what it defines.
    h.update(repr(sorted((d.name, d.static) for d in nameindex.definitions(text))).encode())
    key = h.hexdigest()
    kept = side.settled.get(rel)
    if kept is not None and kept[0] == key:
        got = {k: summary_in(v) for k, v in kept[1].items()}
    else:
        got = settle(per_file)
        side.settled[rel] = (key, {k: summary_out(s) for k, s in sorted(got.items())})
        side.dirty = True
    out: dict[str, Summary] = {}
    for k, s in got.items():
        if k.startswith(WITNESS):
            if k[len(WITNESS):].partition("|")[0] in ctx:
                out[k] = s
        elif k.startswith(CALL_KEY):
            if k[len(CALL_KEY):] in entry:
                out[k] = s
        elif k.startswith(FIELD_KEY):
            fld, _, who = k[len(FIELD_KEY):].partition("|")
            if fld in fields and who == rel:
                out[k] = s
    return out


def _name_of(key: str) -> str:
    """The function or field an IRQ fact is about."""
    if key.startswith(WITNESS):
        return key[len(WITNESS):].partition("|")[0]
    if key.startswith(CALL_KEY):
        return key[len(CALL_KEY):]
    return key[len(FIELD_KEY):].partition("|")[0]


@dataclass
class _Side:
    """What is kept for a tree: the mentions of names in one state of the
    tree, and each caller file's first-pass IRQ exports by content."""

    path: Path
    context: str
    # Tree state -> name -> the files mentioning it (the last few states:
    # each linted file's state leaves its own text out).
    found: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    firsts: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)
    # Per linted file: (the key of what settle() was given, what it said).
    settled: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # What upchains.py's searches found (the IRQ-safe takes, the chains),
    # by the tree state and what was asked (the linted file's text is in
    # neither: an edit of it reads them back).
    searches: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per file: (content hash, can state an IRQ state, can state IRQs off).
    can: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)
    # Per linted file, most recent first, one per content it was linted
    # with (its own and up to EARLIER others: the hook's patch mode lints
    # the committed version too): (key, facts, the content hash, the tree
    # state).
    facts: dict[str, list[tuple[str, dict[str, Any], str, str]]] = field(default_factory=dict)
    dirty: bool = False
    _state: dict[str, str] = field(default_factory=dict)
    _sources: list[str] = field(default_factory=list)

    @staticmethod
    def open(cache: TreeCache) -> _Side:
        side = _Side(cache.path.parent / "upcallers" / cache.path.name, cache.context)
        data = read_record(side.path, _FORMAT, cache.context)
        if data is None:
            return side
        try:
            side.found = {str(st): {str(n): [str(r) for r in rs] for n, rs in by.items()}
                          for st, by in data["found"].items()}
            side.firsts = {str(r): (str(h), str(d), dict(ex))
                           for r, (h, d, ex) in data["firsts"].items()}
            side.settled = {str(r): (str(k), dict(v)) for r, (k, v) in data["settled"].items()}
            side.searches = {str(k): dict(v) for k, v in data["searches"].items()}
            side.can = {str(r): (str(h), bool(a), bool(o)) for r, (h, a, o) in data["can"].items()}
            side.facts = {str(r): [(str(k), dict(v), str(h), str(st)) for k, v, h, st in es]
                          for r, es in data["facts"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return _Side(side.path, cache.context)
        return side

    def facts_of(self, rel: str, digest: str) -> tuple[str, dict[str, Any], str, str] | tuple[()]:
        """What is kept of the file ``rel`` linted with the content hashed
        ``digest`` (empty: nothing)."""
        return next((e for e in self.facts.get(rel, ()) if e[2] == digest), ())

    def keep_facts(self, rel: str, entry: tuple[str, dict[str, Any], str, str]) -> None:
        rest = [e for e in self.facts.get(rel, ()) if e[2] != entry[2]]
        self.facts[rel] = [entry, *rest][:1 + EARLIER]
        self.dirty = True

    def tree_state(self, cache: TreeCache, rel: str) -> str:
        """The content of every file a mention may be in but ``rel``
        (whose own mentions are its first pass's): the C files and headers
        by the tree cache's hashes, the others by size and time."""
        if rel in self._state:
            return self._state[rel]
        h = hashlib.sha256()
        for r in sorted(cache.hashes):
            if r != rel:
                h.update(f"{r}\0{cache.hashes[r]}\n".encode())
        others = []
        for p, stamp in stamped(cache.root, lambda n: n.endswith(SOURCE_SUFFIXES[2:])):
            h.update(stamp.encode())
            others.append(os.path.relpath(p, cache.root).replace(os.sep, "/"))
        # Where the mentions are looked for: the walk is done once.
        self._sources = sorted([*cache.hashes, *others])
        self._state[rel] = got = h.hexdigest()
        return got

    def mentions(self, root: Path, state: str, names: Iterable[str]) -> dict[str, list[str]]:
        """Per name, the files (relative) whose code mentions it."""
        if state not in self.found:
            while len(self.found) >= _STATES:
                del self.found[next(iter(self.found))]
        here = self.found.setdefault(state, {})
        todo = sorted(n for n in names if n not in here)
        if todo:
            # What the guess ahead scanned for in the same state (upahead.py)
            # is that scan's answer; a name no code word can be, none.
            ahead = {n: seen for n in todo if (seen := found_for(root, state, n)) is not None}
            scan = [n for n in todo if n not in ahead and can_be_identifier(n.encode())]
            got = _scan(root, self._sources, scan) if scan else {}
            for n in todo:
                here[n] = ahead[n] if n in ahead else got.get(n, [])
            self.dirty = True
        return {n: here[n] for n in names}

    def can_state(self, cache: TreeCache, rel: str, off: bool,
                  text: Callable[[str], bytes], config: LintConfig) -> bool:
        """_names_irq() of a C file or header of the tree (kept by content;
        the headers are the context's), False for any other file."""
        digest = cache.hashes.get(rel)
        if digest is None:
            return False
        got = self.can.get(rel)
        if got is None or got[0] != digest:
            raw = text(rel)
            if content_hash(raw) != digest:
                return _names_irq(cache.root / rel, raw, config, off=off)  # changed since
            got = (digest, _names_irq(cache.root / rel, raw, config),
                   _names_irq(cache.root / rel, raw, config, off=True))
            self.can[rel] = got
            self.dirty = True
        return got[2] if off else got[1]

    def first(self, rel: str, raw: bytes, shown: str, path: Path,
              first_pass: FirstPass) -> dict[str, Summary]:
        """The IRQ facts the file's first pass exports (kept by content)."""
        got = self._kept_first(rel, raw, shown)
        if got is not None:
            return got
        ex = self._ahead(rel, raw, shown, path)
        if ex is None:
            ex = _first_exports(first_pass, path, shown, raw)
        self._keep_first(rel, raw, shown, ex)
        return ex

    def _ahead(self, rel: str, raw: bytes, shown: str, path: Path,
               ) -> dict[str, Summary] | None:
        """The pass made ahead of the same text, shown the same (upahead.py),
        waited for if it is being made."""
        return waited_for(path, raw, shown)

    def first_all(self, todo: list[tuple[str, bytes, str, Path]],
                  first_pass: FirstPass) -> list[dict[str, Summary]]:
        """first() of each (rel, text, display name, path), the first
        passes not kept shared with a child forked here where a second CPU
        is there (forked.shared_map(): each side's answer is the same
        first pass of the same text; what the child does not answer whole
        this process does).  The callers' first passes are most of a cold
        single-file run's caller facts (three files, ~0.3 s of Xen
        4.17's grant_table.c), which wait for nothing but each other."""
        from xenpatch.lint import forked

        out = [self._kept_first(r, raw, shown) for r, raw, shown, _ in todo]
        # The passes still being made ahead are waited for after the others
        # are made (here and in a child): they are made meanwhile.
        making = [i for i, (_, _, _, p) in enumerate(todo) if out[i] is None and in_making(p)]
        for i, (r, raw, shown, p) in enumerate(todo):
            if out[i] is None and i not in making and (
                    ex := self._ahead(r, raw, shown, p)) is not None:
                self._keep_first(r, raw, shown, ex)
                out[i] = ex
        missing = [i for i, ex in enumerate(out) if ex is None and i not in making]
        got = forked.shared_map(lambda k: _first_exports(
            first_pass, todo[missing[k]][3], todo[missing[k]][2], todo[missing[k]][1]),
            len(missing))
        for i, ex in zip(missing, got, strict=True):
            r, raw, shown, _ = todo[i]
            self._keep_first(r, raw, shown, ex)
            out[i] = ex
        for i in making:
            r, raw, shown, p = todo[i]
            out[i] = self.first(r, raw, shown, p, first_pass)
        return [ex if ex is not None else {} for ex in out]

    def _kept_first(self, rel: str, raw: bytes, shown: str) -> dict[str, Summary] | None:
        got = self.firsts.get(rel)
        if got is not None and got[0] == content_hash(raw) and got[1] == shown:
            return {k: summary_in(v) for k, v in got[2].items()}
        return None

    def _keep_first(self, rel: str, raw: bytes, shown: str, ex: Mapping[str, Summary]) -> None:
        self.firsts[rel] = (content_hash(raw), shown,
                            {k: summary_out(s) for k, s in sorted(ex.items())})
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        data = {"found": self.found,
                "firsts": {r: list(v) for r, v in sorted(self.firsts.items())},
                "can": {r: list(v) for r, v in sorted(self.can.items())},
                "settled": {r: list(v) for r, v in sorted(self.settled.items())},
                "searches": self.searches,
                "facts": {r: [list(e) for e in es] for r, es in sorted(self.facts.items())}}
        if write_record(self.path, _FORMAT, self.context, data):  # else only slower next time
            self.dirty = False


def _first_exports(first_pass: FirstPass, path: Path, shown: str,
                   raw: bytes) -> dict[str, Summary]:
    """The IRQ facts (FIELD_KEY's) of the file's first pass."""
    r = first_pass(path, shown, raw)
    return {k: s for k, s in r.exports.items() if k.startswith(FIELD_KEY)}


def _scan(root: Path, sources: list[str], names: list[str]) -> dict[str, list[str]]:
    """Per name, the ``sources`` (relative to ``root``) whose code
    (comments and literals blank) names it as a word."""
    from xenpatch.analysis import fnptrs
    from xenpatch.c.source import identifier_set

    wanted = [n.encode() for n in names]
    groups = _prefixed(wanted)
    out: dict[str, list[str]] = {}
    top = str(root)
    for rel in sources:
        try:
            # Through the run's shared reads: a header is read once a run.
            raw = read_bytes(os.path.join(top, rel))
        except OSError:
            continue
        present = {n for p, ns in groups if p in raw for n in ns if n is p or n in raw}
        if not present:
            continue
        here = [n for n in wanted if n in present]
        words = identifier_set(fnptrs.code_only(raw))
        for n in here:
            if n in words:
                out.setdefault(n.decode(), []).append(rel)
    return out


def _prefixed(wanted: list[bytes]) -> list[tuple[bytes, list[bytes]]]:
    """The names grouped by their first bytes, each group under the longest
    prefix its names share: a text without that prefix has none of them.
    Each ``in`` costs a pass over the text; a file's names are mostly of a
    few families (grant_table.c's eleven: gnttab_*, grant_table_*, three
    others), and most texts have none, so the ~1,400 sources of a tree are
    passed over once per family instead of once per name (0.049 -> 0.031 s
    for those eleven over Xen 4.17).  A name alone in its group is its own
    prefix (the same object: not looked for twice)."""
    by: dict[bytes, list[bytes]] = {}
    for n in wanted:
        by.setdefault(n[:4], []).append(n)
    out = []
    for ns in by.values():
        p = ns[0]
        for n in ns[1:]:
            while not n.startswith(p):
                p = p[:-1]
        out.append((p, ns))
    return out


__all__ = ["MOST_CALLERS", "caller_facts", "fresh", "wanted"]
