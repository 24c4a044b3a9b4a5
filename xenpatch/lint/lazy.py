"""Which other files' summaries linting a few files of a tree needs.

A file's second pass asks for the summaries of the functions it may call
(directly, or through its headers' inlines and macros) that another file
defines.  The name index (nameindex.definitions(), kept by content hash in
the tree cache) finds those files; a text test (nameindex.may_export())
leaves out the ones whose definitions of those names cannot reach a lock;
only the rest are parsed, and for the names asked only.  Summaries are of
one round, as in a whole-tree run (a file's summaries come from its own
first pass, never from another file's), so the definers' own callees are
not followed: what they call cannot change what they export.

The result for each linted file is kept too, keyed by its content and the
summaries it was given; a run that has nothing new reads it back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.headers import arch_of
from xenpatch.analysis.irqdemand import NEED
from xenpatch.analysis.irqentry import FIELD_KEY
from xenpatch.analysis.irqstate import ENABLED_TEST
from xenpatch.analysis.locktable import Summary
from xenpatch.c.texts import read_bytes
from xenpatch.lint import nameindex
from xenpatch.lint.excerpt import file_reach, text_ends
from xenpatch.lint.findings import FileResult, Finding, Step
from xenpatch.lint.inputs import size
from xenpatch.lint.treecache import (
    FileExports,
    TreeCache,
    content_hash,
    summary_in,
    summary_out,
)
from xenpatch.lint.treeexports import architecture, architecture_silence

if TYPE_CHECKING:
    from xenpatch.lint import forked
    from xenpatch.lint.config import LintConfig

class Plan:
    """The summaries a set of files of one tree needs, from the cache or
    to be computed."""

    def __init__(self, cache: TreeCache, config: Callable[[], LintConfig],
                 build: str | None = None) -> None:
        """``config``: loads the configuration (only a file not seen yet
        needs it: a run the cache answers does without).  ``build``: the
        architecture whose build alone compiles every file linted (None:
        common code among them), whose definitions their calls meet."""
        self.cache = cache
        self.config = config
        self.build = build
        self._definers: dict[str, list[str]] | None = None
        # Summaries computed in this run of a file changed since the cache
        # hashed it: used, not kept.
        self._unkept: dict[str, dict[str, Summary]] = {}
        # Files read in this run whose text was not the one the cache hashed.
        self._changed: set[str] = set()
        # A child scanning for the name index (prefetch()).
        self._child: forked.Child[tuple[dict[str, list[str]], dict[str, list[str]],
                                        set[str]]] | None = None
        # First passes of other files run in this process (lazywitness.py's
        # search), by relative path: the files linted share them.
        self.passes: dict[str, FileResult] = {}
        # The architecture whose header facts this process has derived
        # (filelint.warm()), if any: shared_order() hands it the others'.
        self.home: str | None = None

    def read(self, rel: str) -> bytes:
        return read_bytes(self.cache.root / rel)

    def needed(self, rel: str | None, path: Path, raw: bytes | None = None) -> frozenset[str]:
        """The names the file (or ``raw`` in its place) may call."""
        got = self.cache.needed(rel) if rel is not None else None
        if got is None:
            from xenpatch.analysis.headers import header_index

            raw = path.read_bytes() if raw is None else raw
            got = nameindex.needed(raw, file_reach(header_index(path), raw))
            if rel is not None and self._as_hashed(rel, raw):
                self.cache.set_needed(rel, got)
        return got

    def _as_hashed(self, rel: str, raw: bytes) -> bool:
        """Is ``raw`` the content the cache hashed for ``rel``?  What is read
        of a file changed since is used in this run, never kept under the
        old content's hash."""
        if content_hash(raw) == self.cache.hashes.get(rel):
            return True
        self._changed.add(rel)
        return False

    def definers(self) -> dict[str, list[str]]:
        """Name -> the tree's files defining it (external definitions)."""
        if self._definers is None:
            got = self._child.result() if self._child is not None else None
            self._child = None
            out, keep, changed = got if got is not None else self._scan()
            for rel, names in keep.items():
                self.cache.set_definitions(rel, names)
            self._changed |= changed
            self._definers = out
        return self._definers

    def _scan(self) -> tuple[dict[str, list[str]], dict[str, list[str]], set[str]]:
        """(definers(), the entries the cache lacks of the files read as it
        hashed them, the files read changed since)."""
        out: dict[str, list[str]] = {}
        keep: dict[str, list[str]] = {}
        changed: set[str] = set()
        for rel in self.cache.sources():
            names = self.cache.definitions(rel)
            if names is None:
                try:
                    raw = self.read(rel)
                except OSError:
                    continue
                names = nameindex.external_names(raw)
                if content_hash(raw) == self.cache.hashes.get(rel):
                    keep[rel] = names
                else:
                    changed.add(rel)
            for n in names:
                out.setdefault(n, []).append(rel)
        return out, keep, changed

    def prefetch(self, least: int = 64) -> None:
        """Scan for the name index in a forked child, while this process
        goes on (a cold run: at least ``least`` files not indexed yet),
        where a second CPU is there.  definers() takes the child's answer,
        or scans itself if the child gives none whole; close() ends a
        child whose answer is not asked for."""
        from xenpatch.lint import earlywalk, forked

        if self._definers is not None or self._child is not None:
            return
        # Scanned already beside the imports, by the child that walked the
        # tree for this cache (earlywalk.py).
        self._child = earlywalk.index(self.cache.root)  # type: ignore[assignment]
        if self._child is not None or not forked.can_fork():
            return
        if sum(1 for r in self.cache.sources() if self.cache.definitions(r) is None) < least:
            return
        self._child = forked.Child(self._scan)

    def prefetching(self) -> bool:
        """Is a child scanning for the name index?"""
        return self._child is not None

    def close(self) -> None:
        if self._child is not None:
            self._child.cancel()
            self._child = None

    def may_export(self, rel: str, only: frozenset[str] | None = None) -> frozenset[str]:
        """The file's external functions that may reach a lock or assert the
        IRQ state (of
        ``only``, if given: then only what those reach is scanned, and the
        partial answer is not kept)."""
        got = self.cache.may_export(rel)
        if got is None:
            from xenpatch.analysis.headers import header_index
            from xenpatch.lint.filelint import _seed_names

            path = self.cache.root / rel
            raw = read_bytes(path)
            headers = header_index(path)
            # With the test of the IRQ state: a function asserting it
            # exports its demand (irqdemand.py).
            seeds = frozenset(s.decode() for s in _seed_names(self.config(), headers)) | {
                ENABLED_TEST}
            defs = nameindex.definitions(raw)
            got = nameindex.may_export(raw, defs, seeds, file_reach(headers, raw), only,
                                       text_ends(raw, defs))
            if self._as_hashed(rel, raw) and only is None:
                self.cache.set_may_export(rel, got)
        return got if only is None else got & only

    def wanted(self, needed: frozenset[str], skip: set[str],
               found: Callable[[str, frozenset[str]], None] | None = None,
               ) -> dict[str, frozenset[str]]:
        """For each other file defining needed names whose summaries the
        cache lacks: the names to summarise (those that may reach a lock).
        The names that cannot are recorded as having no summary.
        ``found(file, names)``: told of each as soon as it is known (its
        summaries can be computed while the text scans go on)."""
        per_file: dict[str, set[str]] = {}
        definers = self.definers()
        for n in needed:
            if n in nameindex.RESERVED:
                continue
            for rel in definers.get(n, ()):
                if rel not in skip:
                    per_file.setdefault(rel, set()).add(n)
        todo: dict[str, frozenset[str]] = {}
        # With workers started (``found``), the scans share no child: the
        # workers have both CPUs, and a fork beside a pool's threads is not
        # one to make.
        scanned = self._scanned(per_file) if found is None else {}
        for rel, names in sorted(per_file.items()):
            asked = frozenset(names)
            ex = self.cache.file_exports(rel)
            if ex is not None and ex.answers(asked):
                continue
            ex = ex or FileExports()
            config = self.config()
            # The lock API's own files and names have no summaries for
            # their callers (the lock table describes them).
            may = frozenset() if _implements(rel, config.implementation) else (
                (scanned[rel] if rel in scanned else self.may_export(rel, asked))
                - config.table.ops.keys())
            ex.none |= asked - may
            if rel not in self._changed:
                self.cache.set_exports(rel, ex)
            rest = frozenset(n for n in asked & may if n not in ex.known and n not in ex.none)
            if rest and not ex.complete:
                todo[rel] = rest
                if found is not None:
                    found(rel, rest)
        return todo

    def _scanned(self, per_file: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
        """may_export() of the files wanted() is to scan, shared with a
        child forked here where a second CPU is there (forked.shared_map():
        the scans of a cold run's ~30 definers are ~0.08 s of its critical
        path); {} where this process is to scan them itself, as wanted()
        then does.  The answers are the same either way: a scan asked for
        some names keeps nothing in the cache, and what it learns of a
        file changed since the cache hashed it is handed back."""
        from xenpatch.lint import forked

        config = self.config()
        todo = list(
            (rel for rel, names in per_file.items()
             if not _implements(rel, config.implementation)
             and self.cache.may_export(rel) is None
             and not ((ex := self.cache.file_exports(rel)) is not None
                      and ex.answers(frozenset(names)))))
        if len(todo) < _LEAST_SHARED or not forked.can_fork():
            return {}
        ends = shared_order(todo, self.home, lambda r: size(self.cache.root / r))

        def scan(k: int) -> tuple[frozenset[str], bool]:
            rel = ends[k]
            got = self.may_export(rel, frozenset(per_file[rel]))
            return got, rel in self._changed

        out: dict[str, frozenset[str]] = {}
        for rel, (got, changed) in zip(ends, forked.shared_map(scan, len(ends)), strict=True):
            if changed:
                self._changed.add(rel)
            out[rel] = got
        return out

    def record(self, rel: str, asked: frozenset[str], got: Mapping[str, Summary],
               complete: bool = False, digest: str | None = None) -> None:
        """A file's summaries of the names asked (``complete``: all of its
        summaries), computed from the text whose hash is ``digest``: kept
        if that is the text the cache hashed, else for this run only."""
        if digest is None or digest != self.cache.hashes.get(rel):
            self._unkept.setdefault(rel, {}).update(got)
            return
        # The cache keeps functions (see own_exports).
        got = {n: s for n, s in got.items() if not n.startswith(FIELD_KEY)}
        if complete:
            self.cache.set_exports(rel, FileExports(True, dict(got)))
            return
        ex = self.cache.file_exports(rel) or FileExports()
        ex.known.update(got)
        ex.none |= asked - got.keys()
        self.cache.set_exports(rel, ex)

    def exports_for(self, needed: frozenset[str], skip: set[str]) -> list[dict[str, Summary]]:
        """The other files' summaries of the needed names, one dict per file
        (for treeexports.tree_exports(), which drops the names files disagree on)."""
        definers = self.definers()
        per_file: dict[str, dict[str, Summary]] = {}
        silent: dict[str, list[str]] = {}
        for n in sorted(needed):
            for rel in definers.get(n, ()):
                if rel in skip or self.build is not None and \
                        architecture(rel) not in (None, self.build):
                    continue  # another build's definition (treeexports.arch_overlays())
                s = self.known(rel, n)
                if s is not None:
                    per_file.setdefault(rel, {})[n] = s
                elif self.answers(rel, n):
                    silent.setdefault(n, []).append(rel)
                # And the IRQ state it demands (irqdemand.py).
                d = self.known(rel, NEED + n)
                if d is not None:
                    per_file.setdefault(rel, {})[NEED + n] = d
        said = {n: [r for r in definers.get(n, ()) if n in per_file.get(r, {})] for n in silent}
        quiet = {n: [*silent[n], *said[n]] for n in silent if said[n]}
        return [per_file[r] for r in sorted(per_file)] + architecture_silence(quiet, said)

    def answers(self, rel: str, name: str) -> bool:
        """Is the file's summary of ``name`` (or that it has none) recorded?"""
        if rel in self._unkept and name in self._unkept[rel]:
            return True
        ex = self.cache.file_exports(rel)
        return ex is not None and ex.answers(frozenset({name}))

    def known(self, rel: str, name: str) -> Summary | None:
        """The file's own summary of ``name`` as recorded (None: none, or
        not asked)."""
        if rel in self._unkept:
            return self._unkept[rel].get(name)
        ex = self.cache.file_exports(rel)
        return ex.known.get(name) if ex is not None else None


def shared_order(rels: list[str], home: str | None, size_of: Callable[[str], int]) -> list[str]:
    """The order forked.shared_map() is to take the files in (this process
    from the front, the child from the back): the files of another
    architecture than ``home`` first, so that this process derives their
    headers' facts (a child's are lost with it, and the later round asks
    these files again here: lazyrounds.py), then the others with the
    biggest at both ends, where each side starts, the smallest where
    they meet.  Only who does what changes, never the answers."""
    def by_size(rs: list[str]) -> list[str]:
        return sorted(rs, key=lambda r: (-size_of(r), r))

    foreign = by_size([r for r in rels if home is not None and arch_of(r) != home])
    rest = by_size([r for r in rels if home is None or arch_of(r) == home])
    return foreign + rest[0::2] + rest[1::2][::-1]


# Fewer files to scan than this are scanned here: a fork costs more.
_LEAST_SHARED = 4


def _implements(rel: str, implementation: tuple[str, ...]) -> bool:
    """As filelint.lint_source() tells a file implementing the lock API."""
    return any(rel == p or rel.endswith("/" + p) for p in implementation)


def exports_key(exports: Mapping[str, Summary], needed: frozenset[str]) -> str:
    """What a file's result depends on besides its content and the context:
    the summaries it is given of the names it may call."""
    mine = {n: summary_out(s) for n, s in sorted(exports.items())
            if n.removeprefix(NEED) in needed}
    return hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest()


def result_out(r: FileResult) -> dict[str, Any]:
    return {
        "findings": [[f.line, f.col, f.check, f.message, f.function,
                      [[s.line, s.col, s.note] for s in f.flow], f.key] for f in r.findings],
        "functions": r.functions, "analysed": r.analysed,
        "skipped": [list(s) for s in r.skipped], "unknown": [list(u) for u in r.unknown],
        "undecided": [list(u) for u in r.undecided],
        "searched": [list(u) for u in r.searched],
        "error": r.error, "parsed": r.parsed,
        "exports": {n: summary_out(s) for n, s in sorted(r.exports.items())},
    }


def result_in(d: dict[str, Any], display: str) -> FileResult | None:
    """A kept result under the name the file has in this run; None if the
    entry is not one (the cache's shape check stops at the entry)."""
    try:
        return FileResult(
            display,
            [Finding(display, ln, col, check, msg, fn, tuple(Step(*s) for s in flow), key)
             for ln, col, check, msg, fn, flow, key in d["findings"]],
            functions=d["functions"], analysed=d["analysed"],
            skipped=[tuple(s) for s in d["skipped"]],  # type: ignore[misc]
            unknown=[tuple(u) for u in d["unknown"]],  # type: ignore[misc]
            undecided=[tuple(u) for u in d["undecided"]],  # type: ignore[misc]
            searched=[tuple(u) for u in d.get("searched", ())],  # type: ignore[misc]
            error=d["error"], parsed=d["parsed"],
            exports={n: summary_in(s) for n, s in d["exports"].items()},
        )
    except (KeyError, TypeError, ValueError):
        return None


def own_exports(results: Iterable[tuple[str | None, FileResult]], cache: TreeCache) -> None:
    """Linted files' own summaries, whole, into the cache."""
    for rel, r in results:
        if rel is not None and r.error is None:
            # The calls through fields (irqentry.FIELD_KEY) are a whole-tree
            # run's own, never asked for by name: the cache keeps functions.
            cache.set_exports(rel, FileExports(True, {
                n: s for n, s in r.exports.items() if not n.startswith(FIELD_KEY)}))
