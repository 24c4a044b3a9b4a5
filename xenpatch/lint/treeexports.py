"""The tree's summaries of its external functions, as the second pass of a
whole-tree or lazy run asks them: one per name (a name the files disagree
on is left out), split once per run into what each file's second pass
checks (workers.again)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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

    @classmethod
    def of(cls, exports: dict[str, Summary]) -> TreeExports:
        fns = {n: s for n, s in exports.items() if not n.startswith(FIELD_KEY)}
        takers = {n: s for n, s in fns.items() if takes_only(s)}
        return cls(exports, known_fields(exports), takers,
                   frozenset(n for n in fns if n not in takers),
                   frozenset(k[len(CALL_KEY):].lstrip("@").partition("|")[0]
                             for k in exports if k.startswith(CALL_KEY)
                             and not k.startswith(LOCKS_KEY)),
                   frozenset(k[len(NEED):] for k in exports if k.startswith(NEED)))


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


def architecture(path: str) -> str | None:
    """The architecture whose build alone compiles the file (None: common)."""
    m = _ARCH.search("/" + str(path).replace("\\", "/"))
    return m.group(1) if m else None


_ARCH = re.compile(r"/arch/([^/]+)/")


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
