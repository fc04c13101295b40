"""``portpool run``: run a Python program unchanged under :func:`portpool.patch`, as
``coverage run`` runs one under coverage."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import traceback
from typing import Any

from . import CommandError
from ._machine_options import add_machine_options, open_machine

__all__ = ["register"]


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add ``run`` to ``commands``."""
    run = commands.add_parser(
        "run", help="run a Python program unchanged on an emulated Windows machine",
        description="Run `python SCRIPT ARGS` or `python -m MODULE ARGS` under portpool.patch():"
                    " its sockets and its ctypes calls to ws2_32 and iphlpapi are those of one"
                    " process of the emulated machine the options name.  Python child"
                    " processes it starts join the same machine as processes of their own."
                    "  Exits with the program's status.")
    add_machine_options(run, creates=True)
    run.add_argument("--admin", action="store_true",
                     help="run the program (and its children) as an elevated administrator")
    run.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE ARGS",
                     help="run a module as a script, as python -m does (the words after it"
                          " are the module's arguments)")
    run.add_argument("program", nargs=argparse.REMAINDER, metavar="SCRIPT|ARGS",
                     help="the script and its arguments (with -m: the module's arguments)")
    run.set_defaults(run=_run)


def _run(args: argparse.Namespace, rest: list[str]) -> int:
    words = [*args.program, *rest]
    if args.module is None:
        if not words:
            raise CommandError("give a script to run (portpool run [options] SCRIPT [ARGS]) or"
                               " -m MODULE")
        script, *arguments = words
        if not os.path.exists(script):  # a file, or a folder or zip with __main__.py
            raise CommandError(f"{script}: no such file")
    else:
        if not args.module or words:
            raise CommandError("-m: give a module name (portpool run [options] -m MODULE [ARGS])"
                               if not args.module else "give either a script or -m MODULE")
        script, *arguments = args.module
    with tempfile.TemporaryDirectory(prefix="portpool-run-") as folder:
        # A machine without --machine FILE is kept in a file of its own for the run, so
        # that child processes can join it.
        host = open_machine(args, creates=True, store=os.path.join(folder, "machine.db"))
        return _execute(host, args.admin, script, arguments, module=args.module is not None)


def _execute(host: Any, admin: bool, target: str, arguments: list[str], *, module: bool) -> int:
    """Run ``target`` as ``__main__`` under the patch; the program's exit status."""
    import runpy

    from portpool._patch import patch
    from portpool._patch._children import hook_installed, share_with_children

    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    sys.argv = [target, *arguments]  # with -m, runpy puts the module's file in argv[0]
    # python puts the script's folder first on sys.path, with -m the current folder.
    first = os.getcwd() if module else os.path.dirname(os.path.abspath(target))
    if sys.path:
        sys.path[0] = first
    else:
        sys.path.append(first)
    try:
        if module:
            _check_module(target)
        with patch(host, admin=admin):
            if hook_installed():
                sharing: Any = share_with_children(host, admin=admin)
            else:
                import contextlib

                print("portpool run: portpool-children.pth is not installed here: child processes"
                      " will run on the real machine", file=sys.stderr)
                sharing = contextlib.nullcontext()
            with sharing:
                try:
                    if module:
                        runpy.run_module(target, run_name="__main__", alter_sys=True)
                    else:
                        runpy.run_path(target, run_name="__main__")
                except SystemExit as exc:
                    return _status(exc.code)
                except KeyboardInterrupt:
                    traceback.print_exc()
                    return 130
                except Exception:  # the program's own failure, printed as Python prints it
                    traceback.print_exc()
                    return 1
                return 0
    finally:
        if sys.stdout is not None and sys.stdout.closed:  # the program closed it (json.tool)
            sys.stdout = io.StringIO()
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0


def _check_module(name: str) -> None:
    """Refuse, as one line, a module ``python -m`` could not run."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise CommandError(f"-m {name}: {exc}") from None
    if spec is None:
        raise CommandError(f"-m {name}: no module named {name!r}")


def _status(code: object) -> int:
    """The process status Python gives ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code
    print(code, file=sys.stderr)
    return 1
