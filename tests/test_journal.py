"""The journal and `rewrite --commit` as issue 11 wants them: the commit goes
into the repository holding TREE, never holds the user's edits or untracked
files, and a half-done write is completed or rolled back by the next command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from xensource import ROOT

from xenpatch import journal
from xenpatch.cli import main

FIXTURE = ROOT / "fixtures" / "xen"
GT = ROOT / "rules" / "grant_table.toml"
ENV = {"GIT_AUTHOR_NAME": "Ann Dev", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Dev", "GIT_COMMITTER_EMAIL": "ann@example.org"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env={**os.environ, **ENV}).stdout


@pytest.fixture()
def outer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose repository holds a Xen tree in sub/."""
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    repo = tmp_path / "project"
    shutil.copytree(FIXTURE, repo / "sub")
    (repo / "README").write_text("outer\n")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def _rewrite(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["rewrite", "--rule", str(GT), *argv])
    return code, capsys.readouterr().err


def test_commit_goes_into_the_repository_holding_the_tree(
        outer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (outer / "sub" / "xen" / "common" / "untracked.c").write_text("int u;\n")
    code, err = _rewrite(capsys, "--commit", str(outer / "sub"))
    assert code == 0, err
    changed = git(outer, "show", "--name-only", "--format=", "HEAD").split()
    assert changed and all(p.startswith("sub/xen/") for p in changed), changed
    assert "sub/xen/common/untracked.c" not in changed
    # the work tree is the commit, but for the untracked file
    assert git(outer, "status", "--porcelain") == "?? sub/xen/common/untracked.c\n"
    assert not any(".xenpatch-" in p.name for p in outer.rglob("*"))


def test_force_refuses_when_a_file_to_convert_has_the_users_edits(
        outer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = outer / "sub" / "xen" / "common" / "grant_table.c"
    gt.write_bytes(gt.read_bytes() + b"/* mine */\n")
    head = git(outer, "rev-parse", "HEAD")
    index = git(outer, "ls-files", "-s")
    code, err = _rewrite(capsys, "--commit", "--force", str(outer / "sub"))
    assert code == 2 and "sub/xen/common/grant_table.c" in err, err
    assert len(err.strip().splitlines()) == 1
    assert git(outer, "rev-parse", "HEAD") == head and git(outer, "ls-files", "-s") == index
    assert gt.read_bytes().endswith(b"/* mine */\n")


def test_force_converts_heads_files_and_keeps_other_edits_out(
        outer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mk = outer / "sub" / "xen" / "Makefile"
    mk.write_text(mk.read_text() + "# mine\n")
    # an edit that would change the conversion if it were read: a new user
    # of the lock in an untracked file
    (outer / "sub" / "xen" / "common" / "extra.c").write_text(
        (outer / "sub" / "xen" / "common" / "grant_table.c").read_text())
    code, err = _rewrite(capsys, "--commit", "--force", str(outer / "sub"))
    assert code == 0, err
    changed = git(outer, "show", "--name-only", "--format=", "HEAD").split()
    assert "sub/xen/Makefile" not in changed and "sub/xen/common/extra.c" not in changed
    assert git(outer, "show", "HEAD:sub/xen/Makefile") == git(outer, "show",
                                                              "HEAD~1:sub/xen/Makefile")
    assert mk.read_text().endswith("# mine\n")
    status = git(outer, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M sub/xen/Makefile", "?? sub/xen/common/extra.c"]


def _half_done(root: Path, record: Path, state: str) -> dict[Path, bytes]:
    """A journal stopped after staging (or after the first rename)."""
    files = sorted(p for p in root.rglob("*.c"))[:3]
    old = {p: p.read_bytes() for p in files}
    jn = journal.Journal(record, "rewrite --in-place")
    jn.stage({p: b"new " + p.name.encode() for p in files})
    if state == "applying":
        jn.save("applying")
        os.replace(jn.entries[0].staged, jn.entries[0].target)  # type: ignore[arg-type]
    return old


@pytest.mark.parametrize("in_git", [False, True])
@pytest.mark.parametrize("state", ["staging", "applying"])
def test_any_command_rolls_back_a_half_done_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], in_git: bool, state: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "tree"))
    if in_git:
        git(tmp_path, "init", "-q", str(tree))
    record = journal.record_path_for(tree)
    assert record == (tree / ".git" / journal.RECORD_NAME if in_git
                      else tree / journal.DOT_RECORD_NAME)
    # written with paths relative to one folder, recovered from another
    monkeypatch.chdir(tmp_path)
    old = _half_done(Path("tree"), record, state)
    old = {tmp_path / p: data for p, data in old.items()}
    assert record.exists()
    monkeypatch.chdir(tree / "xen")
    # a command that writes nothing, given a file inside the tree
    main(["lint", str(tree / "xen" / "common" / "grant_table.c")])
    err = capsys.readouterr().err
    assert f"xenpatch: {record}: rolled back an interrupted rewrite --in-place" in err
    assert {p: p.read_bytes() for p in old} == old
    assert not record.exists()
    assert not [p for p in tree.rglob("*") if ".xenpatch-" in p.name]


def test_a_record_naming_foreign_files_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "tree"))
    victim = tmp_path / "precious"
    victim.write_text("keep me\n")
    record = tree / journal.DOT_RECORD_NAME
    record.write_text(json.dumps({
        "version": 1, "what": "x", "state": "applying", "dirs": [], "made": [], "extra": {},
        "files": [{"target": str(tree / "a.c"), "staged": str(victim), "backup": None,
                   "existed": False}]}))
    code = main(["lint", "--list-checks", str(tree)])
    err = capsys.readouterr().err
    assert code == 2 and str(record) in err and len(err.strip().splitlines()) == 1, err
    assert victim.read_text() == "keep me\n" and not (tree / "a.c").exists()


def test_garbage_record_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "tree"))
    (tree / journal.DOT_RECORD_NAME).write_text("[1, 2")
    assert main(["lint", "--list-checks", str(tree)]) == 2
    assert "not a xenpatch journal record" in capsys.readouterr().err
