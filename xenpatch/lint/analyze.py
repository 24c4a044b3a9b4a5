"""Lint one C file: find the functions that touch locks, summarise helpers,
run the held-lock dataflow with the checks, and turn raw findings into
reportable ones (with their path), minus suppressed ones.

Two passes over a file.  The first computes, on demand, the summary of every
helper a lock-touching function calls (file functions and header inlines),
and the per-node actions of every analysed function; these give the percpu
oracle its evidence.  The second runs the dataflow with the checks on.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from xenpatch.c.cfg import Cfg, CfgConfig, Kind, build_cfg, load_cfg_config
from xenpatch.c.masking import MacroTable, default_macro_table, load_macro_table
from xenpatch.c.source import (
    SourceError,
    SourceFile,
    function_name,
    functions,
    identifier_set,
    mentions_any,
    parse_bytes,
)
from xenpatch.lint import suppress
from xenpatch.lint.checks import (
    CHECKS,
    CheckObserver,
    PercpuOracle,
    RawFinding,
    RecordingObserver,
)
from xenpatch.lint.dataflow import Engine, Held, Result, State, TooManyStates
from xenpatch.lint.funcinfo import (
    NEG,
    NZ,
    POS,
    ZERO,
    FunctionInfo,
    OpAct,
    Resolved,
    TryAssignAct,
    collect,
    fill_actions,
    value_class,
)
from xenpatch.lint.headers import (
    HeaderIndex,
    header_index,
    macro_wrappers,
    object_macro_wrappers,
    percpu_members,
)
from xenpatch.lint.lockops import (
    Effect,
    LockTable,
    Wrapper,
    apply_aliases,
    lock_key,
    resolve,
    squash,
    substitute,
)
from xenpatch.lint.values import FileValues, ValueRules, file_values


@dataclass(frozen=True)
class Step:
    line: int
    col: int
    note: str


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    check: str
    message: str
    function: str
    flow: tuple[Step, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.check, self.message)


@dataclass(frozen=True)
class Summary:
    """What a helper does to its caller's locks; keys use $i for parameters."""

    effects: tuple[Effect, ...]
    conditional: str | None  # success class of a try-like helper
    guard: int | None = None  # effects happen iff this argument is true


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    functions: int = 0  # function definitions in the file
    analysed: int = 0  # lock-touching functions fully analysed
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (name, line, why)
    error: str | None = None
    parsed: bool = True  # False: the file names no lock API at all
    # What the file's external functions do to their callers' locks, for
    # the other files (see run.lint_files).
    exports: dict[str, Summary] = field(default_factory=dict)


@dataclass(frozen=True)
class LintConfig:
    table: LockTable
    cfg: CfgConfig
    macros: MacroTable
    enabled: frozenset[str]
    implementation: tuple[str, ...] = ()
    # From the conversion rules: percpu lock shape -> owner.
    rule_owners: tuple[tuple[tuple[str, str], str], ...] = ()
    values: ValueRules = ValueRules()

    @staticmethod
    def load(rules: Path | None = None) -> LintConfig:
        d = rules or lint_rules_dir()
        try:
            data = tomllib.loads((d / "lint.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{d / 'lint.toml'}: {exc}") from None
        enabled = frozenset(data.get("checks", {}).get("enabled", list(CHECKS)))
        unknown = enabled - set(CHECKS)
        if unknown:
            raise ValueError(f"{d / 'lint.toml'}: unknown check IDs {sorted(unknown)}")
        from xenpatch.lint.rulewrappers import load_rule_facts

        facts = load_rule_facts(d)
        table = _table(d)
        # The lock table's own wrappers win over a rule's.
        table = LockTable(table.ops, {**facts.wrappers, **table.wrappers})
        kinds = data.get("checks", {}).get("kinds", ["spin", "rw", "percpu"])
        table = table.without_kinds({"spin", "rw", "percpu", "rcu"} - set(kinds))
        return LintConfig(
            table,
            load_cfg_config(d / "lint.toml"),
            load_macro_table(d / "macros.toml") if (d / "macros.toml").is_file()
            else default_macro_table(),
            enabled,
            tuple(data.get("skip", {}).get("implementation", [])),
            tuple(sorted(facts.percpu_fields.items())),
            ValueRules.from_toml(data.get("values", {}), str(d / "lint.toml")),
        )


def lint_rules_dir() -> Path:
    from xenpatch.paths import rules_dir

    return rules_dir()


def _lock_reaching(table: LockTable) -> LockTable:
    """The table without wrappers whose chain never reaches an op."""
    good: dict[str, bool] = {}

    def reaches(name: str, depth: int = 0) -> bool:
        if name in table.ops:
            return True
        if name in good:
            return good[name]
        w = table.wrappers.get(name)
        good[name] = False  # cycles end here
        ok = w is not None and depth < 8 and reaches(w.target, depth + 1)
        good[name] = ok
        return ok

    return LockTable(table.ops, {n: w for n, w in table.wrappers.items() if reaches(n)})


def _table(d: Path) -> LockTable:
    from xenpatch.lint.lockops import load_lock_table

    return load_lock_table(d / "locks.toml")


_IDENT = re.compile(rb"[A-Za-z_]\w*")


@dataclass
class _Fn:
    src: SourceFile
    node: Node
    name: str
    cfg: Cfg | None = None
    info: FunctionInfo | None = None
    summary: Summary | None = None
    summarised: bool = False
    called: bool = False  # some other function of the file calls it
    drops: set[tuple[str, str]] = field(default_factory=set)  # shapes of callers' locks
    skip: str | None = None
    quiet: bool | None = None  # no lock effect possible (see FileAnalysis.is_quiet)
    # The summary's run, with its observer calls (pass 2 replays them).
    run_record: tuple[Result, RecordingObserver] | None = None


class FileAnalysis:
    def __init__(self, config: LintConfig, src: SourceFile, headers: HeaderIndex,
                 external: Mapping[str, Summary] | None = None) -> None:
        self.config = config
        self.src = src
        self.headers = headers
        wrappers = dict(headers.wrappers)
        wrappers.update(macro_wrappers(src.raw))
        objects = object_macro_wrappers(src.raw)
        wrappers.update(objects)
        # Only macros that end in a lock op are wrappers; the others would
        # just make every function that uses them look lock-relevant.
        self.table = _lock_reaching(config.table.with_wrappers(wrappers))
        # The other macros may still reach a helper with a summary:
        # get_gfn(d, g, t) is get_gfn_type(d, g, t, P2M_ALLOC).
        self.macro_calls = {
            n: w for n, w in wrappers.items() if n not in self.table.wrappers
        }
        # Summaries of other files' functions (a second pass over the tree).
        self.external: Mapping[str, Summary] = external or {}
        # Names used bare, as a statement: LOAD_UNLOCK;
        self.object_macros = frozenset(n for n in objects if n in self.table.wrappers)
        self.cfg_config = config.cfg.with_file_macros(src).with_arch(headers.arch)
        self.values = file_values(src, config.values)
        self.fns: dict[str, _Fn] = {}
        self.order: list[_Fn] = []
        for fn in functions(src.root):
            name = function_name(src, fn) or f"<anon@{src.line_of(fn.start_byte)}>"
            f = _Fn(src, fn, name)
            self.order.append(f)
            self.fns.setdefault(name, f)
        self.header_fns: dict[str, _Fn | None] = {}
        self.relevant_names: set[str] = set()
        self._rel_bytes: set[bytes] | None = None
        self._inline_rel: dict[str, bool] = {}
        self._macro_memo: dict[str, bool] = {}
        self._seeds: frozenset[bytes] | None = None
        self._idents: dict[int, frozenset[bytes] | set[bytes]] = {}
        self._direct: frozenset[bytes] = frozenset()
        self.in_progress: set[str] = set()
        self.noreturn: set[str] = set()

    # -- which functions matter ---------------------------------------------

    def relevant(self) -> list[_Fn]:
        names = set(self._seed_names())
        # Names that resolve on their own: the table's and other files'
        # helpers.  A header inline or macro among the seeds may still turn
        # out lock-free (rcu_unlock_domain() while the rcu kind is off).
        self._direct = frozenset(
            {n.encode() for n in self.table.names()}
            | {n.encode() for n in self.external if n not in self.fns}
        )
        idents = self._idents = {
            id(f): identifier_set(self.src.raw[f.node.start_byte : f.node.end_byte])
            for f in self.order
        }
        rel: set[int] = set()
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
                    if id(f) not in rel and idents[id(f)] & names:
                        rel.add(id(f))
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
        return [f for f in self.order if id(f) in rel]

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
            seeds = {n.encode() for n in self.table.names()} | {
                n.encode() for n in self.headers.locky
            } | {n.encode() for n in self.external if n not in self.fns}
            self._seeds = frozenset(seeds | {
                n.encode() for n, w in self.macro_calls.items() if w.target.encode() in seeds
            })
        return self._seeds

    # -- call resolution ------------------------------------------------------

    def resolver(self, name: str, args: list[str], target: str | None = None) -> Resolved | None:
        effects = resolve(self.table, name, args, target=target)
        if effects is not None:
            cond = "nz" if any(e.action == "try" for e in effects) else None
            w = self.table.wrappers.get(name)
            return Resolved(tuple(effects), cond, w.guard if w is not None else None)
        f = self.fns.get(name)
        if f is not None:
            f.called = True
        s = self.summary_of(name)
        if s is None:
            w = self.macro_calls.get(name)
            if w is not None and name not in self.in_progress and self.macro_reaches(name):
                self.in_progress.add(name)
                try:
                    r = self.resolver(w.target, [substitute(a, args) for a in w.args], target)
                finally:
                    self.in_progress.discard(name)
                return _through_macro(r, w)
        if s is None or not s.effects:
            return None
        effects = tuple(
            x for x in (_instantiate(e, args, target) for e in s.effects) if "$" not in x.key
        )
        if not effects:
            return None
        return Resolved(effects, s.conditional, s.guard)

    def may_resolve(self, name: str) -> bool:
        """False if ``resolver(name, ...)`` is None whatever the arguments.
        Does what the resolver does before it looks at them (marks the
        callee called, summarises it), so skipping the resolver is exact."""
        if name in self.table.ops or name in self.table.wrappers:
            return True
        f = self.fns.get(name)
        if f is not None:
            f.called = True
        s = self.summary_of(name)
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
            r = w.target in self.relevant_names or self._reaches(w.target)
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
            f.summarised = True
            if not self.is_quiet(f):
                self.summarise(f)
        return f.summary

    def is_quiet(self, f: _Fn) -> bool:
        """Can f not touch a lock?  It is relevant only through the file's
        functions, header inlines and macros it names (not the lock API nor
        another file's helper), and none of those has a lock effect, asked
        the way the resolver asks.  Such a function needs no CFG: preparing
        it would only find no lock operation in it (most "relevant"
        functions of a file are these)."""
        if f.quiet is None:
            ids = self._idents.get(id(f)) if f.src is self.src else None
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
        ids, callees = _inline_ids(self.headers, name)
        ok = not ids.isdisjoint(self._relevant_bytes()) or any(
            self._inline_relevant(i, depth + 1) for i in callees
        )
        self._inline_rel[name] = ok
        return ok

    def _relevant_bytes(self) -> set[bytes]:
        if self._rel_bytes is None:
            self._rel_bytes = {n.encode() for n in self.relevant_names} | self._seed_names()
        return self._rel_bytes

    def header_fn(self, name: str) -> _Fn | None:
        if name in self.header_fns:
            return self.header_fns[name]
        text = self.headers.inlines.get(name)
        found = None
        if text is not None:
            hsrc = _parse_header(name, text, self.config.macros)
            if hsrc is not None:
                for fn in functions(hsrc.root):
                    if function_name(hsrc, fn) == name:
                        found = _Fn(hsrc, fn, name)
                        break
        self.header_fns[name] = found
        return found

    # -- pass 1 ---------------------------------------------------------------

    def prepare(self, f: _Fn) -> None:
        """CFG and per-node actions of f (once)."""
        if f.cfg is not None or f.name in self.in_progress:
            return
        self.in_progress.add(f.name)
        try:
            cfg_config = self.cfg_config if f.src is self.src else (
                self.config.cfg.with_arch(self.headers.arch))
            f.cfg = build_cfg(f.src, f.node, f.name, cfg_config)
            if not f.cfg.complete:
                f.skip = "; ".join(f.cfg.problems) or "incomplete parse"
                return
            f.info = collect(f.src, f.node, f.name)
            mine = f.src is self.src
            fill_actions(f.src, f.cfg, f.info, self.resolver,
                         self.object_macros if mine else frozenset(),
                         self.values if mine else FileValues(self.config.values),
                         self.may_resolve)
        finally:
            self.in_progress.discard(f.name)

    def summarise(self, f: _Fn) -> None:
        """f's summary, for its callers: a dataflow run without checks.
        Only functions some other function calls pay for it."""
        self.prepare(f)
        if f.cfg is None or f.info is None or f.skip is not None or not f.info.relevant:
            return
        if f.name in self.in_progress:
            return
        self.in_progress.add(f.name)
        try:
            rec = RecordingObserver()
            res = self._engine(f, rec)
            if res is not None:
                f.summary, _ = exit_analysis(f, res)
                f.run_record = (res, rec)
        finally:
            self.in_progress.discard(f.name)

    @staticmethod
    def _engine(f: _Fn, obs: CheckObserver | RecordingObserver | None) -> Result | None:
        assert f.cfg is not None and f.info is not None
        try:
            return Engine(f.cfg, f.info, obs).run()
        except TooManyStates:
            if obs is not None:
                obs.findings.clear()
            try:
                return Engine(f.cfg, f.info, obs, path_sensitive=False).run()
            except TooManyStates:
                f.skip = "too many lock states"
                return None

    # -- pass 2 ---------------------------------------------------------------

    def run(self, result: FileResult) -> None:
        rel = self.relevant()
        for f in rel:
            if not self.is_quiet(f):
                self.prepare(f)
        oracle = self.oracle(rel)
        done: list[tuple[_Fn, Result, list[RawFinding]]] = []
        for f in rel:
            if f.quiet and f.cfg is None:
                result.analysed += 1  # as one whose actions turn out lock-free
                continue
            if f.skip is not None or f.cfg is None or f.info is None:
                continue
            if not f.info.relevant:
                result.analysed += 1
                continue
            obs = CheckObserver(oracle, _shape_fn(f.info), self.config.enabled)
            if f.run_record is not None:
                res, rec = f.run_record
                rec.replay(obs)
            else:
                res = self._engine(f, obs)
            if res is None:
                continue
            result.analysed += 1
            # Caller's locks this function drops on some path: the other half
            # of an enter/leave pair may drop only conditionally.
            shape = _shape_fn(f.info)
            for k in res.entry_keys:
                if any(a.get(k) is None for lst in res.exits.values() for a, _ in lst):
                    f.drops.add(shape(k))
            done.append((f, res, list(obs.findings.values())))
            # The table's names are known everywhere already.
            if f.src is self.src and not _is_static(f) and f.name not in self.table.ops \
                    and f.name not in self.table.wrappers:
                if not f.summarised:
                    f.summarised = True
                    f.summary, _ = exit_analysis(f, res)
                if f.summary is not None and f.summary.effects:
                    result.exports[f.name] = f.summary
        for f in rel:
            if f.skip is not None:
                result.skipped.append((f.name, self.src.line_of(f.node.start_byte), f.skip))
        found: list[Finding] = []
        for f, res, raws in done:
            if "XL001" in self.config.enabled or "XL003" in self.config.enabled:
                _, leaks = exit_analysis(f, res, self.paired_shapes(f))
                raws.extend(r for r in leaks if r.check in self.config.enabled)
            for r in raws:
                found.append(self.finding(f, res, r))
        result.findings.extend(found)

    def paired_shapes(self, me: _Fn) -> frozenset[tuple[str, str]]:
        """Lock shapes other functions of the file release without taking
        them: the other half of an enter/leave pair."""
        out: set[tuple[str, str]] = set()
        for f in self.order:
            if f is not me:
                out |= f.drops
        return frozenset(out)

    def oracle(self, rel: list[_Fn]) -> PercpuOracle:
        o = PercpuOracle()
        # A rule's owner is the expected one, but only for locks the file
        # shows to be percpu (an unconverted tree's rwlock_t is not).
        o.owner_init.update(dict(self.config.rule_owners))
        for f in rel:
            if f.info is None:
                continue
            shape = _shape_fn(f.info)
            for acts in f.info.acts:
                for a in acts:
                    if isinstance(a, OpAct) and a.effect.kind == "percpu" and (
                        a.effect.action in ("acquire", "release", "init")
                    ):
                        e = a.effect
                        o.add_use(shape(e.key), e.key, e.owner, e.action == "init")
        for m in re.finditer(
            rb"DEFINE_PERCPU_RWLOCK_RESOURCE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)", self.src.raw
        ):
            k = m.group(1).decode()
            o.add_use(("", k), k, m.group(2).decode(), True)
        o.shapes |= percpu_members(self.src.raw) | self.headers.percpu_fields
        return o

    def finding(self, f: _Fn, res: Result, r: RawFinding) -> Finding:
        flow: list[Step] = []
        if r.state is not None:
            nodes = res.path(r.node, r.state)
            if r.acq_site >= 0 and r.acq_site in nodes:
                start = len(nodes) - 1 - nodes[::-1].index(r.acq_site)
                nodes = nodes[start:]
            flow = _steps(self.src, f.cfg, nodes)
        return Finding(self.src.path, r.line, r.col, r.check, r.message, f.name, tuple(flow))


def _steps(src: SourceFile, cfg: Cfg | None, nodes: list[int]) -> list[Step]:
    if cfg is None:
        return []
    out: list[Step] = []
    for i, n in enumerate(nodes):
        node = cfg.nodes[n]
        if node.kind in (Kind.ENTRY, Kind.EXIT) or (node.kind is Kind.NOP and node.ast is None
                                                    and node.line == 0):
            continue
        if node.kind is Kind.COND and i + 1 < len(nodes):
            taken = nodes[i + 1]
            which = "true" if taken == node.succ[0] else "false"
            note = f"'{_short(src, node.ast)}' is {which}"
        elif node.kind is Kind.RETURN:
            line = src.line_text(node.line)[node.col - 1 :] if node.line else ""
            note = "returns" if line.lstrip().startswith("return") else "falls off the end"
        elif node.kind is Kind.NOP:
            continue
        elif node.kind is Kind.COND:
            note = f"'{_short(src, node.ast)}'"
        else:
            note = _short(src, node.ast) if node.ast is not None else node.kind.value
        step = Step(node.line, node.col, note)
        if out and out[-1].line == step.line and out[-1].note == step.note:
            continue
        out.append(step)
    return out


def _short(src: SourceFile, n: Node | None) -> str:
    if n is None:
        return ""
    t = " ".join(src.text(n).split())
    return t if len(t) <= 60 else t[:57] + "..."


def _shape_fn(info: FunctionInfo):
    def shape(key: str) -> tuple[str, str]:
        m = re.match(r"^\*?([A-Za-z_]\w*)", key)
        if m is None:
            return ("", key)
        head = m.group(1)
        t = info.param_types.get(head) or info.local_types.get(head)
        if t is None:
            return ("", key)
        t = re.sub(r"^(const|volatile)", "", t)
        return (t, key[m.end() :])

    return shape


_HEADER_CACHE: dict[str, SourceFile | None] = {}


def _parse_header(name: str, text: bytes, macros: MacroTable) -> SourceFile | None:
    """Parse one header inline on its own: far cheaper than its header."""
    if name not in _HEADER_CACHE:
        try:
            _HEADER_CACHE[name] = parse_bytes(f"<inline {name}>.h", text, macros)
        except SourceError:
            _HEADER_CACHE[name] = None
    return _HEADER_CACHE[name]


# -- exits: leaks and summaries ------------------------------------------------


def _templ(key: str, info: FunctionInfo, ret_var: str | None = None) -> str | None:
    """A key in terms of parameters ($i) and of the returned value ($ret),
    or None if it names a local."""
    m = re.match(r"^(\*?)([A-Za-z_]\w*)", key)
    if m is None:
        # *(*lock) for a spinlock_t **lock parameter.
        m2 = re.fullmatch(r"\*\(\*([A-Za-z_]\w*)\)", key)
        if m2 and m2.group(1) in info.params:
            return f"**${info.params.index(m2.group(1))}"
        return _templ_inner(key, info)
    if m.group(2) not in info.params and m.group(2) not in info.locals and "(" in key:
        # An accessor's result: p2m_get_hostp2m(d)->lock.
        return _templ_inner(key, info)
    head = m.group(2)
    if head == ret_var:
        return f"{m.group(1)}$ret{key[m.end():]}"
    if head in info.params:
        return f"{m.group(1)}${info.params.index(head)}{key[m.end():]}"
    if head in info.locals:
        return None
    return key


_VAR = re.compile(r"(?<![.>\w$])[A-Za-z_]\w*")


def _templ_inner(key: str, info: FunctionInfo) -> str | None:
    """A key whose parameters sit inside it (``(p2m_get_hostp2m(d))->lock``)
    with each one as ``${i}``; None if it names a local."""
    names = set(_VAR.findall(key))
    if names & info.locals - set(info.params):
        return None

    def sub(m: re.Match[str]) -> str:
        v = m.group(0)
        return f"${{{info.params.index(v)}}}" if v in info.params else v

    return _VAR.sub(sub, key)


_INNER_PARAM = re.compile(r"\$\{(\d+)\}")


def _instantiate(e: Effect, args: list[str], target: str | None = None) -> Effect:
    def sub(t: str | None) -> str | None:
        if t is None or "$" not in t:
            return t
        if "${" in t:
            if any(int(i) >= len(args) for i in _INNER_PARAM.findall(t)):
                return t
            return squash(_INNER_PARAM.sub(lambda m: "(" + args[int(m.group(1))] + ")", t))
        mm = re.fullmatch(r"\*\*\$(\d+)", t)
        if mm is not None and int(mm.group(1)) < len(args):
            # **lock with &l passed: the lock *l.
            return lock_key(lock_key(args[int(mm.group(1))]).lstrip("*") or "?")
        m = re.match(r"^(\*?)\$(\d+|ret)(.*)$", t)
        if m is None:
            return t
        if m.group(2) == "ret":
            if target is None:
                return t
            arg = target
        else:
            i = int(m.group(2))
            if i >= len(args):
                return t
            arg = args[i]
        if m.group(1):
            return lock_key(arg) + m.group(3)
        a = squash(arg)
        if a.startswith("&") and m.group(3).startswith("->"):
            # (&x)->f is x.f
            return lock_key(a) + "." + m.group(3)[2:]
        return squash("(" + arg + ")" + m.group(3))

    return replace(e, key=sub(e.key) or e.key, owner=sub(e.owner))


def _ret_class(f: _Fn, node_id: int, st: State) -> str | None:
    assert f.cfg is not None and f.info is not None
    ast = f.cfg.nodes[node_id].ast
    if ast is None:
        return None
    c = value_class(f.src, ast)
    if c is not None:
        return c
    e = ast
    while e.type == "parenthesized_expression" and e.named_child_count == 1:
        e = e.named_children[0]
    if e.type == "identifier":
        v = st.fact(f.src.text(e))
        if v is not None:
            return v
    v = st.fact("$ret")
    return v


def _try_like(
    held_cls: set[str | None], free_cls: set[str | None], returns_pointer: bool
) -> str | None:
    """Success class if "held" exits and "free" exits differ by return value
    the way a trylock-style helper's do (held on success only).

    Unknown return values only count for pointer results (``return pg;``
    against ``return NULL;``): for an int, ``return rc;`` with the lock held
    is the classic leak, not a design."""
    if not held_cls or not free_cls:
        return None
    if held_cls == {ZERO} and free_cls <= {NEG, NZ, POS}:
        return "zero"
    ok_held = {POS, NZ, None} if returns_pointer else {POS, NZ}
    if ZERO not in held_cls and free_cls <= {ZERO, NEG} and held_cls <= ok_held:
        return "nz"
    return None


def _returns_pointer(f: _Fn) -> bool:
    d = f.node.child_by_field_name("declarator")
    return d is not None and d.type == "pointer_declarator"


_HELPER_NAME = re.compile(r"lock|acquire|grab|begin|enter|(?:^|_)get(?:_|$)", re.I)


def designed_helper(f: _Fn) -> bool:
    """May f return holding a lock it took on every path, by design?

    Yes for helpers: header inlines, functions named like a lock/get helper,
    and functions other code of the file calls (their callers then see the
    lock through f's summary, and a real leak shows up there).
    """
    if f.src.path.endswith(".h"):
        return True
    name = f.name.lower()
    if _HELPER_NAME.search(name) and "unlock" not in name:
        return True
    return f.called

def _returned_var(f: _Fn, exits: list[tuple[int, State, State]]) -> str | None:
    """The local every exit returns (``return act;``), if there is one."""
    assert f.cfg is not None and f.info is not None
    names = set()
    for n, after, _ in exits:
        ast = f.cfg.nodes[n].ast
        while ast is not None and ast.type == "parenthesized_expression":
            ast = ast.named_children[0] if ast.named_children else None
        if ast is not None and value_class(f.src, ast) == ZERO and not any(
            not h.entry for h in after.held
        ):
            continue  # return NULL; with nothing taken
        if ast is None or ast.type != "identifier":
            return None
        names.add(f.src.text(ast))
    if len(names) == 1:
        v = names.pop()
        return v if v in f.info.locals else None
    return None


def _guard_param(info: FunctionInfo, held: list[State], free: list[State]) -> int | None:
    """A parameter that is true on every path that took the lock and false
    on every path that did not: ``spin_lock_if(cond, l)``."""
    for i, p in enumerate(info.params):
        # Paths that return early without testing the flag (a NULL p2m in
        # _get_gfn_type_access()) do not make the helper less of a guard.
        if all(s.fact(p) in (NZ, POS, NEG) for s in held) and all(
            s.fact(p) in (ZERO, None) for s in free
        ) and any(s.fact(p) == ZERO for s in free):
            return i
    return None


def exit_analysis(
    f: _Fn, res: Result, paired: frozenset[tuple[str, str]] = frozenset()
) -> tuple[Summary | None, list[RawFinding]]:
    """Decide which locks held at exits are by design (and summarise them)
    and which are leaks (XL001 findings).

    By design: a helper that returns holding the lock on every path; one
    that holds it exactly when it returns success (trylock-like) or when a
    parameter is true (``spin_lock_if``); and a lock another function of the
    file releases without taking (``*_enter``/``*_leave`` pairs, given by
    ``paired`` as lock shapes).
    """
    assert f.info is not None and f.cfg is not None
    info = f.info
    exits = [(n, after, before) for n, lst in res.exits.items() for after, before in lst]
    if not exits:
        return None, []
    acquired: dict[str, Held] = {}
    for _, after, _ in exits:
        for h in after.held:
            if not h.entry:
                acquired.setdefault(h.key, h)
    shape = _shape_fn(info)
    helper = designed_helper(f)
    # A pair releases it: for a global lock the pair is unambiguous; for a
    # lock in a struct, any function dropping its caller's lock of that
    # type would match, so the function must look like a helper too.
    # The function must also leave the release to the pair: one that
    # releases the lock itself on some paths owns its discipline.
    released_here = {
        a.effect.key for acts in info.acts for a in acts
        if isinstance(a, OpAct) and a.effect.action == "release"
    }
    by_design: set[str] = {
        k for k in acquired
        if (sh := shape(k.rstrip("'"))) in paired and k.rstrip("'") not in released_here
        and ((not sh[0] and not _local_head(k, info)) or (sh[0] and helper))
    }
    conditional: str | None = None
    guard: int | None = None
    cond_keys: set[str] = set()
    for k in acquired:
        if helper and all(after.get(k) is not None for _, after, _ in exits):
            by_design.add(k)
    # Helpers like double_gt_lock: every exit holds some acquired lock of one
    # kind; the ones missing on a path are the same lock under another name.
    partial = set(acquired) - by_design
    if partial and helper and len(acquired) > 1 and not res.entry_keys:
        kinds = {(h.kind, h.mode) for h in acquired.values()}
        every = all(any(not h.entry for h in after.held) for _, after, _ in exits)
        if every and len(kinds) == 1:
            by_design |= partial
            partial = set()
    if partial:
        held_states = [a for _, a, _ in exits if any(a.get(k) is not None for k in partial)]
        free_states = [a for _, a, _ in exits if all(a.get(k) is None for k in partial)]
        mixed = any(
            0 < sum(a.get(k) is not None for k in partial) < len(partial)
            for _, a, _ in exits
        )
        if not mixed and free_states:
            held_cls = {
                _ret_class(f, n, a) for n, a, _ in exits
                if any(a.get(k) is not None for k in partial)
            }
            free_cls = {
                _ret_class(f, n, a) for n, a, _ in exits
                if all(a.get(k) is None for k in partial)
            }
            c = _try_like(held_cls, free_cls, _returns_pointer(f))
            g = _guard_param(info, held_states, free_states) if c is None else None
            if c is not None or g is not None:
                conditional, guard, cond_keys, partial = c, g, partial, set()
    leaks: list[RawFinding] = []
    seen: set[tuple[int, str]] = set()
    for n, after, before in exits:
        for h in after.held:
            if h.key in partial and (n, h.key.rstrip("'")) not in seen:
                seen.add((n, h.key.rstrip("'")))
                node = f.cfg.nodes[n]
                msg = CHECKS["XL001"].message.format(key=h.key.rstrip("'"), acq_line=h.line)
                leaks.append(RawFinding("XL001", n, before, node.line, node.col, h.key, msg,
                                        h.site))
    # IRQ-flavour swaps nobody settled by the exit (see Engine.release).
    for _n, after, before in exits:
        for k, v in after.facts:
            if not k.startswith("!swap:"):
                continue
            node_s, line_s, col_s, via, acq_via, key, site = v.split("|")
            if (int(node_s), "XL003:" + key) in seen:
                continue
            seen.add((int(node_s), "XL003:" + key))
            msg = CHECKS["XL003"].message.format(key=key, via=via, acq_via=acq_via)
            leaks.append(RawFinding("XL003", int(node_s), before, int(line_s), int(col_s), key,
                                    msg, int(site)))
    ret_var = _returned_var(f, exits)
    # Summary: entry locks released on every path, then what is acquired.
    # An unlock helper releasing one of several on each path (lgt, and rgt
    # unless it is the same table) releases them all, as double_gt_lock.
    released_any = {
        k for k in res.entry_keys if any(after.get(k) is None for _, after, _ in exits)
    }
    # An unlock helper's exits reached before any lock operation are its
    # "nothing to do" cases when the lock is the argument's: put_gfn() on a
    # domain that is not translated, whose get_gfn() took nothing either.
    # Not for a global lock: efi_rs_leave() releases efi_rs_lock only when
    # its pair efi_rs_enter() took it, which no summary says.
    per_object = any("$" in (_templ(k, info) or "") for k in released_any)
    loud = exits
    if released_any and not acquired and per_object:
        quiet = _quiet_exits(f)
        loud = [x for x in exits if x[0] not in quiet] or exits
    union_release = not acquired and all(
        any(after.get(k) is None for k in res.entry_keys) for _, after, _ in loud
    )
    effects: list[Effect] = []
    for k in sorted(res.entry_keys):
        if not all(after.get(k) is None for _, after, _ in loud) and not (
            union_release and k in released_any
        ):
            continue
        rels = {
            (a.effect.kind, a.effect.mode, a.effect.flavour): a.effect
            for acts in info.acts for a in acts
            if isinstance(a, OpAct) and a.effect.key == k and a.effect.action == "release"
        }
        t = _templ(k, info)
        if not rels or t is None:
            continue
        e0 = next(iter(rels.values()))
        mode, flavour = (e0.mode, e0.flavour) if len(rels) == 1 else ("", "any")
        if flavour in ("plain", "irq", "irqsave"):
            flavour = "any"  # the helper handles IRQ state its own way
        effects.append(Effect("release", e0.kind, mode, flavour, t,
                              _templ(e0.owner, info) if e0.owner else None, f.name,
                              inferred=True))
    for k in sorted(by_design | cond_keys):
        h = acquired[k]
        t = _templ(k.rstrip("'"), info, ret_var)
        if t is None:
            continue
        action = "try" if k in cond_keys and conditional is not None else "acquire"
        # How a helper masks IRQs is its business (pirq_spin_lock_irq_desc()
        # saves flags only when given somewhere to store them): callers may
        # release with any IRQ flavour.
        flavour = "any" if h.flavour in ("plain", "irq", "irqsave") else h.flavour
        effects.append(Effect(action, h.kind, h.mode, flavour, t,
                              _templ(h.owner, info) if h.owner else None, f.name,
                              inferred=True))
    if not effects and not acquired:
        cond_rel = _conditional_release(f, res, exits)
        if cond_rel is not None:
            return cond_rel, leaks
    if not effects:
        return None, leaks
    if cond_keys and not (by_design - cond_keys):
        if conditional is not None:
            return Summary(tuple(effects), conditional), leaks
        return Summary(tuple(effects), None, guard), leaks
    return Summary(tuple(effects), None), leaks


def _quiet_exits(f: _Fn) -> frozenset[int]:
    """Exits no path to which performs a lock operation."""
    assert f.cfg is not None and f.info is not None
    cfg, info = f.cfg, f.info
    preds: dict[int, list[int]] = {}
    for node in cfg.nodes:
        for x in node.succ:
            preds.setdefault(x, []).append(node.id)

    def locky(i: int) -> bool:
        br = info.branches[i] if i < len(info.branches) else None
        return (br is not None and br.try_op is not None) or any(
            isinstance(a, OpAct | TryAssignAct) for a in info.acts[i]
        )

    out = set()
    for node in cfg.nodes:
        if node.kind is not Kind.RETURN:
            continue
        seen, todo = {node.id}, [node.id]
        while todo:
            i = todo.pop()
            if locky(i):
                break
            for p in preds.get(i, ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        else:
            out.add(node.id)
    return frozenset(out)


def _conditional_release(
    f: _Fn, res: Result, exits: list[tuple[int, State, State]]
) -> Summary | None:
    """A helper that drops its caller's lock exactly when it fails
    (sched_wait_rendezvous_in() returns NULL having unlocked): a release
    that happens on the "zero" result, as a trylock's acquire happens on
    the non-zero one."""
    assert f.info is not None
    info = f.info
    partial = [
        k for k in sorted(res.entry_keys)
        if any(a.get(k) is None for _, a, _ in exits)
        and any(a.get(k) is not None for _, a, _ in exits)
    ]
    if not partial:
        return None
    freed = {_ret_class(f, n, a) for n, a, _ in exits if all(a.get(k) is None for k in partial)}
    kept = {_ret_class(f, n, a) for n, a, _ in exits if all(a.get(k) is not None for k in partial)}
    ok_kept = {POS, NZ, None} if _returns_pointer(f) else {POS, NZ}
    if freed == {ZERO} and kept and kept <= ok_kept:
        success = "zero"
    elif not _returns_pointer(f) and kept == {ZERO} and freed and freed <= {NEG, NZ}:
        # int helpers: 0 with the lock still held, -errno having dropped it
        # (vpci_msix_arch_print()).
        success = "nz"
    else:
        return None
    effects = []
    for k in partial:
        t = _templ(k, info)
        e0 = next((a.effect for acts in info.acts for a in acts if isinstance(a, OpAct)
                   and a.effect.key == k and a.effect.action == "release"), None)
        if t is None or e0 is None:
            return None
        effects.append(Effect("release", e0.kind, "", "any", t, None, f.name, inferred=True))
    return Summary(tuple(effects), success)


def _through_macro(r: Resolved | None, w: Wrapper) -> Resolved | None:
    """A guarded helper called through a macro: the guard names the helper's
    argument, which the macro fills in (``#define get_gfn_type_access(p, g,
    t, a, q, o) __get_gfn_type_access(p, g, t, a, q, o, 1)``)."""
    if r is None or r.guard is None:
        return r
    arg = w.args[r.guard].strip() if r.guard < len(w.args) else ""
    while arg.startswith("(") and arg.endswith(")"):
        arg = arg[1:-1].strip()
    m = re.fullmatch(r"\$(\d+)", arg)
    if m is not None:
        return replace(r, guard=int(m.group(1)))
    if re.fullmatch(r"[1-9]\d*[uUlL]*|true", arg):
        return replace(r, guard=None)
    return None  # 0/false: the helper takes nothing; anything else is unknown


def _is_static(f: _Fn) -> bool:
    return any(
        c.type == "storage_class_specifier" and f.src.text(c) == "static"
        for c in f.node.children
    )


def _local_head(key: str, info: FunctionInfo) -> bool:
    m = re.match(r"^\*?([A-Za-z_]\w*)", key)
    return m is not None and m.group(1) in info.locals


# -- entry point -------------------------------------------------------------------


def lint_source(src: SourceFile, config: LintConfig, path: Path | None,
                external: Mapping[str, Summary] | None = None) -> FileResult:
    result = FileResult(src.path)
    where = src.path.replace("\\", "/")
    if any(where == p or where.endswith("/" + p) for p in config.implementation):
        result.functions = len(functions(src.root))
        for fn in functions(src.root):
            name = function_name(src, fn) or "?"
            result.skipped.append((name, src.line_of(fn.start_byte), "implements the lock API"))
        return result
    headers = header_index(path) if path is not None else HeaderIndex(None)
    fa = FileAnalysis(config, src, headers, external)
    result.functions = len(fa.order)  # one per definition, as functions() finds them
    fa.run(result)
    result.findings = suppress.filter_findings(src, path, fa, result.findings)
    result.findings.sort(key=Finding.sort_key)
    return result


# Keyed by object identity: the config and the (cached, long-lived) indexes.
_SEEDS: dict[tuple[int, int], frozenset[bytes]] = {}


def _seed_names(config: LintConfig, headers: HeaderIndex) -> frozenset[bytes]:
    """Names whose presence makes a file worth parsing."""
    key = (id(config), id(headers))
    if key not in _SEEDS:
        table = _lock_reaching(config.table.with_wrappers(headers.wrappers))
        _SEEDS[key] = frozenset(
            n.encode() for n in (*table.names(), *headers.locky)
        )
    return _SEEDS[key]


def lint_file(path: Path, display: str, config: LintConfig,
              external: Mapping[str, Summary] | None = None) -> FileResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(display, error=f"{display}: {exc.strerror or exc}")
    # A file that names no lock operation, wrapper or lock helper (its own
    # macros would have to name one too) has nothing to check: skip its parse.
    seeds = _seed_names(config, header_index(path))
    if not mentions_any(raw, seeds) and not (
        external and mentions_any(raw, frozenset(n.encode() for n in external))
    ):
        return FileResult(display, parsed=False)
    try:
        src = parse_bytes(display, raw, config.macros)
    except SourceError as exc:
        if "not UTF-8" not in exc.reason:
            return FileResult(display, error=str(exc))
        # Xen has Latin-1 in a few comments (the console fonts): one '?' per
        # stray byte keeps every offset, and no lock API is spelled that way.
        clean = raw.decode("utf-8", errors="replace").encode("ascii", errors="replace")
        if len(clean) != len(raw):
            clean = bytes(b if b < 0x80 else 0x3F for b in raw)
        src = parse_bytes(display, clean, config.macros)
    return lint_source(src, config, path, external)


def calls_any(path: Path, names: frozenset[str]) -> bool:
    """Does the file name any of ``names``, or a header inline or macro of
    its tree that reaches one (pcidevs_lock() calls pcidevs_lock_unsafe())?
    The file is read again: cheaper than keeping every file's identifiers
    from the first pass."""
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    wanted = _reaching(header_index(path), names)
    # A substring test first: most files name none of a few dozen names.
    if not any(n in raw for n in wanted):
        return False
    return bool(set(_IDENT.findall(raw)) & wanted)


_INLINE_IDS: dict[tuple[int, str], tuple[frozenset[bytes], tuple[str, ...]]] = {}


def _inline_ids(headers: HeaderIndex, name: str) -> tuple[frozenset[bytes], tuple[str, ...]]:
    """The identifiers of a header inline's body, and the other inlines among
    them; once per process (every file of a directory shares its index)."""
    key = (id(headers), name)
    got = _INLINE_IDS.get(key)
    if got is None:
        text = headers.inlines[name]
        ids = frozenset(_IDENT.findall(text[text.find(b"{"):]))
        callees = tuple(sorted(
            d for i in ids if (d := i.decode()) in headers.inlines and d != name
        ))
        got = _INLINE_IDS[key] = (ids, callees)
    return got


_REACHING: dict[tuple[int, frozenset[str]], frozenset[bytes]] = {}


def _reaching(headers: HeaderIndex, names: frozenset[str]) -> frozenset[bytes]:
    key = (id(headers), names)
    if key not in _REACHING:
        found = {n.encode() for n in names}
        bodies: dict[bytes, frozenset[bytes] | set[bytes]] = {
            n.encode(): _inline_ids(headers, n)[0] for n in headers.inlines
        }
        bodies.update({n.encode(): {w.target.encode()} for n, w in headers.wrappers.items()})
        changed = True
        while changed:
            changed = False
            for n, ids in bodies.items():
                if n not in found and ids & found:
                    found.add(n)
                    changed = True
        _REACHING[key] = frozenset(found)
    return _REACHING[key]


__all__ = [
    "Finding", "FileResult", "LintConfig", "Step", "Summary", "lint_file", "lint_source",
    "exit_analysis", "apply_aliases",
]
