"""A whole-tree run's worker keeps a file's parse and fills through its
second pass for the third round (lint/rounds.py, reuse.py): the findings
are those of parsing anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.lint import reuse
from xenpatch.lint.findings import FileResult
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

KEPT = fixtures_dir() / "lint" / "roundskept"


def _tree(folder: Path, jobs: int = 1) -> list[FileResult]:
    return lint_files([(p, p.name) for p in sorted(folder.glob("*.c"))], jobs=jobs, tree=False)


def _found(res: list[FileResult]) -> dict[str, list[tuple[int, str]]]:
    return {r.path: sorted((f.line, f.check) for f in r.findings) for r in res}


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_third_round_finds_the_take_in_the_kept_parse(jobs: int) -> None:
    # blocks.c is linted again in the second pass (stats.c's helper leaves
    # its lock held) and in the third (blk_put() takes cache_lock back
    # through blocks.c in the second round): cache_trim()'s fill kept from
    # the second is asked again and made anew.
    got = _found(_tree(KEPT, jobs))
    assert got == {p.name: expected(p) for p in sorted(KEPT.glob("*.c"))}
    assert got["blocks.c"] == [(37, "XL010")]


def test_the_third_round_takes_the_parse_of_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[tuple[str, bool]] = []
    take = reuse.take

    def counted(display, path, raw, macros):  # type: ignore[no-untyped-def]
        got = take(display, path, raw, macros)
        taken.append((display, got is not None))
        return got

    monkeypatch.setattr(reuse, "take", counted)
    _tree(KEPT)
    # First pass (parsed), second pass and third round (both kept).
    assert [t for d, t in taken if d == "blocks.c"] == [False, True, True]


def test_a_kept_fill_taken_without_asking_again_misses_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture tells: a fill of the second pass taken in the third
    round without its questions asked again hides the take."""
    monkeypatch.setattr(FileAnalysis, "_same_answers", lambda self, asked: True)
    assert _found(_tree(KEPT))["blocks.c"] == []


def test_a_kept_parse_keeps_no_per_function_scratch() -> None:
    """What a later lint derives again for the functions whose fill it
    makes again is let go of once the first lint is done (reuse._slim()),
    and the lint of the slimmed parse finds what one of a new parse does."""
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import lint_file

    path = KEPT / "blocks.c"
    config = LintConfig.load()
    with reuse.keeping():
        first = lint_file(path, path.name, config)
        assert reuse._KEPT is not None
        [(_, _, src)] = reuse._KEPT.values()
        kinds = {k[0] if isinstance(k, tuple) else k for k in src.derived}
        assert "filled" in kinds and "cfg" in kinds
        assert not kinds & reuse._LET_GO
        assert not src._indexes
        again = lint_file(path, path.name, config, findings_only=True)
        assert not reuse._KEPT
    assert again.findings == first.findings
    assert again == lint_file(path, path.name, config, findings_only=True)
