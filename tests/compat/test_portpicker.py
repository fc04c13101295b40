"""portpicker under the patch: the ports it picks avoid every TCP and UDP row."""

from __future__ import annotations

import socket

import pytest

from portpool import EmulatedHost, Protocol, windows_code

from .conftest import INSIDE, outside_rows, within

portpicker = pytest.importorskip("portpicker", reason="pip install 'portpool[compat]' for the matrix")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


def test_an_excluded_port_is_not_free(machine: EmulatedHost) -> None:
    assert not portpicker.is_port_free(INSIDE)
    with socket.socket() as sock, pytest.raises(PermissionError) as info:
        sock.bind(("127.0.0.1", INSIDE))
    assert windows_code(info.value) == 10013


def test_picked_ports_avoid_tcp_and_udp_rows_and_carry_traffic(machine: EmulatedHost) -> None:
    # A TCP-only and a UDP-only block too: a port free for TCP may sit in a UDP row.
    machine.exclude(Protocol.TCP, 15000, 5000)
    machine.exclude(Protocol.UDP, 20000, 5000)
    picked = [portpicker.pick_unused_port() for _ in range(50)]
    for port in picked:
        assert outside_rows(machine, port, Protocol.TCP) and outside_rows(machine, port, Protocol.UDP)
    with socket.create_server(("127.0.0.1", picked[0])) as server, \
            socket.create_connection(("127.0.0.1", picked[0]), timeout=5) as client:
        accepted, _ = within(5, server.accept, what="accept")
        with accepted:
            client.sendall(b"ping")
            assert accepted.recv(4) == b"ping"
