"""commit_files and render_commit_message, checked with the git executable."""

from __future__ import annotations

import os

import pytest
from _seriesutil import commit, run_git

from xenpatch.errors import GitError
from xenpatch.git import commit_files
from xenpatch.series.errors import SeriesError
from xenpatch.series.message import render_commit_message

CONTEXT = {
    "rule": "grant-table-percpu-rwlock",
    "subsystem": "grant_table",
    "struct": "grant_table",
    "field": "lock",
    "owner": "grant table",
    "files": {"xen/common/grant_table.c": 52, "xen/arch/x86/mm.c": 2,
              "xen/include/xen/grant_table.h": 1},
    "description": "The per domain grant table read lock suffers from significant "
                   "contention when performing multi-queue block or network IO.\n\n"
                   "A percpu rwlock takes the read side without touching a shared line.",
}


def _head(repo):
    return run_git(repo, "rev-parse", "HEAD").decode().strip()


def _status(repo):
    return run_git(repo, "status", "--porcelain").decode()


def test_commit_files_makes_one_clean_commit(make_repo):
    repo = make_repo()
    base = commit(repo, {"xen/a.c": "a\n", "tools/run.sh": "#!/bin/sh\n", "old.txt": "x\n"},
                  "base")
    (repo / "tools/run.sh").chmod(0o755)
    run_git(repo, "commit", "-q", "-am", "exec")
    parent = _head(repo)
    sha = commit_files(repo, {"xen/a.c": b"b\n", "xen/new/dir/n.h": b"n\n",
                              "tools/run.sh": b"#!/bin/sh\necho\n", "old.txt": None},
                       "xen: change things\n\nBody.\n")
    assert sha == _head(repo) and sha != base
    assert run_git(repo, "rev-parse", "HEAD^").decode().strip() == parent
    assert _status(repo) == ""  # index and work tree match the new commit
    assert (repo / "xen/a.c").read_bytes() == b"b\n"
    assert not (repo / "old.txt").exists()
    assert os.access(repo / "tools/run.sh", os.X_OK)
    tree = run_git(repo, "ls-tree", "-r", "HEAD").decode()
    assert "100755 blob" in tree.split("tools/run.sh")[0].splitlines()[-1]
    who = run_git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B").decode()
    assert who.startswith("Ann Dev <ann@example.org>|Ann Dev <ann@example.org>|xen: change")
    assert run_git(repo, "fsck", "--strict").decode() == ""
    reflog = run_git(repo, "reflog", "-1", "--format=%gs").decode()
    assert reflog.strip() == "commit: xen: change things"


def test_commit_files_on_a_new_branch(make_repo):
    repo = make_repo()
    base = commit(repo, {"a": "1\n"}, "base")
    sha = commit_files(repo, {"a": b"2\n"}, "conv\n", branch="percpu")
    assert run_git(repo, "symbolic-ref", "HEAD").decode().strip() == "refs/heads/percpu"
    assert run_git(repo, "rev-parse", "main").decode().strip() == base
    assert run_git(repo, "rev-parse", "percpu").decode().strip() == sha
    assert _status(repo) == ""


def test_commit_files_refuses_branch_elsewhere(make_repo):
    repo = make_repo()
    commit(repo, {"a": "1\n"}, "base")
    run_git(repo, "branch", "other")
    commit(repo, {"a": "2\n"}, "moved on")
    head = _head(repo)
    with pytest.raises(GitError, match="does not point at HEAD"):
        commit_files(repo, {"a": b"3\n"}, "x\n", branch="other")
    assert _head(repo) == head and (repo / "a").read_text() == "2\n"


def test_dirty_tree_refused_unless_forced(make_repo):
    repo = make_repo()
    commit(repo, {"a": "1\n", "b": "1\n"}, "base")
    head = _head(repo)
    (repo / "b").write_text("local edit\n")
    with pytest.raises(GitError, match="uncommitted changes"):
        commit_files(repo, {"a": b"2\n"}, "x\n")
    assert _head(repo) == head and (repo / "a").read_text() == "1\n"
    (repo / "untracked").write_text("fine\n")  # untracked files are not dirt
    sha = commit_files(repo, {"a": b"2\n"}, "x\n", force=True)
    assert _head(repo) == sha
    assert (repo / "b").read_text() == "local edit\n"  # the user's edit survives
    assert run_git(repo, "show", "HEAD:b").decode() == "1\n"


def test_missing_identity_is_a_clear_error_and_changes_nothing(make_repo):
    repo = make_repo(identity=False)
    run_git(repo, "-c", "user.name=X", "-c", "user.email=x@y", "commit", "-q",
            "--allow-empty", "-m", "base")
    head = _head(repo)
    with pytest.raises(GitError) as err:
        commit_files(repo, {"a": b"1\n"}, "x\n")
    assert "user.name and user.email not set" in err.value.line()
    assert err.value.line().startswith("xenpatch: git identity: ")
    assert _head(repo) == head and not (repo / "a").exists()


def test_no_change_and_bad_paths_change_nothing(make_repo):
    repo = make_repo()
    commit(repo, {"a": "1\n"}, "base")
    head = _head(repo)
    with pytest.raises(GitError, match="nothing to commit"):
        commit_files(repo, {"a": b"1\n"}, "x\n")
    with pytest.raises(GitError, match="clean relative path"):
        commit_files(repo, {"../escape": b"1\n"}, "x\n")
    assert _head(repo) == head


def test_first_commit_in_an_empty_repository(make_repo):
    repo = make_repo()
    sha = commit_files(repo, {"README": b"hello\n"}, "initial\n")
    assert _head(repo) == sha and _status(repo) == ""


def test_render_commit_message(make_repo):
    repo = make_repo()
    text = render_commit_message(CONTEXT, repo_dir=repo)
    lines = text.split("\n")
    assert lines[0] == "grant_table: convert grant table rwlock to percpu rwlock"
    assert lines[1] == ""
    assert all(len(line) <= 72 for line in lines)
    assert "contention" in text and "55 sites in 3 files" in text
    assert "  xen/common/grant_table.c: 52 sites" in text
    assert "  xen/include/xen/grant_table.h: 1 site\n" in text
    assert text.endswith("\n\nSigned-off-by: Ann Dev <ann@example.org>\n")
    # git keeps it as is
    sha = commit_files(repo, {"f": b"1\n"}, text)
    assert run_git(repo, "log", "-1", "--format=%B", sha).decode() == text + "\n"


def test_render_commit_message_options_and_errors(make_repo, tmp_path):
    repo = make_repo()
    ctx = dict(CONTEXT, subject="p2m: convert p2m rwlock to percpu rwlock",
               signed_off_by="Bob <bob@example.org>",
               files=[("b.c", 1), {"path": "a.c", "sites": 3}])
    text = render_commit_message(ctx, repo_dir=repo)
    assert text.startswith("p2m: convert p2m rwlock to percpu rwlock\n")
    assert text.index("  a.c: 3 sites") < text.index("  b.c: 1 site")
    assert text.endswith("Signed-off-by: Bob <bob@example.org>\n")
    broken = dict(CONTEXT)
    del broken["owner"]
    with pytest.raises(SeriesError, match="owner"):
        render_commit_message(broken, repo_dir=repo)
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "commit-message.j2").write_text("{{ subsystem }}: custom\n\n"
                                              "Signed-off-by: {{ signed_off_by }}\n")
    assert render_commit_message(CONTEXT, repo_dir=repo, templates=custom) == (
        "grant_table: custom\n\nSigned-off-by: Ann Dev <ann@example.org>\n")
