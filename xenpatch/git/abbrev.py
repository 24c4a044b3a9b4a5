"""Abbreviated object names as git's core.abbrev=auto prints them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

import pygit2

from xenpatch.git.repo import NULL_SHA, common_dir, config_get, open_repo


def _packed_object_count(git_dir: Path) -> int:
    """What git's approximate_object_count() sees: objects in pack indexes
    (of this repository and its alternates); loose objects do not count."""
    dirs = [git_dir / "objects"]
    alternates = git_dir / "objects" / "info" / "alternates"
    if alternates.exists():
        for line in alternates.read_text().splitlines():
            if line and not line.startswith("#"):
                p = Path(line)
                dirs.append(p if p.is_absolute() else (git_dir / "objects" / p).resolve())
    count = 0
    for objects in dirs:
        # A multi-pack-index covers packs whose .idx files stay beside it;
        # counting the .idx files gives git's number up to duplicates.
        packs = sorted((objects / "pack").glob("*.idx"))
        for idx in packs:
            with idx.open("rb") as fh:
                head = fh.read(8 + 256 * 4)
            if head[:4] == b"\xfftOc":
                count += struct.unpack(">I", head[8 + 255 * 4 : 8 + 256 * 4])[0]
            else:  # version 1: the fanout starts at offset 0
                count += struct.unpack(">I", head[255 * 4 : 256 * 4])[0]
    return count


def abbrev_length(repo_dir: str | os.PathLike[str]) -> int:
    """The length git's core.abbrev=auto starts from (before uniqueness)."""
    repo = open_repo(repo_dir)
    configured = config_get(repo.config, "core.abbrev")
    if configured and configured.lower() not in ("auto",):
        if configured.lower() in ("no", "false", "off"):
            return 40
        try:
            return max(4, min(40, int(configured)))
        except ValueError:
            pass
    # the packs are in the common dir: a linked work tree's own git dir has none
    count = _packed_object_count(common_dir(repo_dir))
    if count <= 0:
        return 7
    bits = count.bit_length()  # msb(count) + 1
    return max(7, (bits + 1) // 2)


def unique_abbrev(repo: pygit2.Repository, sha: str, length: int) -> str:
    """Shortest prefix of ``sha`` at least ``length`` long naming one object
    (git's find_unique_abbrev); the null id is just zeros of that length."""
    if sha == NULL_SHA or length >= 40:
        return sha[:length]
    for n in range(length, 40):
        try:
            repo.git_object_lookup_prefix(sha[:n])
            return sha[:n]
        except ValueError:  # ambiguous
            continue
        except KeyError:  # not in the odb: nothing to be ambiguous with
            return sha[:n]
    return sha


def abbreviator(repo_dir: str | os.PathLike[str]) -> Callable[[str], str]:
    """A function sha → abbreviated sha, as git's index lines abbreviate."""
    repo = open_repo(repo_dir)
    length = abbrev_length(repo_dir)

    def abbrev(sha: str) -> str:
        return unique_abbrev(repo, sha, length)

    return abbrev
