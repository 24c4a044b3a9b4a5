"""Review trailers from saved replies: which reply says what about which mail.

The replies come from a local mbox file or a maildir folder (saved from a
mail client, or downloaded from an archive beforehand: nothing here touches
the network).  The flow is one way: mailbox → :class:`Reply` (its Message-ID,
the ids it answers, its own trailer lines, the diff it quotes) → a list of
:class:`Trailer` per target mail, which the caller maps to commits.

A reply's trailers are the ``Name-by: Person <address>`` lines of its own
text (quoted lines, starting with ``>``, are the mail it answers; the
signature below ``-- `` is not part of it).  Placing them in a commit
message follows the order the Xen tree's history shows, which is data
(:data:`ORDER`), not code.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import mailbox
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.series.errors import SeriesError

# The order of trailers in Xen's history (commits since 2019, counted by
# which of two names comes first): the attributions before Signed-off-by,
# the reviews after it, Release-Acked-by last.  A name not listed sorts
# just before Release-Acked-by.  Only the fallback: the order is counted
# on the repository's own history (Precedence) where it has one.
ORDER = (
    "Reported-by", "Suggested-by", "Requested-by", "Co-developed-by",
    "Signed-off-by",
    "Reviewed-by", "Acked-by", "Tested-by",
    "Release-Acked-by",
)
_RANK = {name.lower(): i for i, name in enumerate(ORDER)}
_UNKNOWN_RANK = _RANK["release-acked-by"] - 0.5

# a trailer line of a reply: a "-by" name and a value holding an address
_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-by):[ \t]+(\S.*?)[ \t]*$")
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>?")
_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Trailer:
    name: str  # as written, first letters upper-cased: "Reviewed-by"
    value: str  # "Name <address>"

    @property
    def key(self) -> tuple[str, str]:
        """Two trailers are the same when name and address agree (a name
        spelt differently in two replies is still the same person)."""
        m = re.search(r"<([^>]+)>", self.value)
        addr = (m.group(1) if m else self.value).strip().lower()
        return self.name.lower(), addr

    def line(self) -> str:
        return f"{self.name}: {self.value}"


def canonical_name(name: str) -> str:
    """``reviewed-BY`` → ``Reviewed-by`` (Xen spells them so), ``Release-acked-by``
    → ``Release-Acked-by`` when that is the spelling of :data:`ORDER`."""
    for known in ORDER:
        if known.lower() == name.lower():
            return known
    parts = name.split("-")
    return "-".join([parts[0][:1].upper() + parts[0][1:].lower(), *[p.lower() for p in parts[1:]]])


@dataclass
class Reply:
    source: str  # where it came from, for messages: "FILE: message N"
    message_id: str | None
    parents: list[str]  # In-Reply-To first, then References newest first
    subject: str
    sender: str
    trailers: list[Trailer]
    quoted_diff: str | None  # the diff the reply quotes, one level of ">" removed
    date: str = ""
    extra: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------
# reading mailboxes


def _messages(path: Path) -> Iterable[tuple[str, email.message.Message]]:
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise SeriesError(str(path), "a folder that is not a maildir (no cur/ and new/)")
        box: mailbox.Mailbox = mailbox.Maildir(str(path), factory=None, create=False)
        keys = sorted(box.keys())
    elif path.is_file():
        with path.open("rb") as fh:
            head = fh.read(5)
        if not head:
            return  # an empty mbox: a mail client's folder before any mail
        if head != b"From ":
            raise SeriesError(str(path), "not an mbox (it does not start with a 'From ' line)")
        box = mailbox.mbox(str(path), factory=None, create=False)
        keys = list(box.keys())
    else:
        raise SeriesError(str(path), "no such mbox file or maildir folder")
    for n, key in enumerate(keys, start=1):
        raw = box.get_bytes(key)
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        yield f"{path}: message {n}", msg


def _text(msg: email.message.Message) -> str:
    """The text/plain parts of a message, decoded, joined."""
    parts = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() != "text/plain":
            continue
        if part.get_filename():  # an attached patch is not the reviewer's text
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            parts.append(payload.decode(charset, "replace"))
        except LookupError:
            parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts).replace("\r\n", "\n")


def _header(msg: email.message.Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    decoded = email.header.make_header(email.header.decode_header(str(value)))
    return re.sub(r"\s*\n\s*", " ", str(decoded)).strip()


def message_ids(value: str) -> list[str]:
    return _ID.findall(value)


def own_text(body: str) -> str:
    """The reply's own lines: no signature, no quoted lines."""
    body = body.split("\n-- \n", 1)[0]
    return "\n".join(line for line in body.split("\n") if not line.lstrip().startswith(">"))


def find_trailers(body: str) -> list[Trailer]:
    """``Name-by: value`` lines of ``body`` whose value holds a mail address.

    A name wrapped onto a second line (``Reviewed-by: Long Name`` then
    ``<addr>``) is joined first; a value with a URL is not a person."""
    text = own_text(body)
    text = re.sub(r"(?m)^([A-Za-z0-9-]+-by:[ \t]+[^<\n]+)\n[ \t]*(<[^>\n]+>)[ \t]*$", r"\1 \2",
                  text)
    found: list[Trailer] = []
    for line in text.split("\n"):
        m = _LINE.match(line.strip())
        if not m or not _ADDRESS.search(m.group(2)) or "://" in m.group(2):
            continue
        trailer = Trailer(canonical_name(m.group(1)), m.group(2))
        if trailer.key not in {t.key for t in found}:
            found.append(trailer)
    return found


def quoted_diff(body: str) -> str | None:
    """The diff a reviewer quoted (``> diff --git ...``), unquoted once, or None."""
    lines = []
    for line in body.split("\n"):
        if line.startswith(">"):
            rest = line[1:]
            lines.append(rest[1:] if rest.startswith(" ") else rest)
        elif lines and lines[-1] != "":
            lines.append("")  # a reply line cuts a hunk; patch-id sees the break
    text = "\n".join(lines)
    start = text.find("diff --git ")
    if start < 0:
        return None
    return text[start:].rstrip("\n") + "\n"


def read_replies(path: Path) -> list[Reply]:
    """Every message of the mbox or maildir ``path``; bad input is a
    SeriesError naming the file."""
    replies = []
    try:
        for source, msg in _messages(path):
            body = _text(msg)
            parents = message_ids(msg.get("In-Reply-To", "") or "")
            refs = message_ids(msg.get("References", "") or "")
            for ref in reversed(refs):
                if ref not in parents:
                    parents.append(ref)
            ids = message_ids(msg.get("Message-ID", "") or "")
            if is_patch(body):
                continue  # a patch of this or another version, not a review
            replies.append(Reply(
                source=source,
                message_id=ids[0] if ids else None,
                parents=parents,
                subject=_header(msg, "Subject"),
                sender=_header(msg, "From"),
                trailers=find_trailers(body),
                quoted_diff=quoted_diff(body),
                date=_header(msg, "Date"),
            ))
    except (OSError, mailbox.Error, UnicodeError) as exc:
        raise SeriesError(str(path), f"cannot read mail ({exc.__class__.__name__}: {exc})"
                          ) from exc
    return replies


# --------------------------------------------------------------------------
# placing trailers in a commit message


_TRAILER_BLOCK_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*:[ \t]")


def _trailer_block(lines: list[str]) -> int:
    """Index of the first line of the message's last paragraph when that
    paragraph is all trailers (git's rule, simplified), else len(lines)."""
    end = len(lines)
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    if start == 0 or start == end:
        return end  # the subject alone, or no last paragraph
    block = lines[start:end]
    if all(_TRAILER_BLOCK_LINE.match(line) or line[:1] in " \t" for line in block):
        return start
    return end


class Precedence:
    """Which of two trailer names goes first, as a tree's history shows it:
    counted over the trailer blocks of its commits (the name that came
    first more often wins); :data:`ORDER` decides a pair history is silent
    or even about."""

    def __init__(self, messages: Iterable[str] = ()) -> None:
        self.pairs: Counter[tuple[str, str]] = Counter()
        for message in messages:
            names = trailer_names(message)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    if a != b:
                        self.pairs[(a, b)] += 1

    def before(self, a: str, b: str) -> bool:
        """True when a trailer named ``a`` goes before one named ``b``."""
        a, b = a.lower(), b.lower()
        if a == b:
            return True  # a second Reviewed-by goes after the first
        ab, ba = self.pairs[(a, b)], self.pairs[(b, a)]
        if ab != ba:
            return ab > ba
        rank = {n: _RANK.get(n, _UNKNOWN_RANK) for n in (a, b)}
        return rank[a] <= rank[b]


def trailer_names(message: str) -> list[str]:
    """The names (lower case) of the trailer lines closing ``message``."""
    lines = message.rstrip("\n").split("\n")
    names = []
    for line in lines[_trailer_block(lines):]:
        m = re.match(r"^([A-Za-z0-9-]+):[ \t]", line)
        if m:
            names.append(m.group(1).lower())
    return names


def add_trailers(message: str, new: list[Trailer],
                 order: Precedence | None = None) -> tuple[str, list[Trailer]]:
    """``message`` with the trailers of ``new`` it does not have yet, each
    after the last Signed-off-by and, among the trailers there, after those
    ``order`` (default: :data:`ORDER` alone) puts before it.  Returns
    (message, trailers added)."""
    order = order or Precedence()
    lines = message.rstrip("\n").split("\n")
    start = _trailer_block(lines)
    body, block = lines[:start], lines[start:]
    existing = []
    for line in block:
        m = re.match(r"^([A-Za-z0-9-]+):[ \t]+(.*)$", line)
        if m:
            existing.append(Trailer(canonical_name(m.group(1)), m.group(2)).key)
    added: list[Trailer] = []
    for trailer in new:
        if trailer.key in existing or trailer.key in {t.key for t in added}:
            continue
        added.append(trailer)
    if not added:
        return message, []
    sob = max((i for i, line in enumerate(block) if line.lower().startswith("signed-off-by:")),
              default=-1)
    for trailer in added:  # in reply order: equal names stay in the order received
        pos = sob + 1
        for i in range(sob + 1, len(block)):
            m = re.match(r"^([A-Za-z0-9-]+):", block[i])
            if m is None or order.before(m.group(1), trailer.name):
                pos = i + 1
        block.insert(pos, trailer.line())
    if start == len(lines):  # no trailer block yet: a new paragraph
        body = [*body, ""]
    return "\n".join(body + block) + "\n", added


# --------------------------------------------------------------------------
# which reply is about which mail

@dataclass
class Collected:
    """Trailers per target (in the order the targets were given), and what
    could not be placed, each as one line for the user."""

    per_target: dict[str, list[tuple[Trailer, Reply]]]
    unplaced: list[str]


def is_patch(body: str) -> bool:
    """A mail that carries a diff of its own is a patch, not a review."""
    return re.search(r"(?m)^diff --git ", own_text(body)) is not None


def bare_subject(subject: str) -> str:
    """``Re: [PATCH v2 3/5] x86: foo`` → ``x86: foo``."""
    s = subject.strip()
    while True:
        stripped = re.sub(r"^(?:(?:re|aw|fwd?)\s*:\s*|\[[^]]*\]\s*)", "", s, flags=re.I)
        if stripped == s:
            return s
        s = stripped


def collect(replies: list[Reply], targets: list[str], by_message_id: dict[str, list[str]],
            patch_target: dict[str, str], patch_id: Callable[[str], str | None],
            subject_target: dict[str, str] | None = None) -> Collected:
    """Place each reply's trailers.

    ``by_message_id`` maps the Message-ID of every mail of the series (any
    version) to the targets (commits of ``targets``) it stands for: a patch
    to its commit, a cover letter to all of its version's patches.  A reply
    is matched by the nearest mail of the series it answers (In-Reply-To,
    then References); else by the patch-id of the diff it quotes
    (``patch_target``: patch-id → target; ``patch_id`` computes one);
    else by its subject (``subject_target``: bare subject → target)."""
    per: dict[str, list[tuple[Trailer, Reply]]] = {t: [] for t in targets}
    unplaced: list[str] = []
    for reply in replies:
        if reply.message_id in by_message_id:
            continue  # a mail of the series itself (a cover letter)
        if not reply.trailers:
            continue
        found = next((by_message_id[p] for p in reply.parents if p in by_message_id), None)
        if not found and reply.quoted_diff:
            pid = patch_id(reply.quoted_diff)
            found = [patch_target[pid]] if pid in patch_target else None
        if not found and subject_target:
            hit = subject_target.get(bare_subject(reply.subject))
            found = [hit] if hit else None
        if not found:
            what = ", ".join(t.line() for t in reply.trailers)
            unplaced.append(f"{reply.source} ({reply.subject or 'no subject'}): answers no "
                            f"patch of the series in this range; not placed: {what}")
            continue
        for tgt in found:
            if tgt in per:
                per[tgt].extend((t, reply) for t in reply.trailers)
    return Collected(per, unplaced)
