"""The lock API table (``rules/locks.toml``) and what one call does to locks.

A call is resolved through three layers, first match wins: the primitive
ops of the table, the wrappers (declared in the table or inferred from a
header's ``#define``), and the summaries of helper functions (inferred by
the dataflow and handed in by the caller).  The result is a list of
``Effect``: an acquire, release, trylock, query or init of one lock, with
the lock named by its normalised expression (see ``lock_key``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from xenpatch.analysis.lockkeys import lock_key, squash
from xenpatch.errors import XenpatchError

ACTIONS = ("acquire", "release", "try", "query", "init")
# Summaries only: "take" (a lock a helper takes, and may drop, during its
# run), "unknown" (an effect nobody can state: the lock, or with key "*"
# every lock and the path, is unknown after the call), "mayrelease" (a
# caller's lock the helper releases on some of its paths only, on branches
# no caller decides: unknown after the call, and released again straight
# after it on those paths).
MAYRELEASE = "mayrelease"
SUMMARY_ACTIONS = ("take", "unknown", MAYRELEASE)
KINDS = ("spin", "rw", "percpu", "rcu")
FLAVOURS = ("plain", "irq", "irqsave", "bh", "recursive", "recursive_irqsave")


def is_recursive(flavour: str) -> bool:
    """A recursive hold (spin_lock_recursive(), rspin_lock()): the same CPU
    may take it again, but only recursively (xen-locks.md section 1)."""
    return flavour.startswith("recursive")


# The flavour of a hold known only from an assertion (ASSERT(spin_is_locked(
# l))): held, but whether recursively is the caller's to know.
ASSERTED_HOLD = "asserted"


def may_retake(held: str, held_mode: str, take: str, take_mode: str) -> bool:
    """May a CPU holding a lock (``held``: the hold's flavour, in
    ``held_mode``) take it again with an op of flavour ``take`` in
    ``take_mode``?  A read on a read; else recursively only, on a recursive
    hold or one whose kind nobody here knows: 2006's
    create_grant_pte_mapping() asserts the big lock held, then takes it
    recursively through shadow_lock()."""
    if held_mode == "read" and take_mode == "read":
        return True
    return is_recursive(take) and (is_recursive(held) or held == ASSERTED_HOLD)


class LockTableError(XenpatchError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str
    action: str
    kind: str
    mode: str  # "read" | "write" | "" (a query that asks about any mode)
    flavour: str
    lock: int
    owner: int | None
    success: str = "nz"  # a try's result on success: "nz" (non-zero) or "zero"
    # The call returns its lock argument (rcu_lock_domain(d) is d): where
    # the result is stored, that variable names the same lock.
    returns_lock: bool = False


@dataclass(frozen=True, slots=True)
class Stated:
    """What else a statement macro read as a wrapper does (``do { ASSERT(..);
    (d)->locker = -1; spin_unlock(&(d)->lock); } while (0)``,
    analysis/stmtmacros.py): names the table must clear before the macro may
    stand for its one lock call (LockTable.with_wrappers)."""

    # Its other calls made as statements: each must be an assertion.
    companions: tuple[str, ...] = ()
    # The last call of each if-guard: each must never return.
    dead_ends: tuple[str, ...] = ()
    # Calls inside its expressions (conditions, stored values, assertions'
    # arguments): none may reach a lock operation other than a query.
    inner: tuple[str, ...] = ()


# A template's parameter: $0, $1, ... and, from the end, $-1 (the last).
_PARAM = re.compile(r"\$(-?\d+)")


@functools.cache
def _arity(args: tuple[str, ...]) -> int:
    return max((i + 1 if i >= 0 else -i for a in args for i in map(int, _PARAM.findall(a))),
               default=0)


@dataclass(frozen=True, slots=True)
class Wrapper:
    """``name(a0, a1, ...)`` behaves as ``target(args with $i := ai)``."""

    name: str
    target: str
    args: tuple[str, ...]
    # The call takes the lock iff this argument is true (__get_gfn_type_access's
    # "locked"); None: always.
    guard: int | None = None
    # A statement macro's bookkeeping, None for a one-call definition.
    stated: Stated | None = None

    @property
    def returns_lock(self) -> bool:
        """Does it return the lock it took ($ret in its arguments)?"""
        return any("$ret" in a for a in self.args)

    @property
    def arity(self) -> int:
        """The arguments a call must pass for its template to name them
        all: one more than the highest ``$i`` of its arguments."""
        return _arity(self.args)


@dataclass(frozen=True, slots=True)
class Effect:
    action: str
    kind: str
    mode: str
    flavour: str
    key: str  # normalised lock expression: "gt->lock", "*l", "global_lock"
    owner: str | None  # normalised owner class of a percpu op
    via: str  # the name called at the site (a wrapper or helper shows itself)
    # For "try" effects: which result means success ("nz": non-zero, "zero").
    success: str = "nz"
    # Inferred from a helper's body (a summary), not named by the table: the
    # helper may name the caller's lock another way (see Engine.release).
    inferred: bool = False
    # The effect happens only when this argument is not NULL ("$0" in a
    # summary, the argument's text at a call): unlock_x(NULL) does nothing.
    nonnull: str | None = None
    # The mode follows this argument's truth: write if true, read if false
    # (lock_both(d, write)); "" mode until it is bound.
    mode_arg: str | None = None
    # A "take" that happens only when this argument is true ("$1", the
    # argument's text at a call) or false ("!$1"): a callee that locks
    # unless its caller says it already holds the lock (issue 9, item 5).
    # At a call, a "release" past an early return on a test: the test's
    # fact (guardtests.py), false where its pair took nothing.
    when: str | None = None
    # A "take" on some paths of the helper only (free_domheap_pages() frees
    # through free_heap_pages() on most of its branches): where the lock
    # operation is, "fn() in file.c" (no line: a summary computed from an
    # excerpt of the file must equal the whole file's); None: on every path
    # (or on ``when``'s say).
    origin: str | None = None
    # With ``origin``: the predicates the path to that take tests, one a
    # line (analysis/pathconds.py), ``${i}`` for the parameters; "" when it
    # tests none a caller could share.  A caller's path to the call that
    # may contradict them does not compose with it (analysis/takes.py).
    # Not compared: a refinement of the take, not another take (each
    # architecture's put_page() tests its own things before the same free,
    # and a tree's summaries keep a name only where its definitions agree).
    conds: str | None = field(default=None, compare=False)
    # An acquire or try of a helper's summary: "off" when every exit of the
    # helper that holds the lock has IRQs off by its _irq/_irqsave take
    # (domain_spin_lock_irq_desc() returns its descriptor locked with IRQs
    # off, NULL with them as they were): the caller's IRQs are off where the
    # effect holds -- after an acquire, on a try's success side.  A release:
    # "?" when the helper drops the lock with an _irq/_irqrestore op, which
    # leaves the caller's IRQ state unknown (unless the summary's IRQ_ON
    # follows).  None: the call says nothing of the IRQ state (summaries.py).
    irq: str | None = None


@dataclass(frozen=True)
class Summary:
    """What a helper does to its caller's locks; keys use $i for parameters
    (see summaries.py, which infers them from a helper's body)."""

    effects: tuple[Effect, ...]
    conditional: str | None  # success class of a try-like helper
    guard: int | None = None  # effects happen iff this argument is true
    # A try-like helper's out-parameters: (i, class of *$i on success, on
    # failure), as dbg_hvm_va2mfn() leaves INVALID_GFN in *gfn exactly when
    # it fails (summaries.out_facts).
    outs: tuple[tuple[int, str, str], ...] = ()
    # The effects happen exactly when this test of the arguments holds
    # (``!(${0} == current)``: guardtests.py).
    test: str | None = None


@dataclass(frozen=True)
class LockTable:
    ops: dict[str, OpSpec]
    wrappers: dict[str, Wrapper]

    def names(self) -> set[str]:
        return set(self.ops) | set(self.wrappers)

    @cached_property
    def value_key(self) -> tuple[frozenset[tuple[str, OpSpec]], frozenset[tuple[str, Wrapper]]]:
        """The table's content as a dict key (its dicts make it unhashable):
        equal tables, and only those, have equal keys."""
        return frozenset(self.ops.items()), frozenset(self.wrappers.items())

    def without_kinds(self, kinds: set[str]) -> LockTable:
        """The table minus the ops of lock kinds switched off (and wrappers
        reaching only those)."""
        if not kinds:
            return self
        ops = {n: o for n, o in self.ops.items() if o.kind not in kinds}
        wrappers = dict(self.wrappers)
        changed = True
        while changed:
            changed = False
            for n, w in list(wrappers.items()):
                if w.target not in ops and w.target not in wrappers:
                    del wrappers[n]
                    changed = True
        return LockTable(ops, wrappers)

    def with_wrappers(self, extra: dict[str, Wrapper], assertions: frozenset[str] = frozenset(),
                      noreturn: frozenset[str] = frozenset()) -> LockTable:
        """Table wrappers win over inferred ones: they are the user's word --
        except over a definition of the tree that calls an op of the table
        directly.  That is what the name does in this tree, where an entry
        may describe another era's form of it: nestedp2m_lock() of 2011 is a
        statement macro taking a plain spinlock and BUGging on re-entry, its
        entry the later recursive mm lock; the tree's nestedp2m_unlock() is a
        plain spin_unlock(), which the entry's recursive acquire would not
        match.  So does one reaching an op through the table's own wrappers
        with the arguments each names (hap_unlock() of 2011 is mm_unlock()
        of the lock, the mm lock's recursive release; the entry is the
        plain spin_unlock() of the HAP lock before it), or through the
        tree's definitions of names the table does not list (2006's
        shadow_lock() is LOCK_BIGLOCK(), the recursive big lock; the entry
        is the shadow lock of 2007-2011); a chain through a wrapper the
        definition passes too few arguments for stays second.

        A statement macro (``stated``) counts only when its bookkeeping
        changes no lock (``assertions``: names that only assert;
        ``noreturn``: names that never return)."""
        out = {**extra, **self.wrappers}
        for n, w in extra.items():
            if w.stated is not None and not self._bookkeeping(w.stated, out, assertions,
                                                              noreturn):
                if out.get(n) is w:
                    del out[n]
            elif n in self.wrappers and self._fits(w, extra):
                out[n] = w
        return LockTable(self.ops, out)

    def _fits(self, w: Wrapper, extra: dict[str, Wrapper]) -> bool:
        """Does ``w`` reach an op of the table directly, or through the
        table's wrappers or the tree's definitions of names the table does
        not list, each given the arguments its template names?"""
        for _ in range(8):
            if w.target in self.ops:
                return True
            inner = self.wrappers.get(w.target) or extra.get(w.target)
            if inner is None or inner.arity > len(w.args):
                return False
            w = inner
        return False

    def _bookkeeping(self, st: Stated, wrappers: dict[str, Wrapper],
                     assertions: frozenset[str], noreturn: frozenset[str]) -> bool:
        """Does a statement macro's bookkeeping leave every lock alone?"""
        if not assertions.issuperset(st.companions) or not noreturn.issuperset(st.dead_ends):
            return False

        def reaches(name: str, depth: int = 0) -> bool:
            op = self.ops.get(name)
            if op is not None:
                return op.action != "query"  # asking whether it is held changes nothing
            w = wrappers.get(name)
            return w is not None and depth < 8 and reaches(w.target, depth + 1)

        return not any(reaches(n) for n in st.inner)


def lock_reaching(table: LockTable) -> LockTable:
    """The table without wrappers whose chain never reaches an op."""
    good: dict[str, bool] = {}

    def reaches(name: str, depth: int = 0) -> bool:
        if name in table.ops:
            return True
        if name in good:
            return good[name]
        w = table.wrappers.get(name)
        good[name] = False  # cycles end here
        ok = w is not None and depth < 8 and reaches(w.target, depth + 1)
        good[name] = ok
        return ok

    return LockTable(table.ops, {n: w for n, w in table.wrappers.items() if reaches(n)})


def read_locks_toml(path: Path) -> dict[str, Any]:
    """``locks.toml`` parsed once, for the lock table and the IRQ table
    (irqstate.py) alike; a file that cannot be read is a LockTableError."""
    import tomllib  # here: a run the lint's cache answers never loads the table

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LockTableError(f"{path}: {exc}") from None


def load_lock_table(path: Path, data: dict[str, Any] | None = None) -> LockTable:
    """The lock table of ``path``; ``data``: its content, already parsed."""
    if data is None:
        data = read_locks_toml(path)
    ops: dict[str, OpSpec] = {}
    for name, spec in data.get("op", {}).items():
        where = f"{path}: op.{name}"
        action = spec.get("action")
        kind = spec.get("kind")
        if action not in ACTIONS:
            raise LockTableError(f"{where}: action must be one of {', '.join(ACTIONS)}")
        if kind not in KINDS:
            raise LockTableError(f"{where}: kind must be one of {', '.join(KINDS)}")
        flavour = spec.get("flavour", "plain")
        if flavour not in FLAVOURS:
            raise LockTableError(f"{where}: flavour must be one of {', '.join(FLAVOURS)}")
        default_mode = "write" if kind == "spin" or action != "query" else ""
        mode = spec.get("mode", default_mode)
        if not isinstance(spec.get("lock"), int):
            raise LockTableError(f"{where}: lock must be an argument index")
        success = spec.get("success", "nz")
        if success not in ("nz", "zero") or (success != "nz" and action != "try"):
            raise LockTableError(f"{where}: success is \"nz\" or \"zero\", for a try only")
        returns = spec.get("returns")
        if returns not in (None, "lock") or (returns and action not in ("acquire", "try")):
            raise LockTableError(f"{where}: returns is \"lock\", for an acquire or a try only")
        ops[name] = OpSpec(name, action, kind, mode, flavour, spec["lock"], spec.get("owner"),
                           success, returns == "lock")
    wrappers: dict[str, Wrapper] = {}
    for name, spec in data.get("wrapper", {}).items():
        if "op" not in spec or not isinstance(spec.get("args"), list):
            raise LockTableError(f"{path}: wrapper.{name} needs op and args")
        guard = spec.get("guard")
        if guard is not None and (not isinstance(guard, int) or guard < 0):
            raise LockTableError(f"{path}: wrapper.{name}: guard must be an argument index")
        wrappers[name] = Wrapper(name, spec["op"], tuple(spec["args"]), guard)
    for w in wrappers.values():
        if w.target not in ops and w.target not in wrappers:
            raise LockTableError(f"{path}: wrapper.{w.name}: unknown op '{w.target}'")
    return LockTable(ops, wrappers)


def default_lock_table() -> LockTable:
    from xenpatch.paths import rules_dir

    return load_lock_table(rules_dir() / "locks.toml")


def held_unnamed(via: str, kind: str = "spin") -> Effect:
    """An effect on locks nobody can name or state: the path through it is
    unknown."""
    return Effect("unknown", kind, "", "any", "*", None, via, inferred=True)


def substitute(template: str, args: list[str]) -> str:
    """``$0->lock`` with args ``["rgt"]`` -> ``(rgt)->lock``; ``$-1`` is
    the last argument."""

    def one(m: re.Match[str]) -> str:
        i = int(m.group(1))
        if i < 0:
            i += len(args)
        return "(" + args[i] + ")" if 0 <= i < len(args) else m.group(0)

    return _PARAM.sub(one, template)


# The ``target`` of a call whose statement drops its result (the call is
# the whole statement): a lock it returns held has no name in the caller.
DISCARDED = ""


def returns_lock(table: LockTable, name: str) -> bool:
    """Is ``name`` a table wrapper returning the lock it took ($ret)?"""
    w = table.wrappers.get(name)
    return w is not None and w.returns_lock


def resolve(
    table: LockTable, name: str, args: list[str], depth: int = 0, target: str | None = None
) -> list[Effect] | None:
    """Effects of calling ``name(args)`` per the table, or None if the
    table says nothing about ``name``.  ``args`` are argument texts;
    ``target`` is the variable the call's result is stored in, which a
    wrapper returning the lock it took names as ``$ret``."""
    op = table.ops.get(name)
    if op is not None:
        if op.lock >= len(args):
            return None
        owner = None
        if op.owner is not None and op.owner < len(args):
            owner = squash(args[op.owner])
        # x = rcu_lock_domain(d): x is d, and the name the caller goes on
        # using (it may release through either: see actions.py).
        lock = target if op.returns_lock and target is not None else args[op.lock]
        return [
            Effect(op.action, op.kind, op.mode, op.flavour, lock_key(lock), owner, name,
                   success=op.success)
        ]
    w = table.wrappers.get(name)
    if w is None or depth > 6:
        return None
    if w.arity > len(args):
        # Fewer arguments than the wrapper's template names: another
        # era's form of the name, whose lock the table cannot say (a
        # template naming one would take a lock called "$2"): unknown.
        return [held_unnamed(name)]
    if w.returns_lock:
        if target is None:
            return None
        subst = [substitute(a.replace("$ret", target), args) for a in w.args]
    else:
        subst = [substitute(a, args) for a in w.args]
    inner = resolve(table, w.target, subst, depth + 1)
    if inner is None:
        return None
    return [replace(e, via=name) for e in inner]
