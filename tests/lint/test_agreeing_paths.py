"""A finding's path whose branches agree with each other.

The held-lock run keeps only the facts of conditions that guard a lock
operation; the first way it reaches a finding may test one value twice with
outcomes that cannot both hold (``a.cmd != OP_GET`` false, then ``case
OP_NOTIFY``; ``rc = 0`` then ``rc < 0`` true).  The path shown is then
another way the run itself reaches the same (node, held locks) pair, whose
branches agree (analysis/sidefacts.py, analysis/witnesspaths.py;
fixtures/lint/agreeing/)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis import sidefacts
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "agreeing" / "agreeing.c"


def _flows() -> dict[str, list[str]]:
    result = lint_file(FIXTURE, "agreeing.c", LintConfig.load())
    return {f.function: [s.note for s in f.flow] for f in result.findings}


def test_a_switch_case_after_a_test_of_the_same_value_agrees_with_it() -> None:
    notes = _flows()["do_op"]
    assert "'a.cmd' is OP_NOTIFY" in notes
    assert "'a.cmd != OP_GET' is true" in notes
    assert "'a.cmd != OP_SET' is true" in notes
    assert "'a.cmd != OP_GET' is false" not in notes


def test_a_number_assigned_decides_a_later_comparison() -> None:
    notes = _flows()["walk"]
    assert notes[-2:] == ["'rc < 0' is true", "returns here"]
    # rc is 0 unless the loop ran and gave it, and not > 0 if it broke.
    assert "rc = step_once(d, addr);" in notes
    assert "'rc > 0' is false" in notes
    assert "'rc > 0' is true" not in notes


def test_the_findings_themselves_do_not_change() -> None:
    result = lint_file(FIXTURE, "agreeing.c", LintConfig.load())
    assert sorted((f.function, f.check) for f in result.findings) == [
        ("do_op", "XL001"), ("walk", "XL001")]


_OPS = ["truth", "==", "!=", "<", "<=", ">", ">="]
_tests = st.lists(st.tuples(st.sampled_from(_OPS), st.integers(-3, 3), st.booleans()),
                  max_size=6)


def _holds(op: str, c: int, v: int) -> bool:
    return {"truth": v != 0, "==": v == c, "!=": v != c, "<": v < c, "<=": v <= c,
            ">": v > c, ">=": v >= c}[op]


@settings(max_examples=400, deadline=None)
@given(_tests)
def test_tests_of_one_integer_agree_exactly_when_some_value_passes_them_all(
        tests: list[tuple[str, int, bool]]) -> None:
    """Differential against brute force: the constants are in [-3, 3], so
    a value passing them all exists iff one in [-10, 10] does."""
    side: sidefacts.Side | None = ()
    for op, c, outcome in tests:
        assert side is not None
        t = sidefacts._Test("x", op, None if op == "truth" else str(c), False)
        side = sidefacts._learn(side, t, outcome, sidefacts.Consts())
        if side is None:
            break
    some = any(all(_holds(op, c, v) == outcome for op, c, outcome in tests)
               for v in range(-10, 11))
    assert (side is not None) == some


def test_labels_of_one_switch_differ_and_other_names_may_be_equal() -> None:
    labels = sidefacts.Consts((frozenset({"OP_GET", "OP_SET"}),))
    eq = sidefacts._Test("x", "==", "OP_GET", False)
    side = sidefacts._learn((), eq, True, labels)
    assert side is not None
    assert sidefacts._learn(side, sidefacts._Test("x", "==", "OP_SET", False), True,
                            labels) is None
    assert sidefacts._learn(side, sidefacts._Test("x", "==", "OTHER", False), True,
                            labels) is not None
    assert sidefacts._learn(side, sidefacts._Test("x", "!=", "OP_GET", False), True,
                            labels) is None


def _agreeing_outcomes(name: str) -> set[tuple[bool, ...]]:
    """The outcomes of the two tests of x on each acyclic path of ``name``
    that sidefacts.Agreement lets through."""
    from lint import trees
    from xenpatch.c.cfg import Kind

    fa = trees.analysed(fixtures_dir() / "lint" / "agreeing" / "kills.c")
    f = fa.function(name)
    fa.prepare(f)
    cfg = f.cfg
    agree = sidefacts.Agreement(fa.src, cfg, f.info)
    out: set[tuple[bool, ...]] = set()

    def walk(path: list[int]) -> None:
        n = path[-1]
        if cfg.nodes[n].kind is Kind.RETURN or not cfg.nodes[n].succ:
            if not agree.contradicts(path):
                out.add(tuple(path[i + 1] == cfg.nodes[p].succ[0] for i, p in enumerate(path[:-1])
                              if cfg.nodes[p].kind is Kind.COND))
            return
        for s in cfg.nodes[n].succ:
            if s not in path:
                walk([*path, s])

    walk([cfg.entry])
    return out


def test_a_fact_is_forgotten_where_the_value_may_change() -> None:
    # &x handed to a call, a store to x: what the first test said is
    # forgotten on its true arm only.
    changed = {(True, True), (True, False), (False, False)}
    for name in ("handed", "stored"):
        assert _agreeing_outcomes(name) == changed, name
    # A macro of the file given x may assign it; a function the file
    # defines or declares gets a copy.
    assert _agreeing_outcomes("given_to_a_macro") == changed
    for name in ("copied_to_a_function", "given"):
        assert _agreeing_outcomes(name) == {(True, True), (False, False)}, name
    # x's address kept: nothing of x is tracked at all.
    assert _agreeing_outcomes("kept") == changed | {(False, True)}
    # A store elsewhere and a call given something else keep it.
    assert _agreeing_outcomes("untouched") == {(True, True), (False, False)}


def test_a_copy_of_another_variable_is_equal_to_it_until_either_changes() -> None:
    # at = start: "at != start" is false unless the first arm stored to at.
    assert _agreeing_outcomes("copied") == {(True, True), (True, False), (False, False)}
    # A store to start forgets what at was copied from too.
    assert _agreeing_outcomes("copied_then_moved") == {
        (True, True), (True, False), (False, False)}


def test_a_store_through_a_pointer_gives_the_stored_value() -> None:
    # version == 0, then set to 1: "version == 2" is false on that arm.
    assert _agreeing_outcomes("stored_through") == {(True, False), (False, True), (False, False)}


def test_enumerators_of_the_file_have_their_values() -> None:
    # M_read is 0 and M_next 5 (after M_flush = 4): not both.
    assert _agreeing_outcomes("by_enum") == {(True, False), (False, True), (False, False)}


def test_a_negative_number_says_nothing_of_an_unsigned_value() -> None:
    # u = -1 is UINT_MAX: "u > 5" may hold after it; never for a signed s.
    assert _agreeing_outcomes("wraps") == {(True, True), (True, False), (False, False)}
    assert _agreeing_outcomes("does_not_wrap") == {(True, False), (False, False)}
