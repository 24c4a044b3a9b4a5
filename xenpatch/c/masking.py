"""Same-length masking of Xen C before tree-sitter sees it.

tree-sitter-c knows nothing of Xen's macros, and a single unknown attribute
or loop macro turns a whole function into an ERROR node.  Rewriting the text
would shift offsets, so every transformation here replaces bytes by bytes of
the same count: attribute macros become blanks, ``for_each_x(...) {`` becomes
``while     (...) {``, a type passed to a macro becomes one identifier
(``struct page_info`` -> ``struct_page_info``).  Comments, strings and
preprocessor lines are never touched.  What to treat how is data
(``rules/macros.toml``); this module only knows the shapes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(
    rb"""
    (?P<comment>/\*.*?(?:\*/|\Z)|//(?:\\\r?\n|[^\n])*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])*')
  | (?P<pp>^[ \t]*\#(?:/\*.*?\*/|\\\r?\n|[^\n])*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ellipsis>\.\.\.)
  | (?P<punct>[(){};,:*=]|[^\sA-Za-z0-9_])
    """,
    re.S | re.M | re.X,
)

# Words that start a type when they begin a macro argument.
_TYPE_WORDS = frozenset(
    b"struct union enum const volatile unsigned signed int long short char "
    b"void bool _Bool float double".split()
)
# Keywords whose parenthesised operand is already understood by the grammar.
_NOT_CALLS = frozenset(
    b"if while for switch return sizeof typeof __typeof__ __typeof alignof "
    b"_Alignof __alignof__ offsetof __attribute__ __attribute asm __asm__ "
    b"__asm volatile __volatile__ __builtin_offsetof __builtin_types_compatible_p "
    b"_Static_assert __extension__ defined".split()
)


@dataclass(frozen=True)
class MacroTable:
    """What to mask, loaded from ``rules/macros.toml``."""

    attributes: frozenset[bytes]
    attribute_patterns: tuple[re.Pattern[bytes], ...]
    loops: frozenset[bytes]
    loop_patterns: tuple[re.Pattern[bytes], ...]
    string_prefix_patterns: tuple[re.Pattern[bytes], ...]
    declarators: dict[bytes, int]
    type_macros: frozenset[bytes]
    path: str = "<builtin>"

    def is_attribute(self, name: bytes) -> bool:
        return name in self.attributes or any(p.fullmatch(name) for p in self.attribute_patterns)

    def is_loop(self, name: bytes) -> bool:
        return name in self.loops or any(p.search(name) for p in self.loop_patterns)

    def is_string_prefix(self, name: bytes) -> bool:
        return any(p.fullmatch(name) for p in self.string_prefix_patterns)


class MacroTableError(Exception):
    pass


_MACRO_KEYS = {
    "attributes": list,
    "attribute_patterns": list,
    "loops": list,
    "loop_patterns": list,
    "string_prefix_patterns": list,
    "declarators": dict,
    "type_macros": list,
}


def load_macro_table(path: Path) -> MacroTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MacroTableError(f"{path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MacroTableError(f"{path}: {exc}") from None
    for key, value in data.items():
        if key not in _MACRO_KEYS:
            raise MacroTableError(f"{path}: unknown key '{key}'")
        if not isinstance(value, _MACRO_KEYS[key]):
            raise MacroTableError(f"{path}: key '{key}' must be a {_MACRO_KEYS[key].__name__}")

    def words(key: str) -> frozenset[bytes]:
        return frozenset(w.encode() for w in data.get(key, []))

    def patterns(key: str) -> tuple[re.Pattern[bytes], ...]:
        try:
            return tuple(re.compile(p.encode()) for p in data.get(key, []))
        except re.error as exc:
            raise MacroTableError(f"{path}: key '{key}': bad pattern: {exc}") from None

    declarators = {}
    for name, index in data.get("declarators", {}).items():
        if not isinstance(index, int):
            raise MacroTableError(f"{path}: declarators.{name} must be an integer")
        declarators[name.encode()] = index
    return MacroTable(
        attributes=words("attributes"),
        attribute_patterns=patterns("attribute_patterns"),
        loops=words("loops"),
        loop_patterns=patterns("loop_patterns"),
        string_prefix_patterns=patterns("string_prefix_patterns"),
        declarators=declarators,
        type_macros=words("type_macros"),
        path=str(path),
    )


def default_macro_table() -> MacroTable:
    from xenpatch.paths import rules_dir

    return load_macro_table(rules_dir() / "macros.toml")


class _Masker:
    def __init__(self, raw: bytes, table: MacroTable) -> None:
        self.raw = raw
        self.out = bytearray(raw)
        self.table = table
        self.tokens = [(m.lastgroup, m.start(), m.end()) for m in _TOKEN.finditer(raw)]

    def blank(self, start: int, end: int) -> None:
        for i in range(start, end):
            if self.out[i] not in b"\r\n":
                self.out[i] = 0x20

    def closing(self, i: int) -> int | None:
        """Index of the token closing the '(' at token ``i``."""
        depth = 0
        for j in range(i, len(self.tokens)):
            kind, s, e = self.tokens[j]
            if kind != "punct":
                continue
            c = self.raw[s:e]
            if c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
                if depth == 0:
                    return j
            elif c in (b";", b"{", b"}") and depth > 0 and c != b"{":
                return None
        return None

    def next_code(self, i: int) -> int | None:
        for j in range(i, len(self.tokens)):
            if self.tokens[j][0] != "comment":
                return j
        return None

    def punct_at(self, i: int | None, char: bytes) -> bool:
        if i is None or i >= len(self.tokens):
            return False
        kind, s, e = self.tokens[i]
        return kind == "punct" and self.raw[s:e] == char

    def run(self) -> bytes:
        toks = self.tokens
        i = 0
        while i < len(toks):
            kind, s, e = toks[i]
            if kind == "ident":
                after = self.string_prefix_run(i)
                if after is not None:
                    i = after
                    continue
                i = self.ident(i, self.raw[s:e])
                continue
            if kind == "ellipsis":
                self.case_range(s, e)
            elif kind == "punct" and self.raw[s:e] == b"(":
                self.call_args(i)
            i += 1
        return bytes(self.out)

    def string_prefix_run(self, i: int) -> int | None:
        """Blank ``XENLOG_WARNING VTDPREFIX "..."`` and ``"%" PRIx64 "\\n"`` prefixes.

        Returns the index after the run, or None when ``i`` starts no such run.
        """
        toks = self.tokens
        j = i
        while j < len(toks) and toks[j][0] == "ident" and self.table.is_string_prefix(
            self.raw[toks[j][1] : toks[j][2]]
        ):
            j += 1
        if j == i:
            return None
        before_string = j < len(toks) and toks[j][0] == "string"
        after_string = i > 0 and toks[i - 1][0] == "string"
        if not (before_string or after_string):
            return None
        for k in range(i, j):
            self.blank(toks[k][1], toks[k][2])
        return j

    def case_range(self, s: int, e: int) -> None:
        line_start = self.raw.rfind(b"\n", 0, s) + 1
        if re.search(rb"\bcase\b[^:]*$", self.raw[line_start:s]):
            self.out[s:e] = b"|| "

    def ident(self, i: int, name: bytes) -> int:
        """Handle an identifier token; returns the next token index."""
        _, s, e = self.tokens[i]
        nxt = self.next_code(i + 1)
        opens = self.punct_at(nxt, b"(")
        if self.table.is_attribute(name):
            self.blank(s, e)
            if opens:
                close = self.closing(nxt)
                if close is not None:
                    self.blank(self.tokens[nxt][1], self.tokens[close][2])
                    return close + 1
            return i + 1
        if not opens or name in _NOT_CALLS:
            return i + 1
        close = self.closing(nxt)
        if close is None:
            return i + 1
        if name in self.table.type_macros:
            # XEN_GUEST_HANDLE(foo_t) -> one identifier the grammar takes as a type.
            self.fuse(s, self.tokens[close][2])
            return close + 1
        if name in self.table.declarators:
            self.declarator(i, nxt, close, self.table.declarators[name])
            return close + 1
        if self.table.is_loop(name) and not self.punct_at(self.next_code(close + 1), b";"):
            self.out[s:e] = b"while" + b" " * (e - s - 5)
        return i + 1

    def fuse(self, start: int, end: int) -> None:
        for k in range(start, end):
            if not (chr(self.out[k]).isalnum() or self.out[k] == 0x5F):
                self.out[k] = 0x5F if self.out[k] not in b"\r\n" else self.out[k]

    def declarator(self, i: int, open_i: int, close_i: int, index: int) -> None:
        """DEFINE_PER_CPU(type, name) -> 'int' then only the name, in place."""
        args = self.top_level_args(open_i, close_i)
        _, s, _ = self.tokens[i]
        end = self.tokens[close_i][2]
        if not args or index >= len(args):
            return
        keep_s, keep_e = args[index]
        self.blank(s, end)
        self.out[keep_s:keep_e] = self.raw[keep_s:keep_e]
        if end - s >= 3:
            self.out[s : s + 3] = b"int"

    def top_level_args(self, open_i: int, close_i: int) -> list[tuple[int, int]]:
        """Byte spans of the comma-separated arguments between two tokens."""
        args: list[tuple[int, int]] = []
        depth = 0
        start: int | None = None
        last_end = 0
        for j in range(open_i + 1, close_i):
            kind, s, e = self.tokens[j]
            if kind == "comment":
                continue
            c = self.raw[s:e] if kind == "punct" else b""
            if c in (b"(", b"[", b"{"):
                depth += 1
            elif c in (b")", b"]", b"}"):
                depth -= 1
            elif c == b"," and depth == 0:
                if start is not None:
                    args.append((start, last_end))
                start = None
                continue
            if start is None:
                start = s
            last_end = e
        if start is not None:
            args.append((start, last_end))
        return args

    def call_args(self, open_i: int) -> None:
        """A type in a macro's argument list becomes one identifier."""
        prev = open_i - 1
        while prev >= 0 and self.tokens[prev][0] == "comment":
            prev -= 1
        if prev < 0 or self.tokens[prev][0] != "ident":
            return
        _, ps, pe = self.tokens[prev]
        if self.raw[ps:pe] in _NOT_CALLS:
            return
        close = self.closing(open_i)
        if close is None:
            return
        for s, e in self.top_level_args(open_i, close):
            text = self.raw[s:e]
            words = re.findall(rb"[A-Za-z_]\w*", text)
            if not words or words[0] not in _TYPE_WORDS:
                continue
            if not re.fullmatch(rb"[A-Za-z_\w\s]*[\s*]*", text):
                continue  # an expression or declarator, not a bare type
            self.fuse(s, e)
            # 'struct foo *' fused gives 'struct_foo__'; fine as an identifier.


def mask(raw: bytes, table: MacroTable) -> bytes:
    """Return ``raw`` with Xen's macros masked; same length, same line breaks."""
    return _Masker(raw, table).run()
