"""A struct with an rwlock of its own (``struct caps``, modelled on struct
domain's caps_lock) and a rule converting it into a percpu rwlock: the
tree the tests of the rewrite's check and of the difftest's lock helpers
build, each with a caps.c of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

from xensource import ROOT

FIXTURE = ROOT / "fixtures" / "xen"

_HEADER = """\
#ifndef __XEN_CAPS_H__
#define __XEN_CAPS_H__

#include <xen/types.h>
#include <xen/spinlock.h>

struct caps {
    unsigned int id;
    rwlock_t lock;
    unsigned long bits;
};

#endif /* __XEN_CAPS_H__ */
"""

_RULE = """\
name = "caps_lock"
description = "struct caps' lock, read on every query."
paths = ["xen"]

[lock]
struct = "caps"
field = "lock"
old_type = "rwlock_t"
new_type = "percpu_rwlock_t"
owner = "caps_rwlock"

[wrappers]
param = "c"
template = "wrappers/percpu.c.j2"
read_lock = "caps_read_lock"
read_unlock = "caps_read_unlock"
write_lock = "caps_write_lock"
write_unlock = "caps_write_unlock"

[calls]
rwlock_init = "percpu_rwlock_resource_init"
rw_is_write_locked = "percpu_rw_is_write_locked"
rw_is_locked = "comment"
comment_template = "comments/rw_is_locked.c.j2"

[commit]
subject = "caps: convert the lock to a percpu rwlock"
body = "Queries read it; convert it into a percpu rwlock."
"""


def caps_tree(tmp_path: Path, source: str) -> Path:
    """The fixture tree with caps.h and ``source`` as common/caps.c."""
    root = Path(shutil.copytree(FIXTURE, tmp_path / "xen-tree"))
    (root / "xen/include/xen/caps.h").write_text(_HEADER)
    (root / "xen/common/caps.c").write_text(source)
    return root


def caps_rule(tmp_path: Path) -> str:
    """The rule's file."""
    path = tmp_path / "caps_lock.toml"
    path.write_text(_RULE)
    return str(path)
