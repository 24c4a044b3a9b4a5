"""Type facts of C sources: struct fields, typedefs, globals and function scopes.

Facts are gathered per file (``file_facts``) and merged into a ``TypeIndex``
for the whole tree.  An expression's type is computed in two halves so that a
file can be analysed without the rest of the tree in memory: ``expr_chain``
turns an expression into a root (a local's declared type, or a global's name)
and a list of steps (``->f``, ``.f``, ``*``, ``[]``, ``&``); ``TypeIndex.resolve``
walks the steps through the tree's struct definitions.  Whatever cannot be
known comes back as ``Unknown`` with the reason, never as a guess.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, TypeAlias

from tree_sitter import Node

from xenpatch.c.source import SourceFile


@dataclass(frozen=True)
class CType:
    """A type reduced to what lock analysis needs: a base name and a pointer depth."""

    base: str  # "struct grant_table", "rwlock_t", "int", "fn" for function types
    ptr: int = 0

    def pointer(self) -> CType:
        return CType(self.base, self.ptr + 1)

    def deref(self) -> CType | None:
        return CType(self.base, self.ptr - 1) if self.ptr > 0 else None

    def __str__(self) -> str:
        return self.base + (" " + "*" * self.ptr if self.ptr else "")


@dataclass(frozen=True)
class Unknown:
    reason: str

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class FieldDecl:
    name: str
    ctype: CType
    type_start: int  # byte span of the field's type specifier
    type_end: int
    name_start: int  # byte offset of the declarator (where the name column is)
    decl_start: int  # the whole field_declaration
    decl_end: int
    # The #if lines the field sits under inside its struct, outermost first,
    # each written as the line that opens a block true exactly there.
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class StructDef:
    name: str  # "struct grant_table"
    path: str
    start: int  # struct keyword
    end: int  # byte after the closing brace
    statement_end: int  # byte after the ';' that ends the definition
    leading_comment_start: int  # start of comment lines directly above, else start
    fields: dict[str, FieldDecl]


@dataclass
class FileFacts:
    path: str
    structs: list[StructDef] = field(default_factory=list)
    typedefs: dict[str, CType] = field(default_factory=dict)
    globals: dict[str, CType] = field(default_factory=dict)
    returns: dict[str, CType] = field(default_factory=dict)  # function name -> return type
    function_names: set[str] = field(default_factory=set)  # defined here, with a body


# --- declarators --------------------------------------------------------------


_PTR_DECLARATORS = frozenset(
    {"pointer_declarator", "abstract_pointer_declarator", "array_declarator",
     "abstract_array_declarator"}
)


def declarator_name(node: Node | None) -> tuple[Node | None, int, bool]:
    """Unwrap a declarator: (name node, pointer depth it adds, is a function)."""
    ptr = 0
    is_func = False
    while node is not None:
        t = node.type
        if t in ("identifier", "field_identifier", "type_identifier"):
            return node, ptr, is_func
        if t in _PTR_DECLARATORS:
            ptr += 1
        elif t == "function_declarator":
            if not is_func:
                is_func = True
        elif t == "parenthesized_declarator":
            inner = next((c for c in node.named_children if c.type != "comment"), None)
            node = inner
            continue
        elif t not in ("init_declarator", "attributed_declarator"):
            return None, ptr, is_func
        node = node.child_by_field_name("declarator")
    return None, ptr, is_func


def _anon_name(kind: str, node: Node) -> str:
    return f"{kind} <anonymous@{node.start_byte}>"


def type_base(src: SourceFile, node: Node | None) -> str:
    """The base name of a type specifier node."""
    if node is None:
        return "?"
    t = node.type
    if t in ("struct_specifier", "union_specifier"):
        kind = "struct" if t == "struct_specifier" else "union"
        name = node.child_by_field_name("name")
        return f"{kind} {src.text(name)}" if name is not None else _anon_name(kind, node)
    if t == "enum_specifier":
        return "int"
    if t in ("primitive_type", "sized_type_specifier"):
        return " ".join(src.text(node).split())
    if t == "type_identifier":
        return src.text(node)
    if t == "macro_type_specifier":
        return "?typeof"
    return "?" + t


def _field_children(src: SourceFile, body: Node,
                    conds: tuple[str, ...] = ()) -> Iterator[tuple[Node, tuple[str, ...]]]:
    """field_declarations of a struct body, looking through #if blocks, each with
    the conditions it is under."""
    for child in body.named_children:
        if child.type == "field_declaration":
            yield child, conds
        elif child.type in ("preproc_if", "preproc_ifdef"):
            yield from _conditional(src, child, conds, ())


def _branch_condition(src: SourceFile, node: Node) -> tuple[str, str]:
    """(the #if line true in this branch, the one true where it is not)."""
    if node.type in ("preproc_ifdef", "preproc_elifdef"):
        name = node.child_by_field_name("name")
        word = src.text(node.children[0]).lstrip("#").strip()
        ident = src.text(name) if name is not None else "?"
        positive = word.endswith("ifdef")
        return ((f"#ifdef {ident}", f"#ifndef {ident}") if positive
                else (f"#ifndef {ident}", f"#ifdef {ident}"))
    cond = node.child_by_field_name("condition")
    text = " ".join(src.text(cond).split()) if cond is not None else "1"
    return f"#if {text}", f"#if !({text})"


def _conditional(src: SourceFile, node: Node, conds: tuple[str, ...],
                 negated: tuple[str, ...]) -> Iterator[tuple[Node, tuple[str, ...]]]:
    if node.type == "preproc_else":
        here = conds + negated
        alternative = None
    else:
        yes, no = _branch_condition(src, node)
        here = conds + negated + (yes,)
        alternative = node.child_by_field_name("alternative")
        negated = negated + (no,)
    for child in node.named_children:
        if child == alternative:
            continue
        if child.type == "field_declaration":
            yield child, here
        elif child.type in ("preproc_if", "preproc_ifdef"):
            yield from _conditional(src, child, here, ())
    if alternative is not None:
        yield from _conditional(src, alternative, conds, negated)


def leading_comment_start(src: SourceFile, start: int) -> int:
    """Start of the comment lines directly above ``start`` (no blank line between)."""
    line = src.line_of(start)
    first = line
    in_block = False
    while first > 1:
        text = src.line_text(first - 1).strip()
        if in_block:
            first -= 1
            if text.startswith("/*"):
                in_block = False
            continue
        if text.startswith("//") or (text.startswith("/*") and text.endswith("*/")):
            first -= 1
        elif text.endswith("*/"):
            first -= 1
            in_block = not text.startswith("/*")
        else:
            break
    return src.line_start(first) if first != line else src.line_start(line)


def _struct_def(src: SourceFile, spec: Node, name: str, facts: FileFacts) -> None:
    body = spec.child_by_field_name("body")
    if body is None:
        return
    fields: dict[str, FieldDecl] = {}
    for fd, conds in _field_children(src, body):
        ftype = fd.child_by_field_name("type")
        base = type_base(src, ftype)
        if ftype is not None and ftype.type in ("struct_specifier", "union_specifier"):
            inner = ftype.child_by_field_name("body")
            if inner is not None:
                inner_name = base
                _struct_def(src, ftype, inner_name, facts)
                if not fd.children_by_field_name("declarator"):
                    # An anonymous member: its fields are the parent's.
                    fields.update(facts.structs[-1].fields if facts.structs else {})
                    continue
        for decl in fd.children_by_field_name("declarator"):
            name_node, ptr, is_func = declarator_name(decl)
            if name_node is None:
                continue
            ctype = CType("fn", 0) if is_func else CType(base, ptr)
            fields[src.text(name_node)] = FieldDecl(
                src.text(name_node),
                ctype,
                ftype.start_byte if ftype is not None else fd.start_byte,
                ftype.end_byte if ftype is not None else fd.start_byte,
                decl.start_byte,
                fd.start_byte,
                fd.end_byte,
                conds,
            )
    parent = spec.parent
    top = spec
    if parent is not None and parent.type in ("declaration", "type_definition"):
        top = parent
    start = top.start_byte
    statement_end = top.end_byte
    if top is spec:
        semi = src.raw.find(b";", spec.end_byte)
        if semi != -1 and not src.raw[spec.end_byte : semi].strip():
            statement_end = semi + 1
    facts.structs.append(
        StructDef(
            name,
            src.path,
            start,
            spec.end_byte,
            statement_end,
            leading_comment_start(src, start),
            fields,
        )
    )


def _top_level_items(node: Node) -> Iterator[Node]:
    for child in node.named_children:
        if child.type.startswith("preproc_if") or child.type in ("preproc_else", "preproc_elif"):
            yield from _top_level_items(child)
        else:
            yield child


def _collect_specs(src: SourceFile, type_node: Node | None, facts: FileFacts) -> None:
    if type_node is None or type_node.type not in ("struct_specifier", "union_specifier"):
        return
    if type_node.child_by_field_name("body") is not None:
        _struct_def(src, type_node, type_base(src, type_node), facts)


def file_facts(src: SourceFile) -> FileFacts:
    """Struct definitions, typedefs, globals and function return types of one file."""
    facts = FileFacts(src.path)
    for item in _top_level_items(src.root):
        t = item.type
        if t == "function_definition":
            name_node, ptr, _ = declarator_name(item.child_by_field_name("declarator"))
            if name_node is not None:
                name = src.text(name_node)
                facts.function_names.add(name)
                facts.returns[name] = CType(type_base(src, item.child_by_field_name("type")), ptr)
            continue
        if t == "struct_specifier" or t == "union_specifier":
            _collect_specs(src, item, facts)
            continue
        if t not in ("declaration", "type_definition"):
            continue
        type_node = item.child_by_field_name("type")
        before = len(facts.structs)
        _collect_specs(src, type_node, facts)
        base = type_base(src, type_node)
        if t == "type_definition" and base.startswith(("struct <", "union <")):
            # typedef struct { ... } rwlock_t: the typedef name is the struct's name.
            decls = item.children_by_field_name("declarator")
            if len(decls) == 1 and decls[0].type == "type_identifier":
                base = src.text(decls[0])
                anon = facts.structs[before:]
                if anon:
                    last = anon[-1]
                    facts.structs[before + len(anon) - 1] = StructDef(
                        base, last.path, last.start, last.end, last.statement_end,
                        last.leading_comment_start, last.fields,
                    )
                continue
        for decl in item.children_by_field_name("declarator"):
            name_node, ptr, is_func = declarator_name(decl)
            if name_node is None:
                continue
            name = src.text(name_node)
            if t == "type_definition":
                facts.typedefs[name] = CType("fn") if is_func else CType(base, ptr)
            elif is_func:
                facts.returns.setdefault(name, CType(base, ptr))
            else:
                facts.globals[name] = CType(base, ptr)
    return facts


# --- the tree's index ------------------------------------------------------------


class Definitions(Protocol):
    """Where the tree defines a name, asked only for the names a resolution meets
    (xenpatch/c/defindex.py answers from a text index of the tree)."""

    def facts_defining(self, kind: str, name: str) -> list[FileFacts]:
        """Facts of the files that may define ``name`` as a ``kind``: "struct"
        (a tag such as "struct domain"), "typedef" or "decl" (a global or a function)."""
        ...

    def macro_bodies(self, name: str) -> list[MacroBody]:
        """Every #define of ``name`` in the tree whose body is one expression."""
        ...

    def percpu_types(self, name: str) -> list[CType]:
        """The declared types of the per-CPU variable ``name``."""
        ...


@dataclass(frozen=True)
class MacroBody:
    path: str
    params: tuple[str, ...] | None  # None for an object-like macro
    src: SourceFile
    expr: Node


_PRIMITIVE_WORDS = frozenset({"void", "char", "short", "int", "long", "float", "double",
                              "signed", "unsigned", "_Bool", "bool", "fn"})
_MAX_DEPTH = 8  # macro expansions inside macro expansions


@dataclass
class TypeIndex:
    """The tree's struct definitions, typedefs, globals and return types.

    Filled from facts up front (``from_facts``), or on demand: with
    ``definitions``, a name not known yet is looked up there once, and only
    the files that may define it are parsed.
    """

    structs: dict[str, list[StructDef]] = field(default_factory=dict)
    typedefs: dict[str, CType] = field(default_factory=dict)
    globals: dict[str, CType] = field(default_factory=dict)
    returns: dict[str, CType] = field(default_factory=dict)
    definitions: Definitions | None = None
    _asked: set[tuple[str, str]] = field(default_factory=set)
    _seen_paths: set[str] = field(default_factory=set)

    @classmethod
    def from_facts(cls, all_facts: list[FileFacts],
                   definitions: Definitions | None = None) -> TypeIndex:
        index = cls(definitions=definitions)
        for facts in all_facts:
            index.add(facts)
        return index

    def add(self, facts: FileFacts) -> None:
        if facts.path in self._seen_paths:
            return
        self._seen_paths.add(facts.path)
        for sd in facts.structs:
            self.structs.setdefault(sd.name, []).append(sd)
        for table, new in (
            (self.typedefs, facts.typedefs),
            (self.globals, facts.globals),
            (self.returns, facts.returns),
        ):
            for k, v in new.items():
                table.setdefault(k, v)

    def _ask(self, kind: str, name: str) -> None:
        if self.definitions is None or (kind, name) in self._asked:
            return
        self._asked.add((kind, name))
        for facts in self.definitions.facts_defining(kind, name):
            self.add(facts)

    def struct_defs(self, name: str) -> list[StructDef]:
        if name not in self.structs:
            self._ask("struct", name)
        return self.structs.get(name, [])

    def typedef(self, name: str) -> CType | None:
        if name not in self.typedefs and not (set(name.split()) & _PRIMITIVE_WORDS) and (
            not name.startswith(("struct ", "union ", "?"))
        ):
            self._ask("typedef", name)
        return self.typedefs.get(name)

    def global_type(self, name: str) -> CType | None:
        if name not in self.globals:
            self._ask("decl", name)
        return self.globals.get(name)

    def return_type(self, name: str) -> CType | None:
        if name not in self.returns:
            self._ask("decl", name)
        return self.returns.get(name)

    def canonical(self, ctype: CType) -> CType:
        """Resolve typedef names down to a struct or a base type."""
        seen = set()
        while ctype.base not in seen and (target := self.typedef(ctype.base)) is not None:
            seen.add(ctype.base)
            ctype = CType(target.base, target.ptr + ctype.ptr)
        return ctype

    def field_type(self, struct: str, name: str) -> CType | Unknown:
        defs = self.struct_defs(struct)
        if not defs:
            return Unknown(f"no definition of '{struct}' in the tree")
        found = {d.fields[name].ctype for d in defs if name in d.fields}
        if not found:
            return Unknown(f"'{struct}' has no field '{name}'")
        if len(found) > 1:
            # Per-arch definitions may differ; same base types are good enough.
            canon = {self.canonical(t) for t in found}
            if len(canon) > 1:
                return Unknown(f"'{struct}.{name}' has several types: {sorted(map(str, canon))}")
            return canon.pop()
        return found.pop()

    def _agree(self, what: str, found: list[CType | Unknown]) -> CType | Unknown:
        """One type from several definitions (per architecture): the known ones must agree."""
        known = {self.canonical(t) for t in found if isinstance(t, CType)}
        if len(known) == 1:
            return known.pop()
        if known:
            return Unknown(f"{what} has several types: {sorted(map(str, known))}")
        reasons = [t.reason for t in found if isinstance(t, Unknown)]
        return Unknown(f"{what}: {reasons[0]}" if reasons else f"{what} is not defined")

    def _macro(self, name: str, args: tuple[TypeChain | Unknown, ...] | None,
               depth: int) -> CType | Unknown | None:
        if self.definitions is None or depth > _MAX_DEPTH:
            return None
        bodies = [b for b in self.definitions.macro_bodies(name)
                  if (b.params is None) == (args is None)
                  and (args is None or len(b.params or ()) == len(args))]
        if not bodies:
            return None
        found: list[CType | Unknown] = []
        for b in bodies:
            env = dict(zip(b.params or (), args or (), strict=False))
            chain = expr_chain(MacroScope(b.src, env), b.expr)
            found.append(self.resolve(chain, depth + 1))
        return self._agree(f"macro '{name}'", found)

    def _root(self, root: Root, depth: int) -> CType | Unknown:
        if isinstance(root, CType):
            return root
        if isinstance(root, str):
            found = self.global_type(root)
            if found is not None:
                return found
            expanded = self._macro(root, None, depth)
            if expanded is not None:
                return expanded
            return Unknown(f"'{root}' is not declared in scope or in the tree")
        if isinstance(root, Call):
            ret = self.return_type(root.name)
            if ret is not None:
                return ret
            expanded = self._macro(root.name, root.args, depth)
            if expanded is not None:
                return expanded
            return Unknown(f"call to '{root.name}': no declaration of it in the tree")
        if isinstance(root, PerCpu):
            types = self.definitions.percpu_types(root.name) if self.definitions else []
            if not types:
                return Unknown(f"no per-CPU variable '{root.name}' in the tree")
            return self._agree(f"per-CPU variable '{root.name}'", list(types))
        # Choice: c ? a : b has the type both branches agree on; a null constant
        # takes the other's.
        options = [self.resolve(o, depth) if not _is_null(o) else None for o in root.options]
        return self._agree("'?:'", [o for o in options if o is not None])

    def resolve(self, chain: TypeChain | Unknown, depth: int = 0) -> CType | Unknown:
        if isinstance(chain, Unknown):
            return chain
        current: CType | Unknown = self._root(chain.root, depth)
        if isinstance(current, Unknown):
            return current
        for step in chain.steps:
            assert isinstance(current, CType)
            current = self.canonical(current)
            if step == "&":
                current = current.pointer()
            elif step in ("*", "[]"):
                deref = current.deref()
                if deref is None:
                    return Unknown(f"dereference of non-pointer '{current}'")
                current = deref
            else:
                op, name = step[:2] if step.startswith("->") else step[:1], step.lstrip("-.>")
                if op == "->":
                    deref = current.deref()
                    if deref is None:
                        return Unknown(f"'->{name}' on non-pointer '{current}'")
                    current = self.canonical(deref)
                elif current.ptr:
                    return Unknown(f"'.{name}' on pointer '{current}'")
                if not current.base.startswith(("struct ", "union ")) and (
                    not self.struct_defs(current.base)
                ):
                    return Unknown(f"field '{name}' of non-struct '{current}'")
                current = self.field_type(current.base, name)
                if isinstance(current, Unknown):
                    return current
        assert isinstance(current, CType)
        return self.canonical(current)


# --- function scopes and expressions -------------------------------------------------


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
        declarator = fn.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        if declarator is not None:
            params = declarator.child_by_field_name("parameters")
            for p in params.named_children if params is not None else ():
                if p.type == "parameter_declaration":
                    self._bind_decl(p, fn.start_byte, fn.end_byte)
        body = fn.child_by_field_name("body")
        if body is not None:
            self._collect(body)

    def _bind_decl(self, decl: Node, scope_start: int, scope_end: int) -> None:
        base = type_base(self.src, decl.child_by_field_name("type"))
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
        branches = [node.child_by_field_name(f) for f in ("consequence", "alternative")]
        if any(b is None for b in branches):
            return Unknown("'?:' without both branches")
        return TypeChain(Choice(tuple(expr_chain(scope, b) for b in branches if b)))
    if t == "field_expression":
        arg = node.child_by_field_name("argument")
        fld = node.child_by_field_name("field")
        op = node.child_by_field_name("operator")
        if arg is None or fld is None:
            return Unknown("malformed field expression")
        base = expr_chain(scope, arg)
        if isinstance(base, Unknown):
            return base
        assert src is not None
        op_text = src.text(op) if op is not None else "->"
        return base.then(("->" if op_text == "->" else ".") + src.text(fld))
    if t == "pointer_expression":
        arg = node.child_by_field_name("argument")
        op = node.child_by_field_name("operator")
        if arg is None:
            return Unknown("malformed pointer expression")
        base = expr_chain(scope, arg)
        if isinstance(base, Unknown):
            return base
        assert src is not None
        return base.then("&" if op is not None and src.text(op) == "&" else "*")
    if t == "subscript_expression":
        arg = node.child_by_field_name("argument")
        if arg is None:
            return Unknown("malformed subscript")
        base = expr_chain(scope, arg)
        return base if isinstance(base, Unknown) else base.then("[]")
    if t == "cast_expression":
        assert src is not None
        tdesc = node.child_by_field_name("type")
        if tdesc is None:
            return Unknown("malformed cast")
        abstract = tdesc.child_by_field_name("declarator")
        ptr = 0
        while abstract is not None and abstract.type == "abstract_pointer_declarator":
            ptr += 1
            abstract = abstract.child_by_field_name("declarator")
        return TypeChain(CType(type_base(src, tdesc.child_by_field_name("type")), ptr))
    if t == "call_expression":
        assert src is not None
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
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
