"""The emulated DLLs at the C level: real pointers, real buffers, Windows' call shapes."""

from __future__ import annotations

import ctypes
import sys
import threading
from _ctypes import CFuncPtr
from ctypes import byref, c_int32, c_uint64, sizeof
from typing import Any

import pytest

from portpool import EmulatedHost, PortPoolError, PortRange, Protocol, WinError
from portpool._winsock import _abi as abi
from portpool._winsock._dlls import EmulatedIphlpapi, EmulatedWs2_32
from portpool.backends.windows import WindowsPool

rule = pytest.mark.rule
ACQ, ASSOC, REL = (abi.SIO_ACQUIRE_PORT_RESERVATION, abi.SIO_ASSOCIATE_PORT_RESERVATION,
                   abi.SIO_RELEASE_PORT_RESERVATION)


@pytest.fixture
def host() -> EmulatedHost:
    return EmulatedHost(seed=2)


def started(host: EmulatedHost, admin: bool = False) -> Any:
    dlls = host.dlls(admin=admin)
    data = abi.WSADATA()
    assert dlls.ws2_32.WSAStartup(0x0202, byref(data)) == 0
    assert data.wVersion == 0x0202
    return dlls


def acquire(ws2: Any, s: int, start: int, count: int, **kw: Any) -> tuple[int, Any, abi.DWORD]:
    request = abi.INET_PORT_RANGE(abi.htons(start), count)
    out = abi.INET_PORT_RESERVATION_INSTANCE()
    returned = abi.DWORD(0xDEAD)
    args: dict[str, Any] = {"inb": byref(request), "cbin": sizeof(request), "outb": byref(out),
                            "cbout": sizeof(out), "pbytes": byref(returned), "ov": None,
                            "routine": None}
    args.update(kw)
    rc = ws2.WSAIoctl(s, ACQ, args["inb"], args["cbin"], args["outb"], args["cbout"],
                      args["pbytes"], args["ov"], args["routine"])
    return rc, out, returned


def test_the_declared_exports_are_the_exports(host: EmulatedHost) -> None:
    """The class-level declarations that type the DLL objects name exactly what they export."""
    dlls = host.dlls()
    for dll, cls, dll_name in ((dlls.ws2_32, EmulatedWs2_32, "ws2_32"),
                               (dlls.iphlpapi, EmulatedIphlpapi, "iphlpapi")):
        exported = {name for name, value in vars(dll).items() if isinstance(value, CFuncPtr)}
        declared = {name for name, kind in cls.__annotations__.items() if "Function" in kind}
        assert exported == declared == {n for n, p in abi.PROTOTYPES.items() if p.dll == dll_name}


def token_ioctl(ws2: Any, s: int, code: int, token: int, *, cbin: int = 8,
                cbout: int = 0) -> tuple[int, int]:
    buf = c_uint64(token)
    returned = abi.DWORD(0xDEAD)
    rc = ws2.WSAIoctl(s, code, byref(buf), cbin, None, cbout, byref(returned), None, None)
    return rc, returned.value


@rule("B1", "B2", "B4", "B5")
def test_acquire_buffers_byte_order_and_bytes_returned(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(abi.AF_INET, 1, 6)
    rc, out, returned = acquire(ws2, s, 5000, 20)
    assert (rc, returned.value) == (0, 16)
    assert out.Reservation.StartPort == abi.htons(5000)  # network order on the way out too
    assert out.Reservation.NumberOfPorts == 20
    assert out.Token.Token == host.reservations(Protocol.TCP)[0].token
    rc, _, returned = acquire(ws2, s, 6000, 1, cbout=12)  # B2
    assert (rc, ws2.WSAGetLastError(), returned.value) == (abi.SOCKET_ERROR, 10022, 0)
    rc, _, _ = acquire(ws2, s, 6000, 1, cbin=8)  # B1
    assert (rc, ws2.WSAGetLastError()) == (abi.SOCKET_ERROR, 10022)
    assert len(host.reservations(Protocol.TCP)) == 1


@rule("B3")
@pytest.mark.parametrize("null", ["inb", "outb", "pbytes"])
def test_null_pointers_are_wsaefault(host: EmulatedHost, null: str) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(abi.AF_INET, 1, 0)
    rc, _, _ = acquire(ws2, s, 5000, 2, **{null: None})
    assert (rc, ws2.WSAGetLastError()) == (abi.SOCKET_ERROR, int(WinError.WSAEFAULT))
    assert ws2.bind(s, None, 16) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)
    short = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(80))
    assert ws2.bind(s, byref(short), 8) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)
    assert host.reservations(Protocol.TCP) == () and host.bindings(Protocol.TCP) == ()


@rule("B6", "B7")
def test_token_ioctls(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    owner, user = ws2.socket(2, 1, 0), ws2.socket(2, 1, 0)
    _, out, _ = acquire(ws2, owner, 5000, 2)
    token = out.Token.Token
    assert token_ioctl(ws2, user, ASSOC, token, cbin=4) == (abi.SOCKET_ERROR, 0xDEAD)  # B7
    assert ws2.WSAGetLastError() == 10022
    assert token_ioctl(ws2, user, ASSOC, token, cbout=8)[0] == abi.SOCKET_ERROR  # B7
    assert token_ioctl(ws2, user, ASSOC, token) == (0, 0)  # B6
    assert token_ioctl(ws2, owner, REL, token) == (0, 0)
    assert host.reservations(Protocol.TCP) == ()


@rule("B8", "R9a", "R9b")
def test_unknown_ioctl_raw_socket_and_bad_handle(host: EmulatedHost) -> None:
    ws2 = started(host, admin=True).ws2_32
    s = ws2.socket(2, 1, 0)
    returned = abi.DWORD()
    assert ws2.WSAIoctl(s, 0x98000099, None, 0, None, 0, byref(returned), None, None) == -1
    assert ws2.WSAGetLastError() == int(WinError.WSAEOPNOTSUPP)
    raw = ws2.socket(2, 3, 1)
    assert acquire(ws2, raw, 5000, 1)[0] == -1
    assert ws2.WSAGetLastError() == int(WinError.WSAEOPNOTSUPP)
    assert acquire(ws2, 0x7777, 5000, 1)[0] == -1
    assert ws2.WSAGetLastError() == int(WinError.WSAENOTSOCK)
    assert ws2.closesocket(0x7777) == -1 and ws2.WSAGetLastError() == int(WinError.WSAENOTSOCK)


@rule("B13")
def test_wsastartup_and_wsacleanup(host: EmulatedHost) -> None:
    dlls = host.dlls()
    ws2 = dlls.ws2_32
    assert ws2.socket(2, 1, 0) == abi.INVALID_SOCKET
    assert ws2.WSAGetLastError() == int(WinError.WSANOTINITIALISED)
    assert ws2.WSAStartup(0x0202, None) == int(WinError.WSAEFAULT)  # the code is the result
    data = abi.WSADATA()
    assert ws2.WSAStartup(0x0202, byref(data)) == 0
    assert ws2.WSAStartup(0x0101, byref(data)) == 0 and data.wVersion == 0x0101
    s = ws2.socket(2, 1, 0)
    acquire(ws2, s, 5000, 2)
    assert ws2.WSACleanup() == 0 and host.reservations(Protocol.TCP)  # one startup left
    assert ws2.WSACleanup() == 0 and host.reservations(Protocol.TCP) == ()
    assert ws2.WSACleanup() == -1 and ws2.WSAGetLastError() == int(WinError.WSANOTINITIALISED)


@rule("B5")
def test_last_error_is_per_thread(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    ws2.closesocket(0x7777)
    seen: list[int] = []

    def other() -> None:
        seen.append(ws2.WSAGetLastError())
        ws2.socket(99, 1, 0)
        seen.append(ws2.WSAGetLastError())

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [0, int(WinError.WSAEAFNOSUPPORT)]
    assert ws2.WSAGetLastError() == int(WinError.WSAENOTSOCK)


@rule("B9")
def test_overlapped_completes_through_event_and_routine(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    event = ws2.WSACreateEvent()
    ov = abi.WSAOVERLAPPED(hEvent=event)
    calls: list[tuple[int, int, int]] = []
    routine = abi.COMPLETION_ROUTINE(lambda err, n, pov, flags: calls.append((err, n, pov)))
    rc, out, returned = acquire(ws2, s, 5000, 3, ov=byref(ov), routine=routine)
    assert rc == 0 and returned.value == 16 and out.Reservation.NumberOfPorts == 3
    events = (ctypes.c_void_p * 1)(event)
    assert ws2.WSAWaitForMultipleEvents(1, events, 0, 0, 0) == abi.WSA_WAIT_EVENT_0
    assert calls == []  # the routine waits for an alertable wait of this thread
    assert ws2.WSAWaitForMultipleEvents(1, events, 0, 0, 1) == abi.WSA_WAIT_IO_COMPLETION
    assert calls == [(0, 16, ctypes.addressof(ov))]
    transferred, flags = abi.DWORD(), abi.DWORD()
    assert ws2.WSAGetOverlappedResult(s, byref(ov), byref(transferred), 0, byref(flags)) == 1
    assert transferred.value == 16


@rule("B9", "B10")
def test_pending_mode_and_abort_on_close(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    host.calls.pend_overlapped = True
    a, b = ws2.socket(2, 1, 0), ws2.socket(2, 1, 0)
    ev_a, ev_b = ws2.WSACreateEvent(), ws2.WSACreateEvent()
    ov_a, ov_b = abi.WSAOVERLAPPED(hEvent=ev_a), abi.WSAOVERLAPPED(hEvent=ev_b)
    done: list[int] = []
    routine = abi.COMPLETION_ROUTINE(lambda err, n, pov, flags: done.append(err))
    assert acquire(ws2, a, 5000, 2, ov=byref(ov_a), routine=routine)[0] == -1
    assert ws2.WSAGetLastError() == int(WinError.WSA_IO_PENDING)
    assert acquire(ws2, b, 6000, 2, ov=byref(ov_b), routine=routine)[0] == -1
    assert host.calls.pending == 2 and host.reservations(Protocol.TCP) == ()
    n, flags = abi.DWORD(), abi.DWORD()
    assert ws2.WSAGetOverlappedResult(a, byref(ov_a), byref(n), 0, byref(flags)) == 0
    assert ws2.WSAGetLastError() == int(WinError.WSA_IO_INCOMPLETE)
    assert ws2.closesocket(a) == 0  # B10: aborted, no effect
    assert ov_a.Internal == int(WinError.WSA_OPERATION_ABORTED)
    assert ws2.WSAGetOverlappedResult(a, byref(ov_a), byref(n), 0, byref(flags)) == 0
    assert ws2.WSAGetLastError() == int(WinError.WSA_OPERATION_ABORTED)
    assert host.calls.complete_pending() == 1
    assert [r.range for r in host.reservations(Protocol.TCP)] == [PortRange(6000, 2)]
    assert ov_b.Internal == 0 and ov_b.InternalHigh == 16
    assert ws2.WSAWaitForMultipleEvents(1, (ctypes.c_void_p * 1)(ev_b), 1, 0, 1) == \
        abi.WSA_WAIT_IO_COMPLETION
    assert done == [int(WinError.WSA_OPERATION_ABORTED), 0]


@rule("B9")
def test_pending_failure_reports_through_the_overlapped(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    host.calls.pend_overlapped = True
    s = ws2.socket(2, 1, 0)
    ws2.WSAStartup  # noqa: B018 - keep a reference; nothing to do
    ov = abi.WSAOVERLAPPED()
    assert acquire(ws2, s, 6000, 0, ov=byref(ov))[0] == -1  # count 0: fails at completion
    host.calls.complete_pending()
    assert ov.Internal == int(WinError.WSAEINVAL)


@rule("B11")
def test_wspioctl_reports_through_lperrno(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    request, out = abi.INET_PORT_RANGE(abi.htons(5000), 0), abi.INET_PORT_RESERVATION_INSTANCE()
    returned, err = abi.DWORD(), c_int32(0)
    thread = abi.WSATHREADID(ThreadHandle=threading.get_ident())
    rc = ws2.WSPIoctl(s, ACQ, byref(request), 4, byref(out), 16, byref(returned), None, None,
                      byref(thread), byref(err))
    assert (rc, err.value) == (abi.SOCKET_ERROR, int(WinError.WSAEINVAL))
    assert ws2.WSAGetLastError() == 0  # not through WSAGetLastError
    request.NumberOfPorts = 4
    assert ws2.WSPIoctl(s, ACQ, byref(request), 4, byref(out), 16, byref(returned), None, None,
                        byref(thread), byref(err)) == 0
    assert out.Reservation.NumberOfPorts == 4


@pytest.mark.parametrize("code", [WinError.WSAENETDOWN, WinError.WSAEINTR, WinError.WSAEINPROGRESS])
def test_fault_injection(host: EmulatedHost, code: WinError) -> None:
    dlls = started(host, admin=True)
    ws2, iph = dlls
    s = ws2.socket(2, 1, 0)
    host.calls.fail_next("WSAIoctl", code)
    before = host.snapshot()
    assert acquire(ws2, s, 5000, 2)[0] == -1 and ws2.WSAGetLastError() == int(code)
    assert host.snapshot() == before
    assert acquire(ws2, s, 5000, 2)[0] == 0  # only the next call
    host.calls.fail_next("CreatePersistentUdpPortReservation", code, times=2)
    token = c_uint64()
    for _ in range(2):
        assert iph.CreatePersistentUdpPortReservation(abi.htons(7000), 1, byref(token)) == int(code)
    assert iph.CreatePersistentUdpPortReservation(abi.htons(7000), 1, byref(token)) == 0
    pool = WindowsPool(dlls=host.dlls())
    host.calls.fail_next("socket", code)
    with pytest.raises(PortPoolError) as info:
        pool.socket()
    assert info.value.winerror == int(code)
    with pytest.raises(ValueError, match="no emulated function"):
        host.calls.fail_next("NotAFunction", code)


@rule("B12", "R13d")
def test_persistent_start_port_is_network_order(host: EmulatedHost) -> None:
    iph = host.dlls(admin=True).iphlpapi
    token = c_uint64()
    assert iph.CreatePersistentTcpPortReservation(abi.htons(5000), 10, byref(token)) == 0
    assert [r.range for r in host.reservations(Protocol.TCP)] == [PortRange(5000, 10)]
    # The classic mistake: host order reserves the byte-swapped block (5000 -> 34835).
    assert iph.CreatePersistentTcpPortReservation(5000, 10, byref(token)) == 0
    assert PortRange(abi.htons(5000), 10) in [r.range for r in host.reservations(Protocol.TCP)]
    again = c_uint64()
    assert iph.LookupPersistentTcpPortReservation(abi.htons(5000), 10, byref(again)) == 0
    assert iph.LookupPersistentTcpPortReservation(abi.htons(5000), 10, None) == 87
    assert iph.DeletePersistentTcpPortReservation(abi.htons(5000), 10) == 0
    assert iph.DeletePersistentTcpPortReservation(abi.htons(5000), 10) == int(WinError.ERROR_NOT_FOUND)
    assert iph.DeletePersistentUdpPortReservation(0, 10) == int(WinError.ERROR_INVALID_PARAMETER)


class _OldIphlpapi:
    """A DLL without the persistent-reservation exports (as under Wine)."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"function {name!r} not found")


@rule("B14")
def test_missing_exports_give_a_clear_error(host: EmulatedHost) -> None:
    ws2 = host.dlls().ws2_32
    pool = WindowsPool(dlls=(ws2, _OldIphlpapi()))
    with pytest.raises(PortPoolError) as info:
        pool.lookup_persistent_reservation(Protocol.TCP, 5000, 1)
    assert info.value.code is WinError.ERROR_PROC_NOT_FOUND
    assert "LookupPersistentTcpPortReservation" in str(info.value)
    pool.socket().bind(("", 0))  # the rest still works


@pytest.mark.skipif(sys.platform == "win32", reason="the real DLLs load on Windows")
def test_windows_pool_needs_dlls_off_windows() -> None:
    with pytest.raises(PortPoolError) as info:
        WindowsPool()
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED


def test_callbacks_never_raise_into_c(host: EmulatedHost, capsys: pytest.CaptureFixture[str]) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    # A getsockname with a namelen pointer but an unbound socket: a clean WSAEINVAL.
    size = c_int32(16)
    assert ws2.getsockname(s, byref(abi.SOCKADDR_IN()), byref(size)) == -1
    assert ws2.WSAGetLastError() == int(WinError.WSAEINVAL)
    assert capsys.readouterr().err == ""


def test_adopting_a_python_socket_uses_its_handle(host: EmulatedHost) -> None:
    import socket

    pool = WindowsPool(dlls=host.dlls())
    with socket.socket() as real:
        adopted = pool.adopt(real)
        # Off Windows the handle is not one of the emulated machine's sockets.
        with pytest.raises(PortPoolError) as info:
            adopted.acquire_port_reservation(0, 1)
        assert info.value.code is WinError.WSAENOTSOCK
        adopted.close()
        assert real.fileno() == -1


def test_event_errors(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    assert ws2.WSACloseEvent(0x4242) == 0
    assert ws2.WSAGetLastError() == int(WinError.ERROR_INVALID_HANDLE)  # WSA_INVALID_HANDLE
    assert ws2.WSASetEvent(0x4242) == 0
    event = ws2.WSACreateEvent()
    assert ws2.WSASetEvent(event) == 1 and ws2.WSAResetEvent(event) == 1
    one = (ctypes.c_void_p * 1)(event)
    assert ws2.WSAWaitForMultipleEvents(1, one, 1, 0, 0) == abi.WSA_WAIT_TIMEOUT  # not signalled
    assert ws2.WSAWaitForMultipleEvents(0, None, 0, 0, 0) == 0xFFFFFFFF  # WSA_WAIT_FAILED
    assert ws2.WSAGetLastError() == int(WinError.ERROR_INVALID_PARAMETER)  # WSA_INVALID_PARAMETER
    bogus = (ctypes.c_void_p * 1)(0x4242)
    assert ws2.WSAWaitForMultipleEvents(1, bogus, 0, 0, 0) == 0xFFFFFFFF
    assert ws2.WSACloseEvent(event) == 1


def test_a_python_error_inside_a_call_never_reaches_c(host: EmulatedHost, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the emulator")

    monkeypatch.setattr(host.machine, "acquire", broken)
    assert acquire(ws2, s, 5000, 2)[0] == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)
    assert "a bug in the emulator" in capsys.readouterr().err  # reported, not swallowed


def test_threads_calling_the_dlls_keep_the_machine_consistent(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    errors: list[str] = []

    def worker() -> None:
        for _ in range(200):
            s = ws2.socket(2, 1, 0)
            name = abi.SOCKADDR_IN(abi.AF_INET, 0)
            if ws2.bind(s, byref(name), sizeof(name)) != 0:
                errors.append(f"bind {ws2.WSAGetLastError()}")
            if acquire(ws2, s, 0, 3)[0] != 0:
                errors.append(f"acquire {ws2.WSAGetLastError()}")
            ws2.closesocket(s)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert host.bindings(Protocol.TCP) == () and host.reservations(Protocol.TCP) == ()
    assert host.machine.free_ports(Protocol.TCP) == host.dynamic_range(Protocol.TCP).count


@rule("B3", "B11")
def test_more_null_and_short_pointers(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    request, out, returned = abi.INET_PORT_RANGE(abi.htons(5000), 2), abi.INET_PORT_RESERVATION_INSTANCE(), abi.DWORD()
    assert ws2.WSPIoctl(s, ACQ, byref(request), 4, byref(out), 16, byref(returned), None, None,
                        None, None) == abi.SOCKET_ERROR  # NULL lpErrno: nowhere to report
    assert host.reservations(Protocol.TCP) == ()
    name = abi.SOCKADDR_IN(abi.AF_INET, 0)
    assert ws2.bind(s, byref(name), sizeof(name)) == 0
    short = c_int32(8)  # a namelen too small for a sockaddr_in
    assert ws2.getsockname(s, byref(abi.SOCKADDR_IN()), byref(short)) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)
    assert ws2.getsockname(s, None, byref(short)) == abi.SOCKET_ERROR
    n, flags = abi.DWORD(), abi.DWORD()
    assert ws2.WSAGetOverlappedResult(s, None, byref(n), 0, byref(flags)) == 0
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)


@rule("W4")
def test_sockaddr_of_the_wrong_family(host: EmulatedHost) -> None:
    ws2 = started(host).ws2_32
    v6 = ws2.socket(abi.AF_INET6, 1, 0)
    name = abi.SOCKADDR_IN6(abi.AF_INET, 0)  # first two bytes say AF_INET
    assert ws2.bind(v6, byref(name), sizeof(name)) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEFAULT)
    assert host.bindings(Protocol.TCP) == ()


def test_a_winsock_failure_without_a_code_still_raises(host: EmulatedHost) -> None:
    pool = WindowsPool(dlls=host.dlls())
    host.calls.fail_next("socket", 0)  # INVALID_SOCKET, but WSAGetLastError() == 0
    with pytest.raises(PortPoolError) as info:
        pool.socket()
    assert "without setting WSAGetLastError" in str(info.value)


@rule("B13")
def test_sockets_closed_after_wsacleanup(host: EmulatedHost) -> None:
    pool = WindowsPool(dlls=host.dlls())
    sock = pool.socket()
    sock.bind(("127.0.0.1", 0))
    pool.close()  # WSACleanup closes it (B13)
    assert host.bindings(Protocol.TCP) == ()
    sock.close()  # no error: Winsock already closed it
    pool.close()  # idempotent
    with pytest.raises(PortPoolError) as info:
        pool.socket()
    assert info.value.code is WinError.WSANOTINITIALISED
