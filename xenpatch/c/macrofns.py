"""Functions a file writes through a macro, expanded as the compiler would.

Xen generates families of helpers with a macro whose body is a function
definition, instantiated at file scope (4.12's ``sched-if.h``):

    #define sched_lock(kind, param, cpu, irq, arg...) \\
    static inline spinlock_t *kind##_schedule_lock##irq(param EXTRA_TYPE(arg)) \\
    { ... spin_lock##irq(lock, ## arg); ... return lock; ... }
    #define EXTRA_TYPE(arg)
    sched_lock(vcpu, const struct vcpu *v, v->processor, _irq)

The instantiated ``vcpu_schedule_lock_irq()`` exists nowhere as text, so a
call of it resolves to nothing unless the instance is written out.  This
module writes it out: a small preprocessor that expands, at each file-scope
use of a function-like macro whose body holds a ``{``, that macro with the
macros the same file defines *at that point* (``#define``/``#undef`` are
followed in order, ``EXTRA_TYPE`` above is redefined between uses), with
``##`` pasting, ``#`` stringising, variadic parameters (``arg...`` and
``__VA_ARGS__``) and GNU's ``, ## arg`` comma elision.  Macros of other
files are left as written: the analysis reads them as it reads any code.
Of conditional groups only the first branch's definitions count (one build
is assumed, as for the rest of a header).

What comes out is the text of each function defined, by name, for the
header index to treat like any ``static inline`` written by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from xenpatch.c.brackets import closing

# Strings and character literals are kept; comments become blanks (their
# newlines kept, so that line structure survives for the directive walk).
_LEX = re.compile(
    r"(\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')|/\*.*?\*/|//[^\n]*", re.S
)
_TOKEN = re.compile(
    r"\s+|[A-Za-z_]\w*|\.?\d(?:[\w.]|[eEpP][+-])*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'"
    r"|##|->|\.\.\.|<<=|>>=|[-+*/%&|^!=<>]=|&&|\|\||<<|>>|\+\+|--|\S"
)
_IDENT = re.compile(r"[A-Za-z_]\w*")
_DIRECTIVE = re.compile(r"[ \t]*#[ \t]*(\w*)[ \t]*(.*)")
_DEFINE = re.compile(r"([A-Za-z_]\w*)(\(([^)]*)\))?[ \t]*(.*)", re.S)
_FN_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*\(.*)$", re.M)
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'")
# Nested expansions beyond this are not followed (a macro set that never
# settles is no C a compiler accepts either).
_DEPTH = 32


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...] | None  # None: object-like
    variadic: str | None  # the variadic parameter's name, if any
    body: tuple[str, ...]  # tokens, blanks as " "


def _tokens(text: str) -> list[str]:
    return [" " if t[0].isspace() else t for t in _TOKEN.findall(text)]


def _clean(raw: bytes) -> str:
    # Continuation lines first (a comment inside a macro's body spans
    # them), so that each directive is one line from here on.
    text = re.sub(r"\\\r?\n", " ", raw.decode(errors="replace"))

    def blank(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return " " + "\n" * m.group(0).count("\n")

    return _LEX.sub(blank, text)


def _macro(spec: str) -> Macro | None:
    m = _DEFINE.match(spec)
    if m is None:
        return None
    name, has_params, params_text, body = m.group(1), m.group(2), m.group(3), m.group(4)
    variadic = None
    params: tuple[str, ...] | None = None
    if has_params is not None:
        ps = [p.strip() for p in params_text.split(",")] if params_text.strip() else []
        if ps and ps[-1].endswith("..."):
            variadic = ps[-1][:-3].strip() or "__VA_ARGS__"
            ps[-1] = variadic
        if any(not _IDENT.fullmatch(p) for p in ps):
            return None
        params = tuple(ps)
    return Macro(name, params, variadic, tuple(_tokens(body.strip())))


@lru_cache(maxsize=4096)
def _defines_function(m: Macro) -> bool:
    """Is the body a function definition (or several), not a statement
    (``do { ... } while (0)``, ``({ ... })``, ``if ( x ) { ... }``)?"""
    if m.params is None or "{" not in m.body:
        return False
    return bool(definitions(_join(list(m.body))))


def _split_args(toks: list[str]) -> list[list[str]]:
    """Top-level comma-separated arguments of a token list (without the
    outer parentheses)."""
    out: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        if t in ("(", "[", "{"):
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
        if t == "," and depth == 0:
            out.append([])
        else:
            out[-1].append(t)
    return [_strip(a) for a in out]


def _strip(toks: list[str]) -> list[str]:
    lo, hi = 0, len(toks)
    while lo < hi and toks[lo] == " ":
        lo += 1
    while hi > lo and toks[hi - 1] == " ":
        hi -= 1
    return toks[lo:hi]


def _next(toks: tuple[str, ...] | list[str], i: int) -> int:
    """Index of the first non-blank token at or after i (len if none)."""
    while i < len(toks) and toks[i] == " ":
        i += 1
    return i


class Expander:
    """The macros a file has defined so far, and their expansion."""

    def __init__(self) -> None:
        self.macros: dict[str, Macro] = {}

    def define(self, spec: str) -> None:
        m = _macro(spec)
        if m is not None:
            self.macros[m.name] = m

    def undef(self, name: str) -> None:
        self.macros.pop(name.strip(), None)

    def expand(self, toks: list[str], off: frozenset[str] = frozenset(),
               depth: int = 0) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            m = self.macros.get(t)
            if m is None or t in off or depth > _DEPTH:
                out.append(t)
                i += 1
                continue
            if m.params is None:
                out.extend(self.expand(list(m.body), off | {t}, depth + 1))
                i += 1
                continue
            j = _next(toks, i + 1)
            if j >= len(toks) or toks[j] != "(":
                out.append(t)  # a function-like macro's name alone
                i += 1
                continue
            end = closing(toks, j, "(", ")")
            if end is None:
                out.append(t)
                i += 1
                continue
            args = self._bind(m, _split_args(toks[j + 1 : end]))
            if args is None:
                out.extend(toks[i : end + 1])
            else:
                body = self._substitute(m, args, off | {t}, depth)
                out.extend(self.expand(body, off | {t}, depth + 1))
            i = end + 1
        return out

    @staticmethod
    def _bind(m: Macro, args: list[list[str]]) -> dict[str, list[str]] | None:
        assert m.params is not None
        ps = m.params
        if args == [[]] and not ps:
            return {}
        if m.variadic is not None:
            fixed = len(ps) - 1
            if len(args) < fixed:
                return None
            rest = args[fixed:]
            joined: list[str] = []
            for k, a in enumerate(rest):
                if k:
                    joined.append(",")
                    joined.append(" ")
                joined.extend(a)
            bound = dict(zip(ps[:fixed], args[:fixed], strict=True))
            bound[m.variadic] = joined
            return bound
        if len(args) != len(ps):
            return None
        return dict(zip(ps, args, strict=True))

    def _substitute(self, m: Macro, args: dict[str, list[str]], off: frozenset[str],
                    depth: int) -> list[str]:
        body = m.body
        out: list[str] = []
        i = 0
        while i < len(body):
            t = body[i]
            if t == "#" and (j := _next(body, i + 1)) < len(body) and body[j] in args:
                out.append(_stringise(args[body[j]]))
                i = j + 1
                continue
            if t == "##":
                while out and out[-1] == " ":
                    out.pop()
                j = _next(body, i + 1)
                if j >= len(body):
                    break
                r = body[j]
                rhs = list(args[r]) if r in args else [r]
                if r == m.variadic and out and out[-1] == ",":
                    # GNU: ", ## args" drops the comma when args is empty
                    # and pastes nothing otherwise.
                    if not rhs:
                        out.pop()
                    else:
                        out.append(" ")
                        out.extend(rhs)
                elif rhs:
                    if out:
                        out[-1] = out[-1] + rhs[0]
                        out.extend(rhs[1:])
                    else:
                        out.extend(rhs)
                i = j + 1
                continue
            if t in args:
                j = _next(body, i + 1)
                if j < len(body) and body[j] == "##":
                    out.extend(args[t])  # pasted: as written
                else:
                    out.extend(self.expand(list(args[t]), off, depth + 1))
                i += 1
                continue
            out.append(t)
            i += 1
        # Pasting made new tokens ("spin_unlock" "_irqsave"): read again.
        return _tokens(_join(out))


def _stringise(toks: list[str]) -> str:
    s = _join(toks).strip()
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _join(toks: list[str]) -> str:
    out: list[str] = []
    for t in toks:
        if out and t != " " and out[-1] != " " and (
            (out[-1][-1].isalnum() or out[-1][-1] == "_") and (t[0].isalnum() or t[0] == "_")
        ):
            out.append(" ")
        out.append(t)
    return "".join(out)


def _depth_change(line: str) -> int:
    if "{" not in line and "}" not in line:
        return 0  # most lines: no need to drop their strings first
    s = _STRINGS.sub("", line)
    return s.count("{") - s.count("}")


def function_instances(raw: bytes) -> list[tuple[str, bytes]]:
    """The functions the file-scope uses of ``raw``'s function-defining
    macros define: (name, definition text), in the file's order."""
    if b"define" not in raw or b"{" not in raw:
        return []
    text = _clean(raw)
    # Most files define no such macro: say so before walking every line.
    if not any(m is not None and _defines_function(m)
               for d in _FN_DEFINE.finditer(text) if "{" in d.group(1)
               for m in (_macro(d.group(1)),)):
        return []
    lines = text.split("\n")
    ex = Expander()
    out: list[tuple[str, bytes]] = []
    depth = 0
    # Conditional groups: True while in a branch after the first one.
    skipping: list[bool] = []
    pending: list[str] = []  # a use spanning lines, until its parens close
    for line in lines:
        d = _DIRECTIVE.fullmatch(line) if line.lstrip().startswith("#") else None
        if d is not None:
            word, rest = d.group(1), d.group(2)
            if word in ("if", "ifdef", "ifndef"):
                skipping.append(False)
            elif word in ("else", "elif", "elifdef", "elifndef") and skipping:
                skipping[-1] = True
            elif word == "endif" and skipping:
                skipping.pop()
            elif any(skipping):
                continue
            elif word == "define":
                ex.define(rest)
            elif word == "undef":
                ex.undef(rest)
            continue
        if any(skipping):
            continue
        if pending:
            pending.append(line)
            got = _use(ex, "\n".join(pending))
            if got is not None:
                out.extend(got)
                pending = []
            continue
        if depth == 0:
            m = _IDENT.match(line.lstrip())
            mac = ex.macros.get(m.group(0)) if m is not None else None
            if mac is not None and _defines_function(mac):
                got = _use(ex, line)
                if got is None:
                    pending = [line]
                else:
                    out.extend(got)
                continue
        depth = max(0, depth + _depth_change(line))
    return out


def _use(ex: Expander, text: str) -> list[tuple[str, bytes]] | None:
    """The functions one use defines; None while its parentheses are open."""
    toks = _tokens(text)
    j = _next(toks, 1)
    if j >= len(toks) or toks[j] != "(":
        return []
    end = closing(toks, j, "(", ")")
    if end is None:
        return None if len(text) < 20000 else []
    return [(n, d.encode()) for n, d in definitions(_join(ex.expand(toks[: end + 1])))]


def definitions(text: str) -> list[tuple[str, str]]:
    """Function definitions at the top level of ``text``: (name, text)."""
    toks = _tokens(text)
    out: list[tuple[str, str]] = []
    start = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in (";", "}"):
            start = i + 1
        elif t == "{":
            end = closing(toks, i, "{", "}")
            if end is None:
                break
            name = _declared_name(toks[start:i])
            if name is not None:
                out.append((name, _join(toks[start : end + 1]).strip()))
            i = end + 1
            start = i
            continue
        i += 1
    return out


def _declared_name(head: list[str]) -> str | None:
    """``static inline T *name(params)``: name; None if the head is not a
    function's (a struct, an initialiser).  The name is the word before the
    last parenthesised group (``typeof(x) name(params)``)."""
    toks = [t for t in head if t != " "]
    if not toks or toks[-1] != ")" or "=" in toks:
        return None
    depth = 0
    for k in range(len(toks) - 1, -1, -1):
        if toks[k] == ")":
            depth += 1
        elif toks[k] == "(":
            depth -= 1
            if depth == 0:
                if k and _IDENT.fullmatch(toks[k - 1]) and not toks[k - 1].startswith("__"):
                    return toks[k - 1]
                return None
    return None
