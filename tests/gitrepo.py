"""Git for the tests that make histories (the hook's patch mode, the
benches that replay Xen's), and the benches loaded as modules."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(cwd: Path, *args: str) -> str:
    """``git ARGS`` in ``cwd`` with a test identity; its output (it must
    succeed)."""
    r = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **IDENTITY},
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def bench(name: str) -> ModuleType:
    """bench/NAME.py as a module (the benches are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
