"""Helpers shared by the series tests (git is driven for real, never mocked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from xensource import xen_source_tree as shared_xen_source_tree

from xenpatch.series import cli


def run_git(cwd: Path, *args: str, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> bytes:
    full = dict(os.environ)
    if env:
        full.update(env)
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=full)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


SIGNED = "\n\nSigned-off-by: Ann Dev <ann@example.org>\n"


def write(repo: Path, files: dict[str, bytes | str | None]) -> None:
    for path, data in files.items():
        target = repo / path
        if data is None:
            run_git(repo, "rm", "-q", path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        run_git(repo, "add", path)


def commit(repo: Path, files: dict[str, bytes | str | None], message: str,
           signoff: bool = True, env: dict[str, str] | None = None) -> str:
    write(repo, files)
    msg = message + (SIGNED if signoff else "\n")
    run_git(repo, "commit", "-q", "--allow-empty", "-F", "-", stdin=msg.encode(), env=env)
    return run_git(repo, "rev-parse", "HEAD").decode().strip()


def series(repo: Path, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `xenpatch series` in-process; (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "xenpatch.series.cli",
         "series", "-C", str(repo), *args],
        cwd=cwd or repo, capture_output=True, text=True,
    )
    return proc.returncode, proc.stdout, proc.stderr


def series_inproc(repo: Path, *args: str) -> int:
    return cli.main(["series", "-C", str(repo), *args])


def format_patch(repo: Path, sha: str, *extra: str) -> bytes:
    return run_git(repo, "format-patch", "--stdout", "-1", *extra, sha)


def stat_and_diff(mbox: bytes) -> tuple[bytes, bytes]:
    """(diffstat with summary, diff) of a single-patch mbox."""
    end = mbox.index(b"\n-- \n")
    start_diff = mbox.index(b"\ndiff --git ") + 1
    sep = mbox.rindex(b"\n---\n", 0, start_diff) + 5
    return mbox[sep : start_diff - 1], mbox[start_diff : end + 1]


def xen_source_tree() -> Path:
    """The unpacked Xen 4.17 tree, holding MAINTAINERS and scripts/get_maintainer.pl."""
    tree = shared_xen_source_tree()
    if not (tree / "MAINTAINERS").is_file() or not (tree / "scripts/get_maintainer.pl").is_file():
        pytest.fail(f"{tree}: no MAINTAINERS or scripts/get_maintainer.pl in the Xen source")
    return tree
