"""Every kind of work tree: the index lines abbreviate as git does there,
and the version history is the repository's, not the work tree's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from _seriesutil import commit, run_git, series_inproc

from xenpatch.series import versions


def _many_packed_objects(repo: Path, count: int) -> None:
    """``count`` packed blobs: git's auto abbreviation grows past 7 digits
    from 2**15 packed objects on."""
    data = b"".join(b"blob\ndata %d\n%s\n" % (len(str(i)) + 1, str(i).encode() + b"\n")
                    for i in range(count))
    run_git(repo, "fast-import", "--quiet", stdin=data)  # writes them as one pack


def _index_lines(text: str) -> list[str]:
    return re.findall(r"^index \S+", text, re.M)


def test_linked_worktree_abbreviates_like_git(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    _many_packed_objects(repo, 33000)
    linked = tmp_path / "linked"
    run_git(repo, "worktree", "add", "-q", "-b", "topic", str(linked), base)
    commit(linked, {"f.c": "int a;\nint b;\n"}, "f: one more")
    commit(linked, {"g.c": "int g;\n"}, "g: new")
    want = run_git(linked, "format-patch", "--stdout", f"{base}..HEAD").decode()
    out = tmp_path / "out"
    assert series_inproc(linked, f"{base}..HEAD", "-o", str(out), "--no-maintainers") == 0
    got = "".join(p.read_text() for p in sorted(out.glob("v1-000[1-9]-*.patch")))
    assert _index_lines(got) == _index_lines(want)
    assert len(_index_lines(got)[0].split()[1].split("..")[0]) == 8


def test_version_history_is_shared_by_every_worktree(make_repo, tmp_path):
    repo = make_repo()
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    linked = tmp_path / "linked"
    run_git(repo, "worktree", "add", "-q", "-b", "topic", str(linked), base)
    commit(linked, {"f.c": "int a;\nint b;\n"}, "f: one more")
    commit(linked, {"g.c": "int g;\n"}, "g: new")
    out = tmp_path / "out"
    assert series_inproc(linked, f"{base}..HEAD", "-o", str(out), "--no-maintainers") == 0
    # the main work tree sees v1 of "topic" and threads v2 under it
    state = json.loads((repo / ".git" / "xenpatch" / "series.json").read_text())
    v1 = state["series"]["topic"]["versions"]["1"]
    assert versions.state_path(linked) == versions.state_path(repo)
    second = tmp_path / "second"
    run_git(repo, "worktree", "add", "-q", "--detach", str(second), "topic")
    out2 = tmp_path / "out2"
    assert series_inproc(second, f"{base}..HEAD", "-o", str(out2), "--no-maintainers",
                         "--name", "topic", "-v", "2", "--in-reply-to", "previous") == 0
    cover = (out2 / "v2-0000-cover-letter.patch").read_text()
    assert f"In-Reply-To: <{v1['cover']['message_id']}>" in cover


def test_separate_git_dir_abbreviates_like_git(tmp_path):
    """A work tree whose .git is a file pointing elsewhere (submodules,
    `git init --separate-git-dir`)."""
    repo = tmp_path / "wt"
    run_git(tmp_path, "init", "-q", "-b", "main", f"--separate-git-dir={tmp_path / 'gd'}",
            str(repo))
    run_git(repo, "config", "user.name", "Ann Dev")
    run_git(repo, "config", "user.email", "ann@example.org")
    base = commit(repo, {"f.c": "int a;\n"}, "base")
    _many_packed_objects(repo, 33000)
    commit(repo, {"f.c": "int a;\nint b;\n"}, "f: one more")
    want = run_git(repo, "format-patch", "--stdout", f"{base}..HEAD").decode()
    out = tmp_path / "out"
    assert series_inproc(repo, f"{base}..HEAD", "-o", str(out), "--no-maintainers") == 0
    got = "".join(p.read_text() for p in sorted(out.glob("v1-000[1-9]-*.patch")))
    assert _index_lines(got) == _index_lines(want)
    assert len(_index_lines(got)[0].split()[1].split("..")[0]) == 8
