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

    def __init__(self, what: str, reason: str | None = None, *,
                 details: list[str] | None = None) -> None:
        if reason is None:
            # one preformatted message, ``path[:line]: reason`` by convention;
            # str() stays that message
            message = str(what)
            what, sep, reason = message.partition(": ")
            if not sep:
                what, reason = "", message
        else:
            message = f"{what}: {reason}"
        super().__init__(message)
        self.what = what
        self.reason = reason
        self.path = what  # the file (or other thing) the message names
        # Lines printed above the message, each naming its own place (the
        # sites a refused conversion cannot convert).
        self.details = tuple(details or ())

    def line(self) -> str:
        """The message as the CLI prints it."""
        return f"xenpatch: {self}"


class GitError(XenpatchError):
    """A repository the user pointed at cannot do what was asked."""
