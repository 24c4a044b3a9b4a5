"""Same-length masking of Xen C before tree-sitter sees it.

tree-sitter-c knows nothing of Xen's macros nor of its preprocessor
conditionals, and a single unknown attribute or an ``#ifdef`` splitting an
``if`` turns a whole function into an ERROR node.  Rewriting the text would
shift offsets, so every transformation here replaces bytes by bytes of the
same count and keeps every line break.

What to treat how, by name, is data (``rules/macros.toml``, one kind per
key); this module only knows shapes.  It works on a *code view* of the file
(comments, the contents of string and character literals, and preprocessor
lines turned into blanks), so that its regular expressions only ever see
code, and writes its changes to a copy of the raw bytes.  In order:

1. ``#if`` groups and brackets (one pass).  A group between statements is
   left to the parser.  One that splits a statement, an expression, an
   initializer or a function head has its directive lines blanked, so the
   code of every branch stays; when the branches cannot follow each other
   (unbalanced brackets, two operands or two asm operand lists meeting, two
   ``else``) the ``#else``/``#elif`` part is blanked too.  ``#define`` and
   other directives inside an expression or initializer are blanked.
2. ``#define`` bodies: comments (line continuations kept) and the ``...``
   of a named variadic (``args...``) are blanked.
3. Names from the table: attributes blanked with their arguments, loop
   macros turned into ``while``, type macros and ``typeof(...)`` fused into
   one identifier, declarator macros reduced to ``int name``, string macros
   reduced to a string literal, asm operand macros and operand macros made
   to read as asm operands, transparent macros reduced to their arguments,
   block macros made a block of statements, initializer macro pairs made a
   static initializer, keywords renamed (``alignof`` -> ``sizeof``).
4. Names glued to string literals (``XENLOG_WARNING "..."``, ``"%"
   PRIx64``) blanked.
5. Shapes: ``case A ... B`` -> ``case A || B``; an asm template that is no
   string made one; a type or ``typedef *`` passed to a macro fused; an empty
   macro argument loses its comma; a run of prefix names as one argument
   (``dprintk(XENLOG_ERR VTDPREFIX, ...)``) keeps the first; ``r8 asm("r8")``
   -> ``r8 ["r8"]``; ``__attribute__(...)`` before ``=`` blanked;
   ``NAME(args) {`` in a function -> ``while(args) {``; ``NAME(args):`` -> a
   label; a statement macro without its semicolon gets one in the blank
   after it (or becomes a declaration ``NAME a, b;`` or a label).

Comments, string literals and preprocessor lines are left as they are, with
these deliberate exceptions, each needed for the parser: the directive lines
and ``#else`` parts of step 1, the comments and ``...`` of step 2, and the
string arguments of a macro invocation blanked or reduced as a whole (an
attribute macro with a string argument, a string macro with several).
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.errors import XenpatchError

# --------------------------------------------------------------------------
# The macro table

# Table fields that name macros one by one, and the kind each makes; the
# first that holds a name wins, before the attribute and loop patterns.
_NAMED_KINDS = (
    ("renames", "rename"),
    ("declarators", "declarator"),
    ("type_macros", "type"),
    ("string_macros", "string"),
    ("asm_operand_macros", "asm"),
    ("transparent_macros", "transparent"),
    ("operand_macros", "operand"),
    ("block_macros", "block"),
    ("initializer_open_macros", "init_open"),
    ("initializer_close_macros", "init_close"),
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
    string_macros: frozenset[bytes] = frozenset()
    asm_operand_macros: frozenset[bytes] = frozenset()
    transparent_macros: frozenset[bytes] = frozenset()
    operand_macros: frozenset[bytes] = frozenset()
    block_macros: frozenset[bytes] = frozenset()
    initializer_open_macros: frozenset[bytes] = frozenset()
    initializer_close_macros: frozenset[bytes] = frozenset()
    false_macros: frozenset[bytes] = frozenset()
    renames: dict[bytes, bytes] = field(default_factory=dict)
    path: str = "<builtin>"
    # name -> kind, filled lazily (the table is immutable, the cache is not).
    _kinds: dict[bytes, str | None] = field(default_factory=dict, compare=False, repr=False)
    _prefix: dict[bytes, bool] = field(default_factory=dict, compare=False, repr=False)
    _named: set[bytes] = field(default_factory=set, compare=False, repr=False)

    def is_attribute(self, name: bytes) -> bool:
        return name in self.attributes or any(p.fullmatch(name) for p in self.attribute_patterns)

    def is_loop(self, name: bytes) -> bool:
        return name in self.loops or any(p.search(name) for p in self.loop_patterns)

    def is_string_prefix(self, name: bytes) -> bool:
        known = self._prefix.get(name)
        if known is None:
            known = name not in _KEYWORDS and any(
                p.fullmatch(name) for p in self.string_prefix_patterns
            )
            self._prefix[name] = known
        return known

    def kind(self, name: bytes) -> str | None:
        """What the table says of an identifier (None: nothing)."""
        try:
            return self._kinds[name]
        except KeyError:
            pass
        k = next((kind for attr, kind in _NAMED_KINDS if name in getattr(self, attr)), None)
        if k is None and self.is_attribute(name):
            k = "attribute"
        elif k is None and self.is_loop(name):
            k = "loop"
        self._kinds[name] = k
        if k is not None:
            self._named.add(name)
        return k


class MacroTableError(XenpatchError):
    pass


_MACRO_KEYS = {
    "attributes": list,
    "attribute_patterns": list,
    "loops": list,
    "loop_patterns": list,
    "string_prefix_patterns": list,
    "declarators": dict,
    "type_macros": list,
    "string_macros": list,
    "asm_operand_macros": list,
    "transparent_macros": list,
    "operand_macros": list,
    "block_macros": list,
    "initializer_open_macros": list,
    "initializer_close_macros": list,
    "false_macros": list,
    "renames": dict,
}

_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


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
        if _MACRO_KEYS[key] is list and not all(isinstance(v, str) for v in value):
            raise MacroTableError(f"{path}: key '{key}' must be a list of strings")

    def words(key: str) -> frozenset[bytes]:
        return frozenset(w.encode() for w in data.get(key, []))

    def patterns(key: str) -> tuple[re.Pattern[bytes], ...]:
        try:
            return tuple(re.compile(p.encode()) for p in data.get(key, []))
        except re.error as exc:
            raise MacroTableError(f"{path}: key '{key}': bad pattern: {exc}") from None

    declarators = {}
    for name, index in data.get("declarators", {}).items():
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise MacroTableError(f"{path}: declarators.{name} must be a non-negative integer")
        declarators[name.encode()] = index
    renames = {}
    for name, target in data.get("renames", {}).items():
        if not isinstance(target, str) or not _IDENT.fullmatch(target.encode()):
            raise MacroTableError(f"{path}: renames.{name} must be an identifier")
        if len(target) > len(name):
            raise MacroTableError(f"{path}: renames.{name}: '{target}' is longer than the name")
        renames[name.encode()] = target.encode()
    return MacroTable(
        attributes=words("attributes"),
        attribute_patterns=patterns("attribute_patterns"),
        loops=words("loops"),
        loop_patterns=patterns("loop_patterns"),
        string_prefix_patterns=patterns("string_prefix_patterns"),
        declarators=declarators,
        type_macros=words("type_macros"),
        string_macros=words("string_macros"),
        asm_operand_macros=words("asm_operand_macros"),
        transparent_macros=words("transparent_macros"),
        operand_macros=words("operand_macros"),
        block_macros=words("block_macros"),
        initializer_open_macros=words("initializer_open_macros"),
        initializer_close_macros=words("initializer_close_macros"),
        false_macros=words("false_macros"),
        renames=renames,
        path=str(path),
    )


def default_macro_table() -> MacroTable:
    from xenpatch.paths import rules_dir

    return load_macro_table(rules_dir() / "macros.toml")


# --------------------------------------------------------------------------
# Lexical pieces

# Comments, literals and preprocessor lines: what the code view blanks.
# Comments, literals and preprocessor lines: what the code view blanks.  Run
# on the text after a line break (a directive is one at the start of a line);
# each alternative starts with a distinct byte, which keeps the search fast.
_PROTECTED = re.compile(
    rb"""
      /\*[^*]*\*+(?:[^/*][^*]*\*+)*/ | /\*.*\Z | //[^\n\\]*(?:\\(?:\r?\n)?[^\n\\]*)*
    | "[^"\\\n]*(?:\\.[^"\\\n]*)*"?
    | '[^'\\\n]*(?:\\.[^'\\\n]*)*'?
    | \n[ \t]*\#[^\n\\/]*
      (?:(?:\\\r?\n|\\|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*.*\Z|/)[^\n\\/]*)*
    """,
    re.S | re.X,
)
_DIRECTIVE = re.compile(rb"[ \t]*#[ \t]*([A-Za-z_]*)")
_BLANK = bytes(c if c in (10, 13) else 32 for c in range(256))
_WORD_BYTE = [c == 0x5F or chr(c).isalnum() for c in range(256)]
_SPACE_BYTE = [c in b" \t\r\n\v\f" for c in range(256)]
_START = re.Match.start
_FUSE = bytes(c if c == 0x5F or chr(c).isalnum() else 0x5F for c in range(256))
_BRACKETS = re.compile(rb"[(){}\[\]]")
_NEXT = re.compile(rb"\s*+(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9][\w.]*|\.\.\.|\S))")
_COMMENT_IN_PP = re.compile(rb'"(?:\\.|[^"\\\n])*"|/\*.*?(?:\*/|\Z)|//[^\n]*', re.S)
_NAMED_VARIADIC = re.compile(rb"(?<=[A-Za-z0-9_])\.\.\.(?=\s*\))")
_DEFINE_HEAD = re.compile(rb"[ \t]*#[ \t]*define[ \t]+[A-Za-z_]\w*\(([^)]*)\)")
# Runs of code between blanks, a string literal (code view) being one run.
_CODE_RUN = re.compile(rb'"[^"\n]*"?|[^\s"]+')
_ASM_STATEMENT = re.compile(
    rb"\b(?:asm|__asm__|__asm)\b(?:\s+(?:volatile|__volatile__|goto|inline))*\s*\("
)
_DECLARATOR_LIST = re.compile(rb"\s*[A-Za-z_]\w*\s*(?:,\s*[A-Za-z_]\w*\s*)*")
_STAR_END = re.compile(rb"\*[\s*]*[,)]")
_CONTINUATION = re.compile(rb"\\(?=\r?\n)")
_FALSE_TEST = re.compile(
    rb"[ \t]*\#[ \t]*(?:(?P<word>ifdef|ifndef)[ \t]+"
    rb"|if[ \t]+(?P<not>!?)[ \t]*defined[ \t]*\(?[ \t]*)"
    rb"(?P<name>[A-Za-z_]\w*)[ \t]*\)?\s*$"
)
_ELLIPSIS = re.compile(rb"\.\.\.")
_CALL_CLOSE_THEN_WORD = re.compile(rb"\)(?=\s*[A-Za-z_}])")
_CALL_CLOSE_THEN = re.compile(rb"\)\s*([{:])")
_ASM_LABEL = re.compile(rb"\s(?:asm|__asm__|__asm)\s*\(")
_ATTRIBUTE_KW = re.compile(rb"\b__attribute__\s*\(")
_ASM_OPERAND_NAME = re.compile(rb"\[\s*[A-Za-z_][A-Za-z0-9_]*\s*\](?=\s*\")")

# Shapes met at the start of a macro argument: an empty argument, a type
# spelled with keywords, a run of upper-case names (dprintk(XENLOG_ERR
# VTDPREFIX, ...)), a trailing comma.  Each alternative fails on its first
# byte for an ordinary argument, which keeps the search fast.
_ARG_SHAPES = re.compile(
    rb"""
    [(,]\s*+
    (?:
      (?P<empty>,)
    | (?P<type>
        (?:(?:const|volatile)\s+)*
        (?:
           (?:struct|union|enum)\s+[A-Za-z_]\w*
         | (?:unsigned|signed|short|long|int|char|bool|_Bool|float|double|void)\b
           (?:\s+(?:unsigned|signed|short|long|int|char)\b)*
         | (?:const|volatile)\s+[A-Za-z_]\w*
        )
        (?:\s*(?:const|volatile)\b)?
        (?:\s*\*(?:\s*(?:const|volatile)\b)?)*
      )[ \t]*(?=[,)])
    | (?P<run>[A-Z_][A-Z0-9_]*(?:[ \t]+[A-Z_][A-Z0-9_]*)+)(?=\s*,)
    )
    """,
    re.X,
)
_TRAILING_COMMA = re.compile(rb",\s*+\)")
# A typedef name and stars as an argument: xzalloc_array(cpumask_t *, n).
_STAR_ARG = re.compile(rb"[(,]\s*+([A-Za-z_]\w*(?:\s*\*)+)\s*(?=[,)])")

_KEYWORDS = frozenset(
    b"auto break case char const continue default do double else enum extern float for "
    b"goto if inline int long register restrict return short signed sizeof static struct "
    b"switch typedef union unsigned void volatile while _Bool bool _Alignof alignof "
    b"__alignof__ __alignof _Static_assert static_assert typeof __typeof__ __typeof "
    b"offsetof __builtin_offsetof asm __asm__ __asm __volatile__ __attribute__ "
    b"__extension__ defined __inline __inline__ __restrict __restrict__ _Noreturn "
    b"__builtin_types_compatible_p __builtin_va_arg".split()
)
# Keywords after which a parenthesised operand is no macro argument list.
_NOT_CALLS = _KEYWORDS - {b"offsetof", b"__builtin_types_compatible_p"}
_CONDITIONAL = frozenset(
    (b"if", b"ifdef", b"ifndef", b"elif", b"elifdef", b"elifndef", b"else", b"endif")
)

# Token classes for deciding whether two #if branches can follow each other.
_OPERAND_START_ONLY = frozenset(b"(!~")


def _is_word(tok: bytes | None) -> bool:
    return bool(tok) and _WORD_BYTE[tok[0]]


# --------------------------------------------------------------------------
# The masker


@dataclass
class _Directive:
    start: int
    end: int
    word: bytes
    index: int


@dataclass
class _Group:
    """An #if ... #endif group while the scan is inside it."""

    ctx: str  # kind of the innermost open bracket at the #if: T B I P K
    saved: list  # bracket stack at the #if
    directives: list = field(default_factory=list)
    first_end_stack: list | None = None
    balanced: bool = True
    false_branch: int | None = None  # the branch a compiler of C never sees


class _Masker:
    def __init__(self, raw: bytes, table: MacroTable) -> None:
        self.raw = raw
        self.table = table
        self.out = bytearray(raw)
        self.directives: list[_Directive] = []
        self.strings: list[tuple[int, int]] = []
        self.code = bytearray(_PROTECTED.sub(self._protect, b"\n" + raw))
        del self.code[0]
        self.pairs: dict[int, int] = {}
        self.bracket_kind: dict[int, str] = {}
        self.blanked: set[int] = set()
        self._before: dict[int, tuple[int, bytes] | None] = {}
        self._after: dict[int, tuple[int, bytes] | None] = {}
        self.bracket_pos: list[int] = []
        self.parent: dict[int, int | None] = {}

    # -- the code view ---------------------------------------------------

    def _protect(self, m: re.Match[bytes]) -> bytes:
        # Offsets in the text are one more than in ``raw`` (the leading line break).
        text = m.group()
        c = text[0]
        if c == 0x22 or c == 0x27:  # a string or a character literal
            self.strings.append((m.start() - 1, m.end() - 1))
            if len(text) >= 2 and text[-1] == c:
                return text[:1] + text[1:-1].translate(_BLANK) + text[-1:]
            return text[:1] + text[1:].translate(_BLANK)
        if c == 0x0A:  # a preprocessor line, after its line break
            word = _DIRECTIVE.match(text, 1).group(1)
            self.directives.append(_Directive(m.start(), m.end() - 1, word, len(self.directives)))
        return text.translate(_BLANK)

    def blank(self, start: int, end: int) -> None:
        """Blank code and output between two offsets (line breaks stay)."""
        self.out[start:end] = self.out[start:end].translate(_BLANK)
        self.code[start:end] = self.code[start:end].translate(_BLANK)

    def put(self, start: int, text: bytes) -> None:
        self.out[start : start + len(text)] = text
        self.code[start : start + len(text)] = text

    def next_tok(self, pos: int, limit: int | None = None) -> tuple[int, bytes] | None:
        # The limit, when there is one, is a line start: no token straddles it.
        m = _NEXT.match(self.code, pos, len(self.code) if limit is None else limit)
        if m is None:
            return None
        word = m.group(1)
        if word is not None:
            return m.start(1), word
        return m.start(2), m.group(2)

    def prev_tok(self, pos: int, limit: int = 0) -> tuple[int, bytes] | None:
        """The code token that ends before ``pos`` (not before ``limit``)."""
        code = self.code
        space = _SPACE_BYTE
        last = pos - 1
        stop = max(limit, pos - 24)
        while last >= stop and space[code[last]]:
            last -= 1
        if last < stop:
            # A long blank (comments, directives): look further, chunk by chunk.
            window = 256
            end = stop
            while True:
                lo = max(limit, end - window)
                chunk = code[lo:end].rstrip()
                if chunk:
                    break
                if lo == limit:
                    return None
                end = lo
                window *= 4
            last = lo + len(chunk) - 1
        word = _WORD_BYTE
        if not word[code[last]]:
            return last, bytes(code[last : last + 1])
        s = last
        while s > limit and word[code[s - 1]]:
            s -= 1
        return s, bytes(code[s : last + 1])

    def in_string(self, pos: int) -> tuple[int, int] | None:
        i = bisect_left(self.strings, (pos + 1,)) - 1
        if i >= 0 and self.strings[i][0] <= pos < self.strings[i][1]:
            return self.strings[i]
        return None

    # -- driver ------------------------------------------------------------

    def run(self) -> bytes:
        self.scan()
        self.fix_defines()
        self.identifiers()
        self.string_prefixes()
        self.shapes()
        return bytes(self.out)

    # -- preprocessor conditionals and bracket pairs -------------------------

    def scan(self) -> None:
        """Pair brackets and settle every #if group, in one pass over the file.

        Each branch of a group is scanned from the bracket stack of its #if,
        and the scan goes on after #endif from the end of the first branch:
        that is the text the parser sees when a group is reduced to its first
        branch, and the same text otherwise since the other branches are then
        balanced.
        """
        code = self.code
        stack: list[int] = []
        groups: list[_Group] = []
        directives = self.directives
        di = 0
        nd = len(directives)
        next_directive = directives[0].start if nd else len(code) + 1
        pairs = self.pairs
        kinds = self.bracket_kind
        parent = self.parent
        self.bracket_pos = positions = list(map(_START, _BRACKETS.finditer(code)))
        for pos in positions:
            if pos > next_directive:
                while di < nd and directives[di].start < pos:
                    self.directive(directives[di], stack, groups)
                    di += 1
                next_directive = directives[di].start if di < nd else len(code) + 1
            c = code[pos]
            if c == 0x28:  # (
                parent[pos] = stack[-1] if stack else None
                stack.append(pos)
            elif c == 0x29:  # )
                if stack and code[stack[-1]] == 0x28:
                    opener = stack.pop()
                    pairs[opener] = pos
                    pairs[pos] = opener
                else:
                    self.unwind(stack, pos, 0x28)
            elif c == 0x7B:  # {
                parent[pos] = stack[-1] if stack else None
                kinds[pos] = self.brace_kind(pos, stack)
                stack.append(pos)
            elif c == 0x7D:  # }
                if stack and code[stack[-1]] == 0x7B:
                    opener = stack.pop()
                    pairs[opener] = pos
                    pairs[pos] = opener
                else:
                    self.unwind(stack, pos, 0x7B)
            elif c == 0x5B:  # [
                parent[pos] = stack[-1] if stack else None
                stack.append(pos)
            elif stack and code[stack[-1]] == 0x5B:
                opener = stack.pop()
                pairs[opener] = pos
                pairs[pos] = opener
            else:
                self.unwind(stack, pos, 0x5B)
        while di < nd:
            self.directive(directives[di], stack, groups)
            di += 1

    def kind_of(self, opener: int) -> str:
        """B, I (braces), P (parenthesis) or K (square bracket) of an opener."""
        c = self.raw[opener]
        return "P" if c == 0x28 else "K" if c == 0x5B else self.bracket_kind[opener]

    def unwind(self, stack: list, pos: int, want: int) -> None:
        """A closer that does not close the innermost opener: pop to its opener if
        that is near (an unclosed bracket in between), else ignore it."""
        code = self.code
        for depth in range(len(stack) - 2, max(-1, len(stack) - 4), -1):
            if code[stack[depth]] == want:
                opener = stack[depth]
                self.pairs[opener] = pos
                self.pairs[pos] = opener
                del stack[depth:]
                return

    def brace_kind(self, pos: int, stack: list[int]) -> str:
        """B for a block or a struct body, I for an initializer."""
        prev = self.prev_tok(pos)
        if prev is None:
            return "B"
        tok = prev[1]
        if tok == b"=":
            return "I"
        if tok in (b",", b"{"):
            parent = self.kind_of(stack[-1]) if stack else "T"
            return "I" if parent in "IPK" or tok == b"," else "B"
        if tok == b"]":
            return "I"
        if tok == b")":
            # A compound literal: '(type){' after '=', '(', ',' or 'return'.
            opener = self.pairs.get(prev[0])
            if opener is not None:
                before = self.prev_tok(opener)
                if before is None or before[1] in (b"=", b"(", b",", b"return", b"?", b":"):
                    return "I"
        return "B"

    def directive(self, d: _Directive, stack: list, groups: list[_Group]) -> None:
        w = d.word
        if w not in _CONDITIONAL:
            if not self.directive_is_safe(d, stack):
                self.blank(d.start, d.end)
                self.blanked.add(d.start)
            return
        if w.startswith(b"if"):
            ctx = self.kind_of(stack[-1]) if stack else "T"
            g = _Group(ctx, list(stack), [d])
            if self.table.false_macros and w in (b"ifdef", b"ifndef", b"if"):
                g.false_branch = self.false_branch(d)
            groups.append(g)
            return
        if not groups:
            return  # an #else/#endif without #if: leave it to the parser
        g = groups[-1]
        ended = len(g.directives) - 1  # the branch this directive ends
        g.directives.append(d)
        if ended == g.false_branch:
            # Blanked in settle(): its brackets are forgotten.
            stack[:] = g.saved
            if w == b"endif":
                groups.pop()
                if g.first_end_stack is not None:
                    stack[:] = g.first_end_stack
                self.settle(g)
            return
        if stack != g.saved:
            g.balanced = False
        if w == b"endif":
            groups.pop()
            if g.first_end_stack is not None:
                stack[:] = g.first_end_stack
            self.settle(g)
            return
        if g.first_end_stack is None:
            g.first_end_stack = list(stack)
        stack[:] = g.saved

    def false_branch(self, d: _Directive) -> int | None:
        """0 for '#ifdef __ASSEMBLY__', 1 (the #else) for '#ifndef __ASSEMBLY__'."""
        text = _COMMENT_IN_PP.sub(b" ", self.raw[d.start : d.end])
        m = _FALSE_TEST.match(text)
        if m is None or m.group("name") not in self.table.false_macros:
            return None
        negated = m.group("word") == b"ifndef" or m.group("not") == b"!"
        return 1 if negated else 0

    def directive_is_safe(self, d: _Directive, stack: list) -> bool:
        """Does tree-sitter take a directive here (between statements)?"""
        ctx = self.kind_of(stack[-1]) if stack else "T"
        if ctx not in "TB":
            return False
        prev = self.before_directive(d.index)
        if prev is not None and prev[1] not in (b";", b"{", b"}"):
            return False
        nxt = self.after_directive(d.index)
        return nxt is None or nxt[1] != b"else"

    def before_directive(self, i: int) -> tuple[int, bytes] | None:
        """The code token before directive ``i`` (other directives are blank)."""
        memo = self._before
        dirs = self.directives
        walked = []
        tok = None
        while True:
            if i in memo:
                tok = memo[i]
                break
            walked.append(i)
            tok = self.prev_tok(dirs[i].start, dirs[i - 1].end if i else 0)
            if tok is not None or i == 0:
                break
            i -= 1
        for j in walked:
            memo[j] = tok
        return tok

    def after_directive(self, i: int) -> tuple[int, bytes] | None:
        """The code token after directive ``i``."""
        memo = self._after
        dirs = self.directives
        last = len(dirs) - 1
        walked = []
        tok = None
        while True:
            if i in memo:
                tok = memo[i]
                break
            walked.append(i)
            tok = self.next_tok(dirs[i].end, dirs[i + 1].start if i < last else None)
            if tok is not None or i == last:
                break
            i += 1
        for j in walked:
            memo[j] = tok
        return tok

    def settle(self, g: _Group) -> None:
        """Leave a group to the parser, or blank its directives, or its #else part."""
        dirs = g.directives
        branches = [(dirs[i].end, dirs[i + 1].start) for i in range(len(dirs) - 1)]
        if g.false_branch is not None and g.false_branch < len(branches):
            self._before.clear()
            self._after.clear()
            self.blank(*branches[g.false_branch])
        firsts = [self.next_tok(s, e) for s, e in branches]
        lasts = [self.prev_tok(e, s) for s, e in branches]
        safe = (
            g.ctx in "TB"
            and g.balanced
            and self.directive_is_safe(dirs[0], g.saved)
            and all(
                f is None or (f[1] != b"else" and la is not None and la[1] in (b";", b"}"))
                for f, la in zip(firsts, lasts, strict=True)
            )
        )
        if safe:
            return
        self._before.clear()
        self._after.clear()
        for d in dirs:
            self.blank(d.start, d.end)
            self.blanked.add(d.start)
        if len(branches) < 2:
            return
        keep_all = g.balanced
        if keep_all:
            filled = [(f, la) for f, la in zip(firsts, lasts, strict=True) if f is not None]
            for (_, la), (f, _) in zip(filled, filled[1:], strict=False):
                if not self.joins(la[1], f[1], g.ctx):
                    keep_all = False
                    break
            if keep_all and sum(1 for f, _ in filled if f[1] == b"else") > 1:
                keep_all = False
        if not keep_all:
            self.blank(branches[1][0], branches[-1][1])

    def joins(self, last: bytes, first: bytes, ctx: str) -> bool:
        """Can a branch ending with ``last`` be followed by one starting with ``first``?"""
        if first == b"else":
            return last in (b";", b"}")
        if first == b":":
            return False  # a second asm operand list, a second label
        if last in (b";", b"}", b"{", b",", b"(", b"[", b":", b"else", b"do"):
            return True
        if ctx == "B" and last == b")":
            return True  # if heads, statement macros
        last_is_operand = (
            _is_word(last) and last not in _KEYWORDS or last in (b")", b"]", b'"', b"'")
        )
        if not last_is_operand:
            return True  # an operator: the next branch goes on with an operand
        if last == b'"' and (first == b'"' or self.table.is_string_prefix(first)):
            return True  # string concatenation
        if first == b'"' and _is_word(last) and self.table.is_string_prefix(last):
            return True
        if ctx in "TB" and _is_word(last) and _is_word(first):
            return True  # declaration specifiers
        first_is_operand = (
            _is_word(first)
            or first[0] in _OPERAND_START_ONLY
            or first
            in (
                b'"',
                b"'",
            )
        )
        return not first_is_operand

    def fix_defines(self) -> None:
        """Comments and named variadics inside multi-line #defines."""
        for d in self.directives:
            if d.word != b"define" or d.start in self.blanked:
                continue
            text = self.raw[d.start : d.end]
            if b"/" in text:
                for m in _COMMENT_IN_PP.finditer(text):
                    # Blanked, but for the backslashes that continue the line.
                    s = d.start + m.start()
                    if m.group()[:1] == b'"':
                        continue  # a string literal
                    blank = bytearray(m.group().translate(_BLANK))
                    for c in _CONTINUATION.finditer(m.group()):
                        blank[c.start()] = 0x5C
                    self.out[s : d.start + m.end()] = blank
            head = _DEFINE_HEAD.match(text)
            if head is not None and b"..." in head.group(1):
                for m in _NAMED_VARIADIC.finditer(text, head.start(1), head.end(1) + 1):
                    self.out[d.start + m.start() : d.start + m.end()] = b"   "

    # -- identifiers named by the table ------------------------------------

    def identifiers(self) -> None:
        table = self.table
        found = []
        names = set(_IDENT.findall(self.code))
        kinds = table._kinds
        for name in names.difference(kinds):
            table.kind(name)  # classified once per table
        found = [(name, kinds[name]) for name in names & table._named]
        if not found:
            return
        hits = []
        code = self.code
        word = _WORD_BYTE
        for name, k in found:
            n = len(name)
            pos = code.find(name)
            while pos != -1:
                end = pos + n
                if (not pos or not word[code[pos - 1]]) and (
                    end == len(code) or not word[code[end]]
                ):
                    hits.append((pos, end, k))
                pos = code.find(name, end)
        hits.sort()
        done = 0
        for s, e, k in hits:
            if s < done or self.code[s] != self.raw[s]:
                continue  # inside something masked already
            done = getattr(self, "_" + k)(s, e) or e

    def call_span(self, e: int) -> tuple[int, int] | None:
        """The '(' right after offset ``e`` and its ')' (offsets), if any."""
        nxt = self.next_tok(e)
        if nxt is None or nxt[1] != b"(":
            return None
        close = self.pairs.get(nxt[0])
        if close is None:
            return None
        return nxt[0], close

    def _rename(self, s: int, e: int) -> int:
        new = self.table.renames[self.raw[s:e]]
        self.put(s, new + b" " * (e - s - len(new)))
        return e

    def _attribute(self, s: int, e: int) -> int:
        span = self.call_span(e)
        end = span[1] + 1 if span else e
        self.blank(s, end)
        return end

    def _type(self, s: int, e: int) -> int:
        span = self.call_span(e)
        if span is None:
            return e
        end = span[1] + 1
        self.fuse(s, end)
        return end

    def _declarator(self, s: int, e: int) -> int:
        """DEFINE_PER_CPU(type, name) -> 'int' then only the name, in place."""
        span = self.call_span(e)
        if span is None:
            return e
        index = self.table.declarators[self.raw[s:e]]
        args = self.top_level_args(*span)
        end = span[1] + 1
        if index >= len(args):
            return end
        keep_s, keep_e = args[index]
        self.blank(s, end)
        self.put(keep_s, self.raw[keep_s:keep_e])
        if end - s >= 3:
            self.put(s, b"int")
        return end

    def _loop(self, s: int, e: int) -> int:
        span = self.call_span(e)
        if span is None:
            return e
        nxt = self.next_tok(span[1] + 1)
        if nxt is not None and nxt[1] == b";":
            return e
        self.loop_head(s, e)
        return e

    def loop_head(self, s: int, e: int) -> None:
        n = e - s
        if n >= 5:
            self.put(s, b"while" + b" " * (n - 5))
        elif n >= 2:
            self.put(s, b"if" + b" " * (n - 2))

    def _string(self, s: int, e: int) -> int:
        """A macro that expands to a string: reduced to its first string argument,
        or, having none, written as string literals of its own length."""
        span = self.call_span(e)
        if span is None:
            self.stringify(s, e)
            return e
        end = span[1] + 1
        first = None
        for pos in range(span[0], end):
            if self.code[pos] == 0x22:
                first = self.in_string(pos)
                break
        if first is not None:
            self.blank(s, first[0])
            self.blank(first[1], end)
            return end
        self.stringify(s, end)
        return end

    def _asm(self, s: int, e: int) -> int:
        """alternative_io(...): asm operands as macro arguments."""
        span = self.call_span(e)
        if span is None:
            return e
        open_, close = span
        for m in _ASM_OPERAND_NAME.finditer(self.code, open_, close):
            self.blank(m.start(), m.end())
        depth = 0
        for pos in range(open_ + 1, close):
            c = self.code[pos]
            if c in b"([{":
                depth += 1
            elif c in b")]}":
                depth -= 1
            elif c == 0x3A and depth == 0:  # ':' between operand lists
                self.put(pos, b",")
        return e  # the arguments may hold more macros

    def _transparent(self, s: int, e: int) -> int:
        """GUARD(x...) that expands to its arguments: name and parentheses go."""
        span = self.call_span(e)
        if span is None:
            return e
        self.blank(s, e)
        self.blank(span[0], span[0] + 1)
        self.blank(span[1], span[1] + 1)
        return e

    def _operand(self, s: int, e: int) -> int:
        """An asm operand made by a macro: NAME(x, y) reads as '"...." (x| y)'."""
        if e - s >= 2:
            self.put(s, b'"' + b" " * (e - s - 2) + b'"')
        span = self.call_span(e)
        if span is not None:
            for _, b in self.top_level_args(*span)[:-1]:
                comma = self.code.find(b",", b, span[1])
                if comma != -1:
                    self.put(comma, b"|")
        return e

    def _block(self, s: int, e: int) -> int:
        """A macro whose arguments are statements: NAME(a, b, c); -> {a; b; c;}"""
        span = self.call_span(e)
        if span is None:
            return e
        open_, close = span
        nxt = self.next_tok(close + 1)
        if nxt is None or nxt[1] != b";":
            return e
        for _, b in self.top_level_args(open_, close)[:-1]:
            comma = self.code.find(b",", b, close)
            if comma != -1:
                self.put(comma, b";")
        self.blank(s, e)
        self.put(open_, b"{")
        self.put(close, b";")
        self.put(nxt[0], b"}")
        return e

    def _init_open(self, s: int, e: int) -> int:
        """DT_DEVICE_START(name, "x", cls) -> 'int DT_DEVI={name, "x", cls,'"""
        span = self.call_span(e)
        if span is None or span[0] - s < 7:
            return e
        n = span[0] + 1 - s
        self.put(s, b"int " + self.raw[s : s + n - 6] + b"={")
        self.put(span[1], b",")
        return e

    def _init_close(self, s: int, e: int) -> int:
        """DT_DEVICE_END -> '};'"""
        if e - s >= 2:
            self.put(s, b"};" + b" " * (e - s - 2))
        return e

    def stringify(self, start: int, end: int) -> None:
        """Make string literals of the code between two offsets.

        Every run of code outside string literals becomes a literal of its own
        length (a lone character becomes a blank); with the literals already
        there, the whole is one concatenated string.  Comments stay.
        """
        code = self.code
        for m in _CODE_RUN.finditer(code, start, end):
            a, b = m.span()
            if code[a] == 0x22 and self.in_string(a) is not None:
                continue
            if b - a >= 2:
                self.put(a, b'"' + b" " * (b - a - 2) + b'"')
            else:
                self.blank(a, b)

    def fuse(self, start: int, end: int) -> bool:
        """Make one identifier of a span (a type); not across lines or comments."""
        text = self.raw[start:end]
        if b"\n" in text or b"/*" in text or b"//" in text or b'"' in text:
            return False
        fused = text.translate(_FUSE)
        if fused in _KEYWORDS:
            fused = fused[:1].upper() + fused[1:]
        self.put(start, fused)
        return True

    def top_level_args(self, open_: int, close: int) -> list[tuple[int, int]]:
        """Byte spans of the comma-separated arguments between two brackets."""
        args: list[tuple[int, int]] = []
        code = self.code
        pos = open_ + 1
        start = pos
        while pos < close:
            c = code[pos]
            if c in b"([{" and pos in self.pairs:
                pos = self.pairs[pos] + 1
                continue
            if c == 0x2C:
                args.append(_strip(code, start, pos))
                start = pos + 1
            pos += 1
        args.append(_strip(code, start, close))
        if args == [(close, close)] or (len(args) == 1 and args[0][0] == args[0][1]):
            return []
        return args

    # -- identifiers glued to string literals ----------------------------------

    def string_prefixes(self) -> None:
        """Blank ``XENLOG_WARNING VTDPREFIX "..."`` and ``"%" PRIx64 "\\n"`` runs."""
        table = self.table
        code = self.code
        raw = self.raw
        for s, e in self.strings:
            if raw[s] != 0x22 or code[s] != 0x22:
                continue  # a character literal, or blanked
            tok = self.prev_tok(s)
            while tok is not None and _is_word(tok[1]) and table.is_string_prefix(tok[1]):
                self.blank(tok[0], tok[0] + len(tok[1]))
                tok = self.prev_tok(tok[0])
            tok = self.next_tok(e)
            while tok is not None and _is_word(tok[1]) and table.is_string_prefix(tok[1]):
                self.blank(tok[0], tok[0] + len(tok[1]))
                tok = self.next_tok(tok[0] + len(tok[1]))

    # -- shapes ------------------------------------------------------------

    def enclosing(self, pos: int) -> int | None:
        """Offset of the innermost bracket open at ``pos``."""
        i = bisect_left(self.bracket_pos, pos) - 1
        if i < 0:
            return None
        b = self.bracket_pos[i]
        if self.raw[b] in b"([{":
            return b
        opener = self.pairs.get(b)
        if opener is None:
            return None
        return self.parent.get(opener)

    def callee(self, open_: int) -> tuple[int, bytes] | None:
        """The identifier right before a '(' if it names a call or a macro."""
        prev = self.prev_tok(open_)
        if prev is None or not _is_word(prev[1]) or prev[1] in _NOT_CALLS:
            return None
        if prev[1][0] in b"0123456789":
            return None
        return prev

    def starts_statement(self, pos: int) -> str | None:
        """Kind of the enclosing block if a statement can start at ``pos``."""
        prev = self.prev_tok(pos)
        if prev is not None and prev[1] not in (b";", b"{", b"}", b":", b"else", b"do"):
            if prev[1] != b")" or prev[0] not in self.pairs:
                return None
            head = self.prev_tok(self.pairs[prev[0]])
            if head is None or head[1] not in (b"if", b"while", b"for", b"switch"):
                return None
        opener = self.enclosing(pos)
        if opener is None:
            return "T"
        k = self.bracket_kind.get(opener)
        return k if k in ("B",) else None

    def in_call(self, pos: int) -> bool:
        """Is ``pos`` directly inside the parentheses of a call or macro?"""
        opener = self.enclosing(pos)
        return opener is not None and self.code[opener] == 0x28 and self.callee(opener) is not None

    def arguments(self) -> None:
        """Macro arguments: a type becomes one identifier, an empty argument loses
        its comma, a run of prefix names keeps the first."""
        code = self.code
        raw = self.raw
        for m in _ARG_SHAPES.finditer(code):
            if m.start("type") != -1:
                s, e = m.span("type")
                if code[s:e] != raw[s:e] or m.group("type") == b"void":
                    continue
                if self.in_call(s):
                    self.fuse(s, e)
            elif m.start("run") != -1:
                names = _IDENT.findall(m.group("run"))
                if all(self.table.is_string_prefix(n) for n in names) and self.in_call(
                    m.start("run")
                ):
                    self.blank(m.start("run") + len(names[0]), m.end("run"))
            else:
                comma = m.start("empty")
                if code[comma] == 0x2C and self.in_call(comma):
                    self.blank(comma, comma + 1)
        for m in _TRAILING_COMMA.finditer(code):
            if code[m.start()] == 0x2C and self.in_call(m.start()):
                self.blank(m.start(), m.start() + 1)
        # Where a star ends an argument (rare): a typedef name and stars.
        for m in _STAR_END.finditer(code):
            pos = m.start()
            for t in _STAR_ARG.finditer(code, max(0, pos - 80), m.end()):
                s, e = t.span(1)
                name = t.group(1).split(b"*")[0].strip()
                if e < pos or name in _KEYWORDS or code[s:e] != raw[s:e]:
                    continue
                if self.in_call(s):
                    self.fuse(s, e)

    def shapes(self) -> None:
        code = self.code
        # case A ... B:  ->  case A || B:
        for m in _ELLIPSIS.finditer(code) if b"..." in code else ():
            s = m.start()
            tok = self.prev_tok(s)
            steps = 0
            while (
                tok is not None
                and steps < 40
                and tok[1] not in (b"case", b";", b"{", b"}", b":", b"[", b"(", b",")
            ):
                if tok[1] in (b")", b"]") and tok[0] in self.pairs:
                    tok = self.prev_tok(self.pairs[tok[0]])
                else:
                    tok = self.prev_tok(tok[0])
                steps += 1
            if tok is not None and tok[1] == b"case":
                self.put(s, b"|| ")
        # asm ( TEMPLATE_MACRO : ...): the template made a string.
        has_asm = b"asm" in code
        for m in _ASM_STATEMENT.finditer(code) if has_asm else ():
            open_ = m.end() - 1
            close = self.pairs.get(open_)
            if close is None:
                continue
            end = close
            depth = 0
            for pos in range(open_ + 1, close):
                c = code[pos]
                if c in b"([{":
                    depth += 1
                elif c in b")]}":
                    depth -= 1
                elif c == 0x3A and depth == 0:
                    end = pos
                    break
            if any(code[r.start()] != 0x22 for r in _CODE_RUN.finditer(code, open_ + 1, end)):
                self.stringify(open_ + 1, end)
        self.arguments()
        # 'register long r8 asm("r8") = x' -> 'register long r8    ["r8"] = x'
        for m in _ASM_LABEL.finditer(code) if has_asm else ():
            prev = self.prev_tok(m.start() + 1)
            if prev is None or not _is_word(prev[1]) or prev[1] in _KEYWORDS:
                continue
            open_ = m.end() - 1
            close = self.pairs.get(open_)
            if close is None:
                continue
            self.blank(m.start() + 1, open_)
            self.put(open_, b"[")
            self.put(close, b"]")
        # __attribute__((x)) before an initializer: blanked.
        for m in _ATTRIBUTE_KW.finditer(code) if b"__attribute__" in code else ():
            close = self.pairs.get(m.end() - 1)
            if close is None:
                continue
            nxt = self.next_tok(close + 1)
            if nxt is not None and nxt[1] == b"=":
                self.blank(m.start(), close + 1)
        # NAME(args) { -> while(args) {    NAME(args): -> NAME_args_:
        for m in _CALL_CLOSE_THEN.finditer(code):
            close = m.start()
            opener = self.pairs.get(close)
            if opener is None or code[opener] != 0x28:
                continue
            name = self.callee(opener)
            if name is None or self.starts_statement(name[0]) != "B":
                continue
            if m.group(1) == b"{":
                self.loop_head(name[0], name[0] + len(name[1]))
            elif code[m.end() : m.end() + 1] != b":":
                self.fuse(name[0], close + 1)
        # A statement macro without its semicolon: one is written in the blank after it.
        for m in _CALL_CLOSE_THEN_WORD.finditer(code):
            close = m.start()
            opener = self.pairs.get(close)
            if opener is None or code[opener] != 0x28:
                continue
            name = self.callee(opener)
            if name is None:
                continue
            nxt = self.next_tok(close + 1)
            if (
                nxt is None
                or nxt[1] == b"else"
                or (nxt[1] in _KEYWORDS and nxt[1] not in _STATEMENT_WORDS)
            ):
                continue
            where = self.starts_statement(name[0])
            if where not in ("B", "T") or (where == "T" and nxt[1] == b"}"):
                continue
            if where == "T" and self.declares(nxt):
                continue  # ELF_HANDLE_DECL(sym) sym_by_index(...) {: a type macro
            spot = self.blank_after(close + 1, nxt[0])
            if spot is not None:
                self.put(spot, b";")
            elif _DECLARATOR_LIST.fullmatch(self.code, opener + 1, close):
                # No blank before the next token: 'NAME(a, b)' -> 'NAME a, b;',
                # a declaration.
                self.put(opener, b" ")
                self.put(close, b";")
            elif where == "T":
                self.blank(name[0], close + 1)
            elif nxt[1] != b"}" and self.fuse(name[0], close):
                self.put(close, b":")  # 'NAME(4)' -> 'NAME_4_:', a label

    def blank_after(self, start: int, end: int) -> int | None:
        """A space or tab of the raw text between two offsets, before any comment."""
        raw = self.raw
        for i in range(start, end):
            c = raw[i]
            if c == 0x20 or c == 0x09:
                return i
            if c != 0x0A and c != 0x0D:
                return None
        return None

    def declares(self, nxt: tuple[int, bytes]) -> bool:
        """Does ``NAME(...)`` starting at ``nxt`` end a declarator ('{', ';', ',', '=')?"""
        if not _is_word(nxt[1]) or nxt[1] in _KEYWORDS:
            return False
        after = self.next_tok(nxt[0] + len(nxt[1]))
        if after is None or after[1] != b"(":
            return after is not None and after[1] in (b";", b",", b"=", b"[")
        close = self.pairs.get(after[0])
        if close is None:
            return False
        end = self.next_tok(close + 1)
        return end is not None and end[1] in (b"{", b";", b",", b"=")


_STATEMENT_WORDS = frozenset(
    b"if for while do switch return goto break continue case default static const "
    b"struct union enum unsigned signed int long short char void bool".split()
)

_WORD_PATTERNS: dict[bytes, re.Pattern[bytes]] = {}


def _word_pattern(name: bytes) -> re.Pattern[bytes]:
    pat = _WORD_PATTERNS.get(name)
    if pat is None:
        word = re.escape(name) + rb"(?![A-Za-z0-9_])"
        pat = _WORD_PATTERNS[name] = re.compile(word)
    return pat


def _strip(code: bytearray, start: int, end: int) -> tuple[int, int]:
    while start < end and code[start] in b" \t\r\n":
        start += 1
    while end > start and code[end - 1] in b" \t\r\n":
        end -= 1
    return start, end


def mask(raw: bytes, table: MacroTable) -> bytes:
    """Return ``raw`` with Xen's macros masked; same length, same line breaks."""
    return _Masker(raw, table).run()
