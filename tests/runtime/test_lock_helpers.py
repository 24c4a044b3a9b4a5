"""`xenpatch difftest` on a pair of lock helpers of current Xen's shape
(common/domctl.c's iocaps_double_lock() and iocaps_double_unlock(), since
4.16): the first read-locks the current domain's lock and locks the
target's in the mode a flag says, lower domain id first; the second undoes
it.  Run alone, each is one-sided by design.

Tried on master with a rule for struct domain's caps_lock, difftest said
"0 divergences, 199 hazards on both sides": every helper path ran alone and
ended holding its locks, and the two paths that take the current domain's
lock twice (``d->id > cur->id``, then ``d->id < cur->id`` with neither
changed: no run takes both) ran too.  The lint rules those paths out
(Branch.excludes); the programs now do as well, and a helper that takes or
releases several objects is composed with the helper that undoes exactly
what it took, as a single-lock helper already was (mm-locks.h's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from capstree import caps_rule, caps_tree
from clicall import xp

from xenpatch.runtime import cprograms as C

SOURCE = """\
#include <xen/types.h>
#include <xen/spinlock.h>
#include <xen/caps.h>

void caps_init(struct caps *c, unsigned int id)
{
    c->id = id;
    rwlock_init(&c->lock);
}

/* Both held, the lower id first; one lock when they are one object. */
void caps_double_lock(struct caps *d, struct caps *cur, bool write)
{
    if ( d->id > cur->id )
        read_lock(&cur->lock);

    if ( write )
        write_lock(&d->lock);
    else
        read_lock(&d->lock);

    if ( d->id < cur->id )
        read_lock(&cur->lock);
}

void caps_double_unlock(struct caps *d, struct caps *cur, bool write)
{
    if ( d != cur )
        read_unlock(&cur->lock);

    if ( write )
        write_unlock(&d->lock);
    else
        read_unlock(&d->lock);
}
"""


def test_the_double_lock_helpers_run_composed_and_feasible(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tree, rule = caps_tree(tmp_path, SOURCE), caps_rule(tmp_path)
    code, out, err = xp(capsys, "difftest", "--rule", rule, str(tree), "--lock-model", "qrw",
                        "--function", "caps_double_lock", "--function", "caps_double_unlock")
    head = out.splitlines()[0]
    assert code == 0, out + err
    assert "(2 of 2 fully covered)" in head and ": 0 divergences, 0 hazards" in head, head
    # Three orders (cur first, d first, d alone) in two modes; the two runs
    # taking cur twice contradict themselves.
    assert "caps.c: caps_double_lock: 6 paths found, 6 run" in out, out
    assert "caps.c: caps_double_unlock: 4 paths found, 4 run" in out, out
    assert "one-sided" not in out


FIND_AND_LOCK = """\
#include <xen/types.h>
#include <xen/spinlock.h>
#include <xen/caps.h>

struct holder {
    int users;
    struct caps caps;
};

void caps_init(struct caps *c, unsigned int id)
{
    c->id = id;
    rwlock_init(&c->lock);
}

/* Returns c read-locked if it has the bit, else NULL with nothing held. */
static const struct caps *caps_find_and_lock(struct caps *c, unsigned long bit)
{
    read_lock(&c->lock);
    if ( c->bits & bit )
        return c;
    read_unlock(&c->lock);
    return NULL;
}

bool caps_accept(struct caps *c, unsigned long bit)
{
    const struct caps *found = caps_find_and_lock(c, bit);

    if ( !found )
        return false;

    read_unlock(&c->lock);
    return true;
}

/* The helper's parameter points into the caller's object. */
bool holder_accept(struct holder *h, unsigned long bit)
{
    struct caps *c = &h->caps;
    const struct caps *found = caps_find_and_lock(c, bit);

    if ( !found )
        return false;

    read_unlock(&c->lock);
    return true;
}

void caps_set(struct caps *c, unsigned long bits)
{
    write_lock(&c->lock);
    c->bits = bits;
    write_unlock(&c->lock);
}
"""


def test_a_try_like_helpers_result_decides_its_callers_branch(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # x86/hvm/io.c's g2m_portio_find_and_lock() and its callers, on master
    # with a rule for struct hvm_domain's g2m_ioport_lock: the lint reads
    # the call as a try (held exactly when the result is not NULL); the
    # programs paired its held path with the callers' NULL exit and its
    # caller's unlock with nothing: 9 hazards on both sides, one-sided
    # programs.  Inlined with the result's class, each caller's path is one
    # balanced read section, and the helper is covered through them.
    tree, rule = caps_tree(tmp_path, FIND_AND_LOCK), caps_rule(tmp_path)
    code, out, err = xp(capsys, "difftest", "--rule", rule, str(tree), "--lock-model", "qrw")
    head = out.splitlines()[0]
    assert code == 0, out + err
    assert ": 0 divergences, 0 hazards" in head and "(5 of 5 fully covered)" in head, head
    assert "caps.c: caps_find_and_lock: 2 paths found, 1 run, 1 covered through the callers" \
        in out, out
    assert "caps.c: caps_accept: 1 paths found, 1 run" in out, out
    assert "caps.c: holder_accept: 1 paths found, 1 run" in out, out
    assert "one-sided" not in out and "changed shape" not in out + err


def _fp(name: str, *seqs: tuple) -> C.FunctionPrograms:
    return C.FunctionPrograms("caps.c", name, sequences=list(seqs))


def _percpu(fps: list[C.FunctionPrograms]) -> list[C.FunctionPrograms]:
    return [_fp(f.function, *(tuple(("percpu_" + k, key) for k, key in seq)
                               for seq in f.sequences)) for f in fps]


CUR_D = (("read_lock", "cur->lock"), ("write_lock", "d->lock"))
D_CUR = (("write_lock", "d->lock"), ("read_lock", "cur->lock"))
D = (("write_lock", "d->lock"),)
BOTH_OFF = (("read_unlock", "cur->lock"), ("write_unlock", "d->lock"))
D_OFF = (("write_unlock", "d->lock"),)


def test_a_helper_of_two_objects_is_composed_with_what_undoes_it() -> None:
    before = [_fp("caps_double_lock", CUR_D, D_CUR, D),
              _fp("caps_double_unlock", BOTH_OFF, D_OFF)]
    halves = C.helper_halves(before, _percpu(before), set())
    assert set(halves) == {"caps_double_lock", "caps_double_unlock"}
    made = C.compose_halves("caps_double_lock", D_CUR, halves)
    # Only the release of both objects, each in the mode it was taken in.
    assert [(name, b) for name, b, _ in made] == [
        ("caps_double_lock+caps_double_unlock", D_CUR + BOTH_OFF)]
    assert made[0][2] == tuple(("percpu_" + k, key) for k, key in D_CUR + BOTH_OFF)
    assert [b for _, b, _ in C.compose_halves("caps_double_lock", D, halves)] == [D + D_OFF]
    assert [b for _, b, _ in C.compose_halves("caps_double_unlock", D_OFF, halves)] == [D + D_OFF]


def test_what_undoes_a_take_is_decided_by_mode_count_and_object() -> None:
    assert C._undoing(CUR_D, BOTH_OFF) == {"cur->lock": "cur->lock", "d->lock": "d->lock"}
    # A different mode, a lock fewer, a lock twice: not undone.
    assert C._undoing(CUR_D, (("write_unlock", "cur->lock"), ("write_unlock", "d->lock"))) \
        is None
    assert C._undoing(CUR_D, D_OFF) is None
    assert C._undoing((("read_lock", "a"), ("read_lock", "a")), (("read_unlock", "a"),)) is None
    # One object on each side, spelt differently: the argument both take.
    assert C._undoing((("read_lock", "l->lock"),), (("read_unlock", "m->lock"),)) == \
        {"m->lock": "l->lock"}
    # Two objects spelt differently on each side: nothing says which is which.
    assert C._undoing((("read_lock", "a->l"), ("read_lock", "b->l")),
                      (("read_unlock", "x->l"), ("read_unlock", "y->l"))) is None
