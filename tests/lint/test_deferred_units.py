"""A function the XL017 records ask about (irqwitness.Records.templates())
that can neither lock nor move IRQs (FileAnalysis.inert()) is read from a
stand-in with its CFG and collected facts (FileAnalysis.without_acts()):
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
from xenpatch.lint import irqwitness
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import _parse
from xenpatch.paths import fixtures_dir

REGISTRY = fixtures_dir() / "lint" / "irqblind" / "common" / "registry.c"
KINDS = frozenset({"spin"})


def _records(path: Path, eager: bool, monkeypatch: pytest.MonkeyPatch
             ) -> tuple[FileAnalysis, irqwitness.Records]:
    config = LintConfig.load(None)
    src = _parse(str(path), path.read_bytes(), config, path)
    fa = FileAnalysis(config, src, header_index(path), None)
    fa.relevant()
    if eager:
        monkeypatch.setattr(fa, "without_acts", lambda f: None)
    return fa, irqwitness.Records(fa, KINDS, config.irqsafe_unchecked)


def test_an_inert_callee_is_not_filled_for_its_records(monkeypatch: pytest.MonkeyPatch) -> None:
    fa, rec = _records(REGISTRY, False, monkeypatch)
    g = fa.fns["registry_insert"]
    assert fa.inert(g)
    assert rec.templates("registry_insert")  # it allocates: a call record
    assert "cfg" not in g.__dict__ and "info" not in g.__dict__


def test_the_records_are_those_of_its_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    fa, rec = _records(REGISTRY, False, monkeypatch)
    fb, eager = _records(REGISTRY, True, monkeypatch)
    for f in fa.order:
        assert rec.templates(f.name) == eager.templates(f.name), f.name
    # Every function's takes and calls as the eager records have them.
    for f, e in zip(fa.order, fb.order, strict=True):
        assert rec.of(f) == eager.of(e), f.name


def test_a_deferred_unit_is_prepared_when_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    fa, rec = _records(REGISTRY, False, monkeypatch)
    fb, _ = _records(REGISTRY, True, monkeypatch)
    rec.templates("registry_setup")
    g, e = fa.fns["registry_setup"], fb.fns["registry_setup"]
    fb.prepare(e)
    assert "info" not in g.__dict__
    assert g.info is not None and g.cfg is not None
    assert g.info.acts == e.info.acts and len(g.cfg.nodes) == len(e.cfg.nodes)
    fa.prepare(g)  # prepared once: a no-op now
    assert g.info.acts == e.info.acts
