"""A take reached only from one architecture's boot path before
spin_debug_enable(), through common code another architecture also calls
(lint/unarmedsettle.py per build, lint/archbuild.py).

fixtures/lint/unarmed2/ is a small tree of the pre-4.16 layout with two
architectures.  devs_lock (common/devices.c) is taken with IRQs on by the
hypercall do_dev_op(), and with IRQs off only by set_handler()
(drivers/iommu/vendor/init.c), reached only from x86's start_hyp() before
its spin_debug_enable(): start_hyp() -> iommu_boot() (common,
drivers/iommu/iommu.c) -> hw_iommu_setup(), an inline of
include/asm-x86/iommu.h beside the prototype of the vendor_detect() it
calls -> vendor_detect() -> vendor_init() -> init_one() -> set_handler().
Arm's start_arm(), which never arms the check, calls iommu_boot() too, and
Arm defines hw_iommu_setup() as a function (drivers/iommu/arm/, a directory
drivers/iommu/Makefile lists under $(arm), a variable arch/arm/Rules.mk
alone sets).  The IRQs-off take latches nothing: no XL017.  Three links
are each needed: the prototype beside the inline is no use of its name,
include/asm-x86/ and the $(x86)/$(arm) directories are one build's, and
the x86 take's entry is settled by the callers an x86 build has."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import alone, copied, edit, found_whole, small_tree, wanted
from xenpatch.lint.archbuild import arches, build_of
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "unarmed2"
FINDING = (12, "XL017")

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_take_one_build_makes_before_the_enable_latches_nothing(jobs: int) -> None:
    got = found_whole(TREE, jobs)
    assert got == wanted(TREE)
    assert got["common/devices.c"] == []


def test_the_hook_keeps_what_the_tree_decides() -> None:
    """One file alone settles no other file's callers (as
    test_unarmed.py): nothing the whole-tree run lacks."""
    assert alone(TREE, "common/devices.c") == []
    assert alone(TREE, "drivers/iommu/vendor/init.c") == []


def test_a_prototype_beside_the_inline_is_no_use(tmp_path: Path) -> None:
    """Link 1: the header's ``extern int vendor_detect(void);`` is accounted
    for; a macro naming it is a use the tree cannot state."""
    from xenpatch.lint.unarmedsettle import _inline_callers

    apis = frozenset({"spin_debug_enable", "spin_debug_disable"})
    h = TREE / "include" / "asm-x86" / "iommu.h"
    assert _inline_callers(h, "vendor_detect", apis, {}) == {"hw_iommu_setup"}
    root = copied(TREE, tmp_path)
    h2 = root / "include" / "asm-x86" / "iommu.h"
    edit(h2, "#endif\n", "#define detect_now() vendor_detect()\n#endif\n")
    assert _inline_callers(h2, "vendor_detect", apis, {}) is None
    assert FINDING in found_whole(root)["common/devices.c"]


def test_the_builds_are_read_from_the_layout_and_makefiles() -> None:
    """Link 2: include/asm-<a>/ and a directory a Makefile lists under a
    variable only a's Rules.mk sets are a's; $(HAS_DEVS), which both set,
    and obj-y are common."""
    assert arches(TREE) == ("arm", "x86")
    want = {"include/asm-x86/iommu.h": "x86", "drivers/iommu/vendor/init.c": "x86",
            "drivers/iommu/vendor/vendor.h": "x86", "drivers/iommu/arm/iommu.c": "arm",
            "arch/arm/setup.c": "arm", "drivers/iommu/iommu.c": None,
            "common/devices.c": None, "include/xen/devices.h": None}
    assert {p: build_of(TREE, TREE / p) for p in want} == want
    assert build_of(TREE, "drivers/iommu/vendor/init.c") is None  # not under the tree


def test_kconfig_symbols_of_one_architecture(tmp_path: Path) -> None:
    """The Kconfig form: ``config X`` only in arch/<a>/Kconfig makes
    $(CONFIG_X) a's; a symbol a common Kconfig also defines is no one's,
    and a target listed under two architectures' symbols is common."""
    root = small_tree(tmp_path / "xen", {
        "arch/pp/Kconfig": "config PP\n\tdef_bool y\nconfig HAS_BUS\n\tbool\n",
        "arch/qq/Kconfig": "config QQ\n\tdef_bool y\n",
        "drivers/Kconfig": "config HAS_BUS\n\tbool\n",
        "drivers/Makefile": "subdir-$(CONFIG_PP) += one\nobj-$(CONFIG_HAS_BUS) += bus.o\n"
                            "obj-$(CONFIG_PP) += two.o \\\n\tboth.o\nobj-$(CONFIG_QQ) += both.o\n",
        "include/asm-generic/x.h": "", "include/asm-qq/y.h": "",
    })
    want = {"drivers/one/a/b.c": "pp", "drivers/bus.c": None, "drivers/two.c": "pp",
            "drivers/both.c": None, "include/asm-generic/x.h": None, "include/asm-qq/y.h": "qq"}
    assert {p: build_of(root, root / p) for p in want} == want


def test_a_directory_both_builds_list_is_common(tmp_path: Path) -> None:
    """Arm's hw_iommu_setup() listed under $(HAS_DEVS), which x86's build
    sets too: defined twice in one build, the x86 inline's callers are not
    stated."""
    root = copied(TREE, tmp_path)
    edit(root / "drivers" / "iommu" / "Makefile", "subdir-$(arm) += arm\n",
         "subdir-$(HAS_DEVS) += arm\n")
    assert FINDING in found_whole(root)["common/devices.c"]


def test_an_x86_caller_with_the_check_on_keeps_it(tmp_path: Path) -> None:
    """Link 3 asks only the x86 build's callers, and those all: a call of
    iommu_boot() after x86's enable keeps the take checked."""
    root = copied(TREE, tmp_path)
    edit(root / "arch" / "x86" / "setup.c", "    spin_debug_enable();\n",
         "    spin_debug_enable();\n    iommu_boot();\n")
    assert FINDING in found_whole(root)["common/devices.c"]


def test_a_common_caller_not_stated_keeps_it(tmp_path: Path) -> None:
    """Only another architecture's files are left out of the x86 build: a
    common file's call of iommu_boot() from a function no C calls (a way
    in from outside) keeps the take checked."""
    root = copied(TREE, tmp_path)
    (root / "common" / "late.c").write_text(
        "#include <xen/devices.h>\n\nvoid late_iommu(void)\n{\n    iommu_boot();\n}\n")
    assert FINDING in found_whole(root)["common/devices.c"]


def test_prototype_mentions() -> None:
    """The declarations at file scope of a name, as prototypes_only()
    reads one; not a call in a body, a macro, a field, a parameter."""
    from xenpatch.lint.irqcalls import prototype_mentions

    text = (b"extern int f(void);\nint f(void) __attribute__((cold));\n"
            b"static inline int g(void)\n{\n    return f();\n}\n"
            b"#define call_f() f()\nstruct ops { int (*f)(void); };\nvoid h(int f);\n")
    assert prototype_mentions(text, "f") == 2
    assert prototype_mentions(b"#define f(x) \\\n    (x)\n", "f") == 0
