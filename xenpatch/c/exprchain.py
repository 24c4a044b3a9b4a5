"""An expression's type, first half: its root and steps, within one function.

``expr_chain`` turns an expression into a root (a local's declared type, a
global's or macro's name, a call, a per-CPU variable, the branches of a
``?:``) and a list of steps (``->f``, ``.f``, ``*``, ``[]``, ``&``);
xenpatch/c/types.py's ``TypeIndex.resolve`` walks them through the tree.
Xen's accessor macros that a #define body cannot explain are data
(rules/types.toml).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import TypeAlias

from tree_sitter import Node

from xenpatch.c import fields as fid
from xenpatch.c.source import SourceFile
from xenpatch.c.typefacts import _PRIMITIVE_WORDS, CType, Unknown, declarator_name, type_base


@dataclass(frozen=True)
class Call:
    """The value of a call: a function's return type, or a function-like macro's
    body with its parameters bound to the arguments' chains."""

    name: str
    args: tuple[TypeChain | Unknown, ...]


@dataclass(frozen=True)
class PerCpu:
    """A per-CPU variable named through an accessor (this_cpu(var), per_cpu(var, cpu))."""

    name: str


@dataclass(frozen=True)
class Choice:
    """c ? a : b"""

    options: tuple[TypeChain | Unknown, ...]


@dataclass(frozen=True)
class TypeChain:
    # A declared type; the name of a global or object-like macro to look up; a call;
    # a per-CPU variable; or the branches of a '?:'.
    root: Root
    steps: tuple[str, ...] = ()

    def then(self, step: str) -> TypeChain:
        return TypeChain(self.root, self.steps + (step,))


@dataclass(frozen=True)
class _Binding:
    name: str
    ctype: CType
    visible_from: int  # end of its declarator
    scope_start: int
    scope_end: int


class FunctionScope:
    """Parameters and locals of one function, with their block scopes."""

    def __init__(self, src: SourceFile, fn: Node) -> None:
        self.src = src
        self.fn = fn
        self._by_name: dict[str, list[_Binding]] = {}
        declarator = fn.child_by_field_id(fid.DECLARATOR)
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_id(fid.DECLARATOR)
        if declarator is not None:
            params = declarator.child_by_field_id(fid.PARAMETERS)
            for p in params.named_children if params is not None else ():
                if p.type == "parameter_declaration":
                    self._bind_decl(p, fn.start_byte, fn.end_byte)
        body = fn.child_by_field_id(fid.BODY)
        if body is not None:
            self._collect(body)

    def _bind_decl(self, decl: Node, scope_start: int, scope_end: int) -> None:
        base = type_base(self.src, decl.child_by_field_id(fid.TYPE))
        for d in decl.children_by_field_name("declarator"):
            name_node, ptr, is_func = declarator_name(d)
            if name_node is None:
                continue
            name = self.src.text(name_node)
            ctype = CType("fn") if is_func else CType(base, ptr)
            self._by_name.setdefault(name, []).append(
                _Binding(name, ctype, name_node.end_byte, scope_start, scope_end)
            )

    def _collect(self, body: Node) -> None:
        stack = [body]
        while stack:
            node = stack.pop()
            if node.type == "declaration":
                scope = node.parent
                while scope is not None and scope.type not in (
                    "compound_statement",
                    "for_statement",
                    "function_definition",
                ):
                    scope = scope.parent
                scope = scope or body
                self._bind_decl(node, scope.start_byte, scope.end_byte)
            stack.extend(node.named_children)

    def lookup(self, name: str, at: int) -> CType | None:
        best: _Binding | None = None
        for b in self._by_name.get(name, ()):
            visible = b.scope_start <= at < b.scope_end and b.visible_from <= at
            if visible and (best is None or b.scope_start >= best.scope_start):
                best = b
        return best.ctype if best is not None else None


Root: TypeAlias = "CType | str | Call | PerCpu | Choice"


class MacroScope:
    """A macro body's scope: its parameters stand for the arguments' chains."""

    def __init__(self, src: SourceFile, env: dict[str, TypeChain | Unknown]) -> None:
        self.src = src
        self.env = env

    def lookup(self, name: str, at: int) -> CType | None:
        return None


@dataclass(frozen=True)
class Idioms:
    """How Xen's accessor macros give an expression's type (rules/types.toml)."""

    transparent: frozenset[str]
    container_of: frozenset[str]
    percpu_accessors: frozenset[str]
    percpu_declarers: frozenset[str]


@cache
def idioms() -> Idioms:
    from xenpatch.paths import rules_dir

    data = tomllib.loads((rules_dir() / "types.toml").read_text(encoding="utf-8"))
    return Idioms(*(frozenset(data[k]) for k in ("transparent", "container_of",
                                                  "percpu_accessors", "percpu_declarers")))


_QUALIFIERS = frozenset({"const", "volatile", "restrict", "__restrict", "register", "static",
                         "extern", "__read_mostly"})


def type_from_text(text: str) -> CType | None:
    """A type written as text (a macro's type argument): 'const struct vcpu *' and the like."""
    ptr = text.count("*")
    words = [w for w in text.replace("*", " ").split() if w not in _QUALIFIERS]
    if not words:
        return None
    if words[0] in ("struct", "union") and len(words) == 2:
        return CType(" ".join(words), ptr)
    if words[0] == "enum":
        return CType("int", ptr)
    if len(words) == 1 or set(words) <= _PRIMITIVE_WORDS:
        return CType(" ".join(words), ptr)
    return None


def _is_null(chain: TypeChain | Unknown) -> bool:
    return isinstance(chain, TypeChain) and chain.root == CType("null") and not chain.steps


def expr_chain(scope: FunctionScope | MacroScope | None, node: Node) -> TypeChain | Unknown:
    """The root and steps of an expression's type, resolved later by a TypeIndex."""
    src = scope.src if scope is not None else None
    t = node.type
    if t == "parenthesized_expression":
        inner = next((c for c in node.named_children if c.type != "comment"), None)
        return expr_chain(scope, inner) if inner is not None else Unknown("empty parentheses")
    if t == "identifier":
        assert src is not None
        name = src.text(node)
        if isinstance(scope, MacroScope) and name in scope.env:
            return scope.env[name]
        if name == "NULL":
            return TypeChain(CType("null"))
        local = scope.lookup(name, node.start_byte) if scope is not None else None
        return TypeChain(local if local is not None else name)
    if t == "number_literal":
        assert src is not None
        return TypeChain(CType("null" if src.text(node) == "0" else "int"))
    if t == "conditional_expression":
        branches = [node.child_by_field_id(fid.ID[f]) for f in ("consequence", "alternative")]
        if any(b is None for b in branches):
            return Unknown("'?:' without both branches")
        return TypeChain(Choice(tuple(expr_chain(scope, b) for b in branches if b)))
    if t == "field_expression":
        arg = node.child_by_field_id(fid.ARGUMENT)
        fld = node.child_by_field_id(fid.FIELD)
        op = node.child_by_field_id(fid.OPERATOR)
        if arg is None or fld is None:
            return Unknown("malformed field expression")
        base = expr_chain(scope, arg)
        if isinstance(base, Unknown):
            return base
        assert src is not None
        op_text = src.text(op) if op is not None else "->"
        return base.then(("->" if op_text == "->" else ".") + src.text(fld))
    if t == "pointer_expression":
        arg = node.child_by_field_id(fid.ARGUMENT)
        op = node.child_by_field_id(fid.OPERATOR)
        if arg is None:
            return Unknown("malformed pointer expression")
        base = expr_chain(scope, arg)
        if isinstance(base, Unknown):
            return base
        assert src is not None
        return base.then("&" if op is not None and src.text(op) == "&" else "*")
    if t == "subscript_expression":
        arg = node.child_by_field_id(fid.ARGUMENT)
        if arg is None:
            return Unknown("malformed subscript")
        base = expr_chain(scope, arg)
        return base if isinstance(base, Unknown) else base.then("[]")
    if t == "cast_expression":
        assert src is not None
        tdesc = node.child_by_field_id(fid.TYPE)
        if tdesc is None:
            return Unknown("malformed cast")
        abstract = tdesc.child_by_field_id(fid.DECLARATOR)
        ptr = 0
        while abstract is not None and abstract.type == "abstract_pointer_declarator":
            ptr += 1
            abstract = abstract.child_by_field_id(fid.DECLARATOR)
        return TypeChain(CType(type_base(src, tdesc.child_by_field_id(fid.TYPE)), ptr))
    if t == "call_expression":
        assert src is not None
        fn = node.child_by_field_id(fid.FUNCTION)
        args = node.child_by_field_id(fid.ARGUMENTS)
        callee: str | None = src.text(fn) if fn is not None and fn.type == "identifier" else None
        arg_nodes = [c for c in args.named_children if c.type != "comment"] if args else []
        known = idioms()
        if callee in known.transparent and arg_nodes:
            return expr_chain(scope, arg_nodes[0])
        if callee in known.container_of and len(arg_nodes) == 3:
            # Masking fused 'struct page_info' into one identifier; the raw text has it.
            ctype = type_from_text(src.text(arg_nodes[1]))
            if ctype is None:
                return Unknown(f"container_of type '{src.text(arg_nodes[1])}' is not understood")
            return TypeChain(CType(ctype.base, ctype.ptr + 1))
        if callee in known.percpu_accessors and arg_nodes and arg_nodes[0].type == "identifier":
            return TypeChain(PerCpu(src.text(arg_nodes[0])))
        if callee is None:
            return Unknown(f"call through '{src.text(fn) if fn is not None else '?'}' "
                           "(function pointers are not followed)")
        return TypeChain(Call(callee, tuple(expr_chain(scope, a) for a in arg_nodes)))
    return Unknown(f"'{t}' expressions are not followed")
