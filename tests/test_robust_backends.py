"""Issue 8's findings in the DLL layer and the ctypes backend (reliability-audit.md),
one test each, then the two backends fed the same hostile calls, then threads.

The tests of fixed items failed before the fix: DLL calls on a lock of their own (a
deadlock with a holder of ``host.lock``; a close racing ``complete_pending`` ran the
operation on the closed socket), WSAWaitForMultipleEvents without the 64-event limit,
injected WSPIoctl faults that left ``*lpErrno`` unwritten, ``fail_next`` codes that read
as success, release with an output buffer, one code for B2 whatever the variant, raw
Python exceptions (and a leaked block) from ``WindowsPool``, a close that forgot a
socket it failed to close.  The differential and threaded tests are guards: the
differential one failed on the audit's code (acd029f) for socket() arguments only.
"""

from __future__ import annotations

import ctypes
import functools
import operator
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from ctypes import byref, c_int32, c_uint64, sizeof
from typing import Any

import pytest

from portpool import EmulatedHost, Family, PortPool, PortPoolError, PortRange, Protocol, WinError
from portpool._winsock import _abi as abi
from portpool.backends.windows import WindowsPool, WindowsSocket

rule = pytest.mark.rule
TCP = Protocol.TCP
WAIT_FAILED = 0xFFFFFFFF


def started(host: EmulatedHost, admin: bool = False) -> Any:
    dlls = host.dlls(admin=admin)
    assert dlls.ws2_32.WSAStartup(0x0202, byref(abi.WSADATA())) == 0
    return dlls


def acquire_raw(ws2: Any, s: int, start: int, count: int, *, cbout: int = 16,
                returned: abi.DWORD | None = None) -> int:
    request = abi.INET_PORT_RANGE(abi.htons(start), count)
    out = abi.INET_PORT_RESERVATION_INSTANCE()
    rc: int = ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), sizeof(request),
                           byref(out), cbout, byref(returned if returned is not None else abi.DWORD()),
                           None, None)
    return rc


# --- 1. one lock per host, for the DLLs too ------------------------------------------------


def test_a_dll_call_never_deadlocks_with_a_holder_of_the_host_lock() -> None:
    """A thread holding ``host.lock`` (an atomic sequence of calls) may call the DLLs while
    another thread waits inside a DLL call: one lock, so no lock-order deadlock.  With the
    DLLs on a lock of their own, the waiting call held it and the holder blocked on it."""
    host = EmulatedHost()
    dlls = started(host)
    ws2 = dlls.ws2_32
    done = threading.Event()

    def waiter() -> None:
        ws2.socket(2, 1, 0)  # blocks on the host lock, held below

    def holder() -> None:
        with host.lock:
            other = threading.Thread(target=waiter, daemon=True)
            other.start()
            time.sleep(0.2)  # the waiter is now inside its DLL call, waiting
            ws2.socket(2, 2, 0)
        other.join(5)
        done.set()

    thread = threading.Thread(target=holder, daemon=True)
    thread.start()
    assert done.wait(10), "deadlock: the DLLs and the host use two locks"
    assert len(list(host.machine.sockets_of(dlls.pid))) == 2


def test_call_control_is_safe_from_threads() -> None:
    """take_fault from many threads at once: every queued fault is taken exactly once."""
    host = EmulatedHost()
    control = host.calls
    for _ in range(1000):
        control.fail_next("bind", WinError.WSAENETDOWN, times=4)
    taken: list[int] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        mine = [control.take_fault("bind") for _ in range(600)]
        taken.extend(code for code in mine if code is not None)

    threads = [threading.Thread(target=take) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert taken == [int(WinError.WSAENETDOWN)] * 4000
    assert control.take_fault("bind") is None


@rule("B9")
def test_complete_pending_from_another_thread_runs_under_the_host_lock() -> None:
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    host.calls.pend_overlapped = True
    overlapped = []
    for i in range(50):
        s = ws2.socket(2, 1, 0)
        ov = abi.WSAOVERLAPPED()
        request = abi.INET_PORT_RANGE(abi.htons(10000 + 10 * i), 5)
        out = abi.INET_PORT_RESERVATION_INSTANCE()
        overlapped.append((ov, request, out))
        assert ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                            byref(abi.DWORD()), byref(ov), None) == abi.SOCKET_ERROR
    control = host.calls
    assert control.pending == 50
    with host.lock:  # completion waits for the host, as a DLL call would
        thread = threading.Thread(target=control.complete_pending)
        thread.start()
        time.sleep(0.1)
        assert host.reservations(TCP) == ()
    thread.join(10)
    assert len(host.reservations(TCP)) == 50 and host.calls.pending == 0
    assert all(ov.Internal == 0 and ov.InternalHigh == 16 for ov, _, _ in overlapped)


@rule("B10")
def test_a_close_racing_complete_pending_aborts_the_operation() -> None:
    """complete_pending in one thread, closesocket in another: the operation is aborted
    (WSA_OPERATION_ABORTED, no block) or completed, never run on the closed socket."""
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    host.calls.pend_overlapped = True
    s = ws2.socket(2, 1, 0)
    ov = abi.WSAOVERLAPPED()
    request, out = abi.INET_PORT_RANGE(abi.htons(5000), 2), abi.INET_PORT_RESERVATION_INSTANCE()
    assert ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                        byref(abi.DWORD()), byref(ov), None) == abi.SOCKET_ERROR
    completed: list[int] = []
    control = host.calls
    with host.lock:
        thread = threading.Thread(target=lambda: completed.append(control.complete_pending()))
        thread.start()
        time.sleep(0.1)  # complete_pending has seen the operation and waits for the host
        assert ws2.closesocket(s) == 0
    thread.join(10)
    assert completed == [0]
    assert ov.Internal == int(WinError.WSA_OPERATION_ABORTED)
    assert host.reservations(TCP) == () and host.calls.pending == 0


# --- 2. WSAWaitForMultipleEvents: 1 to WSA_MAXIMUM_WAIT_EVENTS (64) handles ----------------


@pytest.mark.parametrize("count", [0, 65, 1000])
def test_wait_refuses_a_count_outside_1_to_64(count: int) -> None:
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    events = (ctypes.c_void_p * max(count, 1))(*[ws2.WSACreateEvent() for _ in range(max(count, 1))])
    for handle in events:
        ws2.WSASetEvent(handle)
    assert ws2.WSAWaitForMultipleEvents(count, events, 0, 0, 0) == WAIT_FAILED
    assert ws2.WSAGetLastError() == int(WinError.ERROR_INVALID_PARAMETER)  # WSA_INVALID_PARAMETER


def test_wait_takes_64_events_and_names_bad_handles() -> None:
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    handles = [ws2.WSACreateEvent() for _ in range(64)]
    events = (ctypes.c_void_p * 64)(*handles)
    assert ws2.WSAWaitForMultipleEvents(64, events, 0, 0, 0) == abi.WSA_WAIT_TIMEOUT
    ws2.WSASetEvent(handles[63])
    assert ws2.WSAWaitForMultipleEvents(64, events, 0, 0, 0) == abi.WSA_WAIT_EVENT_0 + 63
    events[5] = 0x4242
    assert ws2.WSAWaitForMultipleEvents(64, events, 0, 0, 0) == WAIT_FAILED
    assert ws2.WSAGetLastError() == int(WinError.ERROR_INVALID_HANDLE)  # WSA_INVALID_HANDLE


def test_a_bad_count_runs_no_completion_routine() -> None:
    """The count is checked before the thread waits alertably (WaitForMultipleObjectsEx)."""
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    calls: list[int] = []
    routine = abi.COMPLETION_ROUTINE(lambda err, n, pov, flags: calls.append(err))
    ov = abi.WSAOVERLAPPED()
    request, out = abi.INET_PORT_RANGE(abi.htons(5000), 2), abi.INET_PORT_RESERVATION_INSTANCE()
    assert ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                        byref(abi.DWORD()), byref(ov), routine) == 0
    assert ws2.WSAWaitForMultipleEvents(0, None, 0, 0, 1) == WAIT_FAILED
    assert calls == []
    one = (ctypes.c_void_p * 1)(ws2.WSACreateEvent())
    assert ws2.WSAWaitForMultipleEvents(1, one, 0, 0, 1) == abi.WSA_WAIT_IO_COMPLETION
    assert calls == [0]


def test_a_huge_count_with_a_short_array_fails_instead_of_crashing() -> None:
    """cEvents 0x7fffffff with a valid one-entry array killed the process (SIGSEGV)."""
    code = (
        "import ctypes\n"
        "from portpool import EmulatedHost\n"
        "from portpool._winsock import _abi as abi\n"
        "ws2 = EmulatedHost().dlls().ws2_32\n"
        "ws2.WSAStartup(0x0202, ctypes.byref(abi.WSADATA()))\n"
        "one = (ctypes.c_void_p * 1)(ws2.WSACreateEvent())\n"
        "print(ws2.WSAWaitForMultipleEvents(0x7FFFFFFF, one, 0, 0, 0), ws2.WSAGetLastError())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(WAIT_FAILED), "87"]


# --- 3. injected faults: *lpErrno written; fail_next refuses what reads as success ----------


@rule("B11")
def test_an_injected_wspioctl_fault_writes_lperrno() -> None:
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    request, out = abi.INET_PORT_RANGE(abi.htons(5000), 2), abi.INET_PORT_RESERVATION_INSTANCE()
    returned, err = abi.DWORD(), c_int32(-7)
    host.calls.fail_next("WSPIoctl", WinError.WSAENETDOWN)
    assert ws2.WSPIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                        byref(returned), None, None, None, byref(err)) == abi.SOCKET_ERROR
    assert err.value == int(WinError.WSAENETDOWN)
    assert ws2.WSAGetLastError() == 0  # B11: not through WSAGetLastError
    assert host.reservations(TCP) == ()


@pytest.mark.parametrize(("function", "code", "times", "error"), [
    ("WSAIoctl", -1, 1, ValueError),
    ("WSAIoctl", 2**31, 1, ValueError),
    ("WSAIoctl", 2**32, 1, ValueError),  # would read as 0 through a DWORD
    ("CreatePersistentTcpPortReservation", 0, 1, ValueError),  # 0 is NO_ERROR there
    ("WSAStartup", 0, 1, ValueError),
    ("WSAIoctl", True, 1, TypeError),
    ("WSAIoctl", 10050.0, 1, TypeError),
    ("WSAIoctl", "10050", 1, TypeError),
    ("WSAIoctl", None, 1, TypeError),
    ("NotAFunction", 10050, 1, ValueError),
    (None, 10050, 1, TypeError),
    ("WSAIoctl", 10050, 0, ValueError),
    ("WSAIoctl", 10050, -3, ValueError),
    ("WSAIoctl", 10050, 1.0, TypeError),
    ("WSAIoctl", 10050, True, TypeError),
])
def test_fail_next_refuses_codes_that_read_as_success(function: object, code: object,
                                                      times: object, error: type) -> None:
    host = EmulatedHost()
    with pytest.raises(error):
        host.calls.fail_next(function, code, times=times)  # type: ignore[arg-type]  # wrong on purpose
    assert host.calls.take_fault("WSAIoctl") is None  # nothing was queued


def test_fail_next_counts_without_materialising_the_calls() -> None:
    host = EmulatedHost()
    dlls = started(host, admin=True)
    host.calls.fail_next("DeletePersistentTcpPortReservation", WinError.WSAENETDOWN, times=10**12)
    for _ in range(3):
        assert dlls.iphlpapi.DeletePersistentTcpPortReservation(abi.htons(5000), 1) == 10050


# --- 4. the ctypes backend: Python's errors where Python decides, no leaked block ---------


@pytest.mark.parametrize("bad", [None, 5, "sock", object()])
def test_adopt_and_the_constructor_name_their_parameter(bad: object) -> None:
    host = EmulatedHost()
    pool = WindowsPool(dlls=host.dlls())
    with pytest.raises(TypeError, match="sock"):
        pool.adopt(bad)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="dlls"):
        WindowsPool(dlls=bad if bad is not None else "ab")


@rule("R9a")
def test_a_block_granted_to_a_socket_python_cannot_name_is_given_back() -> None:
    """The audit's AssertionError after a granted block: now the block goes back."""
    host = EmulatedHost()
    pool = WindowsPool(dlls=host.dlls())
    tcp = pool.socket()
    odd = WindowsSocket(pool, tcp.fileno(), Family.INET, 5, None)  # a type Python cannot name
    with pytest.raises(PortPoolError) as info:
        odd.acquire_port_reservation(0, 4)
    assert info.value.code is WinError.WSAEOPNOTSUPP
    assert host.reservations(TCP) == ()


class _Ws2WithUnixSockets:
    """The emulated ws2_32, but socket() grants any family (Windows has AF_UNIX, AF_BTH)."""

    def __init__(self, ws2: Any) -> None:
        self._ws2 = ws2

        def socket(af: int, kind: int, proto: int) -> int:
            result: int = ws2.socket(abi.AF_INET, kind, proto)
            return result

        self.socket = socket  # a function: WindowsPool sets its argtypes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws2, name)


@rule("W6")
def test_a_socket_of_a_family_without_ports_is_closed_and_refused() -> None:
    host = EmulatedHost()
    dlls = host.dlls()
    pool = WindowsPool(dlls=(_Ws2WithUnixSockets(dlls.ws2_32), dlls.iphlpapi))
    with pytest.raises(PortPoolError) as info:
        pool.socket(1, 1, 0)  # AF_UNIX: a socket, but no port pool behind it
    assert info.value.code is WinError.WSAEAFNOSUPPORT
    assert list(host.machine.sockets_of(dlls.pid)) == []  # not leaked


def test_a_failed_closesocket_leaves_the_socket_open() -> None:
    host = EmulatedHost()
    pool = WindowsPool(dlls=host.dlls())
    s = pool.socket()
    s.bind(("127.0.0.1", 5000))
    handle = s.fileno()
    host.calls.fail_next("closesocket", WinError.WSAENETDOWN)
    with pytest.raises(PortPoolError) as info:
        s.close()
    assert info.value.code is WinError.WSAENETDOWN
    assert s.fileno() == handle and s.getsockname() == ("127.0.0.1", 5000)
    assert [b.port for b in host.bindings(TCP)] == [5000]
    s.close()  # closing again works, and frees the port
    assert s.fileno() == -1 and host.bindings(TCP) == ()
    s.close()


def test_a_failed_wsacleanup_leaves_the_pool_open() -> None:
    host = EmulatedHost()
    pool = WindowsPool(dlls=host.dlls())
    s = pool.socket()
    s.bind(("", 0))
    host.calls.fail_next("WSACleanup", WinError.WSAEINPROGRESS)
    with pytest.raises(PortPoolError) as info:
        pool.close()
    assert info.value.code is WinError.WSAEINPROGRESS
    # closesocket came first (the WSACleanup page's order): the socket is closed, the
    # pool still started
    assert host.bindings(TCP) == () and s.fileno() == -1
    t = pool.socket()
    t.bind(("", 0))
    pool.close()
    assert host.bindings(TCP) == () and t.fileno() == -1
    pool.close()


def test_a_failed_closesocket_in_pool_close_leaves_the_pool_and_that_socket_open() -> None:
    host = EmulatedHost()
    pool = WindowsPool(dlls=host.dlls())
    s = pool.socket()
    s.bind(("127.0.0.1", 5000))
    host.calls.fail_next("closesocket", WinError.WSAENETDOWN)
    with pytest.raises(PortPoolError) as info:
        pool.close()
    assert info.value.code is WinError.WSAENETDOWN
    assert s.getsockname() == ("127.0.0.1", 5000)  # open, as the pool
    pool.close()
    assert host.bindings(TCP) == () and s.fileno() == -1


# --- 5. B7 and B2 ------------------------------------------------------------------------


@rule("B7")
@pytest.mark.parametrize("code", [abi.SIO_ASSOCIATE_PORT_RESERVATION, abi.SIO_RELEASE_PORT_RESERVATION])
def test_associate_and_release_need_cbout_zero(code: int) -> None:
    host = EmulatedHost()
    ws2 = started(host).ws2_32
    s = ws2.socket(2, 1, 0)
    assert acquire_raw(ws2, s, 5000, 4) == 0
    token = c_uint64(host.reservations(TCP)[0].token)
    spare, returned = abi.INET_PORT_RESERVATION_INSTANCE(), abi.DWORD()
    before = host.snapshot()
    assert ws2.WSAIoctl(s, code, byref(token), 8, byref(spare), 16, byref(returned), None,
                        None) == abi.SOCKET_ERROR
    assert ws2.WSAGetLastError() == int(WinError.WSAEINVAL)
    assert host.snapshot() == before
    assert ws2.WSAIoctl(s, code, byref(token), 8, None, 0, byref(returned), None, None) == 0


@rule("B2")
@pytest.mark.parametrize(("variants", "code"), [
    (None, WinError.WSAEINVAL), ({"B2": "WSAEINVAL"}, WinError.WSAEINVAL),
    ({"B2": "WSAEFAULT"}, WinError.WSAEFAULT),
])
def test_a_short_acquire_output_gives_the_code_of_the_b2_variant(
        variants: dict[str, str] | None, code: WinError) -> None:
    host = EmulatedHost(variants=variants)
    dlls = started(host)
    ws2 = dlls.ws2_32
    s = ws2.socket(2, 1, 0)
    for short in (0, 8, 15):
        returned = abi.DWORD(0xDEAD)
        assert acquire_raw(ws2, s, 5000, 2, cbout=short, returned=returned) == abi.SOCKET_ERROR
        assert (ws2.WSAGetLastError(), returned.value) == (int(code), 0)
        assert f"[rule B2: {code.name}]" in dlls.ws2_32.details.text
    assert host.reservations(TCP) == ()


# --- the two backends, fed the same hostile calls -------------------------------------------

_INTS = [-1, 0, 1, 2, 6, 17, 23, 255, 65535, 65536, 2**31 - 1, 2**31, 2**32 + 1, 2**64, -(2**31) - 1]
_NOT_INTS = [None, 1.0, "6", True, [6], b"\x06"]
_ODD = _INTS + _NOT_INTS


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        call()
    except PortPoolError as exc:
        return ("PortPoolError", exc.winerror)
    except (TypeError, ValueError, OverflowError) as exc:
        return (type(exc).__name__, None)
    return ("ok", None)


def _state(host: EmulatedHost) -> tuple[object, ...]:
    """Reservations and bindings, with the wildcard host as the ctypes backend writes it."""
    def binding(b: Any) -> tuple[object, ...]:
        return (b.protocol, b.port, b.host or ("0.0.0.0" if b.family is Family.INET else "::"),
                b.family, b.pid, b.socket, b.token)

    return tuple((host.reservations(p), tuple(binding(b) for b in host.bindings(p)))
                 for p in Protocol)


def _pair() -> tuple[tuple[EmulatedHost, PortPool], tuple[EmulatedHost, PortPool]]:
    one, two = EmulatedHost(seed=5), EmulatedHost(seed=5)
    return (one, one.process(admin=True)), (two, WindowsPool(dlls=two.dlls(admin=True)))


def _same(call: Callable[[Any], object], prepare: Callable[[PortPool], Any] | None = None) -> None:
    """``call`` (on the pool, or on what ``prepare`` made from it) gives the same outcome on
    both backends (exception type and ``.winerror``) and leaves the same machine."""
    results = []
    for host, pool in _pair():
        target = prepare(pool) if prepare is not None else pool
        result = _outcome(functools.partial(call, target))
        results.append((result, _state(host)))
    assert results[0] == results[1]


@pytest.mark.parametrize("family", [2, 23, 10, 1, 0, 1.0, None, 2**32 + 2])
@pytest.mark.parametrize("kind", [1, 2, 3, 5, 0, -1, 2**32 + 1, 2**31, 1.0, "1", None, True])
def test_both_backends_agree_on_odd_socket_arguments(family: object, kind: object) -> None:
    for proto in (0, 6, 17, -1, 256, 2**32 + 6, 6.0, None):
        _same(operator.methodcaller("socket", family, kind, proto))


@pytest.mark.parametrize("kind", [1, 2])
@pytest.mark.parametrize("start", _ODD)
def test_both_backends_agree_on_odd_acquire_arguments(kind: int, start: object) -> None:
    for count in _ODD:
        _same(operator.methodcaller("acquire_port_reservation", start, count),
              lambda pool: pool.socket(2, kind))


def _closed_socket(pool: PortPool) -> Any:
    s = pool.socket()
    s.close()
    return s


@pytest.mark.parametrize("token", [*_ODD, 2**64 - 1, 2**64 + 1, -(2**63)])
@pytest.mark.parametrize("verb", ["associate_port_reservation", "release_port_reservation"])
def test_both_backends_agree_on_odd_tokens(token: object, verb: str) -> None:
    _same(lambda s: getattr(s, verb)(token), lambda pool: pool.socket())
    _same(lambda s: getattr(s, verb)(token), _closed_socket)  # WSAENOTSOCK or Python's error


@pytest.mark.parametrize("protocol", [6, 17, 0, 7, -1, 2**32 + 6, 6.0, "tcp", None, True])
@pytest.mark.parametrize("verb", ["create", "lookup", "delete"])
def test_both_backends_agree_on_odd_persistent_arguments(protocol: object, verb: str) -> None:
    for start in (0, 1, 5000, 65535, 65536, -1, 2**32 + 5000, 5000.0, None):
        for count in (0, 1, 10, 65535, 65536, -1, 2**32 + 1, "1"):
            _same(operator.methodcaller(f"{verb}_persistent_reservation", protocol, start, count))


_ADDRESSES: list[object] = [
    None, "127.0.0.1", (), ("",), ("", 0), ("", -1), ("", 65536), ("", 2**32 + 80), ("", 80.0),
    ("", "80"), (None, 80), (b"", 80), ("", True), ("", 80, 0), ("", 80, 0, 0), ("", 80, 2**20),
    ("", 80, 0, 2**32), ("", 80, 0.0, 0), ("", 80, 0, 0, 0), ("127.0.0.1", 5000), ("::1", 5000),
    ("::", 5000), ("999.1.1.1", 80), ("localhost", 80), [("", 80)],
]
@pytest.mark.parametrize(("family", "address"), [
    *[(family, address) for family in (2, 23) for address in _ADDRESSES],
    (23, ("127.0.0.1%eth0", 80)), (2, ("::1%", 80)), (2, ("fe80::1%1", 80)),
    (2, ("127.0.0.1%eth0", 80)), (23, ("::1%", 80)), (23, ("fe80::1%1", 80)),
    (23, ("::FFFF:127.0.0.1", 80)), (2, ("127.0.0.01", 80)),
])
def test_both_backends_agree_on_odd_addresses(family: int, address: object) -> None:
    _same(lambda s: s.bind(address), lambda pool: pool.socket(family))


# --- threads: 8 processes through WindowsPool over one host's DLLs ---------------------------


def test_threads_through_the_dlls_keep_the_machine_consistent() -> None:
    """8 threads, each its own process with a WindowsPool over the emulated DLLs, make
    about 4,000 DLL calls each on one host (the audit's workload: collisions in a small
    dynamic range and a hot band of ports); meanwhile another thread completes pending
    overlapped calls.  Afterwards no port is bound twice, no blocks overlap, every
    block a thread holds is still the machine's, and the free count agrees."""
    host = EmulatedHost(seed=11, dynamic_ports=PortRange(40000, 2000))
    errors: list[BaseException] = []
    held: dict[int, list[tuple[Protocol, int, PortRange]]] = {}
    stop = threading.Event()

    def work(n: int) -> None:
        pool = WindowsPool(dlls=host.dlls(admin=n % 2 == 0))
        mine: list[tuple[WindowsSocket, Any]] = []
        try:
            for i in range(1200):
                s = pool.socket(type=1 + (i + n) % 2)
                res = None
                try:
                    step = (i * 7 + n) % 6
                    if step == 0:
                        res = s.acquire_port_reservation(0, 1 + i % 8)
                    elif step == 1:
                        res = s.acquire_port_reservation(41000 + (i * 13 + n) % 900, 3)
                    elif step == 2 and n % 2 == 0:
                        pool.create_persistent_reservation(TCP, 30000 + (i % 40) * 10, 5)
                    elif step == 3 and n % 2 == 0:
                        pool.delete_persistent_reservation(TCP, 30000 + (i % 40) * 10, 5)
                    elif step == 4:
                        s.bind(("127.0.0.1", 20000 + (i * 11 + n) % 300))
                    if res is not None and i % 2:
                        s.associate_port_reservation(res.token)
                        s.bind(("", 0))
                    elif res is not None and i % 3 == 0:
                        s.release_port_reservation(res.token)
                        res = None
                    else:
                        s.bind(("", 0))
                    s.getsockname()
                except PortPoolError:
                    pass
                mine.append((s, res))
                if len(mine) > 30:
                    old, _ = mine.pop(0)
                    old.close()
            held[n] = [(r.protocol, r.token, r.range) for _, r in mine if r is not None]
        except BaseException as exc:  # the test reports whatever escaped
            errors.append(exc)

    def complete() -> None:
        raw = started(host).ws2_32
        s = raw.socket(2, 2, 0)
        while not stop.is_set():
            host.calls.pend_overlapped = True
            ov = abi.WSAOVERLAPPED()
            request, out = abi.INET_PORT_RANGE(0, 1), abi.INET_PORT_RESERVATION_INSTANCE()
            raw.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                         byref(abi.DWORD()), byref(ov), None)
            host.calls.pend_overlapped = False
            host.calls.complete_pending()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    helper = threading.Thread(target=complete)
    helper.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    helper.join()
    assert errors == []
    for protocol in Protocol:
        reservations = host.reservations(protocol)
        blocks = [r.range for r in reservations]
        for i, a in enumerate(blocks):
            assert not any(a.overlaps(b) for b in blocks[i + 1:]), f"{a!r} overlaps"
        ports = [b.port for b in host.bindings(protocol)]
        assert len(ports) == len(set(ports)), "a port bound twice"
        live = {(r.protocol, r.token, r.range) for r in reservations}
        for n, items in held.items():
            missing = [item for item in items if item[0] is protocol and item not in live]
            assert missing == [], f"thread {n} lost {missing}"
        taken = {p for r in blocks for p in range(r.start, r.last + 1)} | set(ports)
        dynamic = host.dynamic_range(protocol)
        free = sum(1 for p in range(dynamic.start, dynamic.last + 1) if p not in taken)
        assert host.machine.free_ports(protocol) == free
    assert host.snapshot() == host.snapshot()
    hash(host.snapshot())


@pytest.mark.parametrize("backend", ["emulated", "ctypes"])
def test_one_fault_queue_fails_both_backends_alike(backend: str) -> None:
    # host.calls.fail_next reaches the Python-level pools as it reaches the DLLs: each
    # interface method counts as the export that carries it, and fails once, changing nothing.
    from portpool import EmulatedHost, PortPoolError, Protocol, WinError
    from portpool.backends.windows import WindowsPool

    host = EmulatedHost()
    pool = host.process() if backend == "emulated" else WindowsPool(dlls=host.dlls())
    sock = pool.socket()
    cases: list[tuple[str, Callable[[], object]]] = [("bind", lambda: sock.bind(("127.0.0.1", 6000))),
             ("WSAIoctl", lambda: sock.acquire_port_reservation(6100, 2)),
             ("setsockopt", lambda: sock.setsockopt(0xFFFF, 4, 1)),
             ("connect", lambda: sock.connect(("127.0.0.1", 80))),
             ("socket", pool.socket)]
    for function, call in cases:
        host.calls.fail_next(function, WinError.WSAENETDOWN)
        before = host.snapshot()
        with pytest.raises(PortPoolError) as info:
            call()
        assert info.value.winerror == WinError.WSAENETDOWN, function
        assert host.snapshot() == before, function
    sock.bind(("127.0.0.1", 6000))  # nothing left queued
    assert [b.port for b in host.bindings(Protocol.TCP)] == [6000]
