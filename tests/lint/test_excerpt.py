"""The callee-file excerpts of the lazy cross-file summaries (excerpt.py):
what they keep, and that the summaries they give are the whole file's."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.lint import excerpt, nameindex
from xenpatch.lint.calleesummaries import summaries_of_text
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import summary_analysis

NO_REACH = nameindex.Reach({})

FILE = b"""\
#include <xen/spinlock.h>

static DEFINE_SPINLOCK(a_lock);
#define CALL_INNER() inner()

static void inner(void)
{
    spin_lock(&a_lock);
}

void helper(void)
{
    const char *s = "}";  /* a brace: } */
    char c = '{';
    CALL_INNER();
}

static void unrelated(int x)
{
#define LATER 1
    if ( x )
    {
        x++;
    }
    spin_unlock(&a_lock);
}

void other(void)
{
    unrelated(LATER);
}
"""


def _bodies_left(text: bytes) -> dict[str, bool]:
    """Function name -> does its body still hold anything but directives?"""
    defs = nameindex.definitions(text)
    out = {}
    for i, d in enumerate(defs):
        end = defs[i + 1].brace if i + 1 < len(defs) else len(text)
        body = text[d.brace + 1 : text.index(b"\n}", d.brace)]
        assert d.brace < end
        out[d.name] = any(line.strip() and not line.lstrip().startswith(b"#")
                          for line in body.split(b"\n"))
    return out


def test_keeps_what_the_names_reach_through_calls_and_macros() -> None:
    got = excerpt.excerpt(FILE, ["helper"], NO_REACH.plus(nameindex.local_macros(FILE)))
    assert got is not None
    text, braces = got.text, got.emptied
    assert _bodies_left(text) == {"inner": True, "helper": True, "unrelated": False,
                                  "other": False}
    assert all(text[b] == ord("{") for b in braces) and len(braces) == 2
    # An emptied body keeps its preprocessor lines: LATER is still defined.
    assert b"#define LATER 1" in text
    # Braces in strings, comments and character literals are not the body's.
    assert b"const char *s = \"}\";" in text


def test_without_the_files_macros_the_macro_callee_is_not_reached() -> None:
    """The macro is how inner() is reached: the reach must follow it."""
    got = excerpt.excerpt(FILE, ["helper"], NO_REACH)
    assert got is not None and _bodies_left(got.text)["inner"] is False


def test_nothing_to_empty() -> None:
    assert excerpt.excerpt(FILE, ["helper", "other"],
                           NO_REACH.plus(nameindex.local_macros(FILE))) is None


def test_braces_split_by_conditionals_keep_the_file_whole() -> None:
    """A "}" in each branch of an #if: the braces do not balance as text,
    so no body is known for sure."""
    raw = (b"void f(int x)\n{\n#ifdef A\n    if ( x ) {\n#else\n    if ( !x ) {\n#endif\n"
           b"        g();\n    }\n}\n\nvoid g(void)\n{\n}\n#ifdef B\n}\n#else\n}\n#endif\n")
    assert excerpt.excerpt(raw, ["g"], NO_REACH) is None


def test_a_function_named_after_an_attribute_is_reached() -> None:
    """The name index takes "format" for the name of the first function:
    its other names before a "(" count too."""
    raw = (b"static void\n__attribute__ ((format (printf, 1, 0)))\nvlog(const char *f)\n{\n"
           b"    spin_lock(&l);\n}\n\nvoid log(const char *f)\n{\n    vlog(f);\n}\n\n"
           b"void other(void)\n{\n    x();\n}\n")
    assert [d.name for d in nameindex.definitions(raw)] == ["format", "log", "other"]
    got = excerpt.excerpt(raw, ["log"], NO_REACH)
    assert got is not None and _bodies_left(got.text) == {"format": True, "log": True,
                                                          "other": False}


def test_what_unindexed_functions_call_is_kept() -> None:
    """__inner() (a name the index leaves out) and odd() (its "{" ends an
    indented line) are functions all the same: what they call is kept."""
    raw = (b"static int __inner(int x)\n{\n    return helper2(x);\n}\n\n"
           b"static int helper2(int x)\n{\n    spin_lock(&l);\n    return x;\n}\n\n"
           b"static void\n    odd(void) {\n    helper3();\n}\n\n"
           b"static void helper3(void)\n{\n    spin_unlock(&l);\n}\n\n"
           b"int outer(int x)\n{\n    return __inner(x);\n}\n\n"
           b"void other(void)\n{\n    y();\n}\n")
    got = excerpt.excerpt(raw, ["outer"], NO_REACH)
    assert got is not None and _bodies_left(got.text) == {
        "__inner": True, "helper2": True, "helper3": True, "outer": True, "other": False}


def test_a_body_not_closed_at_the_start_of_a_line_is_kept() -> None:
    raw = b"void f(void)\n{\n    g(); }\n\nvoid g(void)\n{\n    h();\n}\n"
    got = excerpt.excerpt(raw, ["g"], NO_REACH)
    assert got is None


# -- the summaries are the whole file's -------------------------------------

CONFIG = LintConfig.load()


def _summaries(path: Path, raw: bytes, names: frozenset[str],
               cut: bool) -> dict[str, object] | str | None:
    """Every asked name's summary (exported or not), or "whole"."""
    got = summary_analysis(path, raw, CONFIG, names, cut)
    if got is None:
        return None
    fa, whole = got
    return "whole" if whole else {n: fa.summary_of(n) for n in sorted(names)}


def test_fixture_summaries_agree(tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_bytes(FILE)
    for names in (["helper"], ["other"], ["helper", "other"]):
        asked = frozenset(names)
        cut = _summaries(p, FILE, asked, True)
        assert isinstance(cut, dict) and cut == _summaries(p, FILE, asked, False)
    # Not vacuous: helper() takes the lock through inner(), other() drops it.
    sums = _summaries(p, FILE, frozenset(["helper", "other"]), True)
    assert isinstance(sums, dict) and sums["helper"] and sums["other"]
    assert summaries_of_text(p, FILE, CONFIG, frozenset(["other"])) == \
        summaries_of_text(p, FILE, CONFIG, frozenset(["other"]), cut=False)


_OPS = [b"spin_lock(&l%d);", b"spin_unlock(&l%d);", b"if ( spin_trylock(&l%d) ) return 1;",
        b"x += %d;"]


@st.composite
def _programs(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A file of functions calling each other (any call graph, cycles too),
    taking and dropping locks, some static, some through a macro."""
    n = draw(st.integers(2, 7))
    out = [b"static DEFINE_SPINLOCK(l0);\nstatic DEFINE_SPINLOCK(l1);\n"
           b"#define CALL_F0() f0(0)\n"]
    for i in range(n):
        static = draw(st.booleans())
        stmts = []
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                j = draw(st.integers(0, n - 1))
                stmts.append(b"CALL_F0();" if j == 0 and draw(st.booleans())
                             else b"f%d(x);" % j)
            else:
                stmts.append(draw(st.sampled_from(_OPS)) % draw(st.integers(0, 1)))
        out.append(b"int f%d(int x);\n" % i)
        body = b"".join(b"    " + s + b"\n" for s in stmts)
        out.append(b"%sint f%d(int x)\n{\n%s    return 0;\n}\n\n"
                   % (b"static " if static else b"", i, body))
    names = [f"f{i}" for i in range(n)]
    asked = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return b"".join(out), asked


@settings(max_examples=60, deadline=None)
@given(_programs())
def test_generated_files_summaries_agree(tmp_path_factory: pytest.TempPathFactory,
                                         prog: tuple[bytes, list[str]]) -> None:
    raw, asked = prog
    p = tmp_path_factory.mktemp("gen") / "g.c"
    p.write_bytes(raw)
    names = frozenset(asked)
    assert _summaries(p, raw, names, True) == _summaries(p, raw, names, False)


@pytest.mark.xen
@pytest.mark.slow
def test_xen_417_summaries_agree(xen417: Path) -> None:
    """Every file of Xen 4.17 defining external functions: their summaries
    (each asked name's, exported or not) from excerpts equal the whole
    file's, all names asked at once and the first and last alone (the
    most cut away)."""
    xen = xen417 / "xen"
    files = cut_any = 0
    for p in sorted(xen.rglob("*.c")):
        raw = p.read_bytes()
        names = sorted({d.name for d in nameindex.definitions(raw) if not d.static}
                       - nameindex.RESERVED)
        if not names:
            continue
        files += 1
        for asked in {frozenset(names), frozenset(names[:1]), frozenset(names[-1:])}:
            assert _summaries(p, raw, asked, True) == _summaries(p, raw, asked, False), \
                (p, sorted(asked))
        cut_any += excerpt.excerpt(raw, names[:1], nameindex.Reach({})) is not None
    assert files >= 400 and cut_any >= 300


TEXTS = b"""\
void first(void)
{
    helper();
}

static void
second(int x)
{
    spin_lock(&a_lock);
}

void unplain(void)
{
    if ( x ) { y(); }}

void after_unplain(void)
{
}

void before_kr(void)
{
}

int kr(a)
    int a;
{
    take_it();
}

void last(void)
{
}
"""


def test_a_definitions_text_ends_with_its_plain_body() -> None:
    # The scans take a body to its "}" where the braces show it: the next
    # declaration (its name, a call to the scans) is not in first()'s.
    defs = nameindex.definitions(TEXTS)
    ends = dict(zip((d.name for d in defs), excerpt.text_ends(TEXTS, defs), strict=True))
    brace = {d.name: d.brace for d in defs}
    assert TEXTS[brace["first"]:ends["first"]] == b"{\n    helper();\n}"
    assert b"second" not in TEXTS[brace["first"]:ends["first"]]
    # A "}" not at the start of a line: to the next definition's "{", as
    # before, and so is a body followed by a block that may be a function
    # the scan did not find (a K&R definition): its text stays with it.
    assert ends["unplain"] == brace["after_unplain"]
    assert "kr" not in brace and ends["before_kr"] == brace["last"]
    assert TEXTS[brace["last"]:ends["last"]] == b"{\n}"
