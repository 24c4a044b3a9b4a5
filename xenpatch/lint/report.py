"""Findings as text (what editors and CI log parsers read), JSON, SARIF
2.1.0 (code scanning) and GitLab Code Quality.

All take results already in stable order (file, line, column, ID).
Functions that could not be analysed, and the effects past which nothing
is reported (an unknown callee, a summary the bounded rounds did not
follow), are part of every format but Code Quality's (which has no place
for them): in text as notes on stderr (the second with ``-v``), in JSON as
``not_analysed`` and ``unknown``, in SARIF as tool execution
notifications, so none disappears silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from xenpatch.lint.findings import FileResult, Finding, is_gap
from xenpatch.lint.fingerprints import VERSION, fingerprints
from xenpatch.lint.locate import Locator

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://xenbits.xen.org/"


def findings_of(results: Iterable[FileResult]) -> list[Finding]:
    out = [f for r in results for f in r.findings]
    out.sort(key=Finding.sort_key)
    return out


Row = tuple[str, str, int, str]  # (path, function or name, line, why)


def _rows(results: Iterable[FileResult],
          of: Callable[[FileResult], list[tuple[str, int, str]]]) -> list[Row]:
    return sorted((r.path, name, line, why) for r in results for name, line, why in of(r))


def not_analysed(results: Iterable[FileResult]) -> list[Row]:
    return _rows(results, lambda r: r.skipped)


def unknown_of(results: Iterable[FileResult]) -> list[Row]:
    """The effects nothing past which is reported (FileResult.unknown)."""
    return _rows(results, lambda r: r.unknown)


def undecided_of(results: Iterable[FileResult]) -> list[Row]:
    """The questions a bounded search left undecided (FileResult.undecided)."""
    return _rows(results, lambda r: r.undecided)


def _at(path: str, line: int) -> str:
    """gcc's place of a note: ``path:line``, or the file alone for one about
    the file as a whole (line 0: a name called somewhere in it), as gcc
    writes ``file: note:`` (an editor's jump to line 0 goes nowhere)."""
    return f"{path}:{line}" if line > 0 else path


def not_analysed_note(row: Row) -> str:
    """``-v``'s line for a function not analysed."""
    path, name, line, why = row
    return f"{_at(path, line)}: note: '{name}' not analysed: {why}"


def place_note(row: Row) -> str:
    """``-v``'s line for a place in a function: an unknown effect, a
    question left undecided, a search's look."""
    path, name, line, why = row
    return f"{_at(path, line)}: note: in '{name}', {why}"


def write_text(results: list[FileResult], out: TextIO, err: TextIO, verbose: bool,
               quiet: bool = False, findings: list[Finding] | None = None) -> None:
    """gcc's layout: the warning, then each step of its path as a ``note:``
    line of its own (editors and terminals jump to every one); ``quiet``
    keeps one line per finding.  ``findings``: those to print, if not all
    of the results' (``--since``)."""
    for f in findings_of(results) if findings is None else findings:
        out.write(f"{f.path}:{f.line}:{f.col}: warning: {f.message} [{f.check}]\n")
        if not quiet:
            for s in f.flow:
                out.write(f"{f.path}:{s.line}:{s.col}: note: {s.note}\n")
    undecided = undecided_of(results)
    unknown = unknown_of(results)
    if verbose:
        # Paths not followed past an effect nobody can state (issue 9, item
        # 3), then the questions a bounded search left open.
        for row in [*unknown, *undecided]:
            err.write(place_note(row) + "\n")
        # What the searches of the tree for other files' takes looked at.
        for row in _rows(results, lambda r: r.searched):
            err.write(place_note(row) + "\n")
    if unknown:
        # Said without -v too, as the functions not analysed are: a path
        # not followed is coverage the run does not have.
        err.write(f"xenpatch lint: {len(unknown)} place(s) past which a lock or a path is "
                  "unknown, nothing reported past them" + ("" if verbose else " (-v lists them)")
                  + "\n")
    if undecided:
        err.write(f"xenpatch lint: {len(undecided)} check(s) left undecided where a bounded "
                  "search stopped" + ("" if verbose else " (-v lists them)") + "\n")
    skipped = not_analysed(results)
    if skipped:
        if verbose:
            for row in skipped:
                err.write(not_analysed_note(row) + "\n")
        gaps = len(gaps_of(results))
        err.write(
            f"xenpatch lint: {len(skipped)} function(s) not analysed"
            + (f", {gaps} of them a gap in this run's coverage" if gaps else
               " (each implements the lock API)")
            + ("" if verbose else " (-v lists them)")
            + "\n"
        )


def gaps_of(results: Iterable[FileResult]) -> list[Row]:
    """What leaves the run's coverage incomplete: the functions not
    analysed for such a reason (findings.is_gap()) and the checks a
    bounded search left undecided."""
    results = list(results)
    return [x for x in not_analysed(results) if is_gap(x[3])] + undecided_of(results)


def _locator(locator: Locator | None) -> Locator:
    return locator if locator is not None else Locator(Path.cwd().resolve(), {})


def to_json(results: list[FileResult], locator: Locator | None = None,
            findings: list[Finding] | None = None) -> dict[str, Any]:
    from xenpatch.lint.checks import CHECKS

    loc = _locator(locator)
    analysed = sum(r.analysed for r in results)
    chosen = findings_of(results) if findings is None else findings
    return {
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "col": f.col,
                "id": f.check,
                "name": CHECKS[f.check].name,
                "message": f.message,
                "function": f.function,
                "lock": f.key,
                "fingerprint": fp,
                "path_steps": [{"line": s.line, "col": s.col, "note": s.note} for s in f.flow],
            }
            for f, fp in fingerprints(chosen, loc.name, findings_of(results))
        ],
        "not_analysed": [
            {"path": p, "function": n, "line": ln, "reason": why}
            for p, n, ln, why in not_analysed(results)
        ],
        "undecided": [
            {"path": p, "name": n, "line": ln, "reason": why}
            for p, n, ln, why in undecided_of(results)
        ],
        # Line 0: the file (a summary the rounds of a whole-tree run did
        # not follow).
        "unknown": [
            {"path": p, "function": n, "line": ln, "reason": why}
            for p, n, ln, why in unknown_of(results)
        ],
        "stats": {
            "files": len(results),
            "files_parsed": sum(r.parsed for r in results),
            "functions": sum(r.functions for r in results),
            "analysed": analysed,
            "not_analysed": sum(len(r.skipped) for r in results),
            "undecided": sum(len(r.undecided) for r in results),
        },
    }


def _artifact(loc: Locator, path: str) -> dict[str, Any]:
    rel = loc.relative(path)
    if rel is None:  # outside the root: an absolute URI, no base
        return {"uri": loc.real.get(path, Path(path)).resolve().as_uri()}
    return {"uri": quote(rel), "uriBaseId": "SRCROOT"}


def _location(loc: Locator, path: str, line: int, col: int,
              message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": _artifact(loc, path),
            "region": {"startLine": line, "startColumn": col},
        }
    }
    if message is not None:
        out["message"] = {"text": message}
    return out


def to_sarif(results: list[FileResult], version: str = "0.1.0",
             locator: Locator | None = None,
             findings: list[Finding] | None = None) -> dict[str, Any]:
    """URIs relative to ``SRCROOT``, the locator's root (the repository's
    top), which ``originalUriBaseIds`` gives as an absolute URI."""
    from xenpatch.lint.checks import CHECKS

    loc = _locator(locator)
    rules = [
        {
            "id": c.id,
            "name": c.name,
            "shortDescription": {"text": c.summary},
            "fullDescription": {"text": c.summary},
            "defaultConfiguration": {"level": c.level},
        }
        for c in CHECKS.values()
    ]
    index = {c.id: i for i, c in enumerate(CHECKS.values())}
    sarif_results = []
    chosen = findings_of(results) if findings is None else findings
    for f, fp in fingerprints(chosen, loc.name, findings_of(results)):
        res: dict[str, Any] = {
            "ruleId": f.check,
            "ruleIndex": index[f.check],
            "level": CHECKS[f.check].level,
            "message": {"text": f.message},
            "locations": [_location(loc, f.path, f.line, f.col)],
            "partialFingerprints": {VERSION: fp},
        }
        if f.flow:
            res["codeFlows"] = [
                {
                    "threadFlows": [
                        {
                            "locations": [
                                {"location": _location(loc, f.path, s.line, s.col, s.note)}
                                for s in f.flow
                            ]
                        }
                    ]
                }
            ]
        sarif_results.append(res)
    notes = [
        {
            "level": "note",
            "message": {"text": f"'{name}' not analysed: {why}"},
            "locations": [_location(loc, path, line, 1)],
        }
        for path, name, line, why in not_analysed(results)
    ]
    notes += [
        {
            "level": "warning",
            "message": {"text": f"in '{name}', {why}"},
            "locations": [_location(loc, path, max(line, 1), 1)],
        }
        for path, name, line, why in undecided_of(results)
    ]
    notes += [
        {
            "level": "note",
            "message": {"text": f"in '{name}', {why}"},
            "locations": [_location(loc, path, max(line, 1), 1)],
        }
        for path, name, line, why in unknown_of(results)
    ]
    notes += [
        {"level": "error", "message": {"text": r.error}} for r in results if r.error is not None
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "xenpatch-lint",
                        "version": version,
                        "informationUri": TOOL_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": loc.root_uri()}},
                "invocations": [
                    {
                        "executionSuccessful": all(r.error is None for r in results),
                        "toolExecutionNotifications": notes,
                    }
                ],
                "results": sarif_results,
            }
        ],
    }


# GitLab's severities are info, minor, major, critical, blocker.
_SEVERITY = {"error": "critical", "warning": "major", "note": "info"}


def to_codequality(results: list[FileResult], locator: Locator | None = None,
                   findings: list[Finding] | None = None) -> list[dict[str, Any]]:
    """GitLab's Code Quality report: the JSON array a merge request's widget
    shows, paths relative to the repository's top."""
    from xenpatch.lint.checks import CHECKS

    loc = _locator(locator)
    chosen = findings_of(results) if findings is None else findings
    return [
        {
            "description": f"{f.message} (in {f.function}())",
            "check_name": f.check,
            "fingerprint": fp,
            "severity": _SEVERITY.get(CHECKS[f.check].level, "major"),
            "location": {"path": loc.name(f.path), "lines": {"begin": f.line}},
        }
        for f, fp in fingerprints(chosen, loc.name, findings_of(results))
    ]


def write_json(doc: dict[str, Any] | list[Any], out: TextIO) -> None:
    json.dump(doc, out, indent=2, sort_keys=False)
    out.write("\n")
