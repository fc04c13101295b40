"""The options every command that reads a machine takes, and the machine they name.

``--machine FILE`` (a store file), ``--preset NAME [--seed N]``, ``--netsh FILE ...``
(saved real netsh output, as pasted), ``--variant RULE=NAME``; none of them: an empty
default machine.  Commands that can read the real Windows machine add ``--backend``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Final

from . import CommandError, one_line

if TYPE_CHECKING:
    from portpool._host import EmulatedHost
    from portpool._types import PortRange

__all__ = ["add_backend_option", "add_machine_options", "auto_reuse_range", "decode_netsh_bytes",
           "open_machine", "uses_machine_options"]

PRESET_NAMES = ("default", "hyperv", "vs-runner")


def add_machine_options(parser: argparse.ArgumentParser, *, creates: bool = False) -> None:
    """Add ``--machine``, ``--preset``, ``--seed``, ``--netsh``, ``--netsh-ipv6`` and
    ``--variant`` to ``parser``.

    Args:
        creates: whether ``--machine FILE`` is made when missing (commands that change
            the machine); otherwise a missing file is a bad argument.
    """
    group = parser.add_argument_group(
        "the machine", "one of --machine, --preset, --netsh; none: a clean default machine")
    made = ("made if missing" if creates else
            "made by `portpool snapshot -o FILE` or `portpool netsh --machine FILE`")
    group.add_argument("--machine", metavar="FILE",
                       help=f"an emulated machine kept in a store file ({made})")
    group.add_argument("--preset", choices=PRESET_NAMES,
                       help="a machine as a kind of real one is found"
                            + (" (with --machine: how a new file is made)" if creates else ""))
    group.add_argument("--seed", type=int, default=0, help="the new machine's seed (default 0)")
    group.add_argument("--netsh", metavar="FILE", action="append", default=[],
                       help="saved output of `netsh int ipv4 show excludedportrange protocol=tcp|udp`"
                            " or `netsh int ipv4 show dynamicport tcp|udp`, any language, as pasted"
                            " (repeat for each output; - reads stdin)")
    group.add_argument("--netsh-ipv6", metavar="FILE", action="append", default=[],
                       help="saved output of `netsh int ipv6 show dynamicport tcp|udp`, when the"
                            " ipv6 ranges differ")
    group.add_argument("--netstat", metavar="FILE",
                       help="saved output of `netstat -ano`, any language, as pasted: the"
                            " machine's listening sockets, UDP sockets and TCP connections"
                            " (TIME_WAIT included); with --netsh or alone (- reads stdin)")
    group.add_argument("--variant", metavar="RULE=NAME", action="append", default=[],
                       help="run a rule's alternative (see `portpool specs`), e.g. X15=refused")
    group.add_argument("--auto-reuse", metavar="START-END", default=None,
                       help="the TCP auto-reuse port range, as Set-NetTCPSetting"
                            " -AutoReusePortRangeStartPort/-AutoReusePortRangeNumberOfPorts"
                            " sets it: TCP connections to different peers share its ports"
                            " (rules O13, O15; default none, as Windows ships); kept in the"
                            " --machine file")


def add_backend_option(parser: argparse.ArgumentParser, *, default: str | None = "emulated") -> None:
    """Add ``--backend emulated|windows`` (``windows``: the real machine, Windows only;
    ``default=None``: the command decides)."""
    first = ("the default on Windows without machine options" if default is None
             else "the default" if default == "windows" else "")
    parser.add_argument("--backend", choices=("emulated", "windows"), default=default,
                        help="emulated: the machine the options name"
                             f"{' (the default)' if default == 'emulated' else ''};"
                             f" windows: this Windows machine, read through netsh"
                             f"{f' ({first})' if first else ''}")


#: Every option that names an emulated machine, as an error message lists them.
MACHINE_OPTIONS: Final = ("--machine", "--preset", "--netsh", "--netsh-ipv6", "--netstat",
                          "--variant", "--auto-reuse")


def uses_machine_options(args: argparse.Namespace) -> bool:
    """Whether any machine option was given (one of :data:`MACHINE_OPTIONS`)."""
    return bool(args.machine or args.preset or args.netsh or args.netsh_ipv6 or args.variant
                or getattr(args, "netstat", None) or getattr(args, "auto_reuse", None))


def auto_reuse_range(args: argparse.Namespace) -> PortRange | None:
    """``--auto-reuse START-END`` as a PortRange (None when not given).

    Raises:
        CommandError: not START-END within 1-65535.
    """
    from portpool._types import PortRange

    text = getattr(args, "auto_reuse", None)
    if text is None:
        return None
    start, sep, end = str(text).partition("-")
    try:
        first, last = int(start), int(end)
        if not sep or last < first:
            raise ValueError("END is below START")
        return PortRange(first, last - first + 1)
    except ValueError as exc:
        raise CommandError(f"--auto-reuse {text}: expected START-END within 1-65535, e.g."
                           f" 40000-41999 ({one_line(exc)})") from None


def decode_netsh_bytes(data: bytes) -> str:
    """Saved netsh output as text: UTF-16 with its BOM (PowerShell 5's ``>``), UTF-8 (with
    or without a BOM), or else a single-byte code page, decoded so that the digits, the
    ``*`` and the words ``tcp``/``udp`` the parsers need always survive."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


def _read(path: str, option: str) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError as exc:
        raise CommandError(f"{option} {path}: {exc.strerror or exc}") from None
    return decode_netsh_bytes(data)


def _variants(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        rule, equals, name = item.partition("=")
        if not equals or not rule or not name:
            raise CommandError(f"--variant {item!r}: write RULE=NAME, e.g. X15=refused")
        out[rule] = name
    return out


def open_machine(args: argparse.Namespace, *, creates: bool = False,
                 store: str | None = None) -> EmulatedHost:
    """The machine the options name.

    Args:
        store: where a machine without ``--machine`` is kept (a new store file); None
            keeps it in memory.

    Raises:
        CommandError: a bad or conflicting option, a missing or unusable file, text that
            is not netsh output (one line each).
    """
    from portpool._errors import PortPoolError
    from portpool._host import EmulatedHost
    from portpool._model._store import StoreError

    variants = _variants(args.variant)
    netstat = getattr(args, "netstat", None)
    if args.netsh or args.netsh_ipv6 or netstat:
        option = "--netsh" if args.netsh or args.netsh_ipv6 else "--netstat"
        if args.machine:
            raise CommandError(f"{option} makes a machine of its own: drop --machine (to keep it"
                               f" in a file, run `portpool snapshot {option} ... -o FILE`)")
        if args.preset:
            raise CommandError(f"{option} makes the machine from the outputs: drop --preset")
        outputs = [_read(path, "--netsh") for path in args.netsh]
        ipv6 = [_read(path, "--netsh-ipv6") for path in args.netsh_ipv6]
        sockets = _read(netstat, "--netstat") if netstat else None
        try:
            return EmulatedHost.from_netsh(*outputs, ipv6_dynamic=ipv6, seed=args.seed,
                                           variants=variants, store=store, netstat=sockets,
                                           auto_reuse_ports=auto_reuse_range(args))
        # Every error from_netsh documents: Netsh/NetstatParseError, a range out of limits,
        # rows of two outputs that overlap, a bad variant (ValueError), a store it cannot use.
        except (StoreError, ValueError, TypeError, PortPoolError) as exc:
            raise CommandError(f"{option}: {one_line(exc)}") from None
    if args.machine and not creates and not os.path.exists(args.machine):
        raise CommandError(f"--machine {args.machine}: no such file (make one with `portpool"
                           " snapshot -o FILE` or `portpool netsh --machine FILE ...`)")
    try:
        return EmulatedHost(seed=args.seed, store=args.machine or store, preset=args.preset,
                            variants=variants, auto_reuse_ports=auto_reuse_range(args))
    except (StoreError, ValueError, TypeError, PortPoolError) as exc:
        raise CommandError(one_line(exc)) from None
