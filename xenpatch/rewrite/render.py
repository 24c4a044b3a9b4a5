"""Generated C text (wrappers, comments) from jinja2 templates in templates/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from xenpatch.paths import templates_dir


@cache
def _env(root: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, root: Path | None = None, **context: object) -> str:
    try:
        return _env(str(root or templates_dir())).get_template(template).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{template}: {exc}") from None


class RenderError(Exception):
    pass


def indent_block(text: str, indent: str) -> str:
    """Indent every non-empty line; the comment template knows no indentation."""
    return "".join(indent + line if line.strip() else line for line in text.splitlines(True))
