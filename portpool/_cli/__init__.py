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
from typing import Any, NoReturn

__all__ = ["CommandError", "OneLineParser", "check_output", "main"]

# The commands, in the order ``portpool --help`` lists them, and the module registering
# each (tests/test_lazy_imports.py checks this against what the modules register): a
# command line naming its command first imports only that command's module.
_COMMANDS = {
    **dict.fromkeys(("demo", "specs", "sample", "netsh", "netstat"), "portpool._cli._basic"),
    **dict.fromkeys(("explain", "map", "tour", "advise", "snapshot"), "portpool._cli._teach"),
    **dict.fromkeys(("why", "check", "reserve", "diff"), "portpool._cli._realmachine"),
    "probe": "portpool._cli._probe",
    "conformance": "portpool._cli._conformance",
    "run": "portpool._cli._program",
}
_COMMAND_MODULES = tuple(dict.fromkeys(_COMMANDS.values()))


class CommandError(Exception):
    """A command's bad argument found after parsing: ``main`` prints the message on one
    line, prefixed with the command's name, and exits 2."""


def terminal_columns() -> int:
    """The width ``shutil.get_terminal_size()`` gives (``COLUMNS``, else the terminal's
    on stdout, else 80), found without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):  # stdout is not a terminal (or no file)
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, as wide as argparse makes it.  argparse makes a formatter for
    every argument a parser gets and imports shutil for the width (shutil loads the
    compression modules): about 10 ms of every command line, ``--help`` or not."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit status 2.

    argparse prints the whole usage text before its message; for a command line used
    from scripts one line naming the problem and pointing at ``--help`` reads better.
    Sub-parsers made through ``add_subparsers`` inherit the class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: object) -> str:
    """``message`` as one line: its lines joined with spaces."""
    return " ".join(str(message).split())


def check_output(path: str, option: str, *, replace: bool = False) -> None:
    """Check, before a command runs, that it will be able to write ``path``.

    The check writes: it opens ``path`` for appending when it exists (truncating
    nothing), else creates it and removes it again, so that it sees what the final
    write will see (permissions, ACLs, a read-only medium).  With ``replace`` the
    command writes a new file next to ``path`` and renames it over ``path``: then only
    the directory must be writable, and the check makes and removes such a file.

    Args:
        path: the output file, as the user gave it.
        option: the option that named it (``--json``, ``-o``), for the message.
        replace: whether the command replaces ``path`` by renaming a new file over it.

    Raises:
        CommandError: ``path`` is a directory, its directory does not exist, or it
            cannot be written.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise CommandError(f"{option} {path}: is a directory, not a file")
    if not os.path.isdir(folder):
        problem = "is not a directory" if os.path.exists(folder) else "does not exist"
        raise CommandError(f"{option} {path}: {folder} {problem}")
    trial = (os.path.join(folder, f".{os.path.basename(target)}.portpool-check")
             if replace else target)
    try:
        if os.path.exists(trial):
            with open(trial, "ab"):
                pass
        else:
            with open(trial, "xb"):
                pass
            os.remove(trial)
    except OSError as exc:
        raise CommandError(f"{option} {path}: cannot be written ({exc.strerror or exc})") from None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser (commands import their machinery only when run).

    With ``command`` (a command's name), only the module registering that command is
    imported and registered: enough to parse a command line that names it first.
    """
    from portpool import __version__

    parser = OneLineParser(
        prog="portpool",
        description="The Windows TCP/UDP port pool: an emulated machine, its rules and its netsh.")
    parser.add_argument("--version", action="version", version=f"portpool {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = (_COMMANDS[command],) if command in _COMMANDS and command else _COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(commands)
    for sub in commands.choices.values():  # so that errors after parsing name the command
        if sub.get_default("parser") is None:
            sub.set_defaults(parser=sub)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Only a command line that starts with its command is parsed by that command's module
    # alone: anything before it (--help, a mistyped option) gets the whole command line.
    parser = build_parser(words[0] if words else None)
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_rest", False):
        # The (sub)command they were given to names itself; words before the command
        # were given to portpool itself.
        given_to = getattr(args, "parser", parser)
        if (rest[0] in words and args.command in words
                and words.index(rest[0]) < words.index(args.command)):
            given_to = parser
        given_to.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        status: int = args.run(args, rest)
    except CommandError as exc:
        print(f"{getattr(args, 'parser', parser).prog}: {one_line(exc)}", file=sys.stderr)
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
