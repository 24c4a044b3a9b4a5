"""Functions written through generator macros (xenpatch/c/macrofns.py),
checked against the C preprocessor itself where one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.c.macrofns import definitions, function_instances
from xenpatch.paths import fixtures_dir

CPP = shutil.which("cpp")
needs_cpp = pytest.mark.skipif(CPP is None, reason="no C preprocessor installed")

# A generator with every feature a Xen header uses: pasted names, a
# variadic tail with ", ## tail", a parameter macro redefined between
# uses, an object macro renaming a call for some instances only, and a
# stringised parameter.
TEMPLATE = """\
#define {AUX}(x) , unsigned long x
#define {GEN}(kind, decl, sel, fl, tail...)                      \\
static inline int *kind##_{MID}##fl(decl {AUX}(tail))             \\
{{                                                                \\
    /* a comment, \\
       over two lines */                                          \\
    int *p = table[sel];                                          \\
    {OP}##fl(p, ## tail);                                         \\
    note(#kind);                                                  \\
    return p;                                                     \\
}}
#undef {AUX}
#define {AUX}(x)
{USES_PLAIN}
#undef {AUX}
#define {AUX}(x) , unsigned long x
#define {OP}_save {OP}_keep
{USES_TAIL}
#undef {OP}_save
#ifdef NEVER
#define {GEN}(a, b, c, d, e...) static inline void a##_other(void) {{ }}
#endif
int unrelated(int x) {{ return x; }}
"""


def _header(gen: str, aux: str, mid: str, op: str, kinds: list[str]) -> str:
    plain = "\n".join(f"{gen}({k}, unsigned int c{i}, c{i}, )" for i, k in enumerate(kinds))
    tail = "\n".join(f"{gen}({k}, const struct v *v, v->n, _save, *flags)" for k in kinds)
    return TEMPLATE.format(GEN=gen, AUX=aux, MID=mid, OP=op, USES_PLAIN=plain,
                           USES_TAIL=tail)


def _cpp(text: str) -> str:
    assert CPP is not None
    return subprocess.run([CPP, "-P", "-undef", "-nostdinc", "-"], input=text, text=True,
                          capture_output=True, check=True).stdout


def _norm(t: str) -> str:
    return re.sub(r"\s+", "", t)


def _made_by_cpp(text: str) -> dict[str, str]:
    """The definitions cpp writes out that the text does not spell out."""
    joined = re.sub(r"\\\n", " ", text)
    plain = "\n".join(ln for ln in joined.splitlines() if not ln.lstrip().startswith("#"))
    by_hand = {n for n, _ in definitions(re.sub(r"/\*.*?\*/", " ", plain, flags=re.S))}
    return {n: _norm(d) for n, d in definitions(_cpp(text)) if n not in by_hand}


def test_xen_like_generator() -> None:
    text = _header("GEN_LOCK", "EXTRA", "lock", "grab", ["pcpu", "vcpu"])
    got = dict(function_instances(text.encode()))
    assert list(got) == ["pcpu_lock", "vcpu_lock", "pcpu_lock_save", "vcpu_lock_save"]
    save = got["vcpu_lock_save"].decode()
    # the variadic tail is passed on; the renamed call is the rename's
    assert "grab_keep(p, *flags)" in _norm(save).replace(",", ", ")
    assert "unsignedlong*flags" in _norm(save)
    plain = got["pcpu_lock"].decode()
    assert "grab(p)" in _norm(plain)  # ", ## tail" with no tail: no comma
    assert '"pcpu"' in plain


_NAME = st.from_regex(r"[a-z][a-z0-9]{1,6}", fullmatch=True)


@needs_cpp
@settings(max_examples=25, deadline=None)
@given(st.lists(_NAME, min_size=4, max_size=8, unique=True))
def test_same_as_cpp(names: list[str]) -> None:
    """Whatever the names, the functions written out are cpp's, token for
    token, and none is missed."""
    gen, aux, mid, op, *kinds = names
    text = _header(gen.upper(), aux.upper(), mid, op, kinds or ["k"])
    ours = {n: _norm(d.decode()) for n, d in function_instances(text.encode())}
    assert ours == _made_by_cpp(text)


@needs_cpp
def test_fixture_same_as_cpp() -> None:
    text = (fixtures_dir() / "lint" / "macrofns.c").read_text()
    ours = {n: _norm(d.decode()) for n, d in function_instances(text.encode())}
    assert ours == _made_by_cpp(text)
    assert len(ours) == 5


def test_uses_inside_a_function_are_not_file_scope() -> None:
    text = b"""
#define MK(n) static inline int n##_f(void) { return 1; }
int outer(void)
{
    MK(inner)
    return 0;
}
MK(top)
"""
    assert [n for n, _ in function_instances(text)] == ["top_f"]


def test_nothing_without_a_braced_macro() -> None:
    assert function_instances(b"#define A(x) ((x) + 1)\nint f(void) { return A(1); }\n") == []
