"""The ``portpool`` command line: one module per command group, each registering itself.

Every command module exposes ``register(commands)``, which adds its sub-parsers to
``commands`` and sets ``run`` (a function of the parsed arguments returning the exit
status) as each parser's default.  This module only parses, dispatches and keeps the
promises every command makes: ``--help``, exit status 2 with a one-line message for
bad arguments (never a traceback, never the usage text), and a quiet exit when the
reader of a pipe goes away.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["CommandError", "OneLineParser", "main"]

# The command modules, in the order ``portpool --help`` lists them.
_COMMAND_MODULES = (
    "portpool._cli._basic",
    "portpool._cli._teach",
    "portpool._cli._probe",
    "portpool._cli._conformance",
)


class CommandError(Exception):
    """A command's bad argument found after parsing: ``main`` prints the message on one
    line, prefixed with the command's name, and exits 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit status 2.

    argparse prints the whole usage text before its message; for a command line used
    from scripts one line naming the problem and pointing at ``--help`` reads better.
    Sub-parsers made through ``add_subparsers`` inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: object) -> str:
    """``message`` as one line: its lines joined with spaces."""
    return " ".join(str(message).split())


def build_parser() -> argparse.ArgumentParser:
    """The whole command line's parser (commands import their machinery only when run)."""
    from portpool import __version__

    parser = OneLineParser(
        prog="portpool",
        description="The Windows TCP/UDP port pool: an emulated machine, its rules and its netsh.")
    parser.add_argument("--version", action="version", version=f"portpool {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_rest", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        status: int = args.run(args, rest)
    except CommandError as exc:
        print(f"portpool {args.command}: {one_line(exc)}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader went away (`portpool specs | head`): stop quietly, as cat does.
        # Point stdout at devnull so that the interpreter's final flush cannot fail too.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is no file (a test's capture): nothing to flush
            pass
        return 0
