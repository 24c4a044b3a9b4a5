"""The methods dataclasses writes, compiled once per install
(xenpatch/methodcode.py): a class made with the kept code is the class
made by compiling its texts, method for method."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch import methodcode


def _make(spec: dict[str, Any]) -> type:
    fields: list[Any] = []
    for i, (kind, default) in enumerate(spec["fields"]):
        name = f"f{i}"
        if default is None:
            fields.append((name, kind))
        elif default == "factory":
            fields.append((name, kind, dataclasses.field(default_factory=list)))
        else:
            fields.append((name, kind, dataclasses.field(default=default, compare=i % 2 == 0)))
    return dataclasses.make_dataclass(
        "C", fields, frozen=spec["frozen"], eq=spec["eq"], order=spec["order"] and spec["eq"],
        unsafe_hash=spec["hash"], kw_only=spec["kw_only"], slots=spec["slots"])


def _methods(cls: type) -> dict[str, bytes]:
    """Each method dataclasses made, as its code marshals (all of it:
    instructions, names, constants, file name, lines)."""
    out = {}
    for name in ("__init__", "__repr__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__",
                 "__hash__", "__setattr__", "__delattr__"):
        fn = cls.__dict__.get(name)
        code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
        if code is not None:
            out[name] = marshal.dumps(code)
    return out


def _instances(cls: type, spec: dict[str, Any]) -> list[Any]:
    args = [[1, 2][i % 2] if d is None else d if d != "factory" else [] for i, (_, d) in
            enumerate(spec["fields"])]
    names = [f"f{i}" for i in range(len(args))]
    made = cls(**dict(zip(names, args, strict=True)))
    return [made, repr(made), made == made]


@pytest.fixture
def kept_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hook installed, with a file of its own (nothing kept yet)."""
    file = tmp_path / "__pycache__" / "methods.marshal"
    monkeypatch.setattr(methodcode, "FILE", file)
    monkeypatch.setattr(methodcode, "_kept", None)
    monkeypatch.setattr(methodcode, "_new", False)
    monkeypatch.setattr(dataclasses, "exec", methodcode._exec, raising=False)
    return file


_SPECS = st.fixed_dictionaries({
    "fields": st.lists(st.tuples(st.sampled_from([int, "str", "list[int]"]),
                                 st.sampled_from([None, 0, "x", "factory"])), max_size=5),
    "frozen": st.booleans(), "eq": st.booleans(), "order": st.booleans(),
    "hash": st.booleans(), "kw_only": st.booleans(), "slots": st.booleans()})


@settings(max_examples=60, deadline=None)
@given(spec=_SPECS)
def test_a_class_made_with_kept_code_is_the_class_compiled(
        spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    vars(dataclasses).pop("exec", None)  # as dataclasses is without the hook
    # Fields with defaults after fields without are a TypeError either way.
    try:
        plain = _make(spec)
    except TypeError:
        return
    file = tmp_path_factory.mktemp("kept") / "methods.marshal"
    saved = methodcode.FILE, methodcode._kept, methodcode._new
    methodcode.FILE, methodcode._kept, methodcode._new = file, None, False
    dataclasses.exec = methodcode._exec  # type: ignore[attr-defined]
    try:
        compiled = _make(spec)  # the texts compiled by the hook, then kept
        methodcode.save(force=True)
        methodcode._kept = None
        kept = _make(spec)  # every text's code read back from the file
        assert methodcode._new is False
    finally:
        methodcode.FILE, methodcode._kept, methodcode._new = saved
    assert _methods(compiled) == _methods(plain) == _methods(kept)
    assert _instances(kept, spec)[1:] == _instances(plain, spec)[1:]


def test_a_run_writes_the_file_only_where_bytecode_is_written(
        kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataclasses.make_dataclass("D", [("a", int)])
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    methodcode.save()
    assert not kept_in.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    methodcode.save()
    assert kept_in.exists()
    # An unreadable file: compiled as before.
    kept_in.write_bytes(b"not marshal")
    methodcode._kept = None
    assert _methods(dataclasses.make_dataclass("D", [("a", int)]))


def test_the_install_step_keeps_every_text_a_lint_compiles(tmp_path: Path) -> None:
    """python -m xenpatch.precompile writes what a lint run then compiles
    none of (the package's classes, in a new process)."""
    env_code = (
        "import sys, dataclasses\n"
        "from pathlib import Path\n"
        "from xenpatch import methodcode\n"
        "methodcode.FILE = Path(sys.argv[1])\n"
        "if sys.argv[2] == 'all':\n"
        "    sys.exit(methodcode.compile_all())\n"
        "import xenpatch.lint.run, xenpatch.lint.lazyrun, xenpatch.lint.lazyrounds\n"
        "import xenpatch.lint.report, xenpatch.lint.upcallers\n"
        "print(int(methodcode._new), len(methodcode._kept or {}))\n")
    file = tmp_path / "methods.marshal"
    run = [sys.executable, "-c", env_code, str(file)]
    env = {**os.environ, "PYTHONPATH": str(Path(methodcode.__file__).parent.parent)}
    subprocess.run([*run, "all"], check=True, env=env)
    assert file.exists()
    out = subprocess.run([*run, "lint"], check=True, capture_output=True, text=True, env=env)
    new, kept = map(int, out.stdout.split())
    assert new == 0 and kept > 100
