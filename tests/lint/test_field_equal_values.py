"""A lock named through a field path and through a variable found equal to
it (``v == e->owner``), against concrete runs.

Random functions take ``e->owner->lock``, then test ``v == e->owner`` or
``v != e->owner``, store ``e->owner = w``, release through either name and
return.  Each is run in every world: v the first owner or another object,
w either of them or a third.  What some world does wrong (a release of a
lock not held, a return holding one) is the oracle: the checker must
report nothing no world does (a name the path found equal is the same
lock, also after the pointer it was found through changes), and, for
functions without a store, everything some world does."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lint.snippets import if_else
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_source

CONFIG = LintConfig.load()
# (v, w) with e->owner first "A": v equal to it or not, w any of three.
WORLDS = [(v, w) for v in "AB" for w in "ABC"]
_TEXT = {"unlock_v": "spin_unlock(&v->lock);", "unlock_e": "spin_unlock(&e->owner->lock);",
         "store": "e->owner = w;", "ret": "return;"}


@dataclass(eq=False)
class Leaf:
    kind: str


@dataclass(eq=False)
class If:
    equal: bool  # v == e->owner (else v != e->owner)
    then: tuple
    other: tuple


def _stmts(depth: int) -> st.SearchStrategy[tuple]:
    leaf = st.sampled_from(["unlock_v", "unlock_e", "unlock_e", "store", "ret"])
    if depth == 0:
        return st.lists(leaf, min_size=1, max_size=3).map(tuple)
    node = st.builds(If, st.booleans(), _stmts(depth - 1), _stmts(depth - 1))
    return st.lists(st.one_of(leaf, node), min_size=1, max_size=3).map(tuple)


def _fresh(body: tuple) -> tuple:
    return tuple(If(s.equal, _fresh(s.then), _fresh(s.other)) if isinstance(s, If)
                 else Leaf(s) for s in body)


def render(body: tuple) -> tuple[str, dict[int, object]]:
    # void: a function returning a status with the lock held on one value
    # is an acquire helper by design (summaries.py), not a leak.
    lines = ["struct owner { spinlock_t lock; };", "struct ent { struct owner *owner; };",
             "struct owner *pick(void);",
             "void f(struct ent *e, struct owner *w)", "{",
             "    struct owner *v = pick();", "", "    spin_lock(&e->owner->lock);"]
    at: dict[int, object] = {}

    def emit(stmts: tuple, ind: str) -> None:
        for s in stmts:
            if isinstance(s, If):
                if_else(lines, ind, f"v {'==' if s.equal else '!='} e->owner",
                        partial(emit, s.then), partial(emit, s.other))
            else:
                lines.append(ind + _TEXT[s.kind])
                at[len(lines)] = s

    emit(body, "    ")
    lines.append("}")
    at[len(lines)] = Leaf("end")
    return "\n".join(lines) + "\n", at


def run(body: tuple, at: dict[int, object], v: str, w: str) -> set[tuple[int, str]]:
    """The wrong moves of one world: XL002 (a release of a lock not held)
    and XL001 (a return holding one), at their lines."""
    line_of = {id(s): k for k, s in at.items()}
    out: set[tuple[int, str]] = set()
    owner, held = "A", {"A"}

    def returns(stmts: tuple) -> bool:
        """Run the statements; did one of them return?"""
        nonlocal owner
        for s in stmts:
            if isinstance(s, If):
                if returns(s.then if (v == owner) == s.equal else s.other):
                    return True
            elif s.kind == "store":
                owner = w
            elif s.kind == "ret":
                if held:
                    out.add((line_of[id(s)], "XL001"))
                return True
            else:
                obj = v if s.kind == "unlock_v" else owner
                if obj not in held:
                    out.add((line_of[id(s)], "XL002"))
                held.discard(obj)
        return False

    if not returns(body) and held:
        out.add((max(at), "XL001"))
    return out


def _stores(body: tuple) -> int:
    return sum(_stores(s.then) + _stores(s.other) if isinstance(s, If)
               else s.kind == "store" for s in body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(If, st.booleans(), _stmts(2), _stmts(2)), _stmts(1))
def test_names_found_equal_are_one_lock(first: If, rest: tuple) -> None:
    # Tested first: a release through v before any test would be judged
    # on a path that a later test may show was the other one (the checker
    # takes names it has not found equal for two locks until then).
    body = _fresh((first, *rest))
    # One store at most: after two, a test's outcome follows from what the
    # path knows of the value stored (e->owner is w), which no fact keeps.
    assume(_stores(body) <= 1)
    text, at = render(body)
    wanted = set().union(*(run(body, at, v, w) for v, w in WORLDS))
    src = parse_bytes("gen.c", text.encode(), CONFIG.macros)
    got = {(f.line, f.check) for f in lint_source(src, CONFIG, None).findings}
    assert got <= wanted, (sorted(got - wanted), text)
    if not _stores(body):
        # A release through e->owner after a store may be of the lock held
        # or another's (unknown: issue 9, item 7).  Without one, every
        # wrong move is reported.
        assert wanted <= got, (sorted(wanted - got), text)


def test_a_release_through_the_field_stored_into_is_unknown() -> None:
    from xenpatch.lint.filelint import lint_file
    from xenpatch.paths import fixtures_dir

    path = fixtures_dir() / "lint" / "fieldequal.c"
    result = lint_file(path, path.name, CONFIG)
    assert not [f for f in result.findings if f.function == "drop_field_after_store"]
    [(name, line, why)] = [u for u in result.unknown if u[0] == "drop_field_after_store"]
    assert "v->lock" in why and path.read_text().splitlines()[line - 1].strip() == \
        "spin_unlock(&e->owner->lock);"
