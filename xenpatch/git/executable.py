"""The git executable: only for what must be judged by git itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from xenpatch.errors import GitError
from xenpatch.git.repo import Identity, git_dir


def run_git(args: list[str], cwd: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
            check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise GitError("git", "executable not found in PATH")
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([git, *args], cwd=cwd, env=full_env, input=stdin, capture_output=True)
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]}", err[-1] if err else f"exit {proc.returncode}")
    return proc


def clone_detached(repo_dir: str | os.PathLike[str], dest: Path, rev: str) -> None:
    """A throw-away clone of ``repo_dir`` with ``rev`` checked out (detached)."""
    src = git_dir(repo_dir)
    # --shared borrows the objects instead of copying them: the clone lives
    # for one check and the source repository outlives it.
    run_git(["clone", "--quiet", "--shared", "--no-checkout", str(src), str(dest)], cwd=dest.parent)
    run_git(["checkout", "--quiet", "--detach", rev], cwd=dest)


def am(clone: Path, patch: Path, ident: Identity) -> subprocess.CompletedProcess[bytes]:
    """``git am`` one patch file in ``clone``; returns the process (not raised)."""
    env = {"GIT_COMMITTER_NAME": ident.name, "GIT_COMMITTER_EMAIL": ident.email}
    return run_git(["am", "--quiet", str(patch)], cwd=clone, env=env, check=False)
