"""One object sent to a pool's workers once each, through a temp file,
instead of with every chunk of tasks (the tree's exports were unpickled a
hundred and sixty times over Xen 4.17 that way).

The file is removed when the pass ends; one left by a run killed outright
(SIGKILL, a power cut: no ``finally`` runs) is named after the run's
process id and removed by the next run once that process is gone.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch.cachefiles import sweep_dead

PREFIX = "xenpatch-exports-"
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-[^/]*\.pickle")


@dataclass(frozen=True)
class Shipped:
    """The file holding the object (what each task carries)."""

    path: str


_RECEIVED: dict[str, Any] = {}


def received(sent: Shipped) -> Any:
    """The object, read once per process.  Only the last one is held: a
    pass's tasks all carry the same, and a worker of a whole-tree run would
    otherwise hold each round's tree summaries to its end."""
    got = _RECEIVED.get(sent.path)
    if got is None:
        with open(sent.path, "rb") as fh:
            got = pickle.load(fh)
        _RECEIVED.clear()
        _RECEIVED[sent.path] = got
    return got


@contextmanager
def to_workers(obj: Any, mapper: Callable[..., Iterable[Any]]) -> Iterator[Any]:
    """What to send with each task: ``obj`` itself in this process (``map``),
    else a Shipped file holding it, removed once the pass is done."""
    if mapper is map:
        yield obj
        return
    folder = Path(tempfile.gettempdir())
    sweep(folder)
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".pickle",
                                dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        yield Shipped(name)
    finally:
        os.unlink(name)


def sweep(folder: Path) -> list[Path]:
    """Remove the files of runs whose process is gone; the removed ones."""
    return sweep_dead(folder, _NAME)
