"""Shared by the real-tree conversion tests: an independent count of the sites
(a regex over comment-free text) and the hypervisor build that judges the result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def textual_sites(tree: Path, field: str, member: str = "->") -> set[tuple[str, int]]:
    """Every rwlock API call naming ->FIELD (``member`` ".": .FIELD, a lock
    in a struct that is itself a member), by regex."""
    site = re.compile(
        r"\b(read_lock|read_unlock|write_lock|write_unlock|rwlock_init|rw_is_locked|"
        r"rw_is_write_locked)\s*\(\s*&\s*([\w>\-.()]+?)\s*" + re.escape(member) + r"\s*"
        + re.escape(field) + r"\s*\)"
    )
    found = set()
    for path in sorted((tree / "xen").rglob("*.[ch]")):
        text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"),
                            path.read_bytes().decode("utf-8", "replace"))
        for m in site.finditer(text):
            found.add((path.relative_to(tree).as_posix(), text.count("\n", 0, m.start()) + 1))
    return found


def build_hypervisor(tree: Path, required: bool = True) -> None:
    """gcc is the peer: make -C xen defconfig && make -C xen -j2 must succeed."""
    for tool in ("make", "gcc", "flex", "bison"):
        if shutil.which(tool) is None:
            if required and os.environ.get("XENPATCH_REQUIRE_XEN") == "1":
                pytest.fail(f"{tool} is needed to build Xen (scripts/run-tests.sh installs it)")
            pytest.skip(f"{tool} is needed to build Xen")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    for cmd in (["make", "-C", "xen", "defconfig"], ["make", "-C", "xen", "-j2"]):
        res = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, env=env)
        log = res.stdout[-3000:] + res.stderr[-3000:]
        assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{log}"
    assert (tree / "xen" / "xen").exists()
