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
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from xenpatch.c.cfg import Cfg, CfgConfig, Kind, build_cfg, load_cfg_config
from xenpatch.c.masking import MacroTable, default_macro_table
from xenpatch.c.source import SourceError, SourceFile, function_name, functions, parse_bytes
from xenpatch.lint import suppress
from xenpatch.lint.checks import CHECKS, CheckObserver, PercpuOracle, RawFinding
from xenpatch.lint.dataflow import Engine, Result, State, TooManyStates
from xenpatch.lint.funcinfo import (
    NEG,
    NZ,
    POS,
    ZERO,
    FunctionInfo,
    OpAct,
    Resolved,
    collect,
    fill_actions,
    value_class,
)
from xenpatch.lint.headers import HeaderIndex, header_index, macro_wrappers
from xenpatch.lint.lockops import (
    Effect,
    LockTable,
    apply_aliases,
    default_lock_table,
    lock_key,
    resolve,
    squash,
)


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


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    functions: int = 0  # function definitions in the file
    analysed: int = 0  # lock-touching functions fully analysed
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (name, line, why)
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    """What a helper does to its caller's locks; keys use $i for parameters."""

    effects: tuple[Effect, ...]
    conditional: str | None  # success class of a try-like helper


@dataclass(frozen=True)
class LintConfig:
    table: LockTable
    cfg: CfgConfig
    macros: MacroTable
    enabled: frozenset[str]

    @staticmethod
    def load(rules: Path | None = None) -> LintConfig:
        from xenpatch.paths import rules_dir

        d = rules or rules_dir()
        data = tomllib.loads((d / "lint.toml").read_text(encoding="utf-8"))
        enabled = frozenset(data.get("checks", {}).get("enabled", list(CHECKS)))
        unknown = enabled - set(CHECKS)
        if unknown:
            raise ValueError(f"{d / 'lint.toml'}: unknown check IDs {sorted(unknown)}")
        return LintConfig(
            default_lock_table() if rules is None else _table(d),
            load_cfg_config(d / "lint.toml"),
            default_macro_table(),
            enabled,
        )


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
    skip: str | None = None


class FileAnalysis:
    def __init__(self, config: LintConfig, src: SourceFile, headers: HeaderIndex) -> None:
        self.config = config
        self.src = src
        self.headers = headers
        wrappers = dict(headers.wrappers)
        wrappers.update(macro_wrappers(src.raw))
        self.table = config.table.with_wrappers(wrappers)
        self.cfg_config = config.cfg.with_file_macros(src)
        self.fns: dict[str, _Fn] = {}
        self.order: list[_Fn] = []
        for fn in functions(src.root):
            name = function_name(src, fn) or f"<anon@{src.line_of(fn.start_byte)}>"
            f = _Fn(src, fn, name)
            self.order.append(f)
            self.fns.setdefault(name, f)
        self.header_fns: dict[str, _Fn | None] = {}
        self.in_progress: set[str] = set()
        self.noreturn: set[str] = set()

    # -- which functions matter ---------------------------------------------

    def relevant(self) -> list[_Fn]:
        names = {n.encode() for n in self.table.names()} | {
            n.encode() for n in self.headers.inlines
        }
        idents = {
            id(f): set(_IDENT.findall(self.src.raw[f.node.start_byte : f.node.end_byte]))
            for f in self.order
        }
        rel: set[int] = set()
        changed = True
        while changed:
            changed = False
            for f in self.order:
                if id(f) not in rel and idents[id(f)] & names:
                    rel.add(id(f))
                    names.add(f.name.encode())
                    changed = True
        return [f for f in self.order if id(f) in rel]

    # -- call resolution ------------------------------------------------------

    def resolver(self, name: str, args: list[str]) -> Resolved | None:
        effects = resolve(self.table, name, args)
        if effects is not None:
            cond = "nz" if any(e.action == "try" for e in effects) else None
            return Resolved(tuple(effects), cond)
        f = self.fns.get(name)
        if f is not None:
            f.called = True
        s = self.summary_of(name)
        if s is None or not s.effects:
            return None
        return Resolved(tuple(_instantiate(e, args) for e in s.effects), s.conditional)

    def summary_of(self, name: str) -> Summary | None:
        f = self.fns.get(name)
        if f is None:
            f = self.header_fn(name)
        if f is None:
            return None
        if not f.summarised:
            self.prepare(f)
            f.summarised = True
        return f.summary

    def header_fn(self, name: str) -> _Fn | None:
        if name in self.header_fns:
            return self.header_fns[name]
        path = self.headers.inlines.get(name)
        found = None
        if path is not None:
            hsrc = _parse_header(path, self.config.macros)
            if hsrc is not None:
                for fn in functions(hsrc.root):
                    if function_name(hsrc, fn) == name:
                        found = _Fn(hsrc, fn, name)
                        break
        self.header_fns[name] = found
        return found

    # -- pass 1 ---------------------------------------------------------------

    def prepare(self, f: _Fn) -> None:
        """CFG, actions and summary of f (once)."""
        if f.cfg is not None or f.name in self.in_progress:
            return
        self.in_progress.add(f.name)
        try:
            cfg_config = self.cfg_config if f.src is self.src else self.config.cfg
            f.cfg = build_cfg(f.src, f.node, f.name, cfg_config)
            if not f.cfg.complete:
                f.skip = "; ".join(f.cfg.problems) or "incomplete parse"
                return
            f.info = collect(f.src, f.node, f.name)
            fill_actions(f.src, f.cfg, f.info, self.resolver)
            if not f.info.relevant:
                return
            try:
                res = Engine(f.cfg, f.info, None).run()
            except TooManyStates:
                try:
                    res = Engine(f.cfg, f.info, None, path_sensitive=False).run()
                except TooManyStates:
                    f.skip = "too many lock states"
                    return
            f.summary, _ = exit_analysis(f, res)
        finally:
            self.in_progress.discard(f.name)

    # -- pass 2 ---------------------------------------------------------------

    def run(self, result: FileResult) -> None:
        rel = self.relevant()
        for f in rel:
            self.prepare(f)
        oracle = self.oracle(rel)
        found: list[Finding] = []
        for f in rel:
            if f.skip is not None:
                result.skipped.append((f.name, self.src.line_of(f.node.start_byte), f.skip))
                continue
            if f.cfg is None or f.info is None:
                continue
            result.analysed += 1
            if not f.info.relevant:
                continue
            obs = CheckObserver(oracle, _shape_fn(f.info), self.config.enabled)
            try:
                res = Engine(f.cfg, f.info, obs).run()
            except TooManyStates:
                obs = CheckObserver(oracle, _shape_fn(f.info), self.config.enabled)
                try:
                    res = Engine(f.cfg, f.info, obs, path_sensitive=False).run()
                except TooManyStates:
                    result.analysed -= 1
                    result.skipped.append(
                        (f.name, self.src.line_of(f.node.start_byte), "too many lock states")
                    )
                    continue
            raws = list(obs.findings.values())
            if "XL001" in self.config.enabled:
                _, leaks = exit_analysis(f, res)
                raws.extend(leaks)
            for r in raws:
                found.append(self.finding(f, res, r))
        result.findings.extend(found)

    def oracle(self, rel: list[_Fn]) -> PercpuOracle:
        o = PercpuOracle()
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
        for m in re.finditer(rb"struct\s+(\w+)\s*\{([^{}]*)\}", self.src.raw):
            for fm in re.finditer(rb"percpu_rwlock_t\s+(\w+)\s*;", m.group(2)):
                o.shapes.add(("struct" + m.group(1).decode(), "->" + fm.group(1).decode()))
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
            note = "returns" if node.ast is not None else "falls off the end"
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


_HEADER_CACHE: dict[Path, SourceFile | None] = {}


def _parse_header(path: Path, macros: MacroTable) -> SourceFile | None:
    if path not in _HEADER_CACHE:
        try:
            _HEADER_CACHE[path] = parse_bytes(str(path), path.read_bytes(), macros)
        except (OSError, SourceError):
            _HEADER_CACHE[path] = None
    return _HEADER_CACHE[path]


# -- exits: leaks and summaries ------------------------------------------------


def _templ(key: str, info: FunctionInfo) -> str | None:
    """A key in terms of parameters ($i), or None if it names a local."""
    m = re.match(r"^(\*?)([A-Za-z_]\w*)", key)
    if m is None:
        return None
    head = m.group(2)
    if head in info.params:
        return f"{m.group(1)}${info.params.index(head)}{key[m.end():]}"
    if head in info.locals:
        return None
    return key


def _instantiate(e: Effect, args: list[str]) -> Effect:
    def sub(t: str | None) -> str | None:
        if t is None or "$" not in t:
            return t
        m = re.match(r"^(\*?)\$(\d+)(.*)$", t)
        if m is None:
            return t
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

    return Effect(e.action, e.kind, e.mode, e.flavour, sub(e.key) or e.key, sub(e.owner),
                  e.via, e.success)


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


def _try_like(held_cls: set[str | None], free_cls: set[str | None]) -> str | None:
    """Success class if "held" exits and "free" exits differ by return value
    the way a trylock-style helper's do (held on success only)."""
    if not held_cls or not free_cls:
        return None
    if held_cls == {ZERO} and free_cls <= {NEG, NZ, POS}:
        return "zero"
    if ZERO not in held_cls and free_cls <= {ZERO, NEG} and held_cls <= {POS, NZ, None}:
        return "nz"
    return None


_HELPER_NAME = re.compile(r"lock|acquire|grab|take|begin|start|enter|get|pin|hold", re.I)


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

def exit_analysis(f: _Fn, res: Result) -> tuple[Summary | None, list[RawFinding]]:
    """Decide which locks held at exits are by design (and summarise them)
    and which are leaks (XL001 findings)."""
    assert f.info is not None
    info = f.info
    exits = [(n, after, before) for n, lst in res.exits.items() for after, before in lst]
    if not exits:
        return None, []
    acquired: dict[str, object] = {}
    for _, after, _ in exits:
        for h in after.held:
            if not h.entry:
                acquired.setdefault(h.key, h)
    by_design: set[str] = set()
    conditional: str | None = None
    cond_keys: set[str] = set()
    helper = designed_helper(f)
    for k in acquired:
        held_at = [after.get(k) is not None for _, after, _ in exits]
        if all(held_at) and helper:
            by_design.add(k)
    # Helpers like double_gt_lock: every exit holds some acquired lock of one
    # kind; the ones missing on a path are the same lock under another name.
    partial = set(acquired) - by_design
    if partial:
        kinds = {(acquired[k].kind, acquired[k].mode) for k in acquired}  # type: ignore[attr-defined]
        every = all(any(not h.entry for h in after.held) for _, after, _ in exits)
        if every and helper and len(kinds) == 1 and not res.entry_keys:
            by_design |= partial
            partial = set()
    if partial:
        held_cls = {
            _ret_class(f, n, before if after is None else after)
            for n, after, before in exits
            if any(after.get(k) is not None for k in partial)
        }
        free_cls = {
            _ret_class(f, n, after)
            for n, after, _ in exits
            if all(after.get(k) is None for k in partial)
        }
        mixed = any(
            0 < sum(after.get(k) is not None for k in partial) < len(partial)
            for _, after, _ in exits
        )
        c = _try_like(held_cls, free_cls) if not mixed else None
        if c is not None:
            conditional = c
            cond_keys = partial
            partial = set()
    leaks: list[RawFinding] = []
    seen: set[tuple[int, str]] = set()
    for n, after, before in exits:
        for h in after.held:
            if h.key in partial and (n, h.key) not in seen:
                seen.add((n, h.key))
                node = f.cfg.nodes[n]  # type: ignore[union-attr]
                msg = CHECKS["XL001"].message.format(key=h.key, acq_line=h.line)
                leaks.append(RawFinding("XL001", n, before, node.line, node.col, h.key, msg,
                                        h.site))
    # Summary: entry locks released on every path, then what is acquired.
    effects: list[Effect] = []
    for k in sorted(res.entry_keys):
        if all(after.get(k) is None for _, after, _ in exits):
            e0 = next(
                (a.effect for acts in info.acts for a in acts
                 if isinstance(a, OpAct) and a.effect.key == k and a.effect.action == "release"),
                None,
            )
            t = _templ(k, info)
            if e0 is not None and t is not None:
                effects.append(Effect("release", e0.kind, e0.mode, e0.flavour, t,
                                      _templ(e0.owner, info) if e0.owner else None, f.name))
    for k in sorted(by_design | cond_keys):
        h = acquired[k]
        t = _templ(k, info)
        if t is None:
            continue
        effects.append(Effect("try" if k in cond_keys else "acquire", h.kind, h.mode,  # type: ignore[attr-defined]
                              h.flavour, t,  # type: ignore[attr-defined]
                              _templ(h.owner, info) if h.owner else None,  # type: ignore[attr-defined]
                              f.name))
    if cond_keys and not by_design:
        return Summary(tuple(effects), conditional), leaks
    return (Summary(tuple(effects), None) if effects else None), leaks


# -- entry point -------------------------------------------------------------------


def lint_source(src: SourceFile, config: LintConfig, path: Path | None) -> FileResult:
    result = FileResult(src.path)
    result.functions = len(functions(src.root))
    headers = header_index(path) if path is not None else HeaderIndex(None)
    fa = FileAnalysis(config, src, headers)
    fa.run(result)
    result.findings = suppress.filter_findings(src, path, fa, result.findings)
    result.findings.sort(key=Finding.sort_key)
    return result


def lint_file(path: Path, display: str, config: LintConfig) -> FileResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(display, error=f"{display}: {exc.strerror or exc}")
    try:
        src = parse_bytes(display, raw, config.macros)
    except SourceError as exc:
        return FileResult(display, error=str(exc))
    return lint_source(src, config, path)


__all__ = [
    "Finding", "FileResult", "LintConfig", "Step", "Summary", "lint_file", "lint_source",
    "exit_analysis", "apply_aliases",
]
