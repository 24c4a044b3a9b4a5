"""Which C files a tree's Makefiles build (c/builtobjs.py): the object
lists of a file's own directory, by name only."""

from __future__ import annotations

from pathlib import Path

from xenpatch.c.builtobjs import built_one, is_built, objects
from xenpatch.paths import fixtures_dir

COMMON = fixtures_dir() / "lint" / "irqbuilt" / "common"


def test_the_fixture_trees_objects() -> None:
    assert objects((COMMON / "Makefile").read_text()) == {"grow", "slab", "stats", "user"}
    assert is_built(COMMON / "slab.c") is True
    assert is_built(COMMON / "oldslab.c") is False  # named in a comment only
    assert built_one([COMMON / "oldslab.c", COMMON / "slab.c"]) == 1


def test_list_forms() -> None:
    text = ("obj-y += a.o\nobj-$(CONFIG_B) += b.o c.o\nobj-bin-y += d.init.o\n"
            "lib-y += e.o\nobj-y += \\\n\tf.o\nobj-y += sub/\n")
    assert objects(text) == {"a", "b", "c", "d", "e", "f"}
    # A list built by a pattern, or taken from another Makefile: not read.
    assert objects("obj-y := $(patsubst %.c,%.o,$(wildcard *.c))\n") is None
    assert objects("include $(src)/Makefile.lib\nobj-y += a.o\n") is None


def _tree(tmp_path: Path, makefile: str | None, *names: str) -> Path:
    d = tmp_path / "dir"
    d.mkdir()
    if makefile is not None:
        (d / "Makefile").write_text(makefile)
    for n in names:
        (d / n).write_text("int x;\n")
    return d


def test_unknown_unless_the_makefile_says(tmp_path: Path) -> None:
    d = _tree(tmp_path, None, "a.c")
    assert is_built(d / "a.c") is None  # no Makefile


def test_a_file_a_rule_builds_under_another_name(tmp_path: Path) -> None:
    d = _tree(tmp_path, "obj-y += walk_2.o walk_3.o\nobj-y += guest_4.o\n"
              "guest_%.o: multi.c\n", "walk.c", "multi.c", "other.c")
    assert is_built(d / "walk.c") is None
    assert is_built(d / "multi.c") is None
    assert is_built(d / "other.c") is False


def test_a_file_another_includes(tmp_path: Path) -> None:
    d = _tree(tmp_path, "obj-y += native.o\n", "native.c", "twin.c")
    (d / "native.c").write_text('#include "twin.c"\n')
    assert is_built(d / "twin.c") is None
    assert built_one([d / "twin.c", d / "native.c"]) is None
