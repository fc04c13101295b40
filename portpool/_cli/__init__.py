"""The ``portpool`` command line: one module per command group, each registering itself.

Every command module exposes ``register(commands)``, which adds its sub-parsers to
``commands`` and sets ``run`` (a function of the parsed arguments returning the exit
status) as each parser's default.  This module only parses, dispatches and keeps the
promises every command makes: ``--help``, exit status 2 with a one-line message for
bad arguments, and a quiet exit when the reader of a pipe goes away.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

# The command modules, in the order ``portpool --help`` lists them.
_COMMAND_MODULES = (
    "portpool._cli._basic",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line's parser (commands import their machinery only when run)."""
    from portpool import __version__

    parser = argparse.ArgumentParser(
        prog="portpool",
        description="The Windows TCP/UDP port pool: an emulated machine, its rules and its netsh.")
    parser.add_argument("--version", action="version", version=f"portpool {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_rest", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        status: int = args.run(args, rest)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`portpool specs | head`): stop quietly, as cat does.
        # Point stdout at devnull so that the interpreter's final flush cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status
