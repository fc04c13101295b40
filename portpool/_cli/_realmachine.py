"""``portpool why``, ``check``, ``reserve`` and ``diff``: the real-machine tools.

Thin commands: the work lives in ``portpool/_realmachine/``.  Each reads the machine the
machine options name (``--preset``, ``--netsh``, ``--machine``) or, without them, the
machine it runs on through the seam (``_realmachine._seam``): this Windows machine,
or the emulated machine under ``portpool.patch()``, which is how the tests drive the
Windows paths on Linux.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from . import CommandError, one_line
from ._machine_options import add_machine_options, open_machine, uses_machine_options
from ._teach import _count, _port  # one bounded-int argument type for the whole CLI

if TYPE_CHECKING:
    from portpool._realmachine._machine import Asked

__all__ = ["register"]

_WINERROR_TEXT = re.compile(r"\[WinError (\d+)\]|\b(100\d\d|110\d\d)\b")
_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\]")
_PORT_TEXT = re.compile(r"(?:address \(['\"]([^'\"]*)['\"], (\d+)\)|(?:port|:)\s*(\d{2,5})\b)")


def _code(text: str) -> int:
    from portpool._errors import WinError

    word = text.strip()
    if word.isdigit():
        return int(word)
    try:
        return int(WinError[word.upper()])
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a Windows code (10013) or its name"
                                         " (WSAEACCES)") from None


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add the commands of this module to ``commands``."""
    why = commands.add_parser(
        "why", help="which failure a caught bind/connect error is, and what frees the port",
        description="Given the error a program printed (paste it) or --code and --port, say which"
                    " failure it is (excluded by which row, in use by which socket, not a local"
                    " address, ...) and what frees it, from this Windows machine or the machine"
                    " the options name.")
    why.add_argument("text", nargs="*", metavar="ERROR",
                     help="the error as printed, e.g. \"[WinError 10013] ... ('127.0.0.1', 8080)\"")
    why.add_argument("--code", type=_code, help="the Windows code (10013) or name (WSAEACCES)")
    why.add_argument("--port", type=_port, help="the port of the failed call")
    why.add_argument("--address", metavar="HOST", help="the address of the failed call")
    why.add_argument("--udp", action="store_true", help="a UDP socket (default TCP)")
    add_machine_options(why)
    why.set_defaults(run=_why)

    check = commands.add_parser(
        "check", help="CI preflight: exit 1 when a port the project needs is blocked here",
        description="Check ports (8080 5432/udp 3000-3010 53/both) or the ports of compose files"
                    " and .env files (*_PORT=): one line per port; exit 1 when one is excluded,"
                    " bound, or inside a dynamic range where WinNAT may land at the next boot."
                    " In GitHub Actions each blocked port is also an error annotation. Without"
                    " ports or files: the compose files and .env of this folder.")
    check.add_argument("ports", nargs="*", metavar="PORT", help="8080, 5432/udp, 3000-3010, 53/both")
    check.add_argument("--file", "-f", action="append", default=[], metavar="FILE",
                       help="a compose file or a .env file (repeat)")
    add_machine_options(check)
    check.set_defaults(run=_check)

    reserve = commands.add_parser(
        "reserve", help="keep a fixed port: stop winnat, add an administered row, start winnat",
        description="As administrator on Windows, the steps people run by hand: when a WinNAT row"
                    " covers PORT, `net stop winnat`; `netsh int ipv4 add excludedportrange ..."
                    " store=persistent`; `net start winnat` (always started again). Refuses when"
                    " not elevated and when a program holds the port.")
    reserve.add_argument("port", type=_port, metavar="PORT")
    reserve.add_argument("--count", type=_count, default=1, help="how many ports from PORT (default 1)")
    reserve.add_argument("--protocol", choices=("tcp", "udp", "both"), default="tcp")
    reserve.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    add_machine_options(reserve, creates=True)
    reserve.add_argument("--not-elevated", action="store_true",
                         help="with machine options: run as a user who is not an administrator")
    reserve.set_defaults(run=_reserve)

    diff = commands.add_parser(
        "diff", help="what changed between two snapshots of a machine (rows, dynamic ranges)",
        description="Compare two store files made by `portpool snapshot -o FILE` (before and after"
                    " a reboot or an update): rows moved, gone and new, dynamic ranges changed."
                    " Exit 0 when the same, 1 when they differ.")
    diff.add_argument("before", metavar="A")
    diff.add_argument("after", metavar="B")
    diff.set_defaults(run=_diff)


def _asked(args: argparse.Namespace, *, admin: bool = True) -> Asked:
    from portpool._realmachine._machine import Asked, ask

    if uses_machine_options(args):
        host = open_machine(args)
        return Asked(host, bool(args.netsh or args.netsh_ipv6), False, _describe(args), True)
    from portpool._teach._live import LiveMachineError
    from portpool.netsh import NetshParseError

    try:
        return ask()
    except (LiveMachineError, NetshParseError) as exc:
        raise CommandError(f"this machine: {one_line(exc)}") from None


def _describe(args: argparse.Namespace) -> str:
    if args.netsh or args.netsh_ipv6:
        return "a machine read from netsh output"
    if args.machine:
        return f"the machine in {os.path.basename(args.machine)}"
    return f"a {args.preset or 'default'} machine" + (f" (seed {args.seed})" if args.seed else "")


# --- why -------------------------------------------------------------------------------


def _why(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._realmachine._machine import bind_now
    from portpool._realmachine._why import explain_from
    from portpool._types import Protocol

    code, host, port = args.code, args.address, args.port
    text = " ".join(args.text)
    if text:
        found = _WINERROR_TEXT.search(text)
        if code is None and found:
            code = int(found.group(1) or found.group(2))
        errno_found = _ERRNO_TEXT.search(text)
        if code is None and errno_found:
            from portpool._realmachine._codes import ERRNO_TO_WINERROR

            code = ERRNO_TO_WINERROR.get(int(errno_found.group(1)))
        place = _PORT_TEXT.search(text)
        if place and port is None:
            if place.group(2):
                host, port = host or place.group(1), int(place.group(2))
            elif place.group(3) and 1 <= int(place.group(3)) <= 65535:
                port = int(place.group(3))
    if code is None:
        raise CommandError("give the error as printed, or --code (10013, WSAEACCES)")
    if port is None:
        raise CommandError("give --port (the port of the failed call), or paste an error that names it")
    protocol = Protocol.UDP if args.udp else Protocol.TCP
    asked = _asked(args)
    now, tried = None, False
    if asked.live and asked.windows and asked.netsh_only:
        now, tried = bind_now(protocol, port), True
    answer = explain_from(code, protocol, host, port, machine=asked.host, netsh_only=asked.netsh_only,
                          machine_name=asked.name, windows=asked.windows, now=now, tried_now=tried,
                          holders=asked.holders(protocol, port))
    sys.stdout.write(str(answer))
    return 0


# --- check -----------------------------------------------------------------------------


def _check(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._realmachine._check import (
        check_ports,
        default_files,
        parse_spec,
        ports_from_file,
    )

    needed = []
    for spec in args.ports:
        try:
            needed += parse_spec(spec)
        except ValueError as exc:
            raise CommandError(one_line(exc)) from None
    files = args.file or ([] if args.ports else default_files())
    for path in files:
        try:
            needed += ports_from_file(path)
        except OSError as exc:
            raise CommandError(f"--file {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CommandError(one_line(exc)) from None
    if not needed:
        raise CommandError("no ports: give PORT ... or --file FILE (no compose file or .env here"
                           + (" names a port" if files else "") + ")")
    asked = _asked(args)
    verdicts = check_ports(asked, needed)
    actions = os.environ.get("GITHUB_ACTIONS") == "true"
    print(f"portpool check: {len(verdicts)} port{'s' if len(verdicts) > 1 else ''} on {asked.name}")
    for verdict in verdicts:
        print(verdict.line())
        if actions and verdict.blocked:
            print(verdict.annotation())
    blocked = sum(v.blocked for v in verdicts)
    if blocked:
        print(f"{blocked} blocked: `portpool why --code 10013 --port PORT` explains one,"
              " `portpool reserve PORT` keeps one", file=sys.stderr)
    return 1 if blocked else 0


# --- reserve ---------------------------------------------------------------------------


def _reserve(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._realmachine._free import parse_protocols
    from portpool._realmachine._reserve import ReserveRefused, plan_reserve, run_reserve
    from portpool._realmachine._seam import EmulatedSeam, current_seam
    from portpool._teach._live import LiveMachineError
    from portpool.netsh import NetshParseError

    if args.port + args.count - 1 > 65535:
        raise CommandError(f"--count {args.count}: {args.port}+{args.count} runs past 65535")
    if args.not_elevated and not uses_machine_options(args):
        raise CommandError("--not-elevated is for machine options (--machine, --preset, --netsh);"
                           " this machine is as elevated as the terminal")
    seam = (EmulatedSeam(open_machine(args, creates=True), admin=not args.not_elevated)
            if uses_machine_options(args) else current_seam())
    protocols = parse_protocols(args.protocol)
    try:
        plan = plan_reserve(seam, args.port, args.count, protocols)
        if not plan.steps:
            names = " and ".join(p.name for p in plan.kept)
            print(f"{names} {plan.start}-{plan.last} already kept by an administered row: nothing to do")
            return 0
        if args.dry_run:
            print(f"portpool reserve would run, as administrator, on {seam.name}:")
            for step in plan.steps:
                print(f"  {step}")
            return 0
        run_reserve(seam, plan, print)
    except ReserveRefused as exc:
        print(f"portpool reserve: {one_line(exc)}", file=sys.stderr)
        return 1
    except (LiveMachineError, NetshParseError) as exc:
        raise CommandError(f"{seam.name}: {one_line(exc)}") from None
    names = " and ".join(p.name for p in protocols)
    print(f"reserved {names} {plan.start}-{plan.last}: an administered row keeps it; your program's"
          " plain bind there succeeds [X15]")
    return 0


# --- diff ------------------------------------------------------------------------------


def _open_snapshot(path: str) -> Any:
    from portpool._host import EmulatedHost
    from portpool._model._store import StoreError
    from portpool._realmachine._diff import snapshot_of

    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file (make one with `portpool snapshot -o FILE`)")
    try:
        return snapshot_of(EmulatedHost(store=path))
    except (StoreError, ValueError, OSError) as exc:
        raise CommandError(f"{path}: {one_line(exc)}") from None


def _diff(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._realmachine._diff import diff

    found = diff(_open_snapshot(args.before), _open_snapshot(args.after))
    sys.stdout.write(str(found))
    return 0 if found.same else 1
