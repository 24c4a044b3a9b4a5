"""Unparsed code outside every function definition (c/source.py's
stray_errors()): a definition hidden in it is not analysed, so a run over
the file is incomplete (exit 3), not clean -- unless the stretch names
nothing the lint checks."""

from __future__ import annotations

import json
from pathlib import Path

from xenpatch.c.masking import table_for
from xenpatch.c.source import parse_bytes, stray_errors
from xenpatch.lint.cli import main
from xenpatch.lint.config import LintConfig
from xenpatch.paths import fixtures_dir

STRAY = fixtures_dir() / "lint" / "stray"


def _strays(path: Path) -> list[int]:
    config = LintConfig.load()
    src = parse_bytes(str(path), path.read_bytes(), table_for(config.macros, path))
    return [src.line_of(n.start_byte) for n in stray_errors(src.root)]


def test_the_hidden_definition_makes_the_run_incomplete(capsys) -> None:
    path = STRAY / "hidden.c"
    assert main([str(path)]) == 3
    err = capsys.readouterr().err
    assert "incomplete: 1 function(s) could not be analysed" in err
    assert main(["--format", "json", str(path)]) == 3
    doc = json.loads(capsys.readouterr().out)
    [gap] = doc["not_analysed"]
    assert gap["line"] == 12
    assert "outside any function definition" in gap["reason"]
    # --partial accepts it, and still says what was left out.
    assert main(["--partial", str(path)]) == 0
    assert "1 of them a gap in this run's coverage" in capsys.readouterr().err


def test_a_stray_stretch_naming_no_lock_is_no_gap(capsys) -> None:
    assert _strays(STRAY / "noise.c"), "the fixture must keep its unparsed stretch"
    assert main([str(STRAY / "noise.c")]) == 0
    assert capsys.readouterr().err == ""


def test_only_the_broken_fixtures_have_stray_stretches() -> None:
    """Every other lint fixture parses whole at file scope: no gap is
    made up where the parser understood the file."""
    found = {p.relative_to(STRAY.parent).as_posix(): _strays(p)
             for p in sorted(STRAY.parent.rglob("*.c"))}
    assert {k: v for k, v in found.items() if v} == {"stray/hidden.c": [12],
                                                     "stray/noise.c": [7]}


def test_an_empty_directory_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "README").write_text("no C here\n")
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "no .c or .h file" in err[0]
