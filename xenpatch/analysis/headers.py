"""Lock helpers defined in a Xen tree's headers, found once per process.

Two kinds are collected: function-like macros whose body is a single call
(``#define domain_lock(d) spin_lock_recursive(&(d)->domain_lock)``), which
become wrappers, and ``static inline`` functions that call the lock API,
which the file analysis summarises on demand.  Only headers whose text
mentions a lock name are parsed, which keeps this cheap enough for the
single-file pre-commit case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from xenpatch.analysis.headertexts import tree_header_dirs
from xenpatch.analysis.lockkeys import balanced_parens
from xenpatch.analysis.locktable import Stated, Wrapper
from xenpatch.analysis.pathmacros import path_of
from xenpatch.c.noreturn import declared
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.texts import read_bytes

T = TypeVar("T")

# A call of a name containing "lock" (unlock too).  Written this way, not
# as \b\w*lock\w*\s*\(, it matches in the same texts: any "lock" lies in a word
# whose start satisfies \b; but starting from the literal lets the regex
# engine skip ahead, instead of trying \w* at every word of every header.
_LOCKY = re.compile(rb"lock\w*\s*\(")


@dataclass
class HeaderIndex:
    root: Path | None
    wrappers: dict[str, Wrapper] = field(default_factory=dict)
    # inline function name -> its definition's text (parsed lazily, alone)
    inlines: dict[str, bytes] = field(default_factory=dict)
    locky: set[str] = field(default_factory=set)
    # (struct type, "->field") of every percpu_rwlock_t member a header
    # declares: a raw rwlock call on one is XL004 even in a file that shows
    # no percpu use of it (a site a conversion missed).
    percpu_fields: set[tuple[str, str]] = field(default_factory=set)
    arch: str | None = None  # whose headers these are: the build the file is linted for
    # What is derived from the index (inline_ids(), the lint's seed names),
    # kept with it: an index lives as long as the process's caches of it,
    # and a new index, whatever its id(), starts with none.
    _derived: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, once per index and key.  An index is complete when
        built (_index, _local_index): what is derived stays true."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            got = self._derived[key] = make()
            return got
    # Integer-literal macros of the headers beside the file (values.constant_macros).
    consts: dict[str, str] = field(default_factory=dict)
    # Functions the headers declare noreturn (analysis/noreturn.py).
    noreturn: frozenset[str] = frozenset()
    # Macros whose body is an access path of their parameter
    # (analysis/pathmacros.py): dom_iommu(d) is &(d)->iommu.
    paths: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def macro_wrappers(raw: bytes,
                   paths: dict[str, tuple[str, str, str]] | None = None) -> dict[str, Wrapper]:
    """``#define NAME(a, b) CALLEE(args)`` macros as wrappers of CALLEE.
    ``paths``: filled with the macros whose body is an access path of their
    parameter (pathmacros.py), read in the same pass: of a name defined
    more than once, the first definition (one build is assumed).

    Also unwraps ``({ ... })``/``do { CALL; } while (0)`` around a single
    call, and reads a block of statements whose one lock call is all it does
    to the locks (stmtmacros.py: its other statements assert, store, or
    stop the hypervisor).  Token pasting (``##``) and other multi-statement
    bodies are skipped: a table entry must describe those.
    """
    # Imported here: find_xen_root() is all the lint's cache needs of this
    # module, and the C front end is most of a warm run's import time.
    from xenpatch.c.masking.derive import dead_spans, in_spans
    from xenpatch.c.source import directives

    # A cold single-file run reads every #define of hundreds of headers
    # here: each regex is asked only where its text can match.
    out: dict[str, Wrapper] = {}
    seen: set[bytes] = set()
    # A definition under #if 0 is none (2006's shadow.h kept the spinlock
    # form of shadow_lock() there, the big lock's after #else).
    dead = dead_spans(raw)
    for m in directives(FN_DEFINE, raw):
        if dead and in_spans(m.start(), dead):
            continue
        first = m.group(1) not in seen
        seen.add(m.group(1))
        body = define_body(m)
        if body is None:
            continue
        block = False  # the body is a block's statements
        if body.startswith("do") and (head := _DO_HEAD.match(body)) is not None:
            # The body of "do { ... } while (0)": up to the first place
            # from which the rest is ";} while (0)" (what a lazy (.*?)
            # before it finds, a character at a time).
            tail = _DO_TAIL.search(body, head.end())
            if tail is not None:
                body = body[head.end():tail.start()].strip()
                block = True
        for _ in range(3):
            while body.startswith("(") and body.endswith(")") and _balanced(body[1:-1]):
                body = body[1:-1].strip()
            # lock_evaluate_nospec(x) is x with a speculation barrier.
            if "evaluate_nospec" in body:
                t = _NOSPEC.fullmatch(body)
                if t and _balanced(t.group(1)):
                    body = t.group(1).strip()
        call = _CALLED.fullmatch(body)
        if call is None and first and paths is not None and ("->" in body or "." in body):
            got = path_of(define_params(m), body)
            if got is not None:
                paths[m.group(1).decode()] = got
                continue
        if call is None and (cast := _CAST.match(body)) is not None:
            # xmalloc(t) is ((t *)_xmalloc(sizeof(t), ...)): the cast
            # changes the value's type, not the call.
            call = _CALLED.fullmatch(body[cast.end():])
        stated = None
        if call is None or not _balanced(call.group(2)):
            # A statement macro ("({ ... })" leaves "{ ... }" here) whose one
            # lock call is all it does to the locks.  Only a body naming a
            # lock is worth reading (most statement macros name none).
            if "lock" not in body.lower():
                continue
            if not block and body.startswith("{") and body.endswith("}"):
                body, block = body[1:-1], True
            if not block or (one := _statement_form(m.group(2), body)) is None:
                continue
            callee, argtext, stated = one
            args = split_args(argtext)
        else:
            callee = call.group(1)
            args = split_args(call.group(2))
        templ = templated(define_params(m), args)
        name = m.group(1).decode()
        if templ is not None and callee != name:
            out[name] = Wrapper(name, callee, templ, stated=stated)
    return out


def define_body(m: re.Match[bytes]) -> str | None:
    """A ``FN_DEFINE`` match's body as text, its continuations joined and
    comments blanked; None for an empty one or one pasting tokens."""
    text = m.group(3)
    if b"\\" in text:
        text = _CONTINUED.sub(b" ", text)
    body = text.decode(errors="replace").strip()
    if "##" in body or not body:
        return None
    if "/*" in body:
        body = _COMMENT.sub(" ", body).strip()
    return body


def define_params(m: re.Match[bytes]) -> list[str]:
    """A ``FN_DEFINE`` match's parameter names."""
    return [p.strip() for p in m.group(2).decode().split(",") if p.strip()]


def path_macros(raw: bytes) -> dict[str, tuple[str, str, str]]:
    """The text's macros whose body is an access path of their parameter
    (analysis/pathmacros.py), as macro_wrappers() reads them."""
    paths: dict[str, tuple[str, str, str]] = {}
    if b"define" in raw:
        macro_wrappers(raw, paths)
    return paths


def templated(params: list[str], args: list[str]) -> tuple[str, ...] | None:
    """A macro's call arguments with each parameter named in them as $i
    (the first of a name given twice); None for a variadic macro."""
    if any(not _PARAM.fullmatch(p) for p in params):
        return None
    # A word, as \bp\b finds it, is a whole run of word characters.  One
    # regex for all, not one compiled per name.
    index: dict[str, str] = {}
    for i, p in enumerate(params):
        index.setdefault(p, f"${i}")
    return tuple(_WORD.sub(partial(_param, index), a) for a in args)


def _statement_form(params: bytes, body: str) -> tuple[str, str, Stated] | None:
    """stmtmacros.statement_call() of a macro's block (imported here: few
    headers have one)."""
    from xenpatch.analysis.stmtmacros import statement_call

    names = [p.strip() for p in params.decode().split(",") if p.strip()]
    return statement_call(body, names)


_CONTINUED = re.compile(rb"\\\r?\n")
_COMMENT = re.compile(r"/\*.*?\*/")
_DO_HEAD = re.compile(r"do\s*\{\s*")
_DO_TAIL = re.compile(r";?\s*\}\s*while\s*\(\s*0\s*\)\Z")
_NOSPEC = re.compile(r"(?:lock_evaluate_nospec|evaluate_nospec)\s*\((.*)\)", re.S)
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\((.*)\)", re.S)
# A cast to a pointer type before a macro's call.
_CAST = re.compile(r"\(\s*(?:const\s+)?(?:struct\s+)?[A-Za-z_]\w*(?:\s+const)?\s*\*+\s*\)\s*")
_PARAM = re.compile(r"[A-Za-z_]\w*")
_PARENS = re.compile(r"[()]")


def _balanced(t: str) -> bool:
    """lockkeys.balanced_parens(), over the parentheses alone."""
    if t.count("(") != t.count(")"):
        return False
    depth = 0
    for c in _PARENS.findall(t):
        if c == "(":
            depth += 1
        else:
            depth -= 1
            if depth < 0:
                return False
    return True


_WORD = re.compile(r"\w+")


def _param(index: dict[str, str], w: re.Match[str]) -> str:
    return index.get(w.group(), w.group())

_OBJECT_DEFINE = re.compile(
    rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+"
    rb"([A-Za-z_]\w*)[ \t]*\(([^;\n]*)\)[ \t]*;?[ \t]*$",
    re.M,
)


def object_macro_wrappers(raw: bytes) -> dict[str, Wrapper]:
    """``#define LOAD_LOCK spin_lock(&load_sem)``: a statement-like macro
    used as ``LOAD_LOCK;`` (xsm/flask/ss/services.c)."""
    from xenpatch.c.source import directives

    out: dict[str, Wrapper] = {}
    for m in directives(_OBJECT_DEFINE, raw):
        args = m.group(3).decode(errors="replace")
        if not balanced_parens(args):
            continue
        out[m.group(1).decode()] = Wrapper(
            m.group(1).decode(), m.group(2).decode(), tuple(split_args(args))
        )
    return out


def split_args(t: str) -> list[str]:
    """A call's argument text split at its top-level commas."""
    args, depth, cur = [], 0, ""
    for c in t:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        args.append(cur.strip())
    return args


# The name is the first identifier before "(" that is not an attribute
# (__nonnull(3, 4), __attribute__((...))).
_INLINE = re.compile(
    rb"static\s+(?:always_inline|inline)\b(?:[^;{(]|\([^()]*\))*?\b(?!__)([A-Za-z_]\w*)\s*\(",
    re.S,
)


def find_xen_root(path: Path) -> Path | None:
    """The hypervisor directory (the one holding include/xen/) above path."""
    for p in [path.parent, *path.parents]:
        if (p / "include" / "xen" / "spinlock.h").is_file():
            return p
    return None


@cache
def _index(root: Path, arch: str | None) -> HeaderIndex:
    idx = HeaderIndex(root, arch=arch)
    for d in tree_header_dirs(root, arch):
        for h in sorted(d.rglob("*.h")) if d.is_dir() else ():
            _scan(idx, h)
    return idx


def local_header_dirs(root: Path, where: Path) -> list[Path]:
    """The directories of private headers a C file in ``where`` sees (their
    own headers only): its own and the one above, inside the tree."""
    return [d for d in (where, where.parent) if d != root and root in d.parents]


# What one header gives an index: _scan_header() and _header_noreturn().
Scanned = tuple[
    tuple[dict[str, Wrapper], list[tuple[str, bytes, bool]], frozenset[tuple[str, str]],
          dict[str, tuple[str, str, str]]],
    frozenset[str]]
# Each header's scan, once per process: made here, or given (given_scans()).
_SCANS: dict[Path, Scanned] = {}
# Asked once, before the first header is scanned here (scans_from()).
_GIVER: list[Callable[[], dict[Path, Scanned] | None]] = []


def scans() -> dict[Path, Scanned]:
    """Every header scanned so far in this process (for given_scans())."""
    return dict(_SCANS)


def scans_from(giver: Callable[[], dict[Path, Scanned] | None]) -> None:
    """``giver()``: headers scanned elsewhere (scans() of a process reading
    the same tree: a child forked as the run started), asked for once,
    when this process first needs a header's scan; None: none to give.
    The same functions of the same files: no index differs for it."""
    _GIVER[:] = [giver]


def _scanned(h: Path) -> Scanned:
    got = _SCANS.get(h)
    if got is None:
        if _GIVER:
            giver = _GIVER.pop()
            given = giver()
            if given:
                for k, v in given.items():
                    _SCANS.setdefault(k, v)
                got = _SCANS.get(h)
        if got is None:
            got = _SCANS[h] = (_scan_header(h), _header_noreturn(h))
    return got


def _scan(idx: HeaderIndex, h: Path) -> None:
    (wrappers, inlines, percpu, paths), nr = _scanned(h)
    for name, path in paths.items():
        idx.paths.setdefault(name, path)
    if not nr <= idx.noreturn:
        idx.noreturn |= nr
    idx.percpu_fields |= percpu
    for name, w in wrappers.items():
        idx.wrappers.setdefault(name, w)
    for name, body, locky in inlines:
        # All are summarised on demand (get_gfn() reaches a lock only through
        # a function of the .c file); only the lock-touching ones make a
        # caller worth analysing by themselves.
        idx.inlines.setdefault(name, body)
        if locky:
            idx.locky.add(name)


_STRUCT_BODY = re.compile(rb"struct\s+(\w+)\s*\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_PERCPU_MEMBER = re.compile(rb"\bpercpu_rwlock_t\s+(\w+)\s*;")


def percpu_members(raw: bytes) -> set[tuple[str, str]]:
    """Lock shapes of the percpu_rwlock_t members of the structs in raw,
    as the lint's oracle names them: ("structgrant_table", "->lock")."""
    return {
        ("struct" + m.group(1).decode(), "->" + fm.group(1).decode())
        for m in _STRUCT_BODY.finditer(raw)
        for fm in _PERCPU_MEMBER.finditer(m.group(2))
    }


def _scan_header(
    h: Path,
) -> tuple[dict[str, Wrapper], list[tuple[str, bytes, bool]], frozenset[tuple[str, str]],
           dict[str, tuple[str, str, str]]]:
    """A header's macro wrappers, inline functions (name, definition,
    touches a lock?), percpu_rwlock_t members and path macros, once:
    include/xen/ is in every architecture's index, and a directory's
    headers in the index of each subdirectory."""
    try:
        raw = read_bytes(h)
    except OSError:
        return {}, [], frozenset(), {}
    percpu = frozenset(percpu_members(raw)) if b"percpu_rwlock_t" in raw else frozenset()
    paths: dict[str, tuple[str, str, str]] = {}
    made = macro_functions(raw)
    if not _LOCKY.search(raw) and not made:
        # A header naming no lock still has macros calling a function of
        # another file that takes one (``free_domheap_page(p)`` is
        # free_domheap_pages(p, 0)): a call of the macro is a call of it.
        return _calling_macros(raw, paths), [], percpu, paths
    inlines = []
    for m in _INLINE.finditer(raw):
        body = _definition(raw, m.start())
        if body is not None:
            inlines.append(
                (m.group(1).decode(), body, bool(_LOCKY.search(body, body.find(b"{"))))
            )
    inlines.extend((name, body, bool(_LOCKY.search(body, body.find(b"{"))))
                   for name, body in made)
    # _INLINE leaves out "__" names (attributes look like them); an empty
    # one is still a definition that does nothing (filetable.without_stubs).
    inlines.extend((m.group(1).decode(), m.group(0), False) for m in _EMPTY_INLINE.finditer(raw))
    return macro_wrappers(raw, paths), inlines, percpu, paths


def _header_noreturn(h: Path) -> frozenset[str]:
    try:
        return declared(read_bytes(h))
    except OSError:
        return frozenset()


def _calling_macros(raw: bytes,
                    paths: dict[str, tuple[str, str, str]]) -> dict[str, Wrapper]:
    """macro_wrappers() of a header without a lock call: only a
    ``#define`` can hold one (most headers of a tree are these)."""
    return macro_wrappers(raw, paths) if b"define" in raw else {}


_EMPTY_INLINE = re.compile(
    rb"static\s+(?:always_inline|inline)\s+[\w\s*]*?\b(__\w+)\s*\([^()]*\)\s*"
    rb"\{(?:\s|/\*.*?\*/|//[^\n]*)*\}",
    re.S,
)


# A function-like macro whose body has a ") {": it may define functions
# (a "do {" or "({" body is a statement).
_BRACED_MACRO = re.compile(
    rb"#[ \t]*define[ \t]+\w+\([^)\n]*\)(?:[^\n]|\\\r?\n)*?\)[ \t]*(?:\\\r?\n[ \t]*)*\{"
)


def _directive_text(raw: bytes, start: int) -> bytes:
    """A directive from ``start`` to its last continuation line."""
    end = start
    while (nl := raw.find(b"\n", end)) >= 0:
        if raw[nl - 1 : nl] != b"\\" and raw[nl - 2 : nl] != b"\\\r":
            return raw[start:nl]
        end = nl + 1
    return raw[start:]


def macro_functions(raw: bytes) -> list[tuple[str, bytes]]:
    """The functions ``raw`` defines through a macro used at file scope
    (``sched_lock(vcpu, ...)`` making ``vcpu_schedule_lock()``), written
    out: their callers resolve them like any inline."""
    from xenpatch.c.source import directives

    # As for the headers' inlines, only a generator that names a lock is
    # worth writing out: most (vmcb.h's accessors, atomic.h's) name none.
    if not any(b"lock" in _directive_text(raw, m.start())
               for m in directives(_BRACED_MACRO, raw)):
        return []
    from xenpatch.c.macrofns import function_instances

    return function_instances(raw)


def _definition(raw: bytes, start: int) -> bytes | None:
    """Text of the function definition starting at ``start``, to its
    closing brace (None for a prototype)."""
    open_ = raw.find(b"{", start)
    semi = raw.find(b";", start)
    if open_ < 0 or (0 <= semi < open_):
        return None
    depth = 0
    # Brace to brace (the regex engine skips what lies between; a loop over
    # every byte was most of the time of indexing a tree's headers).
    for m in _BRACE.finditer(raw, open_, min(len(raw), open_ + 20000)):
        if raw[m.start()] == 0x7B:
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return raw[start : m.end()]
    return None


_BRACE = re.compile(rb"[{}]")


@cache
def _header_consts(h: Path) -> dict[str, str]:
    """The integer-literal macros of a private header (the status codes a
    helper beside it returns)."""
    try:
        from xenpatch.analysis.values import constant_macros

        return constant_macros(h.read_bytes())
    except OSError:
        return {}


_NO_TREE = HeaderIndex(None)


def header_index(path: Path) -> HeaderIndex:
    """Helpers visible to the C file ``path``: the tree's common and arch
    headers, and the private headers beside the file."""
    return _index_for_dir(path.parent)


@cache
def _index_for_dir(parent: Path) -> HeaderIndex:
    path = parent.resolve() / "x.c"
    root = find_xen_root(path)
    if root is None:
        return _NO_TREE
    return _local_index(root, arch_of(path.relative_to(root).as_posix()), path.parent)


def arch_of(rel: str) -> str:
    """The architecture whose headers a C file of the tree (its path under
    xen/) is indexed with."""
    parts = rel.split("/")
    # Common code is built for x86 by default; its arch macros are x86's.
    return parts[1] if len(parts) > 2 and parts[0] == "arch" else "x86"


@cache
def _local_index(root: Path, arch: str | None, where: Path) -> HeaderIndex:
    """The tree's index plus the private headers beside (and one level
    above) a directory of C files; once per directory."""
    base = _index(root, arch)
    local = HeaderIndex(root, dict(base.wrappers), dict(base.inlines), set(base.locky),
                        set(base.percpu_fields), arch, noreturn=base.noreturn,
                        paths=dict(base.paths))
    for d in local_header_dirs(root, where):
        for h in sorted(d.glob("*.h")):
            _scan(local, h)
            for k, v in _header_consts(h).items():
                local.consts.setdefault(k, v)
    # Scanning only adds: the same sizes mean nothing was found.  Sharing the
    # tree's index then lets what is derived from it be computed once.
    if (len(local.wrappers), len(local.inlines), len(local.locky),
            len(local.percpu_fields), len(local.consts), len(local.noreturn),
            len(local.paths)) == (
        len(base.wrappers), len(base.inlines), len(base.locky), len(base.percpu_fields), 0,
        len(base.noreturn), len(base.paths)
    ):
        return base
    return local


def with_functions(idx: HeaderIndex, made: list[tuple[str, bytes]]) -> HeaderIndex:
    """``idx`` plus functions a C file defines through its own macros
    (macro_functions), resolved like the headers' inlines."""
    out = HeaderIndex(idx.root, dict(idx.wrappers), dict(idx.inlines), set(idx.locky),
                      set(idx.percpu_fields), idx.arch, consts=dict(idx.consts),
                      noreturn=idx.noreturn, paths=idx.paths)
    for name, body in made:
        out.inlines.setdefault(name, body)
        if _LOCKY.search(body, body.find(b"{")):
            out.locky.add(name)
    return out


# An identifier in C source text.
IDENT = re.compile(rb"[A-Za-z_]\w*")


@lru_cache(maxsize=1 << 13)
def _body_ids(text: bytes) -> frozenset[bytes]:
    """The identifiers of an inline's body: once per text, not once per
    directory's index (most of a tree's inlines are in every index)."""
    return frozenset(IDENT.findall(text[text.find(b"{"):]))


def inline_ids(headers: HeaderIndex, name: str) -> tuple[frozenset[bytes], tuple[str, ...]]:
    """The identifiers of a header inline's body, and the other inlines among
    them; once per index (every file of a directory shares its index)."""

    def make() -> tuple[frozenset[bytes], tuple[str, ...]]:
        ids = _body_ids(headers.inlines[name])
        callees = tuple(sorted(
            d for i in ids if (d := i.decode()) in headers.inlines and d != name
        ))
        return ids, callees

    return headers.memo(("inline_ids", name), make)
