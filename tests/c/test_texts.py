"""Reads shared within a run (xenpatch/c/texts.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xenpatch.c import texts


def test_within_a_run_a_file_is_read_once(tmp_path: Path) -> None:
    p = tmp_path / "a.h"
    p.write_bytes(b"one")
    with texts.shared_reads():
        assert texts.read_bytes(p) == b"one"
        p.write_bytes(b"two")
        # Every reader of the run sees the version the run first read.
        assert texts.read_bytes(str(p)) == b"one"
        with texts.shared_reads():
            assert texts.read_bytes(p) == b"one"
    # Outside a run, and in the next, the file as it is.
    assert texts.read_bytes(p) == b"two"
    with texts.shared_reads():
        assert texts.read_bytes(p) == b"two"


def test_errors_are_open_s(tmp_path: Path) -> None:
    with texts.shared_reads(), pytest.raises(FileNotFoundError):
        texts.read_bytes(tmp_path / "missing.h")


def test_a_lint_run_reads_each_header_once(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache's hashing, the macro kinds, the header index and the
    typesafe wrappers all read the tree's headers: once in all."""
    from xenpatch.lint.run import lint_files
    from xenpatch.paths import fixtures_dir

    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text(
        "#define my_lock(l) spin_lock(l)\nstatic inline void f(spinlock_t *l)\n"
        "{\n    spin_lock(l);\n}\n")
    (xen / "common").mkdir()
    src = (fixtures_dir() / "lint" / "basic.c").read_bytes()
    (xen / "common" / "a.c").write_bytes(src)
    (xen / "common" / "b.c").write_bytes(src)
    opened: list[str] = []
    real_open, real_os_open = open, os.open

    def counting(file, *a, **k):  # type: ignore[no-untyped-def]
        if str(file).endswith(".h"):
            opened.append(str(file))
        return real_open(file, *a, **k)

    def os_counting(file, *a, **k):  # type: ignore[no-untyped-def]
        if str(file).endswith(".h"):
            opened.append(str(file))
        return real_os_open(file, *a, **k)

    # Read either way: a file object, or texts.read_bytes()'s one os.read.
    monkeypatch.setattr("builtins.open", counting)
    monkeypatch.setattr(os, "open", os_counting)
    lint_files([(xen / "common" / "a.c", "a.c")], jobs=1)
    assert opened.count(str(xen / "include" / "xen" / "spinlock.h")) == 1, opened


def test_forget_reads_again(tmp_path: Path) -> None:
    p = tmp_path / "a.h"
    p.write_bytes(b"one")
    with texts.shared_reads():
        texts.read_bytes(p)
        p.write_bytes(b"two")
        texts.forget()
        assert texts.read_bytes(p) == b"two"
