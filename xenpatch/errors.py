"""The base of every error xenpatch reports to the user as one line.

A subclass names the thing that is wrong (``what``: a file, an option, a
revision) and why (``reason``); ``xenpatch.cli`` prints
``xenpatch: <what>: <reason>`` and exits with 2 for any of them, so a new
error class needs no handler of its own.  This module imports nothing of
xenpatch: every layer may raise these.
"""

from __future__ import annotations


class XenpatchError(Exception):
    """A one-line user-facing failure: bad input or an environment problem."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason

    @property
    def path(self) -> str:
        """The file (or other thing) the message names."""
        return self.what

    def line(self) -> str:
        """The message as the CLI prints it."""
        return f"xenpatch: {self.what}: {self.reason}"


class GitError(XenpatchError):
    """A repository the user pointed at cannot do what was asked."""
