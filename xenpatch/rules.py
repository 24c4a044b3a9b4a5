"""Conversion rule files (``rules/*.toml``) as frozen dataclasses.

A rule says *what* to convert: which struct field, into which type, with
which wrappers and per-CPU owner.  Errors name the file, the line and the key,
because a typo in a rule must not silently convert nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch.errors import XenpatchError
from xenpatch.plaintext import control_char


class RuleError(XenpatchError):
    """A rule file that cannot be used; ``str()`` is the one-line message."""


@dataclass(frozen=True)
class LockSpec:
    struct: str
    field: str
    old_type: str
    new_type: str
    owner: str


@dataclass(frozen=True)
class Wrappers:
    """How call sites are spelled after the conversion.

    mode "functions": sites call wrapper functions taking the struct pointer,
    rendered from ``template`` after the struct (the grant table's shape).
    mode "direct": sites call percpu_read_lock(owner, &E->field) and friends
    themselves, for code that already wraps the lock (the p2m's mm_rwlock_t).
    """

    mode: str = "functions"
    param: str = ""
    template: str = ""
    read_lock: str = ""
    read_unlock: str = ""
    write_lock: str = ""
    write_unlock: str = ""

    def for_api(self, api: str) -> str | None:
        return {
            "read_lock": self.read_lock,
            "read_unlock": self.read_unlock,
            "write_lock": self.write_lock,
            "write_unlock": self.write_unlock,
        }.get(api)


# The keywords a call key takes besides a function name.
COMMENT = "comment"  # the ASSERT/BUG_ON/WARN_ON statement becomes a comment
KEEP = "keep"  # the call stays as written (refused when a site would then not compile)
CALL_KEYS = ("rwlock_init", "rw_is_write_locked", "rw_is_locked")
# What each call key cannot take, and why: commenting out an initialisation
# would leave the lock uninitialised.
_UNSUPPORTED = {("rwlock_init", COMMENT): "an initialisation cannot become a comment"}


@dataclass(frozen=True)
class Calls:
    """What becomes of each rwlock call that has no lock/unlock twin.

    Each of the three keys is a function name (the call is renamed to it;
    ``rwlock_init``'s also receives the owner as a last argument), ``"comment"``
    or ``"keep"``.
    """

    rwlock_init: str
    rw_is_write_locked: str
    rw_is_locked: str
    comment_template: str = "comments/rw_is_locked.c.j2"

    def for_api(self, api: str) -> str:
        return str(getattr(self, api))


@dataclass(frozen=True)
class Placement:
    """Where the owner's DECLARE and DEFINE go, when not where they would by default.

    By default the DECLARE goes before the struct in its header, and the DEFINE
    into the one .c file that initialises the lock.
    """

    declare_in: str = ""
    define_in: str = ""


@dataclass(frozen=True)
class Commit:
    subject: str
    body: str


@dataclass(frozen=True)
class ConversionRule:
    path: str
    name: str
    description: str
    paths: tuple[str, ...]
    lock: LockSpec
    wrappers: Wrappers
    calls: Calls
    commit: Commit
    placement: Placement = Placement()
    lines: tuple[tuple[str, int], ...] = ()  # ("calls.rwlock_init", line) of each key

    @property
    def struct_type(self) -> str:
        return f"struct {self.lock.struct}"

    def line(self, key: str) -> int:
        """The rule file's line of ``table.key`` (1 when it is not written there)."""
        return dict(self.lines).get(key, 1)


# Schema: key -> (type, required).  Sub-tables are nested dicts.
_SCHEMA: dict[str, Any] = {
    "name": (str, True),
    "description": (str, True),
    "paths": (list, False),
    "lock": {
        "struct": (str, True),
        "field": (str, True),
        "old_type": (str, True),
        "new_type": (str, True),
        "owner": (str, True),
    },
    "wrappers": {
        "mode": (str, False),
        "param": (str, False),
        "template": (str, False),
        "read_lock": (str, False),
        "read_unlock": (str, False),
        "write_lock": (str, False),
        "write_unlock": (str, False),
    },
    "placement": {
        "declare_in": (str, False),
        "define_in": (str, False),
    },
    "calls": {
        "rwlock_init": (str, True),
        "rw_is_write_locked": (str, True),
        "rw_is_locked": (str, True),
        "comment_template": (str, False),
    },
    "commit": {
        "subject": (str, True),
        "body": (str, True),
    },
}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENT_KEYS = {
    ("lock", "struct"), ("lock", "field"), ("lock", "old_type"), ("lock", "new_type"),
    ("lock", "owner"), ("wrappers", "param"), ("wrappers", "read_lock"),
    ("wrappers", "read_unlock"), ("wrappers", "write_lock"), ("wrappers", "write_unlock"),
    ("calls", "rwlock_init"), ("calls", "rw_is_write_locked"), ("calls", "rw_is_locked"),
}


# Values written over several lines: their newlines are text.
_MULTILINE_KEYS = {(None, "description"), ("commit", "body")}


def _key_lines(text: str) -> tuple[tuple[str, int], ...]:
    """("table.key", line) of every key written as ``key = ...`` under ``[table]``."""
    found: list[tuple[str, int]] = []
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1)
            continue
        m = re.match(r"([A-Za-z0-9_-]+)\s*=", stripped)
        if m:
            found.append((f"{current}.{m.group(1)}" if current else m.group(1), number))
    return tuple(found)


def _line_of_key(text: str, table: str | None, key: str | None) -> int:
    """Best line number for ``[table] key`` in the TOML text (1 if not found)."""
    current: str | None = None
    table_line = 1
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1)
            if current == table and key is None:
                return number
            if current == table:
                table_line = number
            continue
        if key is not None and current == table and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return table_line


def _check(data: dict[str, Any], schema: dict[str, Any], text: str, path: str,
           table: str | None) -> None:
    def fail(key: str | None, why: str) -> RuleError:
        line = _line_of_key(text, table, key)
        where = f"{table}.{key}" if table and key else (key or table or "")
        return RuleError(f"{path}:{line}: {where}: {why}")

    for key, value in data.items():
        if key not in schema:
            raise fail(key, "unknown key")
        spec = schema[key]
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise fail(key, "must be a table")
            _check(value, spec, text, path, key)
            continue
        expected = spec[0]
        if not isinstance(value, expected):
            raise fail(key, f"must be a {expected.__name__}, not {type(value).__name__}")
        multiline = (table, key) in _MULTILINE_KEYS
        for text_value in (value if isinstance(value, list) else [value]):
            bad = control_char(text_value, multiline) if isinstance(text_value, str) else None
            if bad is not None:
                # A commit's subject becomes a mail header and every value
                # may reach a terminal: plain text only.
                raise fail(key, f"control character U+{ord(bad):04X} in the value"
                           + ("" if multiline else " (a one-line value)"))
        if table == "calls" and key in CALL_KEYS:
            why = _UNSUPPORTED.get((key, value))
            if why:
                raise fail(key, f"'{value}' is not supported here: {why}")
            if value in (COMMENT, KEEP):
                continue
            if not _IDENT.fullmatch(value):
                raise fail(key, f"'{value}' is neither a C function name nor "
                                f"'{COMMENT}' or '{KEEP}'")
            continue
        if (table, key) in _IDENT_KEYS and not _IDENT.fullmatch(value):
            raise fail(key, f"'{value}' is not a C identifier")
    for key, spec in schema.items():
        if key in data:
            continue
        if (isinstance(spec, dict) and key != "placement") or (
            not isinstance(spec, dict) and spec[1]
        ):
            raise RuleError(
                f"{path}:{_line_of_key(text, table, None) if table else 1}: "
                f"{table + '.' if table else ''}{key}: missing"
            )


def _check_inside(path: Path, text: str, table: str | None, key: str, value: str,
                  tree: Path | None) -> None:
    """A path of the rule is relative to TREE and stays inside it, symlinks
    resolved: a rule never makes a conversion read or write elsewhere."""
    line = _line_of_key(text, table, key)
    where = f"{table}.{key}" if table else key
    if Path(value).is_absolute() or value.startswith("~"):
        raise RuleError(f"{path}:{line}: {where}: '{value}' is absolute; "
                        "give a path relative to the tree")
    if tree is None:
        if ".." in Path(value).parts:
            raise RuleError(f"{path}:{line}: {where}: '{value}' leaves the tree")
        return
    root = tree.resolve()
    try:
        (root / value).resolve().relative_to(root)
    except ValueError:
        raise RuleError(f"{path}:{line}: {where}: '{value}' leads outside the tree "
                        f"{tree}") from None


def load_rule(path: Path, tree: Path | None = None) -> ConversionRule:
    """Load and check a rule; with ``tree``, its paths must stay inside it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: {exc}") from None
    _check(data, _SCHEMA, text, str(path), None)
    wrappers = data["wrappers"]
    mode = wrappers.get("mode", "functions")
    if mode not in ("functions", "direct"):
        line = _line_of_key(text, "wrappers", "mode")
        raise RuleError(f"{path}:{line}: wrappers.mode: must be 'functions' or 'direct'")
    if mode == "functions":
        for key in ("param", "template", "read_lock", "read_unlock", "write_lock", "write_unlock"):
            if key not in wrappers:
                line = _line_of_key(text, "wrappers", None)
                raise RuleError(f"{path}:{line}: wrappers.{key}: missing (needed by mode "
                                f"'functions')")
    paths = data.get("paths", ["xen"])
    if not all(isinstance(p, str) for p in paths):
        raise RuleError(f"{path}:{_line_of_key(text, None, 'paths')}: paths: must be strings")
    for p in paths:
        _check_inside(path, text, None, "paths", p, tree)
    for key, value in data.get("placement", {}).items():
        if value:
            _check_inside(path, text, "placement", key, value, tree)
    return ConversionRule(
        path=str(path),
        name=data["name"],
        description=data["description"],
        paths=tuple(paths),
        lock=LockSpec(**data["lock"]),
        wrappers=Wrappers(**wrappers),
        calls=Calls(**data["calls"]),
        commit=Commit(**data["commit"]),
        placement=Placement(**data.get("placement", {})),
        lines=_key_lines(text),
    )


def bundled_rules() -> dict[str, Path]:
    """The conversion rules shipped with xenpatch (rules/, in a wheel xenpatch/_data/rules),
    by name: the files with a [lock] table."""
    from xenpatch.paths import rules_dir

    found: dict[str, Path] = {}
    for path in sorted(rules_dir().glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if isinstance(data.get("lock"), dict) and isinstance(data.get("name"), str):
            found[data["name"]] = path
    return found


def find_rule(spec: str | Path, tree: Path | None = None) -> ConversionRule:
    """A rule file by its path, or a bundled rule by its name (``grant_table``);
    with ``tree``, its paths must stay inside it."""
    path = Path(spec)
    if path.exists() or path.suffix == ".toml" or "/" in str(spec):
        return load_rule(path, tree=tree)
    bundled = bundled_rules()
    if str(spec) not in bundled:
        names = ", ".join(sorted(bundled)) or "none"
        raise RuleError(f"{spec}: no such rule file, nor a bundled rule of that name "
                        f"(bundled: {names})")
    return load_rule(bundled[str(spec)], tree=tree)
