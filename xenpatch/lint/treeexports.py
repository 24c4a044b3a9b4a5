"""The tree's summaries of its external functions, as the second pass of a
whole-tree or lazy run asks them: one per name (a name the files disagree
on is left out), split once per run into what each file's second pass
checks (workers.again)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xenpatch.analysis.irqdemand import NEED
from xenpatch.analysis.irqentry import (
    CALL_KEY,
    FIELD_KEY,
    LOCKS_KEY,
    field_summary,
    summary_state,
)
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.shipping import Shipped, received
from xenpatch.lint.takers import takes_only


@dataclass(frozen=True)
class TreeExports:
    """The tree's summaries as the second pass asks them, split once per
    run rather than once per file: the fields whose calls agree on the IRQ
    state, the helpers that only take locks (they matter to a file only
    where it may hold one, may_meet()) and the others (each matters to any
    file calling it)."""

    summaries: dict[str, Summary]
    fields: frozenset[str]
    takers: dict[str, Summary]
    others: frozenset[str]
    # Functions the other files call in a state the tree settled: their
    # definers are linted again with it.
    called: frozenset[str] = frozenset()
    # Functions demanding an IRQ state of their callers (XL018): they
    # matter to a file with an IRQ move of its own (irqdemandcheck.py).
    demanding: frozenset[str] = frozenset()
    # Per architecture, the summaries its build alone resolves (arch_overlays()).
    overlays: Mapping[str, Mapping[str, Summary]] = field(default_factory=dict)
    _views: dict[str, TreeExports] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, exports: dict[str, Summary],
           overlays: Mapping[str, Mapping[str, Summary]] | None = None) -> TreeExports:
        fns = {n: s for n, s in exports.items() if not n.startswith(FIELD_KEY)}
        takers = {n: s for n, s in fns.items() if takes_only(s)}
        return cls(exports, known_fields(exports), takers,
                   frozenset(n for n in fns if n not in takers),
                   frozenset(k[len(CALL_KEY):].lstrip("@").partition("|")[0]
                             for k in exports if k.startswith(CALL_KEY)
                             and not k.startswith(LOCKS_KEY)),
                   frozenset(k[len(NEED):] for k in exports if k.startswith(NEED)),
                   {a: o for a, o in (overlays or {}).items() if o})

    def for_path(self, path: object) -> TreeExports:
        """The summaries a file's calls meet: a file of one architecture is
        built with that architecture's definitions, so a name the
        architectures define differently resolves to its own one's."""
        arch = architecture(str(path)) if self.overlays else None
        if arch is None or arch not in self.overlays:
            return self
        got = self._views.get(arch)
        if got is None:
            mine = self.overlays[arch]
            got = self._views[arch] = TreeExports.of(
                {n: s for n, s in {**self.summaries, **mine}.items() if s != OTHERS})
        return got


def shipped(exports: dict[str, Summary] | TreeExports | Shipped) -> TreeExports:
    if isinstance(exports, TreeExports):
        return exports
    if isinstance(exports, dict):
        return TreeExports.of(exports)
    got: TreeExports = received(exports)
    return got


# What a file defining a name says of it when it exports no summary: the
# name does nothing to locks there (architecture_silence()).
SILENT = Summary((), None)


def architecture_silence(definers: Mapping[str, Iterable[str]],
                         exported: Mapping[str, Iterable[str]]) -> list[dict[str, Summary]]:
    """For tree_exports(): the files of one architecture defining a name
    that exports nothing where another architecture's file exports a
    summary of it (Arm's p2m_mem_access_check() takes its p2m lock, x86's
    of 4.6 none its summary states): their silence is a summary too, so the
    two disagree and the name is left out.  ``definers``: name -> the
    files (paths under xen/ or absolute) defining it; ``exported``: name ->
    those of them exporting a summary of it."""
    out: list[dict[str, Summary]] = []
    for name, files in definers.items():
        have = set(exported.get(name, ()))
        if not have or len({architecture(f) for f in files} - {None}) < 2:
            continue  # one architecture's definition beside common code's: no build's choice
        arches = {architecture(f) for f in have}
        for f in files:
            if f not in have and architecture(f) not in arches and architecture(f) is not None:
                out.append({name: SILENT})
    return out


# In an architecture's overlay: a name only other builds' files define.
OTHERS = Summary((), "other builds")


def arch_overlays(per_file: Iterable[tuple[str, Mapping[str, Summary]]],
                  common: Mapping[str, Summary]) -> dict[str, dict[str, Summary]]:
    """For each architecture, where its build's summaries differ from the
    tree's (``common``): the files it compiles (its own and common code's,
    ``per_file`` being (path, exports) pairs) agree on a name the tree
    left out (Arm's p2m helper takes the p2m lock, x86's of the same name
    none: an Arm caller holding the lock deadlocks, an x86 one does not),
    or define none of a name the tree has (OTHERS: another build's
    function, which none of this build's calls reaches)."""
    files = [(architecture(p), ex) for p, ex in per_file]
    # What the files' first passes say (the tree adds merged keys of its own).
    given = {n for _, ex in files for n in ex if not n.startswith((FIELD_KEY, CALL_KEY))}
    out: dict[str, dict[str, Summary]] = {}
    for arch in sorted({a for a, _ in files if a is not None}):
        view = tree_exports([ex for a, ex in files if a in (None, arch)])
        own = {n: s for n, s in view.items()
               if n not in common and not n.startswith((FIELD_KEY, CALL_KEY))}
        own.update((n, OTHERS) for n in given if n in common and n not in view)
        if own:
            out[arch] = own
    return out


def architecture(path: str) -> str | None:
    """The architecture whose build alone compiles the file (None: common),
    by its path (``arch/<a>/`` of the tree); archbuild.build_of() reads
    the tree's older layout and Makefiles too.  A path under the tree
    (``arch/x86/mm.c``) is read as it is; in a longer one, an ``arch/<a>/``
    counts where the folder above it is the tree's (it holds include/xen/),
    so that a tree checked out under a folder named arch (``~/arch/xen/``)
    keeps its common code common.  Where the folders are not there to ask
    (a path of no file), the last ``arch/<a>/`` is the tree's."""
    return _architecture(str(path).replace("\\", "/"))


@functools.lru_cache(maxsize=4096)
def _architecture(path: str) -> str | None:
    if path.startswith("arch/"):
        m = _ARCH.match(path)
        return m.group(1) if m else None
    unasked: str | None = None
    for m in reversed(list(_ARCH.finditer(path))):
        above = path[:m.start()]
        if os.path.isdir(os.path.join(above or ".", "include", "xen")):
            return m.group(1)
        if unasked is None and not os.path.isdir(above or "."):
            unasked = m.group(1)
    return unasked


_ARCH = re.compile(r"(?:^|/)arch/([^/]+)/")


def tree_exports(per_file: Iterable[Mapping[str, Summary]]) -> dict[str, Summary]:
    """One summary per external function of the tree; a name defined with
    different summaries (each architecture's p2m_get_page_from_gfn(), or
    one and another's silence: architecture_silence()) is left out: which
    one a caller gets depends on the build."""
    out: dict[str, Summary] = {}
    clash: set[str] = set()
    for exports in per_file:
        for name, summary in exports.items():
            if out.setdefault(name, summary) != summary:
                clash.add(name)
    # What the calls through a field agree on: files that disagree make it
    # unknown, which is not the same as no file calling through it.
    # A file's word on its calls of another file's function stands only
    # once the whole tree is accounted for (irqcalls.settle()).
    return {n: s if n not in clash else field_summary("?") for n, s in out.items()
            if (n not in clash or n.startswith(FIELD_KEY)) and not n.startswith(CALL_KEY)
            and s is not SILENT}


def known_fields(exports: Mapping[str, Summary]) -> frozenset[str]:
    """The fields whose calls all agree on the IRQ state: a file storing a
    function there (naming the field) is linted again with that."""
    # A file's own view of a field it calls through (irqcalls.settle(),
    # "FIELD|FILE") may say "-": nobody else calls through it.
    return frozenset(k[len(FIELD_KEY):].partition("|")[0] for k, s in exports.items()
                     if k.startswith(FIELD_KEY) and not k.startswith(CALL_KEY)
                     and summary_state(s) in (("on", "off", "-") if "|" in k else ("on", "off")))
