"""The one jinja2 set-up behind every generated text (C, commit messages, mails).

Undefined names fail loudly: a typo in a template must not write a hole into
C code or a mail.  A user's folder, when given, is searched before the
shipped templates, so any template can be overridden by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2


def environment(search: Sequence[str | os.PathLike[str]],
                filters: dict[str, Callable[..., object]] | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(filters or {})
    return env


def search_path(override: str | os.PathLike[str] | None, shipped: Path) -> list[str]:
    return ([str(override)] if override is not None else []) + [str(shipped)]
