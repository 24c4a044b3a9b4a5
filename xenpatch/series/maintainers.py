"""Recipients from a tree's MAINTAINERS, with the rules of Xen's get_maintainer.pl.

What it reproduces of ``scripts/get_maintainer.pl --no-git`` (v0.26-xen):
``F:`` patterns (shell globs with ``*``/``?``/``{a,b}``; a trailing ``/`` or
an existing directory matches everything below it; otherwise the pattern
must match at the same directory depth), ``X:`` exclusions, ``N:`` regexes on
file names, ``K:`` regexes on the patch text, ``M:``/``R:``/``L:`` entries,
and Xen's "THE REST" rule: THE REST's maintainers are dropped when every
file has a more specific section.  Address formatting (quoting of names
with characters outside ``[A-Za-z0-9_ -]``) follows its parse/format_email
so that the sets compare equal as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_TYPE_LINE = re.compile(r"^([A-Z]):\s*(.*)")
THE_REST_ROLE = "supporter:THE REST"


@dataclass(frozen=True)
class Recipient:
    address: str  # "Name <addr>" formatted as get_maintainer prints it
    role: str  # "maintainer:X86 ARCHITECTURE", "reviewer", "open list", ...
    kind: str  # "maintainer", "reviewer" or "list"


def parse_email(text: str) -> tuple[str, str]:
    """get_maintainer's parse_email(): (name, address), name quoted if needed."""
    name = address = ""
    m = re.match(r"^([^<]+)<(.+@.*)>.*$", text)
    if m:
        name, address = m.group(1), m.group(2)
    else:
        m = re.match(r"^\s*<(.+@\S*)>.*$", text)
        if m:
            address = m.group(1)
        else:
            m = re.match(r"^(.+@\S*).*$", text)
            if m:
                address = m.group(1)
    name = re.sub(r'^"|"$', "", name.strip())
    address = address.strip()
    if re.search(r"[^\w \-]", name, re.ASCII):
        name = '"' + re.sub(r'(?<!\\)"', '\\"', name) + '"'
    return name, address


def format_email(name: str, address: str) -> str:
    name = re.sub(r'^"|"$', "", name.strip())
    address = address.strip()
    if re.search(r"[^\w \-]", name, re.ASCII):
        name = '"' + re.sub(r'(?<!\\)"', '\\"', name) + '"'
    return address if not name else f"{name} <{address}>"


def glob_to_regex(value: str, is_dir: Callable[[str], bool]) -> str:
    """An F:/X: value as get_maintainer turns it into a regex."""
    brace_many = re.compile(r"([^\\])\{(|[^},]*[^,\\]),((|[^},]*[^,\\]),(|[^}]*[^\\]))\}")
    while True:
        value, n = brace_many.subn(r"\1{\2|\3}", value)
        if not n:
            break
    value = re.sub(r"([^\\])\{(|[^},]*[^,\\]),(|[^}]*[^\\])\}", r"\1(\2|\3)", value)
    value = value.replace(".", "\\.").replace("*", ".*").replace("?", ".")
    # perl tests -d on the converted string, so only names without regex
    # metacharacters can gain the slash; mirror that literally
    if is_dir(value):
        value = re.sub(r"([^/])$", r"\1/", value)
    return value


def file_match_pattern(path: str, pattern: str) -> bool:
    try:
        m = re.match(pattern, path)
    except re.error:
        return False
    if not m:
        return False
    if pattern.endswith("/"):
        return True
    return path.count("/") == pattern.count("/")


@dataclass
class Maintainers:
    """A parsed MAINTAINERS file (the ``@typevalue`` list of the perl script)."""

    typevalue: list[str] = field(default_factory=list)
    keywords: dict[int, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, is_dir: Callable[[str], bool] = lambda _p: False) -> Maintainers:
        """``is_dir(path)`` answers whether the tree has that directory (relative)."""
        tv: list[str] = []
        keywords: dict[int, str] = {}
        for line in text.split("\n"):
            m = _TYPE_LINE.match(line)
            if m:
                kind, value = m.group(1), m.group(2)
                if kind in ("F", "X"):
                    value = glob_to_regex(value, is_dir)
                elif kind == "K":
                    keywords[len(tv)] = value
                tv.append(f"{kind}:{value}")
            elif line.strip():
                tv.append(line)
        return cls(tv, keywords)

    # -- the section walk of get_maintainer.pl -----------------------------

    def _is_type(self, i: int) -> bool:
        return _TYPE_LINE.match(self.typevalue[i]) is not None

    def _first_section(self) -> int:
        i = 0
        while i < len(self.typevalue) and not self._is_type(i):
            i += 1
        return i

    def _start(self, i: int) -> int:
        while i > 0 and self._is_type(i):
            i -= 1
        return i

    def _end(self, i: int) -> int:
        while i < len(self.typevalue) and self._is_type(i):
            i += 1
        return i

    def _entries(self, i: int) -> Iterable[tuple[str, str]]:
        for j in range(self._start(i) + 1, self._end(i)):
            m = _TYPE_LINE.match(self.typevalue[j])
            if m:
                yield m.group(1), m.group(2)

    def _subsystem(self, i: int) -> str:
        name = self.typevalue[self._start(i)]
        if len(name) > 20:
            name = name[:17].rstrip() + "..."
        return name

    def _role(self, i: int) -> str:
        role = "unknown"
        for kind, value in self._entries(i):
            if kind == "S":
                role = value
        role = role.lower()
        role = {
            "supported": "supporter",
            "maintained": "maintainer",
            "odd fixes": "odd fixer",
            "orphan": "orphan minder",
            "obsolete": "obsolete minder",
            "buried alive in reporters": "chief penguin",
        }.get(role, role)
        return f"{role}:{self._subsystem(i)}"

    def sections_for(self, path: str) -> list[int]:
        """Sections (by index) that claim ``path``, most specific first."""
        hits: dict[int, int] = {}
        tvi = self._first_section()
        while tvi < len(self.typevalue):
            end = self._end(tvi)
            entries = list(self._entries(tvi))
            excluded = any(k == "X" and file_match_pattern(path, v) for k, v in entries)
            if not excluded:
                for kind, value in entries:
                    if kind == "F" and file_match_pattern(path, value):
                        depth = value.count("/") + (0 if value.endswith("/") else 1)
                        if value.startswith(".*"):
                            depth = -1
                        hits[tvi] = depth
                    elif kind == "N":
                        try:
                            if re.search(value, path, re.VERBOSE):
                                hits[tvi] = 0
                        except re.error:
                            pass
            tvi = end + 1
        return sorted(hits, key=lambda k: -hits[k])

    def recipients(self, files: Iterable[str], patch_text: str = "") -> list[Recipient]:
        """Everyone get_maintainer.pl --no-git names for a patch touching
        ``files`` whose text is ``patch_text`` (for K: keywords)."""
        people: list[tuple[str, str, str]] = []
        lists: list[tuple[str, str]] = []
        seen_lists: set[str] = set()

        def add_section(i: int) -> None:
            for kind, value in self._entries(i):
                if kind == "L":
                    _, addr = parse_email(value)
                    extra = ""
                    m = re.match(r"^(\S+)\s+(.*)$", addr)
                    if m:
                        addr, extra = m.group(1), m.group(2)
                    if "subscribers-only" in extra:
                        continue
                    if addr.lower() not in seen_lists:
                        seen_lists.add(addr.lower())
                        role = "moderated list" if "moderated" in extra else "open list"
                        sub = self._subsystem(i)
                        lists.append((addr, role + ("" if sub == "THE REST" else ":" + sub)))
                elif kind in ("M", "R"):
                    name, addr = parse_email(value)
                    if addr:
                        role = self._role(i) if kind == "M" else "reviewer"
                        people.append((format_email(name, addr), role, kind))

        suppress_the_rest = True
        for path in sorted(set(files)):
            only_the_rest = True
            for i in self.sections_for(path):
                add_section(i)
                if self._role(i) != THE_REST_ROLE:
                    only_the_rest = False
            if only_the_rest:
                suppress_the_rest = False
        for i in sorted(set(self.keyword_hits(patch_text))):
            add_section(i)
        if suppress_the_rest and len(people) > 1:
            others = [p for p in people if p[1] != THE_REST_ROLE]
            if others:
                people = others
        out: list[Recipient] = []
        seen: set[str] = set()
        for addr, role, kind in people:
            if addr not in seen:
                seen.add(addr)
                out.append(Recipient(addr, role, "maintainer" if kind == "M" else "reviewer"))
        for addr, role in lists:
            if addr not in seen:
                seen.add(addr)
                out.append(Recipient(addr, role, "list"))
        return out

    def keyword_hits(self, patch_text: str) -> list[int]:
        """K: entries matching the patch as get_maintainer scans it: any line
        before the first ``---``/``+++`` file line, then only +/- lines."""
        if not self.keywords or not patch_text:
            return []
        compiled = {}
        for i, value in self.keywords.items():
            try:
                compiled[i] = re.compile(value, re.VERBOSE)
            except re.error:
                continue
        hits: list[int] = []
        in_patch = False
        for line in patch_text.split("\n"):
            if re.match(r"^ mode change [0-7]+ => [0-7]+ (\S+)\s*$", line) or re.match(
                r"^rename (?:from|to) (\S+)\s*$", line
            ) or re.match(r"^diff --git a/(\S+) b/(\S+)\s*$", line):
                continue
            if re.match(r"^\+\+\+\s+(\S+)", line) or re.match(r"^---\s+(\S+)", line):
                in_patch = True
                continue
            if re.match(r"^@@ -(\d+),(\d+)", line):
                continue
            if in_patch and not re.match(r"^[+-]", line):
                continue
            for i, rx in compiled.items():
                if rx.search(line):
                    hits.append(i)
        return hits


def patch_files(patch_text: str) -> list[str]:
    """The file names get_maintainer.pl reads out of a patch."""
    files: set[str] = set()
    for line in patch_text.split("\n"):
        m = re.match(r"^ mode change [0-7]+ => [0-7]+ (\S+)\s*$", line) or re.match(
            r"^rename (?:from|to) (\S+)\s*$", line
        )
        if m:
            files.add(m.group(1))
            continue
        m = re.match(r"^diff --git a/(\S+) b/(\S+)\s*$", line)
        if m:
            files.update((m.group(1), m.group(2)))
            continue
        m = re.match(r"^\+\+\+\s+(\S+)", line) or re.match(r"^---\s+(\S+)", line)
        if m and m.group(1) != "/dev/null":
            files.add(re.sub(r"^[^/]*/", "", m.group(1)))
    return sorted(files)
