"""headers.macro_wrappers() asks each regex only where its text can
match (a cold single-file run reads every #define of hundreds of headers
through it): the wrappers must be those of the plain version, which is
kept here as the oracle, over every header and C file of real trees and
over generated #defines."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis.headers import _param, macro_wrappers, split_args
from xenpatch.analysis.lockkeys import balanced_parens
from xenpatch.analysis.locktable import Wrapper
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.source import directives

_WORD = re.compile(r"\w+")


def _plain(raw: bytes) -> dict[str, Wrapper]:
    """macro_wrappers() as it was, each regex asked of every #define."""
    out: dict[str, Wrapper] = {}
    for m in directives(FN_DEFINE, raw):
        body = re.sub(rb"\\\r?\n", b" ", m.group(3)).decode(errors="replace").strip()
        if "##" in body or not body:
            continue
        body = re.sub(r"/\*.*?\*/", " ", body).strip()
        inner = re.fullmatch(r"do\s*\{\s*(.*?);?\s*\}\s*while\s*\(\s*0\s*\)", body, re.S)
        if inner:
            body = inner.group(1).strip()
        for _ in range(3):
            while body.startswith("(") and body.endswith(")") and balanced_parens(body[1:-1]):
                body = body[1:-1].strip()
            t = re.fullmatch(r"(?:lock_evaluate_nospec|evaluate_nospec)\s*\((.*)\)", body, re.S)
            if t and balanced_parens(t.group(1)):
                body = t.group(1).strip()
        call = re.fullmatch(r"([A-Za-z_]\w*)\s*\((.*)\)", body, re.S)
        cast = re.match(r"\(\s*(?:const\s+)?(?:struct\s+)?[A-Za-z_]\w*(?:\s+const)?\s*\*+\s*\)\s*",
                        body) if call is None else None
        if cast is not None:  # (t *)_xmalloc(...): the call under a pointer cast
            call = re.fullmatch(r"([A-Za-z_]\w*)\s*\((.*)\)", body[cast.end():], re.S)
        if call is None or not balanced_parens(call.group(2)):
            continue
        params = [p.strip() for p in m.group(2).decode().split(",") if p.strip()]
        if any(not re.fullmatch(r"[A-Za-z_]\w*", p) for p in params):
            continue
        args = split_args(call.group(2))
        index: dict[str, str] = {}
        for i, p in enumerate(params):
            index.setdefault(p, f"${i}")
        templ = [_WORD.sub(partial(_param, index), a) for a in args]
        name = m.group(1).decode()
        if call.group(1) != name:
            out[name] = Wrapper(name, call.group(1), tuple(templ))
    return out


_TREES = [Path("/work/trees/4.19.6/xen"), Path("/work/trees/4.21.2/xen")]


@pytest.mark.xen
def test_same_wrappers_over_real_trees(xen417: Path) -> None:
    trees = [xen417 / "xen", *(t for t in _TREES if t.is_dir())]
    seen = found = 0
    for tree in trees:
        for f in sorted([*tree.rglob("*.h"), *tree.rglob("*.c")]):
            raw = f.read_bytes()
            got = macro_wrappers(raw)
            # The statement macros read as their one lock call
            # (test_macrobody.py) are new; the one-call ones are as they were.
            one_call = {n: w for n, w in got.items() if w.stated is None}
            assert one_call == _plain(raw), f
            seen += 1
            found += len(one_call)
    # Not vacuous: thousands of files, and wrappers of every shape in them.
    assert seen > 1000 and found > 500


_PIECES = st.sampled_from([
    "f(a)", "(f(a, b))", "({ g(x); })", "do { h(p); } while ( 0 )", "do{h(p);}while(0)",
    "evaluate_nospec(k(a))", "lock_evaluate_nospec((m(a)))", "(", ")", "a ## b", " /* c */ ",
    "x", ", ", "\\\n", "((", "))", "f(a))", "(f(a)", "n(a, (b), c)", "q", "1", "",
    "do {", "do", "{", "}", ";", " ; ", "} while (0)", "}while(0)", " while ( 0 )", "\t",
])


@settings(max_examples=1500, deadline=None)
@given(name=st.sampled_from(["M", "f", "lock_it"]),
       params=st.sampled_from(["a", "a, b", "p", "x, ...", "", " a , a "]),
       body=st.lists(_PIECES, max_size=6).map("".join))
def test_same_wrappers_over_generated_defines(name: str, params: str, body: str) -> None:
    raw = f"#define {name}({params}) {body}\nint y;\n".encode()
    assert macro_wrappers(raw) == _plain(raw)
