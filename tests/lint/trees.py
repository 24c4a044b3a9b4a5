"""Small Xen-shaped trees for the tests of the tree cache and the lazy
cross-file summaries: xen/include/xen/spinlock.h (what makes a folder a
Xen tree to the lint) and the C files given."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any


def small_tree(xen: Path, files: Mapping[str, str | Path]) -> Path:
    """``xen`` with the lock API's header and ``files`` (path under xen/ ->
    its text, or a file to copy there)."""
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    for rel, what in files.items():
        dest = xen / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(what, Path):
            shutil.copy(what, dest)
        else:
            dest.write_text(what)
    return xen


def count_lints(monkeypatch: Any) -> list[tuple[str, bool]]:
    """Record each lint of a file from here on (``workers.one``): its display
    name and whether it was given other files' summaries.  The list is the
    caller's to clear between runs."""
    from xenpatch.lint import workers as lint_workers

    linted: list[tuple[str, bool]] = []
    one = lint_workers.one

    def counted(item, raw=None, external=None):  # type: ignore[no-untyped-def]
        linted.append((item[1], bool(external)))
        return one(item, raw, external)

    monkeypatch.setattr(lint_workers, "one", counted)
    return linted


def cold_runs(tree: Path, rels: Iterable[str], tmp_path: Path, monkeypatch: Any,
              linted: list[tuple[str, bool]]) -> Iterator[tuple[str, Any]]:
    """Each file of ``tree`` linted alone, from an empty cache of its own
    (the hook's first run), ``linted`` cleared before: (its path under
    the tree, its FileResult)."""
    from xenpatch.lint.run import lint_files

    for i, rel in enumerate(sorted(rels)):
        monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / f"cold{i}"))
        linted.clear()
        [r] = lint_files([(tree / rel, rel)], jobs=1)
        yield rel, r


def whole(root: Path, jobs: int = 1) -> dict[str, list[Any]]:
    """Every .c file under ``root`` linted as one tree (the whole-tree
    run): path under ``root`` -> its findings."""
    from xenpatch.lint.run import lint_files

    files = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.c"))]
    return {r.path: r.findings for r in lint_files(files, jobs=jobs, tree=False)}


def wanted(root: Path) -> dict[str, list[tuple[int, str]]]:
    """What the fixture files under ``root`` expect (their ``expect:``
    comments), by path under ``root``: found_whole()'s shape."""
    from lint.test_fixtures import expected

    return {p.relative_to(root).as_posix(): expected(p) for p in sorted(root.rglob("*.c"))}


def found_whole(root: Path, jobs: int = 1) -> dict[str, list[tuple[int, str]]]:
    """whole()'s findings as (line, check)."""
    return {p: sorted((f.line, f.check) for f in fs) for p, fs in whole(root, jobs).items()}


def alone(root: Path, rel: str) -> list[Any]:
    """The findings of ``root/rel`` linted alone (the hook's run)."""
    from xenpatch.lint.run import lint_files

    [r] = lint_files([(root / rel, rel)], jobs=1)
    return r.findings


def shape(fs: Iterable[Any]) -> list[tuple[object, ...]]:
    """Findings compared whole: where, what, the path and the lock."""
    return sorted((f.line, f.col, f.check, f.function, f.message, f.flow, f.key) for f in fs)


def copied(src: Path, tmp_path: Path) -> Path:
    """A copy of the fixture tree ``src`` to edit."""
    root = tmp_path / "tree"
    shutil.copytree(src, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in ``path``."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def analysed(path: Path) -> Any:
    """The FileAnalysis of the C file ``path`` alone (its headers, no other
    file's summaries), its functions' summaries made: to read them."""
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.analysis.headers import header_index
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import _parse

    config = LintConfig.load()
    src = _parse(str(path), path.read_bytes(), config, path)
    fa = FileAnalysis(config, src, header_index(path), None)
    fa.relevant()
    return fa


def each_alone(root: Path, cache: Path, monkeypatch: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Each file of ``root`` linted alone (the hook's run), from the empty
    cache ``cache``: per file, (line, check, message, the path's notes) of
    each finding."""
    from xenpatch.lint.inputs import display
    from xenpatch.lint.run import lint_files

    monkeypatch.setenv("XENPATCH_CACHE", str(cache))
    out: dict[str, list[tuple[Any, ...]]] = {}
    for p in sorted(root.rglob("*.c")):
        for r in lint_files([(p, display(p))], jobs=1, tree=True):
            out[r.path] = sorted((f.line, f.check, f.message, tuple(s.note for s in f.flow))
                                 for f in r.findings)
    return out


def found_by_file(results: Any) -> dict[str, list[tuple[int, str]]]:
    """Each result's findings as (line, check), by the file's name."""
    return {Path(r.path).name: sorted((f.line, f.check) for f in r.findings) for r in results}
