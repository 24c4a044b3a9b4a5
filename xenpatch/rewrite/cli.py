"""`xenpatch rewrite`: plain functions returning exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.rewrite.run import Result


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rewrite",
        help="convert an rwlock into a percpu rwlock, as a rule file describes",
        description="Print the conversion as a unified diff (default), write it "
        "(--in-place) or commit it (--commit).",
    )
    p.add_argument("tree", type=Path, help="the Xen tree (the folder holding xen/)")
    p.add_argument("--rule", type=Path, required=True, action="append",
                   help="a conversion rule (rules/*.toml); repeat for several")
    p.add_argument("--in-place", action="store_true", help="write the files (all or nothing)")
    p.add_argument("--json", action="store_true", help="report every site as JSON")
    p.add_argument("--commit", action="store_true",
                   help="one commit per rule on the current branch (or --branch)")
    p.add_argument("--branch", help="with --commit: the branch to commit on")
    p.add_argument("--force", action="store_true",
                   help="write or commit even when the work tree has uncommitted changes")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a lock call could not be resolved")
    p.set_defaults(handler=run)


def _report(result: Result, rule_path: str) -> dict[str, object]:
    return {
        "rule": rule_path,
        "files_scanned": result.files_scanned,
        "functions": result.functions,
        "functions_with_parse_errors": result.functions_with_errors,
        "sites": [s.as_dict() for s in result.plan.sites],
        "diagnostics": [
            {"file": d.path, "line": d.line, "severity": d.severity, "message": d.message}
            for d in result.plan.diagnostics
        ],
        "changed_files": result.changed,
    }


def run(args: argparse.Namespace) -> int:
    # Imported here: `xenpatch lint FILE` in a pre-commit hook must not pay for them.
    from xenpatch.rewrite.edits import EditError, write_atomically
    from xenpatch.rewrite.run import TreeError, run_rule
    from xenpatch.rules import RuleError, load_rule

    root: Path = args.tree
    try:
        rules = [load_rule(p) for p in args.rule]
    except RuleError as exc:
        print(f"xenpatch: {exc}", file=sys.stderr)
        return 2
    if (args.in_place or args.commit) and not args.force:
        from xenpatch.git import dirty_paths

        dirty = dirty_paths(root)
        if dirty:
            print(f"xenpatch: {root}: the work tree has uncommitted changes "
                  f"({dirty[0]}{' ...' if len(dirty) > 1 else ''}); commit them or use --force",
                  file=sys.stderr)
            return 2
    reports = []
    status = 0
    for rule in rules:
        try:
            result = run_rule(root, rule, jobs=args.jobs)
        except TreeError as exc:
            print(f"xenpatch: {exc}", file=sys.stderr)
            return 2
        for d in result.plan.diagnostics:
            print(str(d), file=sys.stderr)
        if result.plan.errors:
            print(f"xenpatch: {rule.path}: not applied ({len(result.plan.errors)} errors)",
                  file=sys.stderr)
            return 1
        if args.strict and any(d.severity == "warning" for d in result.plan.diagnostics):
            status = 1
        if args.json:
            reports.append(_report(result, rule.path))
        elif not (args.in_place or args.commit):
            sys.stdout.write(result.diff())
        new = {p: result.new[p] for p in result.changed}
        if args.commit:
            from xenpatch.errors import XenpatchError
            from xenpatch.git import commit_files
            from xenpatch.series.message import render_commit_message

            try:
                message = render_commit_message(_commit_context(rule, result, root),
                                                repo_dir=root)
                oid = commit_files(root, new, message, branch=args.branch, force=args.force)
            except XenpatchError as exc:  # SeriesError, GitError
                print(f"xenpatch: {exc}", file=sys.stderr)
                return 2
            print(f"{rule.name}: committed {oid[:12]} ({len(new)} files, "
                  f"{len(result.plan.sites)} sites)", file=sys.stderr)
        elif args.in_place and new:
            try:
                write_atomically(root, new)
            except EditError as exc:
                print(f"xenpatch: {exc}", file=sys.stderr)
                return 2
            print(f"{rule.name}: wrote {len(new)} files, {len(result.plan.sites)} sites",
                  file=sys.stderr)
    if args.json:
        json.dump(reports[0] if len(reports) == 1 else reports, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return status


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
