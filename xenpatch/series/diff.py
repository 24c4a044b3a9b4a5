"""The diff, diffstat and summary of a patch mail, byte for byte as git writes them.

Pure functions over :class:`~xenpatch.git.FileChange`: the hunks come
from libgit2 (the same xdiff as git, with the indent heuristic on), while
everything libgit2 formats differently is written here following git's
diff.c — the ``index`` line abbreviation, rename/similarity headers, path
quoting, the ``---``/``+++`` labels, and the whole diffstat with its width
and scaling rules for a 72-column mail (format-patch's MAIL_DEFAULT_WRAP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xenpatch.git import FileChange

STAT_WIDTH = 72  # git format-patch: MAIL_DEFAULT_WRAP

_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 0x22: '"', 0x5C: "\\"}


def _must_quote(byte: int, quote_high: bool) -> bool:
    return byte < 0x20 or byte in (0x22, 0x5C, 0x7F) or (quote_high and byte >= 0x80)


def needs_quote(path: bytes, quote_high: bool = True) -> bool:
    return any(_must_quote(b, quote_high) for b in path)


def _escape(path: bytes, quote_high: bool) -> str:
    out = []
    for b in path:
        if not _must_quote(b, quote_high):
            out.append(chr(b))
        elif b in _ESCAPES:
            out.append("\\" + _ESCAPES[b])
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def quote_c_style(path: bytes, quote_high: bool = True) -> str:
    """git's quote_c_style(): the path as is, or C-quoted when it must be.

    Unquoted paths with bytes >= 0x80 (core.quotePath=false) are decoded as
    UTF-8 with surrogate escapes so that encoding back gives the same bytes.
    """
    if needs_quote(path, quote_high):
        return '"' + _escape(path, quote_high) + '"'
    return path.decode("utf-8", "surrogateescape")


def quote_two(prefix: str, path: bytes, quote_high: bool = True) -> str:
    """git's quote_two(): ``a/path`` or ``"a/pa\\tth"`` (prefix inside the quotes)."""
    if needs_quote(path, quote_high):
        return '"' + prefix + _escape(path, quote_high) + '"'
    return prefix + path.decode("utf-8", "surrogateescape")


def _enc(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def file_diff(change: FileChange, abbrev: Callable[[str], str], quote_high: bool = True) -> bytes:
    """One file's ``diff --git`` section."""
    c = change
    name_a = c.new_path if c.status == "A" else c.old_path
    name_b = c.old_path if c.status == "D" else c.new_path
    a_one = quote_two("a/", name_a, quote_high)
    b_two = quote_two("b/", name_b, quote_high)
    out = [f"diff --git {a_one} {b_two}\n"]
    meta = []
    if c.status == "R":
        meta.append(f"similarity index {c.similarity}%\n")
        meta.append(f"rename from {quote_c_style(c.old_path, quote_high)}\n")
        meta.append(f"rename to {quote_c_style(c.new_path, quote_high)}\n")
    if c.old_id != c.new_id:
        # git writes full ids for binary files so that the patch can carry a
        # delta against the exact preimage
        if c.binary:
            old_ab, new_ab = c.old_id, c.new_id
        else:
            old_ab, new_ab = abbrev(c.old_id), abbrev(c.new_id)
        line = f"index {old_ab}..{new_ab}"
        if c.old_mode == c.new_mode:
            line += f" {c.old_mode:06o}"
        meta.append(line + "\n")
    if c.status == "A":
        out.append(f"new file mode {c.new_mode:06o}\n")
    elif c.status == "D":
        out.append(f"deleted file mode {c.old_mode:06o}\n")
    elif c.old_mode != c.new_mode:
        out.append(f"old mode {c.old_mode:06o}\n")
        out.append(f"new mode {c.new_mode:06o}\n")
    out.extend(meta)
    text = _enc("".join(out))
    if c.body.startswith(b"@@"):
        minus = "/dev/null" if c.status == "A" else a_one
        plus = "/dev/null" if c.status == "D" else b_two
        labels = f"--- {minus}{chr(9) if ' ' in minus else ''}\n"
        labels += f"+++ {plus}{chr(9) if ' ' in plus else ''}\n"
        text += _enc(labels)
    return text + c.body


def diff(changes: Sequence[FileChange], abbrev: Callable[[str], str], quote_high: bool = True
         ) -> bytes:
    return b"".join(file_diff(c, abbrev, quote_high) for c in changes)


# --------------------------------------------------------------------------
# diffstat


def _pprint_rename(a: bytes, b: bytes, quote_high: bool) -> str:
    """git's pprint_rename(): ``dir/{old => new}/tail`` with the common
    directory prefix and suffix factored out."""
    if needs_quote(a, quote_high) or needs_quote(b, quote_high):
        return f"{quote_c_style(a, quote_high)} => {quote_c_style(b, quote_high)}"
    len_a, len_b = len(a), len(b)
    pfx = 0
    i = 0
    while i < len_a and i < len_b and a[i] == b[i]:
        if a[i] == 0x2F:
            pfx = i + 1
        i += 1
    # the common suffix may reach back into the prefix by one byte (the
    # slash that ends it), never further
    sfx = 0
    adjust = 1 if pfx else 0
    ia, ib = len_a - 1, len_b - 1
    while ia >= pfx - adjust and ib >= pfx - adjust and ia >= 0 and ib >= 0 and a[ia] == b[ib]:
        if a[ia] == 0x2F:
            sfx = len_a - ia
        ia -= 1
        ib -= 1
    a_mid = max(0, len_a - pfx - sfx)
    b_mid = max(0, len_b - pfx - sfx)
    dec = lambda s: s.decode("utf-8", "surrogateescape")  # noqa: E731
    if pfx + sfx:
        return (
            dec(a[:pfx]) + "{" + dec(a[pfx : pfx + a_mid]) + " => "
            + dec(b[pfx : pfx + b_mid]) + "}" + dec(a[len_a - sfx :])
        )
    return dec(a[pfx : pfx + a_mid]) + " => " + dec(b[pfx : pfx + b_mid])


def _display_width(text: str) -> int:
    """utf8_strwidth() for what can reach it: quoted paths are ASCII, and
    with core.quotePath=false east-asian wide characters count twice."""
    import unicodedata

    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _scale_linear(it: int, width: int, max_change: int) -> int:
    if not it:
        return 0
    return 1 + (it * (width - 1) // max_change)


def stat_name(change: FileChange, quote_high: bool = True) -> str:
    if change.status == "R":
        return _pprint_rename(change.old_path, change.new_path, quote_high)
    path = change.old_path if change.status == "D" else change.new_path
    return quote_c_style(path, quote_high)


def diffstat(changes: Sequence[FileChange], width: int = STAT_WIDTH, quote_high: bool = True,
             graph_width_limit: int = 0, name_width_limit: int = 0) -> str:
    """``git diff --stat`` lines and the summary line, as git's show_stats()
    lays them out for ``width`` columns (format-patch uses 72)."""
    if not changes:
        return ""
    names = [stat_name(c, quote_high) for c in changes]
    max_len = max(_display_width(n) for n in names)
    max_change = 0
    number_width = 0
    bin_width = 0
    for c in changes:
        if c.binary:
            bin_width = max(bin_width, 14 + len(str(c.added)) + len(str(c.deleted)))
            number_width = 3
            continue
        max_change = max(max_change, c.added + c.deleted)
    number_width = max(number_width, len(str(max_change)))
    if width < 16 + 6 + number_width:
        width = 16 + 6 + number_width
    graph_width = max_change if max_change + 4 > bin_width else bin_width - 4
    if graph_width_limit and graph_width_limit < graph_width:
        graph_width = graph_width_limit
    name_width = name_width_limit if 0 < name_width_limit < max_len else max_len
    if name_width + number_width + 6 + graph_width > width:
        if graph_width > width * 3 // 8 - number_width - 6:
            graph_width = width * 3 // 8 - number_width - 6
            if graph_width < 6:
                graph_width = 6
        if graph_width_limit and graph_width > graph_width_limit:
            graph_width = graph_width_limit
        if name_width > width - number_width - 6 - graph_width:
            name_width = width - number_width - 6 - graph_width
        else:
            graph_width = width - number_width - 6 - name_width

    lines = []
    adds = dels = 0
    for c, name in zip(changes, names, strict=True):
        prefix = ""
        length = name_width
        name_len = _display_width(name)
        if name_width < name_len:
            prefix = "..."
            length -= 3
            # git skips (name_len - len) bytes, then backs up to a slash
            name = name[name_len - length :]
            slash = name.find("/")
            if slash >= 0:
                name = name[slash:]
        padding = max(0, length - _display_width(name))
        head = f" {prefix}{name}{' ' * padding} | "
        if c.binary:
            line = head + "Bin".rjust(number_width)
            if c.added or c.deleted:
                line += f" {c.deleted} -> {c.added} bytes"
            lines.append(line + "\n")
            continue
        add, dele = c.added, c.deleted
        adds += add
        dels += dele
        if graph_width <= max_change:
            total = _scale_linear(add + dele, graph_width, max_change)
            if total < 2 and add and dele:
                total = 2
            if add < dele:
                add = _scale_linear(add, graph_width, max_change)
                dele = total - add
            else:
                dele = _scale_linear(dele, graph_width, max_change)
                add = total - dele
        count = str(c.added + c.deleted).rjust(number_width)
        lines.append(f"{head}{count}{' ' if c.added + c.deleted else ''}{'+' * add}{'-' * dele}\n")
    files = len(changes)
    summary = f" {files} file{'s' if files != 1 else ''} changed"
    if adds or dels == 0:
        summary += f", {adds} insertion{'s' if adds != 1 else ''}(+)"
    if dels or adds == 0:
        summary += f", {dels} deletion{'s' if dels != 1 else ''}(-)"
    return "".join(lines) + summary + "\n"


def summary(changes: Sequence[FileChange], quote_high: bool = True) -> str:
    """The ``--summary`` lines format-patch prints below the diffstat."""
    out = []
    for c in changes:
        if c.status == "D":
            out.append(f" delete mode {c.old_mode:06o} {quote_c_style(c.old_path, quote_high)}\n")
        elif c.status == "A":
            out.append(f" create mode {c.new_mode:06o} {quote_c_style(c.new_path, quote_high)}\n")
        elif c.status == "R":
            names = _pprint_rename(c.old_path, c.new_path, quote_high)
            out.append(f" rename {names} ({c.similarity}%)\n")
            if c.old_mode != c.new_mode:
                out.append(f" mode change {c.old_mode:06o} => {c.new_mode:06o}\n")
        elif c.old_mode != c.new_mode:
            path = quote_c_style(c.new_path, quote_high)
            out.append(f" mode change {c.old_mode:06o} => {c.new_mode:06o} {path}\n")
    return "".join(out)
