"""Lint as a library call (the series ``--check`` uses it)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from xenpatch.lint.findings import FileResult, Finding
    from xenpatch.lint.report import Row  # (path, function, line, why)


def lint_paths(paths: list[Path], out: TextIO | None = None, jobs: int | None = None) -> int:
    """Lint files or directories, print findings as text; return the exit
    code the CLI would without --partial (0 clean, 1 findings, 2 unreadable
    input, 3 no findings but some function not analysed).  Without
    the tree cache: the callers lint throwaway clones."""
    from xenpatch.lint import report
    from xenpatch.lint.inputs import UsageError, collect_files
    from xenpatch.lint.run import lint_files

    out = out or sys.stdout
    try:
        results = lint_files(collect_files(paths), jobs, tree=False)
    except UsageError as exc:
        print(f"xenpatch lint: {exc}", file=sys.stderr)
        return 2
    report.write_text(results, out, sys.stderr, verbose=False)
    if any(r.error for r in results):
        for r in results:
            if r.error:
                print(f"xenpatch lint: {r.error}", file=sys.stderr)
        return 2
    if any(r.findings for r in results):
        return 1
    return 3 if report.gaps_of(results) else 0


@dataclass(frozen=True)
class Checked:
    """What linting some files found, and what it could not cover: "no
    finding" says nothing of a function not analysed for a reason that
    leaves the run short (unparsed code, too many states) nor of a check a
    bounded search left undecided (the lint's exit 3)."""

    findings: list[Finding]
    not_analysed: list[Row]
    undecided: list[Row]

    def gaps(self, keep: Callable[[str, str], bool] = lambda path, function: True,
             ) -> list[str]:
        """One line per gap whose (path, function) ``keep`` accepts, as the
        lint's ``-v`` lists them."""
        from xenpatch.lint.report import not_analysed_note, place_note

        return [not_analysed_note(g) for g in self.not_analysed if keep(g[0], g[1])] + \
            [place_note(g) for g in self.undecided if keep(g[0], g[1])]

    def gap_functions(self) -> set[tuple[str, str]]:
        """(path, function) of every gap."""
        return {(p, name) for p, name, _, _ in (*self.not_analysed, *self.undecided)}


def lint_checked(paths: list[Path], root: Path) -> Checked:
    """The findings in ``paths`` (files) and the gaps in their coverage,
    paths relative to ``root``, in report order; without the tree cache
    (callers lint throwaway clones)."""
    from dataclasses import replace

    from xenpatch.lint.findings import is_gap
    from xenpatch.lint.inputs import collect_files
    from xenpatch.lint.report import findings_of, not_analysed, undecided_of
    from xenpatch.lint.run import lint_files

    results = lint_files(collect_files(paths), None, tree=False)

    def rows(found: list[Row]) -> list[Row]:
        return [(_relative(p, root), name, line, why) for p, name, line, why in found]

    return Checked([replace(f, path=_relative(f.path, root)) for f in findings_of(results)],
                   rows([x for x in not_analysed(results) if is_gap(x[3])]),
                   rows(undecided_of(results)))


def new_findings_of(before: Iterable[Finding], after: Iterable[Finding],
                    texts: tuple[Mapping[str, bytes | None], Mapping[str, bytes | None]]
                    | None = None) -> list[Finding]:
    """The findings of ``after`` whose fingerprints ``before`` lacks.
    ``texts``: the files' texts on each side, by the findings' paths, as
    ``lint --since`` has them: where a function has more findings of a
    kind than before, the ones whose source text is new are the new ones
    (fingerprints.new_since())."""
    from xenpatch.lint.fingerprints import new_since, text_anchor

    anchors = None if texts is None else (text_anchor(texts[0]), text_anchor(texts[1]))
    return new_since(before, after, anchors=anchors)


def new_findings(before: Iterable[FileResult], after: Iterable[FileResult], *,
                 before_root: Path | None = None,
                 after_root: Path | None = None) -> list[Finding]:
    """The findings of ``after`` that ``before`` does not have, compared by
    fingerprint (file, function, check, lock, occurrence in the function;
    never the line, so code that moved is not new), in report order.

    Files are matched by the paths the results carry, taken relative to
    ``before_root`` and ``after_root`` when given (the same files linted in
    two clones)."""
    from dataclasses import replace

    from xenpatch.lint.fingerprints import new_since
    from xenpatch.lint.report import findings_of

    def named(results: Iterable[FileResult], root: Path | None) -> list[Finding]:
        found = findings_of(results)
        if root is None:
            return found
        return [replace(f, path=_relative(f.path, root)) for f in found]

    new = {id(f): f for f in new_since(named(before, before_root), named(after, after_root))}
    if after_root is None:
        return list(new.values())
    keep = {(f.path, f.line, f.col, f.check, f.message) for f in new.values()}
    return [f for f in findings_of(after)
            if (_relative(f.path, after_root), f.line, f.col, f.check, f.message) in keep]


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def write_findings(findings: list[Finding], out: TextIO) -> None:
    """``findings`` as the lint's text report has them: gcc's layout, each
    warning with its path as ``note:`` lines."""
    from xenpatch.lint.report import write_text

    write_text([], out, out, verbose=False, findings=findings)
