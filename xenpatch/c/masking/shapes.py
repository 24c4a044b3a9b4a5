"""Step 5 of masking: shapes, whatever the names (see the package docstring)."""

from __future__ import annotations

from xenpatch.c.masking.lexical import (
    ARG_SHAPES,
    ASM_LABEL,
    ASM_OPERAND_NAME,
    ASM_STATEMENT,
    ATTRIBUTE_KW,
    BITFIELD,
    C_NUMBER,
    CALL_CLOSE_THEN,
    CALL_CLOSE_THEN_WORD,
    CODE_RUN,
    DECLARATOR_LIST,
    ELLIPSIS,
    FUNCTION_SPECIFIER,
    IDENT,
    INT_TYPE_WORDS,
    KEYWORDS,
    PP_AFTER,
    PP_WORD,
    STAR_ARG,
    STAR_END,
    STATEMENT_WORDS,
    TRAILING_COMMA,
    TYPE_WORDS_BEFORE,
    is_word,
)
from xenpatch.c.masking.view import CodeView


def arguments(v: CodeView) -> None:
    """Macro arguments: a type becomes one identifier, an empty argument loses
    its comma, a run of prefix names keeps the first."""
    code = v.code
    raw = v.raw
    for m in ARG_SHAPES.finditer(code):
        if m.start("type") != -1:
            s, e = m.span("type")
            if code[s:e] != raw[s:e] or m.group("type") == b"void":
                continue
            if v.in_call(s):
                v.fuse(s, e)
        elif m.start("run") != -1:
            names = IDENT.findall(m.group("run"))
            if all(v.table.is_string_prefix(n) for n in names) and v.in_call(
                m.start("run")
            ):
                v.blank(m.start("run") + len(names[0]), m.end("run"))
        else:
            comma = m.start("empty")
            if code[comma] == 0x2C and v.in_call(comma):
                v.blank(comma, comma + 1)
    for m in TRAILING_COMMA.finditer(code):
        if code[m.start()] == 0x2C and v.in_call(m.start()):
            v.blank(m.start(), m.start() + 1)
    # Where a star ends an argument (rare): a typedef name and stars.
    for m in STAR_END.finditer(code):
        pos = m.start()
        for t in STAR_ARG.finditer(code, max(0, pos - 80), m.end()):
            s, e = t.span(1)
            name = t.group(1).split(b"*")[0].strip()
            if e < pos or name in KEYWORDS or code[s:e] != raw[s:e]:
                continue
            if v.in_call(s):
                v.fuse(s, e)


def pp_words(v: CodeView) -> None:
    """A macro argument that is a preprocessing number but no C number
    (``vcpu_must_have(3dnow)``, pasted into ``vcpu_has_3dnow``): its first
    digit becomes ``_``, an identifier."""
    code = v.code
    for m in PP_WORD.finditer(code):
        start = m.start()
        if start and code[start - 1] in PP_AFTER:
            continue  # inside a word or after a "." (a number's or a member's)
        if not C_NUMBER.fullmatch(m.group()) and v.in_call(start):
            v.put(start, b"_")


def unnamed_bitfields(v: CodeView) -> None:
    """A bit-field without a name (``uint16_t :9;``, padding), which the C
    grammar does not parse: its width becomes a name of underscores
    (``uint16_t __;``), a member like any other.  Only in a struct or
    union's braces, where the head is a type alone: one word (a type
    and a name are two), or words ending in an integer type's keyword."""
    code = v.code
    if b":" not in code:
        return
    for m in BITFIELD.finditer(code):
        words = m.group(1).split()
        if len(words) > 1 and words[-1] not in INT_TYPE_WORDS:
            continue  # "uint16_t size:3": it has a name
        opener = v.enclosing(m.start() + 1)  # after the ";" or "{" matched
        head = v.prev_tok(opener) if opener is not None and code[opener] == 0x7B else None
        if head is not None and head[1] not in (b"struct", b"union"):
            head = v.prev_tok(head[0]) if is_word(head[1]) else None
        if head is None or head[1] not in (b"struct", b"union"):
            continue
        s, e = m.span(2)
        if b"\n" not in code[s:e]:
            v.put(s, b"_" * (e - s))


def case_ranges(v: CodeView) -> None:
    """case A ... B:  ->  case A || B:, and a range A ... B as a macro
    argument (GENERATE_REGS(32 ... 254, r)) likewise."""
    code = v.code
    for m in ELLIPSIS.finditer(code) if b"..." in code else ():
        s = m.start()
        if _operands_around(v, s) and v.in_call(s):
            v.put(s, b"|| ")
            continue
        tok = v.prev_tok(s)
        steps = 0
        while (
            tok is not None
            and steps < 40
            and tok[1] not in (b"case", b";", b"{", b"}", b":", b"[", b"(", b",")
        ):
            if tok[1] in (b")", b"]") and tok[0] in v.pairs:
                tok = v.prev_tok(v.pairs[tok[0]])
            else:
                tok = v.prev_tok(tok[0])
            steps += 1
        if tok is not None and tok[1] == b"case":
            v.put(s, b"|| ")



def _operands_around(v: CodeView, s: int) -> bool:
    """Are the tokens before and after ``...`` at ``s`` operands (not the
    '...' of a parameter list or of a variadic macro's arguments)?"""
    prev = v.prev_tok(s)
    nxt = v.next_tok(s + 3)
    return (
        prev is not None
        and nxt is not None
        and (is_word(prev[1]) and prev[1] not in KEYWORDS or prev[1] == b")")
        and (is_word(nxt[1]) and nxt[1] not in KEYWORDS or nxt[1] == b"(")
    )


def asm_operands_as_arguments(v: CodeView) -> None:
    """A macro argument that is an asm operand ('[dst] "=&c" (x)'): its name
    is blanked, the rest reads as a call of the constraint string."""
    code = v.code
    for m in ASM_OPERAND_NAME.finditer(code) if b"[" in code else ():
        if v.in_call(m.start()):
            v.blank(m.start(), m.end())


def asm_templates(v: CodeView) -> None:
    """asm ( TEMPLATE_MACRO : ...): the template made a string."""
    code = v.code
    for m in ASM_STATEMENT.finditer(code) if b"asm" in code else ():
        open_ = m.end() - 1
        close = v.pairs.get(open_)
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
        if any(code[r.start()] != 0x22 for r in CODE_RUN.finditer(code, open_ + 1, end)):
            v.stringify(open_ + 1, end)



def asm_register_names(v: CodeView) -> None:
    """'register long r8 asm("r8") = x' -> 'register long r8    ["r8"] = x'."""
    code = v.code
    for m in ASM_LABEL.finditer(code) if b"asm" in code else ():
        prev = v.prev_tok(m.start() + 1)
        if prev is None or not is_word(prev[1]) or prev[1] in KEYWORDS:
            continue
        open_ = m.end() - 1
        close = v.pairs.get(open_)
        if close is None:
            continue
        v.blank(m.start() + 1, open_)
        v.put(open_, b"[")
        v.put(close, b"]")



def attributes_before_initializers(v: CodeView) -> None:
    """__attribute__((x)) before an initializer: blanked."""
    code = v.code
    for m in ATTRIBUTE_KW.finditer(code) if b"__attribute__" in code else ():
        close = v.pairs.get(m.end() - 1)
        if close is None:
            continue
        nxt = v.next_tok(close + 1)
        if nxt is not None and nxt[1] == b"=":
            v.blank(m.start(), close + 1)



def call_heads(v: CodeView) -> None:
    """NAME(args) { -> while(args) {    NAME(args): -> NAME_args_:"""
    code = v.code
    for m in CALL_CLOSE_THEN.finditer(code):
        close = m.start()
        opener = v.pairs.get(close)
        if opener is None or code[opener] != 0x28:
            continue
        name = v.callee(opener)
        if name is None or v.starts_statement(name[0]) != "B":
            continue
        if m.group(1) == b"{":
            v.loop_head(name[0], name[0] + len(name[1]), close)
        elif code[m.end() : m.end() + 1] != b":":
            v.fuse(name[0], close + 1)



def statement_semicolons(v: CodeView) -> None:
    """A statement macro without its semicolon: one is written in the blank after it."""
    code = v.code
    for m in CALL_CLOSE_THEN_WORD.finditer(code):
        close = m.start()
        opener = v.pairs.get(close)
        if opener is None or code[opener] != 0x28:
            continue
        name = v.callee(opener)
        if name is None:
            continue
        nxt = v.next_tok(close + 1)
        if (
            nxt is None
            or nxt[1] == b"else"
            or (nxt[1] in KEYWORDS and nxt[1] not in STATEMENT_WORDS)
        ):
            continue
        where = v.starts_statement(name[0])
        if where not in ("B", "T") or (where == "T" and nxt[1] == b"}"):
            continue
        if where == "T" and v.declares(nxt):
            continue  # ELF_HANDLE_DECL(sym) sym_by_index(...) {: a type macro
        spot = v.blank_after(close + 1, nxt[0])
        if spot is not None:
            v.put(spot, b";")
        elif DECLARATOR_LIST.fullmatch(v.code, opener + 1, close):
            # No blank before the next token: 'NAME(a, b)' -> 'NAME a, b;',
            # a declaration.
            v.put(opener, b" ")
            v.put(close, b";")
        elif where == "T":
            v.blank(name[0], close + 1)
        elif nxt[1] != b"}" and v.fuse(name[0], close):
            v.put(close, b":")  # 'NAME(4)' -> 'NAME_4_:', a label


def specifier_order(v: CodeView) -> None:
    """``static unsigned inline int f(void)``: C takes a declaration's
    specifiers in any order, the grammar no function specifier between
    type words.  The specifier is moved ahead of the type words before it
    on its line (``void inline``, which the grammar takes, too): the same
    words, the same length."""
    code = v.code
    raw = v.raw
    for m in FUNCTION_SPECIFIER.finditer(code):
        s, e = m.span()
        line = code.rfind(b"\n", 0, s) + 1
        words = TYPE_WORDS_BEFORE.search(code, line, s)
        if words is None or code[words.start():e] != raw[words.start():e]:
            continue
        types = code[words.start():s].rstrip()
        new = m.group() + b" " + types
        v.put(words.start(), new + b" " * (e - words.start() - len(new)))


# The shapes in the order they run: a later one sees what an earlier one
# wrote (an asm template made a string is no macro argument any more).
SHAPES = (
    pp_words,
    unnamed_bitfields,
    case_ranges,
    asm_templates,
    asm_operands_as_arguments,
    arguments,
    asm_register_names,
    attributes_before_initializers,
    call_heads,
    statement_semicolons,
    specifier_order,
)


def shapes(v: CodeView) -> None:
    for step in SHAPES:
        step(v)
