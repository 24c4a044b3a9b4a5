"""A function the XL017 records ask about (irqwitness.Records.templates())
that can neither lock nor move IRQs (analysis/inert.py: inert()) is read from a
stand-in with its CFG and collected facts (without_acts()):
its own fill is deferred to its first reader (FunctionUnit.defer()), who
gets what preparing it at once gives.

fixtures/lint/irqblind/common/registry.c: registry_insert() and
registry_setup() name no lock and no IRQ call (they allocate through
another file's allocator); registry_add() calls the first holding an
irqsave lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import header_index
from xenpatch.analysis.inert import inert
from xenpatch.lint import irqwitness
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import _parse
from xenpatch.paths import fixtures_dir

REGISTRY = fixtures_dir() / "lint" / "irqblind" / "common" / "registry.c"
KINDS = frozenset({"spin"})


def _records(path: Path) -> tuple[FileAnalysis, irqwitness.Records]:
    config = LintConfig.load(None)
    src = _parse(str(path), path.read_bytes(), config, path)
    fa = FileAnalysis(config, src, header_index(path), None)
    fa.relevant()
    return fa, irqwitness.Records(fa, KINDS, config.irqsafe_unchecked)


def _eager(monkeypatch: pytest.MonkeyPatch, path: Path):  # type: ignore[no-untyped-def]
    """Every function's records and takes, each callee prepared at once."""
    with monkeypatch.context() as m:
        m.setattr(irqwitness, "without_acts", lambda fa, f: None)
        fa, rec = _records(path)
        return fa, {f.name: rec.templates(f.name) for f in fa.order}, \
            [rec.of(f) for f in fa.order]


def test_an_inert_callee_is_not_filled_for_its_records() -> None:
    fa, rec = _records(REGISTRY)
    g = fa.fns["registry_insert"]
    assert inert(fa, g)
    assert rec.templates("registry_insert")  # it allocates: a call record
    assert "cfg" not in g.__dict__ and "info" not in g.__dict__


def test_the_records_are_those_of_its_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    fa, rec = _records(REGISTRY)
    got = {f.name: rec.templates(f.name) for f in fa.order}
    takes = [rec.of(f) for f in fa.order]
    _, want, want_takes = _eager(monkeypatch, REGISTRY)
    assert got == want
    assert takes == want_takes


def test_a_deferred_unit_is_prepared_when_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    fa, rec = _records(REGISTRY)
    rec.templates("registry_setup")
    g = fa.fns["registry_setup"]
    assert "info" not in g.__dict__
    fb, _ = _records(REGISTRY)
    e = fb.fns["registry_setup"]
    fb.prepare(e)
    assert g.info is not None and g.cfg is not None
    assert e.info is not None and e.cfg is not None
    assert g.info.acts == e.info.acts and len(g.cfg.nodes) == len(e.cfg.nodes)
    fa.prepare(g)  # prepared once: a no-op now
    assert g.info.acts == e.info.acts
