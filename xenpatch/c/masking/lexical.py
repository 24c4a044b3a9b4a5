"""Regular expressions, byte tables and token classes shared by the
masking steps."""

from __future__ import annotations

import re

# Comments, literals and preprocessor lines: what the code view blanks.  Run
# on the text after a line break (a directive is one at the start of a line);
# each alternative starts with a distinct byte, which keeps the search fast.
PROTECTED = re.compile(
    rb"""
      /\*[^*]*\*+(?:[^/*][^*]*\*+)*/ | /\*.*\Z | //[^\n\\]*(?:\\(?:\r?\n)?[^\n\\]*)*
    | "[^"\\\n]*(?:\\.[^"\\\n]*)*"?
    | '[^'\\\n]*(?:\\.[^'\\\n]*)*'?
    | \n[ \t]*\#[^\n\\/]*
      (?:(?:\\\r?\n|\\|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*.*\Z|/)[^\n\\/]*)*
    """,
    re.S | re.X,
)
DIRECTIVE = re.compile(rb"[ \t]*#[ \t]*([A-Za-z_]*)")
BLANK = bytes(c if c in (10, 13) else 32 for c in range(256))
WORD_BYTE = [c == 0x5F or chr(c).isalnum() for c in range(256)]
SPACE_BYTE = [c in b" \t\r\n\v\f" for c in range(256)]
MATCH_START = re.Match.start
FUSE = bytes(c if c == 0x5F or chr(c).isalnum() else 0x5F for c in range(256))
BRACKETS = re.compile(rb"[(){}\[\]]")
NEXT = re.compile(rb"\s*+(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9][\w.]*|\.\.\.|\S))")
COMMENT_IN_PP = re.compile(rb'"(?:\\.|[^"\\\n])*"|/\*.*?(?:\*/|\Z)|//[^\n]*', re.S)
NAMED_VARIADIC = re.compile(rb"(?<=[A-Za-z0-9_])\.\.\.(?=\s*\))")
DEFINE_HEAD = re.compile(rb"[ \t]*#[ \t]*define[ \t]+[A-Za-z_]\w*\(([^)]*)\)")
# Runs of code between blanks, a string literal (code view) being one run.
CODE_RUN = re.compile(rb'"[^"\n]*"?|[^\s"]+')
ASM_STATEMENT = re.compile(
    rb"\b(?:asm|__asm__|__asm)\b(?:\s+(?:volatile|__volatile__|goto|inline))*\s*\("
)
DECLARATOR_LIST = re.compile(rb"\s*[A-Za-z_]\w*\s*(?:,\s*[A-Za-z_]\w*\s*)*")
STAR_END = re.compile(rb"\*[\s*]*[,)]")
CONTINUATION = re.compile(rb"\\(?=\r?\n)")
# "#if 0" / "#if 1": a branch no compiler ever sees, whatever the build.
LITERAL_IF = re.compile(rb"[ \t]*\#[ \t]*if[ \t]+\(?[ \t]*(?P<value>[01])[ \t]*\)?\s*$")
# "#define NAME 0" at file scope (comments blanked first): the file's own
# switch of a block, "#if NAME" then seeing a literal (p2m.c's P2M_AUDIT
# until 2011).  Any other #define or #undef of NAME makes it unknown again.
LITERAL_DEFINE = re.compile(
    rb"[ \t]*\#[ \t]*define[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]+\(?[ \t]*(?P<value>[0-9]+)"
    rb"[uUlL]*[ \t]*\)?\s*$")
DEFINE_OR_UNDEF = re.compile(rb"[ \t]*\#[ \t]*(?:define|undef)[ \t]+(?P<name>[A-Za-z_]\w*)")
FALSE_TEST = re.compile(
    rb"[ \t]*\#[ \t]*(?:(?P<word>ifdef|ifndef)[ \t]+"
    rb"|if[ \t]+(?P<not>!?)[ \t]*defined[ \t]*\(?[ \t]*)"
    rb"(?P<name>[A-Za-z_]\w*)[ \t]*\)?\s*$"
)
ELLIPSIS = re.compile(rb"\.\.\.")
# A member declaration's head up to its bit-field width: "uint16_t :9" (no
# name: padding) or "unsigned int flag : 1" (shapes.unnamed_bitfields()).
# The ";" or "{" before it is matched, not looked behind for: a pattern
# opening with a lookbehind is tried at every byte of the file, one opening
# with a character is searched for (a whole tree's masking, 40% less here).
BITFIELD = re.compile(
    rb"[;{]\s*+((?:[A-Za-z_]\w*[ \t]+)*[A-Za-z_]\w*)[ \t]*(:[ \t]*\w+[ \t]*)(?=;)")
# The words that end a bit-field's type (its name is none of them).
INT_TYPE_WORDS = frozenset(b"int char short long unsigned signed bool _Bool".split())
# A function specifier, and the type words a declaration head may have
# written before it (shapes.specifier_order()).
FUNCTION_SPECIFIER = re.compile(rb"\b(?:inline|__inline__|__inline)\b")
TYPE_WORDS_BEFORE = re.compile(
    rb"(?<![\w])(?:(?:unsigned|signed|short|long|int|char|void|float|double|_Bool)[ \t]+)+$")
CALL_CLOSE_THEN_WORD = re.compile(rb"\)(?=\s*[A-Za-z_}])")
CALL_CLOSE_THEN = re.compile(rb"\)\s*([{:])")
ASM_LABEL = re.compile(rb"\s(?:asm|__asm__|__asm)\s*\(")
ATTRIBUTE_KW = re.compile(rb"\b__attribute__\s*\(")
ASM_OPERAND_NAME = re.compile(rb"\[\s*[A-Za-z_][A-Za-z0-9_]*\s*\](?=\s*\")")

# Shapes met at the start of a macro argument: an empty argument, a type
# spelled with keywords, a run of upper-case names (dprintk(XENLOG_ERR
# VTDPREFIX, ...)), a trailing comma.  Each alternative fails on its first
# byte for an ordinary argument, which keeps the search fast.
ARG_SHAPES = re.compile(
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
TRAILING_COMMA = re.compile(rb",\s*+\)")
# A typedef name and stars as an argument: xzalloc_array(cpumask_t *, n).
STAR_ARG = re.compile(rb"[(,]\s*+([A-Za-z_]\w*(?:\s*\*)+)\s*(?=[,)])")

KEYWORDS = frozenset(
    b"auto break case char const continue default do double else enum extern float for "
    b"goto if inline int long register restrict return short signed sizeof static struct "
    b"switch typedef union unsigned void volatile while _Bool bool _Alignof alignof "
    b"__alignof__ __alignof _Static_assert static_assert typeof __typeof__ __typeof "
    b"offsetof __builtin_offsetof asm __asm__ __asm __volatile__ __attribute__ "
    b"__extension__ defined __inline __inline__ __restrict __restrict__ _Noreturn "
    b"__builtin_types_compatible_p __builtin_va_arg".split()
)
# Keywords after which a parenthesised operand is no macro argument list.
NOT_CALLS = KEYWORDS - {b"offsetof", b"__builtin_types_compatible_p"}
CONDITIONAL = frozenset(
    (b"if", b"ifdef", b"ifndef", b"elif", b"elifdef", b"elifndef", b"else", b"endif")
)

# Token classes for deciding whether two #if branches can follow each other.
OPERAND_START_ONLY = frozenset(b"(!~")


def is_word(tok: bytes | None) -> bool:
    if not tok:
        return False
    return WORD_BYTE[tok[0]]


# A preprocessing number that no C number is (vcpu_must_have(3dnow),
# X86EMUL_OPC_XOP(0a, 0x10): pasted into a name by the macro): digits then
# letters that no integer or floating constant spells.  A token ending in
# an exponent's e or p may go on with its sign: taken as a number.
# Found without its "not after a word byte or '.'" (pp_words() tests that,
# PP_AFTER): a pattern opening with a lookbehind is tried at every byte,
# one opening with a digit is searched for.  A match after such a byte is
# all word bytes, so none of the matches it hides could stand either.
PP_WORD = re.compile(rb"[0-9]\w*[A-Za-z_]\w*")
PP_AFTER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
C_NUMBER = re.compile(
    rb"0[xX][0-9a-fA-F]*(?:[pP][0-9]*)?[fFlLuU]*"
    rb"|0[bB][01]+[uUlL]*"
    rb"|[0-9]+(?:[eE][0-9]*)?[fFlLuU]*"
)

IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")

STATEMENT_WORDS = frozenset(
    b"if for while do switch return goto break continue case default static const "
    b"struct union enum unsigned signed int long short char void bool".split()
)


def strip_span(code: bytearray, start: int, end: int) -> tuple[int, int]:
    while start < end and code[start] in b" \t\r\n":
        start += 1
    while end > start and code[end - 1] in b" \t\r\n":
        end -= 1
    return start, end
