"""What a series remembers between versions: ``.git/xenpatch/series.json``.

Per series name (the branch, by default) and version: base and head
commits (kept reachable by ``refs/xenpatch/<name>/v<N>``), the files written
and their Message-IDs, the cover subject and blurb, and the changelog text.

The author writes changelogs where reviewers read them — in the emitted
mails, below ``---`` — and the next run harvests what was written there
before it overwrites or supersedes the files.  So ``Changes since vK:``
sections survive from version to version without a separate editor step.
"""

from __future__ import annotations

import email.header
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, NamedTuple

from xenpatch import git

PLACEHOLDER = "*** describe the changes here ***"
SUBJECT_PLACEHOLDER = "*** SUBJECT HERE ***"
BLURB_PLACEHOLDER = "*** BLURB HERE ***"
_SECTION = re.compile(r"^Changes since v(\d+):\s*$")
_STAT_LINE = re.compile(r"^ \S.* \| +(\d+|Bin)( |$)|^ \d+ files? changed")
_SHORTLOG = re.compile(r"^\S.* \(\d+\):$")


def state_path(repo_dir: str | os.PathLike[str]) -> Path:
    """In the common git dir: every work tree of the repository sees the
    same versions (the refs that keep them reachable are shared too)."""
    return git.common_dir(repo_dir) / "xenpatch" / "series.json"


def load(repo_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = state_path(repo_dir)
    if not path.exists():
        # a linked work tree's history from before it was shared
        path = git.git_dir(repo_dir) / "xenpatch" / "series.json"
    if not path.exists():
        return {"series": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"series": {}}
    data.setdefault("series", {})
    return data


def records(state: dict[str, Any], name: str) -> dict[str, Any]:
    return state["series"].setdefault(name, {"versions": {}})["versions"]


def message_ids(state: dict[str, Any]) -> set[str]:
    """Every Message-ID recorded, of every version of every series."""
    found = set()
    for series in state["series"].values():
        for record in series.get("versions", {}).values():
            found.add(record.get("cover", {}).get("message_id"))
            found.update(p.get("message_id") for p in record.get("patches", []))
    found.discard(None)
    return found


# --------------------------------------------------------------------------
# harvesting the author's text out of emitted mails


def _sections(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        m = _SECTION.match(line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None:
            if not line.strip():
                current = None
            elif PLACEHOLDER not in line:
                out[current].append(line.rstrip())
    return {k: v for k, v in out.items() if v}


def patch_changelog(text: str) -> dict[str, list[str]]:
    """``Changes since vK`` sections between ``---`` and the diffstat."""
    lines = text.split("\n")
    try:
        head_end = lines.index("")
        start = lines.index("---", head_end) + 1
    except ValueError:
        return {}
    block = []
    for line in lines[start:]:
        if _STAT_LINE.match(line) or line.startswith("diff --git "):
            break
        block.append(line)
    return _sections(block)


def cover_text(text: str) -> tuple[str | None, str | None, dict[str, list[str]]]:
    """(subject, blurb, changelog) the author left in a cover letter."""
    lines = text.split("\n")
    try:
        head_end = lines.index("")
    except ValueError:
        return None, None, {}
    subject = None
    header = "\n".join(lines[:head_end])
    m = re.search(r"^Subject: (.*(?:\n[ \t].*)*)", header, re.M)
    if m:
        raw = re.sub(r"\n[ \t]", " ", m.group(1))
        decoded = str(email.header.make_header(email.header.decode_header(raw)))
        subject = re.sub(r"^\[[^]]*\]\s*", "", decoded).strip() or None
    body = lines[head_end + 1 :]
    blurb_lines = []
    for line in body:
        if _SECTION.match(line) or _SHORTLOG.match(line) or line == "-- ":
            break
        blurb_lines.append(line)
    blurb = "\n".join(blurb_lines).strip("\n") or None
    return subject, blurb, _sections(body)


def harvest(record: dict[str, Any]) -> None:
    """Fold the author's edits in the files of ``record`` back into it."""
    out = Path(record.get("out", ""))
    cover = record.get("cover", {})
    path = out / cover.get("file", "")
    if cover.get("file") and path.is_file():
        subject, blurb, sections = cover_text(path.read_text(encoding="utf-8", errors="replace"))
        if subject and subject != SUBJECT_PLACEHOLDER:
            cover["subject"] = subject
        if blurb and blurb != BLURB_PLACEHOLDER:
            cover["blurb"] = blurb
        if sections:
            cover.setdefault("changes", {}).update(sections)
    for patch in record.get("patches", []):
        path = out / patch.get("file", "")
        if patch.get("file") and path.is_file():
            sections = patch_changelog(path.read_text(encoding="utf-8", errors="replace"))
            if sections:
                patch.setdefault("changes", {}).update(sections)


class Identity(NamedTuple):
    """What makes two versions of a patch the same patch: its ``git patch-id
    --stable`` (survives a reworded subject or message), else its subject
    (survives a changed diff)."""

    patch_id: str | None
    title: str


def find_patch(record: dict[str, Any] | None, ident: Identity) -> dict[str, Any] | None:
    """The entry of ``record`` that is the patch ``ident``: by patch-id
    first, by subject when no entry has that patch-id."""
    patches = (record or {}).get("patches", [])
    if ident.patch_id:
        for patch in patches:
            if patch.get("patch_id") == ident.patch_id:
                return patch
    for patch in patches:
        if patch.get("title") == ident.title:
            return patch
    return None


def change_id(history: dict[str, Any], name: str, now: int | None = None) -> str:
    """The series' b4-style ``change-id`` (``YYYYMMDD-<slug>-<12 hex>``): the
    one an earlier version recorded, else a new one."""
    for version in sorted(history, key=int, reverse=True):
        found = history[version].get("change_id")
        if found:
            return str(found)
    when = int(time.time()) if now is None else now
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32].strip("-") or "series"
    salt = hashlib.sha1(f"{name}\0{when}\0{os.getpid()}\0{os.urandom(8).hex()}".encode())
    return f"{time.strftime('%Y%m%d', time.gmtime(when))}-{slug}-{salt.hexdigest()[:12]}"


def changelog(versions: dict[str, Any], version: int,
              ident: Identity | None) -> list[dict[str, Any]]:
    """``[{since: K, lines: [...]}, ...]`` newest first for a patch (by its
    identity, so a reworded subject keeps its history) or, with
    ``ident=None``, for the cover letter of ``version``.

    The identity is followed back version by version: the entry found in
    v(N-1) gives the subject and patch-id to look for in v(N-2), so a patch
    reworded twice is still found."""
    entries: dict[int, dict[str, Any]] = {}
    current = ident
    for v in range(version, 0, -1):
        record = versions.get(str(v))
        if not record:
            continue
        if current is None:
            found = record.get("cover", {})
        else:
            found = find_patch(record, current)
            if found is not None:
                current = Identity(found.get("patch_id") or current.patch_id,
                                   found.get("title") or current.title)
        if found is not None:
            entries[v] = found

    sections = []
    for since in range(version - 1, 0, -1):
        if since not in entries:
            continue  # the patch did not exist in v<since>
        lines: list[str] | None = None
        # the newest record that says something about v<since> wins
        for v in range(version, since, -1):
            found = entries.get(v)
            if found and found.get("changes", {}).get(str(since)):
                lines = found["changes"][str(since)]
                break
        if lines is None:
            if since != version - 1:
                continue
            lines = [f" - {PLACEHOLDER}"]
        sections.append({"since": since, "lines": lines})
    return sections
