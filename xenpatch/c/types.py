"""Types of C expressions across a tree: the ``TypeIndex``.

Facts are gathered per file (xenpatch/c/typefacts.py) and merged into a
``TypeIndex`` for the whole tree, up front or on demand (``Definitions``:
xenpatch/c/defindex.py parses only the headers a resolution asks for).  An
expression's type is computed in two halves so that a file can be analysed
without the rest of the tree in memory: ``expr_chain``
(xenpatch/c/exprchain.py) turns an expression into a root and steps;
``TypeIndex.resolve`` walks the steps through the tree's struct definitions,
macro bodies and declarations.  Whatever cannot be known comes back as
``Unknown`` with the reason, never as a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tree_sitter import Node

from xenpatch.c.exprchain import (
    Call,
    Choice,
    FunctionScope,
    Idioms,
    MacroScope,
    PerCpu,
    Root,
    TypeChain,
    _is_null,
    expr_chain,
    idioms,
    type_from_text,
)
from xenpatch.c.source import SourceFile
from xenpatch.c.typefacts import (
    _PRIMITIVE_WORDS,
    CType,
    FieldDecl,
    FileFacts,
    StructDef,
    Unknown,
    declarator_name,
    file_facts,
    leading_comment_start,
    type_base,
)

# --- the tree's index ------------------------------------------------------------


class Definitions(Protocol):
    """Where the tree defines a name, asked only for the names a resolution meets
    (xenpatch/c/defindex.py answers from a text index of the tree)."""

    def facts_defining(self, kind: str, name: str) -> list[FileFacts]:
        """Facts of the files that may define ``name`` as a ``kind``: "struct"
        (a tag such as "struct domain"), "typedef" or "decl" (a global or a function)."""
        ...

    def macro_bodies(self, name: str) -> list[MacroBody]:
        """Every #define of ``name`` in the tree whose body is one expression."""
        ...

    def percpu_types(self, name: str) -> list[CType]:
        """The declared types of the per-CPU variable ``name``."""
        ...


@dataclass(frozen=True)
class MacroBody:
    path: str
    params: tuple[str, ...] | None  # None for an object-like macro
    src: SourceFile
    expr: Node


_MAX_DEPTH = 8  # macro expansions inside macro expansions


@dataclass
class TypeIndex:
    """The tree's struct definitions, typedefs, globals and return types.

    Filled from facts up front (``from_facts``), or on demand: with
    ``definitions``, a name not known yet is looked up there once, and only
    the files that may define it are parsed.
    """

    structs: dict[str, list[StructDef]] = field(default_factory=dict)
    typedefs: dict[str, CType] = field(default_factory=dict)
    globals: dict[str, CType] = field(default_factory=dict)
    returns: dict[str, CType] = field(default_factory=dict)
    definitions: Definitions | None = None
    _asked: set[tuple[str, str]] = field(default_factory=set)
    _seen_paths: set[str] = field(default_factory=set)

    @classmethod
    def from_facts(cls, all_facts: list[FileFacts],
                   definitions: Definitions | None = None) -> TypeIndex:
        index = cls(definitions=definitions)
        for facts in all_facts:
            index.add(facts)
        return index

    def add(self, facts: FileFacts) -> None:
        if facts.path in self._seen_paths:
            return
        self._seen_paths.add(facts.path)
        for sd in facts.structs:
            self.structs.setdefault(sd.name, []).append(sd)
        for table, new in (
            (self.typedefs, facts.typedefs),
            (self.globals, facts.globals),
            (self.returns, facts.returns),
        ):
            for k, v in new.items():
                table.setdefault(k, v)

    def _ask(self, kind: str, name: str) -> None:
        if self.definitions is None or (kind, name) in self._asked:
            return
        self._asked.add((kind, name))
        for facts in self.definitions.facts_defining(kind, name):
            self.add(facts)

    def struct_defs(self, name: str) -> list[StructDef]:
        # Asked even when some definition is known: a file parsed for another
        # reason may hold one architecture's definition, and the others count too.
        self._ask("struct", name)
        return self.structs.get(name, [])

    def typedef(self, name: str) -> CType | None:
        if name not in self.typedefs and not (set(name.split()) & _PRIMITIVE_WORDS) and (
            not name.startswith(("struct ", "union ", "?"))
        ):
            self._ask("typedef", name)
        return self.typedefs.get(name)

    def global_type(self, name: str) -> CType | None:
        if name not in self.globals:
            self._ask("decl", name)
        return self.globals.get(name)

    def return_type(self, name: str) -> CType | None:
        if name not in self.returns:
            self._ask("decl", name)
        return self.returns.get(name)

    def canonical(self, ctype: CType) -> CType:
        """Resolve typedef names down to a struct or a base type."""
        seen = set()
        while ctype.base not in seen and (target := self.typedef(ctype.base)) is not None:
            seen.add(ctype.base)
            ctype = CType(target.base, target.ptr + ctype.ptr)
        return ctype

    def field_type(self, struct: str, name: str) -> CType | Unknown:
        defs = self.struct_defs(struct)
        if not defs:
            return Unknown(f"no definition of '{struct}' in the tree")
        found = {d.fields[name].ctype for d in defs if name in d.fields}
        if not found:
            return Unknown(f"'{struct}' has no field '{name}'")
        if len(found) > 1:
            # Per-arch definitions may differ; same base types are good enough.
            canon = {self.canonical(t) for t in found}
            if len(canon) > 1:
                return Unknown(f"'{struct}.{name}' has several types: {sorted(map(str, canon))}")
            return canon.pop()
        return found.pop()

    def _agree(self, what: str, found: list[CType | Unknown]) -> CType | Unknown:
        """One type from several definitions (per architecture): the known ones must agree."""
        known = {self.canonical(t) for t in found if isinstance(t, CType)}
        if len(known) == 1:
            return known.pop()
        if known:
            return Unknown(f"{what} has several types: {sorted(map(str, known))}")
        reasons = [t.reason for t in found if isinstance(t, Unknown)]
        return Unknown(f"{what}: {reasons[0]}" if reasons else f"{what} is not defined")

    def _macro(self, name: str, args: tuple[TypeChain | Unknown, ...] | None,
               depth: int) -> CType | Unknown | None:
        if self.definitions is None or depth > _MAX_DEPTH:
            return None
        bodies = [b for b in self.definitions.macro_bodies(name)
                  if (b.params is None) == (args is None)
                  and (args is None or len(b.params or ()) == len(args))]
        if not bodies:
            return None
        found: list[CType | Unknown] = []
        for b in bodies:
            env = dict(zip(b.params or (), args or (), strict=False))
            chain = expr_chain(MacroScope(b.src, env), b.expr)
            found.append(self.resolve(chain, depth + 1))
        return self._agree(f"macro '{name}'", found)

    def _root(self, root: Root, depth: int) -> CType | Unknown:
        if isinstance(root, CType):
            return root
        if isinstance(root, str):
            found = self.global_type(root)
            if found is not None:
                return found
            expanded = self._macro(root, None, depth)
            if expanded is not None:
                return expanded
            return Unknown(f"'{root}' is not declared in scope or in the tree")
        if isinstance(root, Call):
            ret = self.return_type(root.name)
            if ret is not None:
                return ret
            expanded = self._macro(root.name, root.args, depth)
            if expanded is not None:
                return expanded
            return Unknown(f"call to '{root.name}': no declaration of it in the tree")
        if isinstance(root, PerCpu):
            types = self.definitions.percpu_types(root.name) if self.definitions else []
            if not types:
                return Unknown(f"no per-CPU variable '{root.name}' in the tree")
            return self._agree(f"per-CPU variable '{root.name}'", list(types))
        # Choice: c ? a : b has the type both branches agree on; a null constant
        # takes the other's.
        options = [self.resolve(o, depth) if not _is_null(o) else None for o in root.options]
        return self._agree("'?:'", [o for o in options if o is not None])

    def resolve(self, chain: TypeChain | Unknown, depth: int = 0) -> CType | Unknown:
        if isinstance(chain, Unknown):
            return chain
        current: CType | Unknown = self._root(chain.root, depth)
        if isinstance(current, Unknown):
            return current
        for step in chain.steps:
            assert isinstance(current, CType)
            current = self.canonical(current)
            if step == "&":
                current = current.pointer()
            elif step in ("*", "[]"):
                deref = current.deref()
                if deref is None:
                    return Unknown(f"dereference of non-pointer '{current}'")
                current = deref
            else:
                op, name = step[:2] if step.startswith("->") else step[:1], step.lstrip("-.>")
                if op == "->":
                    deref = current.deref()
                    if deref is None:
                        return Unknown(f"'->{name}' on non-pointer '{current}'")
                    current = self.canonical(deref)
                elif current.ptr:
                    return Unknown(f"'.{name}' on pointer '{current}'")
                if not current.base.startswith(("struct ", "union ")) and (
                    not self.struct_defs(current.base)
                ):
                    return Unknown(f"field '{name}' of non-struct '{current}'")
                current = self.field_type(current.base, name)
                if isinstance(current, Unknown):
                    return current
        assert isinstance(current, CType)
        return self.canonical(current)


__all__ = [
    "Call", "Choice", "CType", "Definitions", "FieldDecl", "FileFacts", "FunctionScope",
    "Idioms", "MacroBody", "MacroScope", "PerCpu", "Root", "StructDef", "TypeChain",
    "TypeIndex", "Unknown", "declarator_name", "expr_chain", "file_facts", "idioms",
    "leading_comment_start", "type_base", "type_from_text",
]
