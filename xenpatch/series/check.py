"""``xenpatch series --check``: would a maintainer's ``git am`` take it?

The mails are applied one by one with the real ``git am`` onto BASE in a
throw-away clone; after each patch the touched files are linted (when the
lint capability is installed) and the build command runs, because every
patch of a series must build on its own.  At the end the clone's tree must
be HEAD's tree, byte for byte.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from xenpatch import git
from xenpatch.series.series import Series

Report = Callable[[str], None]


def _lint_function() -> Callable[[list[Path]], int] | None:
    try:
        module = importlib.import_module("xenpatch.lint.api")
    except ImportError:
        return None
    func = getattr(module, "lint_paths", None)
    return func if callable(func) else None


def _lint(lint_paths: Callable[[list[Path]], int], clone: Path, files: list[str]) -> int | None:
    """Exit code of the lint on those of ``files`` that exist now (None: none do).

    Its report goes to stderr: stdout of ``xenpatch series`` lists the files."""
    touched = [clone / f for f in files if (clone / f).is_file()]
    if not touched:
        return None
    with contextlib.redirect_stdout(sys.stderr):
        return int(lint_paths(touched))


def check(
    repo_dir: str | os.PathLike[str],
    series: Series,
    *,
    build_cmd: str | None = None,
    lint: bool = True,
    report: Report = print,
) -> bool:
    """True when every patch applies, lints and builds, and the result is HEAD."""
    ident = git.identity(repo_dir, "committer")
    lint_paths = _lint_function() if lint else None
    if lint and lint_paths is None:
        report("check: lint skipped (xenpatch.lint.api.lint_paths is not available)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="xenpatch-check-") as tmp:
        root = Path(tmp)
        mails = root / "mails"
        mails.mkdir()
        clone = root / "clone"
        git.clone_detached(repo_dir, clone, series.base)
        total = len(series.patches)
        for number, patch in enumerate(series.patches, start=1):
            path = mails / patch.filename
            path.write_bytes(patch.text.encode("utf-8", "surrogateescape"))
            where = f"patch {number}/{total} ({patch.title})"
            before = _lint(lint_paths, clone, patch.files) if lint_paths is not None else None
            proc = git.am(clone, path, ident)
            if proc.returncode != 0:
                err = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
                report(f"check: {where}: git am failed: {err[-1] if err else proc.returncode}")
                git.run_git(["am", "--abort"], cwd=clone, check=False)
                return False
            report(f"check: {where}: git am ok")
            if lint_paths is not None:
                after = _lint(lint_paths, clone, patch.files)
                # Whole files are linted, so old findings in them would fail
                # every patch; only a worse result than before the patch counts.
                if after is not None and after > (before or 0):
                    ok = False
                    report(f"check: {where}: lint got worse on the touched files "
                           f"(exit {before or 0} before, {after} after)")
                elif after is not None:
                    report(f"check: {where}: lint exit {after} (before: {before or 0})")
            if build_cmd:
                # the command is the user's own shell line, run in the clone
                proc = subprocess.run(build_cmd, shell=True, cwd=clone,  # noqa: S602
                                      capture_output=True)
                if proc.returncode != 0:
                    tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
                    report(f"check: {where}: build failed (exit {proc.returncode})")
                    for line in tail:
                        report(f"check:   {line}")
                    return False
                report(f"check: {where}: build ok")
        got = git.tree_of(clone, "HEAD")
        want = git.tree_of(repo_dir, series.head)
        if got != want:
            report(f"check: the applied series gives tree {got[:12]}, HEAD has {want[:12]}")
            return False
        report(f"check: applied on {series.base[:12]}: tree equals HEAD ({want[:12]})")
    return ok
