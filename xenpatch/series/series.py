"""Build a patch series (cover letter + one mail per commit) and write it out.

The flow is one direction: git facts (git.py) → text pieces that must match
git byte for byte (diff.py, mail.py) → recipients (maintainers.py) → the
jinja2 templates → files.  Nothing is written until every mail rendered.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenpatch import git
from xenpatch.series import diff as gdiff
from xenpatch.series import mail, versions
from xenpatch.series.errors import SeriesError
from xenpatch.series.maintainers import Maintainers, Recipient, patch_files
from xenpatch.series.rangediff import range_diff

SIGNATURE = "xenpatch 0.1.0"


@dataclass
class Options:
    spec: str = "HEAD~1..HEAD"
    version: int = 1
    subject_prefix: str = "PATCH"
    rfc: bool = False
    in_reply_to: str | None = None  # a Message-ID, or "previous"
    templates: Path | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    maintainers: bool = True  # To/Cc from the tree's MAINTAINERS
    cover: Path | None = None  # subject line, blank line, blurb
    name: str | None = None  # series name; default: the current branch
    signature: str = SIGNATURE
    range_diff: bool = False
    cover_letter: bool | None = None  # None: as git, only for two patches or more
    new_message_ids: bool = False  # regenerating a version: new ids instead of its old ones
    now: int | None = None  # for Message-IDs and the cover's date


@dataclass
class Mail:
    filename: str
    text: str
    title: str
    message_id: str
    to: list[str]
    cc: list[str]
    commit: str | None = None
    files: list[str] = field(default_factory=list)
    patch_id: str | None = None  # git patch-id --stable of the commit


@dataclass
class Series:
    name: str
    version: int
    base: str
    head: str
    cover: Mail | None  # None: a single patch sent without a cover letter
    patches: list[Mail]
    warnings: list[str]
    range_diff: str | None
    record: dict[str, Any]

    @property
    def mails(self) -> list[Mail]:
        return [self.cover, *self.patches] if self.cover is not None else list(self.patches)


def _tag(opts: Options, number: int | None, total: int) -> str:
    """``PATCH v2 03/12`` as git format-patch numbers: zero-padded to the
    width of the total; ``number=None`` for a lone patch (``[PATCH v2]``)."""
    prefix = opts.subject_prefix
    if opts.rfc and not prefix.startswith("RFC"):
        prefix = f"RFC {prefix}"
    # like `git format-patch -v N`, v1 is spelled out too
    tag = f"{prefix} v{opts.version}"
    if number is not None:
        tag += f" {number:0{len(str(total))}d}/{total}"
    return tag.strip()


def _check_header_values(opts: Options, sender: git.Identity) -> None:
    """The values given on the command line or by git that become headers."""
    mail.check_header_value("--subject-prefix", opts.subject_prefix)
    for what, values in (("--to", opts.to), ("--cc", opts.cc)):
        for v in values:
            mail.check_header_value(what, v)
    if opts.in_reply_to:
        mail.check_header_value("--in-reply-to", opts.in_reply_to)
    mail.check_header_value("git identity (committer name)", sender.name)
    mail.check_header_value("git identity (committer email)", sender.email)


def _split_recipients(found: list[Recipient], exclude: set[str]) -> tuple[list[str], list[str]]:
    """Xen's habit (see the seed thread): the maintainers in To:, the lists
    and reviewers in Cc:; the sender is never sent a copy of their own mail."""
    to: list[str] = []
    cc: list[str] = []
    for r in found:
        if _addr(r.address) in exclude:
            continue
        (to if r.kind == "maintainer" else cc).append(r.address)
    return to, cc


def _addr(display: str) -> str:
    m = re.search(r"<([^>]+)>", display)
    return (m.group(1) if m else display).strip().lower()


def _merge(*lists: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for items in lists:
        for item in items:
            key = _addr(item)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def series_name(repo_dir: str | os.PathLike[str], given: str | None) -> str:
    if given:
        return given
    return git.current_branch(repo_dir) or "series"


def _read_cover(path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeriesError(str(path), f"cannot read cover text ({exc.__class__.__name__})") from exc
    lines = text.strip("\n").split("\n")
    subject = lines[0].strip() if lines else ""
    if not subject:
        raise SeriesError(str(path), "first line (the cover subject) is empty")
    return subject, "\n".join(lines[1:]).strip("\n")


def build(repo_dir: str | os.PathLike[str], opts: Options) -> Series:
    """Everything of the series in memory; raises SeriesError on bad input."""
    if opts.version < 1:
        raise SeriesError("--version", f"{opts.version}: versions start at 1")
    base, commits = git.resolve_range(repo_dir, opts.spec)
    head = commits[-1].sha
    warnings: list[str] = []
    named_base = git.resolve(repo_dir, opts.spec.split("..", 1)[0] or "HEAD") \
        if ".." in opts.spec else git.resolve(repo_dir, opts.spec)
    if named_base != base:
        warnings.append(f"the series is based on {base[:12]}, not on {named_base[:12]} "
                        "(the range forks earlier); git am needs that base")
    sender = git.identity(repo_dir, "committer")
    _check_header_values(opts, sender)
    now = opts.now if opts.now is not None else int(time.time())
    abbrev = git.abbreviator(repo_dir)
    quote_high = git.quote_path_setting(repo_dir)
    env = mail.environment(opts.templates)

    maint: Maintainers | None = None
    if opts.maintainers:
        raw = git.read_blob(repo_dir, head, "MAINTAINERS")
        if raw is not None:
            dirs = git.tree_dirs(repo_dir, head)
            maint = Maintainers.parse(raw.decode("utf-8", "replace"), dirs.__contains__)
        else:
            warnings.append("no MAINTAINERS in the tree: only --to/--cc recipients")

    name = series_name(repo_dir, opts.name)
    if not git.valid_ref_name(f"refs/xenpatch/{name}/v{opts.version}"):
        raise SeriesError(f"series name {name!r}", "not usable in a git ref name; use --name")
    state = versions.load(repo_dir)
    history = versions.records(state, name)
    for older in history.values():
        versions.harvest(older)
    previous = history.get(str(opts.version - 1))
    this_old = history.get(str(opts.version), {})

    total = len(commits)
    # as git: a cover letter for two patches or more, or when asked for one
    # (--cover-letter, a --cover text, or an earlier run of this version)
    with_cover = (opts.cover_letter if opts.cover_letter is not None
                  else total > 1 or opts.cover is not None
                  or bool(this_old.get("cover", {}).get("sent")))
    in_reply_to = _in_reply_to(opts, previous, name)
    # Regenerating a version keeps its Message-IDs: mails of it may be out
    # already, and the next version threads to what was sent.
    keep_ids = bool(this_old) and not opts.new_message_ids
    old_cover_id = this_old.get("cover", {}).get("message_id") if keep_ids else None
    # every id recorded for any series: a new id must not be one of them
    # (two versions made in one second would otherwise share git's ids)
    taken = versions.message_ids(state)

    def fresh_id(base: str) -> str:
        when = now
        while mail.message_id(base, when, sender.email) in taken:
            when += 1
        taken.add(mail.message_id(base, when, sender.email))
        return mail.message_id(base, when, sender.email)

    cover_id = old_cover_id or fresh_id("cover")
    # git format-patch --thread: every patch answers the cover letter, or,
    # without one, the first patch (which answers --in-reply-to)
    thread_root = cover_id if with_cover else None
    change_id = versions.change_id(history, name, now)
    pids = git.patch_ids(repo_dir, [c.sha for c in commits])
    patches: list[Mail] = []
    all_to: list[str] = []
    all_cc: list[str] = []
    excluded = {sender.email.lower()}
    for number, info in enumerate(commits, start=1):
        message = info.text
        for what, value in (("author name", info.author.name),
                            ("author email", info.author.email), ("subject", info.subject)):
            mail.check_header_value(f"commit {info.sha[:12]}: {what}", value)
        if not mail.has_signoff(message):
            warnings.append(
                f"commit {info.sha[:12]} ({info.subject}): no Signed-off-by: line "
                "(checkpatch: Missing Signed-off-by)"
            )
        changes = git.commit_changes(repo_dir, info.sha)
        if not changes:
            raise SeriesError(f"commit {info.sha[:12]}", "changes nothing; git am would refuse it")
        title, body = mail.split_message(message)
        ident = versions.Identity(pids.get(info.sha), title)
        old_entry = versions.find_patch(this_old, ident) if keep_ids else None
        msg_id = (old_entry or {}).get("message_id") or fresh_id(info.sha)
        diff_bytes = gdiff.diff(changes, abbrev, quote_high)
        # CRLF files: raw CRs do not survive git am (mailsplit drops them),
        # quoted-printable ones do; git send-email has the same answer.
        has_cr = b"\r" in diff_bytes
        context: dict[str, Any] = {
            "sha": info.sha,
            "commit": info.sha,
            "number": number,
            "total": total,
            "version": opts.version,
            "title": title,
            "message_id": msg_id,
            "in_reply_to": thread_root or in_reply_to,
            "references": ([in_reply_to] if in_reply_to else [])
            + ([thread_root] if thread_root else []),
            "from_header": mail.from_header(info.author.name, info.author.email),
            "author_name": info.author.name,
            "author_email": info.author.email,
            "date": mail.rfc2822_date(info.author.time, info.author.offset),
            "subject_header": mail.subject_header(
                _tag(opts, number if with_cover or total > 1 else None, total), title),
            "mime": mail.need_8bit(message) or has_cr,
            "transfer_encoding": "quoted-printable" if has_cr else "8bit",
            "body": body,
            "changelog": versions.changelog({**history, str(opts.version): this_old},
                                            opts.version, ident),
            "diffstat": gdiff.diffstat(changes, quote_high=quote_high),
            "summary": gdiff.summary(changes, quote_high=quote_high),
            "diff": diff_bytes.decode("utf-8", "surrogateescape"),
            "signature": opts.signature,
            "to": [],
            "cc": [],
            "to_header": "",
            "cc_header": "",
        }
        bare = mail.render(env, "patch.j2", context)
        files = patch_files(bare)
        to, cc = list(opts.to), list(opts.cc)
        if maint is not None:
            mto, mcc = _split_recipients(maint.recipients(files, bare), excluded)
            to, cc = _merge(to, mto), _merge(cc, mcc)
        cc = [c for c in cc if _addr(c) not in {_addr(t) for t in to}]
        for r in (*to, *cc):
            mail.check_header_value("MAINTAINERS" if maint is not None else "--to/--cc", r)
        context.update(to=to, cc=cc, to_header=mail.address_header("To", to),
                       cc_header=mail.address_header("Cc", cc))
        text = _render_mail(env, "patch.j2", context)
        if has_cr:
            text = mail.encode_body_qp(text)
        all_to, all_cc = _merge(all_to, to), _merge(all_cc, cc)
        thread_root = thread_root or msg_id
        patches.append(Mail(mail.patch_filename(opts.version, number, title), text, title,
                            msg_id, to, cc, info.sha, files, ident.patch_id))

    # cover letter
    cover_rec = dict(this_old.get("cover", {}))
    if opts.cover is not None:
        subject, blurb = _read_cover(opts.cover)
    else:
        subject = cover_rec.get("subject") or (previous or {}).get("cover", {}).get("subject")
        blurb = cover_rec.get("blurb") or (previous or {}).get("cover", {}).get("blurb")
        subject = subject or versions.SUBJECT_PLACEHOLDER
        blurb = blurb or versions.BLURB_PLACEHOLDER
    mail.check_header_value(str(opts.cover) if opts.cover else "cover subject", subject)
    all_cc = [c for c in all_cc if _addr(c) not in {_addr(t) for t in all_to}]
    authors = git.mailmap_names(repo_dir, [(c.author.name, c.author.email) for c in commits])
    shortlog = mail.shortlog([(authors[i], c.subject) for i, c in enumerate(commits)])
    rdiff = None
    if opts.range_diff:
        if previous is None:
            raise SeriesError("--range-diff", f"no stored v{opts.version - 1} of series {name}")
        if not git.has_commit(repo_dir, previous["head"]):
            raise SeriesError("--range-diff", f"v{opts.version - 1} commits are gone")
        rdiff = range_diff(repo_dir, f"{previous['base']}..{previous['head']}",
                           f"{base}..{head}")
    whole = git.changes_between(repo_dir, base, head)
    cover_ctx: dict[str, Any] = {
        "sha": head,
        "version": opts.version,
        "total": total,
        "title": subject,
        "message_id": cover_id,
        "in_reply_to": in_reply_to,
        "references": [in_reply_to] if in_reply_to else [],
        "from_header": mail.from_header(sender.name, sender.email),
        "date": mail.rfc2822_date(now, _local_offset(now)),
        "subject_header": mail.subject_header(_tag(opts, 0, total), subject),
        # git's rule: any commit with a non-ASCII byte (its people included)
        "mime": any(mail.need_8bit(c.text + c.author.name + c.committer.name)
                    for c in commits),
        "to": all_to,
        "cc": all_cc,
        "to_header": mail.address_header("To", all_to),
        "cc_header": mail.address_header("Cc", all_cc),
        "blurb": blurb,
        "changelog": versions.changelog({**history, str(opts.version): this_old},
                                        opts.version, None),
        "shortlog": shortlog,
        "diffstat": gdiff.diffstat(whole, quote_high=quote_high),
        "summary": gdiff.summary(whole, quote_high=quote_high),
        "range_diff": rdiff,
        "base": base,
        "change_id": change_id,
        "signature": opts.signature,
    }
    cover_name = f"v{opts.version}-0000-cover-letter.patch"
    cover: Mail | None = None
    if with_cover:
        cover_text = _render_mail(env, "cover-letter.j2", cover_ctx)
        cover = Mail(cover_name, cover_text, subject, cover_id, all_to, all_cc)

    record: dict[str, Any] = {
        "base": base,
        "head": head,
        "created": now,
        "change_id": change_id,
        # without a cover letter the name is still recorded: a cover of an
        # earlier run of this version in the same folder is then stale
        "cover": {"file": cover_name, "message_id": cover_id if with_cover else None,
                  "subject": subject, "blurb": blurb, "changes": cover_rec.get("changes", {}),
                  "sent": with_cover},
        "patches": [],
    }
    for p in patches:
        old = versions.find_patch(this_old, versions.Identity(p.patch_id, p.title)) or {}
        record["patches"].append({
            "title": p.title, "commit": p.commit, "file": p.filename,
            "message_id": p.message_id, "patch_id": p.patch_id,
            "changes": old.get("changes", {}),
        })
    return Series(name, opts.version, base, head, cover, patches, warnings, rdiff, record)


def _in_reply_to(opts: Options, previous: dict[str, Any] | None, name: str) -> str | None:
    """The Message-ID the series threads under; ``previous``: the mail that
    opened v(N-1)'s thread (its cover letter, or its lone patch)."""
    wanted = opts.in_reply_to
    if wanted in ("previous", "prev"):
        root = None
        if previous is not None:
            root = previous.get("cover", {}).get("message_id")
            if not root and previous.get("patches"):
                root = previous["patches"][0].get("message_id")
        if not root:
            raise SeriesError("--in-reply-to", f"no stored v{opts.version - 1} of series {name}")
        wanted = root
    if not wanted:
        return None
    wanted = wanted.strip().strip("<>")
    mail.check_header_value("--in-reply-to", wanted)
    return wanted


def _render_mail(env: Any, template: str, context: dict[str, Any]) -> str:
    """Render a mail; declare UTF-8 whenever its body is not ASCII (a
    non-ASCII file name in the diffstat, a shortlog name...), which git
    format-patch does not always do and git send-email then asks about."""
    text = mail.render(env, template, context)
    if not context["mime"] and mail.body_needs_8bit(text):
        text = mail.render(env, template, {**context, "mime": True})
    return text


def _local_offset(when: int) -> int:
    return int(time.localtime(when).tm_gmtoff // 60)


def write(repo_dir: str | os.PathLike[str], series: Series, out: Path) -> list[Path]:
    """Write the mails into ``out`` and remember this version.

    ``out`` may hold earlier output of the same series (any version) and
    nothing else that looks like a patch; the version being written
    replaces its own older files.  Everything is written whole or not at
    all (:func:`_write_whole`).
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise SeriesError(str(out), "exists and is not a folder")
    state = versions.load(repo_dir)
    history = versions.records(state, series.name)
    # keep what the author wrote in older mails even if those files go away
    for record in history.values():
        versions.harvest(record)
    ours: set[str] = set()
    for record in history.values():
        if Path(record.get("out", "")) == out:
            ours.add(record["cover"]["file"])
            ours.update(p["file"] for p in record.get("patches", []))
    if out.exists():
        foreign = sorted(
            p.name for p in out.iterdir()
            if p.is_file() and p.suffix == ".patch" and p.name not in ours
        )
        if foreign:
            raise SeriesError(
                str(out), f"holds files of another series ({foreign[0]}); use an empty folder"
            )
    old = history.get(str(series.version))
    stale: set[str] = set()
    if old and Path(old.get("out", "")) == out:
        stale = {old["cover"]["file"], *(p["file"] for p in old.get("patches", []))}
    record = dict(series.record)
    record["out"] = str(out)
    history[str(series.version)] = record
    _write_whole(repo_dir, series, out, stale, state)
    return [out / m.filename for m in series.mails]


def _write_whole(repo_dir: str | os.PathLike[str], series: Series, out: Path,
                 stale: set[str], state: dict[str, Any]) -> None:
    """The mails, the removal of this version's stale files, the series state
    and the version's ref, all or nothing (:mod:`xenpatch.journal`).

    The mails are staged in a folder beside ``out``; the ref is the commit
    point (a crash before it is rolled back by the next xenpatch command).
    """
    from xenpatch import journal
    from xenpatch.git import updates

    writes: dict[Path, bytes | None] = {
        out / m.filename: m.text.encode("utf-8", "surrogateescape") for m in series.mails}
    for name in stale - {m.filename for m in series.mails}:
        if (out / name).exists():
            writes[out / name] = None
    # The series state (versions.load() reads it), written with the rest
    text = json.dumps(state, indent=1, sort_keys=True) + "\n"
    writes[versions.state_path(repo_dir)] = text.encode("utf-8")
    staging = out.parent / f".{out.name}.xenpatch-stage-{secrets.token_hex(4)}"
    repo = git.open_repo(repo_dir)
    refname = f"refs/xenpatch/{series.name}/v{series.version}"
    ref = repo.references.get(refname)
    new = git.oid(series.head)
    old = None if ref is None else git.oid(str(ref.target))
    jn = journal.Journal(git.git_dir(repo_dir) / journal.RECORD_NAME, "series write")
    land = None
    if old != new:
        jn.extra.update(updates.record_extra(repo, refname, old, new, None))

        def land() -> None:
            jn.extra["git"]["step"] = "ref"
            jn.save("applying")
            updates.move_ref(repo, refname, old, new, f"xenpatch series v{series.version}")

    journal.run(jn, lambda: jn.stage(writes, staging_dir=staging, make_dirs=True), land)
