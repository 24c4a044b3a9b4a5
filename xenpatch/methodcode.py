"""The methods ``@dataclass`` writes for each class, compiled once per
install instead of at every start.

For each class, ``dataclasses`` writes the source of its ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` (and a frozen class's
``__setattr__``/``__delattr__``) and compiles it as the module is
imported: on Python 3.11, for the ~90 dataclasses a lint run imports, 467
compiles, ~0.03-0.045 s of the ~0.1 s its imports take, on the critical
path of every single-file run (the pre-commit hook's).  Their code objects
are kept beside the package's bytecode (``__pycache__/``), each under the
exact text it was compiled from, and the ``exec`` dataclasses calls on a
text runs the kept code of that very text: what compiling it gives (the
same source, file name ``<string>`` and flags: no future statement, as
dataclasses.py has none), so no class differs.  A text not kept is
compiled as before.

The file is written like bytecode: by ``python -m xenpatch.precompile``
(the install's compile step, as compileall writes .pyc files), and by a
run that compiled a text not kept, unless bytecode is not to be written
(PYTHONDONTWRITEBYTECODE).  Unreadable, or of another Python (its name
carries the interpreter's cache tag and bytecode magic number): not used.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

# Named by the interpreter and its bytecode's magic number, as a .pyc is
# checked: code objects of another Python are never read.
FILE = Path(__file__).parent / "__pycache__" / (
    f"dataclass-methods.{sys.implementation.cache_tag}.{MAGIC_NUMBER.hex()}.marshal")

# The texts and their code, as read from FILE (None: not read yet) and
# compiled since.
_kept: dict[str, CodeType] | None = None
_new = False


def install() -> None:
    """dataclasses' compiles answered from FILE from now on (once per
    process; not where dataclasses compiles under a future statement,
    which the kept code would not carry)."""
    import __future__

    if "exec" in vars(dataclasses):
        return  # done already (or dataclasses has an exec of its own)
    if any(isinstance(v, __future__._Feature) for v in vars(dataclasses).values()):
        return
    dataclasses.exec = _exec  # type: ignore[attr-defined]


def _load() -> dict[str, CodeType]:
    try:
        data = marshal.loads(FILE.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _exec(source: Any, globals: dict[str, Any] | None = None,  # noqa: A002
          locals: Any = None, /) -> None:  # noqa: A002
    """``exec(source, globals, locals)`` as dataclasses calls it, a text's
    code taken from FILE where kept."""
    global _kept, _new
    if globals is None:
        # As exec() itself: the caller's namespaces.
        frame = sys._getframe(1)
        globals = frame.f_globals  # noqa: A001
        if locals is None:
            locals = frame.f_locals  # noqa: A001
    if isinstance(source, str):
        if _kept is None:
            _kept = _load()
        code = _kept.get(source)
        if code is None:
            code = _kept[source] = compile(source, "<string>", "exec", dont_inherit=True)
            _new = True
        source = code
    builtins.exec(source, globals, locals)


def save(force: bool = False) -> None:
    """FILE written with every text kept or compiled in this process, if
    some were compiled here (``force``: even where bytecode is not to be
    written); written whole or not at all, and no error if it cannot be."""
    global _new
    if not _new or _kept is None or sys.dont_write_bytecode and not force:
        return
    tmp = FILE.with_name(f"{FILE.name}.{os.getpid()}.tmp")
    try:
        FILE.parent.mkdir(exist_ok=True)
        tmp.write_bytes(marshal.dumps(_kept))
        os.replace(tmp, FILE)
    except OSError:
        tmp.unlink(missing_ok=True)
        return
    _new = False


def compile_all() -> int:
    """Every module of the package imported, FILE written anew with their
    classes' texts (the install's step, beside compileall)."""
    import importlib
    import pkgutil

    global _kept, _new

    # Only what the package's classes compile: texts of an older version
    # are left out.  (Before this, only the package and this module are
    # imported: no class is made yet.)  The package's folder is this
    # module's: importing the package here would close an import cycle.
    _kept, _new = {}, True
    for mod in pkgutil.walk_packages([str(Path(__file__).parent)], "xenpatch."):
        try:
            importlib.import_module(mod.name)
        except Exception:  # noqa: BLE001, S112 -- a module needing more than a lint: skipped
            continue
    save(force=True)
    return 0

