"""XL017 across files, reported: a file's takes of a lock whose state
goes against the lock's convention over the tree, which the whole-tree
merge (irqwitness.merge()) gave the file in its second pass, each with a
note naming another file's take the other way.  The records and the
merge are irqwitness.py's; this module only reads them.
"""

from __future__ import annotations

from collections.abc import Mapping

from xenpatch.analysis.irqtakes import Take, states_by_node
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import RawFinding
from xenpatch.lint.irqrecords import Witness, witnesses_of
from xenpatch.lint.irqsafe import CODE
from xenpatch.lint.irqwitness import LOCK, Records, built_together, home_of, take_state


def _against(mine: Mapping[str, Mapping[str, list[tuple[FunctionUnit, Take, Result]]]]
             ) -> list[tuple[str, str, list[tuple[FunctionUnit, Take, Result]]]]:
    """The file's takes per lock and state that other files' may be
    against.  A lock the file takes in both states by its own lock ops is
    the one-file check's pair (irqsafe.sites(): those ops, no callee's
    take); one it takes in a state only inside other files' functions
    (an allocation under its irqsave lock, another with IRQs on) is not
    seen there, and its takes with IRQs off stand against the tree's."""
    out: list[tuple[str, str, list[tuple[FunctionUnit, Take, Result]]]] = []
    for ident, by in mine.items():
        if len(by) == 2:
            if all(any(not t.callee for _, t, _ in lst) for lst in by.values()):
                continue
            # Its takes with IRQs off only, against an IRQ-unsafe lock (the
            # allocator under its irqsave lock, with IRQs on elsewhere in
            # it); a plain take with IRQs on of an IRQ-safe one stays the
            # pair's (as before: not this change's).
            by = {"off": by["off"]}
        out.extend((ident, st, lst) for st, lst in sorted(by.items()))
    return out


def findings(rec: Records, runs: Mapping[FunctionUnit, Result]
             ) -> list[tuple[FunctionUnit, RawFinding]]:
    """One finding per take of the file whose known state another file's
    take of the lock disagrees with (module doc)."""
    fa = rec.fa
    tree: dict[tuple[str, str], list[Witness]] = {}
    for k, s in fa.external.items():
        if k.startswith(LOCK):
            ident, _, st = k[len(LOCK):].rpartition("|")
            tree[(ident, st)] = [w for w in witnesses_of(s) if w.file != fa.src.path]
    if not tree:
        return []
    good = dict(tree)
    mine: dict[str, dict[str, list[tuple[FunctionUnit, Take, Result]]]] = {}
    for f, res in runs.items():
        if f.info is None:
            continue
        takes = rec.of(f)[0]
        by_node = states_by_node(res) if takes else {}
        for t in takes:
            known = take_state(rec, t, f, by_node)
            who = (t.ident or rec.ident(f, t.key)) if known is not None else None
            if who is None or known is None or \
                    ((who, "on") not in good and (who, "off") not in good):
                continue
            mine.setdefault(who, {}).setdefault(known, []).append((f, t, res))
    out: list[tuple[FunctionUnit, RawFinding]] = []
    for ident, st, lst in _against(mine):
        # Only the takes against the lock's convention (merge()).
        opp = "off" if st == "on" else "on"
        if (ident, opp) not in good:
            continue
        # A file-scope lock is in one architecture's hypervisor only where
        # its file is: a chain of calls through common code that reaches
        # another architecture's definition is not a take of it here.
        home = home_of(ident)
        if not built_together(home, fa.src.path):
            continue
        # The file's own take the other way (inside a callee: the one-file
        # check's pairs are left out above).  Against an IRQ-unsafe lock
        # (a take with IRQs off) it is named first, whatever other files
        # do: the same report however many files the run read (a file
        # alone decides that case, lint/lazywitness.py); against an
        # IRQ-safe one (the whole-tree run's case) after the other files'.
        mine_opp = sorted((x for x in mine[ident].get(opp, []) if not x[1].some),
                          key=lambda x: (x[1].line, x[1].col))
        own = [Witness(g.name, fa.src.path, t.line, t.callee or t.via, t.key)
               for g, t, _ in mine_opp[:1]]
        others = [w for w in good[(ident, opp)]
                  if built_together(w.file, fa.src.path) and built_together(home, w.file)]
        others = [*own, *others] if st == "off" else [*others, *own]
        if not others:
            continue
        w = others[0]
        where = "in another file" if w.file != fa.src.path else "in this file too"
        seen: set[tuple[int, int]] = set()
        for f, t, res in sorted(lst, key=lambda x: (x[1].line, x[1].col)):
            if (t.line, t.col) in seen:
                continue
            seen.add((t.line, t.col))
            how = f"'{t.via}'" if not t.callee else f"'{t.callee}' (through '{t.via}')"
            msg = (f"{how} takes '{t.key}' with IRQs {st}, but it is taken with IRQs "
                   f"{opp} {where}, at {w.file}:{w.line} "
                   f"(in '{w.fn}'): check_lock() wants every lock either IRQ-safe or "
                   "IRQ-unsafe")
            note = (t.line, t.col, f"'{w.key}' taken with IRQs {'off' if st == 'on' else 'on'} "
                    f"at {w.file}:{w.line}, in '{w.fn}' (through '{w.via}')")
            state = next((s for n, s in res.parents if n == t.node), None)
            out.append((f, RawFinding(CODE, t.node, state, t.line, t.col, t.key, msg,
                                      notes=(note,))))
    return out


__all__ = ["findings"]
