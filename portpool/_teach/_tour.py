"""``portpool tour``: a narrated walk through the port pool's rules on a fresh machine.

Each step makes real calls on an emulated machine, prints what they returned or the
Windows error they raised, names the rules that decide it with their confidence and
the Microsoft page (or other source) behind them, and shows the map of the ports
involved after it.  Nothing here decides an outcome: the model does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Final, TypeVar

from .._errors import PortPoolError
from .._host import EmulatedHost
from .._model._rules import RULES, SOURCES
from .._types import SO_EXCLUSIVEADDRUSE, SOL_SOCKET, PortRange, Protocol, Reservation
from ._map import render_text

__all__ = ["WINDOW", "run_tour"]

T = TypeVar("T")
TCP: Final = Protocol.TCP
#: The ports the tour's map shows: the machine's small dynamic range and the blocks beside it.
WINDOW: Final = PortRange(49152, 512)
DYNAMIC: Final = PortRange(49152, 256)


def _shown(result: object) -> str:
    if isinstance(result, Reservation):
        return f"{result.range!r}, token {result.token:#x}"
    if isinstance(result, int):
        return f"token {result:#x}"
    return repr(result)


def _source(key: str) -> str:
    """The first part of a source (the page, without its quotes)."""
    return SOURCES[key].split(" (")[0]


def run_tour(  # noqa: PLR0915 - one walk, told in order
        out: Callable[[str], None] = print, *, seed: int = 7, color: bool = False,
        width: int = 64) -> None:
    """Walk through the rules on a fresh machine, printing through ``out``.

    Args:
        out: receives each block of text.
        seed: the machine's seed (ports and tokens follow from it).
        color: ANSI colours in the maps.
        width: map cells per lane.
    """
    host = EmulatedHost(seed=seed, dynamic_ports=DYNAMIC)
    count = 0

    def step(title: str, rules: tuple[str, ...], source: str) -> None:
        nonlocal count
        count += 1
        shown = ", ".join(f"{rid} ({RULES[rid].confidence.value})" for rid in rules)
        head = textwrap.fill(f"{count}. {title}", width=96, subsequent_indent="   ")
        out(f"\n{head}\n   rules {shown}\n   source: {_source(source)}")

    def call(label: str, action: Callable[[], T]) -> T | None:
        try:
            result = action()
        except PortPoolError as exc:
            out(f"   {label} -> {exc}")
            return None
        out(f"   {label} -> " + ("ok" if result is None else _shown(result)))
        return result

    def show() -> None:
        out("\n".join("   " + line for line in
                      render_text(host, TCP, WINDOW, width=width, color=color).splitlines()))

    out(textwrap.fill(f"A fresh emulated Windows machine (seed {seed}); its TCP dynamic range is"
                      f" {DYNAMIC!r}, kept small so that the map below shows every block.", width=96))
    app = host.process()
    show()

    step("A specific runtime reservation: SIO_ACQUIRE_PORT_RESERVATION with StartPort 49500"
         " and NumberOfPorts 16.", ("R1",), "ACQ")
    owner = app.socket()
    specific = call("acquire_port_reservation(49500, 16)",
                    lambda: owner.acquire_port_reservation(49500, 16))
    show()

    step("A wildcard reservation: StartPort 0 takes a free block from the dynamic range.",
         ("R2", "R3"), "ACQ")
    wildcard = call("acquire_port_reservation(0, 8)", lambda: owner.acquire_port_reservation(0, 8))
    show()

    step("Associate a new socket with the token before bind: bind(port 0) takes a port"
         " from the block.", ("R5",), "ASSOC")
    workers = []
    if wildcard is not None:
        for _ in range(wildcard.range.count):
            worker = app.socket()
            worker.associate_port_reservation(wildcard.token)
            worker.bind(("0.0.0.0", 0))
            workers.append(worker)
        out(f"   {len(workers)} associated sockets bound to ports"
            f" {sorted(w.getsockname()[1] for w in workers)}")
    show()

    step("Exhaustion: one more associated socket finds the block full.", ("A1",), "ASSOC")
    if wildcard is not None:
        extra = app.socket()
        extra.associate_port_reservation(wildcard.token)
        call("bind(('0.0.0.0', 0))", lambda: extra.bind(("0.0.0.0", 0)))
    show()

    other = host.process()
    step(f"Another process (pid {other.pid}) binds a plain socket inside the specific block:"
         " WSAEACCES, not WSAEADDRINUSE.", ("R17",), "ACQ")
    stranger = other.socket()
    call("bind(('0.0.0.0', 49501))", lambda: stranger.bind(("0.0.0.0", 49501)))
    show()

    step("Closing the acquiring socket releases its reservations; ports already bound from"
         " them stay bound.", ("R4", "A20"), "ACQ")
    owner.close()
    out(f"   TCP reservations now: {host.reservations(TCP)!r}")
    show()
    del specific

    step("A persistent reservation needs an elevated administrator.", ("R13",), "CREATE")
    call("CreatePersistentTcpPortReservation(49600, 10) as a user",
         lambda: app.create_persistent_reservation(TCP, 49600, 10))
    admin = host.process(admin=True)
    token = call("CreatePersistentTcpPortReservation(49600, 10) as administrator",
                 lambda: admin.create_persistent_reservation(TCP, 49600, 10))
    if token is not None:
        out("   netsh now lists 49600-49609 with `*` (an administered row)")
    show()

    step("An administered row does not stop a plain bind; a system exclusion (WinNAT's)"
         " does.", ("X15", "X1", "X2"), "SO_ADMIN")
    server = app.socket()
    call("bind(('0.0.0.0', 49605)) inside the administered row",
         lambda: server.bind(("0.0.0.0", 49605)))
    host.exclude(TCP, 49536, 48, owner="WinNAT")
    out("   WinNAT excludes 49536-49583 (a row without `*`)")
    web = app.socket()
    call("bind(('0.0.0.0', 49550)) inside WinNAT's row", lambda: web.bind(("0.0.0.0", 49550)))
    show()

    step("A server closes its connection first: that side stays in TIME_WAIT for"
         f" TcpTimedWaitDelay ({host.time_wait_delay} s), netstat shows it with PID 0, and an"
         " SO_EXCLUSIVEADDRUSE server restarted on the port is refused until the clock moves"
         " past it.", ("T3", "T6", "T12"), "REUSE")
    listener = app.socket()
    listener.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    listener.bind(("127.0.0.1", 8080))
    listener.listen(5)
    client = app.socket()
    client.connect(("127.0.0.1", 8080))
    accepted, _ = listener.accept()
    accepted.close()
    listener.close()
    client.close()
    waiting = [line for line in host.netstat().splitlines() if "TIME_WAIT" in line]
    out("   netstat -ano: " + (waiting[0].strip() if waiting else "(no TIME_WAIT row)"))
    restarted = app.socket()
    restarted.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    call("bind(('127.0.0.1', 8080)), SO_EXCLUSIVEADDRUSE",
         lambda: restarted.bind(("127.0.0.1", 8080)))
    out(f"   host.advance({host.time_wait_delay}): {host.advance(host.time_wait_delay)}"
        " connection(s) left TIME_WAIT")
    call("bind(('127.0.0.1', 8080)) again", lambda: restarted.bind(("127.0.0.1", 8080)))
    show()

    step("A reboot ends every process: runtime blocks and bindings go, persistent rows stay"
         " with new tokens, and WinNAT's rows of this boot go.", ("R13d", "A10", "X1"), "CREATE")
    host.reboot()
    after = host.process()
    new = call("LookupPersistentTcpPortReservation(49600, 10)",
               lambda: after.lookup_persistent_reservation(TCP, 49600, 10))
    if new is not None and token is not None:
        out(f"   token before {token:#x}, after {new:#x}: look tokens up again after a reboot")
    show()
    out("\n" + textwrap.fill("Legend: = dynamic range, X system exclusion, r runtime reservation,"
                             " P administered row, b bound socket, t a port only connections"
                             " hold.  `portpool specs` gives every rule's text and source;"
                             " `portpool explain PORT` explains one port.", width=96))
