"""Steps 1 and 2 of masking: ``#if`` groups and bracket pairs, then the
bodies of ``#define``s.

A group between statements is left to the parser.  One that splits a
statement, an expression, an initializer or a function head has its
directive lines blanked, so the code of every branch stays; when the
branches cannot follow each other (unbalanced brackets, two operands or two
asm operand lists meeting, two ``else``) the ``#else``/``#elif`` part is
blanked too.  ``#define`` and other directives inside an expression or
initializer are blanked.  In ``#define`` bodies, comments (line
continuations kept) and the ``...`` of a named variadic are blanked.

A side no build of the file sees is blanked whatever its place: ``#if 0``,
``#if 1``'s ``#else``, and a test of one name that the file's own
``#define`` or ``#undef`` at file scope decides (_own_switch()), written
then as the literal it comes to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xenpatch.c.masking.lexical import (
    BLANK,
    BRACKETS,
    COMMENT_IN_PP,
    CONDITIONAL,
    CONTINUATION,
    DEFINE_HEAD,
    DEFINE_OR_UNDEF,
    FALSE_TEST,
    KEYWORDS,
    LITERAL_DEFINE,
    LITERAL_IF,
    MATCH_START,
    NAMED_VARIADIC,
    OPERAND_START_ONLY,
    is_word,
)
from xenpatch.c.masking.view import CodeView, Directive

# A test of one name in the raw text, the whole directive: '#if NAME',
# '#if !NAME', '#if (NAME)' (the condition, ``cond``), '#if defined(NAME)',
# '#if !defined NAME' (``cond`` too), '#ifdef NAME', '#ifndef NAME' (the
# directive's head, ``head``).
_ONE_NAME = re.compile(
    rb"[ \t]*(?:(?P<head>\#[ \t]*(?P<word>ifdef|ifndef)[ \t]+(?P<hname>[A-Za-z_]\w*))"
    rb"|\#[ \t]*if[ \t]+(?P<cond>(?P<not>!?)[ \t]*(?:(?P<defined>defined)[ \t]*)?"
    rb"(?:\([ \t]*(?P<pname>[A-Za-z_]\w*)[ \t]*\)|(?<![A-Za-z_0-9])(?P<name>[A-Za-z_]\w*))))"
    rb"[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?(?:\r?\n|\Z)")


@dataclass
class _Group:
    """An #if ... #endif group while the scan is inside it."""

    ctx: str  # kind of the innermost open bracket at the #if: T B I P K
    saved: list  # bracket stack at the #if
    directives: list = field(default_factory=list)
    first_end_stack: list | None = None
    balanced: bool = True
    false_branch: int | None = None  # the branch a compiler of C never sees



def scan(v: CodeView) -> None:
    """Pair brackets and settle every #if group, in one pass over the file.

    Each branch of a group is scanned from the bracket stack of its #if,
    and the scan goes on after #endif from the end of the first branch:
    that is the text the parser sees when a group is reduced to its first
    branch, and the same text otherwise since the other branches are then
    balanced.
    """
    code = v.code
    stack: list[int] = []
    groups: list[_Group] = []
    directives = v.directives
    di = 0
    nd = len(directives)
    next_directive = directives[0].start if nd else len(code) + 1
    pairs = v.pairs
    kinds = v.bracket_kind
    parent = v.parent
    v.bracket_pos = positions = list(map(MATCH_START, BRACKETS.finditer(code)))
    for pos in positions:
        if pos > next_directive:
            while di < nd and directives[di].start < pos:
                directive(v, directives[di], stack, groups)
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
                unwind(v, stack, pos, 0x28)
        elif c == 0x7B:  # {
            parent[pos] = stack[-1] if stack else None
            kinds[pos] = brace_kind(v, pos, stack)
            stack.append(pos)
        elif c == 0x7D:  # }
            if stack and code[stack[-1]] == 0x7B:
                opener = stack.pop()
                pairs[opener] = pos
                pairs[pos] = opener
            else:
                unwind(v, stack, pos, 0x7B)
        elif c == 0x5B:  # [
            parent[pos] = stack[-1] if stack else None
            stack.append(pos)
        elif stack and code[stack[-1]] == 0x5B:
            opener = stack.pop()
            pairs[opener] = pos
            pairs[pos] = opener
        else:
            unwind(v, stack, pos, 0x5B)
    while di < nd:
        directive(v, directives[di], stack, groups)
        di += 1


def unwind(v: CodeView, stack: list, pos: int, want: int) -> None:
    """A closer that does not close the innermost opener: pop to its opener if
    that is near (an unclosed bracket in between), else ignore it."""
    code = v.code
    for depth in range(len(stack) - 2, max(-1, len(stack) - 4), -1):
        if code[stack[depth]] == want:
            opener = stack[depth]
            v.pairs[opener] = pos
            v.pairs[pos] = opener
            del stack[depth:]
            return


def brace_kind(v: CodeView, pos: int, stack: list[int]) -> str:
    """B for a block or a struct body, I for an initializer."""
    prev = v.prev_tok(pos)
    if prev is None:
        return "B"
    tok = prev[1]
    if tok == b"=":
        return "I"
    if tok in (b",", b"{"):
        parent = v.kind_of(stack[-1]) if stack else "T"
        return "I" if parent in "IPK" or tok == b"," else "B"
    if tok == b"]":
        return "I"
    if tok == b")":
        # A compound literal: '(type){' after '=', '(', ',' or 'return'.
        opener = v.pairs.get(prev[0])
        if opener is not None:
            before = v.prev_tok(opener)
            if before is None or before[1] in (b"=", b"(", b",", b"return", b"?", b":"):
                return "I"
    return "B"


def directive(v: CodeView, d: Directive, stack: list, groups: list[_Group]) -> None:
    w = d.word
    if w not in CONDITIONAL:
        if w in (b"define", b"undef"):
            note_define(v, d, bool(groups))
        elif w == b"include":
            note_include(v)
        if not directive_is_safe(v, d, stack):
            v.blank(d.start, d.end)
            v.blanked.add(d.start)
        return
    if w.startswith(b"if"):
        ctx = v.kind_of(stack[-1]) if stack else "T"
        g = _Group(ctx, list(stack), [d])
        if w in (b"ifdef", b"ifndef", b"if"):
            own = _own_switch(v, d)
            if own is not None:
                g.false_branch = 1 if own[0] else 0
                literal_condition(v, own)
            else:
                g.false_branch = false_branch(v, d)
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
            settle(v, g)
        return
    if stack != g.saved:
        g.balanced = False
    if w == b"endif":
        groups.pop()
        if g.first_end_stack is not None:
            stack[:] = g.first_end_stack
        settle(v, g)
        return
    if g.first_end_stack is None:
        g.first_end_stack = list(stack)
    stack[:] = g.saved


def note_define(v: CodeView, d: Directive, grouped: bool) -> None:
    """Keep what a #define or #undef at file scope says of its name: defined
    or not, and its value where a literal.  Inside an #if group
    (``grouped``), whose branch a build may or may not take, the name is
    unknown from here on."""
    text = COMMENT_IN_PP.sub(b" ", v.raw[d.start : d.end])
    named = DEFINE_OR_UNDEF.match(text)
    if named is None:
        return
    name = named.group("name")
    v.literal_defines.pop(name, None)
    if grouped:
        v.defined_here.pop(name, None)
        return
    v.defined_here[name] = d.word == b"define"
    lit = LITERAL_DEFINE.match(text)
    if lit is not None:
        v.literal_defines[name] = int(lit.group("value")) != 0


def note_include(v: CodeView) -> None:
    """A header included after a file's '#undef NAME' may define NAME: only
    its definitions stay known (a header's redefinition of one is a
    warning, an error under Xen's -Werror)."""
    for name in [n for n, there in v.defined_here.items() if not there]:
        del v.defined_here[name]


def false_branch(v: CodeView, d: Directive) -> int | None:
    """0 for '#ifdef __ASSEMBLY__' and '#if 0', 1 (the #else) for
    '#ifndef __ASSEMBLY__' and '#if 1'.  (A test the file's own #define
    or #undef decides is _own_switch()'s, asked first.)"""
    text = COMMENT_IN_PP.sub(b" ", v.raw[d.start : d.end])
    lit = LITERAL_IF.match(text)
    if lit is not None:
        return 0 if lit.group("value") == b"0" else 1
    if not v.table.false_macros:
        return None
    m = FALSE_TEST.match(text)
    if m is None or m.group("name") not in v.table.false_macros:
        return None
    negated = m.group("word") == b"ifndef" or m.group("not") == b"!"
    return 1 if negated else 0


def literal_condition(v: CodeView, own: tuple[bool, tuple[int, int], bool]) -> None:
    """A test the file's own #defines decide (_own_switch()'s answer, ``own``)
    written as the literal in the output ('#if 0    ', '#if 1        ' for
    an #ifdef's head): the parse, and the CFG's choice between an #if's
    sides, see what the masking decided.  Every build of the file sees
    that value (a -D of another is a redefinition, an error under Xen's
    -Werror; an #undef ends any -D)."""
    taken, (start, end), head = own
    lit = b"1" if taken else b"0"
    v.out[start:end] = ((b"#if " if head else b"") + lit).ljust(end - start)


def _own_switch(v: CodeView, d: Directive) -> tuple[bool, tuple[int, int], bool] | None:
    """Whether the #if, #ifdef or #ifndef of one name at ``d`` takes its
    first side, by what the file itself said of the name before
    (note_define()): its literal for '#if NAME', defined or not for a
    'defined' test; with the span of the text that says so (the condition,
    or the directive's head: True).  None where the file did not say, or
    where the raw text does not show the test plainly (a comment inside
    it): a side blanked under a test left as it was would be a way through
    neither side."""
    m = _ONE_NAME.match(v.raw, d.start, d.end + 1)
    if m is None:
        return None
    if m.group("head") is not None:
        name, negated, head = m.group("hname"), m.group("word") == b"ifndef", True
    else:
        name, negated, head = m.group("pname") or m.group("name"), m.group("not") == b"!", False
    if m.group("head") is not None or m.group("defined") is not None:
        if name not in v.defined_here:
            return None
        value = v.defined_here[name]
    elif name in v.literal_defines:
        value = v.literal_defines[name]
    else:
        return None
    return value != negated, m.span("head" if head else "cond"), head


def directive_is_safe(v: CodeView, d: Directive, stack: list) -> bool:
    """Does tree-sitter take a directive here (between statements)?"""
    ctx = v.kind_of(stack[-1]) if stack else "T"
    if ctx not in "TB":
        return False
    prev = before_directive(v, d.index)
    if prev is not None and prev[1] not in (b";", b"{", b"}"):
        return False
    nxt = after_directive(v, d.index)
    return nxt is None or nxt[1] != b"else"


def before_directive(v: CodeView, i: int) -> tuple[int, bytes] | None:
    """The code token before directive ``i`` (other directives are blank)."""
    memo = v.before_memo
    dirs = v.directives
    walked = []
    tok = None
    while True:
        if i in memo:
            tok = memo[i]
            break
        walked.append(i)
        tok = v.prev_tok(dirs[i].start, dirs[i - 1].end if i else 0)
        if tok is not None or i == 0:
            break
        i -= 1
    for j in walked:
        memo[j] = tok
    return tok


def after_directive(v: CodeView, i: int) -> tuple[int, bytes] | None:
    """The code token after directive ``i``."""
    memo = v.after_memo
    dirs = v.directives
    last = len(dirs) - 1
    walked = []
    tok = None
    while True:
        if i in memo:
            tok = memo[i]
            break
        walked.append(i)
        tok = v.next_tok(dirs[i].end, dirs[i + 1].start if i < last else None)
        if tok is not None or i == last:
            break
        i += 1
    for j in walked:
        memo[j] = tok
    return tok


def settle(v: CodeView, g: _Group) -> None:
    """Leave a group to the parser, or blank its directives, or its #else part."""
    dirs = g.directives
    branches = [(dirs[i].end, dirs[i + 1].start) for i in range(len(dirs) - 1)]
    if g.false_branch is not None and g.false_branch < len(branches):
        v.before_memo.clear()
        v.after_memo.clear()
        v.blank(*branches[g.false_branch])
        v.dead.append(branches[g.false_branch])
    firsts = [v.next_tok(s, e) for s, e in branches]
    lasts = [v.prev_tok(e, s) for s, e in branches]
    safe = (
        g.ctx in "TB"
        and g.balanced
        and directive_is_safe(v, dirs[0], g.saved)
        and all(
            f is None or (f[1] != b"else" and la is not None and la[1] in (b";", b"}"))
            for f, la in zip(firsts, lasts, strict=True)
        )
    )
    if safe:
        return
    v.before_memo.clear()
    v.after_memo.clear()
    for d in dirs:
        v.blank(d.start, d.end)
        v.blanked.add(d.start)
    if len(branches) < 2:
        return
    keep_all = g.balanced
    if keep_all:
        filled = [(f, la) for f, la in zip(firsts, lasts, strict=True)
                  if f is not None and la is not None]
        for (_, la), (f, _) in zip(filled, filled[1:], strict=False):
            if not joins(v, la[1], f[1], g.ctx):
                keep_all = False
                break
        if keep_all and sum(1 for f, _ in filled if f[1] == b"else") > 1:
            keep_all = False
        if keep_all and len(filled) > 1 and g.ctx == "B" and is_body(v, dirs[0]):
            keep_all = False  # two statements where the head takes one
    if not keep_all:
        v.blank(branches[1][0], branches[-1][1])


def is_body(v: CodeView, d: Directive) -> bool:
    """Does the group opened by ``d`` stand for the one statement of an
    ``if``, ``for``, ``while``, ``switch``, ``else`` or ``do``?"""
    prev = before_directive(v, d.index)
    if prev is None:
        return False
    if prev[1] in (b"else", b"do"):
        return True
    if prev[1] != b")" or prev[0] not in v.pairs:
        return False
    head = v.prev_tok(v.pairs[prev[0]])
    return head is not None and head[1] in (b"if", b"for", b"while", b"switch")


def joins(v: CodeView, last: bytes, first: bytes, ctx: str) -> bool:
    """Can a branch ending with ``last`` be followed by one starting with ``first``?"""
    if ctx == "I" and last == b"}" and first not in (b",", b"}"):
        return False  # two initializers with no comma between
    if first == b"else":
        return last in (b";", b"}")
    if first == b":":
        return False  # a second asm operand list, a second label
    if last in (b";", b"}", b"{", b",", b"(", b"[", b":", b"else", b"do"):
        return True
    if ctx == "B" and last == b")":
        return True  # if heads, statement macros
    if ctx in "TB" and is_word(last) and is_word(first):
        # Two alternatives no build sees together: declaration heads
        # (`void` / `#else` / `static void`), operands after an `=`.
        return False
    last_is_operand = (
        is_word(last) and last not in KEYWORDS or last in (b")", b"]", b'"', b"'")
    )
    if not last_is_operand:
        return True  # an operator: the next branch goes on with an operand
    if last == b'"' and (first == b'"' or v.table.is_string_prefix(first)):
        return True  # string concatenation
    if first == b'"' and is_word(last) and v.table.is_string_prefix(last):
        return True
    first_is_operand = (
        is_word(first)
        or first[0] in OPERAND_START_ONLY
        or first
        in (
            b'"',
            b"'",
        )
    )
    return not first_is_operand


def fix_defines(v: CodeView) -> None:
    """Comments and named variadics inside multi-line #defines."""
    for d in v.directives:
        if d.word != b"define" or d.start in v.blanked:
            continue
        text = v.raw[d.start : d.end]
        if b"/" in text:
            for m in COMMENT_IN_PP.finditer(text):
                # Blanked, but for the backslashes that continue the line.
                s = d.start + m.start()
                if m.group()[:1] == b'"':
                    continue  # a string literal
                blank = bytearray(m.group().translate(BLANK))
                for c in CONTINUATION.finditer(m.group()):
                    blank[c.start()] = 0x5C
                v.out[s : d.start + m.end()] = blank
        head = DEFINE_HEAD.match(text)
        if head is not None and b"..." in head.group(1):
            for m in NAMED_VARIADIC.finditer(text, head.start(1), head.end(1) + 1):
                v.out[d.start + m.start() : d.start + m.end()] = b"   "
