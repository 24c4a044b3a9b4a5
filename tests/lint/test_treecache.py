"""Linting some files of a Xen tree with the summaries of the other files'
helpers they call, found lazily and kept in the on-disk cache by content
(xenpatch/lint/treecache.py, lazy.py)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from lint.trees import small_tree
from xenpatch.lint import treecache
from xenpatch.lint import workers as lint_workers
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

CROSS = fixtures_dir() / "lint" / "crossfile"
# A file of the tree with a lock helper nobody in dump.c calls.
OTHER = """static DEFINE_SPINLOCK(other_lock);
void other_enter(void)
{
    spin_lock(&other_lock);
}
int other_leave(int x)
{
    if ( x )
        return 1;
    spin_unlock(&other_lock);
    return 0;
}
"""


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    return small_tree(tmp_path / "xen", {"arch/x86/hvm/msix.c": CROSS / "msix.c",
                                         "drivers/vpci/dump.c": CROSS / "dump.c",
                                         "common/other.c": OTHER})


@pytest.fixture()
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the runner lints or summarises, by name."""
    seen: list[str] = []
    one, summaries = lint_workers.one, lint_workers.summaries

    def _one(item, *rest):
        seen.append(Path(item[0]).name)
        return one(item, *rest)

    def _summaries(path, names):
        seen.append(Path(path).name)
        return summaries(path, names)

    monkeypatch.setattr(lint_workers, "one", _one)
    monkeypatch.setattr(lint_workers, "summaries", _summaries)
    return seen


def _lint(path: Path, tree: bool = True) -> list[tuple[int, str]]:
    [r] = lint_files([(path, path.name)], jobs=1, tree=tree)
    return sorted((f.line, f.check) for f in r.findings)


def _cache_files(tree: Path) -> list[Path]:
    return sorted((tree.parent / "cache" / "lint").glob("*.json"))


def test_one_file_sees_the_other_files_helpers(tree: Path, parsed: list[str]) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    # Alone, msix_print() is unknown: the lock it drops on failure seems leaked.
    assert _lint(dump, tree=False) == [(17, "XL001")]
    parsed.clear()
    assert _lint(dump) == [(30, "XL002")]
    assert len(_cache_files(tree)) == 1
    # Lazily: the file defining what dump.c calls, not the unrelated one.
    assert sorted(parsed) == ["dump.c", "msix.c"]


def test_whole_tree_and_one_file_agree(tree: Path) -> None:
    files = sorted(tree.rglob("*.c"))
    whole = lint_files([(p, p.name) for p in files], jobs=1)
    by_name = {r.path: sorted((f.line, f.check, f.message) for f in r.findings) for r in whole}
    for cold in (True, False):
        for p in files:
            if cold:
                for c in _cache_files(tree):
                    c.unlink()
            [r] = lint_files([(p, p.name)], jobs=1)
            assert sorted((f.line, f.check, f.message) for f in r.findings) == by_name[p.name]
    assert by_name["dump.c"]


def test_warm_runs_parse_nothing_and_follow_changes(tree: Path, parsed: list[str]) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    msix = tree / "arch" / "x86" / "hvm" / "msix.c"
    assert _lint(dump) == [(30, "XL002")]
    data = json.loads(_cache_files(tree)[0].read_text())
    assert "msix_print" in data["exports"]["arch/x86/hvm/msix.c"][1]["known"]

    parsed.clear()
    assert _lint(dump) == [(30, "XL002")]
    assert parsed == []

    # A checkout that rewrites files as they were: new times, same content.
    for p in (dump, msix, tree / "include" / "xen" / "spinlock.h"):
        st = p.stat()
        p.write_bytes(p.read_bytes())
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _lint(dump) == [(30, "XL002")]
    assert parsed == []

    # msix_print() no longer drops the lock: the next run knows (dump_one()'s
    # early return now leaks it, and dump_twice() is right).
    msix.write_text(msix.read_text().replace(
        "            spin_unlock(&msix->pdev->vdev->lock);\n", ""
    ).replace("                spin_unlock(&pdev->vdev->lock);\n", ""))
    assert _lint(dump) == [(17, "XL001")]
    assert sorted(parsed) == ["dump.c", "msix.c"]


def test_a_header_change_redoes_the_summaries(tree: Path, parsed: list[str]) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    _lint(dump)
    parsed.clear()
    (tree / "include" / "xen" / "new.h").write_text("#define nothing(x) (x)\n")
    assert _lint(dump) == [(30, "XL002")]
    assert sorted(parsed) == ["dump.c", "msix.c"]


def test_unwritable_cache_is_only_slower(tree: Path, monkeypatch) -> None:
    blocker = tree.parent / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XENPATCH_CACHE", str(blocker))
    dump = tree / "drivers" / "vpci" / "dump.c"
    assert _lint(dump) == [(30, "XL002")]


def _corruptions() -> list[tuple[str, object]]:
    return [
        ("a list", []),
        ("a string", "x"),
        ("no format", {"root": "/"}),
        ("an old format", {"format": 1, "root": "/", "files": {}}),
        ("stamps of the wrong shape", "stamps"),
        ("a summary of the wrong shape", "summary"),
        ("exports as a list", "exports"),
        ("a result of the wrong shape", "result"),
        ("an earlier content's result of the wrong shape", "earlier"),
        ("a first pass's records of the wrong shape", "records"),
        ("a several-file run of the wrong shape", "runs"),
        ("truncated", "truncated"),
    ]


@pytest.mark.parametrize(("what", "bad"), _corruptions(), ids=[w for w, _ in _corruptions()])
def test_a_cache_of_the_wrong_shape_is_rebuilt_with_a_note(
        tree: Path, capsys, what: str, bad: object) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    assert _lint(dump) == [(30, "XL002")]
    [cache] = _cache_files(tree)
    data = json.loads(cache.read_text())
    if bad == "truncated":
        cache.write_text(cache.read_text()[:-20])
    else:
        if bad == "stamps":
            data["stamps"] = {k: {"size": 1} for k in data["stamps"]}
        elif bad == "summary":
            data["exports"]["arch/x86/hvm/msix.c"][1]["known"]["msix_print"] = {"effects": 3}
        elif bad == "exports":
            data["exports"] = [1, 2]
        elif bad == "result":
            data["results"]["drivers/vpci/dump.c"][1] = ["not", "a", "result"]
        elif bad == "runs":
            data["runs"] = [["a key", {"drivers/vpci/dump.c": "not a result"}]]
        elif bad == "records":
            data["records"] = {"common/other.c": ["a hash", {"k": {"effects": 3}}]}
        elif bad == "earlier":
            data["earlier"] = {"drivers/vpci/dump.c": [["a hash"]]}
        else:
            data = bad
        cache.write_text(json.dumps(data))
    capsys.readouterr()
    assert _lint(dump) == [(30, "XL002")]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"xenpatch lint: cache {cache}: "), err
    assert err.rstrip().endswith("; rebuilt")
    # Rebuilt: the next run reads it without a note.
    treecache.validate(json.loads(cache.read_text()))
    assert _lint(dump) == [(30, "XL002")]
    assert capsys.readouterr().err == ""


def test_open_reports_to_the_stream_given(tree: Path) -> None:
    path = treecache.cache_dir() / "lint"
    path.mkdir(parents=True)
    rules = fixtures_dir().parent / "rules"
    name = treecache.TreeCache.open(tree, rules).path.name
    (path / name).write_text("[]")
    err = io.StringIO()
    treecache.TreeCache.open(tree, rules, err)
    assert "not a JSON object; rebuilt" in err.getvalue()


def test_summaries_of_the_names_asked_are_the_full_lints(tree: Path) -> None:
    from xenpatch.analysis.irqdemand import NEED
    from xenpatch.analysis.irqentry import FIELD_KEY
    from xenpatch.lint.calleesummaries import file_summaries
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import lint_file

    config = LintConfig.load()
    files = [*sorted((fixtures_dir() / "lint").rglob("*.c")), *sorted(tree.rglob("*.c"))]
    seen = 0
    for p in files:
        full = lint_file(p, str(p), config).exports
        # The IRQ states of calls through fields are a whole-tree run's
        # (irqentry.FIELD_KEY): no lazy run asks for them by name.
        # A name's IRQ demand (irqdemand.NEED) comes with its summary.
        for name in [n for n in full if not n.startswith((FIELD_KEY, NEED))]:
            _, got = file_summaries(p, config, frozenset([name]))
            assert got == {n: full[n] for n in (name, NEED + name) if n in full}, (p, name)
            seen += 1
        _, none = file_summaries(p, config, frozenset(["no_such_function"]))
        assert none == {}
    assert seen >= 3


def test_after_a_whole_tree_run_one_file_parses_only_itself(tree: Path,
                                                          parsed: list[str]) -> None:
    files = sorted(tree.rglob("*.c"))
    lint_files([(p, p.name) for p in files], jobs=1)
    data = json.loads(_cache_files(tree)[0].read_text())
    assert all(v["complete"] for _, v in data["exports"].values())
    assert len(data["defs"]) == len(files)
    parsed.clear()
    assert _lint(tree / "drivers" / "vpci" / "dump.c") == [(30, "XL002")]
    assert parsed == ["dump.c"]


def test_a_changed_saf_table_is_a_new_context(tree: Path) -> None:
    """A kept result is not reused once docs/misra/safe.json changes."""
    from xenpatch.lint import suppress

    dump = tree / "drivers" / "vpci" / "dump.c"
    lines = dump.read_text().splitlines(keepends=True)
    lines.insert(29, "    /* SAF-1-safe */\n")
    dump.write_text("".join(lines))
    safe = tree.parent / "docs" / "misra" / "safe.json"
    safe.parent.mkdir(parents=True)

    def table(ids: list[str]) -> None:
        safe.write_text(json.dumps({"content": [{"id": "SAF-1-safe",
                                                 "analyser": {"xenpatch": ids}}]}))
        suppress.saf_map.cache_clear()  # as a new process would

    table(["XL002"])
    assert _lint(dump) == []
    table([])
    assert _lint(dump) == [(31, "XL002")]


def test_a_change_keeping_size_and_time_of_a_recent_file_is_seen(tree: Path) -> None:
    """A stamp taken within the clock's resolution of the change is not
    trusted (git's racily clean entries): same size, same time, new text."""
    dump = tree / "drivers" / "vpci" / "dump.c"
    msix = tree / "arch" / "x86" / "hvm" / "msix.c"
    assert _lint(dump) == [(30, "XL002")]
    st = msix.stat()
    text = msix.read_text()
    for call in ("spin_unlock(&msix->pdev->vdev->lock);", "spin_unlock(&pdev->vdev->lock);"):
        text = text.replace(call, "/*" + " " * (len(call) - 4) + "*/")
    msix.write_text(text)
    os.utime(msix, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert msix.stat().st_size == st.st_size
    assert _lint(dump) == [(17, "XL001")]


def test_lazy_run_with_workers(tree: Path) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    other = tree / "common" / "other.c"
    got = lint_files([(dump, "dump.c"), (other, "other.c")], jobs=2)
    assert [(r.path, sorted((f.line, f.check) for f in r.findings)) for r in got] == [
        ("dump.c", [(30, "XL002")]), ("other.c", [])]


def test_a_whole_tree_run_keeps_the_name_index_its_passes_read(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name index a whole-tree run writes (from its first passes' reads)
    is what a scan of the files gives; a file changed after the run hashed
    it gets no entry under the old hash (the next run scans it again)."""
    from xenpatch.lint import nameindex

    other = tree / "common" / "other.c"
    before = other.read_bytes()
    first = lint_workers.first

    def changing(item, raw, index):
        if Path(item[0]).name == "other.c":
            other.write_text(OTHER + "void other_new(void)\n{\n}\n")
        return first(item, raw, index)

    monkeypatch.setattr(lint_workers, "first", changing)
    files = sorted(tree.rglob("*.c"))
    lint_files([(p, p.name) for p in files], jobs=1)
    defs = json.loads(_cache_files(tree)[0].read_text())["defs"]
    hashes = {p.name: treecache.content_hash(p.read_bytes()) for p in files}
    old = treecache.content_hash(before)
    for p in files:
        if p.name != "other.c":
            assert defs[hashes[p.name]] == nameindex.external_names(p.read_bytes())
    # Under the old hash: nothing, or the old content's names.
    assert defs.get(old, nameindex.external_names(before)) == nameindex.external_names(before)

    monkeypatch.setattr(lint_workers, "first", first)
    lint_files([(p, p.name) for p in files], jobs=1)
    defs = json.loads(_cache_files(tree)[0].read_text())["defs"]
    assert "other_new" in defs[hashes["other.c"]]


def test_a_callee_changed_mid_run_is_not_kept_under_its_old_hash(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """msix.c rewritten after the cache hashed it, before its summaries are
    computed: this run uses what it read, the cache keeps nothing of it
    under the old hash, and the next run computes its summaries again."""
    dump = tree / "drivers" / "vpci" / "dump.c"
    msix = tree / "arch" / "x86" / "hvm" / "msix.c"
    old = treecache.content_hash(msix.read_bytes())
    summaries = lint_workers.summaries
    # The same text but one comment: the same summaries, another hash.
    changed = msix.read_bytes() + b"/* edited */\n"

    def editing(path, names):
        if Path(path).name == "msix.c":
            msix.write_bytes(changed)
        return summaries(path, names)

    monkeypatch.setattr(lint_workers, "summaries", editing)
    assert _lint(dump) == [(30, "XL002")]
    data = json.loads(_cache_files(tree)[0].read_text())
    entry = data["exports"].get("arch/x86/hvm/msix.c")
    assert entry is None or entry[0] != old or not entry[1]["known"]

    monkeypatch.setattr(lint_workers, "summaries", summaries)
    assert _lint(dump) == [(30, "XL002")]
    data = json.loads(_cache_files(tree)[0].read_text())
    got = data["exports"]["arch/x86/hvm/msix.c"]
    assert got[0] == treecache.content_hash(changed) and "msix_print" in got[1]["known"]


def test_a_file_changed_before_its_lint_keeps_no_result_under_its_old_hash(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dump.c rewritten after the cache hashed it, before the run reads it:
    no result, needed names or summaries of it are kept under the old hash."""
    dump = tree / "drivers" / "vpci" / "dump.c"
    old = treecache.content_hash(dump.read_bytes())
    opened = treecache.TreeCache.open

    def open_then_edit(*a, **k):
        cache = opened(*a, **k)
        dump.write_bytes(dump.read_bytes() + b"/* edited */\n")
        return cache

    monkeypatch.setattr(treecache.TreeCache, "open", staticmethod(open_then_edit))
    assert _lint(dump) == [(30, "XL002")]
    data = json.loads(_cache_files(tree)[0].read_text())
    rel = "drivers/vpci/dump.c"
    for table in ("results", "needs", "exports"):
        assert data[table].get(rel, [None])[0] != old, table
