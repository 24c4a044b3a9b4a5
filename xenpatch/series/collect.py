"""``xenpatch trailers`` / ``series --trailers-from``: the trailers of saved
replies, onto the commits of the series.

Flow: the mailbox (trailers.read_replies) and the series' version history
(versions) → which mail of which version stands for which commit of the
range (by the recorded commit, else by ``git patch-id --stable``) →
trailers.collect → each commit's new message (trailers.add_trailers) →
git.reword, unless it is a dry run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch import git
from xenpatch.series import trailers, versions
from xenpatch.series.trailers import Trailer

HISTORY_DEPTH = 5000  # commits read to learn the order of trailers


@dataclass
class Planned:
    sha: str
    subject: str
    added: list[tuple[Trailer, str]]  # the trailer and the reply it came from
    message: str  # the new message


@dataclass
class Result:
    planned: list[Planned]
    unplaced: list[str]
    rewritten: dict[str, str]  # old sha → new sha (empty on a dry run)
    base: str
    head: str  # the range's head after the rewrite
    replies: int = 0  # the mailbox's messages that are not patches


def _message_targets(history: list[dict[str, Any]], commits: list[git.CommitInfo],
                     pids: dict[str, str], repo_dir: str | os.PathLike[str]
                     ) -> dict[str, list[str]]:
    """Message-ID of every recorded mail → the commits of the range it is."""
    in_range = {c.sha for c in commits}
    by_pid = {pid: sha for sha, pid in pids.items()}
    # patch-ids of recorded commits that are not in the range (older versions)
    missing = [p["commit"] for rec in history for p in rec.get("patches", [])
               if p.get("commit") and p["commit"] not in in_range and not p.get("patch_id")
               and git.has_commit(repo_dir, p["commit"])]
    old_pids = git.patch_ids(repo_dir, missing) if missing else {}
    out: dict[str, list[str]] = {}
    for record in history:
        version_targets: list[str] = []
        for patch in record.get("patches", []):
            sha = patch.get("commit")
            target = sha if sha in in_range else None
            pid = patch.get("patch_id") or old_pids.get(sha or "")
            if target is None and pid:
                target = by_pid.get(pid)
            if target is None:
                continue
            version_targets.append(target)
            if patch.get("message_id"):
                out[patch["message_id"]] = [target]
        cover_id = record.get("cover", {}).get("message_id")
        if cover_id and version_targets:
            out[cover_id] = version_targets
    return out


def plan(repo_dir: str | os.PathLike[str], mailbox: Path, spec: str) -> Result:
    """What each commit of ``spec`` would get from the replies in ``mailbox``.

    Every recorded version of every series is searched for the mails the
    replies answer (Message-IDs are unique; a reply may answer a version
    sent from another branch name)."""
    replies = trailers.read_replies(mailbox)
    base, commits = git.resolve_range(repo_dir, spec)
    pids = git.patch_ids(repo_dir, [c.sha for c in commits])
    state = versions.load(repo_dir)
    history = [record for series in state["series"].values()
               for record in series.get("versions", {}).values()]
    by_message = _message_targets(history, commits, pids, repo_dir)
    by_subject: dict[str, str] = {}
    for c in commits:  # a subject two commits share names neither
        by_subject[c.subject] = c.sha if c.subject not in by_subject else ""
    collected = trailers.collect(
        replies, [c.sha for c in commits], by_message,
        {pid: sha for sha, pid in pids.items()},
        lambda diff: git.diff_patch_id(repo_dir, diff),
        {s: sha for s, sha in by_subject.items() if sha},
    )
    # the tree's own habit, from the history the series is based on
    order = trailers.Precedence(git.recent_messages(repo_dir, base, HISTORY_DEPTH))
    planned = []
    for c in commits:
        found = collected.per_target[c.sha]
        message, added = trailers.add_trailers(c.text, [t for t, _ in found], order)
        if added:
            source = {t.key: r.source for t, r in found}
            planned.append(Planned(c.sha, c.subject, [(t, source[t.key]) for t in added],
                                   message))
    return Result(planned, collected.unplaced, {}, base, commits[-1].sha, len(replies))


def apply(repo_dir: str | os.PathLike[str], mailbox: Path, spec: str,
          *, dry_run: bool = False) -> Result:
    result = plan(repo_dir, mailbox, spec)
    if dry_run or not result.planned:
        return result
    mapping = git.reword(repo_dir, result.base, result.head,
                         {p.sha: p.message for p in result.planned})
    result.rewritten = mapping
    result.head = mapping.get(result.head, result.head)
    return result


def report_lines(result: Result, *, dry_run: bool) -> list[str]:
    lines = []
    verb = "would add" if dry_run else "added"
    for p in result.planned:
        new = result.rewritten.get(p.sha)
        where = f"{p.sha[:12]}" + (f" -> {new[:12]}" if new else "")
        lines.append(f"{where} {p.subject}: {verb} {len(p.added)} trailer(s)")
        for trailer, source in p.added:
            lines.append(f"    {trailer.line()}  ({source})")
    if not result.planned:
        lines.append("no new trailers for the commits of the range" + (
            "" if result.replies else ": the mailbox holds no reply"))
    return lines
