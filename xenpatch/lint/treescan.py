"""The code words of a tree's source files, read once for the tree-level
settles of a whole-tree run.

After the first passes, irqcalls.settle() asks which files of the tree
mention some names in their code (comments and literals blank), and so do
entrysettle.settle() and, three times over, witnesschain.py's chain
search.  Each ask read and split every file of the tree again: on Xen 4.17
~1.5 s of the parent's serial CPU, five reads of each of 1,370 files.
Here each file is read and split once: its code's words, indexed word to
files (the texts are not kept: the parent would hold the tree twice over
at its peak, +27 MB on 4.17); the code and the definitions of the files
the asks find are kept for the later asks (the answers are those of a
fresh read of each file: the run reads a tree it does not change).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from xenpatch.analysis import fnptrs
from xenpatch.analysis.headers import find_xen_root
from xenpatch.c.source import identifier_set
from xenpatch.lint import nameindex
from xenpatch.lint.inputs import tree_sources


class TreeScan:
    """The sources under ``root``, in sorted order, read on the first ask."""

    @staticmethod
    def of_run(per_file: Sequence[tuple[Path, str, Any]]) -> TreeScan | None:
        """The scan of the tree the run's files are in (its first file's;
        None outside a tree), shared by the run's tree-level settles."""
        root = find_xen_root(Path(os.path.abspath(per_file[0][0]))) if per_file else None
        return TreeScan(root) if root is not None else None

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: list[Path] = []
        self._index: dict[bytes, list[int]] | None = None
        self._read: list[bool] = []
        self._code: dict[int, bytes] = {}
        self._defs: dict[int, list[nameindex.Definition]] = {}
        self._raw_defs: dict[int, list[nameindex.Definition]] = {}
        self._memo: dict[Any, Any] = {}

    def _scan(self) -> dict[bytes, list[int]]:
        if self._index is None:
            index: dict[bytes, list[int]] = {}
            self.paths = sorted(tree_sources(self.root))
            for i, path in enumerate(self.paths):
                try:
                    raw = path.read_bytes()
                except OSError:
                    self._read.append(False)  # skipped, as a failed read is
                    continue
                self._read.append(True)
                # Neither text is kept (the tree's twice over in this
                # process): read again for the few files asked about.
                for w in identifier_set(fnptrs.code_only(raw)):
                    got = index.get(w)
                    if got is None:
                        index[w] = [i]
                    else:
                        got.append(i)
            self._index = index
        return self._index

    def naming(self, words: Iterable[bytes]) -> dict[int, set[bytes]]:
        """Per file (its number in ``paths``) whose code names one of
        ``words`` as an identifier, those it names; in no order (sort the
        numbers for the files' order)."""
        index = self._scan()
        out: dict[int, set[bytes]] = {}
        for w in words:
            for i in index.get(w, ()):
                got = out.get(i)
                if got is None:
                    out[i] = {w}
                else:
                    got.add(w)
        return out

    def raw(self, i: int) -> bytes | None:
        """The text of file ``i`` (None: it could not be read)."""
        self._scan()
        if not self._read[i]:
            return None
        try:
            return self.paths[i].read_bytes()
        except OSError:
            return None

    def code(self, i: int) -> bytes:
        """fnptrs.code_only() of file ``i`` (one the index names: read)."""
        got = self._code.get(i)
        if got is None:
            got = self._code[i] = fnptrs.code_only(self._read_raw(i))
        return got

    def definitions(self, i: int) -> list[nameindex.Definition]:
        """nameindex.definitions() of file ``i``'s code."""
        return self._definitions(self._defs, i, self.code)

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, once per ``key`` (what a caller derives of a file)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def raw_definitions(self, i: int) -> list[nameindex.Definition]:
        """nameindex.definitions() of file ``i``'s text as it is."""
        return self._definitions(self._raw_defs, i, self._read_raw)

    def _read_raw(self, i: int) -> bytes:
        """The text of file ``i``, one the index names (so read once)."""
        raw = self.raw(i)
        assert raw is not None
        return raw

    @staticmethod
    def _definitions(memo: dict[int, list[nameindex.Definition]], i: int,
                     text: Callable[[int], bytes]) -> list[nameindex.Definition]:
        got = memo.get(i)
        if got is None:
            got = memo[i] = nameindex.scan_definitions(text(i))
        return got


__all__ = ["TreeScan"]
