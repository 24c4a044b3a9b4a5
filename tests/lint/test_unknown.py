"""No guessing (issue 9, items 3 and 7): what the analysis cannot state is
unknown, the path through it is not reported, and ``-v`` says so."""

from __future__ import annotations

import io

from xenpatch.lint import report
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

LINT = fixtures_dir() / "lint"


def test_unknown_effects_are_listed() -> None:
    cfg = LintConfig.load()
    r = lint_file(LINT / "noguess.c", "noguess.c", cfg)
    names = {name for name, _, _ in r.unknown}
    assert "dump_all" in names
    # The held lock the helper's release may name is the unknown one.
    assert any("'d->lock'" in why for name, _, why in r.unknown if name == "dump_all")
    out, err = io.StringIO(), io.StringIO()
    report.write_text([r], out, err, verbose=True)
    assert "noguess.c:" in err.getvalue() and "in 'dump_all'" in err.getvalue()
    quiet = io.StringIO()
    report.write_text([r], io.StringIO(), quiet, verbose=False)
    assert "dump_all" not in quiet.getvalue()


def test_a_known_helper_leaves_nothing_unknown() -> None:
    cfg = LintConfig.load()
    r = lint_file(LINT / "helpers.c", "helpers.c", cfg)
    assert r.unknown == []


def test_a_callee_not_analysed_is_unknown(tmp_path) -> None:
    # The helper cannot be parsed, so what it does is unknown: the caller's
    # paths through it are not reported (before: the early return was an
    # XL001 although the helper may well have dropped the lock).
    src = tmp_path / "broken.c"
    src.write_text(
        "struct dom { spinlock_t lock; int n; };\n"
        "static void drop(struct dom *d)\n"
        "{\n"
        "    spin_unlock(&d->lock);\n"
        "    d->n = @@ 3;\n"
        "}\n"
        "int use(struct dom *d, int bad)\n"
        "{\n"
        "    spin_lock(&d->lock);\n"
        "    drop(d);\n"
        "    if ( bad )\n"
        "        return -1;\n"
        "    return 0;\n"
        "}\n"
        "int plain(struct dom *d, int bad)\n"
        "{\n"
        "    spin_lock(&d->lock);\n"
        "    if ( bad )\n"
        "        return -1;\n"
        "    spin_unlock(&d->lock);\n"
        "    return 0;\n"
        "}\n"
    )
    r = lint_file(src, "broken.c", LintConfig.load())
    assert [name for name, _, _ in r.skipped] == ["drop"]
    assert [(f.function, f.line, f.check) for f in r.findings] == [("plain", 19, "XL001")]
    assert any(name == "use" and "'drop'" in why for name, _, why in r.unknown)


def test_a_test_dropping_the_element_on_both_arms_guards_no_release() -> None:
    # "if ( found ) { ...; unlock(p); break; } unlock(p);": the element is
    # dropped whichever way the test goes, so the collective lock is known
    # past it (it was listed as may or may not held, Xen's np2m_flush_base()).
    r = lint_file(LINT / "guarded_collective.c", "guarded_collective.c", LintConfig.load())
    assert [u for u in r.unknown if u[0] == "clear_first_busy"] == []
    # The guarded release of adjust_all() stays unknown past its skip.
    assert [u[0] for u in r.unknown if u[0] == "adjust_all"] == ["adjust_all"]


def test_a_drop_on_every_path_of_the_other_arm_is_no_guarded_one() -> None:
    # "else if ( !idle(p) ) { if ( first < 0 ) first = i; unlock(p); } else
    # unlock(p);": the true arm tests something before its drop, and the
    # drop on the false arm was read as guarded by the lookup (Xen's
    # p2m_altp2m_propagate_change(), "may or may not hold" on 4.17 to master).
    r = lint_file(LINT / "guarded_collective.c", "guarded_collective.c", LintConfig.load())
    assert [u for u in r.unknown if u[0] == "first_busy"] == []
    assert not [f for f in r.findings if f.function == "first_busy"]
    # Its twin keeps the slot the loop took on one path of that arm: a leak
    # at the return, not an unknown (the skipped drop is in the taking loop).
    assert [u for u in r.unknown if u[0] == "first_busy_keeping"] == []
    assert [(f.function, f.check) for f in r.findings if f.function.startswith("first_busy")] \
        == [("first_busy_keeping", "XL001")]
