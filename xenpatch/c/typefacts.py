"""Type facts of one C source: struct fields, typedefs, globals and return types.

``file_facts`` gathers them from a parsed file; xenpatch/c/types.py merges
them into the tree's ``TypeIndex``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from xenpatch.c import fields as fid
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
        node = node.child_by_field_id(fid.DECLARATOR)
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
        name = node.child_by_field_id(fid.NAME)
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
        name = node.child_by_field_id(fid.NAME)
        word = src.text(node.children[0]).lstrip("#").strip()
        ident = src.text(name) if name is not None else "?"
        positive = word.endswith("ifdef")
        return ((f"#ifdef {ident}", f"#ifndef {ident}") if positive
                else (f"#ifndef {ident}", f"#ifdef {ident}"))
    cond = node.child_by_field_id(fid.CONDITION)
    text = " ".join(src.masked_text(cond).split()) if cond is not None else "1"
    return f"#if {text}", f"#if !({text})"


def _conditional(src: SourceFile, node: Node, conds: tuple[str, ...],
                 negated: tuple[str, ...]) -> Iterator[tuple[Node, tuple[str, ...]]]:
    if node.type == "preproc_else":
        here = conds + negated
        alternative = None
    else:
        yes, no = _branch_condition(src, node)
        here = conds + negated + (yes,)
        alternative = node.child_by_field_id(fid.ALTERNATIVE)
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
    body = spec.child_by_field_id(fid.BODY)
    if body is None:
        return
    fields: dict[str, FieldDecl] = {}
    for fd, conds in _field_children(src, body):
        ftype = fd.child_by_field_id(fid.TYPE)
        base = type_base(src, ftype)
        if ftype is not None and ftype.type in ("struct_specifier", "union_specifier"):
            inner = ftype.child_by_field_id(fid.BODY)
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
    if type_node.child_by_field_id(fid.BODY) is not None:
        _struct_def(src, type_node, type_base(src, type_node), facts)


def file_facts(src: SourceFile) -> FileFacts:
    """Struct definitions, typedefs, globals and function return types of one file."""
    facts = FileFacts(src.path)
    for item in _top_level_items(src.root):
        t = item.type
        if t == "function_definition":
            name_node, ptr, _ = declarator_name(item.child_by_field_id(fid.DECLARATOR))
            if name_node is not None:
                name = src.text(name_node)
                facts.function_names.add(name)
                facts.returns[name] = CType(type_base(src, item.child_by_field_id(fid.TYPE)), ptr)
            continue
        if t == "struct_specifier" or t == "union_specifier":
            _collect_specs(src, item, facts)
            continue
        if t not in ("declaration", "type_definition"):
            continue
        type_node = item.child_by_field_id(fid.TYPE)
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


# Words of C's own types: never a typedef to look up.
_PRIMITIVE_WORDS = frozenset({"void", "char", "short", "int", "long", "float", "double",
                              "signed", "unsigned", "_Bool", "bool", "fn"})
