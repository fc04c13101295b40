"""``portpool explain``, ``map``, ``tour``, ``advise`` and ``snapshot``: teaching and inspection.

Thin commands: the teaching lives in ``portpool/_teach/`` (``_explain.py``, ``_map.py``,
``_tour.py``, ``_live.py`` for the real machine through netsh) and ``portpool/_model/_advice.py``.  The real
machine's netsh and pool are reached through ``netsh_runner`` and ``pool_opener``,
which tests replace to run the Windows paths anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import CommandError, check_output, one_line
from ._machine_options import (
    MACHINE_OPTIONS,
    add_backend_option,
    add_machine_options,
    open_machine,
    uses_machine_options,
)

if TYPE_CHECKING:
    from portpool._host import EmulatedHost
    from portpool._interface import PortPool
    from portpool._teach._live import NetshRunner
    from portpool._types import PortRange, Protocol

__all__ = ["netsh_runner", "pool_opener", "register"]

#: Runs the real netsh (``None``: ``portpool._teach._live.run_real_netsh``); tests replace it.
netsh_runner: NetshRunner | None = None
#: Opens a pool on the real machine (``None``: ``open_pool("windows")``); tests replace it.
pool_opener: Callable[[], PortPool] | None = None


def _bounded(text: str, low: int, high: int, what: str) -> int:
    """An argparse type: an int in low-high, else a one-line message naming ``what``."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{number} is not in {low}-{high} ({what})")
    return number


def _port(text: str) -> int:
    return _bounded(text, 1, 65535, "a port number")


def _count(text: str) -> int:
    return _bounded(text, 1, 64512, "a number of ports")


def _window(text: str) -> PortRange:
    from portpool._types import PortRange

    first, dash, last = text.partition("-")
    try:
        start, end = int(first), int(last)
        if not dash or end < start:
            raise ValueError
        return PortRange(start, end - start + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write FIRST-LAST within 1-65535,"
                                         " e.g. 49152-65535") from None


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add the commands of this module to ``commands``."""
    explain = commands.add_parser(
        "explain", help="why a port can or cannot be bound, and what would free it",
        description="Who holds PORT (a socket, a runtime reservation, an administered row, a"
                    " system exclusion and its owner), whether a dynamic range covers it, what a"
                    " plain bind, a bind(0) and a specific acquire would get (with the rule ids),"
                    " and what would free it.")
    explain.add_argument("port", type=_port, metavar="PORT", help="the port (1-65535)")
    explain.add_argument("--protocol", choices=("tcp", "udp"), default="tcp")
    add_machine_options(explain)
    add_backend_option(explain)
    explain.set_defaults(run=_explain)

    pool_map = commands.add_parser(
        "map", help="draw the port space to scale (terminal, or SVG with --svg)",
        description="One protocol's port space to scale: dynamic ranges (ipv4, ipv6), system"
                    " exclusions with their owner, administered rows, runtime reservations and"
                    " bound sockets.")
    pool_map.add_argument("--protocol", choices=("tcp", "udp", "both"), default="tcp")
    pool_map.add_argument("--range", type=_window, metavar="FIRST-LAST", dest="window",
                          help="the ports to draw (default 1-65535)")
    pool_map.add_argument("--svg", metavar="FILE", help="write an SVG picture (- for stdout)")
    pool_map.add_argument("--width", type=int, default=64, help="terminal cells per lane (default 64)")
    pool_map.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                          help="ANSI colours (auto: when stdout is a terminal)")
    add_machine_options(pool_map)
    add_backend_option(pool_map)
    pool_map.set_defaults(run=_map)

    tour = commands.add_parser(
        "tour", help="a narrated walk through the rules, with the map after each step",
        description="Specific and wildcard acquire, associate, bind from the block, exhaustion,"
                    " close, another process refused, persistent create, administered row vs"
                    " system exclusion, reboot: each step names its rules and source.")
    tour.add_argument("--seed", type=int, default=7, help="the machine's seed (default 7)")
    tour.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    tour.set_defaults(run=_tour)

    advise = commands.add_parser(
        "advise", help="find a block safe to reserve, and the netsh command that reserves it",
        description="The lowest block of COUNT ports at or above 1024, outside every dynamic"
                    " range and every row, held by no socket, and the netsh command that"
                    " reserves it so that nothing else takes it.")
    advise.add_argument("count", type=_count, metavar="COUNT", help="how many ports")
    advise.add_argument("--protocol", choices=("tcp", "udp", "both"), default="both")
    advise.add_argument("--reserve", action="store_true",
                        help="create the block as a persistent reservation: on the --machine FILE,"
                             " or with --backend windows on this Windows machine (administrator)")
    add_machine_options(advise)
    add_backend_option(advise)
    advise.set_defaults(run=_advise)

    snapshot = commands.add_parser(
        "snapshot", help="save a machine to a store file (on Windows: this machine, via netsh)",
        description="On Windows, reads this machine's rows and dynamic ranges through netsh (any"
                    " display language) into a store file that --machine FILE and"
                    " EmulatedHost(store=FILE) open; elsewhere, or with machine options, saves"
                    " the machine they name.")
    snapshot.add_argument("-o", "--output", metavar="FILE", default="machine.db",
                          help="the store file to write (default machine.db)")
    snapshot.add_argument("--force", action="store_true", help="replace FILE if it exists")
    add_machine_options(snapshot)
    add_backend_option(snapshot, default=None)
    snapshot.set_defaults(run=_snapshot)


# --- helpers ------------------------------------------------------------------------------


def _protocols(word: str) -> tuple[Protocol, ...]:
    from portpool._types import Protocol

    return (Protocol.TCP, Protocol.UDP) if word == "both" else (Protocol[word.upper()],)


def _color(choice: str) -> bool:
    if choice == "auto":
        return sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return choice == "always"


def _live_host(store: str | None = None) -> EmulatedHost:
    from portpool._teach._live import LiveMachineError, live_host

    try:
        return live_host(netsh_runner, store=store)
    except (LiveMachineError, ValueError) as exc:  # ValueError: NetshParseError, a range
        raise CommandError(f"--backend windows: {one_line(exc)}") from None


def _host(args: argparse.Namespace) -> tuple[EmulatedHost, bool]:
    """The machine to read, and whether it was read from netsh output (no sockets)."""
    if args.backend == "windows":
        if uses_machine_options(args):
            raise CommandError("--backend windows reads this machine: drop --machine, --preset,"
                               " --netsh and --variant")
        return _live_host(), True
    return open_machine(args), bool(args.netsh or args.netsh_ipv6)


def _describe(args: argparse.Namespace) -> str:
    """The machine the options name, in a few words."""
    if args.backend == "windows":
        return "this machine, read through netsh"
    if args.netsh or args.netsh_ipv6:
        return "a machine read from netsh output"
    if args.machine:
        return f"the machine in {os.path.basename(args.machine)}"
    return f"a {args.preset or 'default'} machine" + (f" (seed {args.seed})" if args.seed else "")


def _opener() -> PortPool:
    if pool_opener is not None:
        return pool_opener()
    from portpool._registry import open_pool

    return open_pool("windows")


# --- the commands -------------------------------------------------------------------------


def _explain(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._errors import PortPoolError
    from portpool._teach._explain import explain_text, live_bind_text

    (protocol,) = _protocols(args.protocol)
    host, netsh_only = _host(args)
    sys.stdout.write(explain_text(host, protocol, args.port, netsh_only=netsh_only))
    if args.backend == "windows":
        from portpool._teach._live import live_bind

        try:
            error = live_bind(protocol, args.port, _opener)
        except PortPoolError as exc:  # the pool itself cannot start
            raise CommandError(f"--backend windows: a test bind could not run: {one_line(exc)}"
                               ) from None
        sys.stdout.write("\n" + live_bind_text(protocol, args.port, error))
    return 0


def _map(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._teach._map import FULL_SPACE, render_svg, render_text

    if args.width < 8:
        raise CommandError(f"--width {args.width}: give at least 8 cells")
    host, _ = _host(args)
    window = args.window or FULL_SPACE
    protocols = _protocols(args.protocol)
    if args.svg:
        svg = render_svg(host, protocols, window, title=f"portpool map: {_describe(args)}")
        if args.svg == "-":
            sys.stdout.write(svg)
            return 0
        try:
            with open(args.svg, "w", encoding="utf-8") as file:
                file.write(svg)
        except OSError as exc:
            raise CommandError(f"--svg {args.svg}: {exc.strerror or exc}") from None
    color = _color(args.color)
    sys.stdout.write("\n".join(render_text(host, protocol, window, width=args.width, color=color)
                               for protocol in protocols))
    if args.svg:
        print(f"\nwrote {args.svg}")
    return 0


def _tour(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._teach._tour import run_tour

    run_tour(seed=args.seed, color=_color(args.color))
    return 0


def _advise(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._errors import PortPoolError
    from portpool._types import Family

    protocols = _protocols(args.protocol)
    if args.reserve and args.backend != "windows" and not args.machine:
        raise CommandError("--reserve changes a machine: give --machine FILE (an emulated one) or"
                           " --backend windows (this Windows machine, as administrator)")
    host, _ = _host(args)
    try:
        block = host.find_free_block(args.count, protocols)
    except ValueError as exc:
        print(f"portpool advise: {one_line(exc)}", file=sys.stderr)
        return 1
    names = " and ".join(p.name for p in protocols)
    ranges = ", ".join(sorted({f"{r.start}-{r.last}" for p in protocols
                               for r in (host.dynamic_range(p), host.dynamic_range(p, Family.INET6))}))
    print(f"{block.count} {names} port{'s' if block.count > 1 else ''} free to reserve:"
          f" {block.start}-{block.last}")
    print(f"  above 1023, outside the dynamic ranges ({ranges}), every row and every bound socket,"
          " so no bind(0), wildcard reservation or WinNAT row will land there [W1, X1, X4]")
    print("Reserve it as administrator (an administered row: your own server's plain bind inside"
          " it still succeeds [X15]):")
    for protocol in protocols:
        print(f"  netsh int ipv4 add excludedportrange protocol={protocol.name.lower()}"
              f" startport={block.start} numberofports={block.count} store=persistent")
    if not args.reserve:
        return 0
    status = 0
    if args.backend == "windows":
        pool = _opener()
        where = "this machine"
    else:
        pool = host.process(admin=True)
        where = args.machine
    with pool:
        for protocol in protocols:
            try:
                token = pool.create_persistent_reservation(protocol, block.start, block.count)
            except PortPoolError as exc:
                print(f"portpool advise: {protocol.name} {block.start}-{block.last} on {where}:"
                      f" {one_line(exc)}", file=sys.stderr)
                status = 1
            else:
                print(f"reserved {protocol.name} {block.start}-{block.last} on {where}, token"
                      f" {token:#x}")
    return status


def _snapshot(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._host import EmulatedHost
    from portpool._types import Protocol

    if args.backend is None:  # this machine on Windows, unless machine options name another
        windows = sys.platform == "win32" and not uses_machine_options(args)
        args.backend = "windows" if windows else "emulated"
    out = args.output
    if os.path.exists(out) and not args.force:
        raise CommandError(f"{out} exists: give another -o FILE, or --force to replace it")
    if args.machine and os.path.abspath(args.machine) == os.path.abspath(out):
        raise CommandError(f"--machine and -o name the same file {out}")
    check_output(out, "-o", replace=True)  # a one-line error now, not the store's after the work
    temp = os.path.join(os.path.dirname(os.path.abspath(out)), f".{os.path.basename(out)}.snapshot")
    for path in (temp, f"{temp}-journal"):
        if os.path.exists(path):
            os.remove(path)
    try:
        if args.backend == "windows":
            if uses_machine_options(args):
                raise CommandError("--backend windows reads this machine: drop the machine"
                                   f" options ({', '.join(MACHINE_OPTIONS)})")
            host = _live_host(store=temp)
        elif args.machine:
            host = open_machine(args)
            _copy_store(args.machine, temp)
            os.chmod(temp, 0o600)  # as SqliteStore makes its files: the owner's alone
            host = EmulatedHost(store=temp)
        else:
            host = _saved(args, temp)
        rows = {p: host.exclusions(p) for p in Protocol}
        ranges = {p: host.dynamic_range(p) for p in Protocol}
        try:
            os.replace(temp, out)
        except OSError as exc:
            raise CommandError(f"-o {out}: cannot be written ({one_line(exc.strerror or exc)})"
                               ) from None
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    print(f"wrote {out}: {_describe(args)},"
          f" {len(rows[Protocol.TCP])} TCP and {len(rows[Protocol.UDP])} UDP rows, dynamic ranges"
          f" tcp {ranges[Protocol.TCP]!r} udp {ranges[Protocol.UDP]!r}")
    print(f"open it with `portpool explain PORT --machine {out}` or"
          f" EmulatedHost(store={out!r})")
    return 0


def _saved(args: argparse.Namespace, store: str) -> EmulatedHost:
    """The machine the options name, made in ``store``."""
    from portpool._host import EmulatedHost

    if args.netsh or args.netsh_ipv6:
        from portpool._teach._live import live_host

        named = open_machine(args)  # checks and parses the outputs first
        texts = _netsh_texts(named)
        made = live_host(lambda words: texts[tuple(words)], seed=args.seed, store=store)
        if named.auto_reuse_ports is not None:  # O15: --auto-reuse, kept in the file
            made.set_auto_reuse_ports(named.auto_reuse_ports)
        return made
    host = open_machine(args)  # checks the options
    return EmulatedHost(seed=args.seed, store=store, preset=args.preset,
                        variants=host.variants, auto_reuse_ports=host.auto_reuse_ports)


def _netsh_texts(host: EmulatedHost) -> dict[tuple[str, ...], str]:
    """What the six netsh commands of a live read print on ``host``."""
    from portpool._teach._live import LIVE_COMMANDS

    return {words: host.netsh(list(words)) for _, _, words in LIVE_COMMANDS}


def _copy_store(source: str, target: str) -> None:
    """Copy a store file with sqlite's backup (consistent even while another host writes)."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise CommandError(f"--machine {source}: {exc}") from None
