"""Hostile values and failing folders for `xenpatch series` (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _seriesutil import commit, run_git, series_inproc


def _repo(make_repo) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    repo = make_repo()
    commit(repo, {"README": "base\n"}, "base")
    base = run_git(repo, "rev-parse", "HEAD").decode().strip()
    for n in range(2):
        commit(repo, {f"f{n}.c": f"int f{n};\n"},
               f"f{n}: add\n\nSigned-off-by: Ann Dev <ann@example.org>")
    return repo, base


@pytest.mark.parametrize("option", ["--subject-prefix", "--in-reply-to", "--to", "--cc"])
@pytest.mark.parametrize("evil", ["PATCH\nBcc: victim@example.org", "x\r\nBcc: v@e.org",
                                  "x\rBcc: v@e.org", "x\x00y", "x\x85y", "x\u2028y"])
def test_control_characters_in_header_values_are_refused(
        make_repo, capsys: pytest.CaptureFixture[str], tmp_path: Path,  # type: ignore[no-untyped-def]
        option: str, evil: str) -> None:
    repo, base = _repo(make_repo)
    out = tmp_path / "out"
    code = series_inproc(repo, f"{base}..HEAD", "--no-maintainers", "-o", str(out),
                         option, evil)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "control character" in lines[0], err
    assert not out.exists()


def test_control_characters_in_the_git_identity_are_refused(
        make_repo, capsys: pytest.CaptureFixture[str], tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo, base = _repo(make_repo)
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ann\nBcc: victim@example.org")
    code = series_inproc(repo, f"{base}..HEAD", "--no-maintainers", "-o",
                         str(tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2 and "committer name" in err and len(err.strip().splitlines()) == 1, err


def test_a_plain_value_still_works(make_repo, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    """The check refuses control characters only: tabs and UTF-8 names pass."""
    repo, base = _repo(make_repo)
    out = tmp_path / "out"
    code = series_inproc(repo, f"{base}..HEAD", "--no-maintainers", "-o", str(out),
                         "--subject-prefix", "PATCH\tfor-4.20", "--to", "Zoë <z@example.org>")
    assert code == 0, capsys.readouterr().err
    assert len(list(out.glob("v1-*.patch"))) == 3


def test_a_failing_folder_leaves_the_old_version_whole(
        make_repo, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """v1 is written, the branch changes, v1 again cannot replace one of its
    files: every old file stays, nothing new appears, the error names the
    target (not a temp file) and nothing is left beside the folder."""
    repo, base = _repo(make_repo)
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "--no-maintainers", "-o", str(out)) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    state = (repo / ".git" / "xenpatch" / "series.json").read_bytes()
    refs = run_git(repo, "for-each-ref", "refs/xenpatch")
    commit(repo, {"f1.c": "int f1 = 1;\n"},
           "f1: change\n\nSigned-off-by: Ann Dev <ann@example.org>")
    # the new third mail's name is taken by a folder: its rename fails
    blocker = out / "v1-0003-f1-change.patch"
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    code = series_inproc(repo, f"{base}..HEAD", "--no-maintainers", "-o", str(out))
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(blocker) in err and ".xenpatch-" not in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert (repo / ".git" / "xenpatch" / "series.json").read_bytes() == state
    assert run_git(repo, "for-each-ref", "refs/xenpatch") == refs
    assert sorted(p.name for p in tmp_path.iterdir() if ".xenpatch-" in p.name) == []
    assert not (repo / ".git" / "xenpatch-journal.json").exists()
