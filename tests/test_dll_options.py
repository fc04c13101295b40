"""setsockopt, getsockopt, connect, getpeername and WSAIoctl(SIO_CPU_AFFINITY) of the
emulated ws2_32, called through ctypes as C calls them: success and error codes, buffer
edges, fault injection, and the ctypes backend over them agreeing with the emulated one."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from ctypes import byref, c_int32, c_uint16, c_void_p, cast, create_string_buffer, sizeof
from typing import Any

import pytest

from portpool import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_LINGER,
    SO_REUSEADDR,
    SOL_SOCKET,
    EmulatedHost,
    Family,
    PortPool,
    PortPoolError,
    Protocol,
    WinError,
    linger,
)
from portpool._winsock import _abi as abi
from portpool.backends.windows import WindowsPool

rule = pytest.mark.rule
E = WinError
TCP, UDP, V4, V6 = 1, 2, abi.AF_INET, abi.AF_INET6
ERROR = abi.SOCKET_ERROR
UNKNOWN = 0x4321  # at SOL_SOCKET: an option Windows does not have (O1)
SO_RCVBUF, SO_SNDTIMEO = 0x1002, 0x1005  # winsock2.h: 4-byte options that take no short value


@pytest.fixture
def host() -> EmulatedHost:
    return EmulatedHost(seed=7)


def started(host: EmulatedHost, **kw: Any) -> Any:
    dlls = host.dlls(**kw)
    assert dlls.ws2_32.WSAStartup(0x0202, byref(abi.WSADATA())) == 0
    return dlls.ws2_32


def fails(ws2: Any, rc: int, code: WinError) -> None:
    """The call returned SOCKET_ERROR and WSAGetLastError says ``code``."""
    assert (rc, ws2.WSAGetLastError()) == (ERROR, int(code)), ws2.details.text


def setopt(ws2: Any, s: int, level: int, option: int, value: int, optlen: int = 4) -> int:
    buf = c_int32(value)
    return int(ws2.setsockopt(s, level, option, byref(buf), optlen))


def getopt(ws2: Any, s: int, level: int, option: int) -> int:
    value, size = c_int32(0), c_int32(8)
    assert ws2.getsockopt(s, level, option, byref(value), byref(size)) == 0, ws2.details.text
    assert size.value in (1, 4)  # *optlen comes back as the option's width (B18)
    return value.value


def sin(host: str, port: int) -> abi.SOCKADDR_IN:
    name = abi.SOCKADDR_IN(abi.AF_INET, abi.htons(port))
    name.sin_addr[:] = list(ipaddress.IPv4Address(host).packed)
    return name


def sin6(host: str, port: int) -> abi.SOCKADDR_IN6:
    name = abi.SOCKADDR_IN6(abi.AF_INET6, abi.htons(port))
    name.sin6_addr[:] = list(ipaddress.IPv6Address(host).packed)
    return name


def peer_of(ws2: Any, s: int, function: str = "getpeername") -> tuple[int, str, int, int]:
    """(family, host, port, *namelen) from getpeername (or getsockname) into a big buffer."""
    buf, size = abi.SOCKADDR_IN6(), c_int32(sizeof(abi.SOCKADDR_IN6) + 4)
    assert getattr(ws2, function)(s, byref(buf), byref(size)) == 0, ws2.details.text
    if buf.sin6_family == abi.AF_INET:
        v4 = abi.SOCKADDR_IN.from_buffer(buf)
        return V4, str(ipaddress.IPv4Address(bytes(v4.sin_addr))), abi.ntohs(v4.sin_port), size.value
    return (V6, str(ipaddress.IPv6Address(bytes(buf.sin6_addr))), abi.ntohs(buf.sin6_port),
            size.value)


def cpu_affinity(ws2: Any, s: int, processor: int, *, cbin: int = 2, null_in: bool = False,
                 pbytes: bool = True) -> tuple[int, int]:
    number, returned = c_uint16(processor), abi.DWORD(0xDEAD)
    rc = ws2.WSAIoctl(s, abi.SIO_CPU_AFFINITY, None if null_in else byref(number), cbin, None, 0,
                      byref(returned) if pbytes else None, None, None)
    return int(rc), int(returned.value)


# --- the exports exist, with the prototypes ------------------------------------------------

def test_the_new_exports_are_c_functions_with_the_header_prototypes(host: EmulatedHost) -> None:
    ws2 = host.dlls().ws2_32
    for name in ("setsockopt", "getsockopt", "connect", "getpeername"):
        proto = abi.PROTOTYPES[name]
        assert proto.dll == "ws2_32"
        assert isinstance(getattr(ws2, name), proto.functype), name
        assert cast(getattr(ws2, name), c_void_p).value  # a real code address


# --- setsockopt / getsockopt ---------------------------------------------------------------

@rule("O1", "O6", "O7")
def test_defaults_and_values_read_back_as_bool(host: EmulatedHost) -> None:
    ws2 = started(host)
    s4, s6 = ws2.socket(V4, TCP, 0), ws2.socket(V6, UDP, 0)
    assert [getopt(ws2, s4, SOL_SOCKET, o) for o in (SO_REUSEADDR, SO_EXCLUSIVEADDRUSE)] == [0, 0]
    assert getopt(ws2, s6, IPPROTO_IPV6, IPV6_V6ONLY) == 1  # O6: IPv6-only by default
    assert setopt(ws2, s4, SOL_SOCKET, SO_REUSEADDR, 7) == 0
    assert getopt(ws2, s4, SOL_SOCKET, SO_REUSEADDR) == 1  # O7
    assert setopt(ws2, s6, IPPROTO_IPV6, IPV6_V6ONLY, 0) == 0
    assert getopt(ws2, s6, IPPROTO_IPV6, IPV6_V6ONLY) == 0
    assert setopt(ws2, s4, SOL_SOCKET, SO_REUSEADDR, 0) == 0
    assert setopt(ws2, s4, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, -1) == 0
    assert getopt(ws2, s4, SOL_SOCKET, SO_EXCLUSIVEADDRUSE) == 1


@rule("O1", "O2", "O4")
def test_unknown_options_levels_and_exclusive_with_reuse(host: EmulatedHost) -> None:
    ws2 = started(host)
    s4, s6 = ws2.socket(V4, UDP, 0), ws2.socket(V6, TCP, 0)
    fails(ws2, setopt(ws2, s4, SOL_SOCKET, UNKNOWN, 1), E.WSAENOPROTOOPT)  # O1
    fails(ws2, ws2.getsockopt(s4, SOL_SOCKET, UNKNOWN, byref(c_int32()), byref(c_int32(4))),
          E.WSAENOPROTOOPT)
    fails(ws2, setopt(ws2, s4, 12345, 1, 1), E.WSAEINVAL)  # O2: no such level
    fails(ws2, setopt(ws2, s4, IPPROTO_IPV6, 4, 1), E.WSAEINVAL)  # O2: IPV6_UNICAST_HOPS, AF_INET
    assert setopt(ws2, s6, SOL_SOCKET, SO_REUSEADDR, 1) == 0
    fails(ws2, setopt(ws2, s6, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1), E.WSAEINVAL)  # O4
    assert getopt(ws2, s6, SOL_SOCKET, SO_EXCLUSIVEADDRUSE) == 0  # and nothing changed
    assert setopt(ws2, s6, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 0) == 0  # off always succeeds


@rule("O3")
@pytest.mark.parametrize("optlen", [0, 1, 2, 3])
def test_setsockopt_value_shorter_than_its_width_is_wsaefault(host: EmulatedHost,
                                                              optlen: int) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    fails(ws2, setopt(ws2, s, SOL_SOCKET, SO_RCVBUF, 1, optlen), E.WSAEFAULT)
    assert getopt(ws2, s, SOL_SOCKET, SO_RCVBUF) == 65536  # O10's default, unchanged


@rule("O3", "B17")
@pytest.mark.parametrize("optlen", [-1, 0, 1, 2, 3])
def test_a_sol_socket_bool_takes_short_values(host: EmulatedHost, optlen: int) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    assert setopt(ws2, s, SOL_SOCKET, SO_REUSEADDR, 1, optlen) == 0, ws2.details.text
    assert ws2.WSAGetLastError() == 0  # B16
    assert getopt(ws2, s, SOL_SOCKET, SO_REUSEADDR) == (0 if optlen == 0 else 1)


@rule("O3", "O1")
def test_setsockopt_null_value_and_what_is_checked_first(host: EmulatedHost) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    fails(ws2, ws2.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, None, 4), E.WSAEFAULT)
    fails(ws2, ws2.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, None, 0), E.WSAEFAULT)
    # The level and option are checked before the size, as the emulated backend does.
    fails(ws2, ws2.setsockopt(s, SOL_SOCKET, UNKNOWN, None, 0), E.WSAENOPROTOOPT)
    fails(ws2, ws2.setsockopt(s, 7, SO_REUSEADDR, None, 0), E.WSAEINVAL)


@rule("O1", "O7")
def test_setsockopt_reads_only_the_bool_of_a_longer_buffer(host: EmulatedHost) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    buf = create_string_buffer(b"\x00\x00\x00\x00\x01\x00\x00\x00", 8)
    assert ws2.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, buf, 8) == 0
    assert getopt(ws2, s, SOL_SOCKET, SO_REUSEADDR) == 0  # bytes 4-7 are not the BOOL
    buf = create_string_buffer(b"\x00\x01\x00\x00\xff", 5)
    assert ws2.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, buf, 5) == 0
    assert getopt(ws2, s, SOL_SOCKET, SO_REUSEADDR) == 1  # little-endian 256: non-zero


@rule("O3", "B18")
@pytest.mark.parametrize("case", ["null value", "null optlen", "optlen 3", "optlen 0",
                                  "optlen -4"])
def test_getsockopt_short_or_null_buffers_are_wsaefault(host: EmulatedHost, case: str) -> None:
    ws2 = started(host)
    s = ws2.socket(V6, UDP, 0)
    value, size = c_int32(-7), c_int32({"optlen 3": 3, "optlen 0": 0, "optlen -4": -4}.get(case, 4))
    rc = ws2.getsockopt(s, SOL_SOCKET, SO_SNDTIMEO,  # a 4-byte option without short values (B18)
                        None if case == "null value" else byref(value),
                        None if case == "null optlen" else byref(size))
    fails(ws2, rc, E.WSAEFAULT)
    assert value.value == -7  # nothing written
    assert size.value == {"optlen 3": 3, "optlen 0": 0, "optlen -4": -4}.get(case, 4)


@rule("R9b", "B13")
def test_options_on_a_closed_socket_and_before_wsastartup(host: EmulatedHost) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    assert ws2.closesocket(s) == 0
    fails(ws2, setopt(ws2, s, SOL_SOCKET, SO_REUSEADDR, 1), E.WSAENOTSOCK)
    fails(ws2, ws2.getsockopt(s, SOL_SOCKET, SO_REUSEADDR, byref(c_int32()), byref(c_int32(4))),
          E.WSAENOTSOCK)
    fails(ws2, ws2.connect(s, byref(sin("127.0.0.1", 80)), 16), E.WSAENOTSOCK)
    fails(ws2, ws2.getpeername(s, byref(abi.SOCKADDR_IN()), byref(c_int32(16))), E.WSAENOTSOCK)
    fails(ws2, cpu_affinity(ws2, s, 0)[0], E.WSAENOTSOCK)
    fails(ws2, setopt(ws2, abi.INVALID_SOCKET, SOL_SOCKET, SO_REUSEADDR, 1), E.WSAENOTSOCK)
    cold = host.dlls().ws2_32  # no WSAStartup
    fails(cold, setopt(cold, 0x100, SOL_SOCKET, SO_REUSEADDR, 1), E.WSANOTINITIALISED)
    fails(cold, cold.connect(0x100, byref(sin("127.0.0.1", 80)), 16), E.WSANOTINITIALISED)


@pytest.mark.parametrize("function", ["setsockopt", "getsockopt", "connect", "getpeername"])
def test_injected_faults_fail_the_call_and_change_nothing(host: EmulatedHost,
                                                           function: str) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, UDP, 0)
    host.calls.fail_next(function, E.WSAENETDOWN)
    calls: dict[str, Callable[[], int]] = {
        "setsockopt": lambda: setopt(ws2, s, SOL_SOCKET, SO_REUSEADDR, 1),
        "getsockopt": lambda: ws2.getsockopt(s, SOL_SOCKET, SO_REUSEADDR, byref(c_int32()),
                                             byref(c_int32(4))),
        "connect": lambda: ws2.connect(s, byref(sin("127.0.0.1", 53)), 16),
        "getpeername": lambda: ws2.getpeername(s, byref(abi.SOCKADDR_IN()), byref(c_int32(16))),
    }
    fails(ws2, calls[function](), E.WSAENETDOWN)
    assert getopt(ws2, s, SOL_SOCKET, SO_REUSEADDR) == 0
    assert host.bindings(Protocol.UDP) == ()  # the failed connect bound nothing
    assert calls[function]() == (ERROR if function == "getpeername" else 0)  # the fault is used up


# --- connect / getpeername -------------------------------------------------------------------

@rule("K1", "K5", "B4")
def test_connect_binds_implicitly_and_records_the_peer(host: EmulatedHost) -> None:
    ws2 = started(host)
    s = ws2.socket(V4, UDP, 0)
    fails(ws2, ws2.getpeername(s, byref(abi.SOCKADDR_IN()), byref(c_int32(16))), E.WSAENOTCONN)
    assert ws2.connect(s, byref(sin("192.0.2.7", 5353)), 16) == 0
    assert peer_of(ws2, s) == (V4, "192.0.2.7", 5353, 16)  # network order undone, *namelen 16
    family, local, port, _ = peer_of(ws2, s, "getsockname")
    assert (family, local) == (V4, "0.0.0.0")
    assert port in host.dynamic_range(Protocol.UDP, Family.INET)
    [binding] = host.bindings(Protocol.UDP)
    assert binding.port == port


@rule("K3", "L3")
def test_connect_to_the_wildcard_port_zero_or_a_mapped_address(host: EmulatedHost) -> None:
    ws2 = started(host)
    s4, s6 = ws2.socket(V4, TCP, 0), ws2.socket(V6, TCP, 0)
    fails(ws2, ws2.connect(s4, byref(sin("0.0.0.0", 80)), 16), E.WSAEADDRNOTAVAIL)
    fails(ws2, ws2.connect(s4, byref(sin("127.0.0.1", 0)), 16), E.WSAEADDRNOTAVAIL)
    fails(ws2, ws2.connect(s6, byref(sin6("::", 80)), 28), E.WSAEADDRNOTAVAIL)
    fails(ws2, ws2.connect(s6, byref(sin6("::ffff:127.0.0.1", 80)), 28), E.WSAEADDRNOTAVAIL)
    assert host.bindings(Protocol.TCP) == ()  # refused before the implicit bind


@rule("K4")
def test_tcp_connects_once_udp_replaces_its_peer(host: EmulatedHost) -> None:
    ws2 = started(host)
    tcp, udp = ws2.socket(V6, TCP, 0), ws2.socket(V6, UDP, 0)
    assert ws2.connect(tcp, byref(sin6("2001:db8::1", 443)), 28) == 0  # not the machine's: K6
    fails(ws2, ws2.connect(tcp, byref(sin6("2001:db8::1", 444)), 28), E.WSAEISCONN)
    assert peer_of(ws2, tcp) == (V6, "2001:db8::1", 443, 28)
    assert ws2.connect(udp, byref(sin6("::1", 53)), 28) == 0
    local = peer_of(ws2, udp, "getsockname")
    assert ws2.connect(udp, byref(sin6("2001:db8::1", 54)), 28) == 0
    assert peer_of(ws2, udp) == (V6, "2001:db8::1", 54, 28)
    assert peer_of(ws2, udp, "getsockname") == local  # the local port stays


@rule("B3", "W4")
def test_connect_and_getpeername_sockaddr_shapes(host: EmulatedHost) -> None:
    ws2 = started(host)
    s4, s6 = ws2.socket(V4, UDP, 0), ws2.socket(V6, UDP, 0)
    fails(ws2, ws2.connect(s4, None, 16), E.WSAEFAULT)  # B3: NULL
    fails(ws2, ws2.connect(s4, byref(sin("127.0.0.1", 80)), 15), E.WSAEFAULT)  # B3: short
    fails(ws2, ws2.connect(s6, byref(sin6("::1", 80)), 27), E.WSAEFAULT)
    fails(ws2, ws2.connect(s6, byref(sin("127.0.0.1", 80)), 28), E.WSAEFAULT)  # W4: family
    assert host.bindings(Protocol.UDP) == ()
    assert ws2.connect(s4, byref(sin("127.0.0.1", 80)), 16) == 0
    assert ws2.connect(s6, byref(sin6("::1", 80)), 28) == 0
    fails(ws2, ws2.getpeername(s4, byref(abi.SOCKADDR_IN()), byref(c_int32(15))), E.WSAEFAULT)
    fails(ws2, ws2.getpeername(s6, byref(abi.SOCKADDR_IN6()), byref(c_int32(16))), E.WSAEFAULT)
    fails(ws2, ws2.getpeername(s4, None, byref(c_int32(16))), E.WSAEFAULT)
    fails(ws2, ws2.getpeername(s4, byref(abi.SOCKADDR_IN()), None), E.WSAEFAULT)
    assert peer_of(ws2, s6) == (V6, "::1", 80, 28)


@rule("K2")
@pytest.mark.parametrize("variant", ["block", "dynamic"])
def test_connect_on_an_associated_socket(variant: str) -> None:
    host = EmulatedHost(seed=3, variants={"K2": variant})
    ws2 = started(host)
    s = ws2.socket(V4, TCP, 0)
    request, out, returned = abi.INET_PORT_RANGE(abi.htons(40000), 10), \
        abi.INET_PORT_RESERVATION_INSTANCE(), abi.DWORD()
    assert ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, byref(request), 4, byref(out), 16,
                        byref(returned), None, None) == 0
    token = abi.ULONG64(out.Token.Token)
    assert ws2.WSAIoctl(s, abi.SIO_ASSOCIATE_PORT_RESERVATION, byref(token), 8, None, 0,
                        byref(returned), None, None) == 0
    assert ws2.connect(s, byref(sin("203.0.113.9", 80)), 16) == 0  # not the machine's: K6
    port = peer_of(ws2, s, "getsockname")[2]
    assert (40000 <= port < 40010) is (variant == "block")


# --- WSAIoctl(SIO_CPU_AFFINITY) -----------------------------------------------------------------

@rule("C19", "B8", "B3", "R9a", "B5")
def test_sio_cpu_affinity_shapes(host: EmulatedHost) -> None:
    ws2 = started(host, admin=True)
    udp, tcp, raw = ws2.socket(V6, UDP, 0), ws2.socket(V6, TCP, 0), ws2.socket(V4, 3, 17)
    assert cpu_affinity(ws2, udp, 3) == (0, 0)  # no output: *lpcbBytesReturned 0
    assert cpu_affinity(ws2, udp, 65535, cbin=4)[0] == 0  # a longer buffer: its first USHORT
    fails(ws2, cpu_affinity(ws2, tcp, 0)[0], E.WSAEOPNOTSUPP)  # B8: UDP only
    fails(ws2, cpu_affinity(ws2, raw, 0)[0], E.WSAEOPNOTSUPP)  # R9a
    for cbin in (0, 1):
        fails(ws2, cpu_affinity(ws2, udp, 0, cbin=cbin)[0], E.WSAEFAULT)  # assumed
    fails(ws2, cpu_affinity(ws2, udp, 0, null_in=True)[0], E.WSAEFAULT)  # B3
    fails(ws2, cpu_affinity(ws2, udp, 0, pbytes=False)[0], E.WSAEFAULT)  # B3
    returned = abi.DWORD()
    for other in (0x98000014, 0x98000016, 0x98000099):  # B8 for codes it does not know
        fails(ws2, ws2.WSAIoctl(udp, other, byref(c_uint16(0)), 2, None, 0, byref(returned),
                                None, None), E.WSAEOPNOTSUPP)
    host.calls.fail_next("WSAIoctl", E.WSAENETDOWN)
    fails(ws2, cpu_affinity(ws2, udp, 0)[0], E.WSAENETDOWN)


@rule("C19", "B11")
def test_sio_cpu_affinity_through_wspioctl_reports_by_lperrno(host: EmulatedHost) -> None:
    ws2 = started(host)
    tcp = ws2.socket(V4, TCP, 0)
    number, returned, errno = c_uint16(0), abi.DWORD(), c_int32(0)
    assert ws2.WSPIoctl(tcp, abi.SIO_CPU_AFFINITY, byref(number), 2, None, 0, byref(returned),
                        None, None, None, byref(errno)) == ERROR
    assert errno.value == int(E.WSAEOPNOTSUPP)


@rule("C19", "B9")
def test_sio_cpu_affinity_overlapped_completes_later(host: EmulatedHost) -> None:
    ws2 = started(host)
    a, b = ws2.socket(V4, UDP, 0), ws2.socket(V4, UDP, 0)
    host.calls.pend_overlapped = True
    number, returned = c_uint16(1), abi.DWORD()
    ov = abi.WSAOVERLAPPED()
    fails(ws2, ws2.WSAIoctl(a, abi.SIO_CPU_AFFINITY, byref(number), 2, None, 0, byref(returned),
                            byref(ov), None), E.WSA_IO_PENDING)
    assert cpu_affinity(ws2, b, 0)[0] == 0  # without lpOverlapped: at once
    assert ws2.bind(b, byref(sin("0.0.0.0", 41000)), 16) == 0
    fails(ws2, ws2.bind(a, byref(sin("0.0.0.0", 41000)), 16), E.WSAEADDRINUSE)  # a: not yet
    assert host.calls.complete_pending() == 1
    transferred, flags = abi.DWORD(9), abi.DWORD(9)
    assert ws2.WSAGetOverlappedResult(a, byref(ov), byref(transferred), 0, byref(flags)) == 1
    assert transferred.value == 0
    assert ws2.bind(a, byref(sin("0.0.0.0", 41000)), 16) == 0, ws2.details.text  # C19 now


# --- WindowsPool over the DLLs agrees with the emulated backend --------------------------------

def _script(pool: PortPool) -> list[object]:
    """One fixed sequence of interface calls; every outcome as a value or a code."""
    out: list[object] = []

    def step(call: Callable[[], object]) -> None:
        try:
            out.append(call())
        except PortPoolError as exc:
            out.append(exc.code)
        except (TypeError, OverflowError) as exc:
            out.append(type(exc).__name__)

    u6, t6, t4, u4 = (pool.socket(V6, UDP), pool.socket(V6, TCP), pool.socket(V4, TCP),
                      pool.socket(V4, UDP))
    for sock, level, option in ((u6, IPPROTO_IPV6, IPV6_V6ONLY), (t4, SOL_SOCKET, SO_REUSEADDR),
                                (t4, SOL_SOCKET, SO_EXCLUSIVEADDRUSE), (t4, IPPROTO_IPV6,
                                                                        IPV6_V6ONLY),
                                (t4, SOL_SOCKET, UNKNOWN), (t4, 99, 1)):
        step(functools.partial(sock.getsockopt, level, option))
    values: list[Any] = [0, 1, 7, b"\x01", b"", b"\x00\x00\x00\x00\x01", bytearray(b"\x02\0\0\0"),
                         True, 2**31, "1", None]
    for value in values:
        step(functools.partial(t6.setsockopt, SOL_SOCKET, SO_REUSEADDR, value))
        step(lambda: t6.getsockopt(SOL_SOCKET, SO_REUSEADDR))
    step(lambda: t6.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1))  # O4 while reuse is on
    step(lambda: t6.setsockopt(SOL_SOCKET, "x", 1))  # type: ignore[arg-type]  # wrong on purpose
    step(lambda: u6.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0))
    step(lambda: u6.set_cpu_affinity(0))
    step(lambda: t6.set_cpu_affinity(0))
    step(lambda: u6.set_cpu_affinity(70000))
    step(lambda: u6.set_cpu_affinity("0"))  # type: ignore[arg-type]  # wrong on purpose
    step(lambda: u6.bind(("::", 0)))
    step(u6.getsockname)
    step(lambda: u6.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1))  # after bind: O5
    step(u4.getpeername)
    for address in (("0.0.0.0", 80), ("127.0.0.1", 0), ("127.0.0.1", 70000), ("x", 80),
                    ("127.0.0.1",), ("198.51.100.2", 8080)):
        step(functools.partial(u4.connect, address))
    step(lambda: (u4.getsockname()[0], u4.getpeername()))
    step(lambda: u4.connect(("198.51.100.3", 8081)))
    step(u4.getpeername)
    server = pool.socket(V6, TCP)
    step(lambda: server.listen(5))  # S1: not bound
    step(lambda: server.bind(("::1", 443, 0, 0)))
    step(server.accept)  # S5: not listening
    step(lambda: server.listen(5))
    step(server.accept)  # S7: nothing waiting
    step(lambda: u4.listen(5))  # S2: UDP
    step(lambda: t6.connect(("::1", 443)))
    step(lambda: t6.connect(("::1", 444)))
    step(t6.getpeername)
    step(t6.getsockname)
    step(lambda: server.accept()[1] == t6.getsockname())
    step(lambda: t6.setsockopt(SOL_SOCKET, SO_LINGER, linger(True, 0)))
    step(lambda: t6.getsockopt(SOL_SOCKET, SO_LINGER))
    t4.close()
    step(lambda: t4.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1))
    step(lambda: t4.getsockopt(SOL_SOCKET, SO_REUSEADDR))
    step(lambda: t4.connect(("127.0.0.1", 80)))
    step(t4.getpeername)
    step(lambda: t4.set_cpu_affinity(0))
    return out


@rule("O1", "O2", "O3", "O4", "O5", "O7", "K1", "K3", "K4", "K5", "C19", "B8", "S1", "S2", "S5",
      "S7", "S9", "T4")
@pytest.mark.parametrize("variants", [{}, {"O5": "accepted"}, {"O5": "refused"}])
def test_windows_pool_over_the_dlls_agrees_with_the_emulated_backend(
        variants: dict[str, str]) -> None:
    emulated = _script(EmulatedHost(seed=11, variants=variants).process())
    ctypes_backend = _script(WindowsPool(dlls=EmulatedHost(seed=11, variants=variants).dlls()))
    assert ctypes_backend == emulated
    # The script reaches the paths it is about: values, Windows codes and Python's errors.
    for expected in (E.WSAENOPROTOOPT, E.WSAEINVAL, E.WSAEFAULT, E.WSAEOPNOTSUPP,
                     E.WSAEADDRNOTAVAIL, E.WSAEISCONN, E.WSAENOTCONN, E.WSAENOTSOCK, "TypeError",
                     "OverflowError", ("198.51.100.3", 8081), ("::1", 443, 0, 0)):
        assert expected in emulated, expected
