"""The scans of the tree's summaries a file's lint makes are made once per
mapping (analysis/extmemo.py), and answer what one scan per file
answered: each is checked here against the scan it replaced (written out
below as it was), over a mapping holding every kind of key each reads,
for files the tree settled things for and files it did not."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from xenpatch.analysis import extmemo
from xenpatch.analysis.irqentry import (
    CALL_KEY,
    FIELD_KEY,
    WITNESS,
    external_calls,
    external_entries,
    external_witnesses,
    field_summary,
    summary_state,
    witness_summary,
)
from xenpatch.analysis.lockentry import Hold
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint.entryheld import CALLS, FIELD, held_of, settled_fields, summary_of
from xenpatch.lint.irqrecords import witnesses_of
from xenpatch.lint.irqwitness import SAFE, safe_of
from xenpatch.lint.unarmedkeys import UNARMED, outside_of

FILES = ("", "common/a.c", "arch/x86/b.c", "common/none.c")


def _mapping() -> dict[str, Summary]:
    held = summary_of({"d->lock": Hold("spin", "write", "plain", ("f() at a.c:3",))})
    safe = Summary((Effect("irqwitness", "spin", "", "irq", "&l", None,
                           "f|common/a.c|7|spin_lock_irq"),), None)
    out: dict[str, Summary] = {
        FIELD_KEY + "ops": field_summary("off"),
        FIELD_KEY + "hook": field_summary("-"),
        FIELD_KEY + "ops|common/a.c": field_summary("on"),
        FIELD_KEY + "late|common/a.c": field_summary("off"),
        FIELD_KEY + "ops|arch/x86/b.c": field_summary("-"),
        CALL_KEY + "xmalloc": field_summary("on"),
        WITNESS + "xmalloc|off": witness_summary("off", "g", "common/a.c", 9, [1, 2]),
        WITNESS + "xfree|on": witness_summary("on", "h", "arch/x86/b.c", 4, [], unchecked=True),
        WITNESS + "odd|maybe": witness_summary("off", "h", "arch/x86/b.c", 4, []),
        FIELD + "ops|common/a.c": held,
        FIELD + "cb|arch/x86/b.c": Summary((), None),
        FIELD + "nofile": held,
        CALLS + "put|common/a.c": held,
        UNARMED + "boot|common/a.c": Summary((), None),
        UNARMED + "early|arch/x86/b.c": Summary((), None),
        UNARMED + "x|y|common/a.c": Summary((), None),
        SAFE + "spin#l": safe,
    }
    # Enough helpers' summaries for the memo to keep what it finds.
    for i in range(80):
        out[f"helper{i}"] = Summary((Effect("take", "spin", "write", "plain", f"l{i}", None,
                                            f"helper{i}"),), None)
    return out


# The scans as each file's lint made them before (one per file).
def _entries_before(external: Mapping[str, Summary], me: str) -> dict[str, str]:
    out: dict[str, str] = {}
    mine: dict[str, str] = {}
    for k, s in external.items():
        if not k.startswith(FIELD_KEY) or k.startswith(CALL_KEY):
            continue
        name, sep, who = k[len(FIELD_KEY):].partition("|")
        if not sep:
            out[name] = summary_state(s)
        elif me and who == me:
            mine[name] = summary_state(s)
    out.update(mine)
    return {n: s for n, s in out.items() if s != "-"}


def _settled_before(external: Mapping[str, Summary], me: str, prefix: str) -> dict[str, object]:
    out: dict[str, object] = {}
    if not me:
        return out
    for k, s in external.items():
        if k.startswith(prefix) and "|" in k:
            name, _, who = k[len(prefix):].partition("|")
            if who == me:
                out[name] = held_of(s) if s.effects else None
    return out


def _outside_before(external: Mapping[str, Summary], me: str) -> frozenset[str]:
    tail = "|" + me
    return frozenset(k[len(UNARMED):-len(tail)] for k in external
                     if k.startswith(UNARMED) and k.endswith(tail))


@pytest.fixture(autouse=True)
def _fresh() -> None:
    extmemo.clear()


def test_scans_answer_as_one_scan_per_file() -> None:
    ext = _mapping()
    for me in FILES:
        assert external_entries(ext, me) == _entries_before(ext, me)
        assert list(external_entries(ext, me)) == list(_entries_before(ext, me))
        for prefix in (FIELD, CALLS):
            assert settled_fields(ext, me, prefix) == _settled_before(ext, me, prefix)
        assert outside_of(ext, me) == _outside_before(ext, me)
    assert external_calls(ext) == {k[len(CALL_KEY):]: summary_state(s) for k, s in ext.items()
                                   if k.startswith(CALL_KEY) and not k.startswith(WITNESS)}
    assert safe_of(ext) == {"spin#l": witnesses_of(ext[SAFE + "spin#l"])}
    assert external_witnesses(ext) == {"xmalloc": {"off": ("g", "common/a.c", 9,
                                                           frozenset({1, 2}))},
                                       "xfree": {"on": ("h", "arch/x86/b.c", 4, frozenset())}}
    assert set(external_witnesses(ext, True)) == {"xmalloc"}


def test_scanned_once_per_mapping() -> None:
    ext = _mapping()
    assert external_witnesses(ext, True) is external_witnesses(ext, True)
    assert safe_of(ext) is safe_of(ext)
    # Another mapping of the same summaries is scanned on its own.
    other = dict(ext)
    assert external_witnesses(other, True) is not external_witnesses(ext, True)
    made: list[int] = []
    for _ in range(3):
        extmemo.of_mapping(ext, "what", lambda: made.append(1))
    assert made == [1]
    # A small mapping is scanned each time (the memo would cost more).
    small = {"f": ext["helper0"]}
    for _ in range(2):
        extmemo.of_mapping(small, "what", lambda: made.append(2))
    assert made == [1, 2, 2]


def test_only_the_last_mappings_kept() -> None:
    maps = [dict(_mapping()) for _ in range(extmemo._KEEP + 2)]
    for m in maps:
        extmemo.of_mapping(m, "n", lambda m=m: len(m))
    assert len(extmemo._MEMO) == extmemo._KEEP
    assert all(v[0] is m for v, m in zip(extmemo._MEMO.values(), maps[-extmemo._KEEP:],
                                         strict=True))


def test_answers_built_on_are_the_callers_own() -> None:
    """What a caller may add to (its entries, its settled fields, the
    states of calls it meets its own roots with) is a copy each time."""
    ext = _mapping()
    got = external_entries(ext, "common/a.c")
    got["mine"] = "on"
    assert "mine" not in external_entries(ext, "common/a.c")
    calls = external_calls(ext)
    calls["mine"] = "on"
    assert "mine" not in external_calls(ext)
    held = settled_fields(ext, "common/a.c")
    held["mine"] = None
    assert "mine" not in settled_fields(ext, "common/a.c")


def test_helper_names_less_the_files_own() -> None:
    """The names of other files' helpers a file's analysis seeds its
    relevant functions with: those of the mapping it does not define."""
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.analysis.headers import HeaderIndex
    from xenpatch.c.source import parse_bytes
    from xenpatch.lint.config import LintConfig

    config = LintConfig.load(None)
    ext = _mapping()
    for text in (b"int helper3(void) { return 0; }\nvoid g(void) { helper4(); }\n",
                 b"void g(void) { }\n"):
        src = parse_bytes("t.c", text, config.macros)
        fa = FileAnalysis(config, src, HeaderIndex(None), ext)
        assert fa._external_bytes() == frozenset(n.encode() for n in ext if n not in fa.fns)
