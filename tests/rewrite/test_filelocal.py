"""A struct defined in a .c file: only that file sees its lock, so the
owner is one static DEFINE before the wrappers, as upstream left
grant_table.c when struct grant_table moved there (0581b81c2a), not a
DECLARE for other files plus a DEFINE further down."""

from __future__ import annotations

from pathlib import Path

import pytest
from capstree import caps_rule, caps_tree
from clicall import xp

SOURCE = """\
#include <xen/types.h>
#include <xen/spinlock.h>

/* The set, private to this file. */
struct caps {
    unsigned int id;
    rwlock_t lock;
    unsigned long bits;
};

void caps_init(struct caps *c)
{
    rwlock_init(&c->lock);
}

bool caps_test(struct caps *c, unsigned int bit)
{
    bool set;

    read_lock(&c->lock);
    set = c->bits & (1UL << bit);
    read_unlock(&c->lock);
    return set;
}
"""


def test_owner_of_a_file_local_struct_is_one_static_define(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tree = caps_tree(tmp_path, SOURCE)
    (tree / "xen/include/xen/caps.h").unlink()  # the struct is caps.c's own
    code, out, err = xp(capsys, "rewrite", "--rule", caps_rule(tmp_path), "--in-place",
                        str(tree))
    assert code == 0, err
    text = (tree / "xen/common/caps.c").read_text()
    assert "DECLARE_PERCPU_RWLOCK_GLOBAL" not in text
    assert text.count("DEFINE_PERCPU_RWLOCK_GLOBAL") == 1
    # After the struct, before the wrappers that use it.
    assert "};\n\nstatic DEFINE_PERCPU_RWLOCK_GLOBAL(caps_rwlock);\n\nstatic inline void " \
        "caps_read_lock(struct caps *c)\n" in text, text
    assert text.index("caps_read_lock(struct caps *c)") < text.index("void caps_init(")
    assert "    percpu_rwlock_resource_init(&c->lock, caps_rwlock);\n" in text
