"""The tree read once for the settles (lint/treescan.py): the asks answered
from one scan, shared, are those of each file read afresh for each ask."""

from __future__ import annotations

from pathlib import Path

from xenpatch.lint import irqcalls
from xenpatch.lint.treescan import TreeScan

_FILES = {
    "include/xen/spinlock.h": b"/* marks the tree's root */\n",
    "include/xen/pin.h": b"int pin_set(int v);\n#define PIN_ON() pin_set(1)\n",
    "include/xen/proto.h": b"/* pin_get() */\nint pin_get(void);\n",
    "arch/pin.c": b"int pin_set(int v)\n{\n    return v;\n}\n\nint pin_get(void)\n"
                  b"{\n    return 0;\n}\n",
    "arch/use.c": b"void use(void)\n{\n    pin_set(2); /* pin_get() */\n}\n",
    "arch/twice.c": b"static int pin_get(void)\n{\n    return 1;\n}\n",
    "arch/entry.S": b"    call pin_set\n",
}


def _tree(tmp_path: Path) -> Path:
    for rel, text in _FILES.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text)
    return tmp_path


def test_mentions_the_same_from_one_shared_scan(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    asks = [({"pin_set"}, None, None), ({"pin_get", "pin_set"}, {"pin_get"}, None),
            ({"pin_set", "nowhere"}, None, {"pin_set": {root / "arch" / "use.c"}})]
    fresh = [irqcalls._mentions(root, n, f, s) for n, f, s in asks]
    scan = TreeScan(root)
    shared = [irqcalls._mentions(root, n, f, s, scan) for n, f, s in asks]
    assert shared == fresh
    got = fresh[0]["pin_set"]
    assert got[root / "arch" / "pin.c"] == "def"
    assert got[root / "arch" / "use.c"] == "use"
    assert got[root / "arch" / "entry.S"] == "use"
    assert got[root / "include" / "xen" / "pin.h"] == "use"  # the macro calls it
    # A comment names nothing: proto.h declares pin_get() only.
    assert fresh[1]["pin_get"][root / "include" / "xen" / "proto.h"] == "proto"
    assert root / "arch" / "use.c" not in fresh[1]["pin_get"]
    # A use in a file not stated drops the name from the later files.
    assert set(fresh[2]["pin_set"]) == {root / "arch" / "entry.S"}


def test_defined_once_the_same_from_one_shared_scan(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    names = {"pin_set", "pin_get", "use"}
    scan = TreeScan(root)
    assert irqcalls._defined_once(root, names, None, scan) == \
        irqcalls._defined_once(root, names) == {"pin_set", "pin_get", "use"}


def test_prototypes_only_with_the_directives_given() -> None:
    code = b"#define CALL() f(1)\nint f(int);\nint g(int);\nstruct s { int (*g)(int); };\n"
    text = irqcalls._directive_text(code)
    for name, want in (("f", False), ("g", False), ("h", True)):
        assert irqcalls.prototypes_only(code, name) is want
        assert irqcalls.prototypes_only(code, name, text) is want
    assert irqcalls.prototypes_only(b"int g(int);\nlong g(int);\n", "g")
