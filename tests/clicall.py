"""The command line called in-process, as the tests of each command call it."""

from __future__ import annotations

import pytest

from xenpatch.cli import main


def xp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``xenpatch ARGV...``: its exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
