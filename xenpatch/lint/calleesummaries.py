"""A file's summaries as its callers in other files see them: what the lazy
cross-file summaries ask of the files defining the names a linted file
calls.  Above filelint.py and partial.py, which it chooses between."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.irqdemand import export_demands
from xenpatch.analysis.irqentry import FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.filelint import exported, lint_source, summary_analysis
from xenpatch.lint.partial import exports_of

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig


def file_summaries(path: Path, config: LintConfig,
                   names: frozenset[str]) -> tuple[bool, dict[str, Summary]]:
    """What ``lint_file(path).exports`` holds of ``names``, computing only
    what their summaries need (their own and their callees' analyses, not
    every function's checks, over an excerpt of the file: excerpt.py): the
    lazy cross-file summaries ask this of the files defining what a linted
    file calls.  Returns (whole?, summaries): those of ``names`` only
    (partial.py)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return True, {}
    return summaries_of_text(path, raw, config, names)


def summaries_of_text(path: Path, raw: bytes, config: LintConfig, names: frozenset[str],
                      cut: bool = True) -> tuple[bool, dict[str, Summary]]:
    """file_summaries() of ``raw``, the file's text; ``cut``: as the full
    lint's exports, over an excerpt where that tells (partial.py), else
    the file's analysis without its checks."""
    if cut:
        return False, exports_of(path, raw, config, names)
    got = summary_analysis(path, raw, config, names, cut)
    if got is None:
        return True, {}
    fa, whole = got
    if whole:
        # Functions only: the calls through fields are a whole-tree run's own.
        return True, {n: s for n, s in lint_source(fa.src, config, path).exports.items()
                      if not n.startswith(FIELD_KEY)}
    out: dict[str, Summary] = {}
    for f in fa.order:
        if f.name not in names or f.is_static or f.name in fa.table.ops \
                or f.name in fa.table.wrappers:
            continue
        s = fa.summary_of(f.name)
        if s is not None and exported(s):
            out[f.name] = s
    export_demands(fa, out, names)  # as the full lint's (irqdemand.py)
    return False, out
