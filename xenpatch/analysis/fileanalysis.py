"""The analysis of one C file: which of its functions reach a lock, how a
call resolves (the lock table, wrappers, the summaries of the file's
functions, its headers' inlines and other files' helpers), and each
function's CFG, per-node facts and summary, computed on demand.

The lint (xenpatch.lint.filelint) runs its checks over the result; the
runtime's lock programs (xenpatch.runtime.cprograms) walk its functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from xenpatch.analysis import collective, flagbits, guardtests, loopmacros, noreturn, typesafe
from xenpatch.analysis.actions import fill_actions
from xenpatch.analysis.asserted import ASSERTS, asserted_held
from xenpatch.analysis.config import AnalysisConfig
from xenpatch.analysis.events import Resolved
from xenpatch.analysis.extmemo import of_mapping
from xenpatch.analysis.filetable import one_call_definitions, through_macro, without_stubs
from xenpatch.analysis.frees import Frees
from xenpatch.analysis.functions import (
    FunctionInfo,
    collect,
    collected,
    fresh_copy,
    with_path_macros,
)
from xenpatch.analysis.headers import (
    HeaderIndex,
    inline_ids,
    macro_functions,
    macro_wrappers,
    object_macro_wrappers,
    with_functions,
)
from xenpatch.analysis.kept import Fill, built_cfg, kept_summary, run_engine
from xenpatch.analysis.lockkeys import apply_aliases
from xenpatch.analysis.locktable import (
    DISCARDED,
    Effect,
    LockTable,
    Summary,
    Wrapper,
    held_unnamed,
    lock_reaching,
    resolve,
    returns_lock,
    substitute,
)
from xenpatch.analysis.pathstate import RecordingObserver
from xenpatch.analysis.takes import takes_summary
from xenpatch.analysis.templates import (
    instantiate,
    named_at_call,
    outs_at_call,
    template,
)
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import ZERO, FileValues, constant_macros, file_values
from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_args, call_name
from xenpatch.c.source import (
    SourceError,
    SourceFile,
    function_name,
    functions,
    identifier_set,
    parse_bytes,
)
from xenpatch.graphs import sccs


def wrapped_table(config: AnalysisConfig, base: LockTable, headers: HeaderIndex,
                  wrappers: dict[str, Wrapper]) -> LockTable:
    """``base`` with the wrappers the file and its headers define, those
    reaching no lock op left out.  A statement macro's bookkeeping is
    cleared against the assertions (ASSERT and the configuration's
    BUG_ON-like names) and the calls that never return."""
    return lock_reaching(base.with_wrappers(
        wrappers, ASSERTS | config.cfg.bug_on, config.cfg.noreturn | headers.noreturn))


class FileAnalysis:
    def __init__(self, config: AnalysisConfig, src: SourceFile, headers: HeaderIndex,
                 external: Mapping[str, Summary] | None = None) -> None:
        self.config = config
        self.src = src
        made = macro_functions(src.raw)
        # Functions the file writes through its own macros are its
        # helpers too, resolved as the headers' inlines are.
        self.headers = headers = with_functions(headers, made) if made else headers
        wrappers = dict(headers.wrappers)
        own_paths: dict[str, tuple[str, str, str]] = {}
        own = macro_wrappers(src.raw, own_paths)
        wrappers.update(own)
        objects = object_macro_wrappers(src.raw)
        wrappers.update(objects)
        # Macros whose body is an access path (pathmacros.py): the file's
        # own first, then its headers'.
        self.paths = {**headers.paths, **own_paths} if own_paths else headers.paths
        self.fns: dict[str, FunctionUnit] = {}
        self.order: list[FunctionUnit] = []
        for fn in functions(src.root):
            name = function_name(src, fn) or f"<anon@{src.line_of(fn.start_byte)}>"
            f = FunctionUnit(src, fn, name)
            self.order.append(f)
            self.fns.setdefault(name, f)
        # Only macros that end in a lock op are wrappers; the others would
        # just make every function that uses them look lock-relevant.
        base = without_stubs(config.table, headers, self.fns)
        if defined := one_call_definitions(base, self.fns):
            own.update(defined)
            wrappers.update(defined)
        if base is config.table and not own and not objects:
            # The headers' wrappers only (most files): the table is the
            # index's, worked out once for every file sharing it.
            self.table = headers.memo(("lock_reaching", base.value_key),
                                      lambda: wrapped_table(config, base, headers, wrappers))
            self._table_names: frozenset[bytes] | None = headers.memo(
                ("lock_reaching names", base.value_key),
                lambda: frozenset(n.encode() for n in self.table.names()))
        else:
            self.table = wrapped_table(config, base, headers, wrappers)
            self._table_names = None
        # The other macros may still reach a helper with a summary:
        # get_gfn(d, g, t) is get_gfn_type(d, g, t, P2M_ALLOC).  A statement
        # macro the table refused is no call of its lock call: unknown.
        self.macro_calls = {
            n: w for n, w in wrappers.items()
            if n not in self.table.wrappers and w.stated is None
        }
        if b"({" in src.raw:
            # The file's statement-expression macros, as the one call they
            # hand their parameters to (gfn_to_mfn_private()), where that is
            # the name's first definition in the file (an #else's one-call
            # form after it is another build's); one whose call is the lock
            # API's is stmtmacros.py's to read, or nobody's.
            # Imported here: most files define no such macro.
            from xenpatch.analysis.exprmacros import given_calls

            names = self.table.names()
            for n, w in given_calls(src.raw).items():
                if n not in names and w.target not in names:
                    self.macro_calls[n] = w
        # Summaries of other files' functions (a second pass over the tree).
        self.external: Mapping[str, Summary] = external or {}
        # The file's path under its tree's xen/ (the name the tree's facts
        # about one file use), "" when unknown.
        self.tree_path = ""
        # Names used bare, as a statement: LOAD_UNLOCK;
        self.object_macros = frozenset(n for n in objects if n in self.table.wrappers)
        self.cfg_config = noreturn.file_config(
            src, config.cfg.with_file_macros(src).with_arch(headers.arch), headers.noreturn)
        self._header_cfg_config = config.cfg.with_arch(headers.arch).with_noreturn(
            headers.noreturn)
        ts = typesafe.for_file(headers.root, headers.arch, src.raw)
        self.values = replace(file_values(src, config.values),
                              consts={**headers.consts, **constant_macros(src.raw),
                                      **dict.fromkeys(ts.sentinels, ZERO)},
                              eqs=ts.eqs,
                              exacts=typesafe.file_exacts(headers.root, headers.arch, src.raw),
                              elements=collective.file_elements(headers.root, headers.arch,
                                                                src.raw),
                              loops=loopmacros.file_loops(headers.root, headers.arch, src.raw),
                              masks=flagbits.Masks(headers.root, headers.arch, src.raw))
        # One object for one value while the parse is kept: the fills kept
        # on it (_filled) are of these values if they are these.
        got = src.derived.get("values")
        if got is not None and got == self.values:
            self.values = got
        else:
            src.derived["values"] = self.values
        self.header_fns: dict[str, FunctionUnit | None] = {}
        self.relevant_names: set[str] = set()
        self._rel_bytes: set[bytes] | None = None
        self._inline_rel: dict[str, bool] = {}
        self._macro_memo: dict[str, bool] = {}
        self._seeds: frozenset[bytes] | None = None
        self._idents: dict[FunctionUnit, frozenset[bytes] | set[bytes]] = {}
        self._cycle_heads: dict[str, FunctionUnit] | None = None
        self._direct: frozenset[bytes] = frozenset()
        self.in_progress: set[str] = set()
        self.noreturn: set[str] = set()
        self._frees = Frees(config.values.deallocators, self.fns, headers, self.header_fn)
        self._ext_bytes: frozenset[bytes] | None = None

    def function(self, name: str) -> FunctionUnit | None:
        """The file's (first) definition of ``name``."""
        return self.fns.get(name)

    # -- which functions matter ---------------------------------------------

    def relevant(self) -> list[FunctionUnit]:
        names = set(self._seed_names())
        # Names that resolve on their own: the table's and other files'
        # helpers.  A header inline or macro among the seeds may still turn
        # out lock-free (rcu_unlock_domain() while the rcu kind is off).
        self._direct = self._table_bytes() | self._external_bytes()
        # Each function's identifiers: of the text alone, kept on the parse
        # (frozen: every analysis of it shares them).
        per_fn: list[frozenset[bytes]] | None = self.src.derived.get("idents")
        if per_fn is None or len(per_fn) != len(self.order):
            per_fn = self.src.derived["idents"] = [
                frozenset(identifier_set(self.src.raw[f.node.start_byte : f.node.end_byte]))
                for f in self.order]
        idents = self._idents = dict(zip(self.order, per_fn, strict=True))
        rel: set[FunctionUnit] = set()
        # Only a header inline or a macro can reach a relevant name
        # (_reaches() is False for any other identifier): the fixpoint
        # below tries these few, not the file's thousands of identifiers.
        used: set[bytes] = {
            n for n in set().union(*idents.values())
            if (d := n.decode()) in self.headers.inlines or d in self.macro_calls
        }
        while True:
            changed = True
            while changed:
                changed = False
                for f in self.order:
                    if f not in rel and idents[f] & names:
                        rel.add(f)
                        names.add(f.name.encode())
                        changed = True
            self.relevant_names = {n.decode() for n in names}
            self._rel_bytes, self._inline_rel = None, {}
            # Header inlines and macros the file uses that reach a lock
            # only through a relevant function (get_gfn() -> get_gfn_type()
            # -> ... -> p2m_get_gfn_type_access() of p2m.c).
            extra = {
                n for n in used - names if self._reaches(n.decode())
            }
            if not extra:
                break
            names |= extra
        self.relevant_names = {n.decode() for n in names}
        self._rel_bytes, self._inline_rel = None, {}
        return [f for f in self.order if f in rel]

    def _reaches(self, name: str, depth: int = 0) -> bool:
        if name in self.headers.inlines:
            return self._inline_relevant(name, 0)
        w = self.macro_calls.get(name)
        if w is None or depth > 4:
            return False
        return w.target in self.relevant_names or self._reaches(w.target, depth + 1)

    def _seed_names(self) -> frozenset[bytes]:
        # Fixed once the file is read; asked again each time the relevant
        # names grow (_relevant_bytes).
        if self._seeds is None:
            seeds = self._table_bytes() | {
                n.encode() for n in self.headers.locky
            } | self._external_bytes()
            self._seeds = frozenset(seeds | {
                n.encode() for n, w in self.macro_calls.items() if w.target.encode() in seeds
            })
        return self._seeds

    def _table_bytes(self) -> frozenset[bytes]:
        """The table's names as bytes (shared by the files whose table is
        their headers' alone)."""
        if self._table_names is None:
            self._table_names = frozenset(n.encode() for n in self.table.names())
        return self._table_names

    def _external_bytes(self) -> frozenset[bytes]:
        """Other files' helpers the file does not define itself, as bytes
        (the tree's summaries name thousands: encoded once)."""
        if self._ext_bytes is None:
            ext = self.external
            every: frozenset[bytes] = of_mapping(
                ext, "names as bytes", lambda: frozenset(n.encode() for n in ext))
            mine = {n.encode() for n in self.fns if n in ext}
            self._ext_bytes = every - mine if mine else every
        return self._ext_bytes

    # -- call resolution ------------------------------------------------------

    def resolver(self, name: str, args: list[str], target: str | None = None) -> Resolved | None:
        """What a call does to locks; ``target``: the variable its result is
        stored in (locktable.DISCARDED: the statement drops it)."""
        if name in ASSERTS:
            return asserted_held(self.table, name, args)
        dropped = target == DISCARDED
        effects = resolve(self.table, name, args, target=None if dropped else target)
        if effects is None and dropped and returns_lock(self.table, name):
            # 4.1's statement macro pcpu_schedule_lock_irqsave(cpu, flags),
            # where the table describes today's, which returns the lock.
            return Resolved((held_unnamed(name),), None, None)
        if effects is not None:
            cond = next((e.success for e in effects if e.action == "try"), None)
            w = self.table.wrappers.get(name)
            return Resolved(tuple(effects), cond, w.guard if w is not None else None)
        f = self.fns.get(name)
        if f is not None:
            f.called = True
        s = self.summary_of(name)
        if s is None and f is not None and name in self.in_progress:
            s = self.recursion_summary(f)
        if s is None:
            w = self.macro_calls.get(name)
            if w is not None and name not in self.in_progress and self.macro_reaches(name):
                self.in_progress.add(name)
                try:
                    r = self.resolver(w.target, [substitute(a, args) for a in w.args], target)
                finally:
                    self.in_progress.discard(name)
                return through_macro(r, w)
        if s is None or not s.effects:
            return None
        bound = tuple(x for e in s.effects
                      if (x := named_at_call(instantiate(e, args, None if dropped else target),
                                              dropped)) is not None)
        if not bound:
            return None
        if s.test is not None:
            test = guardtests.bind(s.test, args)
            if test is None:
                # A call too short for the test: what it does is unknown.
                return Resolved(tuple(replace(e, action="unknown") for e in bound))
            if all(e.action == "release" for e in bound):
                # A release, unless the path knows its test false
                # (Engine.release()): the caller's own lock is released as
                # it always was.
                return Resolved(tuple(replace(e, when=test) for e in bound))
            return Resolved(bound, test=test)
        return Resolved(bound, s.conditional, s.guard, outs_at_call(s, args))

    def recursion_summary(self, f: FunctionUnit,
                          seen: frozenset[str] = frozenset()) -> Summary | None:
        """What a function calling itself (while it is being prepared) is
        known to do at the inner call: the locks its body takes through the
        lock API on every path, their identity carried through its
        parameters (issue 9, item 5).  A call of another function being
        prepared counts with that function's own recursion summary: the
        recursion through another function (a() calls b() calls a())."""
        info = collect(f.src, f.node, f.name)
        body = f.node.child_by_field_id(fid.BODY)
        takes: dict[str, Effect] = {}
        for n in body.named_children if body is not None else ():
            # Statements of the body itself: taken whatever the path, as
            # long as no earlier statement returns (checked below).
            if n.type in ("return_statement", "if_statement", "goto_statement",
                          "switch_statement", "labeled_statement"):
                break
            if n.type != "expression_statement":
                continue
            call = n.named_children[0] if n.named_child_count else None
            if call is None or call.type != "call_expression":
                continue
            name = call_name(f.src, call)
            args = [f.src.text(a) for a in call_args(call)]
            effs = resolve(self.table, name, args) if name else None
            g = self.fns.get(name) if name else None
            if effs is None and g is not None and name in self.in_progress \
                    and name not in seen and name != f.name:
                inner = self.recursion_summary(g, seen | {f.name})
                effs = [instantiate(e, args) for e in inner.effects] if inner else None
            for e in effs or ():
                if e.action not in ("acquire", "take"):
                    continue
                t = template(apply_aliases(e.key, info.aliases), info)
                if t is not None and t not in takes:
                    takes[t] = Effect("take", e.kind, e.mode, e.flavour, t, None, f.name,
                                      inferred=True)
        return Summary(tuple(takes.values()), None) if takes else None

    def frees(self, name: str) -> int | None:
        """The argument a call of ``name`` frees on every path (analysis/frees.py)."""
        return self._frees(name)

    def may_resolve(self, name: str) -> bool:
        """False if ``resolver(name, ...)`` is None whatever the arguments.
        Does what the resolver does before it looks at them (marks the
        callee called, summarises it), so skipping the resolver is exact."""
        if name in self.table.ops or name in self.table.wrappers or name in ASSERTS:
            return True
        f = self.fns.get(name)
        if f is not None:
            f.called = True
        s = self.summary_of(name)
        if s is None and f is not None and name in self.in_progress:
            return True  # recursion: see recursion_summary()
        if s is None:
            # get_gfn(): a macro of a helper (most macros reach nothing).
            return name in self.macro_calls and self.macro_reaches(name)
        return bool(s.effects)

    def macro_reaches(self, name: str) -> bool:
        """Does the macro ``name`` expand to a call that may lock (once the
        file's relevant functions are known)?"""
        r = self._macro_memo.get(name)
        if r is None:
            w = self.macro_calls[name]
            r = w.target in self.relevant_names or w.target in ASSERTS or \
                self._reaches(w.target)
            self._macro_memo[name] = r
        return r

    def summary_of(self, name: str) -> Summary | None:
        # A function whose text reaches no lock name has nothing to say.
        f = self.fns.get(name)
        if f is not None and name not in self.relevant_names:
            return None
        if f is None:
            if not self._inline_relevant(name, 0):
                return self.external.get(name)
            f = self.header_fn(name)
        if f is None:
            return self.external.get(name)
        if not f.summarised:
            if f.name in self.in_progress:
                return None  # being prepared (a recursion): summarised once done
            head = self._cycle_head(f)
            if head is not None:
                self.summary_of(head.name)
                if f.summarised:
                    return f.summary
            f.summarised = True
            if not self.is_quiet(f):
                self.summarise(f)
        return f.summary

    def is_quiet(self, f: FunctionUnit) -> bool:
        """Can f not touch a lock?  It is relevant only through the file's
        functions, header inlines and macros it names (not the lock API nor
        another file's helper), and none of those has a lock effect, asked
        the way the resolver asks.  Such a function needs no CFG: preparing
        it would only find no lock operation in it (most "relevant"
        functions of a file are these)."""
        if f.quiet is None:
            ids = self._idents.get(f) if f.src is self.src else None
            f.quiet = False
            if ids is not None and ids.isdisjoint(self._direct):
                me = f.name.encode()
                f.quiet = not any(
                    n != me and self.may_resolve(n.decode())
                    for n in sorted(ids & self._relevant_bytes())
                )
        return f.quiet

    def _inline_relevant(self, name: str, depth: int) -> bool:
        """Does a header inline reach a lock name, through other inlines
        (get_gfn_type_access -> _get_gfn_type_access -> a file function)?"""
        if name in self._inline_rel:
            return self._inline_rel[name]
        text = self.headers.inlines.get(name)
        if text is None or depth > 4:
            return False
        self._inline_rel[name] = False  # cycles
        ids, callees = inline_ids(self.headers, name)
        ok = not ids.isdisjoint(self._relevant_bytes()) or any(
            self._inline_relevant(i, depth + 1) for i in callees
        ) or any(
            # A macro standing for another inline's call (get_gfn_untyped()
            # calls get_gfn(d, g, &t), get_gfn_type((d), (g), (t), P2M_ALLOC)):
            # resolved so (macro_calls), so followed so.
            self._inline_relevant(w.target, depth + 1)
            for i in ids if (w := self.macro_calls.get(i.decode())) is not None
        )
        self._inline_rel[name] = ok
        return ok

    def _relevant_bytes(self) -> set[bytes]:
        if self._rel_bytes is None:
            self._rel_bytes = {n.encode() for n in self.relevant_names} | self._seed_names()
        return self._rel_bytes

    def header_fn(self, name: str) -> FunctionUnit | None:
        if name in self.header_fns:
            return self.header_fns[name]
        text = self.headers.inlines.get(name)
        found = None
        if text is not None:
            hsrc = _parse_header(self.config, name, text, self.headers.root)
            if hsrc is not None:
                for fn in functions(hsrc.root):
                    if function_name(hsrc, fn) == name:
                        found = FunctionUnit(hsrc, fn, name)
                        break
        self.header_fns[name] = found
        return found

    # -- what relevant() read (analysis/inert.py) ------------------------------

    def names_read(self, f: FunctionUnit) -> frozenset[bytes] | set[bytes] | None:
        """The identifiers of a function of the file as relevant() read
        them; None before it ran (or for another parse's function)."""
        return self._idents.get(f)

    def relevant_bytes(self) -> set[bytes]:
        """The names that make a function relevant (relevant()'s closure)."""
        return self._relevant_bytes()

    # -- pass 1 ---------------------------------------------------------------

    def prepare(self, f: FunctionUnit) -> None:
        """CFG and per-node actions of f (once)."""
        if f.cfg is not None or f.name in self.in_progress:
            return
        head = self._cycle_head(f)
        if head is not None:
            self.prepare(head)
            if f.cfg is not None:
                return
        self.in_progress.add(f.name)
        try:
            cfg_config = self.cfg_config if f.src is self.src else self._header_cfg_config
            f.cfg = built_cfg(f.src, f.node, f.name, cfg_config)
            if not f.cfg.complete:
                f.skip = "; ".join(f.cfg.problems) or "incomplete parse"
                return
            mine = f.src is self.src
            f.info = self._filled(f, self.object_macros if mine else frozenset(),
                                  self.values if mine else self.config.memo(
                                      ("header values",),
                                      lambda: FileValues(self.config.values)))
        finally:
            self.in_progress.discard(f.name)

    def _filled(self, f: FunctionUnit, objects: frozenset[str], fv: FileValues) -> FunctionInfo:
        """fill_actions() over f's collected facts.  Its input beyond f's
        text and CFG is the answers of the resolver, may_resolve() and
        frees(): a fill of the same function kept on its parse (the first
        pass over a tree, another file using the same header inline) is
        taken again when each of its questions, asked again in its order,
        gets the same answer (the fill would ask the same next question
        and do the same with the answer).  The questions are asked here as
        the fill would ask them, with their side effects (callees
        summarised, marked called)."""
        assert f.cfg is not None
        key = ("filled", f.node.start_byte, f.node.end_byte, f.name)
        kept: Fill | None = f.src.derived.get(key)
        nodes = None
        if kept is not None and kept.cfg is f.cfg and kept.values is fv \
                and kept.irq is self.config.irq and kept.objects == objects:
            if self._same_answers(kept.asked):
                f.runs = kept.runs
                return fresh_copy(kept.info)
            # Some answers differ: its nodes that get the same are taken
            # again (fill_actions()).
            nodes = kept.nodes
        info = self.path_aliased(f, collected(f.src, f.node, f.name), fv)
        # What the fill works out before its first question is kept on the
        # parse too: a fill asked again with other answers (a tree's second
        # pass, a header inline in another file) starts from it.
        pre: dict[Any, Any] = f.src.derived.setdefault(
            ("fill prelude", f.node.start_byte, f.node.end_byte, f.name), {})
        done = fill_actions(f.src, f.cfg, info, self.resolver, objects, fv, self.may_resolve,
                            self.config.irq, self.frees, pre, nodes)
        asked = tuple(q for n in done if n is not None for q in n[0])
        kept = f.src.derived[key] = Fill(f.cfg, fv, self.config.irq, objects, asked,
                                          fresh_copy(info), {}, tuple(done))
        f.runs = kept.runs
        return info

    def path_aliased(self, f: FunctionUnit, info: FunctionInfo,
                     fv: FileValues) -> FunctionInfo:
        """``info`` (collect()'s facts of f) with its locals assigned from a
        path macro made aliases (functions.with_path_macros()): in the
        file's own functions only (a header inline's fill is kept for every
        file sharing the header, whose path macros may differ)."""
        if f.src is self.src and self.paths:
            with_path_macros(f.src, info, self.paths, lambda n: not fv.rules.accessor(n))
            info.accessor_paths = self._accessor_paths(fv)
        return info

    def _accessor_paths(self, fv: FileValues) -> dict[str, tuple[str, str, str]]:
        got = self.src.derived.get("accessor paths")
        if got is None or got[0] is not fv.rules:
            got = self.src.derived["accessor paths"] = (fv.rules, {
                n: m for n, m in self.paths.items() if fv.rules.accessor(n)})
        return got[1]

    def _same_answers(self, asked: tuple[tuple[Any, ...], ...]) -> bool:
        for kind, answer, name, *rest in asked:
            if kind == "resolver":
                got: Any = self.resolver(name, list(rest[0]), rest[1])
            elif kind == "may_resolve":
                got = self.may_resolve(name)
            else:
                got = self.frees(name)
            if got != answer:
                return False
        return True

    def identifiers(self, f: FunctionUnit) -> frozenset[bytes] | set[bytes]:
        """The distinct identifiers of f's text (computed once for the
        file's own functions)."""
        got = self._idents.get(f)
        if got is None:
            got = identifier_set(f.src.raw[f.node.start_byte:f.node.end_byte])
        return got

    def _cycle_head(self, f: FunctionUnit) -> FunctionUnit | None:
        """The member a call cycle of the file's functions must be entered
        at, when f is another member and no member is under way.  Inside a
        cycle a callee still under way is known only by its recursion
        summary, so what each member's summary says depends on the member
        the cycle was entered at: entered always at its first definition,
        a hook run asking for one name and a run over the whole file agree."""
        if f.src is not self.src:
            return None
        if self._cycle_heads is None:
            heads: dict[str, FunctionUnit] = {}
            names = {n.encode(): g for n, g in self.fns.items()}

            def succ(g: FunctionUnit) -> list[FunctionUnit]:
                return [names[i] for i in self._idents.get(g, ()) if i in names]

            for comp in sccs(self.fns.values(), succ):
                if len(comp) > 1:
                    first = min(comp, key=lambda g: g.node.start_byte)
                    heads.update({g.name: first for g in comp})
            self._cycle_heads = heads
        head = self._cycle_heads.get(f.name)
        if head is None or head is f or head.summarised or head.cfg is not None:
            return None
        members = [n for n, h in self._cycle_heads.items() if h is head]
        if any(n in self.in_progress for n in members):
            return None
        return head

    def summarise(self, f: FunctionUnit) -> None:
        """f's summary, for its callers: a dataflow run without checks.
        Only functions some other function calls pay for it."""
        self.prepare(f)
        if f.skip is not None:
            # A helper that could not be analysed: what it does is unknown,
            # and so is every path of its callers through it (item 3).
            f.summary = _unknown_summary(f.name)
            return
        if f.cfg is None or f.info is None:
            return
        if not f.info.relevant:
            # Nothing to run, but the locks its callees take on every path
            # are taken during its run too (a() calls b() that locks).
            f.summary = takes_summary(f)
            return
        if f.name in self.in_progress:
            return
        self.in_progress.add(f.name)
        try:
            rec = RecordingObserver()
            res = run_engine(f, rec)
            if res is not None:
                f.summary = kept_summary(f, res)
                f.run_record = (res, rec)
            else:
                f.summary = _unknown_summary(f.name)
        finally:
            self.in_progress.discard(f.name)


def _unknown_summary(name: str) -> Summary:
    return Summary((held_unnamed(name),), None)


def _parse_header(config: AnalysisConfig, name: str, text: bytes,
                  root: Path | None) -> SourceFile | None:
    """Parse one header inline on its own: far cheaper than its header.
    Once per configuration (its macro table), tree and text: two
    architectures' headers may define one name two ways."""
    from xenpatch.c.masking import tree_table

    def make() -> SourceFile | None:
        macros = config.macros if root is None else tree_table(config.macros, root, lazy=True)
        try:
            return parse_bytes(f"<inline {name}>.h", text, macros)
        except SourceError:
            return None

    return config.memo(("inline", name, text, root), make)
