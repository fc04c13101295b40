"""portpool.patch(): unmodified ctypes and socket code sees one emulated process."""

from __future__ import annotations

import ctypes
import ctypes.wintypes
import errno
import socket
import sys
import threading
from typing import Any

import pytest

import portpool
from portpool import EmulatedHost, PortPoolError, Protocol, WinError, windows_code
from portpool._patch import PatchedSocket
from portpool._winsock._abi import (
    INET_PORT_RANGE,
    INET_PORT_RESERVATION_INSTANCE,
    SIO_ACQUIRE_PORT_RESERVATION,
    htons,
    ntohs,
)

from ._wctypes import wctypes

ON_WINDOWS = sys.platform == "win32"
PATCHED_CTYPES = ("CDLL", "cdll", "WinDLL", "windll", "OleDLL", "oledll", "WINFUNCTYPE", "HRESULT",
                  "GetLastError", "WinError", "FormatError", "get_last_error", "set_last_error")


def _ctypes_state() -> dict[str, Any]:
    return {name: getattr(ctypes, name, None) for name in PATCHED_CTYPES}


def _socket_state() -> dict[str, Any]:
    state = {name: getattr(socket, name, None) for name in ("socket", "create_server",
                                                           "SO_EXCLUSIVEADDRUSE")}
    state["__new__"] = socket.socket.__dict__.get("__new__")
    return state


def _model_code(call: Any) -> int:
    """The Windows code the model gives for a call (to compare with the patch's exception)."""
    with pytest.raises(PortPoolError) as info:
        call()
    return info.value.winerror


def _acquire(ws2: Any, sock: Any, count: int) -> INET_PORT_RESERVATION_INSTANCE:
    """SIO_ACQUIRE_PORT_RESERVATION on a Python socket's fileno(), as a program does."""
    wanted = INET_PORT_RANGE(StartPort=htons(0), NumberOfPorts=count)
    out = INET_PORT_RESERVATION_INSTANCE()
    returned = ctypes.c_uint32()
    ws2.WSAIoctl.argtypes = [ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                             ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_void_p]
    result = ws2.WSAIoctl(sock.fileno(), SIO_ACQUIRE_PORT_RESERVATION, ctypes.byref(wanted),
                          ctypes.sizeof(wanted), ctypes.byref(out), ctypes.sizeof(out),
                          ctypes.byref(returned), None, None)
    if result != 0:
        raise wctypes.WinError(wctypes.get_last_error())
    return out


# --- entering and leaving ---------------------------------------------------------------


def test_leaving_restores_ctypes_and_socket_exactly() -> None:
    before_ctypes, before_socket = _ctypes_state(), _socket_state()
    wintypes_before = ctypes.wintypes.DWORD
    with portpool.patch() as host:
        assert isinstance(host, EmulatedHost)
        for name in PATCHED_CTYPES:
            assert getattr(ctypes, name, None) is not None, name
        with socket.socket() as sock:
            assert type(sock) is not before_socket["socket"]
        assert ctypes.sizeof(ctypes.wintypes.DWORD) == 4
        assert ctypes.sizeof(ctypes.wintypes.ULONG) == 4
        assert ctypes.sizeof(ctypes.POINTER(ctypes.c_int)) == ctypes.sizeof(ctypes.wintypes.LPDWORD)
    assert _ctypes_state() == before_ctypes
    assert _socket_state() == before_socket
    assert ctypes.wintypes.DWORD is wintypes_before
    if not ON_WINDOWS:
        assert not hasattr(ctypes, "WinDLL") and not hasattr(socket, "SO_EXCLUSIVEADDRUSE")


def test_leaving_by_an_exception_restores_and_ends_the_process() -> None:
    before_ctypes, before_socket = _ctypes_state(), _socket_state()
    host = EmulatedHost(seed=3)
    kept: list[socket.socket] = []

    def program() -> None:
        with portpool.patch(host):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            kept.append(sock)
            assert len(host.bindings(Protocol.TCP)) == 1
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        program()
    assert _ctypes_state() == before_ctypes and _socket_state() == before_socket
    assert host.bindings(Protocol.TCP) == ()  # the process ended: its sockets closed (R4)
    assert kept[0].fileno() == -1


def test_a_fresh_host_unless_one_is_given() -> None:
    mine = EmulatedHost(seed=5)
    with portpool.patch(mine) as host:
        assert host is mine
    with portpool.patch() as fresh:
        assert fresh is not mine


def test_nested_patch_on_the_same_host_shares_the_process() -> None:
    host = EmulatedHost()
    with portpool.patch(host) as outer:
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        with portpool.patch(host) as inner, portpool.patch() as implicit:
            assert inner is outer is implicit
            second = socket.socket()
            second.bind(("127.0.0.1", 0))
        with socket.socket() as third:  # still patched after the inner exit
            assert isinstance(third, PatchedSocket)
        pids = {b.pid for b in host.bindings(Protocol.TCP)}
        assert len(pids) == 1 and len(host.bindings(Protocol.TCP)) == 2
        first.close()
        second.close()
    assert host.bindings(Protocol.TCP) == ()


def test_a_patch_for_another_host_or_admin_is_refused_while_one_is_active() -> None:
    before = _socket_state()
    with portpool.patch():
        with pytest.raises(RuntimeError, match="another host"), portpool.patch(EmulatedHost()):
            pass
        with pytest.raises(RuntimeError, match="admin"), portpool.patch(admin=True):
            pass
        with pytest.raises(RuntimeError, match="hermetic"), portpool.patch(hermetic=True):
            pass
        with socket.socket() as sock:
            assert isinstance(sock, PatchedSocket)
    assert _socket_state() == before


def test_one_patcher_cannot_be_entered_twice() -> None:
    patcher = portpool.patch()
    with patcher, pytest.raises(RuntimeError, match="already active"):
        patcher.__enter__()


@pytest.mark.parametrize(("host", "admin", "error"), [("host", False, TypeError),
                                                      (None, 1, TypeError)])
def test_bad_arguments(host: Any, admin: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        portpool.patch(host, admin=admin)


@pytest.mark.parametrize("settings", [{"hermetic": 1}, {"keep_real": "requests"},
                                      {"keep_real": [""]}, {"keep_real": [3]}])
def test_bad_settings(settings: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        portpool.patch(**settings)


def test_sockets_of_every_thread_belong_to_the_one_process() -> None:
    with portpool.patch() as host:
        made: list[socket.socket] = []

        def worker() -> None:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            made.append(sock)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        here = socket.socket()
        here.bind(("127.0.0.1", 0))
        pids = {b.pid for b in host.bindings(Protocol.TCP)}
        assert len(pids) == 1 and len(host.bindings(Protocol.TCP)) == 2
        here.close()
        made[0].close()


# --- ctypes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ws2_32", "WS2_32.DLL", "Ws2_32.dll",
                                  r"C:\Windows\System32\ws2_32.dll", "iphlpapi", "IPHLPAPI.DLL"])
def test_dll_names_any_case_with_or_without_dll(name: str) -> None:
    with portpool.patch():
        library = wctypes.WinDLL(name)
        expected = "WSAIoctl" if "ws2" in name.lower() else "CreatePersistentTcpPortReservation"
        assert callable(getattr(library, expected))
        assert getattr(library, expected) is getattr(library, expected)  # cached, as ctypes does
        assert library[expected] is not getattr(library, expected)


def test_windll_loader() -> None:
    with portpool.patch():
        assert wctypes.windll.ws2_32 is wctypes.windll.ws2_32
        assert callable(wctypes.windll["iphlpapi"].LookupPersistentUdpPortReservation)
        assert callable(wctypes.windll.LoadLibrary("ws2_32.dll").bind)


@pytest.mark.skipif(ON_WINDOWS, reason="on Windows the other DLLs are the real ones")
def test_other_dlls_name_what_is_emulated() -> None:
    with portpool.patch():
        with pytest.raises(FileNotFoundError, match=r"ws2_32, iphlpapi and kernel32"):
            wctypes.WinDLL("user32")
        with pytest.raises(FileNotFoundError, match="user32"):
            wctypes.windll.user32  # noqa: B018 - the attribute access loads the DLL


def test_a_name_the_real_dll_lacks_is_an_attribute_error_as_on_windows() -> None:
    with portpool.patch():
        ws2 = wctypes.WinDLL("ws2_32")
        with pytest.raises(AttributeError, match=r"function 'NoSuchExport' not found"):
            ws2.NoSuchExport  # noqa: B018 - the attribute access looks the export up
        with pytest.raises(AttributeError, match="WSPIoctl"):
            ws2.WSPIoctl  # noqa: B018 - a provider entry point, not an export


def test_fileno_is_the_handle_the_dlls_know() -> None:
    with portpool.patch() as host:
        ws2 = wctypes.WinDLL("ws2_32", use_last_error=True)
        owner = socket.socket()
        out = _acquire(ws2, owner, 10)
        (reservation,) = host.reservations(Protocol.TCP)
        assert reservation.token == out.Token.Token
        assert reservation.range.start == ntohs(out.Reservation.StartPort)
        assert reservation.range.count == out.Reservation.NumberOfPorts == 10
        owner.close()  # R4: the block goes with the socket
        assert host.reservations(Protocol.TCP) == ()


def test_last_error_reaches_errcheck_inside_the_call() -> None:
    seen: list[int] = []

    # Any: ctypes hands errcheck's result back to the caller whatever it is; typeshed's
    # errcheck type wants a ctypes instance back, which is narrower than ctypes.
    def errcheck(result: Any, func: Any, args: Any) -> Any:
        seen.append(wctypes.get_last_error())
        return result

    with portpool.patch():
        ws2 = wctypes.WinDLL("ws2_32", use_last_error=True)
        ws2.closesocket.argtypes = [ctypes.c_size_t]
        ws2.closesocket.errcheck = errcheck
        assert ws2.closesocket(0x7FF0) == -1
        assert seen == [int(WinError.WSAENOTSOCK)]
        assert wctypes.get_last_error() == int(WinError.WSAENOTSOCK)
        assert ws2.WSAGetLastError() == int(WinError.WSAENOTSOCK)
        err = wctypes.WinError()  # no code: the thread's last error
        assert isinstance(err, OSError) and windows_code(err) == int(WinError.WSAENOTSOCK)


def test_without_use_last_error_the_private_copy_stays() -> None:
    with portpool.patch():
        wctypes.set_last_error(0)
        ws2 = wctypes.WinDLL("ws2_32")
        ws2.closesocket.argtypes = [ctypes.c_size_t]
        assert ws2.closesocket(0x7FF0) == -1
        assert wctypes.get_last_error() == 0
        assert ws2.WSAGetLastError() == int(WinError.WSAENOTSOCK)
        assert wctypes.set_last_error(7) == 0 and wctypes.get_last_error() == 7


def test_winerror_and_formaterror_as_on_windows() -> None:
    with portpool.patch():
        err = wctypes.WinError(10048)
        assert type(err).__name__ == "OSError" and not isinstance(err, PermissionError)
        assert windows_code(err) == 10048
        assert err.errno == (10048 if ON_WINDOWS else errno.EADDRINUSE)
        # ctypes.WinError's text is FormatError(code).strip(): the final dot stays (ctypes
        # strips blanks only), unlike the socket module's errors.
        assert str(err) == f"[WinError 10048] {wctypes.FormatError(10048)}"
        assert wctypes.FormatError(10048) == WinError.WSAEADDRINUSE.message
        denied = wctypes.WinError(5, "custom text")
        assert isinstance(denied, PermissionError) and denied.strerror == "custom text"
        assert wctypes.FormatError(12345) == "<no description>"


def test_winfunctype_prototypes_from_the_emulated_dlls() -> None:
    with portpool.patch(admin=True) as host:
        iphlpapi = wctypes.windll.iphlpapi
        proto = wctypes.WINFUNCTYPE(ctypes.c_uint32, ctypes.c_uint16, ctypes.c_uint16,
                                   ctypes.POINTER(ctypes.c_uint64))
        create = proto(("CreatePersistentTcpPortReservation", iphlpapi))
        token = ctypes.c_uint64()
        assert create(htons(3000), 10, ctypes.byref(token)) == 0
        (row,) = host.reservations(Protocol.TCP)
        assert row.token == token.value and row.range.start == 3000
        with pytest.raises(TypeError, match="paramflags"):
            proto(("LookupPersistentTcpPortReservation", iphlpapi), ((1, "start"),) * 3)
        callback = wctypes.WINFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x * 2)
        assert callback(21) == 42  # prototypes still make callbacks


def test_fault_injection_reaches_the_patched_dlls() -> None:
    with portpool.patch() as host:
        ws2 = wctypes.WinDLL("ws2_32", use_last_error=True)
        owner = socket.socket()
        host.calls.fail_next("WSAIoctl", WinError.WSAENETDOWN)
        with pytest.raises(OSError, match=r"\[WinError 10050\]") as info:
            _acquire(ws2, owner, 10)
        assert windows_code(info.value) == 10050
        assert host.reservations(Protocol.TCP) == ()
        owner.close()


# --- socket ---------------------------------------------------------------------------------


def test_bind_and_getsockname_go_through_the_model() -> None:
    with portpool.patch() as host:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("", 0))
        (binding,) = host.bindings(Protocol.TCP)
        assert sock.getsockname() == ("0.0.0.0", binding.port)
        assert sock.fileno() != binding.socket  # the twin's descriptor, mapped for the DLLs
        assert binding.port in host.dynamic_range(Protocol.TCP)
        sock.close()
        assert sock.fileno() == -1 and host.bindings(Protocol.TCP) == ()


@pytest.mark.rule("R17")
def test_bind_inside_another_process_block_is_permission_error_10013() -> None:
    host = EmulatedHost(seed=2)
    other = host.process().socket()
    block = other.acquire_port_reservation(0, 10)
    inside = block.range.start + 3
    expected = _model_code(lambda: host.process().socket().bind(("127.0.0.1", inside)))
    with portpool.patch(host):
        sock = socket.socket()
        with pytest.raises(PermissionError) as info:
            sock.bind(("127.0.0.1", inside))
        sock.close()
    err = info.value
    assert windows_code(err) == expected == 10013
    assert err.errno == errno.EACCES
    assert str(err) == ("[WinError 10013] An attempt was made to access a socket in a way"
                        " forbidden by its access permissions")
    assert any("[rule R17]" in note for note in err.__notes__)


@pytest.mark.rule("C2")
def test_bind_twice_is_oserror_eaddrinuse_10048() -> None:
    with portpool.patch():
        first = socket.socket()
        first.bind(("127.0.0.1", 5000))
        second = socket.socket()
        with pytest.raises(OSError, match=r"^\[WinError 10048\] Only one usage") as info:
            second.bind(("127.0.0.1", 5000))
        first.close()
        second.close()
    assert windows_code(info.value) == 10048
    assert info.value.errno == (10048 if ON_WINDOWS else errno.EADDRINUSE)
    assert not isinstance(info.value, PermissionError)
    assert any("[rule C2]" in note for note in info.value.__notes__)


def test_the_model_judges_socket_arguments() -> None:
    host = EmulatedHost()
    expected = _model_code(lambda: host.process().socket(2, 1, 17))
    with portpool.patch(host), pytest.raises(OSError, match=rf"\[WinError {expected}\]") as info:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 17)
    assert windows_code(info.value) == expected


def test_getsockname_of_an_unbound_socket_is_wsaeinval() -> None:
    with portpool.patch(), socket.socket() as sock, pytest.raises(OSError, match="10022") as info:
        sock.getsockname()
    assert windows_code(info.value) == int(WinError.WSAEINVAL)


@pytest.mark.rule("O4")
def test_options_with_the_running_platforms_constants() -> None:
    with portpool.patch():
        sock = socket.socket()
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 4) == b"\x01\x00\x00\x00"
        exclusive: int = getattr(socket, "SO_EXCLUSIVEADDRUSE")  # noqa: B009 - typeshed: win32 only; the patch adds it
        with pytest.raises(OSError, match=r"\[WinError 10022\]") as info:
            sock.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        assert windows_code(info.value) == int(WinError.WSAEINVAL)
        assert any("[rule O4]" in note for note in info.value.__notes__)
        six = socket.socket(socket.AF_INET6)
        assert six.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1  # Windows' default
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # not the model's: the kernel's
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        sock.close()
        six.close()


@pytest.mark.rule("C4")
def test_two_reuseaddr_sockets_share_a_port_as_windows_allows() -> None:
    host = EmulatedHost()
    with portpool.patch(host):
        first, second = socket.socket(), socket.socket()
        for sock in (first, second):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 6000))
        assert len(host.bindings(Protocol.TCP)) == 2
        first.close()
        second.close()


def test_create_server_does_not_set_reuseaddr_as_on_windows() -> None:
    with portpool.patch():
        server = socket.create_server(("127.0.0.1", 7000))
        assert server.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        assert server.getsockname() == ("127.0.0.1", 7000)
        with pytest.raises(OSError, match="while attempting to bind"):
            socket.create_server(("127.0.0.1", 7000))
        server.close()


# --- real traffic -------------------------------------------------------------------------


def test_tcp_traffic_over_loopback_with_emulated_addresses() -> None:
    with portpool.patch():
        server = socket.socket()
        server.bind(("192.168.1.10", 8080))  # an address of the emulated machine
        server.listen()
        client = socket.create_connection(("192.168.1.10", 8080), timeout=10)
        conn, peer = server.accept()
        assert peer == ("192.168.1.10", client.getsockname()[1])  # the address it dialed
        assert conn.getsockname() == ("192.168.1.10", 8080)
        assert client.getpeername() == ("192.168.1.10", 8080)
        client.sendall(b"ping")
        assert conn.recv(16) == b"ping"
        conn.sendall(b"pong")
        assert client.recv(16) == b"pong"
        for sock in (conn, client, server):
            sock.close()


def test_udp_traffic_with_implicit_bind_on_sendto() -> None:
    with portpool.patch() as host:
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 9000))
        receiver.settimeout(10)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        assert sender.sendto(b"datagram", ("127.0.0.1", 9000)) == 8
        data, source = receiver.recvfrom(64)
        assert data == b"datagram"
        sent_from = sender.getsockname()
        assert source == ("127.0.0.1", sent_from[1])
        assert sent_from[1] in host.dynamic_range(Protocol.UDP)  # the implicit bind (W1)
        assert sender.sendto(b"lost", ("127.0.0.1", 9001)) == 4  # nothing holds it: dropped
        receiver.close()
        sender.close()


@pytest.mark.parametrize("hermetic", [True, False])
def test_tcp_connect_where_nothing_is_bound_is_refused_10061(hermetic: bool) -> None:
    """Hermetic, the patch refuses; otherwise the kernel does (nothing listens on the real
    loopback port either), and a refused socket can connect again, as on Windows."""
    with socket.socket() as probe:  # a real loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with portpool.patch(hermetic=hermetic), socket.socket() as client:
        with pytest.raises(ConnectionRefusedError) as info:
            client.connect(("127.0.0.1", free))
        assert windows_code(info.value) == 10061
        assert client.connect_ex(("127.0.0.1", free)) == 10061  # Windows allows a retry
        with pytest.raises(OSError, match="10049") as port_zero:
            client.connect(("127.0.0.1", 0))
        assert windows_code(port_zero.value) == int(WinError.WSAEADDRNOTAVAIL)
        with socket.socket() as server:
            server.bind(("127.0.0.1", 8082))
            server.listen()
            client.connect(("127.0.0.1", 8082))  # the same socket, after two refusals
            assert client.getpeername() == ("127.0.0.1", 8082)


def test_listen_on_an_unbound_socket_is_wsaeinval() -> None:
    with portpool.patch(), socket.socket() as sock, pytest.raises(OSError, match="10022") as info:
        sock.listen()
    assert windows_code(info.value) == int(WinError.WSAEINVAL)


def test_socketpair_and_unix_sockets_are_left_alone() -> None:
    with portpool.patch() as host:
        left, right = socket.socketpair()
        left.sendall(b"x")
        assert right.recv(1) == b"x"
        assert left.fileno() > 2 and host.bindings(Protocol.TCP) == ()
        left.close()
        right.close()


def test_fault_injection_reaches_python_sockets() -> None:
    with portpool.patch() as host:
        sock = socket.socket()
        host.calls.fail_next("bind", WinError.WSAENETDOWN)
        with pytest.raises(OSError, match=r"\[WinError 10050\]") as info:
            sock.bind(("127.0.0.1", 0))
        assert windows_code(info.value) == 10050
        assert host.bindings(Protocol.TCP) == ()
        sock.bind(("127.0.0.1", 0))  # the next call is not failed
        sock.close()


def test_python_decides_argument_types_as_socket_does() -> None:
    with portpool.patch(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(TypeError):
            sock.bind(("127.0.0.1", "80"))
        with pytest.raises(TypeError):
            sock.sendto(b"x", ("127.0.0.1", "80"))
        with pytest.raises(OverflowError):
            sock.bind(("127.0.0.1", 70000))


def test_an_accepted_socket_once_closed_says_so() -> None:
    with portpool.patch():
        server = socket.create_server(("127.0.0.1", 8090))
        client = socket.create_connection(("127.0.0.1", 8090), timeout=10)
        conn, _ = server.accept()
        conn.close()
        with pytest.raises(OSError, match="10038"):
            conn.getsockname()
        client.close()
        server.close()


@pytest.mark.parametrize(("code", "expected"), [
    (10013, PermissionError), (10048, OSError), (10049, OSError), (10061, ConnectionRefusedError),
    (10035, BlockingIOError), (10036, BlockingIOError), (10060, TimeoutError),
    (10054, ConnectionResetError), (10053, ConnectionAbortedError), (10004, InterruptedError),
    (5, PermissionError), (32, PermissionError), (2, FileNotFoundError), (87, OSError),
    (1168, OSError), (740, OSError), (12345, OSError),
])
def test_exception_classes_follow_cpython_on_windows(code: int, expected: type[OSError]) -> None:
    with portpool.patch():
        err = wctypes.WinError(code)
    assert isinstance(err, expected)
    assert type(err).__mro__[1 if not ON_WINDOWS else 0] is expected  # no other builtin subclass
    assert windows_code(err) == code
    if ON_WINDOWS:
        assert type(OSError(None, "x", None, code)) is expected


def test_isinstance_of_socket_socket_holds_for_sockets_made_before() -> None:
    before = socket.socket()
    with portpool.patch():
        during = socket.socket()
        assert isinstance(before, socket.socket) and isinstance(during, socket.socket)
        assert issubclass(type(before), socket.socket)
        during.close()
    assert isinstance(during, socket.socket)
    before.close()


def test_ctypes_and_python_see_one_socket() -> None:
    """An option set through the patched ws2_32 on sock.fileno() is the Python socket's."""
    with portpool.patch():
        ws2 = wctypes.WinDLL("ws2_32", use_last_error=True)
        ws2.setsockopt.argtypes = [ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                   ctypes.c_int]
        sock = socket.socket()
        value = ctypes.c_int32(1)
        win_sol_socket, win_so_reuseaddr = 0xFFFF, 4
        assert ws2.setsockopt(sock.fileno(), win_sol_socket, win_so_reuseaddr,
                              ctypes.byref(value), 4) == 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert ws2.setsockopt(sock.fileno(), win_sol_socket, 0x7777, ctypes.byref(value), 4) == -1
        assert wctypes.get_last_error() == int(WinError.WSAENOPROTOOPT)
        sock.close()


# --- #21: FormatError's texts ------------------------------------------------------------

FORMAT_ERROR_TEXTS = {
    2: "The system cannot find the file specified.",
    3: "The system cannot find the path specified.",
    5: "Access is denied.",
    6: "The handle is invalid.",
    32: "The process cannot access the file because it is being used by another process.",
    50: "The request is not supported.",
    87: "The parameter is incorrect.",
    122: "The data area passed to a system call is too small.",
    740: "The requested operation requires elevation.",
    1168: "Element not found.",
}


@pytest.mark.parametrize(("code", "text"), sorted(FORMAT_ERROR_TEXTS.items()))
def test_formaterror_gives_the_common_win32_texts(code: int, text: str) -> None:
    with portpool.patch():
        assert wctypes.FormatError(code) == text
        err = wctypes.WinError(code)
    assert err.strerror == text and str(err) == f"[WinError {code}] {text}"


@pytest.mark.parametrize("code", list(WinError))
def test_formaterror_gives_every_winerror_members_text(code: WinError) -> None:
    with portpool.patch():
        assert wctypes.FormatError(int(code)) == code.message


def test_formaterror_of_zero_is_the_threads_last_error() -> None:
    with portpool.patch():
        ws2 = wctypes.WinDLL("ws2_32")
        ws2.closesocket.argtypes = [ctypes.c_size_t]
        assert ws2.closesocket(0x7FF0) == -1  # the thread's last error: WSAENOTSOCK
        assert wctypes.FormatError() == wctypes.FormatError(0) == WinError.WSAENOTSOCK.message


def test_socket_errors_drop_the_final_dot_ctypes_keeps_it() -> None:
    with portpool.patch():
        first, second = socket.socket(), socket.socket()
        first.bind(("127.0.0.1", 0))
        with pytest.raises(OSError, match="is normally permitted\n") as caught:
            second.bind(first.getsockname())
        assert str(caught.value).endswith("is normally permitted")  # no dot
        assert caught.value.strerror == WinError.WSAEADDRINUSE.message.rstrip(".")
        assert wctypes.WinError(10048).strerror == WinError.WSAEADDRINUSE.message


# --- #5: names the resolver cannot resolve ------------------------------------------------

def _real_failure(family: int, host: str) -> BaseException | None:
    """What an unpatched socket of ``family`` raises for bind((host, 0)), if anything."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, 0))
        except OSError as exc:
            return exc
    return None


@pytest.mark.parametrize(("family", "host"), [
    (socket.AF_INET, "portpool-no-such-host.invalid"),  # RFC 6761: never resolves
    (socket.AF_INET6, "0.0.0.0"),
    (socket.AF_INET6, "127.0.0.1"),
    (socket.AF_INET, "::1"),
])
def test_unresolvable_host_raises_gaierror_as_python_does(family: int, host: str) -> None:
    real = _real_failure(family, host)
    if not isinstance(real, socket.gaierror):
        pytest.skip(f"this platform's resolver answers {host!r} for family {family}: {real!r}")
    with portpool.patch():
        for call in ("bind", "connect", "connect_ex"):
            sock = socket.socket(family, socket.SOCK_STREAM)
            with pytest.raises(socket.gaierror) as caught:
                getattr(sock, call)((host, 80))
            assert caught.value.args == real.args  # the resolver's errno and text (not 10014)
            assert getattr(caught.value, "winerror", None) is None
            with pytest.raises(OSError, match=r"^\[WinError 10022\]"):
                sock.getsockname()  # the model never saw the call: still unbound
            sock.close()


def test_the_resolvers_gaierror_is_reraised_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = socket.gaierror(11001, "No such host is known. ")  # Windows' WSAHOST_NOT_FOUND
    asked: list[tuple[Any, ...]] = []

    def getaddrinfo(*args: Any) -> Any:
        asked.append(args)
        raise failure

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with portpool.patch(), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        with pytest.raises(socket.gaierror) as caught:
            sock.sendto(b"x", ("0.0.0.0", 9))
        assert caught.value is failure
        assert asked == [(b"0.0.0.0", None, socket.AF_INET6)]
        sock.bind(("", 0))  # the wildcard and localhost need no resolver
        sock.connect(("localhost", sock.getsockname()[1]))
        assert sock.getpeername()[0] == "::1" and len(asked) == 1


@pytest.mark.parametrize("host", ["<broadcast>", "255.255.255.255"])
def test_broadcast_on_inet6_is_a_family_mismatch_as_in_python(host: str) -> None:
    real = _real_failure(socket.AF_INET6, host)
    assert real is not None
    with (portpool.patch(), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock,
          pytest.raises(OSError, match=r"^address family mismatched$") as caught):
        sock.bind((host, 0))
    assert type(caught.value) is type(real) and caught.value.args == real.args
