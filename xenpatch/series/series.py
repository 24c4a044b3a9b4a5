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


@dataclass
class Series:
    name: str
    version: int
    base: str
    head: str
    cover: Mail
    patches: list[Mail]
    warnings: list[str]
    range_diff: str | None
    record: dict[str, Any]

    @property
    def mails(self) -> list[Mail]:
        return [self.cover, *self.patches]


def _tag(opts: Options, number: int, total: int) -> str:
    prefix = opts.subject_prefix
    if opts.rfc and not prefix.startswith("RFC"):
        prefix = f"RFC {prefix}"
    # like `git format-patch -v N`, v1 is spelled out too
    return f"{prefix} v{opts.version} {number}/{total}".strip()


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
    to, cc = [], []
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
        text = git.read_blob(repo_dir, head, "MAINTAINERS")
        if text is not None:
            dirs = git.tree_dirs(repo_dir, head)
            maint = Maintainers.parse(text.decode("utf-8", "replace"), dirs.__contains__)
        else:
            warnings.append("no MAINTAINERS in the tree: only --to/--cc recipients")

    name = series_name(repo_dir, opts.name)
    if not git.valid_ref_name(f"refs/xenpatch/{name}/v{opts.version}"):
        raise SeriesError(f"series name {name!r}", "not usable in a git ref name; use --name")
    state = versions.load(repo_dir)
    history = versions.records(state, name)
    for record in history.values():
        versions.harvest(record)
    previous = history.get(str(opts.version - 1))
    this_old = history.get(str(opts.version), {})

    in_reply_to = opts.in_reply_to
    if in_reply_to in ("previous", "prev"):
        if previous is None or not previous.get("cover", {}).get("message_id"):
            raise SeriesError("--in-reply-to", f"no stored v{opts.version - 1} of series {name}")
        in_reply_to = previous["cover"]["message_id"]
    if in_reply_to:
        in_reply_to = in_reply_to.strip().strip("<>")
        mail.check_header_value("--in-reply-to", in_reply_to)

    total = len(commits)
    cover_id = mail.message_id("cover", now, sender.email)
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
            "message_id": mail.message_id(info.sha, now, sender.email),
            "in_reply_to": cover_id,
            "references": ([in_reply_to] if in_reply_to else []) + [cover_id],
            "from_header": mail.from_header(info.author.name, info.author.email),
            "author_name": info.author.name,
            "author_email": info.author.email,
            "date": mail.rfc2822_date(info.author.time, info.author.offset),
            "subject_header": mail.subject_header(_tag(opts, number, total), title),
            "mime": mail.need_8bit(message) or has_cr,
            "transfer_encoding": "quoted-printable" if has_cr else "8bit",
            "body": body,
            "changelog": versions.changelog({**history, str(opts.version): this_old},
                                            opts.version, title),
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
        text = mail.render(env, "patch.j2", context)
        if has_cr:
            text = mail.encode_body_qp(text)
        all_to, all_cc = _merge(all_to, to), _merge(all_cc, cc)
        patches.append(Mail(mail.patch_filename(opts.version, number, title), text, title,
                            context["message_id"], to, cc, info.sha, files))

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
    shortlog: dict[str, list[str]] = {}
    for info in commits:
        shortlog.setdefault(info.author.name, []).append(info.subject)
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
        "mime": mail.need_8bit(blurb + subject) or any(mail.need_8bit(n) for n in shortlog),
        "to": all_to,
        "cc": all_cc,
        "to_header": mail.address_header("To", all_to),
        "cc_header": mail.address_header("Cc", all_cc),
        "blurb": blurb,
        "changelog": versions.changelog({**history, str(opts.version): this_old},
                                        opts.version, None),
        "shortlog": [{"name": k, "subjects": v} for k, v in shortlog.items()],
        "diffstat": gdiff.diffstat(whole, quote_high=quote_high),
        "summary": gdiff.summary(whole, quote_high=quote_high),
        "range_diff": rdiff,
        "base": base,
        "signature": opts.signature,
    }
    cover_text = mail.render(env, "cover-letter.j2", cover_ctx)
    cover = Mail(f"v{opts.version}-0000-cover-letter.patch", cover_text, subject, cover_id,
                 all_to, all_cc)

    record = {
        "base": base,
        "head": head,
        "created": now,
        "cover": {"file": cover.filename, "message_id": cover_id, "subject": subject,
                  "blurb": blurb, "changes": cover_rec.get("changes", {})},
        "patches": [],
    }
    old_patches = {p.get("title"): p for p in this_old.get("patches", [])}
    for p in patches:
        record["patches"].append({
            "title": p.title, "commit": p.commit, "file": p.filename,
            "message_id": p.message_id,
            "changes": old_patches.get(p.title, {}).get("changes", {}),
        })
    return Series(name, opts.version, base, head, cover, patches, warnings, rdiff, record)


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
    # versions.save's format, written with the rest
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
