"""``xenpatch lint``: the subcommand.  Imports stay inside the handler so
that ``xenpatch --help`` and other subcommands do not pay for the checker."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TextIO

FORMATS = ("text", "json", "sarif", "codequality")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "lint",
        help="check lock discipline on every path of every function",
        description="Path-sensitive lock-discipline checker for Xen C sources. "
        "Exit status: 0 clean, 1 findings, 2 bad usage or unreadable input, 3 no "
        "findings but some function could not be analysed (unparsed code, too many "
        "states) or a bounded search stopped before deciding a check: the run covered "
        "less than asked; --partial accepts that as clean).",
    )
    p.add_argument("paths", nargs="*", type=Path, help="C files or directories (*.c)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (gcc's layout), json, sarif (code scanning) or codequality "
                   "(GitLab's Code Quality report)")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--rules", type=Path, default=None,
                   help="rules directory (default: the project's rules/)")
    p.add_argument("--output", "-o", type=Path, default=None, help="write the report here")
    p.add_argument("--since", metavar="REV", default=None,
                   help="report only the findings that the same files at git revision REV "
                   "do not have (compared by fingerprint, not by line)")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("--verbose", "-v", action="store_true",
                           help="also list the functions not analysed")
    verbosity.add_argument("--quiet", "-q", action="store_true",
                           help="one line per finding, without the path that shows it")
    p.add_argument("--partial", action="store_true",
                   help="exit 0 without findings even when some function could not be "
                   "analysed (they are still listed)")
    p.add_argument("--list-checks", action="store_true", help="list the check IDs and exit")
    p.add_argument("--no-tree-summaries", action="store_true",
                   help="know only the files' own and their headers' helpers: neither read "
                   "nor update the cache of the tree's other files' summaries")
    # Its work is all written when run() returns (the tree cache whole or
    # not at all, the forked children reaped): the process ends then,
    # without the interpreter's teardown of the run's heap.
    p.set_defaults(handler=run, exit_at_once=True)


class _Progress:
    """Files done / total on one rewritten line of a terminal."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        self.err.write(f"\rxenpatch lint: {done}/{total} {what}\033[K")
        self.err.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.err.write("\r\033[K")
            self.err.flush()


def run(args: argparse.Namespace) -> int:
    from xenpatch.lint import report

    if args.list_checks:
        from xenpatch.lint.checks import CHECKS

        for c in CHECKS.values():
            print(f"{c.id}  {c.name:26} {c.summary}")
        return 0
    if not args.paths:
        print("xenpatch lint: no input files", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("xenpatch lint: --jobs must be at least 1", file=sys.stderr)
        return 2
    from xenpatch.errors import XenpatchError
    from xenpatch.lint import earlywalk
    from xenpatch.lint.collector import collecting_less
    from xenpatch.lint.inputs import collect_files
    from xenpatch.lint.locate import Locator

    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        files = collect_files(args.paths)
        if len(files) == 1 and not args.no_tree_summaries:
            # A first run's tree walk and name index, made while the
            # checker imports (earlywalk.py).
            earlywalk.start(files[0][0])
        from xenpatch.lint.run import lint_files

        if args.output is not None:
            _check_output(args.output, files)
        # The rules are loaded when a file has to be linted (lint_files loads
        # them before any worker starts, so a bad one is reported once, here):
        # a run the tree cache answers does without, its key holds the rule
        # files, which a run that loaded them wrote.
        if not files:
            from xenpatch.lint.config import LintConfig

            LintConfig.load(args.rules)
        if progress is not None and len(files) < 2:
            progress = None  # one file: nothing to count
        try:
            # The collector run less often (collector.py): what it would
            # walk again and again here is the run's long-lived facts.
            with collecting_less():
                results = lint_files(files, args.jobs, args.rules,
                                     tree=not args.no_tree_summaries, progress=progress)
        finally:
            earlywalk.end()  # whatever of it the run did not take
            if progress is not None:
                progress.close()
        locator = Locator.of(files, args.paths)
        chosen = None
        if args.since is not None:
            from xenpatch.lint.since import new_findings_since

            chosen = new_findings_since(args.since, files, results, locator, args.jobs,
                                        args.rules, tree=not args.no_tree_summaries)
    except XenpatchError as exc:  # UsageError, bad rule or macro tables
        print(f"xenpatch lint: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:  # unreadable or invalid rules
        where = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and \
            exc.filename else str(exc)
        print(f"xenpatch lint: {where}", file=sys.stderr)
        return 2
    out = sys.stdout if args.output is None else io.StringIO()
    if args.format == "text":
        report.write_text(results, out, sys.stderr, args.verbose, args.quiet, chosen)
    elif args.format == "json":
        report.write_json(report.to_json(results, locator, chosen), out)
    elif args.format == "sarif":
        report.write_json(report.to_sarif(results, locator=locator, findings=chosen), out)
    else:
        report.write_json(report.to_codequality(results, locator, chosen), out)
    if args.output is not None:
        from xenpatch import journal

        assert isinstance(out, io.StringIO)
        target = args.output.resolve()
        try:
            journal.write_files(target.parent, {target: out.getvalue().encode("utf-8")},
                                what="lint --output")
        except XenpatchError as exc:
            print(f"xenpatch lint: {exc}", file=sys.stderr)
            return 2
    errors = [r.error for r in results if r.error is not None]
    for e in errors:
        print(f"xenpatch lint: {e}", file=sys.stderr)
    if errors:
        return 2
    found = bool(chosen) if chosen is not None else any(r.findings for r in results)
    if found:
        return 1
    gaps = report.gaps_of(results)
    if gaps and not args.partial:
        # No vacuous success: "clean" would claim paths nobody followed.
        undecided = len(report.undecided_of(results))
        what = [f"{n} {w}" for n, w in (
            (len(gaps) - undecided, "function(s) could not be analysed"),
            (undecided, "check(s) left undecided at a search bound")) if n]
        print(f"xenpatch lint: incomplete: {', '.join(what)} "
              "(exit 3; --partial accepts partial results)", file=sys.stderr)
        return 3
    return 0


def _check_output(output: Path, files: list[tuple[Path, str]]) -> None:
    """The report must not replace a folder, one of the inputs, or any
    existing source file (``-o`` given the file meant to be linted)."""
    from xenpatch.lint.inputs import SOURCE_SUFFIXES, UsageError

    if output.is_dir():
        raise UsageError(f"{output}: -o names a folder; give a file for the report")
    target = output.resolve()
    for path, _ in files:
        if path.resolve() == target:
            raise UsageError(f"{output}: -o names an input file; the report would replace it")
    if output.name.endswith(SOURCE_SUFFIXES) and output.exists():
        raise UsageError(f"{output}: -o names a source file; the report would replace it "
                         "(give a report file, such as lint.sarif)")


def main(argv: list[str] | None = None) -> int:
    """Run ``lint`` alone (tests, and before the top-level CLI has it)."""
    parser = argparse.ArgumentParser(prog="xenpatch")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lint", *(argv or [])])
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
