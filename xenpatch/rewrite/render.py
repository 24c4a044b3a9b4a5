"""Generated C text (wrappers, comments) from jinja2 templates in templates/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from xenpatch import templating
from xenpatch.errors import XenpatchError
from xenpatch.paths import templates_dir


class RenderError(XenpatchError):
    pass


@cache
def _env(root: str) -> jinja2.Environment:
    return templating.environment([root])


def render(template: str, root: Path | None = None, **context: object) -> str:
    base = root or templates_dir()
    try:
        return _env(str(base)).get_template(template).render(**context)
    except jinja2.TemplateNotFound:
        raise RenderError(f"{base / template}: template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{base / template}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{base / template}: {exc}") from None


def indent_block(text: str, indent: str) -> str:
    """Indent every non-empty line; the comment template knows no indentation."""
    return "".join(indent + line if line.strip() else line for line in text.splitlines(True))
