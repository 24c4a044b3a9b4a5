"""A plain integer's sentinel (fixtures/lint/sentinel.c): a macro whose body
is an integer literal is compared by value, a helper holding its lock
exactly when its result is not that value is try-like with success "!K",
and what it leaves through an out-parameter follows the outcome."""

from __future__ import annotations

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "sentinel.c"


def test_fixture_findings_exactly() -> None:
    """The helper and its callers that test the result (stored, or at once),
    the out-parameter or one arm of "?:" are clean; the wrong test, a truth test, another
    constant, a leaking helper's failure return (not its success) and a
    non-literal macro are reported."""
    result = lint_file(FIXTURE, FIXTURE.name, LintConfig.load())
    assert result.error is None
    got = sorted((f.function, f.line, f.check) for f in result.findings)
    assert got == [
        ("leaky_page_of", 150, "XL001"),
        ("odd_page_of", 185, "XL001"),
        ("page_leak", 102, "XL001"),
        ("page_other_constant", 133, "XL002"),
        ("page_other_constant", 134, "XL001"),
        ("page_tested_wrong_at_once", 214, "XL002"),
        ("page_tested_wrong_at_once", 215, "XL001"),
        ("page_truth", 123, "XL002"),
        ("page_truth", 124, "XL001"),
        ("page_wrong_test", 113, "XL002"),
        ("page_wrong_test", 114, "XL001"),
    ]


def test_literal_macros_by_shape() -> None:
    from xenpatch.analysis.values import exact_macros, exact_value

    text = (b"#define A (~0UL)\n#define B 5\n#define C (-3)\n#define Z 0\n"
            b"#define F (g() + 1)\n#define G 0xffffffffffffffffUL\n"
            b"#define H 2\n#define H 3\n#define U (7\n")
    assert exact_macros([text]) == {"A": "~0:LU", "B": 5, "C": -3,
                                    "G": "18446744073709551615:LU"}
    # ~0UL and ~0LU are one value; ~0 (an int, -1) is another text.
    assert exact_value("~", 0, "LU") == exact_macros([b"#define X (~0LU)\n"])["X"]
    assert exact_value("~", 0, "") != exact_value("~", 0, "LU")


def test_not_k_is_not_zero() -> None:
    """A sentinel outcome says nothing of the result's truth (0 is a valid
    frame); "not K" decides v == K, not v == 0."""
    from xenpatch.analysis.values import NOT, VarTest, outcomes

    (ok_cls, ok_x), (fail_cls, fail_x) = outcomes(NOT + "~0:LU")
    assert ok_cls is None and fail_cls is None
    assert (ok_x, fail_x) == ("!~0:LU", "~0:LU")
    eq = VarTest("v", "eqk", "~0:LU")
    assert eq.eval_exact(None, ok_x) is False
    assert eq.eval_exact(None, fail_x) is True
    assert VarTest("v", "nek", 7).eval_exact(None, ok_x) is None
    assert eq.exact_after(True, None) == "~0:LU"
    assert eq.exact_after(False, None) == "!~0:LU"
