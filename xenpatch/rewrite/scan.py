"""Per-file facts a conversion needs, gathered in one parse.

``scan_file`` runs in worker processes: it parses one file, keeps its type
facts and every rwlock API call that names the rule's field, and drops the
tree.  Types are resolved later, against the whole tree's index, so a file
never waits for another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Node, Query, QueryCursor

from xenpatch.c.masking import MacroTable, default_macro_table
from xenpatch.c.source import SourceError, SourceFile, function_name, parse_bytes
from xenpatch.c.types import (
    FileFacts,
    FunctionScope,
    TypeChain,
    Unknown,
    expr_chain,
    file_facts,
    leading_comment_start,
)

# The rwlock API a conversion rewrites (plan.py says how, the rule to what).
CONVERTED_APIS = frozenset(
    {
        "read_lock", "read_unlock", "write_lock", "write_unlock",
        "rwlock_init", "rw_is_locked", "rw_is_write_locked",
    }
)


def _rwlock_api() -> frozenset[str]:
    """Every public rwlock_t call of the lock table the lint reads too
    (rules/locks.toml): the ones not converted are refused on the target.
    The _read_lock() spellings are the API's own implementation
    (xen/rwlock.h), which passes a bare rwlock_t pointer around."""
    from xenpatch.analysis.locktable import default_lock_table

    return frozenset(
        n for n, op in default_lock_table().ops.items() if op.kind == "rw" and n[0] != "_"
    )


ALL_APIS = CONVERTED_APIS | _rwlock_api()
UNSUPPORTED_APIS = ALL_APIS - CONVERTED_APIS

# Statement-level checks that an rw_is_locked() may be commented out of.
_CHECK_MACROS = frozenset({"ASSERT", "BUG_ON", "WARN_ON"})


@dataclass(frozen=True)
class Site:
    """One rwlock API call whose argument names the rule's field."""

    path: str
    api: str
    start: int  # the call expression
    end: int
    line: int
    col: int
    function: str
    text: str  # the call as written
    obj_text: str  # E of &E->field (or &E.field)
    op: str  # "->" or "."
    chain: TypeChain | Unknown  # E's type, to resolve against the index
    name_start: int  # the called function's identifier
    name_end: int
    args_close: int  # offset of the argument list's ')'
    stmt_start: int  # the whole statement when it is a check (ASSERT(...)); else -1
    stmt_end: int
    stmt_text: str
    indent: str


@dataclass(frozen=True)
class MacroSite:
    """An API call on the field inside a #define, found by its text alone.

    No type can be computed inside a macro body; the plan converts it only
    when the field's name is unique to the target struct in the whole tree.
    """

    path: str
    line: int
    api: str
    start: int  # the call
    end: int
    obj_text: str
    op: str
    text: str
    pad_to: int  # a line-continuation backslash follows at this offset, else -1


@dataclass
class FileScan:
    path: str
    facts: FileFacts
    sites: list[Site] = field(default_factory=list)
    macro_sites: list[MacroSite] = field(default_factory=list)
    define_anchor: int | None = None  # where a DEFINE_PERCPU_RWLOCK_GLOBAL would go
    functions: int = 0
    functions_with_errors: int = 0
    has_text: dict[str, bool] = field(default_factory=dict)
    error: str | None = None


@cache
def _macros(path: str | None) -> MacroTable:
    from xenpatch.c.masking import load_macro_table

    return load_macro_table(Path(path)) if path else default_macro_table()


def _first_arg(call: Node) -> Node | None:
    args = call.child_by_field_name("arguments")
    if args is None:
        return None
    named = [c for c in args.named_children if c.type != "comment"]
    return named[0] if named else None


def _strip_parens(node: Node) -> Node:
    while node.type == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            break
        node = inner[0]
    return node


def _check_statement(src: SourceFile, call: Node) -> Node | None:
    """The `ASSERT(...);` statement a query sits in, if it is nothing but that check."""
    node = call.parent
    while node is not None and node.type in ("argument_list", "parenthesized_expression",
                                             "unary_expression", "binary_expression"):
        node = node.parent
    if node is None or node.type != "call_expression":
        return None
    fn = node.child_by_field_name("function")
    if fn is None or src.text(fn) not in _CHECK_MACROS:
        return None
    stmt = node.parent
    if stmt is None or stmt.type != "expression_statement":
        return None
    return stmt


def _opaque_site(src: SourceFile, call: Node, api: str, arg: Node, fn: Node) -> Site:
    name = call.child_by_field_name("function")
    args = call.child_by_field_name("arguments")
    assert name is not None and args is not None
    text = src.text(arg)
    return Site(
        path=src.path, api=api, start=call.start_byte, end=call.end_byte,
        line=src.line_of(call.start_byte), col=src.col_of(call.start_byte),
        function=function_name(src, fn) or "?", text=src.text(call), obj_text=text, op="",
        chain=Unknown(f"the lock is passed as '{text}', not as the address of a struct "
                      "field, so the struct it belongs to cannot be known"),
        name_start=name.start_byte, name_end=name.end_byte, args_close=args.end_byte - 1,
        stmt_start=-1, stmt_end=-1, stmt_text="", indent="",
    )


def _site(src: SourceFile, call: Node, api: str, field_name: str,
          fn: Node, scopes: dict[int, FunctionScope]) -> Site | None:
    arg = _first_arg(call)
    if arg is None:
        return None
    arg = _strip_parens(arg)
    if arg.type != "pointer_expression" or src.text(arg.child_by_field_name("operator")) != "&":
        # A lock passed by pointer (rwlock_t *l): which struct's field it points
        # to is unknowable here, so it is reported rather than skipped.
        return _opaque_site(src, call, api, arg, fn)
    target = arg.child_by_field_name("argument")
    target = _strip_parens(target) if target is not None else None
    if target is None or target.type != "field_expression":
        return None
    fld = target.child_by_field_name("field")
    if fld is None or src.text(fld) != field_name:
        return None
    obj = target.child_by_field_name("argument")
    op_node = target.child_by_field_name("operator")
    if obj is None:
        return None
    scope = scopes.get(fn.start_byte)
    if scope is None:
        scope = scopes[fn.start_byte] = FunctionScope(src, fn)
    name = call.child_by_field_name("function")
    args = call.child_by_field_name("arguments")
    assert name is not None and args is not None
    stmt = _check_statement(src, call) if api in ("rw_is_locked", "rw_is_write_locked") else None
    line = src.line_of(call.start_byte)
    indent = ""
    if stmt is not None:
        indent = re.match(r"[ \t]*", src.line_text(src.line_of(stmt.start_byte))).group(0)
    return Site(
        path=src.path,
        api=api,
        start=call.start_byte,
        end=call.end_byte,
        line=line,
        col=src.col_of(call.start_byte),
        function=function_name(src, fn) or "?",
        text=src.text(call),
        obj_text=src.text(obj),
        op=src.text(op_node) if op_node is not None else "->",
        chain=expr_chain(scope, obj),
        name_start=name.start_byte,
        name_end=name.end_byte,
        args_close=args.end_byte - 1,
        stmt_start=stmt.start_byte if stmt else -1,
        stmt_end=stmt.end_byte if stmt else -1,
        stmt_text=src.text(stmt) if stmt else "",
        indent=indent,
    )


_TYPE_DEF_NODES = ("struct_specifier", "union_specifier", "enum_specifier", "type_definition")


def _define_anchor(src: SourceFile, first_site: int) -> int | None:
    """Before the first function that follows the file's type definitions.

    Upstream placed the per-CPU owner's DEFINE after the last struct and its
    accessor macros, ahead of the functions: the first function after the last
    type definition that precedes the first lock site.
    """
    items = [c for c in src.root.named_children if c.type != "comment"]
    last_type_end = -1
    for item in items:
        if item.start_byte >= first_site:
            break
        is_type = item.type in _TYPE_DEF_NODES or (
            item.type == "declaration"
            and (t := item.child_by_field_name("type")) is not None
            and t.type in _TYPE_DEF_NODES
            and t.child_by_field_name("body") is not None
        )
        if is_type:
            last_type_end = item.end_byte
    for item in items:
        if item.type == "function_definition" and item.start_byte > last_type_end:
            return leading_comment_start(src, item.start_byte)
    return None


_MACRO_CALL = (
    r"\b(?P<api>{apis})\s*\(\s*&\s*(?P<obj>\(?[\w>\-.()\[\] ]*?\)?)\s*"
    r"(?P<op>->|\.)\s*{field}\s*\)"
)


def _macro_sites(src: SourceFile, macro_re: re.Pattern[str], node: Node) -> list[MacroSite]:
    value = node.child_by_field_name("value")
    if value is None:
        return []
    text = src.text(value)
    found = []
    for m in macro_re.finditer(text):
        start = value.start_byte + len(text[: m.start()].encode())
        end = start + len(m.group(0).encode())
        line_end = src.line_end(src.line_of(start))
        tail = src.raw[end:line_end]
        pad_to = end + tail.rfind(b"\\") if tail.rstrip().endswith(b"\\") else -1
        found.append(MacroSite(src.path, src.line_of(start), m.group("api"), start, end,
                               m.group("obj").strip(), m.group("op"), m.group(0), pad_to))
    return found


def _owner_marks(raw: bytes, owner: str) -> dict[str, bool]:
    owner_re = rb"\s*\(\s*" + re.escape(owner.encode()) + rb"\s*\)"
    return {
        "declare": re.search(rb"DECLARE_PERCPU_RWLOCK_GLOBAL" + owner_re, raw) is not None,
        "define": re.search(rb"DEFINE_PERCPU_RWLOCK_GLOBAL" + owner_re, raw) is not None,
    }


@cache
def _api_query() -> Query:
    # One query for all a scan looks at: tree-sitter walks the tree in C.
    names = " ".join(f'"{n}"' for n in sorted(ALL_APIS))
    return Query(
        Language(tree_sitter_c.language()),
        f"((call_expression function: (identifier) @fn) @call (#any-of? @fn {names}))\n"
        "(function_definition) @function\n"
        "(preproc_def) @macro\n"
        "(preproc_function_def) @macro\n",
    )


def _enclosing_function(node: Node) -> Node | None:
    while node is not None and node.type != "function_definition":
        node = node.parent
    return node


def scan_source(src: SourceFile, field_name: str, owner: str) -> FileScan:
    result = FileScan(src.path, file_facts(src))
    found = QueryCursor(_api_query()).captures(src.root)
    defined = found.get("function", [])
    result.functions = len(defined)
    result.functions_with_errors = sum(fn.has_error for fn in defined)
    scopes: dict[int, FunctionScope] = {}
    calls = found.get("call", [])
    for call in sorted(calls, key=lambda n: n.start_byte):
        fn = _enclosing_function(call)
        if fn is None:
            continue
        api = src.text(call.child_by_field_name("function"))
        site = _site(src, call, api, field_name, fn, scopes)
        if site is not None:
            result.sites.append(site)
    macro_re = re.compile(
        _MACRO_CALL.format(apis="|".join(sorted(ALL_APIS)), field=re.escape(field_name))
    )
    for node in found.get("macro", []):
        result.macro_sites.extend(_macro_sites(src, macro_re, node))
    first_site = min((s.start for s in result.sites), default=len(src.raw))
    result.define_anchor = _define_anchor(src, first_site)
    result.has_text = _owner_marks(src.raw, owner)
    return result


_API_TEXT = re.compile(rb"\b(?:" + b"|".join(sorted(n.encode() for n in ALL_APIS)) + rb")\s*\(")


def scan_file(root: str, rel: str, field_name: str, owner: str,
              macros_path: str | None = None, always: frozenset[str] = frozenset()) -> FileScan:
    """Worker entry point: never raises for a bad file, reports it instead.

    A .c file that names no rwlock API holds no site, and its types are its
    own, so it is not parsed at all; headers always are, for their types.
    """
    path = Path(root) / rel
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileScan(rel, FileFacts(rel), error=exc.strerror or str(exc))
    if rel.endswith(".c") and rel not in always and not _API_TEXT.search(raw):
        result = FileScan(rel, FileFacts(rel))
        result.has_text = _owner_marks(raw, owner)
        return result
    try:
        src = parse_bytes(rel, raw, _macros(macros_path))
    except SourceError as exc:
        return FileScan(rel, FileFacts(rel), error=exc.reason)
    return scan_source(src, field_name, owner)
