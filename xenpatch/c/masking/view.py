"""The code view of a file being masked, and the token and bracket queries
every masking step asks of it.

The view is the raw text with comments, the contents of string and
character literals, and preprocessor lines blanked, so that the steps'
regular expressions only ever see code; every change a step makes goes to
both the view and the output (a copy of the raw bytes), always the same
number of bytes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from xenpatch.c.masking.lexical import (
    BLANK,
    CODE_RUN,
    DIRECTIVE,
    FUSE,
    KEYWORDS,
    NEXT,
    NOT_CALLS,
    PROTECTED,
    SPACE_BYTE,
    WORD_BYTE,
    is_word,
    strip_span,
)
from xenpatch.c.masking.table import MacroTable


@dataclass
class Directive:
    start: int
    end: int
    word: bytes
    index: int


class CodeView:
    """Raw bytes, their code view, the output, and what the bracket scan
    (``conditionals.scan``) learns: bracket pairs, kinds and parents."""

    def __init__(self, raw: bytes, table: MacroTable) -> None:
        self.raw = raw
        self.table = table
        self.out = bytearray(raw)
        self.directives: list[Directive] = []
        self.strings: list[tuple[int, int]] = []
        self.code = bytearray(PROTECTED.sub(self._protect, b"\n" + raw))
        del self.code[0]
        self.pairs: dict[int, int] = {}
        self.bracket_kind: dict[int, str] = {}
        self.blanked: set[int] = set()
        self.before_memo: dict[int, tuple[int, bytes] | None] = {}
        self.after_memo: dict[int, tuple[int, bytes] | None] = {}
        self.bracket_pos: list[int] = []
        self.parent: dict[int, int | None] = {}
        # What the file's own #define and #undef at file scope have said so
        # far in the scan (conditionals.note_define()): the names defined
        # (True) or undefined (False), and those defined as a literal, by
        # whether it is non-zero.
        self.defined_here: dict[bytes, bool] = {}
        self.literal_defines: dict[bytes, bool] = {}
        # The sides of #if groups no build of the file sees (#if 0, and a
        # test the file's own #define decides), blanked by the first step.
        self.dead: list[tuple[int, int]] = []

    def _protect(self, m: re.Match[bytes]) -> bytes:
        # Offsets in the text are one more than in ``raw`` (the leading line break).
        text = m.group()
        c = text[0]
        if c == 0x22 or c == 0x27:  # a string or a character literal
            self.strings.append((m.start() - 1, m.end() - 1))
            if len(text) >= 2 and text[-1] == c:
                return text[:1] + text[1:-1].translate(BLANK) + text[-1:]
            return text[:1] + text[1:].translate(BLANK)
        if c == 0x0A:  # a preprocessor line, after its line break
            head = DIRECTIVE.match(text, 1)
            word = head.group(1) if head is not None else b""
            self.directives.append(Directive(m.start(), m.end() - 1, word, len(self.directives)))
        return text.translate(BLANK)

    def blank(self, start: int, end: int) -> None:
        """Blank code and output between two offsets (line breaks stay)."""
        self.out[start:end] = self.out[start:end].translate(BLANK)
        self.code[start:end] = self.code[start:end].translate(BLANK)

    def put(self, start: int, text: bytes) -> None:
        self.out[start : start + len(text)] = text
        self.code[start : start + len(text)] = text

    def next_tok(self, pos: int, limit: int | None = None) -> tuple[int, bytes] | None:
        # The limit, when there is one, is a line start: no token straddles it.
        m = NEXT.match(self.code, pos, len(self.code) if limit is None else limit)
        if m is None:
            return None
        word = m.group(1)
        if word is not None:
            return m.start(1), word
        return m.start(2), m.group(2)

    def prev_tok(self, pos: int, limit: int = 0) -> tuple[int, bytes] | None:
        """The code token that ends before ``pos`` (not before ``limit``)."""
        code = self.code
        space = SPACE_BYTE
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
        word = WORD_BYTE
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

    def kind_of(self, opener: int) -> str:
        """B, I (braces), P (parenthesis) or K (square bracket) of an opener."""
        c = self.raw[opener]
        return "P" if c == 0x28 else "K" if c == 0x5B else self.bracket_kind[opener]

    def call_span(self, e: int) -> tuple[int, int] | None:
        """The '(' right after offset ``e`` and its ')' (offsets), if any."""
        nxt = self.next_tok(e)
        if nxt is None or nxt[1] != b"(":
            return None
        close = self.pairs.get(nxt[0])
        if close is None:
            return None
        return nxt[0], close

    def loop_head(self, s: int, e: int, close: int | None = None) -> None:
        """A loop macro's name made ``while`` (``if`` if shorter); with no
        arguments (``item_foreach()``) the call is made ``while(1)``, since
        ``while ()`` is no C."""
        if close is not None and close + 1 - s >= 8 and not self.raw[e:close].strip(b" \t("):
            self.put(s, b"while(1)" + b" " * (close + 1 - s - 8))
            return
        n = e - s
        if n >= 5:
            self.put(s, b"while" + b" " * (n - 5))
        elif n >= 2:
            self.put(s, b"if" + b" " * (n - 2))

    def stringify(self, start: int, end: int) -> None:
        """Make string literals of the code between two offsets.

        Every run of code outside string literals becomes a literal of its own
        length (a lone character becomes a blank); with the literals already
        there, the whole is one concatenated string.  Comments stay.
        """
        code = self.code
        for m in CODE_RUN.finditer(code, start, end):
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
        fused = text.translate(FUSE)
        if fused in KEYWORDS:
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
                args.append(strip_span(code, start, pos))
                start = pos + 1
            pos += 1
        args.append(strip_span(code, start, close))
        if args == [(close, close)] or (len(args) == 1 and args[0][0] == args[0][1]):
            return []
        return args

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
        if prev is None or not is_word(prev[1]) or prev[1] in NOT_CALLS:
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
        if not is_word(nxt[1]) or nxt[1] in KEYWORDS:
            return False
        after = self.next_tok(nxt[0] + len(nxt[1]))
        if after is None or after[1] != b"(":
            return after is not None and after[1] in (b";", b",", b"=", b"[")
        close = self.pairs.get(after[0])
        if close is None:
            return False
        end = self.next_tok(close + 1)
        return end is not None and end[1] in (b"{", b";", b",", b"=")
