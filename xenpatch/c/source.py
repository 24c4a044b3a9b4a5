"""A C source file as every capability sees it: raw bytes, the masked twin
tree-sitter parses, and a map from byte offsets to lines and columns.

Offsets everywhere in xenpatch refer to ``raw``; masking keeps the length,
so a node of the tree spans the same bytes in both.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from operator import add
from pathlib import Path
from typing import Any

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from xenpatch.c.masking import MacroTable, mask
from xenpatch.errors import XenpatchError


class SourceError(XenpatchError):
    """A file that cannot be read as C source; ``str()`` is the one-line message."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@cache
def _language() -> Language:
    return Language(tree_sitter_c.language())


@cache
def _parser() -> Parser:
    # One parser per process: creating the Language is the costly part.
    return Parser(_language())


@cache
def _types_query(types: frozenset[str]) -> Query:
    return Query(_language(), "[" + " ".join(f"({t})" for t in sorted(types)) + "] @n")


@dataclass(eq=False)
class SourceFile:
    path: str
    raw: bytes
    masked: bytes
    tree: Tree
    newline: bytes
    # An array, not a list: a worker of a whole-tree run keeps the parses
    # of its biggest files (lint/reuse.py), ~100,000 lines of Xen 4.17, and
    # an int object per line was ~3 MB of its peak.
    _line_starts: array[int] = field(repr=False)
    _indexes: dict[tuple[Node, frozenset[str]], NodeIndex] = field(
        default_factory=dict, repr=False
    )
    # What analyses derive from this text alone (a function's CFG), kept
    # for as long as the file is: a second pass over the same parse, or a
    # header inline analysed again for another file, builds it once.
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def line_of(self, offset: int) -> int:
        """1-based line of a byte offset."""
        return bisect.bisect_right(self._line_starts, offset)

    def col_of(self, offset: int) -> int:
        """1-based byte column of a byte offset."""
        return offset - self._line_starts[self.line_of(offset) - 1] + 1

    def line_col(self, offset: int) -> tuple[int, int]:
        """(line_of(offset), col_of(offset)) with one bisection."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def line_start(self, line: int) -> int:
        return self._line_starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset of the end of ``line``, before its newline."""
        if line < len(self._line_starts):
            end = self._line_starts[line] - 1
            if self.raw[end - 1 : end] == b"\r":
                end -= 1
            return end
        return len(self.raw)

    def line_text(self, line: int) -> str:
        return self.raw[self.line_start(line) : self.line_end(line)].decode()

    def text(self, node: Node) -> str:
        return self.raw[node.start_byte : node.end_byte].decode()

    def masked_text(self, node: Node) -> str:
        return self.masked[node.start_byte : node.end_byte].decode()

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def node_index(self, root: Node, types: frozenset[str]) -> NodeIndex:
        """The nodes of ``types`` under ``root``, found by one walk however
        many passes over parts of ``root`` ask (once per function body)."""
        key = (root, types)
        idx = self._indexes.get(key)
        if idx is None:
            idx = self._indexes[key] = NodeIndex(root, types)
        return idx


class NodeIndex:
    """The nodes of some types in a subtree, in pre-order (``nodes``), with
    those under any node of the subtree found by bisection, not a walk:
    walking the same nodes in several passes is costly in Python."""

    __slots__ = ("nodes", "_starts", "_ends", "_under")

    def __init__(self, root: Node, types: frozenset[str]) -> None:
        self._under: dict[Node, list[Node]] = {}
        # A query finds them in C, 40% cheaper than walk(); sorted by start,
        # longest first, they are in pre-order unless two share a span.
        found = QueryCursor(_types_query(types)).captures(root).get("n", [])
        keys = [(n.start_byte, -n.end_byte) for n in found]
        if len(set(keys)) == len(keys):
            order = sorted(range(len(found)), key=keys.__getitem__)
            self.nodes = [found[i] for i in order]
            self._starts = [keys[i][0] for i in order]
            self._ends = [-keys[i][1] for i in order]
        else:
            self.nodes = [n for n in walk(root) if n.type in types]
            self._starts = [n.start_byte for n in self.nodes]
            self._ends = [n.end_byte for n in self.nodes]

    def under(self, node: Node) -> list[Node]:
        """The indexed nodes in ``node``'s subtree (itself included), in
        pre-order: ``[n for n in walk(node) if n.type in types]``.  Kept
        per node (a CFG node's statement is asked by the fill, XL017's
        takes and XL015's calls): shared, never to be changed."""
        got = self._under.get(node)
        if got is None:
            got = self._under[node] = self._find(node)
        return got

    def _find(self, node: Node) -> list[Node]:
        start, end = node.start_byte, node.end_byte
        starts, ends = self._starts, self._ends
        lo = bisect.bisect_left(starts, start)
        hi = bisect.bisect_right(starts, end, lo)
        # Spans nest, so a node whose span lies in node's is under it,
        # unless it is an ancestor with the same span or an empty (missing)
        # node beside it.  One comprehension over the slices: this is asked
        # for every CFG node of every function, several times.
        return [n for n, s, e in zip(self.nodes[lo:hi], starts[lo:hi], ends[lo:hi], strict=True)
                if e <= end and ((e != end or s != start) and s != e or _within(n, node))]


def _within(n: Node, root: Node) -> bool:
    """Is n root or a descendant of it (n's span lies inside root's)?"""
    cur: Node | None = n
    while cur is not None and cur.start_byte >= root.start_byte and cur.end_byte <= root.end_byte:
        if cur == root:
            return True
        cur = cur.parent
    return False


def detect_newline(raw: bytes) -> bytes:
    # Xen is LF throughout; a CRLF file stays CRLF, judged by its first line.
    first = raw.find(b"\n")
    return b"\r\n" if first > 0 and raw[first - 1 : first] == b"\r" else b"\n"


def parse_bytes(path: str, raw: bytes, macros: MacroTable) -> SourceFile:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 (byte {exc.start})") from None
    masked = mask(raw, macros)
    assert len(masked) == len(raw), "masking must keep offsets"
    tree = _parser().parse(masked)
    # Line i starts after the i lines before it and their newlines: summed
    # in C, not found one by one.
    lines = raw.split(b"\n")
    starts = array("q", map(add, accumulate(map(len, lines), initial=0), range(len(lines))))
    return SourceFile(path, raw, masked, tree, detect_newline(raw), starts)


def load(root: Path, rel: str, macros: MacroTable) -> SourceFile:
    """Read and parse ``root/rel``; errors name ``rel``."""
    try:
        raw = (root / rel).read_bytes()
    except OSError as exc:
        raise SourceError(rel, exc.strerror or str(exc)) from None
    return parse_bytes(rel, raw, macros)


# Bytes that can be part of an identifier or number (regex ``\w`` on bytes).
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_TO_BLANK = bytes(c if c in _WORD_BYTES else 0x20 for c in range(256))
_DIGITS = b"0123456789"


def word_runs(text: bytes) -> list[bytes]:
    r"""The maximal runs of word bytes of ``text`` (regex ``\w`` on bytes),
    in order: the whole words ``rb"\bW\b"`` finds."""
    return text.translate(_TO_BLANK).split()


def identifier_set(text: bytes) -> set[bytes]:
    r"""The distinct identifiers of ``text``: ``set(re.findall(rb"[A-Za-z_]\w*", text))``,
    but about 30% cheaper.  Blanking non-word bytes and splitting gives the
    word runs; in a run led by digits (``0x1f``, ``2UL``) findall sees only
    the part after the digits."""
    words = set(text.translate(_TO_BLANK).split())
    led = [w for w in words if w[0] in _DIGITS]
    if led:
        words.difference_update(led)
        words.update(x for w in led if (x := w.lstrip(_DIGITS)))
    return words


def mentions_any(text: bytes, names: frozenset[bytes]) -> bool:
    """Is one of ``names`` an identifier of ``text``: not
    ``names.isdisjoint(identifier_set(text))``, for less."""
    if b"lock" not in text:
        # Names with "lock" in them cannot occur: most files naming no lock
        # API have no "lock" at all.  Look for the few others one by one.
        return any(is_identifier_in(text, n) for n in _without(names, b"lock"))
    blanked = text.translate(_TO_BLANK)
    # The word runs looked up in ``names`` as they come: a set of them
    # would cost more to build than the lookups (most files name none).
    # A word led by a digit is not an identifier (findall skips the digits).
    if any(w[0] not in _DIGITS for w in names.intersection(blanked.split())):
        return True
    # What findall finds in a run led by digits: the rest of the run.
    return not names.isdisjoint(_DIGIT_LED.findall(blanked))


# A word run led by digits with more after them (in blanked text: every
# run starts after a blank), the rest as group 1.
_DIGIT_LED = re.compile(rb"(?<!\w)[0-9]+([A-Za-z_]\w*)")


@cache
def _without(names: frozenset[bytes], part: bytes) -> tuple[bytes, ...]:
    return tuple(sorted(n for n in names if part not in n))


def can_be_identifier(name: bytes) -> bool:
    r"""Can findall(rb"[A-Za-z_]\w*") find ``name`` in any text (is it one
    of some text's identifier_set())?"""
    return bool(name) and name[0] not in _DIGITS and all(c in _WORD_BYTES for c in name)


def is_identifier_in(text: bytes, name: bytes) -> bool:
    r"""Does findall(rb"[A-Za-z_]\w*") find ``name`` in ``text``: an occurrence
    ending a word run that it starts, or that only digits precede?"""
    if not can_be_identifier(name):
        return False
    i = text.find(name)
    while i >= 0:
        j = i + len(name)
        if j == len(text) or text[j] not in _WORD_BYTES:
            k = i
            while k > 0 and text[k - 1] in _DIGITS:
                k -= 1
            if k == 0 or text[k - 1] not in _WORD_BYTES:
                return True
        i = text.find(name, i + 1)
    return False


def directives(pattern: re.Pattern[bytes], raw: bytes) -> Iterator[re.Match[bytes]]:
    r"""The matches of ``pattern``, which starts with ``#``, at the start of a
    line after blanks: what ``re.finditer(rb"^[ \t]*" + pattern, raw, re.M)``
    finds, less the blanks.

    The regex engine tries a pattern anchored by ``^`` at every byte of the
    file; one that starts with a literal is searched for quickly, and only
    the few ``#`` not opening a line need dropping (searching again from the
    next byte, so that a dropped match hides nothing)."""
    pos = 0
    while (m := pattern.search(raw, pos)) is not None:
        start = m.start()
        if raw[raw.rfind(b"\n", 0, start) + 1 : start].strip(b" \t"):
            pos = start + 1
            continue
        yield m
        pos = m.end()


def walk(node: Node):
    """Pre-order walk of a subtree without recursion (Xen has deep nests)."""
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            yield cursor.node
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
            if cursor.node == node:
                return
        else:
            return


def functions(root: Node) -> list[Node]:
    """Function definitions of a file, including those nested in #if blocks
    (not those inside another definition), in order."""
    # A cursor, not each node's list of children: a file's big initialisers
    # have thousands of nodes, and building their lists was a third of the
    # time; the kind id is compared, not the type's string.
    fd = _function_kind()
    found: list[Node] = []
    c = root.walk()
    while True:
        n = c.node
        if n is not None and n.kind_id == fd:
            found.append(n)
        elif c.goto_first_child():
            continue
        while not c.goto_next_sibling():
            if not c.goto_parent():
                return found


def stray_errors(root: Node) -> list[Node]:
    """The unparsed stretches of a file outside every function definition
    (an ERROR node, or a node the parser made up, at file scope or in a
    declaration): a definition the parser could not recognise is hidden in
    one, and no function of functions() holds it.  Subtrees without an
    error are not walked (most files have none)."""
    if not root.has_error:
        return []
    fd = _function_kind()
    found: list[Node] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            found.append(n)
        elif n.kind_id != fd:
            stack.extend(c for c in reversed(n.children) if c.has_error or c.is_missing)
    return sorted(found, key=lambda n: n.start_byte)


@cache
def _function_kind() -> int:
    kind = _language().id_for_node_kind("function_definition", True)
    assert kind is not None, "tree-sitter-c names function_definition"
    return kind


def function_name(src: SourceFile, fn: Node) -> str | None:
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    if decl is None:
        return None
    name = decl.child_by_field_name("declarator")
    while name is not None and name.type not in ("identifier", "field_identifier"):
        name = name.child_by_field_name("declarator")
    return src.text(name) if name is not None else None
