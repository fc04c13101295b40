"""The Windows ABI of the port-pool calls, as ctypes: structs, constants, prototypes.

This room knows call shapes and nothing of port semantics.  Every definition here is
checked against the mingw-w64 headers by ``tests/test_abi.py``, which generates a C
file of ``_Static_assert``s from these Python values and compiles it for x86_64 and
i686.  Integer types are spelled with their Windows sizes (ULONG is 4 bytes on
Windows; ``ctypes.c_ulong`` is 8 on Linux), so the layouts are right on every OS.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any, Final

import attrs

from .._errors import WinError
from .._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_SOCKET,
)

__all__ = [
    "AF_INET", "AF_INET6", "DWORD", "FUNCTYPE", "INET_PORT_RANGE", "INET_PORT_RESERVATION",
    "INET_PORT_RESERVATION_INFORMATION", "INET_PORT_RESERVATION_INSTANCE",
    "INET_PORT_RESERVATION_TOKEN", "INVALID_PORT_RESERVATION_TOKEN", "INVALID_SOCKET",
    "IOC_IN", "IOC_VENDOR", "IPPROTO_IPV6", "IPV6_V6ONLY", "PROTOTYPES",
    "SIO_ACQUIRE_PORT_RESERVATION", "SIO_ASSOCIATE_PORT_RESERVATION", "SIO_CPU_AFFINITY",
    "SIO_RELEASE_PORT_RESERVATION", "SOCKADDR_IN", "SOCKADDR_IN6", "SOCKET", "SOCKET_ERROR",
    "SOL_SOCKET", "SO_EXCLUSIVEADDRUSE", "SO_REUSEADDR", "ULONG", "ULONG64", "USHORT",
    "WSADATA", "WSAOVERLAPPED", "WSATHREADID", "Prototype", "htonl", "htons", "ntohl",
    "ntohs",
]

# --- base types (Windows sizes on every OS) ----------------------------------------------
USHORT = ctypes.c_uint16
WORD = ctypes.c_uint16
ULONG = ctypes.c_uint32
DWORD = ctypes.c_uint32
INT = ctypes.c_int32
BOOL = ctypes.c_int32
ULONG64 = ctypes.c_uint64
ULONG_PTR = ctypes.c_size_t  # pointer-sized: 8 bytes on x86_64, 4 on x86
SOCKET = ctypes.c_size_t  # UINT_PTR
HANDLE = ctypes.c_void_p
LPVOID = ctypes.c_void_p

# --- constants ---------------------------------------------------------------------------
IOC_IN: Final = 0x80000000
IOC_VENDOR: Final = 0x18000000


def _wsaiow(group: int, number: int) -> int:
    return IOC_IN | group | number  # winsock2.h: #define _WSAIOW(x,y) (IOC_IN|(x)|(y))


SIO_ACQUIRE_PORT_RESERVATION: Final = _wsaiow(IOC_VENDOR, 100)  # 0x98000064
SIO_RELEASE_PORT_RESERVATION: Final = _wsaiow(IOC_VENDOR, 101)  # 0x98000065
SIO_ASSOCIATE_PORT_RESERVATION: Final = _wsaiow(IOC_VENDOR, 102)  # 0x98000066
#: mstcpip.h (Windows SDK, and mingw-w64 under NTDDI_VERSION >= NTDDI_WIN10_VB): msquic's
#: per-processor UDP sockets (datapath_winuser.c; dossier D-R29).  Its input is the processor
#: number as a USHORT ("API only supports 16-bit proc index"); it has no output.
SIO_CPU_AFFINITY: Final = _wsaiow(IOC_VENDOR, 21)  # 0x98000015
INVALID_PORT_RESERVATION_TOKEN: Final = 0
SOCKET_ERROR: Final = -1
INVALID_SOCKET: Final = 2 ** (8 * ctypes.sizeof(SOCKET)) - 1  # (SOCKET)(~0)
WSA_WAIT_EVENT_0: Final = 0
WSA_WAIT_IO_COMPLETION: Final = 0xC0
WSA_WAIT_TIMEOUT: Final = 258
WSA_INVALID_EVENT: Final = 0
# The constants the static-assert file checks by name, with the header that defines them.
# Codes the mingw-w64 headers do not define, so tests/test_abi.py cannot check them:
# ERROR_SUCCESS is spelled NO_ERROR there, and ERROR_ELEVATION_REQUIRED (740, what netsh
# reports to an unelevated prompt) is in the Windows SDK's winerror.h but not mingw-w64's.
_NOT_IN_MINGW: Final = frozenset({WinError.ERROR_SUCCESS, WinError.ERROR_ELEVATION_REQUIRED})
CONSTANTS: Final[dict[str, int]] = {
    "SIO_ACQUIRE_PORT_RESERVATION": SIO_ACQUIRE_PORT_RESERVATION,
    "SIO_RELEASE_PORT_RESERVATION": SIO_RELEASE_PORT_RESERVATION,
    "SIO_ASSOCIATE_PORT_RESERVATION": SIO_ASSOCIATE_PORT_RESERVATION,
    "SIO_CPU_AFFINITY": SIO_CPU_AFFINITY,
    "INVALID_PORT_RESERVATION_TOKEN": INVALID_PORT_RESERVATION_TOKEN,
    "SOCKET_ERROR": SOCKET_ERROR,
    "AF_INET": AF_INET,
    "AF_INET6": AF_INET6,
    "SOCK_STREAM": SOCK_STREAM,
    "SOCK_DGRAM": SOCK_DGRAM,
    "SOCK_RAW": SOCK_RAW,
    "IPPROTO_TCP": IPPROTO_TCP,
    "IPPROTO_UDP": IPPROTO_UDP,
    "IPPROTO_IPV6": IPPROTO_IPV6,
    "SOL_SOCKET": SOL_SOCKET,
    "SO_REUSEADDR": SO_REUSEADDR,
    "SO_EXCLUSIVEADDRUSE": SO_EXCLUSIVEADDRUSE,
    "IPV6_V6ONLY": IPV6_V6ONLY,
    "WSA_WAIT_IO_COMPLETION": WSA_WAIT_IO_COMPLETION,
    "WSA_WAIT_TIMEOUT": WSA_WAIT_TIMEOUT,
    **{code.name: int(code) for code in WinError if code not in _NOT_IN_MINGW},
}


def htons(value: int) -> int:
    """Host to network byte order for a 16-bit value (Windows is little-endian)."""
    return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)


ntohs = htons


def htonl(value: int) -> int:
    """Host to network byte order for a 32-bit value (sin6_flowinfo)."""
    return int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")


ntohl = htonl


# --- structures (mstcpip.h, winsock2.h, ws2def.h, ws2ipdef.h) ------------------------------
class INET_PORT_RANGE(ctypes.Structure):
    """``{USHORT StartPort (network byte order); USHORT NumberOfPorts;}``, 4 bytes."""

    _fields_ = (("StartPort", USHORT), ("NumberOfPorts", USHORT))


INET_PORT_RESERVATION = INET_PORT_RANGE  # typedef struct _INET_PORT_RANGE INET_PORT_RESERVATION


class INET_PORT_RESERVATION_TOKEN(ctypes.Structure):
    """``{ULONG64 Token;}``, 8 bytes."""

    _fields_ = (("Token", ULONG64),)


class INET_PORT_RESERVATION_INSTANCE(ctypes.Structure):
    """``{INET_PORT_RESERVATION Reservation; INET_PORT_RESERVATION_TOKEN Token;}``, 16 bytes.

    Microsoft's names; mingw's C header makes both members anonymous (same layout).
    """

    _fields_ = (("Reservation", INET_PORT_RESERVATION), ("Token", INET_PORT_RESERVATION_TOKEN))


class INET_PORT_RESERVATION_INFORMATION(ctypes.Structure):
    """``{ULONG OwningPid;}``, 4 bytes."""

    _fields_ = (("OwningPid", ULONG),)


class WSAOVERLAPPED(ctypes.Structure):
    """OVERLAPPED: Internal holds the status, InternalHigh the bytes transferred."""

    _fields_ = (("Internal", ULONG_PTR), ("InternalHigh", ULONG_PTR), ("Offset", DWORD),
                ("OffsetHigh", DWORD), ("hEvent", HANDLE))
    # ctypes cannot tell ULONG_PTR from ULONG64 (both c_uint64 on 64-bit Linux):
    # the fields whose size follows the pointer size are named here.
    _pointer_sized_ = ("Internal", "InternalHigh", "hEvent")


class WSATHREADID(ctypes.Structure):
    """The thread a service provider queues completion APCs to (WSPIoctl)."""

    _fields_ = (("ThreadHandle", HANDLE), ("Reserved", ULONG_PTR))
    _pointer_sized_ = ("ThreadHandle", "Reserved")


class SOCKADDR_IN(ctypes.Structure):
    """``sockaddr_in``: family, port (network order), IPv4 address, padding; 16 bytes."""

    _fields_ = (("sin_family", USHORT), ("sin_port", USHORT), ("sin_addr", ctypes.c_uint8 * 4),
                ("sin_zero", ctypes.c_char * 8))


class SOCKADDR_IN6(ctypes.Structure):
    """``sockaddr_in6``: family, port (network order), flow info, address, scope; 28 bytes."""

    _fields_ = (("sin6_family", USHORT), ("sin6_port", USHORT), ("sin6_flowinfo", ULONG),
                ("sin6_addr", ctypes.c_uint8 * 16), ("sin6_scope_id", ULONG))


_WSADESCRIPTION_LEN: Final = 256
_WSASYS_STATUS_LEN: Final = 128
_WSADATA_TEXT: Final = (("szDescription", ctypes.c_char * (_WSADESCRIPTION_LEN + 1)),
                        ("szSystemStatus", ctypes.c_char * (_WSASYS_STATUS_LEN + 1)))
_WSADATA_LIMITS: Final = (("iMaxSockets", USHORT), ("iMaxUdpDg", USHORT),
                          ("lpVendorInfo", ctypes.c_void_p))


class WSADATA(ctypes.Structure):
    """winsock2.h's WSADATA, laid out as on the running platform: on 64-bit Windows the
    limits and lpVendorInfo come before the two strings (408 bytes), on 32-bit after
    them (400 bytes).  Not in :data:`STRUCTS`: one class cannot be both layouts."""

    _fields_ = (("wVersion", WORD), ("wHighVersion", WORD),
                *((*_WSADATA_LIMITS, *_WSADATA_TEXT) if ctypes.sizeof(ctypes.c_void_p) == 8
                  else (*_WSADATA_TEXT, *_WSADATA_LIMITS)))


#: The structs the static-assert file checks: Python class -> C type name.
STRUCTS: Final[dict[str, type[ctypes.Structure]]] = {
    "INET_PORT_RANGE": INET_PORT_RANGE,
    "INET_PORT_RESERVATION": INET_PORT_RESERVATION,
    "INET_PORT_RESERVATION_TOKEN": INET_PORT_RESERVATION_TOKEN,
    "INET_PORT_RESERVATION_INSTANCE": INET_PORT_RESERVATION_INSTANCE,
    "INET_PORT_RESERVATION_INFORMATION": INET_PORT_RESERVATION_INFORMATION,
    "WSAOVERLAPPED": WSAOVERLAPPED,
    "WSATHREADID": WSATHREADID,
    "SOCKADDR_IN": SOCKADDR_IN,
    "SOCKADDR_IN6": SOCKADDR_IN6,
}

# --- prototypes ----------------------------------------------------------------------------
# WINAPI/WSAAPI is __stdcall on x86 and the one calling convention on x64.
if sys.platform == "win32":
    FUNCTYPE: Callable[..., Any] = ctypes.WINFUNCTYPE
else:
    FUNCTYPE = ctypes.CFUNCTYPE


#: void CALLBACK CompletionROUTINE(DWORD dwError, DWORD cbTransferred,
#:                                 LPWSAOVERLAPPED lpOverlapped, DWORD dwFlags)
COMPLETION_ROUTINE: Final = FUNCTYPE(None, DWORD, DWORD, ctypes.c_void_p, DWORD)
STATUS_SUCCESS: Final = 0
STATUS_PENDING: Final = 0x103


@attrs.frozen
class Prototype:
    """One exported function: its DLL, C result and parameter types, ctypes types.

    A parameter whose C type is a pointer or SOCKET is pointer-sized.
    """

    dll: str
    name: str
    restype: Any
    c_restype: str
    params: tuple[tuple[str, Any, str], ...]  # (name, ctypes type, C type)
    #: the C function-pointer type it must match, for a function no DLL exports
    #: (WSPIoctl is a service provider's entry point, reached through its table)
    spi_type: str = ""

    @property
    def argtypes(self) -> tuple[Any, ...]:
        """The ctypes argument types."""
        return tuple(p[1] for p in self.params)

    @property
    def functype(self) -> Any:
        """The ctypes function-pointer type (WINFUNCTYPE on Windows)."""
        return FUNCTYPE(self.restype, *self.argtypes)


_P = ctypes.c_void_p
_WS2 = "ws2_32"
_IPH = "iphlpapi"
_IOCTL_PARAMS: Final = (
    ("s", SOCKET, "SOCKET"), ("dwIoControlCode", DWORD, "DWORD"), ("lpvInBuffer", _P, "LPVOID"),
    ("cbInBuffer", DWORD, "DWORD"), ("lpvOutBuffer", _P, "LPVOID"), ("cbOutBuffer", DWORD, "DWORD"),
    ("lpcbBytesReturned", _P, "LPDWORD"), ("lpOverlapped", _P, "LPWSAOVERLAPPED"),
    ("lpCompletionRoutine", _P, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
)


def _persistent(verb: str, protocol: str) -> Prototype:
    params: tuple[tuple[str, Any, str], ...] = (("StartPort", USHORT, "USHORT"),
                                                ("NumberOfPorts", USHORT, "USHORT"))
    if verb != "Delete":
        params += (("Token", _P, "PULONG64"),)
    return Prototype(_IPH, f"{verb}Persistent{protocol}PortReservation", ULONG, "ULONG", params)


PROTOTYPES: Final[dict[str, Prototype]] = {
    p.name: p
    for p in (
        Prototype(_WS2, "WSAStartup", INT, "int", (("wVersionRequested", WORD, "WORD"),
                                                    ("lpWSAData", _P, "LPWSADATA"))),
        Prototype(_WS2, "WSACleanup", INT, "int", ()),
        Prototype(_WS2, "WSAGetLastError", INT, "int", ()),
        Prototype(_WS2, "socket", SOCKET, "SOCKET", (("af", INT, "int"), ("type", INT, "int"),
                                                      ("protocol", INT, "int"))),
        Prototype(_WS2, "bind", INT, "int", (("s", SOCKET, "SOCKET"),
                                             ("name", _P, "const struct sockaddr *"),
                                             ("namelen", INT, "int"))),
        Prototype(_WS2, "getsockname", INT, "int", (("s", SOCKET, "SOCKET"),
                                                    ("name", _P, "struct sockaddr *"),
                                                    ("namelen", _P, "int *"))),
        Prototype(_WS2, "connect", INT, "int", (("s", SOCKET, "SOCKET"),
                                                ("name", _P, "const struct sockaddr *"),
                                                ("namelen", INT, "int"))),
        Prototype(_WS2, "listen", INT, "int", (("s", SOCKET, "SOCKET"), ("backlog", INT, "int"))),
        Prototype(_WS2, "accept", SOCKET, "SOCKET", (("s", SOCKET, "SOCKET"),
                                                      ("addr", _P, "struct sockaddr *"),
                                                      ("addrlen", _P, "int *"))),
        Prototype(_WS2, "getpeername", INT, "int", (("s", SOCKET, "SOCKET"),
                                                    ("name", _P, "struct sockaddr *"),
                                                    ("namelen", _P, "int *"))),
        Prototype(_WS2, "setsockopt", INT, "int", (("s", SOCKET, "SOCKET"), ("level", INT, "int"),
                                                   ("optname", INT, "int"),
                                                   ("optval", _P, "const char *"),
                                                   ("optlen", INT, "int"))),
        Prototype(_WS2, "getsockopt", INT, "int", (("s", SOCKET, "SOCKET"), ("level", INT, "int"),
                                                   ("optname", INT, "int"),
                                                   ("optval", _P, "char *"),
                                                   ("optlen", _P, "int *"))),
        Prototype(_WS2, "closesocket", INT, "int", (("s", SOCKET, "SOCKET"),)),
        Prototype(_WS2, "WSAIoctl", INT, "int", _IOCTL_PARAMS),
        Prototype(_WS2, "WSPIoctl", INT, "int", (*_IOCTL_PARAMS, ("lpThreadId", _P, "LPWSATHREADID"),
                                                 ("lpErrno", _P, "LPINT")), spi_type="LPWSPIOCTL"),
        Prototype(_WS2, "WSACreateEvent", HANDLE, "WSAEVENT", ()),
        Prototype(_WS2, "WSACloseEvent", BOOL, "BOOL", (("hEvent", HANDLE, "WSAEVENT"),)),
        Prototype(_WS2, "WSASetEvent", BOOL, "BOOL", (("hEvent", HANDLE, "WSAEVENT"),)),
        Prototype(_WS2, "WSAResetEvent", BOOL, "BOOL", (("hEvent", HANDLE, "WSAEVENT"),)),
        Prototype(_WS2, "WSAWaitForMultipleEvents", DWORD, "DWORD", (
            ("cEvents", DWORD, "DWORD"), ("lphEvents", _P, "const WSAEVENT *"),
            ("fWaitAll", BOOL, "BOOL"), ("dwTimeout", DWORD, "DWORD"), ("fAlertable", BOOL, "BOOL"))),
        Prototype(_WS2, "WSAGetOverlappedResult", BOOL, "BOOL", (
            ("s", SOCKET, "SOCKET"), ("lpOverlapped", _P, "LPWSAOVERLAPPED"),
            ("lpcbTransfer", _P, "LPDWORD"), ("fWait", BOOL, "BOOL"), ("lpdwFlags", _P, "LPDWORD"))),
        *(_persistent(verb, proto) for verb in ("Create", "Lookup", "Delete")
          for proto in ("Tcp", "Udp")),
    )
}


def bind_prototypes(dll: Any, names: list[str]) -> dict[str, Any]:
    """Look up ``names`` in a loaded DLL and give each its argtypes/restype.

    Returns:
        name -> callable; a name the DLL does not export maps to ``None`` (old
        Windows, Wine), so the caller can raise a clear ERROR_PROC_NOT_FOUND.
    """
    out: dict[str, Any] = {}
    for name in names:
        proto = PROTOTYPES[name]
        try:
            fn = getattr(dll, name)
        except AttributeError:
            out[name] = None
            continue
        fn.argtypes = proto.argtypes
        fn.restype = proto.restype
        out[name] = fn
    return out
