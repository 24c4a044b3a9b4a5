"""The macro table: what to mask, by name, loaded from ``rules/macros.toml``."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from xenpatch.c.masking.lexical import IDENT, KEYWORDS
from xenpatch.errors import XenpatchError

# Table fields that name macros one by one, and the kind each makes; the
# first that holds a name wins, before the attribute and loop patterns.
_NAMED_KINDS = (
    ("renames", "rename"),
    ("declarators", "declarator"),
    ("type_macros", "type"),
    ("string_macros", "string"),
    ("asm_operand_macros", "asm"),
    ("transparent_macros", "transparent"),
    ("operand_macros", "operand"),
    ("block_macros", "block"),
    ("initializer_open_macros", "init_open"),
    ("initializer_close_macros", "init_close"),
)


@dataclass(frozen=True)
class MacroTable:
    """What to mask, loaded from ``rules/macros.toml``."""

    attributes: frozenset[bytes]
    attribute_patterns: tuple[re.Pattern[bytes], ...]
    loops: frozenset[bytes]
    loop_patterns: tuple[re.Pattern[bytes], ...]
    string_prefix_patterns: tuple[re.Pattern[bytes], ...]
    declarators: dict[bytes, int]
    type_macros: frozenset[bytes]
    string_macros: frozenset[bytes] = frozenset()
    asm_operand_macros: frozenset[bytes] = frozenset()
    transparent_macros: frozenset[bytes] = frozenset()
    operand_macros: frozenset[bytes] = frozenset()
    block_macros: frozenset[bytes] = frozenset()
    initializer_open_macros: frozenset[bytes] = frozenset()
    initializer_close_macros: frozenset[bytes] = frozenset()
    false_macros: frozenset[bytes] = frozenset()
    renames: dict[bytes, bytes] = field(default_factory=dict)
    path: str = "<builtin>"
    # name -> kind, filled lazily (the table is immutable, the cache is not).
    _kinds: dict[bytes, str | None] = field(default_factory=dict, compare=False, repr=False)
    _prefix: dict[bytes, bool] = field(default_factory=dict, compare=False, repr=False)
    _named: set[bytes] = field(default_factory=set, compare=False, repr=False)
    _explicit: dict[bytes, str | None] = field(default_factory=dict, compare=False, repr=False)
    _by_name: dict[bytes, str | None] = field(default_factory=dict, compare=False, repr=False)
    # The table with each tree's derived kinds (masking/tree.py), kept on the
    # table itself so that no cache outlives it or is keyed by its id().
    _trees: dict[Path, MacroTable] = field(default_factory=dict, compare=False, repr=False)
    # Kinds derived from the #defines of a tree (masking/derive.py); the
    # table's own entries win over them.
    derived: Mapping[bytes, str] = field(default_factory=dict, compare=False, repr=False)

    def is_attribute(self, name: bytes) -> bool:
        return name in self.attributes or any(p.fullmatch(name) for p in self.attribute_patterns)

    def is_loop(self, name: bytes) -> bool:
        return name in self.loops or any(p.search(name) for p in self.loop_patterns)

    def is_string_prefix(self, name: bytes) -> bool:
        known = self._prefix.get(name)
        if known is None:
            known = name not in KEYWORDS and any(
                p.fullmatch(name) for p in self.string_prefix_patterns
            )
            self._prefix[name] = known
        return known

    def kind(self, name: bytes) -> str | None:
        """What the table says of an identifier (None: nothing)."""
        try:
            return self._kinds[name]
        except KeyError:
            pass
        k = self.explicit_kind(name)
        if k is None:
            k = self.derived.get(name)
        self._kinds[name] = k
        if k is not None:
            self._named.add(name)
        return k

    def explicit_kind(self, name: bytes) -> str | None:
        """What the table's own entries say of an identifier."""
        try:
            return self._explicit[name]
        except KeyError:
            pass
        named = self._by_name
        if not named:
            # Each name's first field in _NAMED_KINDS' order, at once: the
            # tree's derivation asks this of every name its headers define.
            for attr, kind in reversed(_NAMED_KINDS):
                named.update(dict.fromkeys(getattr(self, attr), kind))
            named[b""] = None  # built (a name is never empty)
        k = named.get(name)
        if k is None and self.is_attribute(name):
            k = "attribute"
        elif k is None and self.is_loop(name):
            k = "loop"
        self._explicit[name] = k
        return k

    def with_derived(self, derived: Mapping[bytes, str]) -> MacroTable:
        """This table with kinds derived from a tree's #defines; the caches
        of what the table's own entries say are shared."""
        if isinstance(derived, dict):
            derived = dict(derived)  # not a lazy mapping (tree.LazyKinds): kept as it is
        return replace(self, derived=derived, _kinds={}, _named=set(), _trees={})


class MacroTableError(XenpatchError):
    pass


_MACRO_KEYS = {
    "attributes": list,
    "attribute_patterns": list,
    "loops": list,
    "loop_patterns": list,
    "string_prefix_patterns": list,
    "declarators": dict,
    "type_macros": list,
    "string_macros": list,
    "asm_operand_macros": list,
    "transparent_macros": list,
    "operand_macros": list,
    "block_macros": list,
    "initializer_open_macros": list,
    "initializer_close_macros": list,
    "false_macros": list,
    "renames": dict,
}



def load_macro_table(path: Path) -> MacroTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MacroTableError(f"{path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MacroTableError(f"{path}: {exc}") from None
    for key, value in data.items():
        if key not in _MACRO_KEYS:
            raise MacroTableError(f"{path}: unknown key '{key}'")
        if not isinstance(value, _MACRO_KEYS[key]):
            raise MacroTableError(f"{path}: key '{key}' must be a {_MACRO_KEYS[key].__name__}")
        if _MACRO_KEYS[key] is list and not all(isinstance(v, str) for v in value):
            raise MacroTableError(f"{path}: key '{key}' must be a list of strings")

    def words(key: str) -> frozenset[bytes]:
        return frozenset(w.encode() for w in data.get(key, []))

    def patterns(key: str) -> tuple[re.Pattern[bytes], ...]:
        try:
            return tuple(re.compile(p.encode()) for p in data.get(key, []))
        except re.error as exc:
            raise MacroTableError(f"{path}: key '{key}': bad pattern: {exc}") from None

    declarators = {}
    for name, index in data.get("declarators", {}).items():
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise MacroTableError(f"{path}: declarators.{name} must be a non-negative integer")
        declarators[name.encode()] = index
    renames = {}
    for name, target in data.get("renames", {}).items():
        if not isinstance(target, str) or not IDENT.fullmatch(target.encode()):
            raise MacroTableError(f"{path}: renames.{name} must be an identifier")
        if len(target) > len(name):
            raise MacroTableError(f"{path}: renames.{name}: '{target}' is longer than the name")
        renames[name.encode()] = target.encode()
    return MacroTable(
        attributes=words("attributes"),
        attribute_patterns=patterns("attribute_patterns"),
        loops=words("loops"),
        loop_patterns=patterns("loop_patterns"),
        string_prefix_patterns=patterns("string_prefix_patterns"),
        declarators=declarators,
        type_macros=words("type_macros"),
        string_macros=words("string_macros"),
        asm_operand_macros=words("asm_operand_macros"),
        transparent_macros=words("transparent_macros"),
        operand_macros=words("operand_macros"),
        block_macros=words("block_macros"),
        initializer_open_macros=words("initializer_open_macros"),
        initializer_close_macros=words("initializer_close_macros"),
        false_macros=words("false_macros"),
        renames=renames,
        path=str(path),
    )


def default_macro_table() -> MacroTable:
    from xenpatch.paths import rules_dir

    return load_macro_table(rules_dir() / "macros.toml")

