"""Pointer origins: which comparisons they decide, and the rules' schema."""

from __future__ import annotations

import pytest

from xenpatch.analysis.values import ALLOC, ALLOC_NZ, ZERO, ValueRules, ValueRulesError, same

RULES = ValueRules(frozenset({"xmalloc"}), (frozenset({"host", "alt"}),))


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        (ALLOC_NZ, "@buf", False),  # a fresh allocation is no file-scope object
        (ALLOC_NZ, ZERO, False),
        (ALLOC, "@buf", None),  # maybe NULL: still not the buffer, but unproven
        (ALLOC_NZ, ALLOC_NZ, None),  # two pointers to one allocation are possible
        ("@buf", "@buf", True),
        ("@buf", "@other", False),
        (ZERO, "@buf", False),
        ("call:alt", "call:host", False),  # declared distinct
        ("call:alt", "call:other", None),  # not declared
        ("call:host", "call:host", None),  # one accessor, maybe two objects
        (None, "@buf", None),
    ],
)
def test_same(a: str | None, b: str | None, want: bool | None) -> None:
    assert same(a, b, RULES) is want
    assert same(b, a, RULES) is want


def test_rules_schema_errors_name_the_file() -> None:
    with pytest.raises(ValueRulesError, match=r"lint\.toml: \[values\] distinct"):
        ValueRules.from_toml({"distinct": [["only_one"]]}, "lint.toml")
    with pytest.raises(ValueRulesError, match="allocators"):
        ValueRules.from_toml({"allocators": "xmalloc"}, "lint.toml")
