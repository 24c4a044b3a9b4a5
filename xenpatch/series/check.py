"""``xenpatch series --check``: would a maintainer's ``git am`` take it, and
would it take what was meant?

Before anything is applied, the mails are searched for unfilled template
placeholders (``*** SUBJECT HERE ***``).  Then the mails are applied one by
one with the real ``git am`` onto BASE in a throw-away clone; after each:

- the commit ``git am`` made must have the original's message, author and
  author date (a ``---`` line or a ``From:`` line in a message changes what
  git am records without failing);
- the lint's findings in the touched files, before and after the patch, are
  compared by fingerprint: any finding the patch adds fails the check, with
  the finding printed, while findings the file already had do not;
- the build command runs (every patch of a series must build on its own).

A function of the touched files the lint could not analyse (unparsed
code, too many states) makes the check incomplete, not passed: "no new
finding" would vouch for code nobody checked (Outcome.INCOMPLETE, exit 3,
as the hook's).

A patch git am refuses is reported with the file and the hunk that did not
apply.  At the end the clone's tree must be HEAD's tree, byte for byte.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch import git
from xenpatch.c.texts import read_or_none
from xenpatch.series.mail import split_message
from xenpatch.series.series import Mail, Series

if TYPE_CHECKING:
    from xenpatch.lint.api import Checked
    from xenpatch.lint.findings import Finding

Report = Callable[[str], None]

_PLACEHOLDER = re.compile(r"\*\*\* .*? \*\*\*")


# --------------------------------------------------------------------------
# placeholders


def _authored_part(m: Mail) -> list[str]:
    """The lines of a mail its author writes or should have edited: not the
    diff, diffstat or range-diff, where a C comment may hold ``*** x ***``."""
    lines = []
    for line in m.text.split("\n"):
        if line.startswith(("diff --git ", "Range-diff against v", "base-commit: ")):
            break
        lines.append(line)
    return lines


def placeholders(series: Series) -> list[str]:
    """One line per unfilled ``*** … ***`` placeholder: file, line, text."""
    found = []
    for m in series.mails:
        for n, line in enumerate(_authored_part(m), start=1):
            for hit in _PLACEHOLDER.findall(line):
                found.append(f"{m.filename}:{n}: unfilled placeholder {hit!r}")
    return found


# --------------------------------------------------------------------------
# lint findings


def _lint(root: Path, files: list[str]) -> Checked | None:
    """The lint's findings and gaps in those of ``files`` (relative to
    ``root``) that exist, paths relative to ``root``; None when the lint
    capability is not installed."""
    try:
        from xenpatch.lint import api
    except ImportError:
        return None
    touched = [root / f for f in files if (root / f).is_file() and f.endswith((".c", ".h"))]
    if not touched:
        return api.Checked([], [], [])
    with contextlib.redirect_stdout(sys.stderr):
        return api.lint_checked(touched, root)


def new_findings(before: list[Finding], after: list[Finding],
                 texts: tuple[dict[str, bytes | None], dict[str, bytes | None]] | None = None,
                 renamed: dict[str, str] | None = None) -> list[Finding]:
    """The findings of ``after`` that ``before`` lacks, compared as ``lint
    --since`` compares them: by the lint's own fingerprints (file,
    function, check, lock, occurrence; never the line), the source texts
    (``texts``: each side's, by path) telling which of a function's
    findings of a kind are the new ones, and a file the patch renames
    (``renamed``: old path -> new) keeping its old findings."""
    from dataclasses import replace

    from xenpatch.lint.api import new_findings_of

    if renamed:
        before = [replace(f, path=renamed.get(f.path, f.path)) for f in before]
        if texts is not None:
            texts = ({renamed.get(p, p): t for p, t in texts[0].items()}, texts[1])
    return new_findings_of(before, after, texts)


def renames(patch_text: str) -> dict[str, str]:
    """Old path -> new path of each file a patch renames (its ``rename
    from``/``rename to`` lines)."""
    out: dict[str, str] = {}
    old: str | None = None
    for line in patch_text.split("\n"):
        if (m := re.match(r"^rename from (\S+)\s*$", line)) is not None:
            old = m.group(1)
        elif (m := re.match(r"^rename to (\S+)\s*$", line)) is not None and old is not None:
            out[old] = m.group(1)
            old = None
    return out


def _texts(root: Path, files: list[str]) -> dict[str, bytes | None]:
    """Each of ``files`` (relative to ``root``) as it is now (None: absent)."""
    return {f: read_or_none(root / f) for f in files}


def show(f: Finding) -> str:
    return f"{f.path}:{f.line}: {f.message} [{f.check}] in {f.function}()"


# --------------------------------------------------------------------------
# what git am made of a mail


def _same_message(a: str, b: str) -> bool:
    """Equal as git am can carry a message: trailing whitespace and runs of
    blank lines are not kept by a mail's round trip, anything else is."""
    ta, ba = split_message(a)
    tb, bb = split_message(b)
    return ta == tb and _squeeze(ba) == _squeeze(bb)


def _squeeze(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text)


def compare_commit(original: git.CommitInfo, applied: git.CommitInfo) -> list[str]:
    """What git am recorded differently from the original commit."""
    problems = []
    if not _same_message(original.text, applied.text):
        want = original.text.rstrip("\n").split("\n")
        got = applied.text.rstrip("\n").split("\n")
        missing = [line for line in want if line.strip() and line not in got]
        extra = [line for line in got if line.strip() and line not in want]
        shown = " / ".join(repr(line) for line in (missing or extra)[:3])
        detail = (f"lost {shown}" if missing else f"gained {shown}") if shown else \
            "its layout changed"
        problems.append(f"git am records another message ({len(missing)} line(s) lost, "
                        f"{len(extra)} gained; {detail}); a '---' or 'diff -' line in the "
                        "message cuts it there")
    a, b = original.author, applied.author
    if (a.name, a.email) != (b.name, b.email):
        problems.append(f"git am records author {b.name} <{b.email}>, "
                        f"not {a.name} <{a.email}> (a 'From:' line opening the body?)")
    if (a.time, a.offset) != (b.time, b.offset):
        problems.append(f"git am records author date {b.time} {b.offset:+}, "
                        f"not {a.time} {a.offset:+}")
    return problems


_FAILED_AT = re.compile(r"^error: patch failed: (.+):(\d+)$", re.M)
_GIT_ERROR = re.compile(r"^error: (.+)$", re.M)


def failed_hunk(mail_text: str, git_output: str) -> list[str]:
    """The file and hunk git am could not apply, from its output and the mail."""
    m = _FAILED_AT.search(git_output)
    if not m:
        errors = [e for e in _GIT_ERROR.findall(git_output) if "could not build fake" not in e]
        return errors[:3] or [git_output.strip().splitlines()[-1] if git_output.strip()
                              else "git am failed"]
    path, line = m.group(1), int(m.group(2))
    out = [f"{path}: the hunk at line {line} does not apply:"]
    section = None
    for chunk in re.split(r"(?m)^(?=diff --git )", mail_text):
        if chunk.startswith("diff --git ") and re.search(
                rf"^\+\+\+ b/{re.escape(path)}$|^--- a/{re.escape(path)}$", chunk, re.M):
            section = chunk
            break
    if section is None:
        return out
    hunks = re.split(r"(?m)^(?=@@ )", section)[1:]
    for hunk in hunks:
        start = re.match(r"@@ -(\d+)", hunk)
        if start and int(start.group(1)) == line:
            body = hunk.split("\n-- \n", 1)[0].rstrip("\n").split("\n")
            return out + body[:20] + (["..."] if len(body) > 20 else [])
    return out


# --------------------------------------------------------------------------
# the check


class Outcome(enum.IntEnum):
    """What a check found, as the command's exit status."""

    PASSED = 0
    FAILED = 1
    # Nothing failed, but the lint could not analyse some function of the
    # touched files: "no new finding" would claim code nobody checked.
    INCOMPLETE = 3

    def __bool__(self) -> bool:
        # PASSED is 0: "if not check(...)" would read a pass as a failure
        # (bench/series_check.py did, when check() returned a bool).
        raise TypeError("compare an Outcome with Outcome.PASSED, FAILED or INCOMPLETE")


def check(
    repo_dir: str | os.PathLike[str],
    series: Series,
    *,
    build_cmd: str | None = None,
    lint: bool = True,
    report: Report = print,
) -> Outcome:
    """PASSED when no placeholder is left and every patch applies as the
    same commit, adds no lint finding and builds, the result is HEAD and
    the lint covered the touched files whole; INCOMPLETE when all that
    holds but for the lint's coverage (the gaps are reported); else FAILED."""
    ok = True
    gaps = 0
    for line in placeholders(series):
        report(f"check: {line}")
        ok = False
    ident = git.identity(repo_dir, "committer")
    _, originals = git.resolve_range(repo_dir, f"{series.base}..{series.head}")
    by_sha = {c.sha: c for c in originals}
    lint_on = lint
    with tempfile.TemporaryDirectory(prefix="xenpatch-check-") as tmp:
        root = Path(tmp)
        mails = root / "mails"
        mails.mkdir()
        clone = root / "clone"
        git.clone_detached(repo_dir, clone, series.base)
        total = len(series.patches)
        for number, patch in enumerate(series.patches, start=1):
            path = mails / patch.filename
            path.write_bytes(patch.text.encode("utf-8", "surrogateescape"))
            where = f"patch {number}/{total} ({patch.title})"
            before = _lint(clone, patch.files) if lint_on else None
            texts_before = _texts(clone, patch.files) if lint_on else {}
            if lint_on and before is None:
                report("check: lint skipped (the lint capability is not installed)")
                lint_on = False
            proc = git.am(clone, path, ident)
            if proc.returncode != 0:
                output = (proc.stderr + proc.stdout).decode(errors="replace")
                report(f"check: {where}: git am failed on {patch.filename}")
                for line in failed_hunk(patch.text, output):
                    report(f"check:   {line}")
                git.run_git(["am", "--abort"], cwd=clone, check=False)
                return Outcome.FAILED
            report(f"check: {where}: git am ok")
            original = by_sha.get(patch.commit or "")
            if original is not None:
                _, (applied,) = git.resolve_range(clone, "HEAD~1..HEAD")
                for problem in compare_commit(original, applied):
                    report(f"check: {where}: {problem}")
                    ok = False
            if lint_on:
                linted = _lint(clone, patch.files)
                after = linted.findings if linted is not None else []
                had = before.findings if before is not None else []
                added = new_findings(had, after,
                                     (texts_before, _texts(clone, patch.files)),
                                     renames(patch.text))
                for finding in added:
                    report(f"check: {where}: new lint finding: {show(finding)}")
                if added:
                    ok = False
                    report(f"check: {where}: lint: {len(added)} new finding(s); the touched "
                           f"files had {len(had)} before the patch")
                else:
                    report(f"check: {where}: lint: no new finding ({len(after)} in the "
                           "touched files, as before)" if after else
                           f"check: {where}: lint: no finding")
                missed = linted.gaps() if linted is not None else []
                for line in missed:
                    report(f"check: {where}: lint: {line}")
                if missed:
                    gaps += len(missed)
                    report(f"check: {where}: lint: incomplete: {len(missed)} place(s) of the "
                           "touched files not analysed (listed above): the patch's findings "
                           "there are not known")
            if build_cmd:
                # the command is the user's own shell line, run in the clone
                proc = subprocess.run(build_cmd, shell=True, cwd=clone,  # noqa: S602
                                      capture_output=True)
                if proc.returncode != 0:
                    tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
                    report(f"check: {where}: build failed (exit {proc.returncode})")
                    for line in tail:
                        report(f"check:   {line}")
                    return Outcome.FAILED
                report(f"check: {where}: build ok")
        got = git.tree_of(clone, "HEAD")
        want = git.tree_of(repo_dir, series.head)
        if got != want:
            report(f"check: the applied series gives tree {got[:12]}, HEAD has {want[:12]}")
            return Outcome.FAILED
        report(f"check: applied on {series.base[:12]}: tree equals HEAD ({want[:12]})")
    if not ok:
        return Outcome.FAILED
    return Outcome.INCOMPLETE if gaps else Outcome.PASSED
