"""Real inputs shared by the tests: Debian's Xen 4.17 source and the 2016 tree.

Plain functions (not fixtures) so that any test module can import them:
``from xensource import xen_source_tree``.

A test that needs one skips with the reason when it cannot be had, and fails
instead when XENPATCH_REQUIRE_XEN=1 (as .ci/run sets), so CI cannot go green
by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FETCH = ROOT / "scripts" / "fetch-xen-source.sh"
# Resolved once at import, before any test points HOME at a temporary folder,
# so that every test finds the same cached download.
CACHE = os.environ.get("XENPATCH_CACHE") or str(Path.home() / ".cache" / "xenpatch")
MIRROR = Path(os.environ.get("XENPATCH_XEN_MIRROR", "/work/.mirror/xen-project+xen/repo"))


def _unavailable(reason: str) -> None:
    if os.environ.get("XENPATCH_REQUIRE_XEN") == "1":
        pytest.fail(f"XENPATCH_REQUIRE_XEN=1 but {reason}")
    pytest.skip(reason)


def xen_source_tree() -> Path:
    """Debian's xen 4.17 source tree (the folder holding xen/), fetched once and cached."""
    try:
        out = subprocess.run(["bash", str(FETCH), CACHE], capture_output=True, text=True,
                             timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"Debian's xen source could not be fetched: {exc}")
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        _unavailable(f"Debian's xen source could not be fetched: {last}")
    return Path(out.stdout.strip().splitlines()[-1])


def git_tree_at(rev: str, dest: Path, paths: tuple[str, ...] = ("xen",)) -> Path:
    """Export ``rev`` of the public Xen history into ``dest`` (skips without the mirror)."""
    if not (MIRROR / "HEAD").exists():
        pytest.skip(f"no clone of the public Xen history at {MIRROR} (set XENPATCH_XEN_MIRROR)")
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "tree.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(MIRROR), "archive", rev, *paths], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest
