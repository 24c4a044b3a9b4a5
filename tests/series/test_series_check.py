"""`xenpatch series --check` compares what matters: the lint's findings by
fingerprint (a second lock leak in a file that has one fails), the commit
git am makes (message, author, date), placeholders, and a failed git am
names the file and hunk.  The lint, git am and git itself are real."""

from __future__ import annotations

from pathlib import Path

import pytest
from _seriesutil import commit, series

from xenpatch.lint.findings import Finding
from xenpatch.series import check
from xenpatch.series import series as series_mod

HEADER = "#include <xen/spinlock.h>\n\nstruct dom { spinlock_t lock; int x; };\n\n"

LEAKY = """\
int first(struct dom *d, int v)
{
    spin_lock(&d->lock);
    if ( v < 0 )
        return -1;
    d->x = v;
    spin_unlock(&d->lock);
    return 0;
}
"""

SECOND_LEAK = """
int second(struct dom *d, int v)
{
    spin_lock(&d->lock);
    if ( v > 100 )
        return -2;
    d->x = -v;
    spin_unlock(&d->lock);
    return 0;
}
"""

CLEAN = """
int third(struct dom *d, int v)
{
    spin_lock(&d->lock);
    d->x += v;
    spin_unlock(&d->lock);
    return 0;
}
"""


def _cover(tmp_path: Path) -> Path:
    cover = tmp_path / "cover.txt"
    cover.write_text("dom: locking\n\nSome changes.\n")
    return cover


def test_check_fails_a_second_lock_leak_in_a_file_with_one(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"xen/common/dom.c": HEADER + LEAKY}, "base with a known leak")
    # moves the old leak down by a few lines: still the same finding
    commit(repo, {"xen/common/dom.c": HEADER + "/* a comment\n * on two lines */\n" + LEAKY
                  + CLEAN}, "dom: add third()")
    commit(repo, {"xen/common/dom.c": HEADER + "/* a comment\n * on two lines */\n" + LEAKY
                  + CLEAN + SECOND_LEAK}, "dom: add second()")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--check",
                          "--cover", str(_cover(tmp_path)), "--no-maintainers")
    assert code == 1, err
    assert "patch 1/2 (dom: add third()): lint: no new finding (1 in the touched files" in err
    assert ("patch 2/2 (dom: add second()): new lint finding: xen/common/dom.c:29: 'd->lock' "
            "taken at line 27 is still held at this return [XL001] in second()") in err
    assert err.count("new lint finding") == 1
    assert not (tmp_path / "o").exists()


def test_a_same_leak_in_another_function_is_new(make_repo, tmp_path):
    """The fingerprint holds the function: the same message elsewhere is new."""
    def leak(line: int, taken: int, fn: str = "f") -> Finding:
        return Finding("a.c", line, 5, "XL001", f"'l' taken at line {taken} is still held", fn,
                       key="l")

    before = [leak(10, 8)]
    moved = [leak(14, 12)]
    other = [*moved, leak(30, 28, "g")]
    twice = [*moved, leak(16, 12)]
    assert check.new_findings(before, moved) == []
    assert [f.function for f in check.new_findings(before, other)] == ["g"]
    assert [f.line for f in check.new_findings(before, twice)] == [16]


def test_check_fails_a_message_git_am_would_cut(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    commit(repo, {"f.c": "int a;\nint b;\n"},
           "f: add b\n\nWhy b:\n---\nthe reason, after a dash line", signoff=True)
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--check",
                          "--no-maintainers")
    assert code == 1, err
    assert ("git am records another message (3 line(s) lost, 0 gained; lost '---' / "
            "'the reason, after a dash line' / 'Signed-off-by: Ann Dev <ann@example.org>')") in err


def test_check_fails_an_in_body_from_line(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    commit(repo, {"f.c": "int a;\nint b;\n"},
           "f: add b\n\nFrom: Someone Else <else@example.org>\n\nbody")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--check",
                          "--no-maintainers")
    assert code == 1, err
    assert "git am records author Someone Else <else@example.org>, not Ann Dev" in err


def test_a_patch_that_does_not_apply_names_file_and_hunk(make_repo, tmp_path):
    repo = make_repo()
    lines = "".join(f"line {i}\n" for i in range(1, 30))
    base = commit(repo, {"f.c": lines}, "base")
    commit(repo, {"f.c": lines.replace("line 20\n", "line twenty\n")}, "f: twenty")
    built = series_mod.build(repo, series_mod.Options(spec=f"{base}..HEAD", maintainers=False))
    # the mail as a hand edit broke it: a context line that is not in the file
    built.patches[0].text = built.patches[0].text.replace(" line 18\n", " line eighteen\n")
    said: list[str] = []
    assert check.check(repo, built, report=said.append, lint=False) == check.Outcome.FAILED
    text = "\n".join(said)
    assert "git am failed on v1-0001-f-twenty.patch" in text
    assert "check:   f.c: the hunk at line 17 does not apply:" in text
    assert "check:   @@ -17,7 +17,7 @@ line 16" in text
    assert "check:   -line 20" in text


def test_changelog_placeholder_fails_until_written(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    commit(repo, {"f.c": "int a;\nint b;\n"}, "f: add b")
    out = tmp_path / "o"
    assert series(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers")[0] == 0
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers", "-v", "2",
                          "--check")
    assert code == 1
    assert "unfilled placeholder '*** describe the changes here ***'" in err
    assert series(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers", "-v", "2")[0] == 0
    p = next(out.glob("v2-*.patch"))
    p.write_text(p.read_text().replace("*** describe the changes here ***", "Rebased."))
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers", "-v", "2",
                          "--check")
    assert code == 0, err


def test_a_leak_added_above_an_old_one_is_the_new_one(make_repo, tmp_path):
    """As lint --since: of a function's two leaks of one lock, the one
    whose source text is new is reported, not the old one moved down."""
    from xenpatch.paths import fixtures_dir

    shapes = fixtures_dir() / "lint" / "sinceshift"
    repo = make_repo()
    base = commit(repo, {"xen/common/shift.c": HEADER + (shapes / "before.c").read_text()},
                  "base with a known leak")
    after = HEADER + (shapes / "after.c").read_text()
    commit(repo, {"xen/common/shift.c": after}, "shift: a second take")
    new_return = next(i for i, t in enumerate(after.splitlines(), 1) if "return -7;" in t)
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--check",
                          "--cover", str(_cover(tmp_path)), "--no-maintainers")
    assert code == 1, err
    assert f"new lint finding: xen/common/shift.c:{new_return}: " in err, err
    assert err.count("new lint finding") == 1


def test_a_renamed_file_keeps_its_old_findings(make_repo, tmp_path):
    """A patch moving a file with a known leak (git's rename, the text
    edited a little) adds no finding."""
    from xenpatch.paths import fixtures_dir

    text = HEADER + (fixtures_dir() / "lint" / "sincerename" / "moved.c").read_text()
    repo = make_repo()
    base = commit(repo, {"xen/common/nodes.c": text}, "base with a known leak")
    commit(repo, {"xen/common/nodes.c": None,
                  "xen/common/tree/nodes.c": text.replace("also edits this comment",
                                                          "edits this line")},
           "nodes: move to tree/")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--check",
                          "--cover", str(_cover(tmp_path)), "--no-maintainers")
    assert code == 0, err
    assert "lint: no new finding" in err
    [patch] = (tmp_path / "o").glob("v1-0001-*.patch")
    assert "rename from xen/common/nodes.c" in patch.read_text()


# A leak inside code the lint cannot parse ('@' is no C operator): the
# function is not analysed, so "no new finding" would vouch for it.
UNPARSED_LEAK = """
int fourth(struct dom *d, int v)
{
    spin_lock(&d->lock);
    d->x = v @ 3;
    if ( v < 0 )
        return -1;
    spin_unlock(&d->lock);
    return 0;
}
"""


def test_check_of_a_function_the_lint_cannot_analyse_is_incomplete(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"xen/common/dom.c": HEADER + CLEAN}, "base")
    commit(repo, {"xen/common/dom.c": HEADER + CLEAN + UNPARSED_LEAK}, "dom: add fourth()")
    argv = (f"{base}..HEAD", "--check", "--cover", str(_cover(tmp_path)), "--no-maintainers")
    code, _, err = series(repo, *argv, "-o", str(tmp_path / "o"))
    assert code == 3, err
    lines = (HEADER + CLEAN + UNPARSED_LEAK).splitlines()
    head = lines.index("int fourth(struct dom *d, int v)") + 1
    bad = lines.index("    d->x = v @ 3;") + 1
    assert (f"patch 1/1 (dom: add fourth()): lint: xen/common/dom.c:{head}: note: 'fourth' not "
            f"analysed: unparsed code at line {bad}") in err, err
    assert "check incomplete" in err and "nothing written" in err
    assert not (tmp_path / "o").exists()
    # Asked for: written, the gap still said.
    code, _, err = series(repo, *argv, "-o", str(tmp_path / "p"), "--partial")
    assert code == 0, err
    assert "'fourth' not analysed" in err
    assert list((tmp_path / "p").glob("v1-0001-*.patch"))


def test_partial_needs_check(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    commit(repo, {"f.c": "int a;\nint b;\n"}, "f: add b")
    code, _, err = series(repo, f"{base}..HEAD", "-o", str(tmp_path / "o"), "--partial",
                          "--no-maintainers")
    assert code == 2
    assert "--partial" in err and "only makes sense with --check" in err


def test_an_outcome_is_compared_not_tested_for_truth():
    # A passed check is 0: read as a bool it would be a failure.
    with pytest.raises(TypeError):
        bool(check.Outcome.PASSED)
    assert check.Outcome.PASSED == 0 and check.Outcome.INCOMPLETE == 3
