"""Which files to lint, and linting them in parallel with a stable order.

One file (the pre-commit case) is linted in this process: starting a pool
would cost more than the work.  Otherwise a process pool of ``jobs``
workers each loads the configuration once.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xenpatch.lint.analyze import FileResult, LintConfig, lint_file


class UsageError(Exception):
    pass


def collect_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, display name) of every C file named or under a named directory.

    Files named explicitly are linted whatever their suffix; directories
    contribute their ``*.c`` files.  A missing path is a usage error.
    """
    out: dict[str, Path] = {}
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*.c")):
                if f.is_file():
                    out.setdefault(_display(f), f)
        elif p.exists():
            out.setdefault(_display(p), p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    return [(out[k], k) for k in sorted(out)]


def _display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


_CONFIG: LintConfig | None = None
_RULES: Path | None = None


def _init(rules: Path | None) -> None:
    global _CONFIG, _RULES
    _RULES = rules
    _CONFIG = LintConfig.load(rules)


def _one(item: tuple[Path, str]) -> FileResult:
    assert _CONFIG is not None
    return lint_file(item[0], item[1], _CONFIG)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def lint_files(
    files: list[tuple[Path, str]], jobs: int | None = None, rules: Path | None = None
) -> list[FileResult]:
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(files) <= 1:
        _init(rules)
        results = [_one(f) for f in files]
    else:
        # Big files first keeps the pool busy to the end; order is restored.
        by_size = sorted(files, key=lambda f: -_size(f[0]))
        chunk = max(1, min(8, len(files) // (jobs * 8)))
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(rules,)) as ex:
            results = list(ex.map(_one, by_size, chunksize=chunk))
    results.sort(key=lambda r: r.path)
    return results


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0
