"""The `xenpatch` command: one subcommand per capability, each returning an exit code."""

from __future__ import annotations

import argparse
import importlib
import sys

# Capabilities register their own subcommands; a missing one is left out
# rather than breaking the others.
_CAPABILITIES = (
    "xenpatch.rewrite.cli",
    "xenpatch.lint.cli",
    "xenpatch.series.cli",
    "xenpatch.runtime.cli",
    "xenpatch.runtime.difftest_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xenpatch",
        description="Lock conversions, lock-discipline lint, patch series and lock models for Xen.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _CAPABILITIES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
