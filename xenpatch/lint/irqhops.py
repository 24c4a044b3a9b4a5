"""The XL017 records (lint/irqwitness.py ``TAKES``/``HOPS``) of the
functions a tree's first passes called with IRQs known off but gave no
record of: worked out here, before irqwitness.merge() composes them.

A first pass skips a file naming no lock operation (lint/filelint.py):
it has nothing of its own to check.  Its functions may still be the
middle of a chain: create_irq() holds an irqsave lock and calls
init_one_irq_desc() of common/irq.c, a file with no lock, which
allocates -- the allocator's IRQ-unsafe lock is taken with IRQs off, two
files away.  Parsing every such file for it would cost a fifth of a
whole-tree run (Xen 4.17: 417 files, 3.2 s CPU); the record of a
function matters only where some file calls it with IRQs known off (its
``CALLS NAME|off``) or the chain from one reaches it.  So: for each such
name no first pass gave a record of (``TAKES``/``HOPS``), its one
defining C file (nameindex: a non-static definition; defined in several,
the one the Makefiles build when the others are known not built, as
merge() takes it) is analysed for it here, and what its record calls
in turn the same way, up to ``BOUND`` files: a chain cut there adds
nothing (no finding, never one more).

A name no C file defines may be an inline of a header naming no lock
call, which the header index leaves out (analysis/headers.py: only the
headers naming one give their inlines): alloc_cpumask_var() of
xen/cpumask.h allocating.  The common headers' inlines (include/xen/,
every architecture's) are read for it, the first definition of a name
as the header index takes it; an architecture's are not (which one a
call reaches is the build's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import _INLINE, _definition, find_xen_root, header_index
from xenpatch.analysis.locktable import Summary
from xenpatch.c.builtobjs import built_one
from xenpatch.c.source import SourceError
from xenpatch.lint import irqwitness, nameindex, unarmedsettle
from xenpatch.lint.config import LintConfig
from xenpatch.lint.irqcalls import absolute
from xenpatch.lint.irqrecords import witnesses_of
from xenpatch.lint.irqsafe import CODE, era_kinds
from xenpatch.lint.irqwitness import CALLS, HOPS, TAKES, Records
from xenpatch.lint.treescan import TreeScan

# Files (or header inlines) analysed here per run, at most.
BOUND = 256

PerFile = tuple[Path, str, Mapping[str, Summary]]


def merged(per_file: Sequence[PerFile],
           defined: Mapping[Path, frozenset[str]] | None = None,
           scan: TreeScan | None = None) -> dict[str, Summary]:
    """irqwitness.merge() over the first passes and the records complete()
    adds: a whole-tree run's XL017 facts across files, with the functions
    the tree enters only while check_lock() is off (unarmedsettle.py):
    their witnesses are none, and their files' second passes read them.
    ``scan``: the tree's text as irqcalls.settle() read it (treescan.py)."""
    from xenpatch.lint import workers

    config = workers.loaded(None)
    files = [*per_file, *complete(per_file, defined=defined)]
    return unarmed_merge(files, per_file, config, scan)


def unarmed_merge(files: Sequence[PerFile], per_file: Sequence[PerFile], config: LintConfig,
                  scan: TreeScan | None = None, read: set[Path] | None = None,
                  only: str | None = None) -> dict[str, Summary]:
    """irqwitness.merge() of ``files``, with the functions the tree enters
    only while check_lock() is off settled from ``per_file``'s exports
    (unarmedsettle.settle(); ``read``: as it takes it); ``only``: of the
    witnesses' files, that one's functions alone (a file linted alone:
    another file's IRQs-on witness in a function entered with the check
    off stays one, a finding the whole-tree run may not give)."""
    out = irqwitness.merge(files)
    if CODE not in config.enabled:
        return out
    # Only the files the merge marks or names can change it: their
    # witnesses' functions are the ones whose entries are settled.
    named = {w.file for k, s in out.items() if k.startswith(irqwitness.LOCK)
             for w in witnesses_of(s)}
    named |= {k[len(irqwitness.RELINT):] for k in out if k.startswith(irqwitness.RELINT)}
    if only is not None:
        named &= {only}
    if not named:
        return out
    arm, quiet = unarmedsettle.settle(per_file, config, named, scan=scan, read=read)
    if quiet:
        out = irqwitness.merge(files, lambda fn, file: (fn, file) in quiet)
    out.update(arm)
    return out


def complete(per_file: Sequence[PerFile], config: LintConfig | None = None,
             bound: int | None = None,
             defined: Mapping[Path, frozenset[str]] | None = None) -> list[PerFile]:
    """The records the first passes left out that a chain from a call with
    IRQs known off needs (module doc), as more first passes' exports.
    ``defined``: the external names of files the first passes read (by
    absolute path), which the search for a definition need not read again."""
    # The records the first passes gave (a name's calls, where it has
    # some), and the names called with IRQs known off.
    hops: dict[str, set[str]] = {}
    off: set[str] = set()
    for _, _, ex in per_file:
        for k, s in ex.items():
            if k.startswith(TAKES):
                hops.setdefault(k[len(TAKES):], set())
            elif k.startswith(HOPS):
                hops.setdefault(k[len(HOPS):], set()).update(e.key for e in s.effects)
            elif k.startswith(CALLS) and k.endswith("|off"):
                off.add(k[len(CALLS):-len("|off")])
    if not off or not per_file:
        return []
    root = find_xen_root(absolute(per_file[0][0]))
    if root is None:
        return []
    files = {absolute(p): rel for p, rel, _ in per_file}
    defs = _Definers(files, root, defined or {})

    def known(name: str) -> set[str] | None:
        return hops.get(name)

    return walk(sorted(off), known, defs.home, root, config, bound)[0]


Home = tuple[Path, str, "bytes | None"]  # a file, its name in the run, an inline's definition


def walk(start: Sequence[str], known: Callable[[str], set[str] | None],
         home: Callable[[str], Home | None], root: Path, config: LintConfig | None = None,
         bound: int | None = None) -> tuple[list[PerFile], bool]:
    """Breadth first from ``start`` along the calls the records name
    (``HOPS``): a name ``known`` gives the calls of (a first pass's record)
    goes on from them, another is analysed where ``home`` says it is
    defined, up to ``bound`` files.  The records worked out here, and
    whether the walk stopped at its bound."""
    if config is None:
        from xenpatch.lint import workers

        config = workers.loaded(None)
    if CODE not in config.enabled:
        return [], False
    limit = BOUND if bound is None else bound
    analyses: dict[tuple[Path, str], Records | None] = {}
    out: list[PerFile] = []
    done: set[str] = set()
    cut = False
    todo = deque(start)
    while todo:
        name = todo.popleft()
        if name in done:
            continue
        done.add(name)
        calls = known(name)
        if calls is not None:  # a first pass's record: the chain goes on from it
            todo.extend(sorted(calls - done))
            continue
        at = home(name)
        if at is None:
            continue
        path, rel, inline = at
        if (path, rel) not in analyses:
            if len(analyses) >= limit:
                cut = True
                continue  # the chain is cut here: nothing more, never more findings
            analyses[(path, rel)] = _analysis(path, rel, inline, config, root)
        rec = analyses[(path, rel)]
        f = rec.fa.fns.get(name) if rec is not None else None
        if rec is None or f is None or (f.is_static and inline is None):
            continue
        got = irqwitness.records(rec, name)
        if got:
            out.append((path, rel, got))
        more = got.get(HOPS + name)
        todo.extend(sorted(e.key for e in more.effects if e.key not in done) if more else ())
    return out, cut


class _Definers:
    """Where a name is defined: a non-static function of one C file of the
    run (of several, the one built), else an inline of the common headers
    (module doc); read from the texts on the first question."""

    def __init__(self, files: Mapping[Path, str], root: Path,
                 defined: Mapping[Path, frozenset[str]]) -> None:
        self.files, self.root, self.defined = files, root, defined
        self.c: dict[str, list[Path]] | None = None
        self.inlines: dict[str, tuple[Path, bytes]] | None = None

    def home(self, name: str) -> Home | None:
        """(the file, its name in the run, an inline's definition), or None."""
        if self.c is None:
            self.c = {}
            for p in self.files:
                names = self.defined.get(p)
                if names is None:
                    try:
                        names = frozenset(nameindex.external_names(p.read_bytes()))
                    except OSError:
                        continue
                for n in sorted(names):
                    self.c.setdefault(n, []).append(p)
        got = self.c.get(name, [])
        if got:
            one = 0 if len(got) == 1 else built_one(got)
            return None if one is None else (got[one], self.files[got[one]], None)
        if self.inlines is None:
            self.inlines = common_inlines(self.root)
        return common_inline(self.inlines, self.root, name)


def common_inline(inlines: Mapping[str, tuple[Path, bytes]], root: Path, name: str
                  ) -> Home | None:
    """The inline ``name`` of the common headers as a Home (named by its
    header and itself: each is analysed alone)."""
    hit = inlines.get(name)
    if hit is None:
        return None
    return hit[0], f"{hit[0].relative_to(root).as_posix()}:{name}", hit[1]


def common_inlines(root: Path) -> dict[str, tuple[Path, bytes]]:
    """The inlines of include/xen/'s headers: name -> (header, definition),
    the first definition of a name (headers._scan() keeps the first)."""
    out: dict[str, tuple[Path, bytes]] = {}
    d = root / "include" / "xen"
    for h in sorted(d.rglob("*.h")) if d.is_dir() else ():
        try:
            raw = h.read_bytes()
        except OSError:
            continue
        for m in _INLINE.finditer(raw):
            name = m.group(1).decode()
            if name in out:
                continue
            body = _definition(raw, m.start())
            if body is not None:
                out[name] = (h, body)
    return out


def _analysis(path: Path, rel: str, inline: bytes | None, config: LintConfig,
              root: Path) -> Records | None:
    """The XL017 records of the C file at ``path`` (or of the header
    ``inline``'s definition), as its first pass would compute them
    (irqwitness.Records); None where it has none to give."""
    from xenpatch.lint.filelint import _parse

    if any(rel == p or rel.endswith("/" + p) for p in config.implementation):
        return None  # the lock API's own code: its callers take the table's word
    if inline is not None:
        raw = inline
        where = root / "common" / "x.c"  # the common headers' index
    else:
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        where = path
    try:
        src = _parse(rel, raw, config, where)
    except SourceError:
        return None
    headers = header_index(where)
    kinds = headers.memo(("irqsafe-era", config.irqsafe_eras),
                         lambda: era_kinds(config.irqsafe_eras, headers.root))
    if not kinds:
        return None
    return Records(FileAnalysis(config, src, headers, {}), kinds, config.irqsafe_unchecked)


__all__ = ["BOUND", "Home", "common_inline", "common_inlines", "complete", "walk"]
