"""``lint --since REV``: judge a change by the findings it adds.

The same files are linted as they are at ``REV`` (their blobs read from
git, no checkout, with the tree around them as it is now: the headers and
the other files' summaries are the same on both sides, so only the files'
own changes count), and only the findings whose fingerprints the old
versions lack are reported.  Fingerprints do not contain line numbers, so
code that moved is not new.
"""

from __future__ import annotations

from pathlib import Path

from xenpatch.c.texts import read_or_none
from xenpatch.lint.findings import FileResult, Finding
from xenpatch.lint.fingerprints import Anchor, new_since, text_anchor
from xenpatch.lint.inputs import UsageError
from xenpatch.lint.locate import Locator, git_top
from xenpatch.lint.run import lint_files


def old_contents(rev: str, files: list[tuple[Path, str]]) -> dict[Path, bytes | None]:
    """Each file's content at ``rev``, at its path or the one git sees it
    renamed from (None: absent there)."""
    from xenpatch import git
    from xenpatch.errors import XenpatchError
    from xenpatch.git.repo import renamed_from

    out: dict[Path, bytes | None] = {}
    tops: dict[Path, Path] = {}
    sha: dict[Path, str | None] = {}
    for path, display in files:
        real = path.resolve()
        top = tops.get(real.parent)
        if top is None:
            found = git_top(real.parent)
            if found is None:
                raise UsageError(f"{display}: not in a git work tree (--since needs one)")
            top = tops[real.parent] = found
        try:
            if top not in sha:
                sha[top] = git.resolve_commit_or_unborn(top, rev)
            at = sha[top]
            if at is None:
                # HEAD before the first commit: every file is new.
                out[path] = None
                continue
            rel = real.relative_to(top).as_posix()
            out[path] = git.read_blob(top, at, rel)
            if out[path] is None:
                # A file moved since: its old findings are not new.
                was = renamed_from(top, at, rel)
                out[path] = git.read_blob(top, at, was) if was is not None else None
        except XenpatchError as exc:
            raise UsageError(f"{exc.what}: {exc.reason}") from exc
    return out


def new_findings_since(rev: str, files: list[tuple[Path, str]], results: list[FileResult],
                       locator: Locator, jobs: int | None, rules: Path | None,
                       tree: bool = True) -> list[Finding]:
    """The findings of ``results`` (the files as they are) that the files at
    ``rev`` do not have, in report order."""
    # Read first whatever the answer: a revision git cannot resolve, or files
    # outside a work tree, are bad input even where nothing is found.
    contents = old_contents(rev, files)
    after = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    if not after:
        # Nothing found now, so nothing is new, whatever the files had at
        # ``rev``: their lint there could only remove findings (most
        # commits: the hook's patch mode lints one version, not two).
        return []
    present = [item for item in files if contents[item[0]] is not None]
    before = lint_files(present, jobs, rules, tree=tree,
                        contents={p: c for p, c in contents.items() if c is not None})
    for r in before:
        if r.error is not None:
            raise UsageError(f"{r.error} (at {rev})")
    old = [f for r in before for f in r.findings]
    now = {path: read_or_none(path) for path, _ in files}
    return new_since(old, after, locator.name, (anchor(files, contents), anchor(files, now)))


def anchor(files: list[tuple[Path, str]], texts: dict[Path, bytes | None]) -> Anchor:
    """fingerprints.text_anchor() of the files' ``texts``, by display name."""
    return text_anchor({display: texts.get(path) for path, display in files})
