"""Control flow of one C function, built from the tree-sitter tree.

Each CFG node is a statement-sized piece of the function: an expression
statement or declaration, one leaf of a short-circuit condition, a switch
head, a return (the place a path leaves the function), or a call that never
returns.  Edges of a condition leaf carry True/False so a client can act on
the branch taken (a trylock acquires only on its success edge).

The builder works backwards (each statement is built knowing its successor),
so sequencing needs no patching; only loop heads and goto labels are
placeholders filled in later.  A function whose body holds an ERROR node is
still built as far as it goes, but ``Cfg.complete`` is False and the caller
decides whether to trust it.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from pathlib import Path

from tree_sitter import Node

from xenpatch.c import fields as fid
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.source import SourceFile, directives, walk
from xenpatch.errors import XenpatchError


class Kind(Enum):
    ENTRY = "entry"
    STMT = "stmt"  # evaluate ast (calls, assignments), one successor
    COND = "cond"  # evaluate ast, then succ[0] if true, succ[1] if false
    SWITCH = "switch"  # evaluate ast, then any successor
    RETURN = "return"  # evaluate ast (may be None: falling off the end), leave
    ABORT = "abort"  # a call that never returns: the path ends here, not an exit
    NOP = "nop"  # joins, loop heads, labels
    EXIT = "exit"


@dataclass(slots=True)
class CfgNode:
    id: int
    kind: Kind
    ast: Node | None
    line: int
    col: int
    succ: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CfgConfig:
    """What the builder must know beyond C: calls that never return, and
    macros whose body hides a goto or a return."""

    noreturn: frozenset[str] = frozenset()
    # macro name -> (label argument index, or fixed label name; conditional?)
    goto_macros: dict[str, tuple[int | str, bool]] = field(default_factory=dict)
    # macro name -> conditional?
    return_macros: dict[str, bool] = field(default_factory=dict)
    # BUG_ON(cond)-style: never returns if the argument is true.
    bug_on: frozenset[str] = frozenset()
    # Per architecture, the preprocessor symbols its build defines (True) or
    # not (False): an #ifdef on one has a single side in that build.
    arch_symbols: dict[str, dict[str, bool]] = field(default_factory=dict)
    pp_known: dict[str, bool] = field(default_factory=dict)

    def with_arch(self, arch: str | None) -> CfgConfig:
        """The configuration of one architecture's build."""
        known = self.arch_symbols.get(arch or "", {})
        return replace(self, pp_known=known) if known != self.pp_known else self

    def with_noreturn(self, names: frozenset[str]) -> CfgConfig:
        """Add functions the tree declares or the file shows never return."""
        return self if names <= self.noreturn else replace(self, noreturn=self.noreturn | names)

    def with_file_macros(self, src: SourceFile) -> CfgConfig:
        """Add the goto/return macros ``#define``d in the file itself."""
        gotos, rets = file_flow_macros(src)
        if not gotos and not rets:
            return self
        return replace(
            self,
            goto_macros={**gotos, **self.goto_macros},
            return_macros={**rets, **self.return_macros},
        )


@dataclass
class Cfg:
    name: str
    nodes: list[CfgNode]
    entry: int
    exit: int
    complete: bool
    problems: list[str]
    # SWITCH node of an #if/#ifdef -> its condition (succ[0]: true side)
    pp_conds: dict[int, str] = field(default_factory=dict)
    # SWITCH node of a C switch -> the case value of each successor (None:
    # default, or no case matched), for facts like "space == XENMAPSPACE_gmfn"
    case_values: dict[int, list[Node | None]] = field(default_factory=dict)
    body: Node | None = None  # the function's compound statement
    # Each loop's head: every round of the loop passes it (a NOP node).
    loop_heads: frozenset[int] = frozenset()

    def node(self, i: int) -> CfgNode:
        return self.nodes[i]


class CfgConfigError(XenpatchError, ValueError):
    pass


def predecessors(cfg: Cfg) -> dict[int, list[int]]:
    """Each node's predecessors (a node none reaches is not a key)."""
    preds: dict[int, list[int]] = {}
    for n in cfg.nodes:
        for x in n.succ:
            preds.setdefault(x, []).append(n.id)
    return preds


def load_cfg_config(path: Path) -> CfgConfig:
    """Read the ``[cfg]`` table of a rules file (``rules/lint.toml``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("cfg", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CfgConfigError(f"{path}: {exc}") from None
    gotos: dict[str, tuple[int | str, bool]] = {}
    for name, spec in data.get("goto_macros", {}).items():
        if not isinstance(spec, dict) or not ({"label_arg", "label"} & spec.keys()):
            raise CfgConfigError(f"{path}: cfg.goto_macros.{name} needs label_arg or label")
        target = spec["label_arg"] if "label_arg" in spec else spec["label"]
        gotos[name] = (target, bool(spec.get("conditional", False)))
    rets: dict[str, bool] = {}
    for name, spec in data.get("return_macros", {}).items():
        rets[name] = bool(spec.get("conditional", False)) if isinstance(spec, dict) else False
    arch: dict[str, dict[str, bool]] = {}
    for name, symbols in data.get("arch", {}).items():
        if not isinstance(symbols, dict) or not all(
            isinstance(v, bool) for v in symbols.values()
        ):
            raise CfgConfigError(f"{path}: cfg.arch.{name} must map symbols to true/false")
        arch[name] = dict(symbols)
    return CfgConfig(
        frozenset(data.get("noreturn", [])), gotos, rets, frozenset(data.get("bug_on", [])),
        arch,
    )


_PP_SIMPLE = re.compile(
    r"(!?)\s*(?:defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)|IS_ENABLED\s*\(\s*(\w+)\s*\)|(\w+))"
)


def _pp_value(cond: str | None, known: dict[str, bool]) -> bool | None:
    """``defined(CONFIG_X86)``, ``!defined(X)``, ``IS_ENABLED(X)``, ``X``:
    its value in a build that defines exactly the ``known`` symbols so."""
    if cond is None or not known:
        return None
    m = _PP_SIMPLE.fullmatch(cond.strip())
    if m is None:
        return None
    sym = m.group(2) or m.group(3) or m.group(4) or m.group(5)
    if sym not in known:
        return None
    return known[sym] != bool(m.group(1))


_GOTO = re.compile(r"\bgoto\s+([A-Za-z_]\w*)")
_RETURN = re.compile(r"\breturn\b")
_COND = re.compile(r"\b(if|while|for|switch)\b|\?")


def file_flow_macros(
    src: SourceFile,
) -> tuple[dict[str, tuple[int | str, bool]], dict[str, bool]]:
    """Function-like macros of the file whose body jumps: ``PIN_FAIL(lbl, ...)``
    does ``goto lbl``.  Found from the text so no table has to list them."""
    if b"#define" not in src.raw:
        return {}, {}
    gotos: dict[str, tuple[int | str, bool]] = {}
    rets: dict[str, bool] = {}
    for m in directives(FN_DEFINE, src.raw):
        body = m.group(3).decode(errors="replace")
        if "goto" not in body and "return" not in body:
            continue
        name = m.group(1).decode()
        params = [p.strip() for p in m.group(2).decode().split(",")]
        cond = bool(_COND.search(body.replace("while ( 0 )", "").replace("while (0)", "")))
        g = _GOTO.search(body)
        if g:
            label = g.group(1)
            gotos[name] = (params.index(label) if label in params else label, cond)
        elif _RETURN.search(body):
            rets[name] = cond
    return gotos, rets


def call_name(src: SourceFile, call: Node) -> str | None:
    fn = call.child_by_field_id(fid.FUNCTION)
    if fn is None:
        return None
    while fn.type == "parenthesized_expression" and fn.named_child_count == 1:
        fn = fn.named_children[0]
    if fn.type == "identifier":
        return src.text(fn)
    return None


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_id(fid.ARGUMENTS)
    if args is None:
        return []
    return [a for a in args.named_children if a.type != "comment"]


def calls_in(node: Node) -> list[Node]:
    """Call expressions of an expression in evaluation order (inner calls,
    i.e. arguments, before the call that uses them)."""
    found: list[tuple[int, int, Node]] = []
    for n in walk(node):
        if n.type == "call_expression":
            found.append((n.end_byte, -n.start_byte, n))
    found.sort(key=lambda t: (t[0], t[1]))
    return [n for _, _, n in found]


@cache
def names_regex(names: frozenset[str]) -> re.Pattern[bytes] | None:
    """Finds text that may call one of ``names``: each as a word's end (a
    call of one has it as a word, so nothing is missed; the calls decide).
    Starting with the names lets the regex engine skip most bytes."""
    idents = sorted(n for n in names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))
    if not idents:
        return None
    alt = b"|".join(re.escape(n.encode()) for n in idents)
    return re.compile(rb"(?:" + alt + rb")(?![A-Za-z0-9_])")

# Branch hints that are the identity on their argument.
_IDENTITY_CALLS = frozenset({"likely", "unlikely", "__builtin_expect_true", "evaluate_nospec"})


class _Builder:
    def __init__(self, src: SourceFile, name: str, config: CfgConfig) -> None:
        self.src = src
        self.name = name
        self.config = config
        self.nodes: list[CfgNode] = []
        self.labels: dict[str, int] = {}
        self.defined_labels: set[str] = set()
        self.problems: list[str] = []
        self.exit = -1
        self.pp_conds: dict[int, str] = {}
        self.loop_heads: list[int] = []
        self.case_values: dict[int, list[Node | None]] = {}
        # Case labels below a switch's top level, with the node their
        # statements start at: the innermost switch around them jumps there.
        self.loose_cases: list[tuple[Node, int]] = []
        self.noreturn_re = names_regex(frozenset(config.noreturn))

    def new(self, kind: Kind, ast: Node | None, succ: list[int], at: Node | None = None) -> int:
        pos = at if at is not None else ast
        off = pos.start_byte if pos is not None else 0
        line, col = self.src.line_col(off)
        n = CfgNode(len(self.nodes), kind, ast, line, col, succ)
        self.nodes.append(n)
        return n.id

    def label(self, name: str) -> int:
        if name not in self.labels:
            self.labels[name] = self.new(Kind.NOP, None, [])
        return self.labels[name]

    def build(self, body: Node) -> Cfg:
        self.exit = self.new(Kind.EXIT, None, [])
        # Falling off the end is an exit at the closing brace.
        close = body.children[-1] if body.children else body
        fall = self.new(Kind.RETURN, None, [self.exit], at=close)
        first = self.stmt(body, fall, None, None)
        entry = self.new(Kind.ENTRY, None, [first], at=body)
        for name, nid in self.labels.items():
            if name not in self.defined_labels:
                self.problems.append(f"goto to undefined label '{name}'")
                # Treat as leaving the function so the path is not lost.
                self.nodes[nid].succ = [fall]
        complete = not body.has_error and not self.problems
        if body.has_error:
            for n in walk(body):
                if n.type == "ERROR" or n.is_missing:
                    line = self.src.line_of(n.start_byte)
                    self.problems.insert(0, f"unparsed code at line {line}")
                    break
        return Cfg(self.name, self.nodes, entry, self.exit, complete, self.problems,
                   self.pp_conds, self.case_values, body, frozenset(self.loop_heads))

    # -- statements -------------------------------------------------------

    def seq(self, items: list[Node], nxt: int, brk: int | None, cont: int | None) -> int:
        for child in reversed(items):
            nxt = self.stmt(child, nxt, brk, cont)
        return nxt

    def stmt(self, s: Node, nxt: int, brk: int | None, cont: int | None) -> int:
        t = s.type
        if t == "compound_statement":
            return self.seq(s.named_children, nxt, brk, cont)
        if t in ("expression_statement", "declaration"):
            return self.simple(s, nxt)
        if t == "if_statement":
            alt = s.child_by_field_id(fid.ALTERNATIVE)
            f = nxt
            if alt is not None:
                # tree-sitter-c wraps the else branch in an else_clause.
                f = self.stmt(alt, nxt, brk, cont)
            cons = s.child_by_field_id(fid.CONSEQUENCE)
            tr = self.stmt(cons, nxt, brk, cont) if cons is not None else nxt
            return self.cond(s.child_by_field_id(fid.CONDITION), tr, f)
        if t == "else_clause":
            return self.seq(s.named_children, nxt, brk, cont)
        if t == "while_statement":
            head = self.new(Kind.NOP, None, [], at=s)
            self.loop_heads.append(head)
            body_node = s.child_by_field_id(fid.BODY)
            assert body_node is not None  # a required field in tree-sitter-c's grammar
            body = self.stmt(body_node, head, nxt, head)
            self.nodes[head].succ = [self.cond(s.child_by_field_id(fid.CONDITION), body, nxt)]
            return head
        if t == "do_statement":
            head = self.new(Kind.NOP, None, [], at=s)
            self.loop_heads.append(head)
            test = self.new(Kind.NOP, None, [], at=s.child_by_field_id(fid.CONDITION))
            body_node = s.child_by_field_id(fid.BODY)
            assert body_node is not None  # a required field in tree-sitter-c's grammar
            body = self.stmt(body_node, test, nxt, test)
            self.nodes[test].succ = [self.cond(s.child_by_field_id(fid.CONDITION), head, nxt)]
            self.nodes[head].succ = [body]
            return head
        if t == "for_statement":
            return self.for_stmt(s, nxt)
        if t == "switch_statement":
            return self.switch(s, nxt, cont)
        if t == "break_statement":
            if brk is None:
                self.problems.append(f"break outside loop at line {self.src.line_of(s.start_byte)}")
                return nxt
            return self.new(Kind.NOP, None, [brk], at=s)
        if t == "continue_statement":
            if cont is None:
                self.problems.append(
                    f"continue outside loop at line {self.src.line_of(s.start_byte)}"
                )
                return nxt
            return self.new(Kind.NOP, None, [cont], at=s)
        if t == "goto_statement":
            lbl = s.child_by_field_id(fid.LABEL)
            assert lbl is not None  # a required field in tree-sitter-c's grammar
            return self.new(Kind.NOP, None, [self.label(self.src.text(lbl))], at=s)
        if t == "labeled_statement":
            lbl = s.child_by_field_id(fid.LABEL)
            assert lbl is not None  # a required field in tree-sitter-c's grammar
            name = self.src.text(lbl)
            self.defined_labels.add(name)
            nid = self.label(name)
            rest = [c for c in s.named_children if c.type != "statement_identifier"]
            self.nodes[nid].succ = [self.seq(rest, nxt, brk, cont)]
            self.nodes[nid].line = self.src.line_of(s.start_byte)
            return nid
        if t == "return_statement":
            expr = s.named_children[0] if s.named_children else None
            return self.new(Kind.RETURN, expr, [self.exit], at=s)
        if t == "case_statement":
            # A case label outside a switch's top level (Duff's device, or
            # do_domctl()'s "if ( ... ) { case X: d = NULL; break; }"): its
            # statements run in sequence, and its switch jumps to them.
            nid = self.seq(self.case_body(s), nxt, brk, cont)
            self.loose_cases.append((s, nid))
            return nid
        if t in ("preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"):
            return self.preproc(s, nxt, brk, cont)
        if t in ("comment", ";", "preproc_call", "preproc_def", "preproc_function_def",
                 "preproc_include", "type_definition", "function_definition",
                 "struct_specifier", "enum_specifier", "union_specifier"):
            return nxt
        if t == "attributed_statement":
            return self.seq(
                [c for c in s.named_children if c.type != "attribute_declaration"], nxt, brk, cont
            )
        if t == "ERROR":
            # Keep what can be seen: the ERROR's children may be statements.
            return self.seq(s.named_children, nxt, brk, cont) if s.named_children else nxt
        # Anything else (gnu asm, stray expression...) is one opaque step.
        return self.simple(s, nxt)

    def preproc(self, s: Node, nxt: int, brk: int | None, cont: int | None) -> int:
        # Both sides of an #if are possible builds: branch nondeterministically.
        body: list[Node] = []
        alt: Node | None = None
        for k, c in enumerate(s.children):
            fname = s.field_name_for_child(k)
            if fname == "alternative":
                alt = c
            elif fname not in ("condition", "name") and c.is_named and c.type != "comment":
                body.append(c)
        b = self.seq(body, nxt, brk, cont)
        if s.type == "preproc_else":
            # The #else of an #if whose condition the enclosing SWITCH tests:
            # its body is that side, not a further choice (a choice here made
            # the body optional, and two #ifdef X/#else pairs unrelated).
            return b
        a = self.stmt(alt, nxt, brk, cont) if alt is not None else nxt
        if a == b:
            return a
        cond = self.pp_condition(s)
        known = _pp_value(cond, self.config.pp_known)
        if cond == "0" or known is False:
            return a
        if cond == "1" or known is True:
            return b
        nid = self.new(Kind.SWITCH, None, [b, a], at=s)
        if cond is not None:
            # One build takes the same side of every #if on this condition.
            self.pp_conds[nid] = cond
        return nid

    def pp_condition(self, s: Node) -> str | None:
        if s.type in ("preproc_if", "preproc_elif"):
            # The masked text: where the masking decided the condition (a
            # switch the file defines, masking/conditionals.py), it says so.
            c = s.child_by_field_id(fid.CONDITION)
            return " ".join(self.src.masked_text(c).split()) if c is not None else None
        if s.type in ("preproc_ifdef", "preproc_elifdef"):
            name = s.child_by_field_id(fid.NAME)
            if name is None:
                return None
            neg = self.src.text(s.children[0]).strip().endswith("ndef")
            return ("!" if neg else "") + f"defined({self.src.text(name)})"
        return None

    def for_stmt(self, s: Node, nxt: int) -> int:
        init = s.child_by_field_id(fid.INITIALIZER)
        cond = s.child_by_field_id(fid.CONDITION)
        upd = s.child_by_field_id(fid.UPDATE)
        head = self.new(Kind.NOP, None, [], at=s)
        self.loop_heads.append(head)
        step = self.new(Kind.STMT, upd, [head], at=upd) if upd is not None else head
        body_node = s.child_by_field_id(fid.BODY)
        body = self.stmt(body_node, step, nxt, step) if body_node is not None else step
        self.nodes[head].succ = [self.cond(cond, body, nxt) if cond is not None else body]
        # for ( i = 0; i < NR_THINGS; i++ ) runs its body at least once: a
        # constant bound is positive.  Without this, a loop taking a lock of
        # each element and a loop releasing them look independent.
        first = head
        if self.counts_up_to_constant(init, cond):
            # The first test, whose false edge cannot be taken.
            dead = self.new(Kind.ABORT, None, [], at=cond)
            first = self.new(Kind.COND, cond, [body, dead])
            self.loop_heads.append(first)
        if init is not None:
            return self.new(Kind.STMT, init, [first], at=init)
        return first

    def counts_up_to_constant(self, init: Node | None, cond: Node | None) -> bool:
        if init is None or cond is None or cond.type != "binary_expression":
            return False
        m = re.fullmatch(r"(?:\w+\s+)?([A-Za-z_]\w*)\s*=\s*0", self.src.text(init).strip())
        if m is None:
            return False
        op = cond.child_by_field_id(fid.OPERATOR)
        left, right = cond.child_by_field_id(fid.LEFT), cond.child_by_field_id(fid.RIGHT)
        if op is None or op.type != "<" or left is None or right is None:
            return False
        if self.src.text(left) != m.group(1):
            return False
        bound = self.src.text(right)
        if right.type == "number_literal":
            return self.constant(right) is True
        return right.type == "identifier" and bound.isupper()

    def case_body(self, case: Node) -> list[Node]:
        value = case.child_by_field_id(fid.VALUE)
        return [c for c in case.named_children if c != value and c.type != "comment"]

    def switch(self, s: Node, nxt: int, cont: int | None) -> int:
        body = s.child_by_field_id(fid.BODY)
        assert body is not None  # a required field in tree-sitter-c's grammar
        cases = [c for c in body.named_children if c.type == "case_statement"]
        # tree-sitter-c ends a case at an #ifdef in its body: what follows
        # (the #ifdef, and the case's statements after it) comes as the
        # switch body's own children, up to the next label.  They are that
        # case's, run after its own statements.
        tails: dict[int, list[Node]] = {}
        current: Node | None = None
        for c in body.named_children:
            if c.type == "case_statement":
                current = c
            elif current is not None and c.type != "comment":
                tails.setdefault(current.id, []).append(c)
        targets: list[int] = []
        values: list[Node | None] = []
        after = nxt
        has_default = False
        mark = len(self.loose_cases)
        for case in reversed(cases):
            after = self.seq(self.case_body(case) + tails.get(case.id, []), after, nxt, cont)
            targets.append(after)
            values.append(case.child_by_field_id(fid.VALUE))
            if values[-1] is None:
                has_default = True
        targets.reverse()
        values.reverse()
        # Labels nested in this switch's statements (a switch inside took
        # its own already).
        for case, entry in sorted(self.loose_cases[mark:], key=lambda x: x[0].start_byte):
            targets.append(entry)
            values.append(case.child_by_field_id(fid.VALUE))
            has_default |= values[-1] is None
        del self.loose_cases[mark:]
        if not has_default:
            targets.append(nxt)
            values.append(None)
        cond = s.child_by_field_id(fid.CONDITION)
        nid = self.new(Kind.SWITCH, cond, targets or [nxt], at=s)
        if targets:
            self.case_values[nid] = values
        return nid

    def simple(self, s: Node, nxt: int) -> int:
        """An expression statement or declaration; spot noreturn calls and
        macros hiding control flow."""
        kids = s.named_children if s.type == "expression_statement" else None
        expr = kids[0] if kids else None
        if expr is not None and expr.type == "call_expression":
            name = call_name(self.src, expr)
            if name is not None:
                flow = self.macro_flow(expr, name, s, nxt)
                if flow is not None:
                    return flow
                args = call_args(expr) if name in self.config.bug_on else []
                if len(args) == 1:
                    # BUG_ON(c): never returns when c holds, so past it c is false.
                    abort = self.new(Kind.ABORT, s, [])
                    return self.cond(args[0], abort, nxt)
        # Walk the statement only if a noreturn name appears in its text.
        text = self.src.raw[s.start_byte : s.end_byte]
        if self.noreturn_re is not None and self.noreturn_re.search(text):
            for call in calls_in(s):
                if call_name(self.src, call) in self.config.noreturn:
                    return self.new(Kind.ABORT, s, [])
        return self.new(Kind.STMT, s, [nxt])

    def macro_flow(self, call: Node, name: str, s: Node, nxt: int) -> int | None:
        if name in self.config.goto_macros:
            target, conditional = self.config.goto_macros[name]
            if isinstance(target, int):
                args = call_args(call)
                if target >= len(args) or args[target].type != "identifier":
                    return None
                label = self.src.text(args[target])
            else:
                label = target
            succ = [self.label(label)] + ([nxt] if conditional else [])
            if len(succ) == 1:
                return self.new(Kind.STMT, s, succ)
            return self.new(Kind.SWITCH, s, succ)
        if name in self.config.return_macros:
            ret = self.new(Kind.RETURN, s, [self.exit])
            if not self.config.return_macros[name]:
                return ret
            return self.new(Kind.SWITCH, None, [ret, nxt], at=s)
        return None

    # -- conditions -------------------------------------------------------

    def cond(self, c: Node | None, t: int, f: int) -> int:
        if c is None:
            return t
        while c.type in ("parenthesized_expression", "condition_clause") and c.named_child_count:
            inner = [x for x in c.named_children if x.type != "comment"]
            if len(inner) != 1:
                break
            c = inner[0]
        if c.type == "call_expression" and call_name(self.src, c) in _IDENTITY_CALLS:
            args = call_args(c)
            if len(args) == 1:
                return self.cond(args[0], t, f)
        if c.type == "binary_expression":
            op = c.child_by_field_id(fid.OPERATOR)
            optext = op.type if op is not None else ""
            left = c.child_by_field_id(fid.LEFT)
            right = c.child_by_field_id(fid.RIGHT)
            if optext == "&&":
                return self.cond(left, self.cond(right, t, f), f)
            if optext == "||":
                return self.cond(left, t, self.cond(right, t, f))
        if c.type == "unary_expression":
            op = c.child_by_field_id(fid.OPERATOR)
            if op is not None and op.type == "!":
                return self.cond(c.child_by_field_id(fid.ARGUMENT), f, t)
        const = self.constant(c)
        if const is not None:
            return t if const else f
        return self.new(Kind.COND, c, [t, f])

    def constant(self, c: Node) -> bool | None:
        if c.type in ("number_literal",):
            try:
                return int(self.src.text(c).rstrip("uUlL"), 0) != 0
            except ValueError:
                return None
        if c.type in ("true", "false"):
            return c.type == "true"
        if c.type == "identifier" and self.src.text(c) in ("true", "false"):
            return self.src.text(c) == "true"
        return None


def function_body(fn: Node) -> Node | None:
    return fn.child_by_field_id(fid.BODY)


def build_cfg(src: SourceFile, fn: Node, name: str, config: CfgConfig) -> Cfg:
    """Control flow of the function definition ``fn``.

    Never raises for odd code: a body tree-sitter could not parse, or one too
    deep to walk, yields ``complete=False`` with the reason in ``problems``.
    """
    body = function_body(fn)
    b = _Builder(src, name, config)
    if body is None:
        b.exit = b.new(Kind.EXIT, None, [])
        entry = b.new(Kind.ENTRY, None, [b.exit], at=fn)
        return Cfg(name, b.nodes, entry, b.exit, False, ["no body"])
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 20000))
        return b.build(body)
    except RecursionError:
        b2 = _Builder(src, name, config)
        b2.exit = b2.new(Kind.EXIT, None, [])
        entry = b2.new(Kind.ENTRY, None, [b2.exit], at=fn)
        return Cfg(name, b2.nodes, entry, b2.exit, False, ["nesting too deep"])
    finally:
        sys.setrecursionlimit(limit)
