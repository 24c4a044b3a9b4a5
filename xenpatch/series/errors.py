"""One exception for every user-facing failure of the series capability.

The CLI prints ``xenpatch: <what>: <reason>`` from it and exits with 2, so the
message must already be a single line that names the thing that is wrong.
"""

from __future__ import annotations

from xenpatch.errors import XenpatchError


class SeriesError(XenpatchError):
    """A one-line user error: bad input, unset identity, dirty tree, ..."""
