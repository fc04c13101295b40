"""CPython's own test helpers (test.support.socket_helper) under the patch."""

from __future__ import annotations

import socket

import pytest

from portpool import EmulatedHost, Protocol, windows_code

from .conftest import INSIDE, outside_rows, within

socket_helper = pytest.importorskip(
    "test.support.socket_helper",
    reason="this Python has no test package (Debian: apt-get install libpython3-testsuite)")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


def test_bind_port_uses_exclusiveaddruse_and_avoids_rows(machine: EmulatedHost) -> None:
    for kind, protocol in ((socket.SOCK_STREAM, Protocol.TCP), (socket.SOCK_DGRAM, Protocol.UDP)):
        with socket.socket(socket.AF_INET, kind) as sock:
            port = socket_helper.bind_port(sock)
            # bind_port sets SO_EXCLUSIVEADDRUSE where the module has it, for TCP.
            option: int = getattr(socket, "SO_EXCLUSIVEADDRUSE")  # noqa: B009 - typeshed: win32 only; the patch adds it
            exclusive = sock.getsockopt(socket.SOL_SOCKET, option)
            assert exclusive == (1 if protocol is Protocol.TCP else 0)
            assert outside_rows(machine, port, protocol)
    for _ in range(20):
        assert outside_rows(machine, socket_helper.find_unused_port())


def test_bind_inside_winnat_and_refused_connects(machine: EmulatedHost) -> None:
    with socket.socket() as sock, pytest.raises(PermissionError) as info:
        sock.bind(("127.0.0.1", INSIDE))
    assert windows_code(info.value) == 10013
    with socket.socket() as sock:
        port = socket_helper.bind_port(sock)
    with pytest.raises(ConnectionRefusedError) as refused:
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert refused.value.errno in socket_helper.get_socket_conn_refused_errs()


def test_listener_and_create_connection(machine: EmulatedHost) -> None:
    with socket.socket() as server:
        port = socket_helper.bind_port(server)
        server.listen()
        with socket.create_connection((socket_helper.HOST, port), timeout=5) as client:
            accepted, _ = within(5, server.accept, what="accept")
            with accepted:
                client.sendall(b"round trip")
                assert accepted.recv(100) == b"round trip"
