"""The options that share ports: SO_REUSE_UNICASTPORT and connect's port reuse (O13, on a
machine with an auto-reuse port range, O15), SO_RANDOMIZE_PORT after it (O14),
SO_PORT_SCALABILITY (O12); through
the interface on both backends, the emulated ws2_32 and ``portpool.patch()``."""

from __future__ import annotations

import socket
from ctypes import byref, c_int32, sizeof
from typing import Any

import pytest

import portpool
from portpool import (
    AF_INET,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    EmulatedHost,
    PortPool,
    PortPoolError,
    PortRange,
    WinError,
)
from portpool._winsock import _abi as abi

from .conftest import Refusals

rule = pytest.mark.rule
SO_RANDOMIZE_PORT, SO_PORT_SCALABILITY, SO_REUSE_UNICASTPORT = 0x3005, 0x3006, 0x3007
RANGE = "60000-60254"  # the smallest dynamic range Windows allows (Y1): 255 ports
SHARED = PortRange(60000, 255)  # an auto-reuse port range (O15): here the dynamic range
SHARED_TEXT = RANGE
LOOP, LAN = "127.0.0.1", "192.168.1.10"


def listener(pool: PortPool, port: int, host: str = LOOP) -> Any:
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(-1000)  # SOMAXCONN_HINT(1000): the backlog never refuses here (S4)
    return sock


def client(pool: PortPool, port: int, host: str = LOOP) -> Any:
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.connect((host, port))
    return sock


def fill(pool: PortPool, port: int, count: int = 255) -> list[Any]:
    """``count`` clients connected to ``port``, each by connect's implicit bind."""
    return [client(pool, port) for _ in range(count)]


# --- O13: off (Windows' default) ---------------------------------------------------------

@rule("O13", "T8")
@pytest.mark.portpool(dynamic=RANGE)
def test_without_an_auto_reuse_range_every_connection_takes_a_port(pool: PortPool) -> None:
    listener(pool, 8080), listener(pool, 8081)
    clients = fill(pool, 8080)
    assert len({c.getsockname()[1] for c in clients}) == 255
    with pytest.raises(PortPoolError) as info:  # another peer does not help: the range is gone
        client(pool, 8081)
    assert info.value.winerror == WinError.WSAENOBUFS
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    assert sock.getsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT) == 1
    clients[0].close()  # the client closes first: its port waits in TIME_WAIT (T3)
    with pytest.raises(PortPoolError):
        sock.bind((LOOP, 0))


@rule("O13")
def test_the_option_alone_defers_nothing(pool: PortPool) -> None:
    sock = pool.socket(AF_INET, SOCK_STREAM)
    assert sock.getsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT) == 0  # DOTNET_OPTTEST
    sock.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 5)
    assert sock.getsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT) == 1
    sock.bind((LOOP, 0))
    assert sock.getsockname()[1] != 0


# --- O13 on a machine with an auto-reuse port range (O15) --------------------------------------

@rule("O13", "T8", "T3")
@pytest.mark.portpool(dynamic=RANGE, auto_reuse=SHARED_TEXT)
def test_ports_run_out_per_peer(pool: PortPool, emulated_host: EmulatedHost) -> None:
    a, _ = listener(pool, 8080), listener(pool, 8081)
    to_a = fill(pool, 8080)
    servers = [a.accept()[0] for _ in to_a]
    a_ports = {c.getsockname()[1] for c in to_a}
    assert a_ports == set(range(60000, 60255))
    with pytest.raises(PortPoolError) as info:  # every port has a connection to 8080
        client(pool, 8080)
    assert info.value.winerror == WinError.WSAENOBUFS
    to_b = client(pool, 8081)  # another peer: a port shared with a connection to 8080
    assert to_b.getsockname()[1] in a_ports
    rows = [(c.local_host, c.local_port, c.remote_host, c.remote_port)
            for c in emulated_host.connections() if c.state is not None and c.remote_port]
    assert len(rows) == len(set(rows)) == 2 * 256  # both sides of 256 connections, no 4-tuple twice
    for sock in to_a:  # clients close first (FIN_WAIT_2), then the server: TIME_WAIT (T3)
        sock.close()
    for sock in servers:
        sock.close()
    assert sum(c.state == "TIME_WAIT" for c in emulated_host.connections()) == 255
    with pytest.raises(PortPoolError):
        client(pool, 8080)
    emulated_host.advance(emulated_host.time_wait_delay)
    assert client(pool, 8080).getsockname()[1] in a_ports


@rule("O13", "C2", "A13")
@pytest.mark.portpool(dynamic=RANGE, auto_reuse=SHARED_TEXT)
def test_a_shared_port_still_meets_other_binds(pool: PortPool, refused: Refusals) -> None:
    listener(pool, 8080)
    taken = client(pool, 8080).getsockname()[1]
    plain = pool.socket(AF_INET, SOCK_STREAM)
    refused(WinError.WSAEADDRINUSE, lambda: plain.bind((LOOP, taken)))
    fill(pool, 8080, 254)
    refused(WinError.WSAENOBUFS, lambda: plain.bind((LOOP, 0)), "A13")  # bind(0) skips them
    udp = pool.socket(AF_INET, SOCK_DGRAM)
    udp.bind((LOOP, taken))  # another protocol's port space


@rule("O13")
@pytest.mark.portpool(dynamic=RANGE, auto_reuse=SHARED_TEXT)
def test_an_explicit_bind_with_the_option_waits_for_connect(pool: PortPool) -> None:
    listener(pool, 8080)
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    sock.bind((LOOP, 0))
    assert sock.getsockname() == (LOOP, 0)  # DOTNET_48219: no port until connect
    sock.connect((LOOP, 8080))
    assert 60000 <= sock.getsockname()[1] <= 60254
    server = pool.socket(AF_INET, SOCK_STREAM)
    server.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    server.bind((LOOP, 0))
    server.listen(5)  # listen takes a port then
    assert 60000 <= server.getsockname()[1] <= 60254
    plain = pool.socket(AF_INET, SOCK_STREAM)
    plain.bind((LOOP, 0))  # without the option: a port at once
    assert plain.getsockname()[1] != 0


@rule("O13", "A4")
def test_shared_ports_are_drawn_from_the_seed() -> None:
    def ports(seed: int) -> list[int]:
        host = EmulatedHost(seed=seed, auto_reuse_ports=SHARED)
        app = host.process()
        listener(app, 8080)
        return [client(app, 8080).getsockname()[1] for _ in range(20)]

    assert ports(5) == ports(5)
    assert ports(5) != ports(6)


# --- O15: the auto-reuse port range, a machine setting -------------------------------------

@rule("O15", "O13", "T8")
def test_sharing_connections_draw_from_the_auto_reuse_range_only() -> None:
    reuse = PortRange(40000, 2000)  # DOTNET_54903's range, outside the default dynamic range
    host = EmulatedHost(seed=7, auto_reuse_ports=reuse)
    app = host.process()
    listener(app, 8080)
    implicit = [client(app, 8080).getsockname()[1] for _ in range(30)]
    assert all(port in reuse for port in implicit)
    plain = app.socket(AF_INET, SOCK_STREAM)
    plain.bind((LOOP, 0))  # a bind(0) without the option: the dynamic range (A4)
    assert plain.getsockname()[1] in host.dynamic_range(portpool.Protocol.TCP)
    six = app.socket(portpool.AF_INET6, SOCK_STREAM)
    six.bind(("::1", 8081))
    six.listen(5)
    over_ipv6 = app.socket(portpool.AF_INET6, SOCK_STREAM)
    over_ipv6.connect(("::1", 8081))
    assert over_ipv6.getsockname()[1] in reuse  # the range serves IPv6 too (O15, assumed)


def in_force(host: EmulatedHost) -> PortRange | None:
    """The range in force (a call, so that a type checker does not keep an earlier answer)."""
    return host.auto_reuse_ports


@rule("O15", "O13")
def test_the_range_is_kept_in_the_store_and_read_at_boot(tmp_path: Any) -> None:
    path = tmp_path / "machine.db"
    host = EmulatedHost(seed=1, store=path)
    assert in_force(host) is None  # Windows' default: none
    host.set_auto_reuse_ports(PortRange(40000, 100))
    assert in_force(host) is None  # stored, not in force before a reboot
    app = host.process()
    listener(app, 8080)
    assert client(app, 8080).getsockname()[1] not in PortRange(40000, 100)
    host.reboot()
    assert host.auto_reuse_ports == PortRange(40000, 100)
    again = EmulatedHost(store=path)  # another host on the same store: the same machine
    assert again.auto_reuse_ports == PortRange(40000, 100)
    app = again.process()
    listener(app, 8080)
    assert client(app, 8080).getsockname()[1] in PortRange(40000, 100)
    again.set_auto_reuse_ports(None)  # 0 ports: off from the next boot
    again.reboot()
    assert in_force(again) is None and in_force(EmulatedHost(store=path)) is None


@rule("O15")
def test_a_bad_range_is_refused_before_anything_is_made(tmp_path: Any) -> None:
    path = tmp_path / "machine.db"
    with pytest.raises(TypeError, match="auto_reuse_ports must be a PortRange"):
        EmulatedHost(store=path, auto_reuse_ports=(40000, 100))  # type: ignore[arg-type]
    assert not path.exists()
    host = EmulatedHost(seed=1)
    before = host.snapshot()
    with pytest.raises(TypeError, match="PortRange"):
        host.set_auto_reuse_ports(40000)  # type: ignore[arg-type]
    assert host.snapshot() == before


# --- O16: SO_REUSE_UNICASTPORT on UDP ---------------------------------------------------------

@rule("O16", "A4")
@pytest.mark.portpool(dynamic=RANGE, auto_reuse="40000-40099")
def test_the_option_on_udp_is_kept_and_shares_nothing(pool: PortPool) -> None:
    udp = pool.socket(AF_INET, SOCK_DGRAM)
    udp.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    assert udp.getsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT) == 1
    udp.bind((LOOP, 0))
    port = udp.getsockname()[1]
    assert 60000 <= port <= 60254  # a port of the dynamic range at once, not of 40000-40099
    talker = pool.socket(AF_INET, SOCK_DGRAM)
    talker.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    talker.connect(("203.0.113.9", 53))  # UDP's implicit bind: the dynamic range too
    assert 60000 <= talker.getsockname()[1] <= 60254


@rule("O16")
def test_the_option_on_udp_through_the_dlls_and_the_patch() -> None:
    host = EmulatedHost(seed=4, auto_reuse_ports=PortRange(40000, 100))
    ws2 = _ws2(host)
    s = ws2.socket(abi.AF_INET, 2, 0)
    one = c_int32(1)
    assert ws2.setsockopt(s, SOL_SOCKET, SO_REUSE_UNICASTPORT, byref(one), 4) == 0
    anywhere = _sin(LOOP, 0)
    assert ws2.bind(s, byref(anywhere), sizeof(anywhere)) == 0
    got, length = abi.SOCKADDR_IN(), c_int32(sizeof(abi.SOCKADDR_IN))
    assert ws2.getsockname(s, byref(got), byref(length)) == 0
    assert abi.ntohs(got.sin_port) >= 49152
    with portpool.patch(host):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
            sock.bind((LOOP, 0))
            assert sock.getsockname()[1] >= 49152
        finally:
            sock.close()


# --- O14 ------------------------------------------------------------------------------------

@rule("O14")
def test_randomize_port_after_reuse_unicastport_fails(pool: PortPool, refused: Refusals) -> None:
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    refused(WinError.WSAEINVAL, lambda: sock.setsockopt(SOL_SOCKET, SO_RANDOMIZE_PORT, 1), "O14")
    sock.setsockopt(SOL_SOCKET, SO_RANDOMIZE_PORT, 0)  # off: nothing to refuse
    assert sock.getsockopt(SOL_SOCKET, SO_RANDOMIZE_PORT) == 0
    other = pool.socket(AF_INET, SOCK_STREAM)
    other.setsockopt(SOL_SOCKET, SO_RANDOMIZE_PORT, 1)
    other.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)  # the other order succeeds
    assert other.getsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT) == 1


# --- O12 ------------------------------------------------------------------------------------

@rule("O12", "A13", "C13")
@pytest.mark.portpool(dynamic=RANGE)
def test_port_scalability_hands_a_port_out_once_per_address(
        pool: PortPool, refused: Refusals) -> None:
    def scalable(host: str) -> Any:
        sock = pool.socket(AF_INET, SOCK_DGRAM)
        sock.setsockopt(SOL_SOCKET, SO_PORT_SCALABILITY, 1)
        sock.bind((host, 0))
        return sock

    first = [scalable(LOOP).getsockname()[1] for _ in range(255)]
    assert sorted(first) == list(range(60000, 60255))
    again = scalable(LAN).getsockname()[1]  # the range is used up, but not on this address
    assert again in first
    plain = pool.socket(AF_INET, SOCK_DGRAM)
    refused(WinError.WSAENOBUFS, lambda: plain.bind((LAN, 0)), "A13")  # not without the option
    late = pool.socket(AF_INET, SOCK_DGRAM)
    late.setsockopt(SOL_SOCKET, SO_PORT_SCALABILITY, 1)
    refused(WinError.WSAENOBUFS, lambda: late.bind((LOOP, 0)), "A13")  # nor twice on one address
    wildcard = pool.socket(AF_INET, SOCK_DGRAM)
    wildcard.setsockopt(SOL_SOCKET, SO_PORT_SCALABILITY, 1)
    refused(WinError.WSAENOBUFS, lambda: wildcard.bind(("0.0.0.0", 0)), "A13")  # a wildcard bind
    spare = next(p for p in first if p != again)
    pool.socket(AF_INET, SOCK_DGRAM).bind((LAN, spare))  # C13: another address does not meet


# --- the emulated ws2_32 ---------------------------------------------------------------------

def _ws2(host: EmulatedHost) -> Any:
    dlls = host.dlls()
    assert dlls.ws2_32.WSAStartup(0x0202, byref(abi.WSADATA())) == 0
    return dlls.ws2_32


def _sin(host: str, port: int) -> abi.SOCKADDR_IN:
    import ipaddress

    name = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(port))
    name.sin_addr[:] = list(ipaddress.IPv4Address(host).packed)
    return name


@rule("O13", "O3", "B18")
def test_the_dlls_defer_the_port_and_read_a_bool() -> None:
    host = EmulatedHost(seed=2, auto_reuse_ports=SHARED)
    ws2 = _ws2(host)
    server = ws2.socket(abi.AF_INET, 1, 0)
    name = _sin(LOOP, 8080)
    assert ws2.bind(server, byref(name), sizeof(name)) == 0
    assert ws2.listen(server, 5) == 0
    s = ws2.socket(abi.AF_INET, 1, 0)
    one = c_int32(1)
    assert ws2.setsockopt(s, SOL_SOCKET, SO_REUSE_UNICASTPORT, byref(one), 1) == 0  # a BOOL: 1 byte will do
    value, size = c_int32(-1), c_int32(8)
    assert ws2.getsockopt(s, SOL_SOCKET, SO_REUSE_UNICASTPORT, byref(value), byref(size)) == 0
    assert (value.value, size.value) == (1, 4)  # written as a 4-byte BOOL
    anywhere = _sin(LOOP, 0)
    assert ws2.bind(s, byref(anywhere), sizeof(anywhere)) == 0
    got, length = abi.SOCKADDR_IN(), c_int32(sizeof(abi.SOCKADDR_IN))
    assert ws2.getsockname(s, byref(got), byref(length)) == 0
    assert abi.ntohs(got.sin_port) == 0
    assert ws2.connect(s, byref(name), sizeof(name)) == 0
    assert ws2.getsockname(s, byref(got), byref(length)) == 0
    assert abi.ntohs(got.sin_port) in SHARED  # a port of the auto-reuse range


# --- portpool.patch() -------------------------------------------------------------------------

@rule("O13", "O14")
def test_the_patch_takes_windows_option_numbers() -> None:
    host = EmulatedHost(seed=3, auto_reuse_ports=SHARED)
    with portpool.patch(host):
        server = socket.socket()
        server.bind((LOOP, 8080))
        server.listen(5)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
        assert sock.getsockopt(socket.SOL_SOCKET, SO_REUSE_UNICASTPORT) == 1
        sock.bind((LOOP, 0))
        assert sock.getsockname() == (LOOP, 0)
        sock.connect((LOOP, 8080))
        port = sock.getsockname()[1]
        accepted, peer = server.accept()
        assert peer == (LOOP, port)
        sock.sendall(b"hi")
        assert accepted.recv(2) == b"hi"
        with pytest.raises(OSError, match=r"10022|invalid argument") as info:
            sock.setsockopt(socket.SOL_SOCKET, SO_RANDOMIZE_PORT, 1)
        assert portpool.windows_code(info.value) == WinError.WSAEINVAL
        for s in (accepted, sock, server):
            s.close()


@rule("O13", "T10")
@pytest.mark.portpool(dynamic=RANGE, auto_reuse=SHARED_TEXT)
def test_a_refused_connect_leaves_the_port_waiting(pool: PortPool, refused: Refusals,
                                                   emulated_host: EmulatedHost) -> None:
    listener(pool, 8080)
    sock = pool.socket(AF_INET, SOCK_STREAM)
    sock.setsockopt(SOL_SOCKET, SO_REUSE_UNICASTPORT, 1)
    sock.bind((LOOP, 0))
    refused(WinError.WSAECONNREFUSED, lambda: sock.connect((LOOP, 8099)), "T10")
    assert sock.getsockname() == (LOOP, 0)
    others = fill(pool, 8080, 3)
    sock.connect((LOOP, 8080))  # a port of its own: the 4-tuple is new
    assert sock.getsockname()[1] not in {c.getsockname()[1] for c in others}
    assert emulated_host.machine.sharing_problems() == []  # the fuzzer's invariant


# --- the command line: --auto-reuse START-END -------------------------------------------------

@rule("O15")
def test_the_command_line_takes_the_range_and_keeps_it_in_a_snapshot(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from portpool.__main__ import main

    target = tmp_path / "machine.db"
    assert main(["snapshot", "--auto-reuse", "40000-40099", "-o", str(target)]) == 0
    assert EmulatedHost(store=target).auto_reuse_ports == PortRange(40000, 100)
    assert main(["explain", "8080", "--machine", str(target)]) == 0
    capsys.readouterr()
    assert main(["explain", "8080", "--auto-reuse", "40000-39999"]) == 2
    assert "--auto-reuse 40000-39999: expected START-END" in capsys.readouterr().err
