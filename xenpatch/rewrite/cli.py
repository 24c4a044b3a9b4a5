"""`xenpatch rewrite`: plain functions returning exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.paths import tree_arg

if TYPE_CHECKING:
    from xenpatch.rewrite.recheck import Recheck
    from xenpatch.rewrite.run import Result


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rewrite",
        help="convert an rwlock into a percpu rwlock, as a rule file describes",
        description="Print the conversion as a unified diff (default), write it "
        "(--in-place) or commit it (--commit).",
    )
    p.add_argument("tree", type=tree_arg, nargs="?",
                   help="the Xen tree (the folder holding xen/, or xen/ itself)")
    p.add_argument("--rule", action="append", default=[],
                   help="a conversion rule: a .toml file, or the name of a bundled rule "
                   "(--list-rules); repeat for several")
    p.add_argument("--list-rules", action="store_true", help="list the bundled rules and exit")
    p.add_argument("--in-place", action="store_true", help="write the files (all or nothing)")
    p.add_argument("--json", action="store_true", help="report every site as JSON")
    p.add_argument("--commit", action="store_true",
                   help="one commit per rule on the current branch (or --branch)")
    p.add_argument("--branch", help="with --commit: the branch to commit on")
    p.add_argument("--force", action="store_true",
                   help="write or commit even when the work tree has uncommitted changes")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="accepted for compatibility: the text-first scan parses only the "
                   "files it needs, in one process")
    p.add_argument("--allow-partial", action="store_true",
                   help="write the sites that can be converted even when others of the "
                   "target cannot (listed; exit 1); by default such a plan is refused")
    p.add_argument("--strict", action="store_true",
                   help="accepted for compatibility: refusing a partial plan is the default")
    p.add_argument("--allow-findings", action="store_true",
                   help="write or commit a conversion that adds lock-discipline findings "
                   "to the files it changes (listed; exit 1), or whose converted code "
                   "the lint could not analyse (listed; exit 3); by default such a "
                   "conversion is printed but not written")
    p.add_argument("--no-check", action="store_true",
                   help="do not lint the converted files for the findings the "
                   "conversion adds")
    p.set_defaults(handler=run)


def _report(result: Result, rule_path: str, status: str,
            checked: Recheck | None) -> dict[str, object]:
    return {
        "rule": rule_path,
        "status": status,
        "files_scanned": result.files_scanned,
        "files_parsed": result.files_parsed,
        "functions": result.functions,
        "functions_with_parse_errors": result.functions_with_errors,
        "sites": [s.as_dict() for s in result.plan.sites],
        "remaining": [d.as_dict() for d in result.plan.remaining],
        "clashes": [d.as_dict() for d in result.plan.clashes],
        "diagnostics": [d.as_dict() for d in result.plan.diagnostics],
        "nothing_to_do": result.plan.nothing_to_do,
        "changed_files": result.changed,
        # None: not checked (--no-check, or nothing was converted).
        "added_findings": None if checked is None else [
            {"path": f.path, "line": f.line, "col": f.col, "check": f.check,
             "message": f.message, "function": f.function} for f in checked.added],
        "unchecked": None if checked is None else checked.unchecked,
    }


def _list_rules() -> int:
    from xenpatch.rules import RuleError, bundled_rules, load_rule

    for name, path in sorted(bundled_rules().items()):
        try:
            rule = load_rule(path)
        except RuleError as exc:
            print(f"xenpatch: {exc}", file=sys.stderr)
            return 2
        print(f"{name:14} struct {rule.lock.struct}.{rule.lock.field} -> {rule.lock.new_type}")
    return 0


def run(args: argparse.Namespace) -> int:
    # Imported here: `xenpatch lint FILE` in a pre-commit hook must not pay for them.
    # Errors (RuleError, TreeError, EditError, GitError, ...) are one line
    # and exit 2 through xenpatch.cli's handler; --json still answers.
    if args.list_rules:
        return _list_rules()
    from xenpatch.rewrite.recheck import Recheck
    from xenpatch.rewrite.run import TreeError, run_rule
    from xenpatch.rules import RuleError, find_rule

    if args.tree is None or not args.rule:
        print("xenpatch: rewrite needs --rule RULE and a TREE (or --list-rules)",
              file=sys.stderr)
        return 2
    root: Path = args.tree
    if args.jobs is not None and args.jobs < 1:
        print(f"xenpatch: --jobs: must be at least 1, not {args.jobs}", file=sys.stderr)
        return 2
    try:
        rules = [find_rule(p, tree=root) for p in args.rule]
    except RuleError as exc:
        print(f"xenpatch: {exc}", file=sys.stderr)
        if args.json:
            _json_refusal(str(exc))
        return 2
    if (args.in_place or args.commit) and not args.force:
        from xenpatch.git import dirty_paths

        dirty = dirty_paths(root)
        if dirty:
            print(f"xenpatch: {root}: the work tree has uncommitted changes "
                  f"({dirty[0]}{' ...' if len(dirty) > 1 else ''}); commit them or use --force",
                  file=sys.stderr)
            return 2
    reports: list[dict[str, object]] = []
    status = 0
    for rule in rules:
        try:
            if args.commit:
                result, checked = _run_on_head(root, rule, args)
            else:
                result = run_rule(root, rule, jobs=args.jobs)
                checked = _checked_by_lint(root, result, args)
        except TreeError as exc:
            print(f"xenpatch: {exc}", file=sys.stderr)
            if args.json:
                _json_refusal(str(exc), rule.path)
            return 2
        code, done = _apply(args, rule, result, root, checked or Recheck([], []))
        if args.json:
            reports.append(_report(result, rule.path, "nothing to do" if (
                code == 0 and result.plan.nothing_to_do) else "done" if done else _STATUS[code],
                checked))
        if code == 2 or (code in (1, 3) and not (done or args.allow_partial)):
            status = code
            break
        status = max(status, code)
    if args.json:
        json.dump(reports[0] if len(reports) == 1 else reports, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return status


def _checked(result: Result, args: argparse.Namespace) -> bool:
    """Is this result one to lint: a conversion the command will print or
    write (not refused for its errors, clashes or the sites it leaves)?"""
    plan = result.plan
    return not (args.no_check or not result.changed or plan.errors or plan.clashes
                or (plan.remaining and not args.allow_partial))


def _checked_by_lint(root: Path, result: Result, args: argparse.Namespace,
                     ) -> Recheck | None:
    """The lint's findings the conversion adds to the files it changes and
    the converted functions it could not analyse (rewrite/recheck.py), or
    None when they are not looked for."""
    if not _checked(result, args):
        return None
    from xenpatch.rewrite.recheck import recheck

    return recheck(root, result)


def _run_on_head(root: Path, rule, args: argparse.Namespace,
                 ) -> tuple[Result, Recheck | None]:
    """The conversion of HEAD's files under ``root``: what a commit may hold.

    When the work tree differs from HEAD there (the user's edits with
    --force, untracked files), HEAD's files are converted from a copy, so
    neither goes into the commit.
    """
    import tempfile

    from xenpatch import git
    from xenpatch.rewrite.run import run_rule

    if not git.differs_from_head(root):
        result = run_rule(root, rule, jobs=args.jobs)
        return result, _checked_by_lint(root, result, args)
    with tempfile.TemporaryDirectory(prefix="xenpatch-head-") as tmp:
        git.export_head(root, Path(tmp), (".c", ".h"))
        result = run_rule(Path(tmp), rule, jobs=args.jobs)
        return result, _checked_by_lint(Path(tmp), result, args)


def _commit(root: Path, rule, result: Result, new: dict[str, bytes],
            args: argparse.Namespace) -> str:
    """Commit ``new`` (paths relative to ``root``) in the repository holding
    ``root``, whose paths are relative to its own top."""
    from xenpatch import git
    from xenpatch.series.message import render_commit_message

    top, prefix = git.work_tree_of(root)
    lead = prefix + "/" if prefix else ""
    message = render_commit_message(_commit_context(rule, result, root), repo_dir=root)
    return git.commit_files(top, {lead + p: d for p, d in new.items()}, message,
                            branch=args.branch, force=args.force)


_STATUS = {0: "done", 1: "refused", 2: "bad input", 3: "refused"}


def _json_refusal(message: str, rule_path: str | None = None) -> None:
    """--json prints an answer even when there is no result to report."""
    json.dump({"rule": rule_path, "status": "bad input", "error": message}, sys.stdout,
              indent=2)
    sys.stdout.write("\n")


def _apply(args: argparse.Namespace, rule, result: Result, root: Path,
           checked: Recheck) -> tuple[int, bool]:
    """Print, write or commit one rule's result: its exit code, and whether
    the conversion was printed, written or committed (not refused)."""
    from xenpatch.rewrite.edits import write_atomically
    from xenpatch.rewrite.run import counted, refusal

    plan = result.plan
    for d in plan.diagnostics:
        print(str(d), file=sys.stderr)
    if plan.clashes:
        for d in plan.clashes:
            print(str(d), file=sys.stderr)
        print(f"xenpatch: {rule.path}: refused: names of the conversion are in the tree "
              "already", file=sys.stderr)
        return 2, False
    if plan.errors:
        print(f"xenpatch: {refusal(rule, plan)}", file=sys.stderr)
        return 1, False
    if plan.nothing_to_do:
        print(f"{rule.name}: nothing to do: {plan.nothing_to_do}", file=sys.stderr)
        return 0, False
    for d in plan.remaining:
        print(str(d), file=sys.stderr)
    if plan.remaining and not args.allow_partial:
        print(f"xenpatch: {refusal(rule, plan)}", file=sys.stderr)
        return 1, False
    writes = args.in_place or args.commit
    added = checked.added
    if added:
        from xenpatch.lint.api import write_findings

        write_findings(added, sys.stderr)
        said = (f"xenpatch: {rule.path}: the conversion adds {counted(len(added), 'finding')} "
                "of the lint to the files it changes (listed above, at the lines of the "
                "converted files)")
        if writes and not args.allow_findings:
            print(f"{said}; nothing written (convert those places by hand, or "
                  "--allow-findings writes it as it is)", file=sys.stderr)
            return 1, False
        print(said, file=sys.stderr)
    if checked.unchecked:
        for line in checked.unchecked:
            print(line, file=sys.stderr)
        # No vacuous success: "adds no finding" would vouch for these.
        said = (f"xenpatch: {rule.path}: the lint could not analyse "
                f"{counted(len(checked.unchecked), 'place')} of the converted code (listed "
                "above): what the conversion does to its lock discipline is not checked")
        if writes and not args.allow_findings and not added:
            print(f"{said}; nothing written (exit 3; --allow-findings writes it as it is)",
                  file=sys.stderr)
            return 3, False
        print(said, file=sys.stderr)
    code = 1 if plan.remaining or added else 3 if checked.unchecked else 0
    if not args.json and not writes:
        sys.stdout.write(result.diff())
    new = {p: result.new[p] for p in result.changed}
    remain = f"; {len(plan.remaining)} sites remain (listed above)" if plan.remaining else ""
    if args.commit:
        oid = _commit(root, rule, result, new, args)
        print(f"{rule.name}: committed {oid[:12]} ({len(new)} files, "
              f"{len(plan.sites)} sites){remain}", file=sys.stderr)
    elif args.in_place and new:
        write_atomically(root, new)
        print(f"{rule.name}: wrote {len(new)} files, {len(plan.sites)} sites{remain}",
              file=sys.stderr)
    return code, True


def _commit_context(rule, result: Result, root: Path) -> dict[str, object]:
    per_file: dict[str, int] = {}
    for s in result.plan.sites:
        per_file[s.path] = per_file.get(s.path, 0) + 1
    return {
        "rule": rule.name,
        "subject": rule.commit.subject,
        "body": rule.commit.body.strip("\n"),
        "struct": rule.lock.struct,
        "field": rule.lock.field,
        "owner": rule.lock.owner,
        "old_type": rule.lock.old_type,
        "new_type": rule.lock.new_type,
        "files": result.changed,
        "sites": per_file,
        "site_count": len(result.plan.sites),
        "description": rule.description.strip(),
    }
