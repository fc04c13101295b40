"""``portpool demo``, ``specs``, ``sample``, ``netsh`` and ``netstat``: the first commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import CommandError
from ._machine_options import add_machine_options, open_machine

__all__ = ["register"]


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add the commands of this module to ``commands``."""
    demo = commands.add_parser("demo", help="show the pool's rules step by step")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_demo)
    specs = commands.add_parser("specs", help="print specs/semantics.md's rules from the rule table")
    specs.set_defaults(run=_specs)
    sample = commands.add_parser(
        "sample", help="the SIO_ACQUIRE_PORT_RESERVATION page's sample program",
        description="AF TYPE PROTO START COUNT, as the C program takes them"
                    " (example: 2 2 17 5000 20)")
    sample.add_argument("--backend", choices=("emulated", "windows"), default="emulated",
                        help="emulated machine (default) or the real ws2_32 (Windows)")
    sample.add_argument("--fixed", action="store_true",
                        help="associate and bind the second socket, as the page's text says")
    sample.add_argument("--seed", type=int, default=0, help="the emulated machine's seed")
    sample.set_defaults(run=_sample, accepts_rest=True)
    netsh = commands.add_parser(
        "netsh", help="run a netsh command on an emulated machine kept in a file",
        description="Practise netsh on an emulated machine: the words after the options are"
                    " netsh's own, for example `portpool netsh --machine m.db int ipv4 show"
                    " excludedportrange protocol=tcp`. Prints what netsh prints and exits"
                    " with netsh's status.")
    add_machine_options(netsh, creates=True)
    netsh.add_argument("--admin", action="store_true",
                       help="run netsh elevated (add, delete and set need it)")
    netsh.add_argument("words", nargs=argparse.REMAINDER, help="netsh's words")
    netsh.set_defaults(run=_netsh, accepts_rest=True)
    netstat = commands.add_parser(
        "netstat", help="print what `netstat -ano` prints on the machine",
        description="Print the machine's listening sockets, TCP connections (ESTABLISHED,"
                    " CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT with PID 0) and UDP sockets exactly as"
                    " `netstat -ano` prints them on Windows (en-US).  With --netstat FILE it"
                    " reads a real machine's output (any language) and prints it back.")
    add_machine_options(netstat)
    netstat.set_defaults(run=_netstat)


def _demo(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._teach._demo import run_demo

    run_demo(seed=args.seed)
    return 0


def _specs(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._model._rules import render_markdown

    sys.stdout.write(render_markdown())
    return 0


def _netsh(args: argparse.Namespace, rest: list[str]) -> int:
    words = [*rest, *args.words]
    if not words:
        raise CommandError("give netsh's words, for example: int ipv4 show excludedportrange"
                           " protocol=tcp")
    host = open_machine(args, creates=True)
    try:
        result = host.run_netsh(words, admin=args.admin)
    except NotImplementedError as exc:
        raise CommandError(str(exc)) from None
    sys.stdout.write(result.output)
    return 0 if result.done else 1


def _netstat(args: argparse.Namespace, rest: list[str]) -> int:
    sys.stdout.write(open_machine(args).netstat())
    return 0


def _sample(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._winsock._sample import real_ws2_32, run_sample

    if args.backend == "windows":
        ws2 = real_ws2_32()
        if ws2 is None:
            raise CommandError("--backend windows: the real ws2_32 exists only on Windows")
    else:
        from portpool._host import EmulatedHost

        ws2 = EmulatedHost(seed=args.seed).dlls().ws2_32
    return run_sample(rest, ws2, fixed=args.fixed)
