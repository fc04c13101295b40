"""msquic's production pattern, in C shape, over the emulated DLLs (dossier D-R13, D-R27-D-R29).

microsoft/msquic ``src/platform/datapath_winuser.c`` (SocketCreate): a server UDP socket is
one ``WSASocketW(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, ...)`` per processor, each made
dual-stack (``setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, FALSE)``) and pinned with
``WSAIoctl(SIO_CPU_AFFINITY, &Processor, sizeof(uint16_t), NULL, 0, ...)``.  With port
reservations on, socket 0 acquires a 1-port block at the configured port (StartPort taken
from the sockaddr, so already in network order), every socket, socket 0 included,
associates the token, and every socket binds ``[::]:P``.  All binds succeed: "This IOCTL
allows for creating per-processor sockets for the same UDP port" (rule C19).  The block
lives as long as socket 0 (R4); msquic never releases it.  ``socket()`` stands in for
``WSASocketW(..., WSA_FLAG_OVERLAPPED)``, which the emulated DLL does not export; sockets from
``socket()`` are overlapped too.
"""

from __future__ import annotations

from ctypes import byref, c_int32, c_uint16, sizeof
from typing import Any

import pytest

from portpool import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    EmulatedHost,
    PortPoolError,
    Protocol,
    WinError,
)
from portpool._winsock import _abi as abi
from portpool.backends.windows import WindowsPool

rule = pytest.mark.rule
AF_INET6, SOCK_DGRAM, IPPROTO_UDP = abi.AF_INET6, 2, 17
PORT = 45000
PROCESSORS = 4


def startup(dlls: Any) -> Any:
    ws2 = dlls.ws2_32
    assert ws2.WSAStartup(0x0202, byref(abi.WSADATA())) == 0
    return ws2


def check(ws2: Any, result: int, what: str) -> None:
    """msquic's ``if (Result == SOCKET_ERROR) { WsaError = WSAGetLastError(); goto Error; }``"""
    assert result != abi.SOCKET_ERROR, f"{what}: {ws2.WSAGetLastError()} {ws2.details.text}"


def wildcard6(port: int) -> abi.SOCKADDR_IN6:
    return abi.SOCKADDR_IN6(abi.AF_INET6, abi.htons(port))  # [::]:port, the rest zero


def proc_socket(ws2: Any, processor: int | None) -> int:
    """One of msquic's per-processor sockets (``processor`` None: SIO_CPU_AFFINITY left out)."""
    s = ws2.socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP)
    assert s != abi.INVALID_SOCKET
    option = c_int32(0)  # FALSE: dual-stack
    check(ws2, ws2.setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, byref(option), sizeof(option)),
          "Set IPV6_V6ONLY")
    if processor is not None:
        number, returned = c_uint16(processor), abi.DWORD()  # "API only supports 16-bit proc index"
        check(ws2, ws2.WSAIoctl(s, abi.SIO_CPU_AFFINITY, byref(number), sizeof(number), None, 0,
                                byref(returned), None, None), "SIO_CPU_AFFINITY")
    return int(s)


def acquire_one(ws2: Any, s: int, port: int) -> int:
    """SIO_ACQUIRE_PORT_RESERVATION of 1 port at ``port``; returns the token."""
    request = abi.INET_PORT_RANGE(abi.htons(port), 1)  # msquic: sin6_port, network order
    instance, returned = abi.INET_PORT_RESERVATION_INSTANCE(), abi.DWORD()
    check(ws2, ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), sizeof(request),
                            byref(instance), sizeof(instance), byref(returned), None, None),
          "SIO_ACQUIRE_PORT_RESERVATION")
    assert abi.ntohs(instance.Reservation.StartPort) == port
    return int(instance.Token.Token)


def associate(ws2: Any, s: int, token: int) -> int:
    buf, returned = abi.INET_PORT_RESERVATION_TOKEN(token), abi.DWORD()
    return int(ws2.WSAIoctl(s, abi.SIO_ASSOCIATE_PORT_RESERVATION, byref(buf), sizeof(buf), None,
                            0, byref(returned), None, None))


def bind6(ws2: Any, s: int, port: int) -> int:
    name = wildcard6(port)
    return int(ws2.bind(s, byref(name), sizeof(name)))


def local_port(ws2: Any, s: int) -> int:
    name, size = abi.SOCKADDR_IN6(), c_int32(sizeof(abi.SOCKADDR_IN6))
    check(ws2, ws2.getsockname(s, byref(name), byref(size)), "getsockname")
    return abi.ntohs(name.sin6_port)


def msquic_server(ws2: Any, port: int, processors: int) -> tuple[list[int], int]:
    """SocketCreate for a UDP server with port reservations: the sockets and the token."""
    sockets = [proc_socket(ws2, i) for i in range(processors)]
    token = acquire_one(ws2, sockets[0], port)
    for s in sockets:
        check(ws2, associate(ws2, s, token), "SIO_ASSOCIATE_PORT_RESERVATION")
        check(ws2, bind6(ws2, s, port), "bind")
    return sockets, token


@rule("C19", "R4", "R6", "B4", "O6", "C14", "A20")
def test_every_per_processor_socket_binds_the_reserved_port() -> None:
    host = EmulatedHost(seed=29)
    ws2 = startup(host.dlls())
    sockets, token = msquic_server(ws2, PORT, PROCESSORS)
    assert [local_port(ws2, s) for s in sockets] == [PORT] * PROCESSORS
    [reservation] = host.reservations(Protocol.UDP)
    assert (reservation.token, reservation.range.start, reservation.range.count) == (token, PORT, 1)
    assert [b.port for b in host.bindings(Protocol.UDP)] == [PORT] * PROCESSORS
    # Socket 0 holds the block: closing it releases it (R4); the others keep the port.
    check(ws2, ws2.closesocket(sockets[0]), "closesocket")
    assert host.reservations(Protocol.UDP) == ()
    assert [b.port for b in host.bindings(Protocol.UDP)] == [PORT] * (PROCESSORS - 1)


@rule("C19", "C1", "R6", "X14", "R17")
@pytest.mark.parametrize("x14", ["refused", "succeeds"])
def test_a_socket_without_sio_cpu_affinity_does_not_share_the_port(x14: str) -> None:
    host = EmulatedHost(seed=29, variants={"X14": x14})
    ws2 = startup(host.dlls())
    _, token = msquic_server(ws2, PORT, PROCESSORS)
    # Same process, associated with the token, no affinity: the port is its block's (R6),
    # but the per-processor sockets share only among themselves (C19); the table's cell
    # for default options on the wildcard twice, same account, says INUSE (C1).
    plain = proc_socket(ws2, None)
    check(ws2, associate(ws2, plain, token), "SIO_ASSOCIATE_PORT_RESERVATION")
    assert bind6(ws2, plain, PORT) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEADDRINUSE), ws2.details.text
    # Same process, not associated: the block comes first (X14's alternative), then C1.
    unassociated = proc_socket(ws2, None)
    assert bind6(ws2, unassociated, PORT) == abi.SOCKET_ERROR
    expected = WinError.WSAEACCES if x14 == "refused" else WinError.WSAEADDRINUSE
    assert ws2.WSAGetLastError() == int(expected), ws2.details.text
    # Another process, even pinned to a processor: the block is not its own (R17).
    other = startup(host.dlls())
    stranger = proc_socket(other, 0)
    assert bind6(other, stranger, PORT) == abi.SOCKET_ERROR
    assert other.WSAGetLastError() == int(WinError.WSAEACCES), other.details.text
    assert len(host.bindings(Protocol.UDP)) == PROCESSORS


@rule("C19", "R4", "C1", "C14")
def test_closing_socket_zero_releases_the_block_and_closing_all_frees_the_port() -> None:
    host = EmulatedHost(seed=29)
    ws2 = startup(host.dlls())
    sockets, _ = msquic_server(ws2, PORT, PROCESSORS)
    other = startup(host.dlls())
    check(ws2, ws2.closesocket(sockets[0]), "closesocket")  # the block goes with socket 0
    late = proc_socket(other, 0)
    # No block now; the port is still held on both stacks by the dual-stack sockets: the
    # table says INUSE (C1), as for any other wildcard bind (C14).
    assert bind6(other, late, PORT) == abi.SOCKET_ERROR
    assert other.WSAGetLastError() == int(WinError.WSAEADDRINUSE), other.details.text
    v4 = other.socket(abi.AF_INET, SOCK_DGRAM, IPPROTO_UDP)
    name = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(PORT))
    assert other.bind(v4, byref(name), sizeof(name)) == abi.SOCKET_ERROR
    assert other.WSAGetLastError() == int(WinError.WSAEADDRINUSE), other.details.text
    for s in sockets[1:]:
        check(ws2, ws2.closesocket(s), "closesocket")
    check(other, bind6(other, late, PORT), "bind after the server closed")
    assert local_port(other, late) == PORT


@rule("C19", "X5")
def test_a_second_server_on_the_port_fails_at_its_acquire() -> None:
    """A second msquic server on the same port in the same process fails at its acquire,
    whose block overlaps the first server's: msquic's MultiBindListener test (D-R13)."""
    host = EmulatedHost(seed=29)
    ws2 = startup(host.dlls())
    msquic_server(ws2, PORT, 2)
    second = proc_socket(ws2, 0)
    request = abi.INET_PORT_RANGE(abi.htons(PORT), 1)
    instance, returned = abi.INET_PORT_RESERVATION_INSTANCE(), abi.DWORD()
    assert ws2.WSAIoctl(second, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4,
                        byref(instance), 16, byref(returned), None, None) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEADDRINUSE), ws2.details.text
    assert "[rule X5]" in ws2.details.text


@rule("C19", "O6")
def test_the_pattern_through_the_interface_agrees_on_both_backends() -> None:
    """The same pattern through ``portpool.Socket``: the emulated backend and the ctypes
    backend over the emulated DLLs give the same ports and the same refusal."""
    results = []
    for make in (lambda h: h.process(), lambda h: WindowsPool(dlls=h.dlls())):
        host = EmulatedHost(seed=29)
        pool = make(host)
        sockets = [pool.socket(AF_INET6, SOCK_DGRAM) for _ in range(PROCESSORS)]
        for i, sock in enumerate(sockets):
            sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
            sock.set_cpu_affinity(i)
        token = sockets[0].acquire_port_reservation(PORT, 1).token
        for sock in sockets:
            sock.associate_port_reservation(token)
            sock.bind(("::", PORT))
        plain = pool.socket(AF_INET6, SOCK_DGRAM)
        plain.associate_port_reservation(token)
        try:
            plain.bind(("::", PORT))
            refusal = None
        except PortPoolError as exc:
            refusal = exc.code
        results.append(([s.getsockname() for s in sockets], refusal))
    assert results[0] == results[1]
    assert results[0][0] == [("::", PORT, 0, 0)] * PROCESSORS
    assert results[0][1] is WinError.WSAEADDRINUSE
