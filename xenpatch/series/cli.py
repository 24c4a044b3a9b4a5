"""``xenpatch series``: the subcommand, registered by the top-level CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "series",
        help="write a mailing-list patch series (cover letter + patches) for BASE..HEAD",
        description="Write vN-0000-cover-letter.patch and vN-000M-<slug>.patch files as "
        "git format-patch does, threaded, with To:/Cc: from MAINTAINERS.",
    )
    p.add_argument("range", nargs="?", help="BASE..HEAD (default: the stored base of the "
                   "series, else the branch's upstream)")
    p.add_argument("-v", "--version", type=int, default=1, help="series version N (default 1)")
    p.add_argument("-o", "--out", type=Path, default=Path("outgoing"), help="output folder")
    p.add_argument("-C", "--repo", type=Path, default=Path("."), help="repository (default .)")
    p.add_argument("--subject-prefix", default="PATCH", help="subject tag (default PATCH)")
    p.add_argument("--rfc", action="store_true", help="prefix the tag with RFC")
    p.add_argument("--in-reply-to", metavar="MSGID",
                   help="thread under this Message-ID; 'previous' = the v(N-1) cover letter")
    p.add_argument("--templates", type=Path, help="folder with patch.j2/cover-letter.j2 overrides")
    p.add_argument("--to", action="append", default=[], help="extra To: address")
    p.add_argument("--cc", action="append", default=[], help="extra Cc: address")
    p.add_argument("--no-maintainers", action="store_true",
                   help="do not add recipients from the tree's MAINTAINERS")
    p.add_argument("--cover", type=Path, help="cover text: subject line, blank line, blurb")
    cover = p.add_mutually_exclusive_group()
    cover.add_argument("--cover-letter", dest="cover_letter", action="store_true", default=None,
                       help="write a cover letter even for a single patch")
    cover.add_argument("--no-cover-letter", dest="cover_letter", action="store_false",
                       help="no cover letter, however many patches")
    p.add_argument("--new-message-ids", action="store_true",
                   help="regenerating a version: new Message-IDs instead of its old ones")
    p.add_argument("--name", help="series name for version history (default: branch name)")
    p.add_argument("--signature", default=None,
                   help="mail signature line (default: xenpatch and its version)")
    p.add_argument("--range-diff", action="store_true",
                   help="print (and put in the cover) a range-diff against v(N-1)")
    p.add_argument("--check", action="store_true",
                   help="git am the series onto BASE in a temporary clone, lint, build")
    p.add_argument("--build-cmd", metavar="CMD", help="with --check: build after each patch")
    p.add_argument("--partial", action="store_true",
                   help="with --check: write the series even when the lint could not "
                   "analyse some function of the touched files (listed; otherwise exit 3)")
    p.add_argument("--trailers-from", metavar="MBOX", type=Path,
                   help="first add the review trailers of the replies in MBOX (an mbox "
                   "file or a maildir) to the commits, as `xenpatch trailers` does")
    p.set_defaults(handler=run)

    t = subparsers.add_parser(
        "trailers",
        help="add Reviewed-by:/Acked-by:/... from saved replies to the series' commits",
        description="Read replies from a local mbox file or maildir, match each to its patch "
        "(In-Reply-To/References to the mails xenpatch series wrote, else git patch-id of a "
        "quoted diff, else the subject) and add their trailers after Signed-off-by, "
        "rewriting the commits. A reply to a cover letter counts for every patch.",
    )
    t.add_argument("mailbox", type=Path, help="mbox file or maildir folder")
    t.add_argument("range", nargs="?", help="BASE..HEAD (default: as xenpatch series)")
    t.add_argument("-C", "--repo", type=Path, default=Path("."), help="repository (default .)")
    t.add_argument("--name", help="series name (default: branch name)")
    t.add_argument("-n", "--dry-run", action="store_true",
                   help="print what would be added; change nothing")
    t.set_defaults(handler=run_trailers)


def _trailers_first(repo: Path, mailbox: Path, spec: str) -> str:
    """Add the mailbox's trailers, print what was added; the range's head
    becomes the rewritten commit (HEAD moved with it)."""
    from xenpatch.series import collect

    result = collect.apply(repo, mailbox, spec)
    for line in collect.report_lines(result, dry_run=False):
        print(f"xenpatch: trailers: {line}", file=sys.stderr)
    for line in result.unplaced:
        print(f"xenpatch: warning: {line}", file=sys.stderr)
    return f"{result.base}..{result.head}" if result.rewritten else spec


def _default_range(repo: Path, name: str | None) -> str:
    from xenpatch import git
    from xenpatch.series import series as series_mod
    from xenpatch.series import versions
    from xenpatch.series.errors import SeriesError

    state = versions.load(repo)
    history = versions.records(state, series_mod.series_name(repo, name))
    if history:
        latest = history[max(history, key=int)]
        return f"{latest['base']}..HEAD"
    try:
        git.resolve(repo, "@{upstream}")
    except git.GitError:
        raise SeriesError("range", "none given and the branch has no upstream; "
                          "pass BASE..HEAD") from None
    return "@{upstream}..HEAD"


def run_trailers(args: argparse.Namespace) -> int:
    from xenpatch.errors import XenpatchError
    from xenpatch.series import collect

    try:
        spec = args.range or _default_range(args.repo, args.name)
        result = collect.apply(args.repo, args.mailbox, spec, dry_run=args.dry_run)
    except XenpatchError as exc:
        print(exc.line(), file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in collect.report_lines(result, dry_run=args.dry_run):
        print(line)
    for line in result.unplaced:
        print(f"xenpatch: warning: {line}", file=sys.stderr)
    return EXIT_CHECK_FAILED if result.unplaced else EXIT_OK


def run(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not load pygit2.
    from xenpatch.errors import XenpatchError
    from xenpatch.series import series as series_mod
    from xenpatch.series.check import Outcome, check
    from xenpatch.series.errors import SeriesError

    if args.signature is None:
        args.signature = series_mod.SIGNATURE
    try:
        repo = args.repo
        spec = args.range or _default_range(repo, args.name)
        if args.trailers_from is not None:
            spec = _trailers_first(repo, args.trailers_from, spec)
        for given, option in ((args.build_cmd, "--build-cmd"), (args.partial, "--partial")):
            if given and not args.check:
                raise SeriesError(option, "only makes sense with --check")
        opts = series_mod.Options(
            spec=spec, version=args.version, subject_prefix=args.subject_prefix,
            rfc=args.rfc, in_reply_to=args.in_reply_to, templates=args.templates,
            to=args.to, cc=args.cc, maintainers=not args.no_maintainers, cover=args.cover,
            name=args.name, signature=args.signature, range_diff=args.range_diff,
            cover_letter=args.cover_letter, new_message_ids=args.new_message_ids,
        )
        built = series_mod.build(repo, opts)
        for warning in built.warnings:
            print(f"xenpatch: warning: {warning}", file=sys.stderr)
        if built.range_diff is not None:
            print(built.range_diff, end="")
        outcome = check(repo, built, build_cmd=args.build_cmd,
                        report=lambda line: print(line, file=sys.stderr)) \
            if args.check else Outcome.PASSED
        if outcome == Outcome.FAILED:
            print("xenpatch: series: check failed; nothing written", file=sys.stderr)
            return EXIT_CHECK_FAILED
        if outcome == Outcome.INCOMPLETE and not args.partial:
            print("xenpatch: series: check incomplete: the lint could not analyse all of "
                  "the touched files (listed above); nothing written (--partial writes it)",
                  file=sys.stderr)
            return EXIT_INCOMPLETE
        out = args.out if args.out.is_absolute() else (Path.cwd() / args.out)
        for path in series_mod.write(repo, built, out):
            print(path)
    except XenpatchError as exc:  # SeriesError, GitError
        print(exc.line(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # an unwritable --out, a vanished --cover file, ...
        print(f"xenpatch: {exc.filename or 'series'}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (tests, or before the top-level CLI wires it up)."""
    parser = argparse.ArgumentParser(prog="xenpatch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
