"""Mail text: header encoding as git format-patch does it, and jinja2 rendering.

The templates in ``templates/mail/`` decide the layout of every mail; this
module only prepares values whose bytes matter to mail software and to
``git am`` (RFC 2047 encoded words, folded Subject lines, dates, the commit
message split into title and body as git's pretty.c splits it), so that a
user's own template cannot get them wrong.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from xenpatch import paths, templating
from xenpatch.plaintext import control_char
from xenpatch.series.errors import SeriesError

# through the package's data: a wheel install has no checkout around it
TEMPLATES_ROOT = paths.templates_dir()
MAIL_TEMPLATES = TEMPLATES_ROOT / "mail"
HEADER_WIDTH = 78  # rfc2822, as pretty.c wraps Subject and From
ENCODED_WIDTH = 76  # rfc2047


# --------------------------------------------------------------------------
# header values

def check_header_value(what: str, value: str) -> str:
    """``value`` if it can go into a header as it is (xenpatch/plaintext.py);
    SeriesError naming ``what`` (the option or the source of the value)
    otherwise."""
    bad = control_char(value)
    if bad is not None:
        raise SeriesError(what, f"{value[:40]!r} contains the control character "
                          f"U+{ord(bad):04X}; a header value must be one plain line")
    return value


# --------------------------------------------------------------------------
# templates


def environment(override: str | os.PathLike[str] | None = None) -> jinja2.Environment:
    """Templates from ``override`` first, then the shipped ones; undefined
    names fail loudly (a typo in a template must not send a mail with a hole)."""
    if override is not None and not Path(override).is_dir():
        raise SeriesError(str(override), "templates folder does not exist")
    return templating.environment(templating.search_path(override, MAIL_TEMPLATES),
                                  {"wrap": wrap_paragraph, "gitwrap": git_wrap})


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise SeriesError(f"template {name}", str(exc)) from exc
    except jinja2.TemplateError as exc:
        raise SeriesError(f"template {name}", str(exc).splitlines()[0]) from exc


def wrap_paragraph(text: str, width: int = 72, indent: str = "", indent2: str = "") -> str:
    """Greedy word wrap for prose in templates (cover letter, commit bodies).

    Blank lines separate paragraphs and are kept; each paragraph is wrapped
    on its own, its first line prefixed with ``indent``, the others ``indent2``.
    """
    paragraphs = re.split(r"\n[ \t]*\n", text.strip("\n"))
    out = []
    for para in paragraphs:
        lines: list[str] = []
        line = ""
        lead = indent
        for word in para.split():
            if line and len(lead) + len(line) + 1 + len(word) > width:
                lines.append(lead + line)
                lead, line = indent2, word
            else:
                line = f"{line} {word}" if line else word
        if line:
            lines.append(lead + line)
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _char_width(ch: str) -> int:
    """Columns of one character as git's utf8_width() counts them (wcwidth):
    combining marks and format characters 0, East Asian wide/full 2."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0 if ch != "\u00ad" else 1
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


_ESC_SEQ = re.compile(r"\x1b\[[0-9;]*m")


def git_wrap(text: str, indent1: int = 0, indent2: int = 0, width: int = 72) -> str:
    """git's strbuf_add_wrapped_text() (utf8.c), as shortlog and the cover
    letter use it: break at whitespace before ``width`` display columns, the
    first line indented by ``indent1`` spaces, the next ones by ``indent2``.

    No trailing newline (shortlog adds one per entry)."""
    if width <= 0:
        return " " * indent1 + text
    out: list[str] = []
    n = len(text)
    pos = bol = 0
    w = indent = indent1
    space: int | None = None
    if indent < 0:
        w, space = -indent, 0
    while True:
        m = _ESC_SEQ.match(text, pos)
        if m:  # colour escapes take no columns
            pos = m.end()
            continue
        c = text[pos] if pos < n else ""
        if c == "" or c in " \t\n\r":
            if w <= width or space is None:
                start = bol
                if c == "" and pos == start:
                    return "".join(out)
                if space is not None:
                    start = space
                else:
                    out.append(" " * max(indent, 0))
                out.append(text[start:pos])
                if c == "":
                    return "".join(out)
                space = pos
                if c == "\t":
                    w |= 0x07
                elif c == "\n":
                    space += 1
                    nxt = text[space] if space < n else ""
                    if nxt == "\n":
                        out.append("\n")
                        out.append("\n")
                        pos = bol = space + 1
                        space = None
                        w = indent = indent2
                        continue
                    if not (nxt.isascii() and nxt.isalnum()):
                        out.append("\n")
                        pos = bol = space + (1 if nxt in " \t\n\r" and nxt else 0)
                        space = None
                        w = indent = indent2
                        continue
                    out.append(" ")
                w += 1
                pos += 1
            else:
                out.append("\n")
                nxt = text[space] if space < n else ""
                pos = bol = space + (1 if nxt and nxt in " \t\n\r" else 0)
                space = None
                w = indent = indent2
            continue
        w += _char_width(c)
        pos += 1


def shortlog(entries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """``[(author, subject), ...]`` in commit order → git shortlog's groups:
    authors sorted by their UTF-8 bytes (strcmp), each author's subjects in
    commit order."""
    groups: dict[str, list[str]] = {}
    for name, subject in entries:
        groups.setdefault(name, []).append(subject)
    return [{"name": k, "subjects": groups[k]}
            for k in sorted(groups, key=lambda k: k.encode("utf-8", "surrogateescape"))]


# --------------------------------------------------------------------------
# header values, after git's pretty.c


def _rfc2047_special(ch: int, address: bool) -> bool:
    if ch >= 0x80 or not (0x20 <= ch < 0x7F):
        return True
    if chr(ch).isspace() or ch in (0x3D, 0x3F, 0x5F):  # space = ? _
        return True
    if not address:
        return False
    return not (chr(ch).isalnum() or ch in b"!*+-/")


def needs_rfc2047(text: str) -> bool:
    return any(ord(c) >= 0x80 or c == "\n" for c in text) or "=?" in text


def rfc2047(text: str, used: int, *, address: bool = False) -> str:
    """Q-encode ``text`` as git's add_rfc2047(), continuing a header line of
    which ``used`` columns are taken; lines fold before 76 columns and never
    inside a multi-byte character."""
    out = ["=?UTF-8?q?"]
    line_len = used + len("UTF-8") + 5
    for ch in text:
        raw = ch.encode("utf-8")
        special = len(raw) > 1 or _rfc2047_special(raw[0], address)
        encoded = "".join(f"={b:02X}" for b in raw) if special else ch
        if line_len + len(encoded) + 2 > ENCODED_WIDTH:
            out.append("?=\n =?UTF-8?q?")
            line_len = len("UTF-8") + 5 + 1
        out.append(encoded)
        line_len += len(encoded)
    out.append("?=")
    return "".join(out)


def wrap_header(text: str, used: int, width: int = HEADER_WIDTH) -> str:
    """git's strbuf_add_wrapped_text(text, -used, 1, width) for a one-line
    ASCII value: break at spaces so that no line passes ``width`` columns
    (unless a single word is longer), continuation lines start with a space."""
    return git_wrap(text, -used, 1, width)


def _last_line_length(text: str) -> int:
    return len(text) - (text.rfind("\n") + 1)


def _rfc822_special(text: str) -> bool:
    return any(c in '()<>[]:;@,."\\' for c in text)


def from_header(name: str, email_addr: str) -> str:
    """``From: Name <addr>`` as pretty.c's pp_user_info() writes it."""
    head = "From: "
    max_length = HEADER_WIDTH
    if needs_rfc2047(name):
        head += rfc2047(name, len(head), address=True)
        max_length = ENCODED_WIDTH
    elif _rfc822_special(name):
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        head += wrap_header(quoted, 6)
    else:
        head += wrap_header(name, 6)
    if max_length < _last_line_length(head) + 2 + len(email_addr) + 1:
        head += "\n"
    return f"{head} <{email_addr}>"


def address(display: str) -> str:
    """A recipient ``Name <addr>`` made safe for a header (encoded name)."""
    name, addr = email.utils.parseaddr(display)
    if not addr:
        raise SeriesError(display, "not a mail address")
    if not name:
        return addr
    if needs_rfc2047(name):
        return f"{rfc2047(name, 0, address=True)} <{addr}>"
    if _rfc822_special(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def address_header(field: str, addresses: list[str]) -> str:
    """``To: a,\\n    b\\n`` — git format-patch's layout for --to/--cc lists."""
    if not addresses:
        return ""
    lines = []
    for i, addr in enumerate(addresses):
        lead = f"{field}: " if i == 0 else "    "
        comma = "," if i + 1 < len(addresses) else ""
        lines.append(f"{lead}{address(addr)}{comma}\n")
    return "".join(lines)


def subject_header(tag: str, title: str) -> str:
    """``Subject: [TAG] title``, folded or encoded as pretty.c's pp_title_line()."""
    head = f"Subject: [{tag}] " if tag else "Subject: "
    if needs_rfc2047(title):
        return head + rfc2047(title, len(head))
    return head + wrap_header(title, len(head))


def rfc2822_date(when: int, offset_minutes: int) -> str:
    """git's DATE_RFC2822: ``Fri, 22 Jan 2016 13:41:46 +0000`` (day unpadded)."""
    tz = _dt.timezone(_dt.timedelta(minutes=offset_minutes))
    d = _dt.datetime.fromtimestamp(when, tz)
    sign = "-" if offset_minutes < 0 else "+"
    off = abs(offset_minutes)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (
        f"{days[d.weekday()]}, {d.day} {months[d.month - 1]} {d.year} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} {sign}{off // 60:02d}{off % 60:02d}"
    )


# --------------------------------------------------------------------------
# the commit message as a mail


def _blank(line: str) -> bool:
    return not line.rstrip()


def split_message(message: str) -> tuple[str, str]:
    """(title, body) as format-patch prints them: the first paragraph joined
    by spaces; the rest without leading blank lines, each line's trailing
    whitespace dropped, ending in exactly one newline (or empty)."""
    lines = message.split("\n")
    i = 0
    while i < len(lines) and _blank(lines[i]):
        i += 1
    title_parts = []
    while i < len(lines) and not _blank(lines[i]):
        title_parts.append(lines[i].rstrip())
        i += 1
    while i < len(lines) and _blank(lines[i]):
        i += 1
    body_lines = [line.rstrip() for line in lines[i:]]
    body = "\n".join(body_lines).rstrip()
    return " ".join(title_parts), (body + "\n" if body else "")


def has_signoff(message: str) -> bool:
    return re.search(r"(?mi)^Signed-off-by:\s*\S", message) is not None


def sanitized_subject(title: str) -> str:
    """git's format_sanitized_subject(): the file-name slug of a patch."""
    out: list[str] = []
    space = 2
    i = 0
    while i < len(title):
        ch = title[i]
        if ch.isascii() and (ch.isalnum() or ch in "._"):
            if space == 1:
                out.append("-")
            space = 0
            out.append(ch)
            if ch == ".":
                while i + 1 < len(title) and title[i + 1] == ".":
                    i += 1
        else:
            space |= 1
        i += 1
    return "".join(out).rstrip(".-")


def patch_filename(version: int, number: int, title: str, max_len: int = 64) -> str:
    """``vN-000M-<slug>.patch`` cut where git cuts it (64 with the suffix)."""
    suffix = ".patch"
    stem = f"v{version}-{number:04d}-{sanitized_subject(title)}"
    return stem[: max_len - (len(suffix) + 1)] + suffix


def need_8bit(message: str) -> bool:
    return any(ord(c) >= 0x80 for c in message)


def body_needs_8bit(text: str) -> bool:
    """A rendered mail whose body (after the header block) is not ASCII:
    without MIME headers git send-email stops to ask for its charset."""
    return need_8bit(text.partition("\n\n")[2])


def message_id(base: str, when: int, sender_email: str) -> str:
    """git's gen_message_id(): ``<base>.<time>.git.<committer email>``."""
    return f"{base}.{when}.git.{sender_email}"


def quoted_printable(data: bytes, width: int = 76) -> str:
    """RFC 2045 quoted-printable with LF line ends (Python's quopri writes
    CRLF).  Used only for patches that carry CR bytes: git am strips a raw
    CR at the end of a mail line, but keeps one that was encoded (=0D)."""
    out: list[str] = []
    for line in data.split(b"\n"):
        pieces = []
        for i, b in enumerate(line):
            last = i == len(line) - 1
            if (33 <= b <= 126 and b != 0x3D) or (b in (0x20, 0x09) and not last):
                pieces.append(chr(b))
            else:
                pieces.append(f"={b:02X}")
        current = ""
        for piece in pieces:
            if len(current) + len(piece) > width - 1:
                out.append(current + "=")
                current = ""
            current += piece
        out.append(current)
    return "\n".join(out)


def encode_body_qp(text: str) -> str:
    """Split a rendered mail at the blank line after its headers and encode
    the body quoted-printable; the MIME headers must say so already."""
    head, sep, body = text.partition("\n\n")
    return head + sep + quoted_printable(body.encode("utf-8", "surrogateescape"))
