"""The real pre-commit framework, with this checkout as the hook repository:
a commit adding a lock leak is refused and shows the finding; a clean one
goes through."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xenpatch.paths import project_root

pytestmark = pytest.mark.slow

LEAK = """static DEFINE_SPINLOCK(l);
int bad(int x)
{
    spin_lock(&l);
    if ( x )
        return -EINVAL;
    spin_unlock(&l);
    return 0;
}
"""
CLEAN = LEAK.replace("        return -EINVAL;\n", "    {\n        spin_unlock(&l);\n"
                     "        return -EINVAL;\n    }\n")


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pre_commit() -> str:
    exe = Path(sys.executable).with_name("pre-commit")
    if exe.exists():
        return str(exe)
    found = shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed")
    return found


def snapshot_repo(dest: Path) -> str:
    """This checkout's tracked files as they are now, committed in a fresh
    repository (pre-commit clones hook repositories at a revision)."""
    root = project_root()
    files = git(root, "ls-files", "-z").split("\0")
    for rel in filter(None, files):
        src = root / rel
        if src.is_symlink():  # xenpatch/_data/ links to rules/ and templates/
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), dest / rel)
        elif src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot")
    return git(dest, "rev-parse", "HEAD").strip()


def hooked(tmp_path: Path, hook: str) -> tuple[Path, dict[str, str]]:
    """A fresh repository with this checkout's ``hook`` installed through
    the real pre-commit framework: (its folder, the environment to commit
    in)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    rev = snapshot_repo(hooks)
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    (work / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: {hook}\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    r = subprocess.run([pre_commit(), "install"], cwd=work, env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return work, env


def test_commit_with_leak_is_refused(tmp_path: Path) -> None:
    work, env = hooked(tmp_path, "xenpatch-lint")
    (work / "bad.c").write_text(LEAK)
    git(work, "add", "bad.c", ".pre-commit-config.yaml")
    r = subprocess.run(["git", "commit", "-m", "leak"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "bad.c:6:9: warning: 'l' taken at line 4 is still held at this return [XL001]" in out
    # The path, as gcc prints it: from the lock to the return.
    assert "bad.c:4:5: note: 'l' taken here" in out
    assert "bad.c:5:10: note: 'x' is true" in out
    assert "bad.c:6:9: note: returns here" in out
    assert git(work, "rev-list", "--all") == ""

    (work / "bad.c").write_text(CLEAN)
    git(work, "add", "bad.c")
    r = subprocess.run(["git", "commit", "-m", "clean"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "xenpatch lint" in r.stdout + r.stderr


def test_the_new_findings_hook_lets_an_old_leak_be_edited(tmp_path: Path) -> None:
    """xenpatch-lint-new (lint --since HEAD): a file with a leak already
    committed can be edited; a commit adding a second leak is refused,
    with that leak alone."""
    work, env = hooked(tmp_path, "xenpatch-lint-new")
    (work / "bad.c").write_text(LEAK)
    git(work, "add", "bad.c", ".pre-commit-config.yaml")
    git(work, "commit", "-q", "--no-verify", "-m", "an old leak")

    def commit(text: str, message: str) -> subprocess.CompletedProcess[str]:
        (work / "bad.c").write_text(text)
        git(work, "add", "bad.c")
        return subprocess.run(["git", "commit", "-m", message], cwd=work, env=env,
                              capture_output=True, text=True, timeout=900)

    r = commit("/* The lock of bad(). */\n" + LEAK, "a comment")
    assert r.returncode == 0, r.stdout + r.stderr
    second = LEAK.replace("bad(int x)", "worse(int x)").replace("DEFINE_SPINLOCK(l);\n", "")
    r = commit("/* The lock of bad(). */\n" + LEAK + second, "a second leak")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert out.count("warning:") == 1, out
    assert "bad.c:15:9: warning: 'l' taken at line 13 is still held at this return [XL001]" \
        in out, out
