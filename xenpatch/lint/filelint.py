"""Lint one C file: run the held-lock dataflow with the checks over each
function the file analysis finds lock-relevant, add the leaks at its exits,
and turn raw findings into reportable ones (with their path), minus
suppressed ones.

Two passes over a file.  The first (xenpatch.analysis.fileanalysis)
computes, on demand, the summary of every helper a lock-touching function
calls (file functions and header inlines), and the per-node actions of
every analysed function; these give the percpu oracle its evidence.  The
second runs the dataflow with the checks on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from xenpatch.analysis import typesafe
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.fieldtexts import fields_called
from xenpatch.analysis.fileanalysis import FileAnalysis, wrapped_table
from xenpatch.analysis.functions import shape_fn
from xenpatch.analysis.headers import (
    HeaderIndex,
    header_index,
    percpu_members,
)
from xenpatch.analysis.irqdemand import Demands, export_demands
from xenpatch.analysis.irqentry import (
    CALL_KEY,
    FIELD_KEY,
    STATED,
    call_states,
    entry_matters,
    field_call_states,
    field_summary,
    summary_state,
)
from xenpatch.analysis.irqstate import IRQ_ON
from xenpatch.analysis.kept import kept_summary, run_engine
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.preconditions import Preconditions
from xenpatch.analysis.rwera import tree_readers_wait_for_writers
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.source import (
    SourceError,
    SourceFile,
    function_name,
    functions,
    mentions_any,
    parse_bytes,
    stray_errors,
)
from xenpatch.lint import (
    entryheld,
    irqacross,
    irqentries,
    irqwitness,
    reuse,
    suppress,
    unarmedfile,
)
from xenpatch.lint.checks import CheckObserver, PercpuOracle, RawFinding
from xenpatch.lint.config import LintConfig
from xenpatch.lint.findings import LOCK_API_DEFINITION, FileResult, Finding
from xenpatch.lint.heldcalls import close_over, held_at_calls, held_untracked
from xenpatch.lint.irqchecks import IRQ_CODES, irq_findings
from xenpatch.lint.irqcontext import context_wanted, witness_exports
from xenpatch.lint.irqdemandcheck import demand_findings
from xenpatch.lint.irqsafe import CODE, contested, era_kinds, irq_safety_findings, sound_runs
from xenpatch.lint.irqsafectx import context_safety_findings, safe_asks
from xenpatch.lint.leaks import leak_findings
from xenpatch.lint.partialrelease import partial_release_findings
from xenpatch.lint.pathnotes import agreement, finding_of
from xenpatch.lint.precond import precondition_findings
from xenpatch.lint.reaching import reaching_names
from xenpatch.lint.treecache import content_hash


def lint_functions(fa: FileAnalysis, config: LintConfig, result: FileResult,
                   findings_only: bool = False, exports_only: bool = False) -> None:
    """The checks over the file's lock-relevant functions, into ``result``
    (findings, counts, skipped functions, and the summaries it exports).
    ``findings_only``: without what only a first pass over the tree uses
    (the calls made holding a lock, the states of calls through fields);
    what is computed for the exports is, as it may be asked again later.
    ``exports_only`` (with ``findings_only``): the exports alone, which
    the loop below settles before any check reads a run (a later round
    asks a file for nothing else: lint/rounds.py)."""
    rel = fa.relevant()
    for f in rel:
        if not fa.is_quiet(f):
            fa.prepare(f)
    oracle = percpu_oracle(fa, config, rel) if not exports_only else PercpuOracle()
    readers_wait = "XL016" in config.enabled and fa.headers.memo(
        ("readers-wait",), lambda: tree_readers_wait_for_writers(fa.headers.root))
    done: list[tuple[FunctionUnit, Result, list[RawFinding]]] = []
    held_calls: set[str] = set()
    held_locks: dict[tuple[str, str], set[str]] = {}
    # Per function, the calls it makes holding a lock (held_untracked()).
    held_by: list[tuple[FunctionUnit, set[str]]] = []
    # Per function, the caller's locks it drops on some path (as shapes).
    drops: dict[FunctionUnit, set[tuple[str, str]]] = {}
    for f in rel:
        if f.quiet and f.cfg is None:
            result.analysed += 1  # as one whose actions turn out lock-free
            continue
        if f.skip is not None or f.cfg is None or f.info is None:
            continue
        if f.name in fa.table.ops and not exports_only:
            # A definition of one of the table's operations (an inline of
            # the API, an older tree's rcu_lock_domain()): what it does is
            # the table's word to its callers, and its body breaks the
            # rules by design, as the [skip] implementation files do.
            result.skipped.append((f.name, f.src.line_of(f.node.start_byte),
                                   LOCK_API_DEFINITION))
            continue
        if not f.info.relevant:
            result.analysed += 1
            # No lock of its own, but its callees' takes are its callers'
            # too (put_page() reaching free_heap_pages()).
            export_lockless(fa, f, result.exports)
            continue
        obs = CheckObserver(oracle, shape_fn(f.info), config.enabled, readers_wait) \
            if not exports_only else None
        res: Result | None
        if f.run_record is not None:
            res, rec = f.run_record
            if obs is not None:
                rec.replay(obs)
        else:
            res = run_engine(f, obs)
        if res is None:
            continue
        result.analysed += 1
        if exports_only:
            export_run(fa, f, res, result.exports)
            continue
        if not findings_only:
            mine, locks = held_at_calls(f, res)
            held_calls |= mine
            for lock, names in locks.items():
                held_locks.setdefault(lock, set()).update(names)
            held_by.append((f, mine))
        for line, via, key in sorted(res.unknowns):
            why = ("its effect is unknown: nothing is reported on the paths through it"
                   if key == "*" else f"it may or may not hold '{key}' after it: nothing "
                   "about that lock is reported past it")
            result.unknown.append((f.name, line, f"'{via}': {why}"))
        # Caller's locks this function drops on some path: the other half
        # of an enter/leave pair may drop only conditionally.
        shape = shape_fn(f.info)
        for k in res.entry_keys:
            if any(a.get(k) is None for lst in res.exits.values() for a, _ in lst):
                drops.setdefault(f, set()).add(shape(k))
        assert obs is not None
        done.append((f, res, obs.chosen(agreement(fa.src, f, res))))
        export_run(fa, f, res, result.exports)
    # The IRQ states the exported functions demand (irqdemand.py).
    export_demands(fa, result.exports)
    if exports_only:
        return
    result.held_calls = close_over(fa, held_calls)
    result.held_locks = {lock: close_over(fa, names)
                         for lock, names in sorted(held_locks.items())}
    if not findings_only:
        result.held_untracked = held_untracked(fa, held_by, result.held_calls)
    safe_kinds = fa.headers.memo(("irqsafe-era", config.irqsafe_eras), lambda: era_kinds(
        config.irqsafe_eras, fa.headers.root)) if CODE in config.enabled else frozenset()
    refs_of = functools.cache(lambda: irqentries.fn_refs(fa))
    # Functions entered with check_lock() off: their takes latch nothing.
    marked = unarmedfile.mark(fa, config) if safe_kinds else None
    takes = contested((f for f, _, _ in done), safe_kinds) if safe_kinds else {}
    first = {f: res for f, res, _ in done}
    # The functions whose checks read the state they are entered in (an IRQ
    # move of theirs, or a plain take XL017 wants the state of).
    plain_takers = {f for f, lst in takes.items() if any(s[3] for s in lst)}
    wanted = irqentries.entry_wanted(done, plain_takers)
    # The functions a caller's context can change (irqcontext.py).
    in_ctx = context_wanted(first) if IRQ_CODES & config.enabled else set()
    # XL017 across files (irqwitness.py): the takes of the file's functions,
    # in the state their callers agree on where they do.
    xrec = irqwitness.Records(fa, safe_kinds, config.irqsafe_unchecked) if safe_kinds and (
        not findings_only or irqwitness.wanted(fa.external, fa.src.path)) else None
    also = {f for f, _, _ in done if any(not t.off for t in xrec.of(f)[0])} \
        if xrec is not None else set()
    # Quiet ways in: their runs state what other files meet (the records),
    # while the takes they show are their callees', reported there.
    ways_in = irqentries.ways_in(fa, xrec, first) if xrec is not None else set()
    also |= ways_in
    entries, in_context = irqentries.with_entry_states(fa, config, oracle, done, readers_wait,
                                                       wanted, in_ctx, refs_of, also)
    runs: dict[FunctionUnit, Result] | None = None
    if IRQ_CODES & config.enabled and not findings_only:
        # What this file's calls through struct fields agree on, for the
        # files storing functions in those fields (a whole-tree run).
        own_fields = field_call_states(((f, res) for f, res, _ in done), fa.src.raw)
        for name, state in own_fields.items():
            result.exports[FIELD_KEY + name] = field_summary(state)
        # A plain take's state in one other file's caller's context too
        # (irqsafectx.py).
        asks = irqentries.entry_wants(fa, wanted, refs_of(), own_fields, entries, in_ctx,
                                      plain_takers) if wanted or in_ctx else {}
        result.exports.update(asks)
        # And the tree's IRQ-safe takes of the field locks such a take is of.
        by_node = {f.node.start_byte: f for f in fa.order}
        result.exports.update(safe_asks(takes, entries, asks, lambda name: entry_matters(
            {name}, refs_of(), by_node)))
        # And its calls of other files' functions, from the runs whose entry
        # is no guess (irqcalls.py settles them over the tree).
        runs = sound_runs(fa.order, first, {f: res for f, res, _ in done}, entries, refs_of,
                          irqentries.stated_calls(fa))
        rooted, boot = irqentries.from_roots(fa, done, wanted, entries, runs, first, refs_of)
        for name, state in call_states(rooted.items(), fa.src.raw, fa.fns, boot).items():
            result.exports[CALL_KEY + name] = field_summary(state)
        # The tree's ways in are run in their state (a hypercall's handler:
        # on) for the witnesses too; a bring-up's is none (irqroots.BOOT).
        result.exports.update(witness_exports(
            fa, {f: res for f, res in rooted.items() if f not in boot}, first, refs_of,
                                              config.irqsafe_unchecked))
        if xrec is not None:
            got = irqwitness.exports(
                xrec, irqentries.entered(fa, done, also - wanted, entries, runs, first, refs_of),
                rel, marked.maybe if marked is not None else None)
            result.exports.update(got)
        if marked is not None:
            # What the tree settles the entries with the check off by.
            result.exports.update(marked.exports(got if xrec is not None else {}))
    for f in rel:
        if f.skip is not None:
            result.skipped.append((f.name, fa.src.line_of(f.node.start_byte), f.skip))
    found: list[Finding] = []
    pre = Preconditions(fa) if {"XL015", "XL019"} & config.enabled else None
    dem = Demands(fa) if "XL018" in config.enabled else None
    for f, res, raws in done:
        if "XL001" in config.enabled or "XL003" in config.enabled:
            leaks = leak_findings(f, res, _paired_shapes(fa, drops, f),
                                  agreement(fa.src, f, res))
            raws.extend(r for r in leaks if r.check in config.enabled)
        irqs = irq_findings(f, res, config.enabled)
        if f.entry_irq is not None and f in first and first[f] is not res:
            irqs = irqentries.entry_noted(f, irq_findings(f, first[f], config.enabled), irqs)
        raws.extend(irqs)
        if pre is not None and "XL015" in config.enabled:
            raws.extend(precondition_findings(fa, pre, f, res))
        if pre is not None and "XL019" in config.enabled:
            raws.extend(partial_release_findings(pre, f, res))
        if dem is not None:
            # In the run entered in an unknown state (irqdemandcheck.py).
            f0 = first.get(f, res)
            found.extend(finding_of(fa.src, f, f0, r) for r in demand_findings(fa, dem, f, f0))
        for r in raws:
            found.append(finding_of(fa.src, f, res, r))
    found.extend(finding_of(fa.src, f, res, r) for f, res, r in in_context)
    if takes:
        if runs is None:
            runs = sound_runs(fa.order, first, {f: res for f, res, _ in done}, entries,
                              refs_of, irqentries.stated_calls(fa))
        found.extend(finding_of(fa.src, f, runs[f], r) for f, r in
                     irq_safety_findings(runs.items(), takes))
        found.extend(finding_of(fa.src, f, res, r) for f, res, r in context_safety_findings(
            fa, takes, runs, first, entries, irqentries.stated_calls(fa), refs_of,
            config.irqsafe_unchecked))
    if xrec is not None and irqwitness.wanted(fa.external, fa.src.path):
        if runs is None:
            runs = sound_runs(fa.order, first, {f: res for f, res, _ in done}, entries,
                              refs_of, irqentries.stated_calls(fa))
        entered = irqentries.entered(fa, done, also - wanted - ways_in, entries, runs, first,
                                     refs_of)
        found.extend(finding_of(fa.src, f, entered[f], r) for f, r in
                     irqacross.findings(xrec, entered))
    # Locks every caller holds, taken again inside (lint/entryheld.py).
    held, held_ex = entryheld.check(fa, [(f, first[f]) for f, _, _ in done], refs_of(),
                                    functools.partial(_plain_run, fa), config.enabled,
                                    not findings_only)
    result.exports.update(held_ex)
    found.extend(finding_of(fa.src, f, res, r) for f, res, r in held)
    result.findings.extend(found)


def _plain_run(fa: FileAnalysis, g: FunctionUnit) -> Result | None:
    """g's dataflow entered in an unknown state, without checks."""
    fa.prepare(g)
    if g.skip is not None or g.cfg is None or g.info is None:
        return None
    try:
        return run_engine(g, None)
    finally:
        g.skip = None


def _paired_shapes(fa: FileAnalysis, drops: Mapping[FunctionUnit, set[tuple[str, str]]],
                   me: FunctionUnit) -> frozenset[tuple[str, str]]:
    """Lock shapes other functions of the file release without taking
    them: the other half of an enter/leave pair."""
    out: set[tuple[str, str]] = set()
    for f in fa.order:
        if f is not me:
            out |= drops.get(f, set())
    return frozenset(out)


def percpu_oracle(fa: FileAnalysis, config: LintConfig, rel: list[FunctionUnit]) -> PercpuOracle:
    o = PercpuOracle()
    # A rule's owner is the expected one, but only for locks the file
    # shows to be percpu (an unconverted tree's rwlock_t is not).
    o.owner_init.update(dict(config.rule_owners))
    for f in rel:
        if f.info is None:
            continue
        shape = shape_fn(f.info)
        for acts in f.info.acts:
            for a in acts:
                if isinstance(a, OpAct) and a.effect.kind == "percpu" and (
                    a.effect.action in ("acquire", "release", "init")
                ):
                    e = a.effect
                    o.add_use(shape(e.key), e.key, e.owner, e.action == "init")
    for m in re.finditer(
        rb"DEFINE_PERCPU_RWLOCK_RESOURCE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)", fa.src.raw
    ):
        k = m.group(1).decode()
        o.add_use(("", k), k, m.group(2).decode(), True)
    o.shapes |= percpu_members(fa.src.raw) | fa.headers.percpu_fields
    return o


def lint_source(src: SourceFile, config: LintConfig, path: Path | None,
                external: Mapping[str, Summary] | None = None,
                findings_only: bool = False, exports_only: bool = False) -> FileResult:
    result = FileResult(src.path)
    where = src.path.replace("\\", "/")
    if any(where == p or where.endswith("/" + p) for p in config.implementation):
        result.functions = len(functions(src.root))
        for fn in functions(src.root):
            name = function_name(src, fn) or "?"
            result.skipped.append((name, src.line_of(fn.start_byte), LOCK_API_DEFINITION))
        return result
    headers = header_index(path) if path is not None else HeaderIndex(None)
    fa = FileAnalysis(config, src, headers, external)
    fa.tree_path = tree_path(path, headers.root)
    result.functions = len(fa.order)  # one per definition, as functions() finds them
    lint_functions(fa, config, result, findings_only or exports_only, exports_only)
    result.skipped.extend(_stray(src, _seed_names(config, headers)))
    # A unit whose preparation is deferred takes no lock: no "when" to track.
    result.when_tracked = any(f is not None and not f.deferred and f.info is not None
                              and bool(f.info.when_only)
                              for f in (*fa.order, *fa.header_fns.values()))
    result.findings = suppress.filter_findings(src, path, fa, result.findings)
    result.findings.sort(key=Finding.sort_key)
    return result


def tree_path(path: Path | None, root: Path | None) -> str:
    """``path`` under the tree's ``root`` (posix), "" if not under it."""
    if path is None or root is None:
        return ""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        return ""


def _seed_names(config: LintConfig, headers: HeaderIndex) -> frozenset[bytes]:
    """Names whose presence makes a file worth parsing: once per index and
    lock table (by value: a new table is never taken for an old one)."""

    def make() -> frozenset[bytes]:
        # The table FileAnalysis takes for a file adding no wrapper: one
        # memo for both.
        table = headers.memo(("lock_reaching", config.table.value_key),
                             lambda: wrapped_table(config, config.table, headers,
                                                   headers.wrappers))
        # With the header inlines and macros that reach one of them
        # (get_gfn_query() reaches p2m_get_gfn_type_access() through
        # get_gfn_type()).
        return reaching_names(headers, frozenset((*table.names(), *headers.locky)))

    return headers.memo(("seeds", config.table.value_key), make)


def _stray(src: SourceFile, seeds: frozenset[bytes]) -> list[tuple[str, int, str]]:
    """Unparsed code outside every function that names the lock API: a
    definition hidden there is not analysed, and the run must not look
    complete (exit 3, not 0).  The name is the line's, no function's."""
    out = []
    for n in stray_errors(src.root):
        if mentions_any(src.masked[n.start_byte:n.end_byte], seeds):
            line = src.line_of(n.start_byte)
            out.append((f"<file scope, line {line}>", line,
                        f"unparsed code at line {line}, outside any function definition, "
                        "names the lock API"))
    return out


def _irq_move_names(config: LintConfig, headers: HeaderIndex) -> frozenset[bytes]:
    """The IRQ API's moves that make IRQs known off (a disable, a save),
    with the header inlines and macros reaching one: once per index and
    table of them."""
    moves = frozenset(n for n, (effect, _) in config.irq.calls.items()
                      if effect in ("off", "save"))
    return headers.memo(("irq-moves", moves), lambda: reaching_names(headers, moves))


def warm_headers(paths: Iterable[Path], config: LintConfig) -> None:
    """The header index of each directory of ``paths`` and the seed names
    derived from it, worked out here (a whole-tree run's parent, before
    its workers fork): each worker would otherwise derive them again for
    every directory it meets (6% of a run's CPU on Xen 4.17, twice)."""
    for d in {p.parent for p in paths}:
        _seed_names(config, header_index(d / "x.c"))
        _irq_move_names(config, header_index(d / "x.c"))


def lint_file(path: Path, display: str, config: LintConfig,
              external: Mapping[str, Summary] | None = None,
              raw: bytes | None = None, findings_only: bool = False,
              exports_only: bool = False, again: bool = False) -> FileResult:
    """``raw``: the text to lint in the file's place (its headers are still
    the file's), e.g. the file at another revision.  ``findings_only``: a
    second pass over a tree, whose held_calls are not asked and whose
    exports are the first pass's (lint_functions()).  ``exports_only``: a
    later round's, which asks for the exports alone (not the findings).
    ``again``: a later round may lint this text again (with summaries
    that differ little): the parse it found kept stays kept (reuse.py)."""
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return FileResult(display, error=f"{display}: {exc.strerror or exc}")
    result = _lint_text(path, display, config, external, raw, findings_only or exports_only,
                        exports_only, again)
    result.digest = content_hash(raw)
    return result


def _lint_text(path: Path, display: str, config: LintConfig,
               external: Mapping[str, Summary] | None, raw: bytes,
               findings_only: bool = False, exports_only: bool = False,
               again: bool = False) -> FileResult:
    # A file that names no lock operation, wrapper or lock helper (its own
    # macros would have to name one too) has nothing to check: skip its parse.
    # Another file's helper counts when reached through a header inline or
    # macro too (get_gfn_query() reaches p2m.c's lock).
    headers = header_index(path)
    witnesses_only = False
    if not mentions_any(raw, _seed_names(config, headers)) and not (
        external and mentions_any(raw, reaching_names(headers, frozenset(external)))
    ):
        out = FileResult(display, parsed=False)
        if not IRQ_CODES & config.enabled or findings_only:
            return out
        # Its calls through fields are of states nobody analysed.
        out.exports.update({FIELD_KEY + n: field_summary("?") for n in fields_called(raw)})
        # A first pass exports the file's calls made with IRQs known off
        # (irqcontext.witness_exports()) and the states its calls of other
        # files' functions agree on (irqentry.call_states()): a file naming
        # no lock but a move of IRQs (a CPU's teardown, its bring-up) is
        # such a caller of the other files' functions, which only this pass
        # would say.  Its lint is for those alone: what else it finds or
        # exports stays as a file with nothing to check, the same whole or
        # alone.
        if not mentions_any(raw, _irq_move_names(config, headers)):
            return out
        witnesses_only = True
    from xenpatch.c.masking import table_for

    # A second pass over a tree finds the parse of the first in this
    # process (reuse.py); a first pass keeps it for the second (and finds
    # one made beforehand: preparse()).
    macros = table_for(config.macros, path)
    src = reuse.take(display, path, raw, macros)
    taken = src is not None
    if src is None:
        try:
            src = _parse(display, raw, config, path)
        except SourceError as exc:
            # Parsed for its witnesses alone, it had nothing to check.
            return out if witnesses_only else FileResult(display, error=str(exc))
    result = lint_source(src, config, path, external, findings_only, exports_only)
    # Kept once linted: what reuse.py lets go of it then is let go of
    # before the next file's lint.  A first pass that found the parse
    # made beforehand (preparse()) puts it back as one that made it keeps
    # it: else the cold single-file run's later lints of the file (the
    # later round's, workers.again) parsed and filled it all again
    # whenever a child had been forked (~0.12 s of grant_table.c's).
    if not taken and not findings_only:
        reuse.keep(display, path, raw, macros, src)
    elif taken and (again or not findings_only):
        reuse.keep_again(display, path, raw, macros, src)
    if witnesses_only:
        out.exports.update({k: v for k, v in result.exports.items()
                            if k.startswith(CALL_KEY)
                            and summary_state(v) in STATED})
        return out
    return result


def preparse(path: Path, display: str, raw: bytes, config: LintConfig) -> None:
    """The parse lint_file() of ``raw`` will make, made now and kept
    (reuse.py, if keeping): a cold single-file run makes it while a child
    scans for the name index (lazyrun.lazily)."""
    from xenpatch.c.masking import table_for

    macros = table_for(config.macros, path)
    try:
        src = _parse(display, raw, config, path)
    except SourceError:
        return  # the lint says so itself
    reuse.keep(display, path, raw, macros, src)


def warm(path: Path, config: LintConfig) -> str | None:
    """What every file analysis of the file's tree and architecture derives
    first from its headers (the lock table's seed names, the typesafe
    wrappers, the literal macros: once per process), derived now: a cold
    single-file run does it while a child scans for the name index, and
    the children it forks later (the text scans', the summaries') inherit
    it instead of each deriving it again (~0.04 s on Xen 4.17).  Returns
    the architecture they are of."""
    from xenpatch.analysis.collective import tree_elements
    from xenpatch.analysis.loopmacros import tree_loops

    headers = header_index(path)
    _seed_names(config, headers)
    typesafe.tree_typesafe(headers.root, headers.arch)
    typesafe.tree_exacts(headers.root, headers.arch)
    # And the loop macros and element accessors: the summaries' child
    # derived them again beside this process (~0.013 s on Xen 4.17).
    tree_loops(headers.root, headers.arch)
    tree_elements(headers.root, headers.arch)
    return headers.arch


def warm_callbacks(path: Path, config: LintConfig) -> None:
    """The tree's declarations of the [irqcallback] APIs as the file's lint
    reads them (irqentries.fn_refs()), read now: the child making its
    likely callers' first passes (lazyrun._callers_ahead()), forked next,
    finds them read for the callers in the file's directory instead of
    reading them again beside this process (~0.016 s on Xen 4.17), and
    this process reads them once either way (the memo is the lint's)."""
    from xenpatch.analysis import cbargs

    headers = header_index(path)
    root = headers.root
    rel = tree_path(path, root)
    where = (root / rel).parent if root is not None and rel else None
    cbargs.read_ahead(config.irq, root, headers.arch, where)


def _parse(display: str, raw: bytes, config: LintConfig, path: Path) -> SourceFile:
    # What the file's tree's own #defines say to mask too (derived once per
    # tree, cached by the headers' content): a release the table was not
    # written for parses as well as the one it was.
    from xenpatch.c.masking import table_for

    macros = table_for(config.macros, path)
    try:
        return parse_bytes(display, raw, macros)
    except SourceError as exc:
        if "not UTF-8" not in exc.reason:
            raise
        # Xen has Latin-1 in a few comments (the console fonts): one '?' per
        # stray byte keeps every offset, and no lock API is spelled that way.
        clean = raw.decode("utf-8", errors="replace").encode("ascii", errors="replace")
        if len(clean) != len(raw):
            clean = bytes(b if b < 0x80 else 0x3F for b in raw)
        return parse_bytes(display, clean, macros)


def summary_analysis(path: Path, raw: bytes, config: LintConfig, names: frozenset[str],
                      cut: bool) -> tuple[FileAnalysis, bool] | None:
    """The file analysis the summaries of ``names`` come from, its relevant
    functions found, and whether the file's full lint is wanted instead
    (a name defined twice: then the analysis is of the whole file).  None
    if the file has no summaries (names no lock, implements the lock API,
    does not parse)."""
    headers = header_index(path)
    if not mentions_any(raw, _seed_names(config, headers)):
        return None
    display = str(path)
    where = display.replace("\\", "/")
    if any(where == p or where.endswith("/" + p) for p in config.implementation):
        return None
    part = None
    if cut:
        from xenpatch.analysis.headers import macro_functions
        from xenpatch.lint.excerpt import excerpt, file_reach

        part = excerpt(raw, names, file_reach(headers, raw, macro_functions(raw)))
    try:
        src = _parse(display, raw if part is None else part.text, config, path)
    except SourceError:
        if part is None:
            return None
        return summary_analysis(path, raw, config, names, False)
    fa = FileAnalysis(config, src, headers, None)
    # An emptied block that was not a function's body after all, or one the
    # text scan took for another name: the whole file then.
    if part is not None and not part.parsed_as_cut(fa.order):
        return summary_analysis(path, raw, config, names, False)
    defined = [f.name for f in fa.order]
    if any(defined.count(n) > 1 for n in names):
        if part is not None:
            return summary_analysis(path, raw, config, names, False)
        return fa, True
    fa.relevant()
    return fa, False


def own_external(fa: FileAnalysis, f: FunctionUnit) -> bool:
    """Is ``f`` one of the file's own external functions whose summary its
    callers elsewhere read (the table's names are known everywhere)?"""
    return f.src is fa.src and not f.is_static and f.name not in fa.table.ops \
        and f.name not in fa.table.wrappers


def export_run(fa: FileAnalysis, f: FunctionUnit, res: Result,
               out: dict[str, Summary]) -> None:
    """``f``'s summary from its run ``res`` into ``out``, if it is
    own_external() and tells callers something."""
    if own_external(fa, f):
        if not f.summarised:
            f.summarised = True
            f.summary = kept_summary(f, res)
        if f.summary is not None and exported(f.summary):
            out[f.name] = f.summary


def export_lockless(fa: FileAnalysis, f: FunctionUnit, out: dict[str, Summary]) -> None:
    """The summary of ``f``, which has no lock of its own, into ``out``:
    its callees' takes are its callers' too (put_page() reaching
    free_heap_pages())."""
    if own_external(fa, f):
        s = fa.summary_of(f.name)
        if s is not None and exported(s):
            out[f.name] = s


def exported(s: Summary | None) -> bool:
    """Whether a helper's summary goes to the other files.  One of locks
    taken and dropped only does: a caller in another file holding one of
    them deadlocks at the call as one in the helper's file does (XL010,
    issue 9 item 5).  One that only turns IRQs on does not: the lazy plan's
    text scans (lint/lazy.py) find exporters by the lock API's names, and
    such a helper names none; its file's own callers are checked (XL014),
    other files' are not."""
    return s is not None and any(e.action != IRQ_ON for e in s.effects)
