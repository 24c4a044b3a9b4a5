"""Where the lint finds a tree's lock helpers: the common headers, the arch
headers in both of Xen's layouts, and the private headers beside a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

USER = """void f(struct foo *x, int bad)
{
    foo_lock(x);
    if ( bad )
        return;
    foo_unlock(x);
}
"""


@pytest.mark.parametrize("asm", ["arch/x86/include/asm", "include/asm-x86"])
def test_arch_header_macros_in_either_layout(tmp_path: Path, asm: str) -> None:
    # include/asm-<arch>/ until Xen 4.17 moved the headers under arch/.
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    (xen / asm).mkdir(parents=True)
    (xen / asm / "foo.h").write_text(
        "#define foo_lock(f)   spin_lock(&(f)->lock)\n"
        "#define foo_unlock(f) spin_unlock(&(f)->lock)\n"
    )
    c = xen / "arch" / "x86" / "user.c"
    c.parent.mkdir(parents=True, exist_ok=True)
    c.write_text(USER)
    found = lint_file(c, "user.c", LintConfig.load()).findings
    assert [(f.line, f.check) for f in found] == [(5, "XL001")]


def test_the_other_architectures_ifdef_side_is_not_a_path(tmp_path: Path) -> None:
    # Common code is linted as x86's build (rules/lint.toml [cfg.arch.x86]):
    # the #else of "#ifdef CONFIG_X86" is ARM's, where no lock was taken.
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    c = xen / "common" / "memory.c"
    c.parent.mkdir(parents=True)
    c.write_text(
        "static DEFINE_SPINLOCK(l);\n"
        "int f(void)\n{\n"
        "#ifdef CONFIG_X86\n    spin_lock(&l);\n#else\n    arm_only();\n#endif\n"
        "    spin_unlock(&l);\n    return 0;\n}\n"
        "int g(void)\n{\n"
        "#ifdef CONFIG_SOMETHING\n    spin_lock(&l);\n#endif\n"
        "    spin_unlock(&l);\n    return 0;\n}\n"
    )
    found = lint_file(c, "memory.c", LintConfig.load()).findings
    # f() is clean; g()'s symbol is unknown, so both sides stay paths.
    assert [(f.function, f.check) for f in found] == [("g", "XL002")]


@pytest.mark.parametrize("body", ["{\n}", "{ /* a noop for now */ }", "{ put_ref(p2m); }"])
def test_a_table_helper_defined_empty_in_a_header_does_nothing(tmp_path: Path,
                                                               body: str) -> None:
    # __put_gfn() is the table's release of the p2m lock; a tree whose
    # header defines it with an empty body (Xen 4.2's placeholder) releases
    # nothing there.  A body that does something keeps the table's word.
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    asm = xen / "include" / "asm-x86"
    asm.mkdir(parents=True)
    (asm / "p2m.h").write_text(
        "static inline void __put_gfn(struct p2m_domain *p2m, unsigned long gfn)\n"
        f"{body}\n"
        "#define put_gfn(d, g) __put_gfn(host_p2m(d), (g))\n"
        "void p2m_lock_all(struct p2m_domain *p2m);\n"
    )
    c = xen / "arch" / "x86" / "user.c"
    c.parent.mkdir(parents=True)
    c.write_text(
        "int f(domid_t id, unsigned long g, int all)\n{\n"
        "    struct domain *d = find(id);\n"
        "    if ( all )\n    {\n"
        "        spin_lock(&host_p2m(d)->lock);\n"
        "        spin_unlock(&host_p2m(d)->lock);\n"
        "        return 1;\n    }\n"
        "    put_gfn(d, g);\n"
        "    return 0;\n}\n"
    )
    found = [(f.line, f.check) for f in lint_file(c, "user.c", LintConfig.load()).findings]
    assert found == ([] if "put_ref" not in body else [(10, "XL002")])
