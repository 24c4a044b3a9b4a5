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

from xenpatch import git, templating
from xenpatch.series.errors import SeriesError
from xenpatch.series.mail import TEMPLATES_ROOT, wrap_paragraph

COMMIT_TEMPLATE = "commit-message.j2"


def _files(value: Any, sites: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """Accept {path: sites}, [(path, sites)], [{"path":…, "sites":…}], or a
    plain list of paths with the counts in a separate ``sites`` mapping."""
    sites = sites or {}
    if isinstance(value, Mapping):
        items = [{"path": str(k), "sites": int(v)} for k, v in value.items()]
    else:
        items = []
        for entry in value:
            if isinstance(entry, Mapping):
                items.append({"path": str(entry["path"]), "sites": int(entry["sites"])})
            elif isinstance(entry, str | os.PathLike):
                items.append({"path": str(entry), "sites": int(sites.get(str(entry), 0))})
            else:
                path, count = entry
                items.append({"path": str(path), "sites": int(count)})
    return sorted(items, key=lambda f: f["path"])


def render_commit_message(
    context: Mapping[str, Any],
    *,
    repo_dir: str | os.PathLike[str] | None = None,
    templates: str | os.PathLike[str] | None = None,
) -> str:
    """Render the commit message for one conversion rule.

    ``context`` keys: ``rule``, ``struct``, ``field``, ``owner``, ``files``
    (path → site count, a list of pairs / dicts, or a list of paths with
    ``sites`` mapping path → count), ``description``.  Optional:
    ``subject`` (else ``<subsystem>: convert <owner> <old_kind> to
    <new_kind>``, ``subsystem`` defaulting to ``struct``), ``body`` (an
    authored body, used as written instead of the wrapped description),
    ``old_kind``/``new_kind`` or ``old_type``/``new_type`` (``rwlock_t`` →
    "rwlock"), ``site_count``, and ``signed_off_by``, which otherwise comes
    from the git config of ``repo_dir`` (default: the current repository).

    The result ends with a single newline, as git stores messages.
    """
    ctx = dict(context)
    sites = ctx.get("sites") if isinstance(ctx.get("sites"), Mapping) else None
    ctx["files"] = _files(ctx.get("files", []), sites)
    ctx.setdefault("total_sites", ctx.get("site_count", sum(f["sites"] for f in ctx["files"])))
    ctx.setdefault("file_count", len(ctx["files"]))
    # lock kinds for a generated subject: rule files speak in C types
    kinds = {"rwlock_t": "rwlock", "percpu_rwlock_t": "percpu rwlock", "spinlock_t": "spinlock"}
    if "old_kind" not in ctx and ctx.get("old_type"):
        ctx["old_kind"] = kinds.get(str(ctx["old_type"]), str(ctx["old_type"]))
    if "new_kind" not in ctx and ctx.get("new_type"):
        ctx["new_kind"] = kinds.get(str(ctx["new_type"]), str(ctx["new_type"]))
    if not ctx.get("signed_off_by"):
        ctx["signed_off_by"] = git.signoff(repo_dir if repo_dir is not None else os.getcwd())
    env = templating.environment(templating.search_path(templates, TEMPLATES_ROOT),
                                 {"wrap": wrap_paragraph})
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
