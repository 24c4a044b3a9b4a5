"""Before any command: finish or undo a write that an earlier run left half-done.

:mod:`xenpatch.journal` keeps the record; a record of a commit is judged by
:mod:`xenpatch.git.updates` (loaded only then: most runs find no record and
never import pygit2 here).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xenpatch import journal


def _has_git(record: Path) -> bool:
    try:
        return bool(journal.load_record(record).extra.get("git"))
    except journal.JournalError:
        return False


def recover_around(paths: Iterable[Path]) -> None:
    """Recover every record found for ``paths`` (and the current folder),
    saying so on stderr, one line each."""
    for record in journal.find_records([*paths, Path.cwd()]):
        # Judged under its lock: a record whose writer is still at work is
        # waited for, not taken for an interrupted one (journal.holding()).
        with journal.holding(record):
            hooks: dict[str, Any] = {}
            if record.exists() and _has_git(record):
                from xenpatch.git import updates

                hooks = {"landed": updates.landed, "complete": updates.complete,
                         "cleanup": updates.cleanup}
            done = journal.recover(record, **hooks)
        if done:
            print(f"xenpatch: {record}: {done}", file=sys.stderr)
