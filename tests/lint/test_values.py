"""Pointer origins: which comparisons they decide, and the rules' schema."""

from __future__ import annotations

import pytest

from xenpatch.analysis.values import (
    ALLOC,
    ALLOC_NZ,
    NEG,
    NZ,
    POS,
    ZERO,
    ValueRules,
    ValueRulesError,
    VarTest,
    after_test,
    equals,
    member_test,
    same,
)

RULES = ValueRules(frozenset({"xmalloc"}), (frozenset({"host", "alt"}),))
SETS = ValueRules.from_toml({"sets": [{"name": "system domains", "test": "is_sys",
                                       "members": ["dom_io", "dom_xen"],
                                       "never": ["by_id"]}]}, "lint.toml")


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


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        ("val:dom_io", "val:dom_io", True),  # one global, set once
        ("val:dom_io", "val:dom_xen", None),  # not claimed
        ("call:by_id+", "val:dom_io", False),  # never returns a member
        ("call:by_id", "val:dom_io", False),  # nor NULL, which a member never is
        ("call:other+", "val:dom_io", None),  # nothing said of other
        (ZERO, "val:dom_io", False),
        (ALLOC_NZ, "val:dom_io", False),
        ("call:by_id", "call:by_id+", None),
    ],
)
def test_same_with_sets(a: str, b: str, want: bool | None) -> None:
    assert same(a, b, SETS) is want
    assert same(b, a, SETS) is want


@pytest.mark.parametrize(
    ("cls", "want"),
    [("val:dom_io", True), ("call:by_id+", False), ("call:by_id", None),  # maybe NULL
     ("call:other+", None), (None, None), ("nz", None)],
)
def test_member_test(cls: str | None, want: bool | None) -> None:
    assert member_test(cls, "is_sys", SETS) is want
    assert member_test(cls, "is_other", SETS) is None


def test_a_tested_lookup_is_known_not_null() -> None:
    assert after_test("call:by_id", True) == "call:by_id+"
    assert after_test("call:by_id", False) == ZERO


def test_sentinel_names_decide_only_the_same_name() -> None:
    eq = VarTest("dom", "eqk", "ID_NONE")
    assert eq.eval_exact(None, "ID_NONE") is True
    assert eq.eval_exact(None, "ID_OTHER") is None  # two names may be one value
    assert eq.eval_exact(None, "7") is None
    assert VarTest("dom", "nek", "ID_NONE").eval_exact(None, "ID_NONE") is False
    assert VarTest("dom", "eqk", 7).eval_exact(None, "ID_NONE") is None
    assert VarTest("dom", "eqk", 7).eval_exact(None, "7") is True


def test_sets_schema() -> None:
    assert SETS.tests == frozenset({"is_sys"})
    assert SETS.member("dom_io") and not SETS.member("dom_cow")
    assert SETS.accessor("by_id")
    with pytest.raises(ValueRulesError, match="values.sets"):
        ValueRules.from_toml({"sets": [{"test": "is_sys"}]}, "lint.toml")
    with pytest.raises(ValueRulesError, match="values.sets"):
        ValueRules.from_toml({"sets": [{"name": "x", "members": "dom_io"}]}, "lint.toml")
    with pytest.raises(ValueRulesError, match="values.sets"):
        ValueRules.from_toml({"sets": [{"name": "x", "extra": 1}]}, "lint.toml")


def test_a_sentinel_below_a_bound_is_none_of_the_names_above_it() -> None:
    rules = ValueRules.from_toml({"floors": [{"floor": "FIRST_RESERVED",
                                              "names": ["ID_NONE", "ID_IO"]}]}, "lint.toml")
    assert rules.floors["ID_NONE"] == frozenset({"FIRST_RESERVED"})
    eq = VarTest("dom", "eqk", "ID_NONE", floors=rules.floors["ID_NONE"])
    assert eq.eval_exact(None, "<FIRST_RESERVED") is False
    assert VarTest("dom", "nek", "ID_NONE", floors=rules.floors["ID_NONE"]).eval_exact(
        None, "<FIRST_RESERVED") is True
    assert VarTest("dom", "eqk", "ID_OTHER").eval_exact(None, "<FIRST_RESERVED") is None
    with pytest.raises(ValueRulesError, match="values.floors"):
        ValueRules.from_toml({"floors": [{"floor": "F"}]}, "lint.toml")


def test_an_if_and_a_switch_ask_one_equality() -> None:
    # values.equals() serves VarTest.eval_exact() and switches.cases_possible():
    # a named zero's exact fact is its name, its class says it is no other number.
    assert equals(ZERO, "NO_OWNER", 3) is False
    assert equals(ZERO, "NO_OWNER", 0) is True
    assert VarTest("dom", "eqk", 3).eval_exact(ZERO, "NO_OWNER") is False
    assert VarTest("dom", "nek", 3).eval_exact(ZERO, "NO_OWNER") is True
    # A non-zero value is not 0; a name against a name it is not may still be one value.
    assert VarTest("rc", "eqk", 0).eval_exact(NZ, None) is False
    assert equals(POS, None, -2) is False and equals(NEG, None, 2) is False
    assert equals(None, "ID_OTHER", "ID_NONE") is None
    assert equals(None, "!7", 7) is False and equals(None, "!7", 8) is None
