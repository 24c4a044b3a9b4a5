"""What every C file of a Xen tree exports to the others (the summaries of
its lock helpers), kept on disk between runs.

Linting one file, as the pre-commit hook does, then sees the helpers of the
whole tree as a full run does: ``vpci_msix_arch_print()`` of another file
drops its caller's lock on failure; ``put_gfn()`` reaches the p2m lock only
through ``arch/x86/mm/p2m.c``.  The first run in a tree computes every
file's summaries (the full run's first pass); later runs redo only the files
whose size or modification time changed, and all of them when a header,
a rule file or the checker itself changed.

The cache lives in ``$XENPATCH_CACHE`` (default ``~/.cache/xenpatch``),
under ``lint/``, one JSON file per tree, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.locktable import Effect, Summary

FORMAT = 1


def cache_dir() -> Path:
    base = os.environ.get("XENPATCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "xenpatch"


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns]


def _walk(root: Path) -> tuple[dict[str, list[int]], str]:
    """Stamps of the tree's C files by relative path, and one digest of the
    stamps of its headers."""
    sources: dict[str, list[int]] = {}
    headers = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if name.endswith(".c"):
                    sources[rel] = _stamp(st)
                else:
                    headers.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return sources, headers.hexdigest()


def code_fingerprint(rules: Path) -> str:
    """The rule files and the checker's own code: a change to either can
    change any summary."""
    h = hashlib.sha256(f"{FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for p in sorted([*here.glob("*.py"), *(here.parent / "analysis").glob("*.py"),
                     *(here.parent / "c").glob("*.py"), *rules.glob("*.toml")]):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _effect_out(e: Effect) -> list:
    return [e.action, e.kind, e.mode, e.flavour, e.key, e.owner, e.via, e.success, e.inferred,
            e.nonnull, e.mode_arg]


def _summary_out(s: Summary) -> dict:
    return {"effects": [_effect_out(e) for e in s.effects], "conditional": s.conditional,
            "guard": s.guard}


def _summary_in(d: dict) -> Summary:
    return Summary(tuple(Effect(*e) for e in d["effects"]), d["conditional"], d["guard"])


@dataclass
class TreeCache:
    root: Path
    path: Path
    fingerprint: str
    headers: str
    sources: dict[str, list[int]]  # the tree as it is now
    # relative path -> (stamp when summarised, exports)
    known: dict[str, tuple[list[int], dict[str, Summary]]] = field(default_factory=dict)

    @staticmethod
    def open(root: Path, rules: Path) -> TreeCache:
        root = root.resolve()
        sources, headers = _walk(root)
        fp = code_fingerprint(rules)
        name = hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".json"
        cache = TreeCache(root, cache_dir() / "lint" / name, fp, headers, sources)
        try:
            data = json.loads(cache.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if data.get("fingerprint") != fp or data.get("headers") != headers \
                or data.get("root") != str(root):
            return cache
        try:
            cache.known = {
                rel: (entry["stamp"], {n: _summary_in(s) for n, s in entry["exports"].items()})
                for rel, entry in data["files"].items()
            }
        except (KeyError, TypeError, ValueError):
            cache.known = {}
        return cache

    def stale(self) -> list[Path]:
        """The tree's C files whose summaries are missing or out of date."""
        return [self.root / rel for rel, st in self.sources.items()
                if rel not in self.known or self.known[rel][0] != st]

    def update(self, results: Iterable[tuple[Path, dict[str, Summary]]]) -> None:
        """``results``: (resolved path, exports) of linted files."""
        for path, exports in results:
            try:
                rel = path.relative_to(self.root).as_posix()
            except ValueError:
                continue
            if rel in self.sources:
                self.known[rel] = (self.sources[rel], exports)

    def exports(self) -> list[dict[str, Summary]]:
        return [self.known[rel][1] for rel in sorted(self.sources) if rel in self.known]

    def save(self) -> None:
        data = {
            "format": FORMAT, "root": str(self.root), "fingerprint": self.fingerprint,
            "headers": self.headers,
            "files": {
                rel: {"stamp": st, "exports": {n: _summary_out(s) for n, s in ex.items()}}
                for rel, (st, ex) in sorted(self.known.items()) if rel in self.sources
            },
        }
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            pass  # a cache that cannot be written is only slower next time
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
