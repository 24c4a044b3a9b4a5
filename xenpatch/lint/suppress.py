"""Suppressing findings in the source.

Two conventions:

* ``/* xenpatch: ignore XL001 */`` (IDs separated by commas or blanks, or
  ``*``) on the finding's line, or on the line of the function's
  definition or in the comment block just above it (then for the whole
  function).
* Xen's deviation tags: ``/* SAF-3-safe ... */`` on the line before the
  finding suppresses it when entry ``SAF-3-safe`` of the tree's
  ``docs/misra/safe.json`` maps the analyser ``xenpatch`` to the finding's
  ID (a string, or a list of IDs).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.c.source import SourceFile
from xenpatch.lint.findings import Finding

_IGNORE = re.compile(r"xenpatch:\s*ignore\s+((?:(?:\*(?!/)|[A-Z]+\d+)[ \t,]*)+)")
_SAF = re.compile(r"/\*\s*(SAF-\d+-safe)\b")


def _ignored(text: str) -> set[str]:
    out: set[str] = set()
    for m in _IGNORE.finditer(text):
        out.update(x for x in re.split(r"[,\s]+", m.group(1)) if x)
    return out


def _matches(ids: set[str], check: str) -> bool:
    return "*" in ids or check in ids


def find_safe_json(path: Path | None) -> Path | None:
    """docs/misra/safe.json of the tree holding ``path`` (any level up)."""
    if path is None:
        return None
    for p in path.resolve().parents:
        cand = p / "docs" / "misra" / "safe.json"
        if cand.is_file():
            return cand
    return None


@cache
def saf_map(safe_json: Path) -> dict[str, frozenset[str]]:
    """SAF id -> the xenpatch check IDs it covers."""
    try:
        data = json.loads(safe_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, frozenset[str]] = {}
    for entry in data.get("content", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict):
            continue
        ours = (entry.get("analyser") or {}).get("xenpatch")
        if isinstance(ours, str):
            out[entry.get("id", "")] = frozenset([ours])
        elif isinstance(ours, list):
            out[entry.get("id", "")] = frozenset(x for x in ours if isinstance(x, str))
    return out


def filter_findings(
    src: SourceFile, path: Path | None, fa: FileAnalysis, findings: list[Finding]
) -> list[Finding]:
    if not findings:
        return findings
    has_ignore = b"xenpatch:" in src.raw
    has_saf = b"SAF-" in src.raw
    if not has_ignore and not has_saf:
        return findings
    saf = saf_map(sj) if has_saf and (sj := find_safe_json(path)) else {}
    fn_ignores: dict[str, set[str]] = {}
    if has_ignore:
        for f in fa.order:
            first = src.line_of(f.node.start_byte)
            lines = [src.line_text(first)]
            # The comment block right above the definition.
            ln = first - 1
            while ln >= 1:
                t = src.line_text(ln).strip()
                if not t or not (t.startswith(("/*", "*", "//")) or t.endswith("*/")):
                    break
                lines.append(t)
                ln -= 1
            ids = _ignored("\n".join(lines))
            if ids:
                fn_ignores.setdefault(f.name, set()).update(ids)
    kept: list[Finding] = []
    for fd in findings:
        if has_ignore:
            if _matches(_ignored(src.line_text(fd.line)), fd.check):
                continue
            if _matches(fn_ignores.get(fd.function, set()), fd.check):
                continue
        if saf and fd.line > 1:
            prev = src.line_text(fd.line - 1)
            if any(fd.check in saf.get(m.group(1), ()) for m in _SAF.finditer(prev)):
                continue
        kept.append(fd)
    return kept
