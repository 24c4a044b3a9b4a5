"""Lock programs: the interface between whatever produces lock behaviour
(hand-written litmus tests, a program file, or later the C front end) and the
runtime models.

An ``Op`` is one lock operation as the C code spells it; a ``Program`` is what
one CPU runs; a ``Scenario`` is the programs of all CPUs plus the lock
declarations.  The models interpret ops; nothing here knows about steps.

Op kinds (``lock`` is a lock name, ``owner`` the percpu class name):

* ``spin_lock``, ``spin_unlock``, ``spin_trylock``,
  ``spin_lock_recursive``, ``spin_trylock_recursive``, ``spin_unlock_recursive``,
  ``spin_barrier``                                      -- spinlock_t ``lock``
* ``read_lock``, ``read_unlock``, ``write_lock``, ``write_unlock``,
  ``read_trylock``, ``write_trylock``                   -- rwlock_t ``lock``; on a
  percpu lock these are the *raw* ops on its inner ``rwlock`` (H6-H9)
* ``percpu_read_lock``, ``percpu_read_unlock``, ``percpu_write_lock``,
  ``percpu_write_unlock``                               -- percpu_rwlock_t ``lock``
  taken through class ``owner`` (``percpu_read_lock(owner, &lock)``)
* ``rw_is_write_locked``, ``rw_is_locked``,
  ``spin_is_locked``                                    -- record the query's
  answer in the CPU's observations (``rw_is_write_locked`` on a percpu lock
  is ``percpu_rw_is_write_locked``)
* ``cs``                                                -- a critical-section body
* ``irq_enter``, ``irq_exit``                           -- enter/leave IRQ context
* ``local_irq_disable``, ``local_irq_enable``           -- interrupts off/on
* ``spin_lock_irq``, ``spin_unlock_irq``, ``spin_lock_irqsave``,
  ``spin_unlock_irqrestore`` and the same for ``read_``/``write_``
                                                        -- the _irq/_irqsave
  variants; debug builds latch each lock's IRQ safety on first use and BUG
  when it is later taken with interrupts the other way

A failed trylock skips forward past the matching release of the same lock
(``if ( trylock ) { ...; unlock; }``), so straight-line programs can use them.
Matching counts nesting: a body that re-takes the lock with an acquire of
the same release kind (``spin_trylock_recursive(S) spin_lock_recursive(S) cs
spin_unlock_recursive(S) spin_unlock_recursive(S)``) is skipped whole, up to
the release that balances the trylock -- not to the first release, which
would leave the failed CPU running an unlock of a lock it does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from xenpatch.errors import XenpatchError

LockType = Literal["spinlock", "rwlock", "percpu"]

# The _irq/_irqsave variants: lock with interrupts disabled (irq: they must
# have been on; irqsave: whatever they were is restored by the unlock).
IRQ_VARIANTS = {f"{p}_{v}": (f"{p}_{base}", mode)
                for p in ("spin", "read", "write")
                for v, base, mode in (("lock_irq", "lock", "irq"),
                                      ("lock_irqsave", "lock", "save"),
                                      ("unlock_irq", "unlock", "irq"),
                                      ("unlock_irqrestore", "unlock", "save"))}
SPIN_OPS = frozenset(
    {"spin_lock", "spin_unlock", "spin_trylock", "spin_lock_recursive", "spin_unlock_recursive",
     "spin_trylock_recursive", "spin_barrier"}
    | {k for k in IRQ_VARIANTS if k.startswith("spin_")}
)
RW_OPS = frozenset(
    {"read_lock", "read_unlock", "write_lock", "write_unlock", "read_trylock", "write_trylock"}
    | {k for k in IRQ_VARIANTS if not k.startswith("spin_")}
)
PERCPU_OPS = frozenset(
    {"percpu_read_lock", "percpu_read_unlock", "percpu_write_lock", "percpu_write_unlock"}
)
RW_QUERY_OPS = frozenset({"rw_is_write_locked", "rw_is_locked"})
QUERY_OPS = RW_QUERY_OPS | {"spin_is_locked"}
LOCAL_OPS = frozenset({"cs", "irq_enter", "irq_exit", "local_irq_disable", "local_irq_enable"})
OP_KINDS = SPIN_OPS | RW_OPS | PERCPU_OPS | QUERY_OPS | LOCAL_OPS

# Release op of each acquire, used to skip the body of a failed trylock.
TRYLOCK_RELEASE = {
    "spin_trylock": "spin_unlock",
    "spin_trylock_recursive": "spin_unlock_recursive",
    "read_trylock": "read_unlock",
    "write_trylock": "write_unlock",
}


def release_of(kind: str) -> str | None:
    """The op that releases what an acquire of ``kind`` takes; None for an
    op that acquires nothing (a release, a query, a local op)."""
    if kind in TRYLOCK_RELEASE:
        return TRYLOCK_RELEASE[kind]
    if kind in LOCAL_OPS or kind in QUERY_OPS or "unlock" in kind or "_lock" not in kind:
        return None
    if kind.endswith("_lock_irqsave"):
        return kind.replace("_lock_irqsave", "_unlock_irqrestore")
    return kind.replace("_lock", "_unlock", 1)


def skip_failed_trylock(ops: Sequence[Op], idx: int) -> int:
    """Index after the release matching the failed trylock at ``idx``: the
    first release of the same lock and kind not balanced by an acquire of
    that lock, with that release kind, in between."""
    want, lock = TRYLOCK_RELEASE[ops[idx].kind], ops[idx].lock
    depth = 0
    for j in range(idx + 1, len(ops)):
        if ops[j].lock != lock:
            continue
        if ops[j].kind == want:
            if depth == 0:
                return j + 1
            depth -= 1
        elif release_of(ops[j].kind) == want:
            depth += 1
    return len(ops)


class ProgramError(XenpatchError, ValueError):
    """A malformed op, program or program file."""


@dataclass(frozen=True)
class Op:
    """One lock operation.  ``lock`` is None only for local ops (cs, irq_*)."""

    kind: str
    lock: str | None = None
    owner: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ProgramError(f"unknown op kind {self.kind!r}")
        if self.kind in LOCAL_OPS:
            if self.lock is not None or self.owner is not None:
                raise ProgramError(f"{self.kind} takes no lock")
            return
        if not self.lock:
            raise ProgramError(f"{self.kind} needs a lock")
        if (self.kind in PERCPU_OPS) != (self.owner is not None):
            need = "needs" if self.kind in PERCPU_OPS else "takes no"
            raise ProgramError(f"{self.kind} {need} an owner class")

    def __str__(self) -> str:
        if self.lock is None:
            return self.kind
        if self.owner is None:
            return f"{self.kind}({self.lock})"
        return f"{self.kind}({self.lock}, {self.owner})"


@dataclass(frozen=True)
class Program:
    """The ops one CPU runs, in order; ``loop`` repeats them forever."""

    ops: tuple[Op, ...]
    loop: bool = False

    def __str__(self) -> str:
        return " ".join(str(op) for op in self.ops) + (" (loop)" if self.loop else "")


@dataclass(frozen=True)
class LockDecl:
    """A lock object.  ``owner`` is the class a percpu lock was initialised
    with; None means it was set up with ``rwlock_init`` (H11)."""

    name: str
    type: LockType
    owner: str | None = None


@dataclass(frozen=True)
class Scenario:
    """Programs for CPUs 0..n-1 and every lock they use, in address order
    (the first declared lock has the lowest address)."""

    programs: tuple[Program, ...]
    locks: tuple[LockDecl, ...] = field(default=())

    def lock(self, name: str) -> LockDecl:
        for decl in self.locks:
            if decl.name == name:
                return decl
        raise KeyError(name)


def scenario(
    programs: Sequence[Program | Sequence[Op]],
    locks: Iterable[LockDecl] = (),
) -> Scenario:
    """Build a Scenario, declaring every lock the programs use but ``locks``
    does not.  An undeclared lock is percpu if any percpu op names it (owner:
    the class of its first percpu op), a spinlock if a spin op does, else an
    rwlock.  Raises ProgramError on inconsistent use."""
    progs = tuple(p if isinstance(p, Program) else Program(tuple(p)) for p in programs)
    declared = {d.name: d for d in locks}
    order = list(declared)
    uses: dict[str, list[Op]] = {}
    for prog in progs:
        for op in prog.ops:
            if op.lock is not None:
                uses.setdefault(op.lock, []).append(op)
                if op.lock not in declared and op.lock not in order:
                    order.append(op.lock)
    result: list[LockDecl] = []
    for name in order:
        ops = uses.get(name, [])
        decl = declared.get(name) or _infer(name, ops)
        for op in ops:
            _check_use(decl, op)
        result.append(decl)
    return Scenario(progs, tuple(result))


def _infer(name: str, ops: list[Op]) -> LockDecl:
    percpu = [op for op in ops if op.kind in PERCPU_OPS]
    if percpu:
        return LockDecl(name, "percpu", percpu[0].owner)
    if any(op.kind in SPIN_OPS for op in ops):
        return LockDecl(name, "spinlock")
    return LockDecl(name, "rwlock")


def _check_use(decl: LockDecl, op: Op) -> None:
    ok = {
        "spinlock": SPIN_OPS | {"spin_is_locked"},
        "rwlock": RW_OPS | RW_QUERY_OPS,
        "percpu": PERCPU_OPS | RW_OPS | RW_QUERY_OPS,
    }[decl.type]
    if op.kind not in ok:
        raise ProgramError(f"{op} used on {decl.type} {decl.name}")


def double_gt_lock(x: str, y: str, addresses: Mapping[str, int], owner: str) -> list[Op]:
    """``double_gt_lock(lgt, rgt)``: write-lock both tables, lower address
    first, once if they are the same table."""
    if x == y:
        return [Op("percpu_write_lock", x, owner)]
    first, second = sorted((x, y), key=lambda n: addresses[n])
    return [Op("percpu_write_lock", first, owner), Op("percpu_write_lock", second, owner)]


def double_gt_unlock(x: str, y: str, owner: str) -> list[Op]:
    """``double_gt_unlock(lgt, rgt)``: lgt, then rgt if distinct."""
    ops = [Op("percpu_write_unlock", x, owner)]
    if y != x:
        ops.append(Op("percpu_write_unlock", y, owner))
    return ops


# ---------------------------------------------------------------------------
# Text format
#
#   # comment
#   lock A percpu grant_rwlock     declare (address order = declaration order)
#   lock G percpu -                percpu lock set up with rwlock_init (no owner)
#   lock B rwlock
#   cpu0: percpu_read_lock(A, grant_rwlock) cs percpu_read_unlock(A, grant_rwlock)
#   cpu1*: write_lock(B); write_unlock(B)          '*' = loop forever
#   + cs write_lock(B) write_unlock(B)             '+' continues the cpu line above
#
# CPU lines must be numbered 0..n-1 in order; ops are separated by blanks or ';'.

_CPU_RE = re.compile(r"cpu(\d+)(\*?)\s*:(.*)$")
_OP_RE = re.compile(r"([A-Za-z_]\w*)(?:\(([^()]*)\))?")


def parse_program_text(text: str, filename: str = "<program>") -> Scenario:
    """Parse the text format above; errors are ProgramError('file:line: reason')."""
    decls: list[LockDecl] = []
    programs: list[Program] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{filename}:{lineno}"
        try:
            if line.startswith("lock "):
                decls.append(_parse_decl(line))
                continue
            if line.startswith("+"):
                if not programs:
                    raise ProgramError("'+' continuation before any cpu line")
                last = programs[-1]
                programs[-1] = Program(last.ops + _parse_ops(line[1:]), last.loop)
                continue
            m = _CPU_RE.match(line)
            if not m:
                raise ProgramError("expected 'lock NAME TYPE [OWNER]' or 'cpuN: ops'")
            if int(m.group(1)) != len(programs):
                raise ProgramError(f"expected cpu{len(programs)}, got cpu{m.group(1)}")
            programs.append(Program(_parse_ops(m.group(3)), loop=m.group(2) == "*"))
        except ProgramError as e:
            raise ProgramError(f"{where}: {e}") from None
    if not programs:
        raise ProgramError(f"{filename}: no cpu lines")
    try:
        return scenario(programs, decls)
    except ProgramError as e:
        raise ProgramError(f"{filename}: {e}") from None


def _parse_decl(line: str) -> LockDecl:
    parts = line.split()
    if len(parts) not in (3, 4) or parts[2] not in ("spinlock", "rwlock", "percpu"):
        raise ProgramError("expected 'lock NAME spinlock|rwlock|percpu [OWNER|-]'")
    owner = parts[3] if len(parts) == 4 and parts[3] != "-" else None
    if parts[2] != "percpu" and owner is not None:
        raise ProgramError("only percpu locks have an owner class")
    if parts[2] == "percpu" and len(parts) == 3:
        raise ProgramError("percpu lock needs an owner class or '-'")
    return LockDecl(parts[1], parts[2], owner)  # type: ignore[arg-type]


def _parse_ops(text: str) -> tuple[Op, ...]:
    ops: list[Op] = []
    rest = text.replace(";", " ").strip()
    while rest:
        m = _OP_RE.match(rest)
        if not m:
            raise ProgramError(f"cannot parse op at {rest[:20]!r}")
        args = [a.strip() for a in (m.group(2) or "").split(",") if a.strip()]
        if len(args) > 2:
            raise ProgramError(f"{m.group(0)}: too many arguments")
        ops.append(Op(m.group(1), *args))
        rest = rest[m.end() :].strip()
    if not ops:
        raise ProgramError("cpu has no ops")
    return tuple(ops)


def format_scenario(sc: Scenario) -> str:
    """The text format of ``sc`` (parse_program_text inverts it)."""
    lines = [f"lock {d.name} {d.type}" + (f" {d.owner or '-'}" if d.type == "percpu" else "")
             for d in sc.locks]
    for i, prog in enumerate(sc.programs):
        star = "*" if prog.loop else ""
        lines.append(f"cpu{i}{star}: " + " ".join(str(op) for op in prog.ops))
    return "\n".join(lines) + "\n"
