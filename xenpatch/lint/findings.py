"""What the lint reports: findings with their witness path, and the result
of linting one file."""

from __future__ import annotations

from dataclasses import dataclass, field

from xenpatch.analysis.locktable import Summary


@dataclass(frozen=True)
class Step:
    line: int
    col: int
    note: str


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    check: str
    message: str
    function: str
    flow: tuple[Step, ...] = ()
    key: str = ""  # the lock expression the finding is about (fingerprints)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.check, self.message)


# Why a definition of one of the lock table's own operations is not
# analysed: it is the API, out of the lint's scope, not a gap in its coverage.
LOCK_API_DEFINITION = "implements the lock API"


def is_gap(why: str) -> bool:
    """Is a function not analysed for this reason a gap in what the run
    covered (unparsed code, too many states), not out of its scope?"""
    return why != LOCK_API_DEFINITION


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    functions: int = 0  # function definitions in the file
    analysed: int = 0  # lock-touching functions fully analysed
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (name, line, why)
    # Effects the analysis could not state, each making a lock (or a path)
    # unknown past it: (function, line, what), listed by -v.
    unknown: list[tuple[str, int, str]] = field(default_factory=list)
    # Questions a bounded search stopped on before deciding them (name,
    # line, why): what a finding needs was not looked at, so unlike an
    # unknown effect they are a gap in the run's coverage (exit 3).
    undecided: list[tuple[str, int, str]] = field(default_factory=list)
    # What a search of the tree for another file's takes looked at, to
    # decide a check (function, line, what): listed by -v.
    searched: list[tuple[str, int, str]] = field(default_factory=list)
    error: str | None = None
    parsed: bool = True  # False: the file names no lock API at all
    # What the file's external functions do to their callers' locks, for
    # the other files (see run.lint_files).
    exports: dict[str, Summary] = field(default_factory=dict)
    # Names called where the caller may hold a lock, and what the file's
    # functions called there call in turn: another file's helper that only
    # takes locks can matter at those calls only (workers.again).  Not kept in
    # the cache: a kept result needs no second pass.
    held_calls: frozenset[str] = frozenset()
    # The locks held at those calls, by their identities (struct type and
    # field path, or a file-scope name: irqsafe.identity()), where known,
    # each with the names called holding it (closed over as held_calls):
    # which other files' takes the later round follows (lazyrounds.py).
    # Not kept either.
    held_locks: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict,
                                                              compare=False)
    # Did a callee's take on an argument's say (Effect.when) make some
    # function track a variable nothing else tracks?  Then paths may differ
    # from a lint with plain takes (lint/once.py).  Not kept either.
    when_tracked: bool = field(default=False, compare=False)
    # held_calls of the functions whose runs no such tracking reaches
    # (filelint.held_untracked()): those of a lint without the summaries
    # hold them too.  Not kept either.
    held_untracked: frozenset[str] = field(default=frozenset(), compare=False)
    # The content hash (treecache.content_hash) of the text linted: what
    # the tree cache keeps of this result is kept under it, never under
    # the hash of another version of the file read before or after.
    digest: str | None = field(default=None, compare=False)

    def keep_first_pass(self, first: FileResult) -> None:
        """A later lint of the file stands for ``first`` in what only a
        first pass gives: its exports and the calls it makes holding a
        lock."""
        self.exports, self.held_calls = first.exports, first.held_calls
        self.held_locks = first.held_locks
