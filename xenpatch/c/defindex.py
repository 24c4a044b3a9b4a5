"""Where a tree defines a name, found by text: the rewrite parses only those files.

``TreeText`` holds the bytes of a tree's sources.  Asked for a struct tag, a
typedef, a global or function, a macro or a per-CPU variable, it finds the
headers whose text defines that name (a memchr-speed search of one blob of
every header, then a look at the bytes around each hit), parses only those,
and gives their facts to a lazily filled ``TypeIndex``.  A hit the text
cannot rule out is parsed: the parse, not the text, says what is defined.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tree_sitter import Node

from xenpatch.c import fields as fid
from xenpatch.c.masking import MacroTable, default_macro_table
from xenpatch.c.source import SourceError, SourceFile, parse_bytes
from xenpatch.c.types import CType, FileFacts, MacroBody, file_facts, idioms, type_from_text

_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_DEFINE_BEFORE = re.compile(rb"(?:^|\n)[ \t]*#[ \t]*define[ \t]+$")
_TAG_BEFORE = re.compile(rb"\b(?:struct|union)\s+$")
_MACRO_HEAD = re.compile(rb"(\w+)(\([^)]*\))?")


def _comment_free(raw: bytes) -> bytes:
    """``raw`` with its comments blanked (offsets and line breaks kept)."""
    return re.sub(rb"/\*.*?\*/|//[^\n]*",
                  lambda m: re.sub(rb"[^\n]", b" ", m.group(0)), raw, flags=re.S)


class TreeText:
    """The sources of one tree, read once, and the definitions in them."""

    def __init__(self, root: Path, files: list[str], macros: MacroTable | None = None) -> None:
        self.root = root
        self._root = str(root)
        self.files = files
        self.macros = macros or default_macro_table()
        self._raw: dict[str, bytes] = {}
        self._blob: bytes | None = None
        self._starts: list[int] = []
        self._paths: list[str] = []
        self._facts: dict[str, FileFacts | None] = {}
        self.parsed: list[str] = []  # headers parsed for their definitions, in order

    # --- text -----------------------------------------------------------------

    def raw(self, path: str) -> bytes:
        data = self._raw.get(path)
        if data is None:
            with open(os.path.join(self._root, path), "rb") as fh:
                data = self._raw[path] = fh.read()
        return data

    def _headers_blob(self) -> bytes:
        if self._blob is None:
            parts: list[bytes] = []
            pos = 0
            for path in self.files:
                try:
                    data = self.raw(path)
                except OSError:
                    continue
                self._starts.append(pos)
                self._paths.append(path)
                parts.append(data)
                pos += len(data) + 1
            self._blob = b"\0".join(parts)
        return self._blob

    def word_hits(self, name: str, headers_only: bool = True) -> Iterator[tuple[str, int, bytes]]:
        """(file, offset in it, the file's bytes) of every whole-word ``name``; in headers
        only unless told (a .c file's own definitions are visible in it alone)."""
        blob = self._headers_blob()
        word = name.encode()
        at = blob.find(word)
        while at != -1:
            end = at + len(word)
            if (at == 0 or blob[at - 1] not in _WORD) and (
                end >= len(blob) or blob[end] not in _WORD
            ):
                i = bisect.bisect_right(self._starts, at) - 1
                path = self._paths[i]
                if not headers_only or path.endswith(".h"):
                    yield path, at - self._starts[i], self.raw(path)
            at = blob.find(word, end)

    def occurrences(self, name: str) -> Iterator[tuple[str, int]]:
        """(file, line) of ``name`` as a whole word in the code of any file (not in comments)."""
        word = re.compile(rb"(?<![\w])" + re.escape(name.encode()) + rb"(?![\w])")
        for path in self.files:
            try:
                raw = self.raw(path)
            except OSError:
                continue
            if name.encode() not in raw:
                continue
            code = _comment_free(raw)
            for m in word.finditer(code):
                yield path, code.count(b"\n", 0, m.start()) + 1

    # --- parsed facts -----------------------------------------------------------

    def remember(self, path: str, facts: FileFacts) -> None:
        """Facts of a file parsed elsewhere (a scanned candidate), not to be parsed again."""
        self._facts[path] = facts

    def facts(self, path: str) -> FileFacts | None:
        if path not in self._facts:
            try:
                src = parse_bytes(path, self.raw(path), self.macros)
            except (SourceError, OSError):
                self._facts[path] = None
            else:
                self._facts[path] = file_facts(src)
                self.parsed.append(path)
        return self._facts[path]

    def facts_defining(self, kind: str, name: str) -> list[FileFacts]:
        paths: set[str] = set()
        bare = name.split()[-1]
        # A struct the rule names may be private to a .c file (grant_table.c's); its
        # definition is looked for as "struct NAME", far rarer than the bare word.
        word = name if kind == "struct" and " " in name else bare
        for path, at, raw in self.word_hits(word, headers_only=kind != "struct"):
            at += len(word) - len(bare)
            before = raw[max(0, at - 80) : at]
            after = raw[at + len(bare) : at + len(bare) + 80].lstrip()
            if kind == "struct":
                if _TAG_BEFORE.search(before) and after[:1] == b"{":
                    paths.add(path)
            elif kind == "typedef":
                # typedef ... NAME; / } NAME; / typedef ... (*NAME)(...);
                if after[:1] in (b";", b"[", b")", b","):
                    paths.add(path)
            elif after[:1] in (b";", b"[", b"(", b"=", b","):  # a global or a function
                paths.add(path)
        found = []
        for path in sorted(paths):
            facts = self.facts(path)
            if facts is not None:
                found.append(facts)
        return found

    def macro_bodies(self, name: str) -> list[MacroBody]:
        return list(_macro_bodies(self, name))

    def percpu_types(self, name: str) -> list[CType]:
        declarers = idioms().percpu_declarers
        found: list[CType] = []
        for _path, at, raw in self.word_hits(name):
            start = raw.rfind(b"(", max(0, at - 120), at)
            if start == -1:
                continue
            head = re.search(rb"(\w+)\s*$", raw[max(0, start - 60) : start])
            inner = raw[start + 1 : at].decode("utf-8", "replace")
            if head is None or head.group(1).decode() not in declarers:
                continue
            if not inner.rstrip().endswith(","):
                continue
            ctype = type_from_text(inner.rstrip()[:-1])
            if ctype is not None:
                found.append(ctype)
        return found

    def lock_field_owners(self, field: str, lock_types: tuple[str, ...]) -> list[FileFacts]:
        """Facts of every file (headers and .c) that may declare a field ``field`` of
        one of ``lock_types``."""
        pattern = re.compile(
            rb"\b(?:" + b"|".join(re.escape(t.encode()) for t in lock_types) + rb")\s+[^;(){}]*\b"
            + re.escape(field.encode()) + rb"\b"
        )
        found = []
        for path in self.files:
            try:
                raw = self.raw(path)
            except OSError:
                continue
            if field.encode() in raw and pattern.search(raw):
                facts = self.facts(path)
                if facts is not None:
                    found.append(facts)
        return found


def _macro_bodies(text: TreeText, name: str) -> Iterator[MacroBody]:
    # .c files too: a macro private to the site's file is found there; definitions
    # of the name elsewhere must then agree with it, or the type stays unknown.
    for path, at, raw in text.word_hits(name, headers_only=False):
        if not _DEFINE_BEFORE.search(raw[max(0, at - 40) : at]):
            continue
        end = at
        while True:
            nl = raw.find(b"\n", end)
            if nl == -1:
                nl = len(raw)
            if raw[end:nl].rstrip().endswith(b"\\") and nl < len(raw):
                end = nl + 1
                continue
            break
        line = raw[at:nl].replace(b"\\\n", b" \n")
        head = _MACRO_HEAD.match(line)
        if head is None:
            continue
        params: tuple[str, ...] | None = None
        if head.group(2) is not None:
            params = tuple(p.strip() for p in head.group(2)[1:-1].decode().split(",") if p.strip())
        body = _comment_free(line[head.end() :]).strip()
        if not body or b"#" in body:
            continue  # empty, or stringising / token pasting: not an expression to follow
        parsed = _parse_expression(path, body)
        if parsed is not None:
            yield MacroBody(path, params, *parsed)


@cache
def _parse_expression(path: str, body: bytes) -> tuple[SourceFile, Node] | None:
    """A macro body parsed as the expression of a statement, or None when it is not one."""
    snippet = b"void __xenpatch_macro(void)\n{\n    (" + body + b");\n}\n"
    try:
        src = parse_bytes(path, snippet, default_macro_table())
    except SourceError:
        return None
    fn = src.root.named_children[0] if src.root.named_children else None
    body_node = fn.child_by_field_id(fid.BODY) if fn is not None else None
    if body_node is None or src.root.has_error:
        return None
    stmts = [c for c in body_node.named_children if c.type != "comment"]
    if len(stmts) != 1 or stmts[0].type != "expression_statement":
        return None
    expr = stmts[0].named_children[0] if stmts[0].named_children else None
    if expr is None:
        return None
    return src, expr


__all__ = ["TreeText"]
