"""``lint --since REV``: only the findings the files at REV lack, compared by
fingerprint; and the library call the series check uses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lint.snippets import LEAK
from lint.trees import small_tree
from xenpatch.lint import api
from xenpatch.lint.cli import main
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

WORSE = """
int worse(int y)
{
    spin_lock(&l);
    if ( y > 2 )
        return -2;
    spin_unlock(&l);
    return 0;
}
"""


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _committed(r: Path, files: dict[str, str]) -> Path:
    """A new repository at ``r`` with ``files`` (path -> text) committed."""
    for rel, text in files.items():
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text(text)
    _git(r, "init", "-q")
    _git(r, "add", "-A")
    _git(r, "commit", "-q", "-m", "base")
    return r


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return _committed(tmp_path / "repo", {"src/a.c": LEAK})


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_only_what_the_change_adds(repo: Path, capsys) -> None:
    a = repo / "src" / "a.c"
    # Lines inserted above the old finding move it; a new function adds one.
    a.write_text("/* one */\n/* two */\n/* three */\n" + LEAK + WORSE)
    rc, out, _ = _run(["-q", str(a)], capsys)
    assert rc == 1 and len(out.splitlines()) == 2
    rc, out, err = _run(["-q", "--since", "HEAD", str(a)], capsys)
    assert rc == 1, err
    [line] = out.splitlines()
    assert "a.c:18:9: warning: 'l' taken at line 16" in line
    # The same in every format.
    rc, out, _ = _run(["--format", "codequality", "--since", "HEAD", str(a)], capsys)
    assert rc == 1 and out.count('"fingerprint"') == 1


def test_nothing_new_is_clean(repo: Path, capsys) -> None:
    a = repo / "src" / "a.c"
    a.write_text("\n\n" + LEAK)
    assert _run(["--since", "HEAD", str(a)], capsys)[:2] == (0, "")


def test_a_fixed_finding_is_not_reported(repo: Path, capsys) -> None:
    a = repo / "src" / "a.c"
    a.write_text(LEAK.replace("        return -1;\n", "        x = 0;\n"))
    assert _run(["--since", "HEAD", str(a)], capsys)[:2] == (0, "")


def test_nothing_found_now_lints_one_version(repo: Path, capsys, monkeypatch) -> None:
    # Nothing new can come of the committed version when the staged one has
    # no finding: the hook's common commit lints one version, not two.  With
    # a finding now, the committed version is linted, and says it is old.
    from xenpatch.lint import since

    linted: list[list[Path]] = []

    def spy(files, *args, **kwargs):
        linted.append([p for p, _ in files])
        return lint_files(files, *args, **kwargs)

    monkeypatch.setattr(since, "lint_files", spy)
    a = repo / "src" / "a.c"
    a.write_text(LEAK.replace("        return -1;\n", "        x = 0;\n"))
    assert _run(["--since", "HEAD", str(a)], capsys)[:2] == (0, "")
    assert linted == []
    a.write_text("\n\n" + LEAK)
    assert _run(["--since", "HEAD", str(a)], capsys)[:2] == (0, "")
    assert linted == [[a]]
    # A revision git cannot resolve is bad input, found or not.
    a.write_text(LEAK.replace("        return -1;\n", "        x = 0;\n"))
    rc, _, err = _run(["--since", "no-such-rev", str(a)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "no-such-rev" in err, err


def test_a_file_absent_at_rev_is_all_new(repo: Path, capsys) -> None:
    b = repo / "src" / "b.c"
    b.write_text(LEAK)
    rc, out, _ = _run(["-q", "--since", "HEAD", str(b)], capsys)
    assert rc == 1 and len(out.splitlines()) == 1


def test_before_the_first_commit_every_finding_is_new(tmp_path: Path, capsys) -> None:
    # The hook's first commit in a new repository: HEAD names no commit yet.
    r = tmp_path / "fresh"
    (r / "src").mkdir(parents=True)
    a = r / "src" / "a.c"
    a.write_text(LEAK)
    _git(r, "init", "-q")
    _git(r, "add", "-A")
    rc, out, err = _run(["-q", "--since", "HEAD", str(a)], capsys)
    assert rc == 1 and len(out.splitlines()) == 1, err
    # Another name of no commit is still an unknown revision.
    rc, _, err = _run(["--since", "main", str(a)], capsys)
    assert rc == 2 and "main: unknown revision" in err, err


def test_bad_rev_and_no_repository_are_one_line_exit_2(repo: Path, tmp_path: Path,
                                                        capsys) -> None:
    a = repo / "src" / "a.c"
    rc, _, err = _run(["--since", "no-such-rev", str(a)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "no-such-rev" in err, err
    (tmp_path / "loose").mkdir()
    loose = tmp_path / "loose" / "c.c"
    loose.write_text(LEAK)
    if any((p / ".git").exists() for p in loose.parents):
        pytest.skip("the temporary folder is inside a git work tree")
    rc, _, err = _run(["--since", "HEAD", str(loose)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "c.c" in err, err


def test_in_a_tree_the_cache_keeps_the_files_as_they_are(tmp_path: Path, capsys,
                                                        monkeypatch) -> None:
    """Linting the old contents leaves what is kept of the files as they are
    (the old contents' results are kept under their own hash): a plain run
    after it reports the files as they are."""
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    repo = tmp_path / "tree"
    cross = fixtures_dir() / "lint" / "crossfile"
    xen = small_tree(repo / "xen", {"arch/x86/hvm/msix.c": cross / "msix.c",
                                    "drivers/vpci/dump.c": cross / "dump.c"})
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    dump = xen / "drivers" / "vpci" / "dump.c"
    dump.write_text(dump.read_text() + "\n" + LEAK.replace("DEFINE_SPINLOCK(l)",
                                                           "DEFINE_SPINLOCK(l2)")
                    .replace("&l)", "&l2)"))
    rc, out, err = _run(["-q", "--since", "HEAD", str(dump)], capsys)
    assert rc == 1, err
    [line] = out.splitlines()
    assert "'l2' taken" in line
    rc, out, err = _run(["-q", str(dump)], capsys)
    assert rc == 1 and len(out.splitlines()) == 2 and "[XL002]" in out, err


def test_api_new_findings_across_two_clones(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for d, text in ((old, LEAK), (new, "/* moved */\n" + LEAK + WORSE)):
        (d / "src").mkdir(parents=True)
        (d / "src" / "a.c").write_text(text)
    before = lint_files([(old / "src" / "a.c", str(old / "src" / "a.c"))], jobs=1, tree=False)
    after = lint_files([(new / "src" / "a.c", str(new / "src" / "a.c"))], jobs=1, tree=False)
    got = api.new_findings(before, after, before_root=old, after_root=new)
    assert [(f.path, f.function) for f in got] == [(str(new / "src" / "a.c"), "worse")]
    # Without the roots, every file differs by name: all findings are new.
    assert len(api.new_findings(before, after)) == 2
    assert api.new_findings(after, after) == []


def test_a_take_added_above_an_old_one_is_the_new_one(tmp_path: Path, capsys) -> None:
    """A leak of a lock added in a function above an old leak of the same
    lock: the occurrence numbers of both move, the old one's code does not.
    The new one (its return -7) is reported, with the fingerprint the
    report of all gives it; the old one (return -1) is not."""
    import json

    shapes = fixtures_dir() / "lint" / "sinceshift"
    r = _committed(tmp_path / "repo", {"a.c": (shapes / "before.c").read_text()})
    a = r / "a.c"
    a.write_bytes((shapes / "after.c").read_bytes())
    lines = a.read_text().splitlines()
    new_return = next(i for i, t in enumerate(lines, 1) if "return -7;" in t)
    rc, out, _ = _run(["--format", "json", str(a)], capsys)
    every = {f["line"]: f["fingerprint"] for f in json.loads(out)["findings"]}
    assert rc == 1 and new_return in every and len(every) == 2
    rc, out, err = _run(["--format", "json", "--since", "HEAD", str(a)], capsys)
    assert rc == 1, err
    [new] = json.loads(out)["findings"]
    assert new["line"] == new_return
    assert new["fingerprint"] == every[new_return]


def test_a_moved_file_keeps_its_old_findings(tmp_path: Path, capsys) -> None:
    """A file moved by the change (git sees a rename, the text edited a
    little): its findings are compared with the file's at its old path,
    so the old leak is not new."""
    text = (fixtures_dir() / "lint" / "sincerename" / "moved.c").read_text()
    r = _committed(tmp_path / "repo", {"common/nodes.c": text})
    (r / "common" / "tree").mkdir()
    _git(r, "mv", "common/nodes.c", "common/tree/nodes.c")
    moved = r / "common" / "tree" / "nodes.c"
    moved.write_text(text.replace("also edits this comment", "edits this line"))
    _git(r, "add", "-A")
    rc, out, _ = _run(["-q", str(moved)], capsys)
    assert rc == 1 and len(out.splitlines()) == 1
    rc, out, err = _run(["-q", "--since", "HEAD", str(moved)], capsys)
    assert (rc, out) == (0, ""), err
