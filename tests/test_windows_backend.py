"""The ctypes backend's edges that the first real run would meet (over the emulated DLLs).

Each test here fails on the backend as it was before the fix it names: the pool's
close() under CPython's own WSAStartup, and the IPv6 sockaddr's flow info and scope id.
"""

from __future__ import annotations

import ctypes
from ctypes import byref
from typing import Any

import pytest

from portpool import EmulatedHost, PortPoolError, Protocol, WinError
from portpool._winsock import _abi as abi
from portpool.backends.windows import WindowsPool

rule = pytest.mark.rule
TCP = Protocol.TCP


def _python_process(host: EmulatedHost) -> Any:
    """A process as CPython's is on Windows: the ``socket`` module has called WSAStartup
    once already (Modules/socketmodule.c, os_init) and calls WSACleanup only at exit."""
    dlls = host.dlls()
    assert dlls.ws2_32.WSAStartup(0x0202, byref(abi.WSADATA())) == 0
    return dlls


@rule("B13")
def test_the_emulated_wsacleanup_is_reference_counted() -> None:
    """Windows' WSACleanup page: "Only the final WSACleanup function call performs the
    actual cleanup. The preceding calls simply decrement an internal reference count"."""
    host = EmulatedHost(seed=1)
    ws2 = _python_process(host).ws2_32
    assert ws2.WSAStartup(0x0202, byref(abi.WSADATA())) == 0  # a second user
    s = ws2.socket(abi.AF_INET, 1, 0)
    assert s != abi.INVALID_SOCKET
    assert ws2.WSACleanup() == 0
    assert ws2.closesocket(s) == 0  # survived the non-final WSACleanup
    assert ws2.WSACleanup() == 0
    assert ws2.socket(abi.AF_INET, 1, 0) == abi.INVALID_SOCKET
    assert ws2.WSAGetLastError() == int(WinError.WSANOTINITIALISED)


@rule("B13")
def test_close_frees_the_pools_sockets_and_blocks_under_pythons_own_wsastartup() -> None:
    """Before the fix, close() only called WSACleanup, which is never the process's
    final one in Python: the socket, its port and its runtime block outlived close()."""
    host = EmulatedHost(seed=1)
    dlls = _python_process(host)
    pool = WindowsPool(dlls=dlls)
    bound, owner = pool.socket(), pool.socket()
    bound.bind(("127.0.0.1", 0))
    owner.acquire_port_reservation(0, 10)
    assert host.bindings(TCP) and host.reservations(TCP)
    pool.close()
    assert host.bindings(TCP) == () and host.reservations(TCP) == ()
    assert bound.fileno() == owner.fileno() == -1
    for call in (pool.socket, bound.getsockname,
                 lambda: pool.create_persistent_reservation(TCP, 40000, 5)):
        with pytest.raises(PortPoolError) as info:
            call()
        assert info.value.code is WinError.WSANOTINITIALISED
    bound.close()  # harmless
    pool.close()  # harmless
    # Python's own WSAStartup is still there: the process's Winsock works
    handle = dlls.ws2_32.socket(abi.AF_INET, 1, 0)
    assert handle != abi.INVALID_SOCKET and dlls.ws2_32.closesocket(handle) == 0


def test_close_leaves_adopted_sockets_to_python() -> None:
    import socket

    host = EmulatedHost(seed=1)
    pool = WindowsPool(dlls=_python_process(host))
    with socket.socket() as py:
        adopted = pool.adopt(py)
        pool.close()
        assert py.fileno() != -1 and adopted.fileno() == py.fileno()


# --- the IPv6 sockaddr ----------------------------------------------------------------


class _Recording:
    """The emulated ws2_32 with bind and getsockname wrapped: bind records the
    SOCKADDR_IN6 it is given; getsockname reports ``flowinfo`` as Windows does, in
    network byte order."""

    def __init__(self, ws2: Any, flowinfo: int) -> None:
        self._ws2 = ws2
        self.seen: list[tuple[int, int]] = []
        self._flowinfo = flowinfo

        def bind(s: int, name: int, namelen: int) -> int:
            if namelen >= ctypes.sizeof(abi.SOCKADDR_IN6):
                sin6 = abi.SOCKADDR_IN6.from_address(name)
                self.seen.append((sin6.sin6_flowinfo, sin6.sin6_scope_id))
            return int(ws2.bind(s, name, namelen))

        def getsockname(s: int, name: int, namelen: int) -> int:
            result = int(ws2.getsockname(s, name, namelen))
            if result == 0:
                abi.SOCKADDR_IN6.from_address(name).sin6_flowinfo = abi.htonl(self._flowinfo)
            return result

        self.bind = abi.PROTOTYPES["bind"].functype(bind)
        self.getsockname = abi.PROTOTYPES["getsockname"].functype(getsockname)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws2, name)


@rule("W12")
def test_the_ipv6_sockaddr_carries_flowinfo_and_scope_id_as_python_does() -> None:
    """CPython's socket fills sin6_flowinfo with htonl(flowinfo) and sin6_scope_id with
    the scope id, and returns ntohl(sin6_flowinfo); before the fix the backend sent 0
    and 0 and returned the flow info byte-swapped."""
    host = EmulatedHost(seed=1)
    dlls = host.dlls()
    ws2 = _Recording(dlls.ws2_32, flowinfo=0x12345)
    pool = WindowsPool(dlls=(ws2, dlls.iphlpapi))
    sock = pool.socket(abi.AF_INET6)
    sock.bind(("::1", 0, 0x12345, 7))
    assert ws2.seen == [(abi.htonl(0x12345), 7)]
    assert ws2.seen[0][0] == 0x45230100  # the bytes 00 01 23 45 in memory
    host_name, port, flowinfo, _scope = sock.getsockname()
    assert (host_name, flowinfo) == ("::1", 0x12345) and port > 0
    other = pool.socket(abi.AF_INET6)
    other.bind(("::1", 0))
    assert ws2.seen[-1] == (0, 0)
    pool.close()


def test_htonl_is_the_byte_swap_of_a_little_endian_machine() -> None:
    assert abi.htonl(0x01020304) == 0x04030201
    assert abi.ntohl(abi.htonl(0xFFFFF)) == 0xFFFFF
    assert abi.htonl(0) == 0


# --- netsh's text on the real machine: the console's code page, any display language ----

_GERMAN = {  # the system messages (FormatMessageW) of a German Windows
    5: "Zugriff verweigert",
    32: "Der Prozess kann nicht auf die Datei zugreifen, da sie von einem anderen Prozess"
        " verwendet wird.",
}


def test_netsh_output_is_decoded_in_the_consoles_code_page() -> None:
    from portpool._netsh._console import decode_console_output

    text = 'Portausschlussbereiche für das Protokoll "tcp"\n     50000       50059     *\n'
    assert decode_console_output(text.encode("cp850"), [850]) == text
    assert decode_console_output(text.encode("utf-8"), [65001, 850]) == text  # chcp 65001
    assert decode_console_output(text.encode("cp1252"), [0, 99999, 1252]) == text
    assert "50059" in decode_console_output(text.encode("cp850"), [])  # digits always survive


def _lab_with_netsh(status: int, output: str) -> Any:
    from portpool._probes._lab import WindowsLab

    host = EmulatedHost(seed=1)
    return WindowsLab(dlls=host.dlls(admin=True), netsh=lambda words: (status, output),
                      elevated=True, child_backend="emulated", messages=_GERMAN.get)


@pytest.mark.parametrize(("status", "output", "ok", "code"), [
    (1, "\nZugriff verweigert\n\n", False, 5),
    (1, "\n" + _GERMAN[32] + "\n\n", False, 32),
    (1, "\nEin unbekannter Fehler.\n\n", False, None),  # failed by its status, code unknown
    (1, "\nAccess is denied.\n\n", False, 5),  # en-US always known
    (0, "Ok.\n\n", True, None),
])
def test_netsh_failures_are_recognised_in_any_language(status: int, output: str, ok: bool,
                                                       code: int | None) -> None:
    lab = _lab_with_netsh(status, output)
    run = lab.netsh("int ipv4 delete excludedportrange protocol=tcp startport=1 numberofports=1")
    assert (run.ok, run.code) == (ok, code)
