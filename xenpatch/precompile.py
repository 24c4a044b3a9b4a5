"""``python -m xenpatch.precompile``: the methods dataclasses writes for
the package's classes, compiled and kept (methodcode.py), as compileall
keeps the modules' bytecode: an install's step (scripts/setup.sh)."""

from __future__ import annotations

import sys

from xenpatch import methodcode

if __name__ == "__main__":
    sys.exit(methodcode.compile_all())
