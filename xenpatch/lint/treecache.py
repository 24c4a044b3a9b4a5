"""What a Xen tree's C files tell each other, kept on disk between runs and
keyed by content, not by modification time.

Linting one file (the pre-commit hook's case) needs the summaries of the
other files' helpers it calls (``vpci_msix_arch_print()`` of another file
drops its caller's lock on failure).  This cache keeps, for a tree:

- the content hash of every ``.c`` and ``.h`` file, with its size and
  modification time only as a shortcut (a file whose stamp changed is read
  and hashed again: a checkout that leaves a header's content as it was
  leaves everything warm);
- the name index: the functions each ``.c`` file defines, by content hash
  (a text scan, nameindex.py), to find the definitions of called names;
- in one *context* (the checker's code, the rule files, every header's
  content): each file's summaries, whole (a full first pass, as a whole-tree
  run fills them) or for the names asked so far; which of its functions may
  reach a lock (text); the names a file may call; the XL017 records of its
  first pass where a single-file run's search read them (lazywitness.py);
  the result of linting a file with the summaries it was given, for a run
  that has nothing new -- of its content now and of up to EARLIER others
  it had or was linted with (``lint --since HEAD``: the committed version,
  linted beside the staged one by every run of the hook); and a few runs
  on several files, whole (runmemo.py).

A change of context drops what depends on it.  A cache file of another
version or of the wrong shape is rebuilt with a one-line note.  The cache
lives in ``$XENPATCH_CACHE`` (default ``~/.cache/xenpatch``), under
``lint/``, one JSON file per tree, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from xenpatch import cachefiles
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.c.texts import read_bytes
from xenpatch.errors import XenpatchError

FORMAT = 3
_RACY_NS = 2 * 10**9
# Per file, the results kept of contents other than its own now: the hook's
# patch mode lints the committed version beside the staged one each run,
# and a retried commit or the next one on the same file meets them again.
EARLIER = 2


def cache_dir() -> Path:
    base = os.environ.get("XENPATCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "xenpatch"


def cache_file(root: Path) -> Path:
    """Where the cache of the tree at ``root`` (resolved) is kept."""
    return cache_dir() / "lint" / (hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".json")


def content_hash(raw: bytes) -> str:
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def code_fingerprint(rules: Path) -> str:
    """The rule files and the checker's own code: a change to either can
    change any summary."""
    h = hashlib.sha256(f"{FORMAT}".encode())
    here = Path(__file__).resolve().parent
    pkg = here.parent
    for p in sorted([*here.glob("*.py"), *(pkg / "c").rglob("*.py"),
                     *(pkg / "analysis").glob("*.py"), *rules.glob("*.toml")]):
        # the path below its folder: masking/ is a package of c/ now
        name = p.relative_to(pkg) if p.is_relative_to(pkg) else p.relative_to(rules)
        h.update(name.as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


# -- summaries as JSON --------------------------------------------------------


# An effect is kept as the list of its fields, in their order: a field added
# to Effect changes their number, which the shape check below then refuses.
_EFFECT_FIELDS = tuple(f.name for f in fields(Effect))


def summary_out(s: Summary) -> dict[str, Any]:
    d: dict[str, Any] = {"effects": [[getattr(e, f) for f in _EFFECT_FIELDS] for e in s.effects],
         "conditional": s.conditional, "guard": s.guard}
    if s.outs:
        # Only when there are some: the cache file of a tree is shared by
        # every version of the code, and most summaries have none.
        d["outs"] = [list(o) for o in s.outs]
    if s.test is not None:
        d["test"] = s.test
    return d


def summary_in(d: dict[str, Any]) -> Summary:
    return Summary(tuple(Effect(*e) for e in d["effects"]), d["conditional"], d["guard"],
                   tuple((o[0], o[1], o[2]) for o in d.get("outs", ())), d.get("test"))


# -- shape checks: a cache file is data from disk, not trusted ---------------


class BadCache(XenpatchError):
    pass


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise BadCache(what)


def _check_summary(s: Any) -> None:
    _need(isinstance(s, dict) and set(s) - {"outs", "test"} == {"effects", "conditional", "guard"},
          "a summary")
    _need(s.get("test") is None or isinstance(s["test"], str), "test")
    _need(isinstance(s["effects"], list) and all(
        isinstance(e, list) and len(e) == len(_EFFECT_FIELDS) for e in s["effects"]), "effects")
    _need(s["conditional"] is None or isinstance(s["conditional"], str), "conditional")
    _need(s["guard"] is None or isinstance(s["guard"], int), "guard")
    _need(isinstance(s.get("outs", []), list) and all(
        isinstance(o, list) and len(o) == 3 and isinstance(o[0], int)
        and isinstance(o[1], str) and isinstance(o[2], str) for o in s.get("outs", [])), "outs")


def _check_names(x: Any) -> None:
    _need(isinstance(x, list) and all(isinstance(n, str) for n in x), "a list of names")


def _check_keyed(table: Any, what: str, check_value) -> None:
    """``{rel: [content hash, value]}``."""
    _need(isinstance(table, dict), what)
    for rel, entry in table.items():
        _need(isinstance(rel, str) and isinstance(entry, list) and len(entry) == 2
              and isinstance(entry[0], str), what)
        check_value(entry[1])


def _check_exports(v: Any) -> None:
    _need(isinstance(v, dict) and set(v) == {"complete", "known", "none"}, "exports")
    _need(isinstance(v["complete"], bool), "exports")
    _need(isinstance(v["known"], dict), "exports")
    for n, s in v["known"].items():
        _need(isinstance(n, str), "exports")
        _check_summary(s)
    _check_names(v["none"])


def _check_records(v: Any) -> None:
    _need(isinstance(v, dict) and all(isinstance(k, str) for k in v), "first-pass records")
    for s in v.values():
        _check_summary(s)


def _check_result(v: Any) -> None:
    _need(isinstance(v, dict) and isinstance(v.get("key"), str)
          and isinstance(v.get("result"), dict), "a result")


def validate(data: Any) -> None:
    """Raise BadCache naming what is wrong with a loaded cache file."""
    _need(isinstance(data, dict), "not a JSON object")
    _need(data.get("format") == FORMAT, f"format {data.get('format')!r}, not {FORMAT}")
    _need(isinstance(data.get("root"), str) and isinstance(data.get("context"), str),
          "root or context")
    stamps = data.get("stamps")
    _need(isinstance(stamps, dict), "stamps")
    for rel, st in stamps.items():
        _need(isinstance(rel, str) and isinstance(st, list) and len(st) == 3
              and isinstance(st[0], int) and isinstance(st[1], int)
              and isinstance(st[2], str), "a stamp")
    defs = data.get("defs")
    _need(isinstance(defs, dict), "the name index")
    for h, names in defs.items():
        _need(isinstance(h, str), "the name index")
        _check_names(names)
    _check_keyed(data.get("exports"), "exports", _check_exports)
    _check_keyed(data.get("may"), "may-export names", _check_names)
    _check_keyed(data.get("records", {}), "first-pass records", _check_records)
    _check_keyed(data.get("needs"), "needed names", _check_names)
    _check_keyed(data.get("results"), "results", _check_result)
    runs = data.get("runs", [])
    _need(isinstance(runs, list), "runs")
    for e in runs:
        _need(isinstance(e, list) and len(e) == 2 and isinstance(e[0], str)
              and isinstance(e[1], dict) and all(isinstance(r, str) and isinstance(v, dict)
                                                 for r, v in e[1].items()), "runs")
    earlier = data.get("earlier", {})
    _need(isinstance(earlier, dict), "earlier results")
    for rel, entries in earlier.items():
        _need(isinstance(rel, str) and isinstance(entries, list), "earlier results")
        for e in entries:
            _need(isinstance(e, list) and len(e) == 2 and isinstance(e[0], str),
                  "earlier results")
            _check_result(e[1])


# -- the cache ----------------------------------------------------------------


@dataclass
class FileExports:
    """A file's summaries for its callers: all of them (``complete``, from
    a full first pass) or those of the names asked so far (``none``: asked,
    no summary)."""

    complete: bool = False
    known: dict[str, Summary] = field(default_factory=dict)
    none: set[str] = field(default_factory=set)

    def answers(self, names: frozenset[str]) -> bool:
        return self.complete or names <= (self.known.keys() | self.none)

    def out(self) -> dict[str, Any]:
        return {"complete": self.complete,
                "known": {n: summary_out(s) for n, s in sorted(self.known.items())},
                "none": sorted(self.none)}

    @staticmethod
    def of(d: dict[str, Any]) -> FileExports:
        return FileExports(d["complete"], {n: summary_in(s) for n, s in d["known"].items()},
                           set(d["none"]))


@dataclass
class TreeCache:
    root: Path
    path: Path
    context: str
    hashes: dict[str, str]  # relative path -> content hash, the tree as it is now
    stamps: dict[str, list[Any]] = field(default_factory=dict)
    defs: dict[str, list[str]] = field(default_factory=dict)  # content hash -> external names
    # In this context, by relative path: (content hash, value).
    exports: dict[str, tuple[str, FileExports]] = field(default_factory=dict)
    may: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    records: dict[str, tuple[str, dict[str, Summary]]] = field(default_factory=dict)
    needs: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    results: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # By relative path, most recent first: (content hash, result) of other
    # contents than the file's now (EARLIER).
    earlier: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    # Runs on several files (runmemo.py): key -> results by relative path,
    # the most recent last.
    runs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    dirty: bool = False

    @staticmethod
    def open(root: Path, rules: Path, err=None,
             given: tuple[dict[str, str], dict[str, list[Any]]] | None = None) -> TreeCache:
        """The cache of the tree at ``root``, brought up to date with the
        files' contents.  ``err``: where the note about a bad cache file
        goes (stderr).  ``given``: some files' hashes and stamps, walked
        already (_walk())."""
        root = root.resolve()
        path = cache_file(root)
        data: Any = None
        text = cachefiles.read_text(path)
        if text is not None:
            try:
                data = json.loads(text)
                validate(data)
                if data["root"] != str(root):
                    raise BadCache("another tree's")
            except (ValueError, BadCache) as exc:
                print(f"xenpatch lint: cache {path}: {exc}; rebuilt", file=err or sys.stderr)
                data = None
        old_stamps = data["stamps"] if data else {}
        # ``given``: a first run's C files hashed beside the imports
        # (earlywalk.py); the headers, which this process reads anyway, are
        # hashed here.
        hashes, stamps, changed = _walk(root, old_stamps, given=given)
        headers = hashlib.sha256()
        for rel in sorted(hashes):
            if rel.endswith(".h"):
                headers.update(f"{rel}\0{hashes[rel]}\n".encode())
        # The tree's SAF table decides which findings are suppressed.
        from xenpatch.lint.suppress import find_safe_json

        safe = find_safe_json(root / "x")
        try:
            headers.update(safe.read_bytes() if safe is not None else b"")
        except OSError:
            headers.update(b"\0unreadable")
        context = code_fingerprint(rules) + ":" + headers.hexdigest()
        cache = TreeCache(root, path, context, hashes, stamps, dirty=changed or data is None)
        if data is None:
            return cache
        live = set(hashes.values())
        cache.defs = {h: n for h, n in data["defs"].items() if h in live}
        if data["context"] != context:
            cache.dirty = True
            return cache
        cache.exports = {r: (h, FileExports.of(v)) for r, (h, v) in data["exports"].items()}
        cache.may = {r: (h, frozenset(v)) for r, (h, v) in data["may"].items()}
        cache.records = {r: (h, {k: summary_in(s) for k, s in v.items()})
                         for r, (h, v) in data.get("records", {}).items()}
        cache.needs = {r: (h, frozenset(v)) for r, (h, v) in data["needs"].items()}
        cache.results = {r: (h, v) for r, (h, v) in data["results"].items()}
        cache.earlier = {r: [(h, v) for h, v in es]
                         for r, es in data.get("earlier", {}).items()}
        cache.runs = {k: v for k, v in data.get("runs", [])}
        return cache

    # -- the tree ---------------------------------------------------------

    def sources(self) -> list[str]:
        return sorted(r for r in self.hashes if r.endswith(".c"))

    def rel(self, path: Path) -> str | None:
        """``path`` (resolved) relative to the root, if a C file of the tree."""
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return rel if rel in self.hashes else None

    def _fresh(self, table: dict[str, tuple[str, Any]], rel: str) -> Any | None:
        got = table.get(rel)
        return got[1] if got is not None and got[0] == self.hashes.get(rel) else None

    def _put(self, table: dict[str, tuple[str, Any]], rel: str, value: Any) -> None:
        table[rel] = (self.hashes[rel], value)
        self.dirty = True

    # -- what is kept -----------------------------------------------------

    def definitions(self, rel: str) -> list[str] | None:
        return self.defs.get(self.hashes[rel])

    def set_definitions(self, rel: str, names: list[str]) -> None:
        self.defs[self.hashes[rel]] = names
        self.dirty = True

    def file_exports(self, rel: str) -> FileExports | None:
        return self._fresh(self.exports, rel)  # type: ignore[no-any-return]

    def set_exports(self, rel: str, ex: FileExports) -> None:
        self._put(self.exports, rel, ex)

    def may_export(self, rel: str) -> frozenset[str] | None:
        return self._fresh(self.may, rel)  # type: ignore[no-any-return]

    def set_may_export(self, rel: str, names: frozenset[str]) -> None:
        self._put(self.may, rel, names)

    def first_records(self, rel: str) -> dict[str, Summary] | None:
        return self._fresh(self.records, rel)  # type: ignore[no-any-return]

    def set_first_records(self, rel: str, records: dict[str, Summary]) -> None:
        self._put(self.records, rel, records)

    def needed(self, rel: str) -> frozenset[str] | None:
        return self._fresh(self.needs, rel)  # type: ignore[no-any-return]

    def set_needed(self, rel: str, names: frozenset[str]) -> None:
        self._put(self.needs, rel, names)

    def result(self, rel: str, key: str, digest: str | None = None) -> dict[str, Any] | None:
        """The result kept of linting ``rel`` with ``key``'s summaries: of
        its content now, or of the content hashed ``digest``."""
        digest = digest or self.hashes.get(rel)
        for h, v in self._versions(rel):
            if h == digest:
                return v["result"] if v["key"] == key else None  # type: ignore[no-any-return]
        return None

    def set_result(self, rel: str, key: str, result: dict[str, Any],
                   digest: str | None = None) -> None:
        """Keep the result of linting ``rel`` (its content now, or the
        content hashed ``digest``) with ``key``'s summaries."""
        now = self.hashes[rel]
        digest = digest or now
        entry = (digest, {"key": key, "result": result})
        rest = [x for x in self._versions(rel) if x[0] != digest]
        if digest == now:
            self.results[rel] = entry
        else:
            rest.insert(0, entry)
        self.earlier[rel] = [x for x in rest if x[0] != now][:EARLIER]
        self.dirty = True

    def run(self, key: str) -> dict[str, dict[str, Any]] | None:
        return self.runs.get(key)

    def set_run(self, key: str, results: dict[str, dict[str, Any]], most: int) -> None:
        """Keep a run's results under ``key``, and the ``most`` runs kept
        last."""
        self.runs.pop(key, None)
        self.runs[key] = results
        while len(self.runs) > most:
            del self.runs[next(iter(self.runs))]
        self.dirty = True

    def _versions(self, rel: str) -> list[tuple[str, dict[str, Any]]]:
        now = self.results.get(rel)
        return [*([now] if now is not None else []), *self.earlier.get(rel, ())]

    def _results_out(self) -> tuple[dict[str, list[Any]], dict[str, list[list[Any]]]]:
        """The results kept of each file: of its content now, and of up to
        EARLIER others (a file edited since its result was kept, or back to
        an earlier content, moves its results between the two)."""
        now_out: dict[str, list[Any]] = {}
        earlier_out: dict[str, list[list[Any]]] = {}
        for rel in sorted({*self.results, *self.earlier}):
            now = self.hashes.get(rel)
            if now is None:
                continue  # not in the tree any more
            seen: set[str] = set()
            for h, v in self._versions(rel):
                if h in seen:
                    continue
                seen.add(h)
                if h == now:
                    now_out[rel] = [h, v]
                elif len(earlier_out.setdefault(rel, [])) < EARLIER:
                    earlier_out[rel].append([h, v])
        return now_out, {r: es for r, es in earlier_out.items() if es}

    def save(self) -> None:
        if not self.dirty:
            return
        live = set(self.hashes.values())
        results, earlier = self._results_out()
        data = {
            "format": FORMAT, "root": str(self.root), "context": self.context,
            "stamps": self.stamps,
            "defs": {h: n for h, n in sorted(self.defs.items()) if h in live},
            "exports": {r: [h, v.out()] for r, (h, v) in sorted(self.exports.items())
                        if self.hashes.get(r) == h},
            # In the first pass's order, not sorted: merge() names the first
            # witness it meets (irqwitness.py), as a whole-tree run does.
            "records": {r: [h, {k: summary_out(s) for k, s in v.items()}]
                        for r, (h, v) in sorted(self.records.items())
                        if self.hashes.get(r) == h},
            "may": {r: [h, sorted(v)] for r, (h, v) in sorted(self.may.items())
                    if self.hashes.get(r) == h},
            "needs": {r: [h, sorted(v)] for r, (h, v) in sorted(self.needs.items())
                      if self.hashes.get(r) == h},
            "results": results,
            "earlier": earlier,
            "runs": [[k, v] for k, v in self.runs.items()],
        }
        if write_whole(self.path, data):
            self.dirty = False


def read_record(path: Path, fmt: int, context: str) -> dict[str, Any] | None:
    """A record kept beside a tree's cache (upcallers.py, roundskept.py):
    its data if it is of this format and this context (the configuration,
    the headers), None if there is none of those (or none to read)."""
    data = cachefiles.read_json(path)
    if not isinstance(data, dict) or data.get("format") != fmt \
            or data.get("context") != context:
        return None
    return data


def write_record(path: Path, fmt: int, context: str, data: dict[str, Any]) -> bool:
    """read_record()'s counterpart, whole or not at all (write_whole())."""
    return write_whole(path, {"format": fmt, "context": context, **data})


def write_whole(path: Path, data: Any) -> bool:
    """``data`` as JSON at ``path``, whole or not at all (cachefiles.py);
    False when it could not be written, which for a cache only means
    slower next time."""
    # dumps(), not dump(): dump() encodes in Python, chunk by chunk (three
    # times the CPU on a cold run's cache).
    return cachefiles.write_whole(path, json.dumps(data, separators=(",", ":")))


def stamped(root: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, str]]:
    """Each file under ``root`` whose name ``wanted`` accepts, in a fixed
    order: (its path, ``path\0size\0mtime``), for the files kept by size
    and time, not content, in a tree state's hash."""
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            if not wanted(n):
                continue
            p = os.path.join(d, n)
            try:
                st = os.stat(p)
            except OSError:
                continue
            yield p, f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n"


def _walk(root: Path, old: dict[str, Any], suffixes: tuple[str, ...] = (".c", ".h"),
          given: tuple[dict[str, str], dict[str, list[Any]]] | None = None,
          ) -> tuple[dict[str, str], dict[str, list[Any]], bool]:
    """The content hash of each C file and header under ``root`` (read only
    when its size or modification time differs from the stamp kept), the
    new stamps, and whether any changed.  ``suffixes``: only the files
    ending so.  ``given``: (hashes, stamps) a walk of some of them made
    without stamps kept (earlywalk.py's child, of the C files), taken for
    those files as they are: this walk reads and hashes the others."""
    hashes: dict[str, str] = {}
    stamps: dict[str, list[Any]] = {}
    changed = False
    now = time.time_ns()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if not name.endswith(suffixes):
                continue
            path = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if given is not None and rel in given[0] and rel not in old:
                hashes[rel] = given[0][rel]
                stamps[rel] = given[1][rel]
                changed = True  # read, as here
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            was = old.get(rel)
            if was is not None and was[0] == st.st_size and was[1] == st.st_mtime_ns:
                h = was[2]
            else:
                try:
                    h = content_hash(read_bytes(path))
                except OSError:
                    continue
                changed = True
            hashes[rel] = h
            # A file changed within the clock's resolution of now could
            # change again with the same stamp: its stamp is not trusted
            # next time (git's "racily clean" entries).
            racy = st.st_mtime_ns >= now - _RACY_NS
            stamps[rel] = [-1 if racy else st.st_size, st.st_mtime_ns, h]
    if old.keys() - stamps.keys():
        changed = True
    return hashes, stamps, changed
