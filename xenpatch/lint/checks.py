"""The registry of lint checks and the observer that applies them.

Every check has a stable ID (what suppressions, SAF entries and SARIF
``ruleId`` name), a short name, a one-line message template and a level.
IDs are never reused: retire a check by leaving its entry out of
``rules/lint.toml``'s ``enabled`` list, not by renumbering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from xenpatch.analysis.locktable import Effect, may_retake
from xenpatch.analysis.pathstate import UNKNOWN, Held, State


@dataclass(frozen=True)
class Check:
    id: str
    name: str
    summary: str  # what the check finds, for SARIF rule descriptions and --list
    message: str  # str.format template
    level: str = "warning"


CHECKS: dict[str, Check] = {
    c.id: c
    for c in (
        Check("XL001", "lock-held-at-exit",
              "A lock taken in the function is still held on a path that returns.",
              "'{key}' taken at line {acq_line} is still held at this return"),
        Check("XL002", "release-not-held",
              "A lock is released on a path where it is not held.",
              "'{via}' releases '{key}', which is not held on this path"),
        Check("XL003", "release-wrong-primitive",
              "A lock is released with a primitive that does not match how it was taken.",
              "'{via}' releases '{key}', which was taken with '{acq_via}'"),
        Check("XL004", "raw-rwlock-on-percpu",
              "A plain rwlock operation is applied to a percpu_rwlock_t.",
              "'{via}' is a plain rwlock operation on percpu rwlock '{key}'"),
        Check("XL005", "percpu-recursive-read",
              "A percpu rwlock is read-locked while this CPU already holds it for reading.",
              "percpu read lock of '{key}' while it is already read-held (taken at line "
              "{acq_line})"),
        Check("XL006", "percpu-same-owner-reads",
              "Two percpu rwlocks of the same owner are held for reading at once.",
              "percpu read lock of '{key}' while '{other}' of the same owner '{owner}' is "
              "read-held"),
        Check("XL007", "write-while-read-held",
              "A lock is write-locked while the same CPU holds it for reading (self-deadlock).",
              "write lock of '{key}' while it is held for reading (taken at line {acq_line})"),
        Check("XL008", "rw-query-on-percpu",
              "rw_is_locked/rw_is_write_locked applied to a percpu rwlock.",
              "'{via}' on percpu rwlock '{key}'; use percpu_rw_is_write_locked()"),
        Check("XL009", "percpu-owner-mismatch",
              "A percpu rwlock is used with an owner other than its own.",
              "percpu rwlock '{key}' used with owner '{owner}', but its owner is '{expected}'"),
        Check("XL010", "double-acquire",
              "A non-recursive lock is taken again while already held (self-deadlock).",
              "'{via}' takes '{key}', already held since line {acq_line}"),
        # IRQ-state discipline (xenpatch/analysis/irqstate.py, lint/irqchecks.py).
        Check("XL011", "irq-lock-with-irqs-off",
              "An _irq lock form is used where IRQs are already off on the path: its "
              "unlock turns them on early.",
              "'{via}' takes '{key}' with IRQs already off on this path: its _irq unlock "
              "will turn them on"),
        Check("XL012", "irqs-on-in-irq-section",
              "IRQs are turned on (an _irq unlock, local_irq_enable()) while an outer "
              "IRQ-off section of the function is still open.",
              "'{via}' turns IRQs on while {what} (IRQs off since line {open_line}) is "
              "still open"),
        Check("XL013", "irqrestore-wrong-flags",
              "An IRQ state is restored from flags the matching save on the path did not "
              "write.",
              "'{via}' restores the IRQ state from {why}"),
        Check("XL014", "call-enables-irqs",
              "A function that turns IRQs on on every path is called while IRQs are off "
              "by this function (an _irq/_irqsave lock held, or a disable).",
              "'{via}' turns IRQs on on every path, but {what} is still open here"),
        # Callee preconditions (analysis/preconditions.py, lint/precond.py).
        Check("XL015", "call-without-required-lock",
              "A function that requires a lock held (it asserts so at its entry, or a "
              "callee it calls there does) is called where the lock is known not held.",
              "'{via}' requires '{key}' held ({asserted}), but {why}"),
        Check("XL016", "rwlock-recursive-read",
              "An rwlock whose waiting writer holds back new readers (the queued "
              "rwlock; before it, 4.3-4.6's counter) is read-locked while this CPU "
              "already holds it for reading: a writer waiting in between makes the "
              "second read wait behind it, which waits for the first (deadlock).",
              "read lock of '{key}' while it is already read-held (taken at line "
              "{acq_line}): a waiting writer deadlocks this CPU"),
        # IRQ safety across takes (lint/irqsafe.py).
        Check("XL017", "irq-safety-mixed",
              "A lock is taken with IRQs known on at one take and known off at another: "
              "Xen's check_lock() wants every lock either IRQ-safe or IRQ-unsafe, and "
              "an interrupt on a CPU holding it with IRQs on can deadlock.",
              "'{via}' takes '{key}' with IRQs on, but it is taken with IRQs off at "
              "line {other_line} (in '{other_fn}'): an interrupt wanting it while this "
              "CPU holds it deadlocks"),
        # Callee IRQ-state demands (analysis/irqdemand.py, lint/irqdemandcheck.py).
        Check("XL018", "call-breaks-irq-precondition",
              "A function that demands an IRQ state of its caller (it asserts it at its "
              "entry, or a callee it calls there does) is called where this function's "
              "path has IRQs in the other state.",
              "'{via}' must be called with IRQs {want} ({why}), but IRQs are {have} here"),
        # A caller's lock dropped on some returns only (lint/partialrelease.py).
        Check("XL019", "partial-release-of-callers-lock",
              "A lock the function requires held on entry (it asserts so) is released on "
              "some paths to a return and still held on others that return the same value: "
              "its caller cannot tell whether it still holds the lock.",
              "'{key}', which the caller holds ({why}), is {how} at this return, but the "
              "return at line {other_line} gives the same value{value} and {other}"),
    )
}


def held_on_entry(message: str, why: str = "") -> str:
    """A check's message formatted with ``acq_line=0`` (the lock held from
    the function's entry, taken on no line of it), said so; ``why``: whose
    hold it is."""
    said = "on entry" + (f": {why}" if why else "")
    return message.replace("since line 0", said).replace("taken at line 0", "held " + said)


# Later states kept per finding, for chosen().
ALTERNATES = 8


class Witnesses(Protocol):
    """What pathnotes.agreement() answers of one function's run."""

    def agreeing(self, r: RawFinding) -> RawFinding | None:
        """r with the path it is shown along, one whose branches agree;
        None if the search found none."""
        ...

    def none_agree(self, node: int, states: Iterable[State]) -> bool:
        """Does every path to ``node`` in one of ``states`` contradict itself?"""
        ...


def pick_agreeing(candidates: list[RawFinding], states: Iterable[State],
                  w: Witnesses | None) -> RawFinding | None:
    """The first candidate whose path's branches agree (with that path),
    else the first; None when no path of the run to the finding agrees
    (every state that makes it, ``states``, is reached only by paths that
    cannot run)."""
    if w is None:
        return candidates[0]
    for r in candidates:
        got = w.agreeing(r)
        if got is not None:
            return got
    if w.none_agree(candidates[0].node, states):
        return None
    return candidates[0]


@dataclass
class RawFinding:
    """A finding inside one function, before suppression and reporting."""

    check: str
    node: int
    state: State | None
    line: int
    col: int
    key: str
    message: str
    acq_site: int = -1  # CFG node where the path of interest starts
    # The witness path, when it is not the run's own to ``node`` (a check
    # that needs a path the run did not keep as the pair's parent), or the
    # one pick_agreeing() found.
    nodes: tuple[int, ...] | None = None
    # Steps shown after the path: (line, col, note) elsewhere in the file.
    notes: tuple[tuple[int, int, str], ...] = ()


class PercpuOracle:
    """Answers "is this lock a percpu_rwlock_t?" and "what is its owner?".

    The seam for xenpatch.c.types: today the answer comes from what the file
    itself shows (a key or a (type, field path) shape used with a percpu op
    or declared percpu_rwlock_t); a TypeIndex can later answer from the
    struct definitions of the whole tree.
    """

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.shapes: set[tuple[str, str]] = set()
        self.owner_votes: dict[tuple[str, str], dict[str, int]] = {}
        self.owner_init: dict[tuple[str, str], str] = {}

    def add_use(self, shape: tuple[str, str], key: str, owner: str | None, init: bool) -> None:
        self.keys.add(key)
        self.shapes.add(shape)
        if owner is None:
            return
        if init:
            self.owner_init.setdefault(shape, owner)
        else:
            votes = self.owner_votes.setdefault(shape, {})
            votes[owner] = votes.get(owner, 0) + 1

    def is_percpu(self, key: str, shape: tuple[str, str]) -> bool:
        return key in self.keys or shape in self.shapes

    def expected_owner(self, shape: tuple[str, str]) -> str | None:
        if shape in self.owner_init:
            return self.owner_init[shape]
        votes = self.owner_votes.get(shape)
        if not votes or len(votes) < 2:
            return None
        best = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        return best[0][0] if best[0][1] > best[1][1] else None


@dataclass
class CheckObserver:
    """Turns dataflow events into raw findings, one per (check, node, key)."""

    oracle: PercpuOracle
    shape_of: object  # Callable[[str], tuple[str, str]]
    enabled: frozenset[str]
    # The tree's rwlock_t makes a new reader wait for a waiting writer
    # (analysis/rwera.py): a read of a plain rwlock this CPU already
    # read-holds can deadlock (XL016).
    readers_wait: bool = False
    findings: dict[tuple[str, int, str], RawFinding] = field(default_factory=dict)
    # The same finding by later states of the run (a few), for a witness
    # whose branches agree where the first one's do not (chosen()), and
    # every state that made it.
    others: dict[tuple[str, int, str], list[RawFinding]] = field(default_factory=dict)
    states: dict[tuple[str, int, str], list[State]] = field(default_factory=dict)

    def add(self, cid: str, node: int, state: State, line: int, col: int, key: str,
            acq_site: int = -1, origin: str | None = None, released_in: str | None = None,
            **fmt: object) -> None:
        if cid not in self.enabled:
            return
        k = (cid, node, key)
        if k in self.findings:
            self.states[k].append(state)
            more = self.others.setdefault(k, [])
            if len(more) >= ALTERNATES or any(r.state == state for r in more):
                return
        msg = CHECKS[cid].message.format(key=key, **fmt)
        if fmt.get("acq_line") == 0:
            # Held from the entry (a lock the function drops before taking
            # it again, so its caller held it): no line took it here.
            msg = held_on_entry(msg)
        if origin is not None:
            # A callee's take on some of its paths: say which take.
            msg += f" (on some paths of the callee: taken in {origin})"
        if released_in is not None:
            # A callee's release on some of its paths, met by this one.
            msg += f" (on some paths of the callee: released in {released_in})"
        raw = RawFinding(cid, node, state, line, col, key, msg, acq_site)
        if k in self.findings:
            self.others[k].append(raw)
        else:
            self.findings[k] = raw
            self.states[k] = [state]

    def restart(self) -> None:
        self.findings.clear()
        self.others.clear()
        self.states.clear()

    def chosen(self, w: Witnesses | None) -> list[RawFinding]:
        """One raw finding per (check, node, lock): the first the run met,
        unless its path tests a value twice with outcomes that cannot both
        hold and a later one's does not (its message names its own take);
        none if every path to it is such a one."""
        got = (pick_agreeing([first, *self.others.get(k, ())], self.states[k], w)
               for k, first in self.findings.items())
        return [r for r in got if r is not None]

    def _percpu(self, key: str) -> bool:
        return self.oracle.is_percpu(key, self.shape_of(key))  # type: ignore[operator]

    def _raw_on_percpu(self, e: Effect) -> bool:
        if e.kind != "rw":
            return False
        if self._percpu(e.key):
            return True
        # read_lock(&gt->lock.rwlock): the rwlock inside a percpu lock.
        return e.key.endswith(".rwlock") and self._percpu(e.key[: -len(".rwlock")])

    def acquire(self, node: int, state: State, e: Effect, line: int, col: int,
                trying: bool) -> None:
        if state.fact(UNKNOWN) is not None:
            return  # a path through an effect nobody can state
        # A callee's own lock operations were checked in the callee: at its
        # call only what it meets in the caller's held set is.
        if e.action != "take" and self._raw_on_percpu(e):
            self.add("XL004", node, state, line, col, e.key, via=e.via)
        if e.action != "take" and e.kind == "percpu" and e.owner is not None:
            self._owner(node, state, e, line, col)
        cur = state.get(e.key)
        mode = e.mode or "write"
        if cur is not None and (cur.unknown or (e.kind == "rw" and not e.mode)):
            cur = None  # unknown, or a mode nobody can tell (lock_both(d, w))
        if cur is not None and e.action == "take" and {cur.kind, e.kind} == {"spin", "rw"}:
            # A lock has one type: a callee's take of an rwlock of the name
            # a spinlock held here has is another build's (each
            # architecture's guest_physmap_remove_page() takes its own p2m
            # lock, Arm's an rwlock, x86's a recursive spinlock).
            cur = None
        if cur is not None and not trying and "[*]" not in e.key:
            o = e.origin
            if e.kind == "percpu" and cur.mode == "read" and mode == "read":
                self.add("XL005", node, state, line, col, e.key, cur.site, o,
                         acq_line=cur.line)
            elif cur.mode == "read" and mode == "write":
                self.add("XL007", node, state, line, col, e.key, cur.site, o,
                         acq_line=cur.line)
            elif not may_retake(cur.flavour, cur.mode, e.flavour, mode):
                self.add("XL010", node, state, line, col, e.key, cur.site, o, via=e.via,
                         acq_line=cur.line)
            elif self.readers_wait and e.kind == "rw" and cur.kind == "rw" and (
                    cur.mode == "read" and mode == "read"):
                self.add("XL016", node, state, line, col, e.key, cur.site, o,
                         acq_line=cur.line)
        if e.kind == "percpu" and mode == "read" and e.owner is not None:
            for h in state.held:
                if (h.key != e.key and h.kind == "percpu" and h.mode == "read" and not h.unknown
                        and h.owner == e.owner):
                    self.add("XL006", node, state, line, col, e.key, h.site, other=h.key,
                             owner=e.owner)
                    break

    def _owner(self, node: int, state: State, e: Effect, line: int, col: int) -> None:
        expected = self.oracle.expected_owner(self.shape_of(e.key))  # type: ignore[operator]
        if expected is not None and e.owner != expected:
            self.add("XL009", node, state, line, col, e.key, owner=e.owner, expected=expected)

    def release(self, node: int, state: State, e: Effect, line: int, col: int,
                excused: bool = False) -> None:
        if state.fact(UNKNOWN) is not None:
            return
        if self._raw_on_percpu(e):
            self.add("XL004", node, state, line, col, e.key, via=e.via)
        if e.kind == "percpu" and e.owner is not None:
            self._owner(node, state, e, line, col)
        cur = state.get(e.key)
        if cur is None or (cur.unknown and cur.dropped_by is not None
                           and e.origin == cur.dropped_by):
            # Not held, or released by a callee on some of its paths and
            # again here straight after the call (dataflow.py).
            self.add("XL002", node, state, line, col, e.key, via=e.via, released_in=e.origin)
            return
        if cur.entry or cur.unknown:
            return
        if not excused and _mismatch(cur, e):
            self.add("XL003", node, state, line, col, e.key, cur.site, via=e.via,
                     acq_via=cur.via)

    def query(self, node: int, state: State, e: Effect, line: int, col: int) -> None:
        if self._raw_on_percpu(e):
            self.add("XL008", node, state, line, col, e.key, via=e.via)


def _mismatch(h: Held, e: Effect) -> bool:
    if h.kind != e.kind:
        return True
    # A helper that releases either way (hypfs_unlock() looks up how the
    # lock was taken) has mode "" and flavour "any".
    if h.kind != "spin" and e.mode and h.mode and e.mode != h.mode:
        return True
    return "any" not in (e.flavour, h.flavour) and h.flavour != e.flavour
