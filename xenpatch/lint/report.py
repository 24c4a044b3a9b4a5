"""Findings as text (what editors and CI log parsers read), JSON and SARIF 2.1.0.

All three take results already in stable order (file, line, column, ID).
Functions that could not be analysed are part of every format: in text as
notes on stderr, in JSON as ``not_analysed``, in SARIF as tool execution
notifications, so none disappears silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from xenpatch.lint.checks import CHECKS
from xenpatch.lint.findings import FileResult, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://xenbits.xen.org/"


def findings_of(results: Iterable[FileResult]) -> list[Finding]:
    out = [f for r in results for f in r.findings]
    out.sort(key=Finding.sort_key)
    return out


def not_analysed(results: Iterable[FileResult]) -> list[tuple[str, str, int, str]]:
    return sorted((r.path, name, line, why) for r in results for name, line, why in r.skipped)


def write_text(results: list[FileResult], out: TextIO, err: TextIO, verbose: bool) -> None:
    for f in findings_of(results):
        out.write(f"{f.path}:{f.line}:{f.col}: warning: {f.message} [{f.check}]\n")
        if verbose:
            for s in f.flow:
                out.write(f"{f.path}:{s.line}:{s.col}: note: {s.note}\n")
    if verbose:
        # Paths not followed past an effect nobody can state (issue 9, item 3).
        for path, name, line, why in sorted(
                (r.path, n, ln, w) for r in results for n, ln, w in r.unknown):
            err.write(f"{path}:{line}: note: in '{name}', {why}\n")
    skipped = not_analysed(results)
    if skipped:
        if verbose:
            for path, name, line, why in skipped:
                err.write(f"{path}:{line}: note: '{name}' not analysed: {why}\n")
        err.write(
            f"xenpatch lint: {len(skipped)} function(s) not analysed"
            + ("" if verbose else " (-v lists them)")
            + "\n"
        )


def to_json(results: list[FileResult]) -> dict[str, Any]:
    analysed = sum(r.analysed for r in results)
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
                "path_steps": [{"line": s.line, "col": s.col, "note": s.note} for s in f.flow],
            }
            for f in findings_of(results)
        ],
        "not_analysed": [
            {"path": p, "function": n, "line": ln, "reason": why}
            for p, n, ln, why in not_analysed(results)
        ],
        "stats": {
            "files": len(results),
            "files_parsed": sum(r.parsed for r in results),
            "functions": sum(r.functions for r in results),
            "analysed": analysed,
            "not_analysed": sum(len(r.skipped) for r in results),
        },
    }


def _location(path: str, line: int, col: int, message: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": path, "uriBaseId": "SRCROOT"},
            "region": {"startLine": line, "startColumn": col},
        }
    }
    if message is not None:
        loc["message"] = {"text": message}
    return loc


def to_sarif(results: list[FileResult], version: str = "0.1.0") -> dict[str, Any]:
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
    for f in findings_of(results):
        res: dict[str, Any] = {
            "ruleId": f.check,
            "ruleIndex": index[f.check],
            "level": CHECKS[f.check].level,
            "message": {"text": f.message},
            "locations": [_location(f.path, f.line, f.col)],
            "partialFingerprints": {
                "xenpatchLint/v1": f"{f.path}:{f.function}:{f.check}:{f.message}"
            },
        }
        if f.flow:
            res["codeFlows"] = [
                {
                    "threadFlows": [
                        {
                            "locations": [
                                {"location": _location(f.path, s.line, s.col, s.note)}
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
            "locations": [_location(path, line, 1)],
        }
        for path, name, line, why in not_analysed(results)
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


def write_json(doc: dict[str, Any], out: TextIO) -> None:
    json.dump(doc, out, indent=2, sort_keys=False)
    out.write("\n")
