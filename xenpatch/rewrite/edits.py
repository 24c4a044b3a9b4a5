"""Byte-range edits: apply them, diff them, write them (atomically, all or nothing)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from xenpatch.errors import XenpatchError


class EditError(XenpatchError):
    pass


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    text: bytes
    why: str = ""


def apply_edits(raw: bytes, edits: list[Edit], path: str = "") -> bytes:
    """Apply non-overlapping edits given in offsets of ``raw``."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    out: list[bytes] = []
    pos = 0
    for e in ordered:
        if e.start < pos:
            raise EditError(f"{path}: overlapping edits at byte {e.start} ({e.why})")
        if not 0 <= e.start <= e.end <= len(raw):
            raise EditError(f"{path}: edit out of range at byte {e.start}")
        out.append(raw[pos : e.start])
        out.append(e.text)
        pos = e.end
    out.append(raw[pos:])
    return b"".join(out)


def _diff_lines(data: bytes) -> list[str]:
    """Lines as git and patch see them: split on "\n" only (a form feed,
    vertical tab or lone CR stays inside its line; CRLF keeps its CR).
    Decoded with surrogateescape so that any byte survives the round trip."""
    parts = data.decode("utf-8", "surrogateescape").split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(path: str, old: bytes, new: bytes, context: int = 3) -> str:
    """A git-style diff of one file that ``git apply`` accepts."""
    if old == new:
        return ""
    lines = difflib.unified_diff(
        _diff_lines(old), _diff_lines(new), f"a/{path}", f"b/{path}", n=context
    )
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in lines:
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
            continue
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def write_atomically(root: Path, contents: dict[str, bytes]) -> None:
    """Write every file or none, through the journal (:mod:`xenpatch.journal`):
    a crash at any point is rolled back or completed by the next run."""
    from xenpatch import journal

    writes: dict[Path, bytes | None] = {root / rel: data for rel, data in contents.items()}
    try:
        journal.write_files(root, writes, what="rewrite --in-place")
    except journal.JournalError as exc:
        raise EditError(exc.what, exc.reason) from None
