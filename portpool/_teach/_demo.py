"""``portpool demo``: the pool's rules, shown step by step on an emulated machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._errors import PortPoolError
from .._host import EmulatedHost
from .._types import SOCK_DGRAM, PortRange, Protocol
from ._picture import LEGEND, picture

__all__ = ["run_demo"]

T = TypeVar("T")


def run_demo(out: Callable[[str], None] = print, seed: int = 7) -> None:
    """Tell the story of one machine's port pool through ``out``."""
    step = 0

    def say(title: str) -> None:
        nonlocal step
        step += 1
        out(f"\n{step}. {title}")

    def attempt(label: str, call: Callable[[], T]) -> T | None:
        try:
            result = call()
        except PortPoolError as exc:
            out(f"   {label} -> {exc}")
            return None
        out(f"   {label} -> {result!r}" if result is not None else f"   {label} -> ok")
        return result

    host = EmulatedHost(seed=seed, dynamic_ports=PortRange(49152, 16384))
    tcp_range = host.dynamic_range(Protocol.TCP)
    out(f"An emulated Windows machine (seed {seed}); dynamic range {tcp_range!r} per"
        " protocol [R18].")
    app = host.process()
    out(f"Process {app.pid} starts (not an administrator).")

    say("A wildcard runtime reservation: StartPort 0 takes a free block from the dynamic"
        " range [R2, R3].")
    owner = app.socket()
    res = owner.acquire_port_reservation(0, 8)
    out(f"   acquire_port_reservation(0, 8) -> {res.range!r}, token {res.token:#x}")
    window = PortRange(res.range.start - 8, 64)
    out(picture(host, Protocol.TCP, window))

    other = host.process()
    say(f"A plain socket of another process (pid {other.pid}) cannot bind inside the block:"
        " WSAEACCES, not WSAEADDRINUSE [R17].")
    stranger = other.socket()
    attempt(f"bind(('0.0.0.0', {res.range.start}))",
            lambda: stranger.bind(("0.0.0.0", res.range.start)))
    out(f"   explain: {host.explain(Protocol.TCP, res.range.start)}")
    say("Nor, by default, can a plain socket of the acquiring process itself [X14]; the"
        " evidence is weak, so `variants={'X14': 'succeeds'}` lets it.")
    plain = app.socket()
    attempt(f"bind(('0.0.0.0', {res.range.start + 1}))",
            lambda: plain.bind(("0.0.0.0", res.range.start + 1)))

    say("Associate a socket with the token before bind; bind(port 0) takes a port from the"
        " block [R5].")
    worker = app.socket()
    worker.associate_port_reservation(res.token)
    worker.bind(("0.0.0.0", 0))
    out(f"   associate + bind(0) -> port {worker.getsockname()[1]}")
    plain.bind(("0.0.0.0", 0))
    out(f"   a plain bind(0) stays clear of every block [W1] -> port {plain.getsockname()[1]}")
    out(picture(host, Protocol.TCP, window))

    say("Only the acquiring process may use a runtime token [R4, A12].")
    stranger = other.socket()
    attempt(f"process {other.pid}: associate_port_reservation({res.token:#x})",
            lambda: stranger.associate_port_reservation(res.token))

    say("TCP and UDP pools are separate: the same port number is free for UDP [R17a].")
    udp = app.socket(type=SOCK_DGRAM)
    attempt(f"UDP bind(('0.0.0.0', {res.range.start}))", lambda: udp.bind(("0.0.0.0", res.range.start)))

    say("Closing the acquiring socket ends the runtime reservation [R4]; the port already"
        " bound from it stays bound [A20].")
    owner.close()
    out(f"   TCP reservations now: {host.reservations(Protocol.TCP)}")
    out(picture(host, Protocol.TCP, window))

    say("Persistent reservations need an elevated administrator [R13].")
    attempt("non-admin create_persistent_reservation(TCP, 50000, 10)",
            lambda: app.create_persistent_reservation(Protocol.TCP, 50000, 10))
    admin = host.process(admin=True)
    token = attempt("admin create_persistent_reservation(TCP, 50000, 10)",
                    lambda: admin.create_persistent_reservation(Protocol.TCP, 50000, 10))
    if token is not None:
        out(f"   token {token:#x}")
    attempt("a block that overlaps it", lambda: admin.create_persistent_reservation(
        Protocol.TCP, 50005, 10))

    say("An administered (persistent) block does not stop a plain bind [X15]: that is why"
        " people add one with netsh before starting their own server.")
    server = app.socket()
    attempt("plain bind(('0.0.0.0', 50003))", lambda: server.bind(("0.0.0.0", 50003)))
    server.close()

    say("Windows components exclude ports too: WinNAT (Hyper-V, WSL2, Docker) puts 100-port"
        " system blocks inside the dynamic range [X1]; a plain bind there gets WSAEACCES"
        " [X2], and netsh lists the row without `*`.")
    host.exclude(Protocol.TCP, 50100, 100, owner="WinNAT")
    web = app.socket()
    attempt("bind(('0.0.0.0', 50150))", lambda: web.bind(("0.0.0.0", 50150)))
    out(picture(host, Protocol.TCP, PortRange(49984, 256)))
    out("   netsh int ipv4 show excludedportrange protocol=tcp")
    out("\n".join("   " + line for line in
                   host.netsh("int ipv4 show excludedportrange protocol=tcp").splitlines()))
    out("   `net stop winnat` releases WinNAT's rows:"
        f" {host.release_exclusions('WinNAT')} row(s) gone")
    attempt("bind(('0.0.0.0', 50150))", lambda: web.bind(("0.0.0.0", 50150)))

    say("A reboot ends every process; persistent blocks stay, with new tokens [R13d, A10].")
    host.reboot()
    after = host.process()
    new = attempt("lookup_persistent_reservation(TCP, 50000, 10)",
                  lambda: after.lookup_persistent_reservation(Protocol.TCP, 50000, 10))
    if new is not None and token is not None:
        out(f"   token before {token:#x}, after {new:#x}: look tokens up again after a reboot")
    attempt(f"the old process {app.pid} opens a socket", app.socket)
    out(picture(host, Protocol.TCP, PortRange(49984, 64)))
    out(f"\nLegend: {LEGEND}")
    out("Rules in brackets are in specs/semantics.md.")
