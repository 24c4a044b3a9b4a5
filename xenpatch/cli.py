"""The `xenpatch` command: one subcommand per capability, each returning an exit code."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from xenpatch.errors import XenpatchError

# Capabilities register their own subcommands; a missing one is left out
# rather than breaking the others.
_CAPABILITIES = (
    "xenpatch.rewrite.cli",
    "xenpatch.lint.cli",
    "xenpatch.series.cli",
    "xenpatch.runtime.cli",
    "xenpatch.runtime.difftest_cli",
    "xenpatch.cost.cli",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every capability's subcommands; with ``command``, only those of the
    capability named so, if it registers that command (the pre-commit
    hook's ``xenpatch lint`` then imports no other capability's CLI)."""
    own = f"xenpatch.{command}.cli"
    if command is not None and own in _CAPABILITIES:
        parser, commands = _parser((own,))
        if command in commands:
            return parser
    return _parser(_CAPABILITIES)[0]


def _parser(capabilities: tuple[str, ...]) -> tuple[argparse.ArgumentParser, set[str]]:
    """The parser with these capabilities' subcommands, and their names."""
    parser = argparse.ArgumentParser(
        prog="xenpatch",
        description="Lock conversions, lock-discipline lint, patch series and lock models for Xen.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in capabilities:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser, set(sub.choices)


def _paths_of(args: argparse.Namespace) -> list[Path]:
    """Every path the command was given: where an interrupted write may be."""
    found: list[Path] = []
    for value in vars(args).values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, Path):
                found.append(v)
    return found


def _flush_stdout() -> None:
    """Flush now, so a full device is reported here and not by the
    interpreter at exit."""
    try:
        sys.stdout.flush()
    except OSError:
        _discard_stdout()
        raise


def _exit_at_once(status: int) -> None:
    """End the process now, its output flushed, without the interpreter's
    teardown: a command whose work is all done and written (set
    ``exit_at_once`` in its defaults) holds a heap of parse trees and
    analysis facts that freeing object by object takes ~0.06 s of the
    pre-commit hook's cold ``xenpatch lint`` (Xen 4.17's grant_table.c).
    Only where nothing is left for the interpreter to do at exit: no exit
    handler, no unwritten file, no child to reap."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)


class _Closed(io.TextIOBase):
    """A standard stream the caller closed (``>&-``): Python leaves None in
    its place, which the first write would trip over (a traceback, exit 1
    as if findings were found).  Writing to it is the write error it is."""

    def __init__(self, name: str) -> None:
        self._name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF), self._name)

    def fileno(self) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF), self._name)


def _standard_streams() -> None:
    if sys.stdout is None:
        sys.stdout = _Closed("stdout")
    if sys.stderr is None:
        # Nothing can be said anywhere: the exit status speaks alone.
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def _discard_stdout() -> None:
    """What is left in stdout's buffer goes nowhere (it could not be written)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM made an interruption: what an interrupted command undoes (a
    journaled write rolled back, a pool's workers ended) a terminated one
    undoes too, instead of dying with its writes and workers half-way."""


# The process that installed _terminate(): a child forked from it (a
# pool's worker, forked.Child) inherits the handler, and one signalled
# before it sets its own (a worker ended while it starts) would print the
# Terminated it raised as a traceback.
_COMMAND_PID: int | None = None


def _terminate(signum: int, frame: object) -> None:
    if os.getpid() != _COMMAND_PID:
        os._exit(128 + signum)  # a child: ends as the signal would end it
    raise Terminated


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM raises Terminated within, where nobody else handles it."""
    import signal

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    global _COMMAND_PID
    _COMMAND_PID = os.getpid()
    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: left as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; every expected failure is one line and exit 2.

    :class:`~xenpatch.errors.XenpatchError` (bad input: every error class
    of xenpatch derives from it), OSError (the environment: a full disk, a
    read-only folder) and libgit2's errors end here whichever subcommand
    raised them, so none reaches the user as a traceback.
    """
    _standard_streams()
    given = sys.argv[1:] if argv is None else argv
    parser = build_parser(given[0] if given and not given[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        from xenpatch.recovery import recover_around

        with _terminable():
            recover_around(_paths_of(args))
            status = int(args.handler(args))
        # The dataclass methods this run compiled, kept for the next
        # (methodcode.py; nothing to do once kept).
        from xenpatch import methodcode

        methodcode.save()
        if argv is None:
            _flush_stdout()
            if getattr(args, "exit_at_once", False):
                _exit_at_once(status)
        return status
    except Terminated:
        print("xenpatch: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("xenpatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if argv is None:
            _discard_stdout()
        return 0
    except XenpatchError as exc:
        for line in exc.details:
            print(line, file=sys.stderr)
        print(exc.line(), file=sys.stderr)
        return 2
    except OSError as exc:
        if argv is None:
            _discard_stdout()
        where = exc.filename or ("stdout" if exc.errno in (errno.ENOSPC, errno.EIO) else
                                 "xenpatch")
        print(f"xenpatch: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # libgit2's errors are not ours to subclass; anything else is a bug
        # and keeps its traceback
        if type(exc).__module__.startswith(("pygit2", "_pygit2")):
            print(f"xenpatch: git: {exc}", file=sys.stderr)
            return 2
        # A pool's worker killed from outside (lint/pools.py); looked up,
        # not imported: most runs never load the module.
        futures = sys.modules.get("concurrent.futures")
        if futures is not None and isinstance(exc, futures.BrokenExecutor):
            print("xenpatch: a worker process ended abruptly (killed, or out of memory?): "
                  "the run is incomplete", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
