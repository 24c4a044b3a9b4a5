"""Commit messages of the rewrite, from ``templates/commit-message.j2``.

Kept generic on purpose: a dict in, a string out.  The rewrite decides what
it says; the template decides how it reads; git.commit_files records it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from xenpatch.series import git
from xenpatch.series.errors import SeriesError
from xenpatch.series.mail import TEMPLATES_ROOT, wrap_paragraph

COMMIT_TEMPLATE = "commit-message.j2"


def _files(value: Any) -> list[dict[str, Any]]:
    """Accept {path: sites}, [(path, sites)] or [{"path":…, "sites":…}]."""
    if isinstance(value, Mapping):
        items = [{"path": str(k), "sites": int(v)} for k, v in value.items()]
    else:
        items = []
        for entry in value:
            if isinstance(entry, Mapping):
                items.append({"path": str(entry["path"]), "sites": int(entry["sites"])})
            else:
                path, sites = entry
                items.append({"path": str(path), "sites": int(sites)})
    return sorted(items, key=lambda f: f["path"])


def render_commit_message(
    context: Mapping[str, Any],
    *,
    repo_dir: str | os.PathLike[str] | None = None,
    templates: str | os.PathLike[str] | None = None,
) -> str:
    """Render the commit message for one conversion rule.

    ``context`` keys: ``rule``, ``subsystem``, ``struct``, ``field``,
    ``owner``, ``files`` (path → site count, or a list of pairs / dicts),
    ``description``; optional ``subject`` (replaces the generated one),
    ``old_kind``/``new_kind`` (default "rwlock" → "percpu rwlock") and
    ``signed_off_by``, which otherwise comes from the git config of
    ``repo_dir`` (default: the current directory's repository).

    The result ends with a single newline, as git stores messages.
    """
    ctx = dict(context)
    ctx["files"] = _files(ctx.get("files", []))
    ctx.setdefault("total_sites", sum(f["sites"] for f in ctx["files"]))
    ctx.setdefault("file_count", len(ctx["files"]))
    if not ctx.get("signed_off_by"):
        ctx["signed_off_by"] = git.signoff(repo_dir if repo_dir is not None else os.getcwd())
    paths = [str(templates)] if templates is not None else []
    paths.append(str(TEMPLATES_ROOT))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["wrap"] = wrap_paragraph
    try:
        text = env.get_template(COMMIT_TEMPLATE).render(**ctx)
    except jinja2.UndefinedError as exc:
        raise SeriesError(COMMIT_TEMPLATE, f"context is missing a key: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise SeriesError(COMMIT_TEMPLATE, str(exc).splitlines()[0]) from exc
    # git strips trailing blank lines and keeps one newline
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    out: list[str] = []
    for line in lines:  # squeeze runs of blank lines as `git commit` does
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def template_path(templates: str | os.PathLike[str] | None = None) -> Path:
    base = Path(templates) if templates is not None else TEMPLATES_ROOT
    return base / COMMIT_TEMPLATE
