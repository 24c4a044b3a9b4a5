"""The calling convention of the lock models' step functions (spec:
docs/xen-locks.md), shared by spinlock.py, rwlock.py and locks.py.

Every routine has the signature ``routine(ctx, pc, args, loc, rv)`` and
returns one of

* ``(GOTO, pc, loc)``                      continue at ``pc``
* ``(CALL, ret_pc, loc, routine, args)``   run ``routine``; resume at ``ret_pc``
                                           with its return value in ``rv``
* ``(RET, value)``

``args`` is static (memory word indices); ``loc`` holds the routine's local
variables.  Each memory access goes through ``ctx`` (machine.Ctx), which
turns the second access of a step into a step boundary, so a pc may do local
work freely and the numbering follows the spec's step numbers where it
has them.
"""

from __future__ import annotations

from typing import Any

from xenpatch.runtime.layout import CALL, GOTO, RET

Res = tuple

M16 = 0xFFFF
M32 = 0xFFFFFFFF
NO_CPU = 0xFFF  # the 2016 and 4.17 SPINLOCK_NO_CPU; Layout.no_cpu per era


def goto(pc: int, loc: tuple = ()) -> Res:
    return (GOTO, pc, loc)


def call(routine: Any, args: tuple, ret_pc: int, loc: tuple = ()) -> Res:
    return (CALL, ret_pc, loc, routine, args)


def ret(value: Any = None) -> Res:
    return (RET, value)
