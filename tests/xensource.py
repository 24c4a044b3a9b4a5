"""Real inputs shared by the tests: Debian's Xen 4.17 and 4.20 sources and the 2016 tree.

Plain functions (not fixtures) so that any test module can import them:
``from xensource import xen_source_tree``.

A test that needs one skips with the reason when it cannot be had.  Only
Debian's 4.17 (the machine's own suite) is *required*: under
XENPATCH_REQUIRE_XEN=1 (as .ci/run sets) its absence fails instead, so CI
cannot go green by skipping.  The 4.20 tree (``--suite trixie``) is optional:
the archive does not serve it everywhere (a 404 on some mirrors), so its
absence always skips, with the reason, whatever XENPATCH_REQUIRE_XEN says.
XENPATCH_XEN_TREE_TRIXIE=DIR uses DIR (the folder holding xen/) instead.
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


def _unavailable(reason: str, required: bool = True) -> None:
    if required and os.environ.get("XENPATCH_REQUIRE_XEN") == "1":
        pytest.fail(f"XENPATCH_REQUIRE_XEN=1 but {reason}")
    pytest.skip(reason)


# Suites whose tree XENPATCH_REQUIRE_XEN=1 requires: the machine's own (4.17) only.
REQUIRED_SUITES = frozenset({""})


def xen_source_tree(suite: str = "") -> Path:
    """Debian's xen source tree (the folder holding xen/), fetched once and cached:
    the machine's suite (bookworm: 4.17) by default, or ``suite`` ("trixie": 4.20)."""
    required = suite in REQUIRED_SUITES
    override = os.environ.get(f"XENPATCH_XEN_TREE_{suite.upper()}") if suite else None
    if override:
        # A tree unpacked by other means (the folder holding xen/), for checking by hand.
        return Path(override)
    what = f"Debian {suite}'s xen source" if suite else "Debian's xen source"
    argv = ["bash", str(FETCH), *(["--suite", suite] if suite else []), CACHE]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"{what} could not be fetched: {exc}", required)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        _unavailable(f"{what} could not be fetched: {last}", required)
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
