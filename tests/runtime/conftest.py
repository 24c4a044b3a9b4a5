"""Fixtures for the runtime tests that run Xen's own lock code.

``xen_source_tree()`` (skip, or fail under XENPATCH_REQUIRE_XEN=1, when
Debian's Xen 4.17 source cannot be had) lives in tests/conftest.py, which
already provides it to every test folder; this file builds the C harness
on top of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CSHIM = Path(__file__).resolve().parent / "cshim"
XEN_FILES = ("xen/include/xen/rwlock.h", "xen/common/rwlock.c", "xen/common/spinlock.c")


def _unavailable(reason: str) -> None:
    if os.environ.get("XENPATCH_REQUIRE_XEN") == "1":
        pytest.fail(f"XENPATCH_REQUIRE_XEN=1 but {reason}")
    pytest.skip(reason)


def build_harness(xen: Path, out: Path, debug: bool) -> Path:
    """Compile cshim/harness.c with the tree's rwlock.c and spinlock.c."""
    gcc = shutil.which("gcc")
    if gcc is None:
        _unavailable("no gcc on PATH to build Xen's lock code for user space")
    missing = [f for f in XEN_FILES if not (xen / f).is_file()]
    if missing:
        _unavailable(f"{xen}: missing {', '.join(missing)}")
    exe = out / ("harness-debug" if debug else "harness-release")
    cmd = [str(gcc), "-O2", "-std=gnu99", "-fgnu89-inline", "-pthread",
           "-include", str(CSHIM / "xenshim.h"), "-I", str(CSHIM / "include"),
           "-I", str(xen / "xen/include"), "-o", str(exe), str(CSHIM / "harness.c"),
           str(xen / "xen/common/rwlock.c"), str(xen / "xen/common/spinlock.c")]
    if not debug:
        cmd.insert(1, "-DNDEBUG")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"building the harness failed:\n{proc.stderr[-4000:]}")
    return exe


@pytest.fixture(scope="session")
def harnesses(xen417: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("xen-harness")
    return {"release": build_harness(xen417, out, False), "debug": build_harness(xen417, out, True)}


@pytest.fixture(scope="session")
def harness_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, bool], Path]:
    """build_harness() for any tree, each (tree, build) built once a session."""
    built: dict[tuple[Path, bool], Path] = {}

    def get(xen: Path, debug: bool) -> Path:
        if (xen, debug) not in built:
            built[(xen, debug)] = build_harness(xen, tmp_path_factory.mktemp("harness"), debug)
        return built[(xen, debug)]

    return get
