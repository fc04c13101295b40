"""TCP connections, the clock and TIME_WAIT; listen and accept (rules S1-S9, T1-T12).

Every interface test runs on the emulated backend and on the ctypes backend over the
emulated DLLs (the ``backend`` fixture); the two scenarios of docs/connections.md (a
server restarted while its connections linger, a client that runs out of ports) are
written out here as a user's test would write them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from portpool import (
    AF_INET6,
    SO_EXCLUSIVEADDRUSE,
    SO_LINGER,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOL_SOCKET,
    SOMAXCONN,
    EmulatedHost,
    PortPool,
    PortPoolError,
    PortRange,
    Protocol,
    Socket,
    WinError,
    linger,
)

from .conftest import Refusals

rule = pytest.mark.rule
E = WinError
TCP = Protocol.TCP


def _server(pool: PortPool, port: int = 8080, *, host: str = "127.0.0.1",
            exclusive: bool = False, backlog: int = 16) -> Socket:
    server = pool.socket()
    if exclusive:
        server.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    server.bind((host, port))
    server.listen(backlog)
    return server


def _states(host: EmulatedHost, port: int) -> list[tuple[int, int | None, str | None, int]]:
    """(local port, remote port, state, pid) of every TCP row on ``port``, either side."""
    return [(c.local_port, c.remote_port, c.state, c.pid) for c in host.connections(TCP)
            if port in (c.local_port, c.remote_port)]


# --- listen and accept ------------------------------------------------------------------

@rule("S9", "K1", "T12")
def test_connect_and_accept_make_one_connection(emulated_host: EmulatedHost,
                                                pool: PortPool) -> None:
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    port = client.getsockname()[1]
    assert port in emulated_host.dynamic_range(TCP)
    # Before accept the connection waits, ESTABLISHED with the listener's PID (S9).
    pid = emulated_host.connections(TCP)[0].pid
    assert _states(emulated_host, 8080) == [(8080, None, "LISTENING", pid),
                                           (8080, port, "ESTABLISHED", pid),
                                           (port, 8080, "ESTABLISHED", pid)]
    accepted, peer = server.accept()
    assert peer == ("127.0.0.1", port)
    assert accepted.getsockname() == ("127.0.0.1", 8080)
    assert accepted.getpeername() == ("127.0.0.1", port)
    assert client.getpeername() == ("127.0.0.1", 8080)
    # The accepted socket shares the listener's port without binding it (S9).
    assert [b.socket for b in emulated_host.bindings(TCP) if b.port == 8080] == [server.fileno()]


@rule("S1", "S2", "S3", "S5", "S6", "S7", "S8")
def test_listen_and_accept_refusals(pool: PortPool, refused: Refusals) -> None:
    unbound = pool.socket()
    refused(E.WSAEINVAL, lambda: unbound.listen(5), "S1")
    refused(E.WSAEINVAL, unbound.accept, "S5")
    udp = pool.socket(type=SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    refused(E.WSAEOPNOTSUPP, lambda: udp.listen(5), "S2")
    refused(E.WSAEOPNOTSUPP, udp.accept, "S6")
    server = _server(pool)
    refused(E.WSAEWOULDBLOCK, server.accept, "S7")
    refused(E.WSAEINVAL, lambda: server.connect(("127.0.0.1", 8080)), "S8")
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    refused(E.WSAEISCONN, lambda: client.listen(5), "S3")


@rule("S4", "T10")
def test_the_backlog_bounds_what_waits_and_a_second_listen_keeps_it(pool: PortPool,
                                                                    refused: Refusals) -> None:
    server = _server(pool, backlog=2)
    server.listen(50)  # S4: success, the backlog stays 2
    first, second, third = pool.socket(), pool.socket(), pool.socket()
    first.connect(("127.0.0.1", 8080))
    second.connect(("127.0.0.1", 8080))
    refused(E.WSAECONNREFUSED, lambda: third.connect(("127.0.0.1", 8080)), "T10")
    server.accept()
    third.connect(("127.0.0.1", 8080))  # room again


@rule("S4")
@pytest.mark.parametrize(("backlog", "waiting"), [(0, 1), (-1, 200), (SOMAXCONN, 200), (3, 3)])
def test_backlog_values_are_replaced_by_the_nearest_legal_one(backlog: int, waiting: int) -> None:
    host = EmulatedHost(seed=2)
    pool = host.process()
    _server(pool, backlog=backlog)
    for _ in range(waiting):
        pool.socket().connect(("127.0.0.1", 8080))
    late = pool.socket()
    with pytest.raises(PortPoolError, match="T10") as info:
        late.connect(("127.0.0.1", 8080))
    assert info.value.winerror == E.WSAECONNREFUSED


@rule("T10")
def test_nothing_listening_refuses_and_leaves_the_socket_unbound(pool: PortPool,
                                                                refused: Refusals) -> None:
    client = pool.socket()
    refused(E.WSAECONNREFUSED, lambda: client.connect(("127.0.0.1", 9)), "T10")
    refused(E.WSAEINVAL, client.getsockname, "W5")
    refused(E.WSAECONNREFUSED, lambda: client.connect(("192.168.1.10", 9)), "T10")
    v6 = pool.socket(AF_INET6)
    refused(E.WSAECONNREFUSED, lambda: v6.connect(("::1", 9, 0, 0)), "T10")
    # A UDP socket has no connection: its connect only records the peer (K4).
    pool.socket(type=SOCK_DGRAM).connect(("127.0.0.1", 9))


@rule("T11")
def test_a_listener_on_the_exact_address_wins_over_the_wildcard(pool: PortPool) -> None:
    wildcard = pool.socket()
    wildcard.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    wildcard.bind(("0.0.0.0", 8080))
    wildcard.listen(5)
    specific = _server(pool)
    pool.socket().connect(("127.0.0.1", 8080))
    specific.accept()
    with pytest.raises(PortPoolError) as info:
        wildcard.accept()
    assert info.value.winerror == E.WSAEWOULDBLOCK
    pool.socket().connect(("192.168.1.10", 8080))  # only the wildcard listens there
    _, peer = wildcard.accept()
    assert peer[0] == "192.168.1.10"


@rule("S9")
def test_a_dual_stack_listener_takes_ipv4_clients(pool: PortPool) -> None:
    server = pool.socket(AF_INET6)
    server.setsockopt(41, 27, 0)  # IPV6_V6ONLY off
    server.bind(("::", 8080, 0, 0))
    server.listen(5)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    accepted, peer = server.accept()
    assert peer[:2] == ("::ffff:127.0.0.1", client.getsockname()[1])
    assert accepted.getsockname()[:2] == ("::ffff:127.0.0.1", 8080)


# --- closing: FIN_WAIT_2, CLOSE_WAIT, TIME_WAIT, resets -------------------------------------

@rule("T3", "T1", "T12")
def test_the_side_that_closes_first_keeps_time_wait(emulated_host: EmulatedHost,
                                                     pool: PortPool) -> None:
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    port = client.getsockname()[1]
    accepted, _ = server.accept()
    pid = emulated_host.connections(TCP)[0].pid
    accepted.close()  # the server closes first
    assert _states(emulated_host, port) == [(8080, port, "FIN_WAIT_2", 0),
                                            (port, 8080, "CLOSE_WAIT", pid)]
    client.close()  # the client's side goes at once; the server's waits
    assert _states(emulated_host, port) == [(8080, port, "TIME_WAIT", 0)]
    (row,) = [c for c in emulated_host.connections(TCP) if c.state == "TIME_WAIT"]
    assert row.expires == emulated_host.clock + 120
    assert emulated_host.advance(119.5) == 0 and _states(emulated_host, port)
    assert emulated_host.advance(0.5) == 1 and not _states(emulated_host, port)
    assert emulated_host.clock == 120.0


@rule("T3", "T12", "T13")
@pytest.mark.parametrize("first", ["client", "server"])
def test_netstat_after_each_close_order(emulated_host: EmulatedHost, pool: PortPool,
                                        first: str) -> None:
    """RFC 793's close: the first closer FIN_WAIT_2 until the peer closes, then TIME_WAIT;
    the other CLOSE_WAIT until it closes; no in-flight state ever shows (T13)."""
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    port = client.getsockname()[1]
    accepted, _ = server.accept()
    closer, other = (client, accepted) if first == "client" else (accepted, client)
    near, far = ((port, 8080) if first == "client" else (8080, port))
    seen = [_states(emulated_host, port)]
    assert {(row[0], row[2]) for row in seen[0]} == {(8080, "ESTABLISHED"), (port, "ESTABLISHED")}
    closer.close()
    seen.append(_states(emulated_host, port))
    assert {(row[0], row[2]) for row in seen[1]} == {(near, "FIN_WAIT_2"), (far, "CLOSE_WAIT")}
    text = emulated_host.netstat()
    assert f"127.0.0.1:{near}" in text and "FIN_WAIT_2" in text and "CLOSE_WAIT" in text
    other.close()
    seen.append(_states(emulated_host, port))
    assert [(row[0], row[2], row[3]) for row in seen[2]] == [(near, "TIME_WAIT", 0)]
    assert "TIME_WAIT" in emulated_host.netstat()
    emulated_host.advance(emulated_host.time_wait_delay)
    assert not _states(emulated_host, port)
    states = {row[2] for rows in seen for row in rows}
    assert states <= {"ESTABLISHED", "FIN_WAIT_2", "CLOSE_WAIT", "TIME_WAIT"}  # T13
    for word in ("SYN_SENT", "SYN_RECEIVED", "FIN_WAIT_1", "CLOSING", "LAST_ACK"):
        assert word not in emulated_host.netstat()


@rule("T4")
def test_linger_zero_resets_and_leaves_nothing(emulated_host: EmulatedHost, pool: PortPool) -> None:
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    accepted, _ = server.accept()
    accepted.setsockopt(SOL_SOCKET, SO_LINGER, linger(True, 0))
    assert accepted.getsockopt(SOL_SOCKET, SO_LINGER) == 1
    accepted.close()
    assert [c.state for c in emulated_host.connections(TCP)] == ["LISTENING"]
    client.close()
    assert [c.state for c in emulated_host.connections(TCP)] == ["LISTENING"]


@rule("T4", "T3")
def test_linger_with_a_timeout_closes_gracefully(emulated_host: EmulatedHost, pool: PortPool) -> None:
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    server.accept()
    client.setsockopt(SOL_SOCKET, SO_LINGER, linger(True, 5))
    assert client.getsockopt(SOL_SOCKET, SO_LINGER) == 1 + (5 << 16)
    client.close()
    assert "FIN_WAIT_2" in [c.state for c in emulated_host.connections(TCP)]


@rule("S9", "T4")
def test_closing_a_listener_resets_what_waits(emulated_host: EmulatedHost, pool: PortPool) -> None:
    server = _server(pool)
    pool.socket().connect(("127.0.0.1", 8080))
    server.close()
    assert emulated_host.connections(TCP) == ()


@rule("T9")
def test_a_remote_peer_closes_with_us(emulated_host: EmulatedHost, pool: PortPool) -> None:
    client = pool.socket()
    client.connect(("203.0.113.9", 443))  # not the machine's: K6
    port = client.getsockname()[1]
    assert _states(emulated_host, port) == [(port, 443, "ESTABLISHED",
                                             emulated_host.connections(TCP)[0].pid)]
    client.close()
    assert _states(emulated_host, port) == [(port, 443, "TIME_WAIT", 0)]


# --- the restart scenario (T5, T6) --------------------------------------------------------------

def _serve_one_and_stop(pool: PortPool, *, exclusive: bool) -> None:
    """A server accepts one client and closes first (as a server that shuts down does);
    then the client closes: the server's side of the connection is in TIME_WAIT."""
    server = _server(pool, exclusive=exclusive)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    accepted, _ = server.accept()
    accepted.close()
    server.close()
    client.close()


@rule("T6", "T3", "T1")
def test_restart_with_exclusiveaddruse_waits_for_time_wait(emulated_host: EmulatedHost,
                                                           pool: PortPool,
                                                           refused: Refusals) -> None:
    _serve_one_and_stop(pool, exclusive=True)
    restarted = pool.socket()
    restarted.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    refused(E.WSAEADDRINUSE, lambda: restarted.bind(("127.0.0.1", 8080)), "T6: inuse")
    emulated_host.advance(emulated_host.time_wait_delay)
    restarted.bind(("127.0.0.1", 8080))
    restarted.listen(5)


@rule("T6")
def test_exclusiveaddruse_under_succeeds_and_over_plain_listeners(backend: str) -> None:
    for variants, exclusive_listener in (({"T6": "succeeds"}, True), ({}, False)):
        host = EmulatedHost(seed=4, variants=variants)
        pool = _start(host, backend)
        _serve_one_and_stop(pool, exclusive=exclusive_listener)
        again = pool.socket()
        again.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
        again.bind(("127.0.0.1", 8080))  # no conflict with the connection


@rule("T5")
def test_a_plain_restart_binds_at_once_by_default(emulated_host: EmulatedHost,
                                                  pool: PortPool) -> None:
    _serve_one_and_stop(pool, exclusive=False)
    assert [c.state for c in emulated_host.connections(TCP)] == ["TIME_WAIT"]
    restarted = pool.socket()
    restarted.bind(("127.0.0.1", 8080))  # T5: succeeds (Windows does not check TIME_WAIT)
    restarted.listen(5)


@rule("T5")
def test_a_plain_restart_waits_under_inuse(backend: str) -> None:
    host = EmulatedHost(seed=4, variants={"T5": "inuse"})
    pool = _start(host, backend)
    _serve_one_and_stop(pool, exclusive=False)
    refused = Refusals(host, backend)
    restarted = pool.socket()
    refused(E.WSAEADDRINUSE, lambda: restarted.bind(("0.0.0.0", 8080)), "T5: inuse")
    assert host.explain(TCP, 8080).plain_bind_rule == "T5"
    restarted.bind(("192.168.1.10", 8080))  # another address does not meet it (C13)
    reuse = pool.socket()
    reuse.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    reuse.bind(("127.0.0.1", 8080))  # SO_REUSEADDR binds over connections
    host.advance(120)
    pool.socket().bind(("0.0.0.0", 8080))


def _start(host: EmulatedHost, backend: str) -> PortPool:
    if backend == "emulated":
        return host.process()
    from portpool.backends.windows import WindowsPool

    return WindowsPool(dlls=host.dlls())


# --- the same connection again (T7), and running out of ports (T8) ---------------------------------

@rule("T7")
def test_the_same_connection_cannot_be_made_while_in_time_wait(emulated_host: EmulatedHost,
                                                               pool: PortPool,
                                                               refused: Refusals) -> None:
    server = _server(pool)
    client = pool.socket()
    client.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", 50000))
    client.connect(("127.0.0.1", 8080))
    accepted, _ = server.accept()
    client.close()  # the client closes first: its side keeps 50000 <-> 8080
    accepted.close()
    again = pool.socket()
    again.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    again.bind(("127.0.0.1", 50000))  # the bind succeeds (T5) ...
    refused(E.WSAEADDRINUSE, lambda: again.connect(("127.0.0.1", 8080)), "T7")  # ... connect not
    emulated_host.advance(120)
    again.connect(("127.0.0.1", 8080))


@rule("T8", "A13", "T9")
def test_connections_in_time_wait_exhaust_the_dynamic_range(backend: str) -> None:
    host = EmulatedHost(seed=5, dynamic_ports={TCP: PortRange(60000, 255)})
    pool = _start(host, backend)
    for _ in range(255):  # a client that opens and closes a connection per request
        s = pool.socket()
        s.connect(("203.0.113.9", 80))
        s.close()
    assert host.machine.time_waiting() == 255
    refused = Refusals(host, backend)
    late = pool.socket()
    refused(E.WSAENOBUFS, lambda: late.connect(("203.0.113.9", 80)), "T8")
    refused(E.WSAENOBUFS, lambda: late.bind(("0.0.0.0", 0)), "A13")
    why = host.explain(TCP, 60000)
    assert not why.drawable and why.connections[0].state == "TIME_WAIT"
    host.advance(host.time_wait_delay)
    late.connect(("203.0.113.9", 80))


# --- the clock and TcpTimedWaitDelay (T1, T2) ---------------------------------------------------

@rule("T1")
def test_the_clock_moves_only_when_told(emulated_host: EmulatedHost) -> None:
    assert emulated_host.clock == 0.0
    emulated_host.advance(1)
    emulated_host.advance(0.25)
    assert emulated_host.clock == 1.25
    for bad, kind in ((-1, ValueError), (math.nan, ValueError), (math.inf, ValueError),
                      (True, TypeError), ("1", TypeError)):
        with pytest.raises(kind):
            emulated_host.advance(bad)  # type: ignore[arg-type]  # wrong on purpose
    assert emulated_host.clock == 1.25
    emulated_host.reboot()
    assert emulated_host.clock == 0.0


@rule("T1", "T3")
def test_the_same_seed_and_calls_give_the_same_machine() -> None:
    def run() -> str:
        host = EmulatedHost(seed=9)
        pool = host.process()
        _serve_one_and_stop(pool, exclusive=False)
        host.advance(30)
        pool.socket().connect(("203.0.113.9", 80))
        return host.netstat() + repr(host.snapshot())

    assert run() == run()


@rule("T2")
def test_time_wait_delay_is_a_stored_machine_setting(tmp_path: Path) -> None:
    assert EmulatedHost().time_wait_delay == 120
    for bad, kind in ((29, ValueError), (301, ValueError), (60.0, TypeError), ("60", TypeError)):
        with pytest.raises(kind):
            EmulatedHost(time_wait_delay=bad)  # type: ignore[arg-type]  # wrong on purpose
    path = tmp_path / "m.db"
    host = EmulatedHost(store=path, time_wait_delay=30)
    pool = host.process()
    _serve_one_and_stop(pool, exclusive=False)
    (row,) = host.connections(TCP)
    assert row.expires == 30
    host.set_time_wait_delay(300)  # the registry: applies at the next boot
    assert host.time_wait_delay == 30
    with pytest.raises(ValueError, match="30-300"):
        host.set_time_wait_delay(10)
    host.reboot()
    assert host.time_wait_delay == 300 and host.connections(TCP) == ()
    assert EmulatedHost(store=path).time_wait_delay == 300  # kept in the file


# --- netstat (T12) --------------------------------------------------------------------------------

@rule("T12")
def test_netstat_prints_what_windows_prints(emulated_host: EmulatedHost) -> None:
    pool = emulated_host.process()
    pid = pool.pid
    _serve_one_and_stop(pool, exclusive=False)
    (waiting,) = emulated_host.connections(TCP)
    wport = waiting.remote_port
    server = _server(pool, 9000, host="0.0.0.0")
    v6 = pool.socket(AF_INET6)
    v6.bind(("::", 9000, 0, 0))
    v6.listen(5)
    udp = pool.socket(type=SOCK_DGRAM)
    udp.bind(("0.0.0.0", 500))
    peer = pool.socket(type=SOCK_DGRAM)
    peer.connect(("198.51.100.4", 53))
    bound_only = pool.socket()
    bound_only.bind(("127.0.0.1", 7000))  # bound, neither listening nor connected: not listed
    client = pool.socket()
    client.connect(("127.0.0.1", 9000))
    cport = client.getsockname()[1]
    uport = peer.getsockname()[1]
    assert server is not None
    expected = f"""
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:9000           0.0.0.0:0              LISTENING       {pid}
  TCP    127.0.0.1:8080         127.0.0.1:{wport}        TIME_WAIT       0
  TCP    127.0.0.1:9000         127.0.0.1:{cport}        ESTABLISHED     {pid}
  TCP    127.0.0.1:{cport}        127.0.0.1:9000         ESTABLISHED     {pid}
  TCP    [::]:9000              [::]:0                 LISTENING       {pid}
  UDP    0.0.0.0:500            *:*                                    {pid}
  UDP    0.0.0.0:{uport}          198.51.100.4:53                        {pid}
"""
    assert emulated_host.netstat() == expected


@rule("T6", "T8", "T3", "O13")
def test_the_docs_scenarios_run() -> None:
    """docs/connections.md's scenarios, as written there."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "connections.md").read_text(
        encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert len(blocks) == 3
    for block in blocks:
        exec(compile(block, "docs/connections.md", "exec"), {})


# --- the same through portpool.patch() (unmodified socket code) ---------------------------------

@rule("T6", "T3", "T12", "S9")
def test_a_patched_server_restart_is_refused_until_the_clock_moves() -> None:
    import socket
    import struct

    import portpool

    exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", SO_EXCLUSIVEADDRUSE)

    def serve() -> socket.socket:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        server.bind(("127.0.0.1", 8080))
        server.listen()
        return server

    with portpool.patch() as host:
        server = serve()
        client = socket.create_connection(("127.0.0.1", 8080), timeout=10)
        conn, _ = server.accept()
        conn.sendall(b"bye")
        assert client.recv(8) == b"bye"  # real bytes over the kernel's loopback
        conn.close()
        server.close()
        client.close()
        assert [(c.local_port, c.state, c.pid) for c in host.connections(TCP)] == [
            (8080, "TIME_WAIT", 0)]
        assert "TIME_WAIT       0" in host.netstat()
        with pytest.raises(OSError, match="T6") as info:
            serve()
        assert getattr(info.value, "winerror", None) == 10048
        host.advance(host.time_wait_delay)
        serve().close()
        # SO_LINGER 0 (Python's struct linger on this platform) resets: no TIME_WAIT.
        server = serve()
        client = socket.create_connection(("127.0.0.1", 8080), timeout=10)
        conn, _ = server.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        client.close()
        server.close()
        assert host.connections(TCP) == ()


@rule("S7", "T4", "S9")
def test_a_connection_reset_before_accept_is_not_accepted(pool: PortPool,
                                                          refused: Refusals) -> None:
    server = _server(pool)
    client = pool.socket()
    client.connect(("127.0.0.1", 8080))
    client.setsockopt(SOL_SOCKET, SO_LINGER, linger(True, 0))
    client.close()  # a reset: the waiting connection goes
    refused(E.WSAEWOULDBLOCK, server.accept, "S7")
    pool.socket().connect(("127.0.0.1", 8080))
    server.accept()


# --- the emulated DLLs: listen, accept and SO_LINGER's LINGER as C passes them -------------------

@rule("S1", "S5", "S7", "S9", "T4", "T10", "B3")
def test_listen_and_accept_through_the_emulated_ws2_32() -> None:
    import ctypes

    from portpool._winsock import _abi as abi

    host = EmulatedHost(seed=6)
    ws2 = host.dlls().ws2_32
    assert ws2.WSAStartup(0x0202, ctypes.byref(abi.WSADATA())) == 0

    def sin(port: int) -> abi.SOCKADDR_IN:
        name = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(port))
        name.sin_addr[:] = [127, 0, 0, 1]
        return name

    def last() -> int:
        return int(ws2.WSAGetLastError())

    server, client = ws2.socket(2, 1, 6), ws2.socket(2, 1, 6)
    assert ws2.listen(server, 5) == abi.SOCKET_ERROR and last() == E.WSAEINVAL  # S1
    assert ws2.bind(server, ctypes.byref(sin(8080)), 16) == 0
    assert ws2.accept(server, None, None) == abi.INVALID_SOCKET and last() == E.WSAEINVAL  # S5
    assert ws2.listen(server, 5) == 0
    assert ws2.accept(server, None, None) == abi.INVALID_SOCKET and last() == E.WSAEWOULDBLOCK
    assert ws2.connect(client, ctypes.byref(sin(9)), 16) == abi.SOCKET_ERROR  # T10
    assert last() == E.WSAECONNREFUSED
    assert ws2.connect(client, ctypes.byref(sin(8080)), 16) == 0
    peer, size = abi.SOCKADDR_IN(), ctypes.c_int32(8)  # too small for a SOCKADDR_IN: B3
    assert ws2.accept(server, ctypes.byref(peer), ctypes.byref(size)) == abi.INVALID_SOCKET
    assert last() == E.WSAEFAULT
    size.value = 16
    accepted = ws2.accept(server, ctypes.byref(peer), ctypes.byref(size))
    assert accepted not in (abi.INVALID_SOCKET, server, client) and size.value == 16
    assert abi.ntohs(peer.sin_port) == host.connections(TCP)[-1].local_port
    value = (ctypes.c_ushort * 2)(1, 0)  # LINGER {l_onoff 1, l_linger 0}: a reset (T4)
    assert ws2.setsockopt(accepted, SOL_SOCKET, SO_LINGER, ctypes.byref(value), 4) == 0
    assert ws2.closesocket(accepted) == 0
    assert [c.state for c in host.connections(TCP)] == ["LISTENING"]


# --- accepted sockets inherit the listener's options (S9; wine-sock test_accept_inheritance) ----

_KEEPALIVE, _OOBINLINE, _RCVBUF, _RCVTIMEO = 0x8, 0x100, 0x1002, 0x1006
_IPPROTO_TCP, _TCP_NODELAY = 6, 1


@rule("S9", "O1")
def test_an_accepted_socket_reads_the_listeners_options(pool: PortPool) -> None:
    server = pool.socket()
    for level, option, value in ((SOL_SOCKET, SO_REUSEADDR, 1), (SOL_SOCKET, _KEEPALIVE, 1),
                                 (SOL_SOCKET, _OOBINLINE, 1), (SOL_SOCKET, _RCVBUF, 0x123),
                                 (SOL_SOCKET, _RCVTIMEO, 0x123), (_IPPROTO_TCP, _TCP_NODELAY, 1)):
        server.setsockopt(level, option, value)
    server.setsockopt(SOL_SOCKET, SO_LINGER, linger(True, 555))
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = pool.socket()
    client.connect(server.getsockname())
    accepted, _ = server.accept()
    assert [accepted.getsockopt(SOL_SOCKET, o) for o in (SO_REUSEADDR, _KEEPALIVE, _OOBINLINE,
                                                         _RCVBUF, _RCVTIMEO)] == [1, 1, 1, 0x123, 0x123]
    assert accepted.getsockopt(_IPPROTO_TCP, _TCP_NODELAY) == 1
    assert accepted.getsockopt(SOL_SOCKET, SO_LINGER) == 1 | 555 << 16
    # The client's socket, made by socket(), keeps the defaults.
    assert client.getsockopt(SOL_SOCKET, _KEEPALIVE) == 0
    assert client.getsockopt(SOL_SOCKET, _RCVBUF) == 65536


@rule("S9", "T4")
def test_an_accepted_socket_of_a_linger_zero_listener_resets_through_the_emulated_ws2_32() -> None:
    import ctypes

    from portpool._winsock import _abi as abi

    host = EmulatedHost(seed=6)
    ws2 = host.dlls().ws2_32
    assert ws2.WSAStartup(0x0202, ctypes.byref(abi.WSADATA())) == 0
    name = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(8080))
    name.sin_addr[:] = [127, 0, 0, 1]
    server, client = ws2.socket(2, 1, 6), ws2.socket(2, 1, 6)
    zero = (ctypes.c_ushort * 2)(1, 0)  # LINGER {1, 0} on the listener
    assert ws2.setsockopt(server, SOL_SOCKET, SO_LINGER, ctypes.byref(zero), 4) == 0
    keepalive = ctypes.c_int(1)
    assert ws2.setsockopt(server, SOL_SOCKET, _KEEPALIVE, ctypes.byref(keepalive), 4) == 0
    assert ws2.bind(server, ctypes.byref(name), 16) == 0 and ws2.listen(server, 5) == 0
    assert ws2.connect(client, ctypes.byref(name), 16) == 0
    accepted = ws2.accept(server, None, None)
    assert accepted != abi.INVALID_SOCKET
    got, size = (ctypes.c_ushort * 2)(7, 7), ctypes.c_int(4)
    assert ws2.getsockopt(accepted, SOL_SOCKET, SO_LINGER, ctypes.byref(got), ctypes.byref(size)) == 0
    assert list(got) == [1, 0]
    flag, size = ctypes.c_int(0), ctypes.c_int(4)
    assert ws2.getsockopt(accepted, SOL_SOCKET, _KEEPALIVE, ctypes.byref(flag), ctypes.byref(size)) == 0
    assert flag.value == 1
    assert ws2.closesocket(accepted) == 0  # the listener's LINGER {1, 0}: a reset (T4)
    assert [c.state for c in host.connections(TCP)] == ["LISTENING"]


@rule("S9", "O11")
def test_a_patched_accepted_socket_reads_the_listeners_options() -> None:
    import socket

    import portpool

    randomize = 0x3005  # SO_RANDOMIZE_PORT: Windows' number, which the patch sends to the model
    with portpool.patch():
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, randomize, 1)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname(), timeout=10)
        conn, _ = server.accept()
        try:
            assert conn.getsockopt(socket.SOL_SOCKET, randomize) == 1
            assert conn.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
            assert client.getsockopt(socket.SOL_SOCKET, randomize) == 0
        finally:
            conn.close()
            client.close()
            server.close()
