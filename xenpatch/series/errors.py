"""One exception for every user-facing failure of the series capability.

The CLI prints ``xenpatch: <what>: <reason>`` from it and exits with 2, so the
message must already be a single line that names the thing that is wrong.
"""

from __future__ import annotations


class SeriesError(Exception):
    """A one-line user error: bad input, unset identity, dirty tree, ..."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason

    def line(self) -> str:
        """The message as the CLI prints it."""
        return f"xenpatch: {self.what}: {self.reason}"
