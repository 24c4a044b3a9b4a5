"""Several files of a tree linted together, kept whole by what they were
linted from: the hook's patch mode on a commit of several files.

A run on one file keeps its result by the file's content and the
summaries it was given (lazyrun.py, treecache.EARLIER).  A run on several
files with other contents (``lint --since HEAD a.c b.c``: the committed
versions, each linted with the others' summaries of the same revision)
has nothing per file to key on before its first passes are made: what a
file is given depends on the other files' versions.  So the run is kept
whole, under everything it reads: the context (the checker, the rules,
the headers, cache.context), each file's path, display name and the hash
of the text linted, and the tree as it is -- every C file and header by
content, the linted files' own texts now included (an old version's
files read the others as they are now: their callers' facts, the name
index), every other file (the Makefiles and Kconfig files the build's
choices are read from, assembly) by size and time.  A run with the same
key is the same computation: a commit retried meets its committed
versions' run; the next commit, its files edited, is another run.  RUNS
of them are kept per tree, the most recent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from xenpatch.lint import lazy
from xenpatch.lint.findings import FileResult
from xenpatch.lint.inputs import SOURCE_SUFFIXES
from xenpatch.lint.treecache import TreeCache, content_hash, stamped

# The runs kept per tree: a commit's committed and staged versions, for a
# few partitions (pre-commit hands a hook up to 4 files a process).
RUNS = 8


def key(cache: TreeCache, files: Sequence[tuple[Path, str]],
        rels: Mapping[tuple[Path, str], str | None],
        texts: Mapping[tuple[Path, str], bytes | None]) -> str | None:
    """What the run on ``files`` (their ``texts``) reads; None where a file
    is outside the tree or unreadable (such a run is not kept)."""
    h = hashlib.sha256(f"{cache.context}\n".encode())
    for item in sorted(files, key=lambda it: (rels[it] or "", it[1])):
        rel, text = rels[item], texts[item]
        if rel is None or text is None:
            return None
        h.update(f"{rel}\0{item[1]}\0{content_hash(text)}\n".encode())
    for r in sorted(cache.hashes):
        h.update(f"{r}\0{cache.hashes[r]}\n".encode())
    # The others by size and time (the C files and headers by content, above).
    for _, stamp in stamped(cache.root, lambda n: not n.endswith(SOURCE_SUFFIXES[:2])):
        h.update(stamp.encode())
    return h.hexdigest()


def kept(cache: TreeCache, run: str, files: Sequence[tuple[Path, str]],
         rels: Mapping[tuple[Path, str], str | None]) -> list[FileResult] | None:
    """The results of the run kept under ``run``, in ``files``' order."""
    got = cache.run(run)
    if got is None:
        return None
    out = []
    for item in files:
        d = got.get(rels[item] or "")
        r = lazy.result_in(d, item[1]) if isinstance(d, dict) else None
        if r is None:
            return None
        out.append(r)
    return out


def keep(cache: TreeCache, run: str, files: Sequence[tuple[Path, str]],
         rels: Mapping[tuple[Path, str], str | None], results: Sequence[FileResult]) -> None:
    """Keep the run's reports (not the files' summaries, which the files'
    own entries keep: nine tenths of a result's size), unless one of them
    is an error (a file unreadable now may be readable next time)."""
    if any(r.error is not None for r in results):
        return
    cache.set_run(run, {rels[item] or "": {**lazy.result_out(r), "exports": {}}
                        for item, r in zip(files, results, strict=True)}, RUNS)


__all__ = ["RUNS", "keep", "kept", "key"]
