"""The options Windows has (O1, O9, O10), IPV6_V6ONLY on AF_INET (O8) and the options
that change port choice (O11-O13), through the interface on both backends."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from portpool import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    PortPool,
    WinError,
)
from portpool._model._sockopts import OPTIONS

from .conftest import Refusals

rule = pytest.mark.rule
SO_KEEPALIVE, SO_LINGER, SO_DONTLINGER, SO_RCVBUF = 0x8, 0x80, ~0x80, 0x1002
SO_TYPE, SO_BROADCAST = 0x1008, 0x20
SO_RANDOMIZE_PORT, SO_PORT_SCALABILITY, SO_REUSE_UNICASTPORT = 0x3005, 0x3006, 0x3007
IPPROTO_IP, IPPROTO_TCP = 0, 6
IP_TTL, IP_MULTICAST_TTL, IP_DONTFRAGMENT = 4, 10, 14
TCP_NODELAY, TCP_KEEPCNT = 1, 16
IPV6_UNICAST_HOPS = 4


@rule("O1", "O10")
def test_options_windows_has_are_kept(pool: PortPool) -> None:
    tcp = pool.socket(AF_INET, SOCK_STREAM)
    assert tcp.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 0
    tcp.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1)
    assert tcp.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 1
    assert tcp.getsockopt(SOL_SOCKET, SO_RCVBUF) == 65536
    tcp.setsockopt(SOL_SOCKET, SO_RCVBUF, 8192)
    assert tcp.getsockopt(SOL_SOCKET, SO_RCVBUF) == 8192
    tcp.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    assert tcp.getsockopt(IPPROTO_TCP, TCP_NODELAY) == 1
    assert tcp.getsockopt(SOL_SOCKET, SO_TYPE) == SOCK_STREAM
    assert tcp.getsockopt(IPPROTO_IP, IP_DONTFRAGMENT) == 1
    assert pool.socket(AF_INET, SOCK_DGRAM).getsockopt(IPPROTO_IP, IP_DONTFRAGMENT) == 0


@rule("O10")
def test_dontlinger_is_the_negation_of_linger(pool: PortPool) -> None:
    tcp = pool.socket(AF_INET, SOCK_STREAM)
    assert tcp.getsockopt(SOL_SOCKET, SO_DONTLINGER) == 1
    tcp.setsockopt(SOL_SOCKET, SO_LINGER, (1).to_bytes(2, "little") + (5).to_bytes(2, "little"))
    assert tcp.getsockopt(SOL_SOCKET, SO_DONTLINGER) == 0
    tcp.setsockopt(SOL_SOCKET, SO_DONTLINGER, 1)
    assert tcp.getsockopt(SOL_SOCKET, SO_LINGER) == 5 << 16  # l_onoff 0, l_linger kept


@rule("O1", "O2", "O9")
def test_what_is_refused(pool: PortPool, refused: Refusals) -> None:
    tcp = pool.socket(AF_INET, SOCK_STREAM)
    udp = pool.socket(AF_INET, SOCK_DGRAM)
    refused(WinError.WSAENOPROTOOPT, lambda: tcp.setsockopt(SOL_SOCKET, 0x4321, 1), "O1")
    refused(WinError.WSAENOPROTOOPT, lambda: tcp.setsockopt(SOL_SOCKET, SO_TYPE, 2), "O1")
    refused(WinError.WSAENOPROTOOPT, lambda: udp.getsockopt(SOL_SOCKET, SO_LINGER), "O1")
    refused(WinError.WSAEINVAL, lambda: tcp.getsockopt(IPPROTO_IP, IP_MULTICAST_TTL), "O9")
    refused(WinError.WSAEINVAL, lambda: udp.setsockopt(IPPROTO_IP, IP_TTL, 256), "O9")
    refused(WinError.WSAEINVAL, lambda: tcp.setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 300), "O9")
    refused(WinError.WSAEINVAL, lambda: udp.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 1), "O2")
    v6 = pool.socket(AF_INET6, SOCK_DGRAM)
    refused(WinError.WSAEINVAL, lambda: v6.setsockopt(IPPROTO_IP, IP_TTL, 1), "O2")


@rule("O3")
def test_short_values(pool: PortPool, refused: Refusals) -> None:
    tcp = pool.socket(AF_INET, SOCK_STREAM)
    tcp.setsockopt(SOL_SOCKET, SO_KEEPALIVE, b"\x01")  # a BOOLEAN: one byte
    assert tcp.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 1
    tcp.setsockopt(SOL_SOCKET, 0x4, b"\x01\x00")  # SO_REUSEADDR takes 2 bytes
    assert tcp.getsockopt(SOL_SOCKET, 0x4) == 1
    tcp.setsockopt(SOL_SOCKET, 0x4, b"")  # an empty SOL_SOCKET BOOL changes nothing
    assert tcp.getsockopt(SOL_SOCKET, 0x4) == 1
    refused(WinError.WSAEFAULT, lambda: tcp.setsockopt(SOL_SOCKET, SO_RCVBUF, b"\x01\x02"), "O3")
    refused(WinError.WSAEFAULT, lambda: tcp.setsockopt(IPPROTO_TCP, TCP_NODELAY, b""), "O3")


@rule("O8")
def test_ipv6_v6only_on_an_ipv4_socket(pool: PortPool, refused: Refusals) -> None:
    v4 = pool.socket(AF_INET, SOCK_STREAM)
    assert v4.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 1
    v4.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
    assert v4.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 0
    v4.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1)
    v4.bind(("0.0.0.0", 0))
    refused(WinError.WSAEINVAL, lambda: v4.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0), "O8")
    assert v4.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 1


@rule("O11", "A4")
def test_randomize_port_draws_and_moves_the_counter(new_process: Callable[..., PortPool]) -> None:
    pool = new_process()
    ports = []
    for _ in range(20):
        sock = pool.socket(AF_INET, SOCK_DGRAM)
        sock.setsockopt(SOL_SOCKET, SO_RANDOMIZE_PORT, 1)
        sock.bind(("0.0.0.0", 0))
        ports.append(sock.getsockname()[1])
    steps = [b - a for a, b in itertools.pairwise(ports)]
    assert sum(1 for step in steps if step < 0) >= 4, ports  # drawn, not counted
    plain = pool.socket(AF_INET, SOCK_DGRAM)
    plain.bind(("0.0.0.0", 0))
    assert plain.getsockname()[1] == ports[-1] + 1  # the counter followed the last draw


@rule("O12", "O13")
def test_port_scalability_and_reuse_unicastport_are_kept(pool: PortPool) -> None:
    for option in (SO_PORT_SCALABILITY, SO_REUSE_UNICASTPORT):
        sock = pool.socket(AF_INET, SOCK_STREAM)
        assert sock.getsockopt(SOL_SOCKET, option) == 0
        sock.setsockopt(SOL_SOCKET, option, 5)
        assert sock.getsockopt(SOL_SOCKET, option) == 1
        sock.bind(("0.0.0.0", 0))  # a free port at once (O12: free ports first; O13: `off`)
        assert sock.getsockname()[1] != 0


@rule("O1", "O3", "B18")
def test_the_table_is_consistent() -> None:
    for (level, name), spec in OPTIONS.items():
        assert (spec.level, spec.name) == (level, name)
        assert spec.width in (0, 1, 4), spec.label
        assert spec.kinds and spec.families, spec.label
        if spec.short:
            assert spec.short_get in ("bytes", "byte"), spec.label
        if spec.boolean:
            assert spec.default_for("stream") in (0, 1) and spec.default_for("dgram") in (0, 1)


@rule("L4")
def test_so_broadcast_lets_nothing_else_change(pool: PortPool) -> None:
    udp = pool.socket(AF_INET, SOCK_DGRAM)
    assert udp.getsockopt(SOL_SOCKET, SO_BROADCAST) == 0
    udp.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
    assert udp.getsockopt(SOL_SOCKET, SO_BROADCAST) == 1
