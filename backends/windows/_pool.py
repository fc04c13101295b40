"""``WindowsPool``: ctypes calls shaped exactly as a C program makes them.

How the Windows semantics are relied on (rule ids of specs/semantics.md):

* Winsock calls report failure by their return value (SOCKET_ERROR, INVALID_SOCKET)
  and the code through WSAGetLastError, per thread (B5); IP Helper calls return the
  code itself (B12).  ``WindowsPool._check`` is the one place either becomes a
  :class:`PortPoolError`.
* StartPort crosses the ABI in network byte order (B4, B12); this adapter converts,
  so the interface speaks host order like the emulated backend.
* A Python value that cannot be put in the C argument (a port of 70000, a string
  token) is passed the way C would make the call fail (a zero buffer size, a NULL
  sockaddr), so the DLL, real or emulated, gives Windows' own code (B1, B3, B7).
* A closed socket's handle may be reused by Windows, so calls on a closed
  WindowsSocket pass INVALID_SOCKET and get WSAENOTSOCK (R9b).
* A function the DLL does not export (Wine, old Windows) is refused when called,
  with ERROR_PROC_NOT_FOUND (B14).
* WSACleanup is reference-counted: "There must be a call to WSACleanup for each
  successful call to WSAStartup.  Only the final WSACleanup function call performs the
  actual cleanup" (learn.microsoft.com/windows/win32/api/winsock/nf-winsock-wsacleanup).
  CPython's own ``socket`` module holds a WSAStartup of its own for the life of the
  process (Modules/socketmodule.c, ``os_init``), so the pool's WSACleanup is never the
  final one: ``close()`` closes the sockets the pool opened itself (closesocket, then
  WSACleanup, the order that page gives), and the pool and its sockets answer
  WSANOTINITIALISED afterwards, as after a final WSACleanup (B13).
* setsockopt sends an int value as a 4-byte little-endian C int and bytes as they are,
  as Python's socket does; getsockopt reads a 4-byte int (O1-O7).
  set_cpu_affinity is WSAIoctl(SIO_CPU_AFFINITY) with a USHORT, as msquic calls it (C19).
"""

from __future__ import annotations

import ctypes
import ipaddress
import socket as _pysocket
import sys
from typing import Any, final

from portpool._arguments import (
    check_address,
    check_int,
    check_option,
    check_processor,
    check_socket_args,
)
from portpool._errors import PortPoolError, WinError, shown, winerror
from portpool._interface import Address, PortPool, Socket
from portpool._model._rules import refuse
from portpool._types import (
    AF_INET,
    MAX_PORT,
    SOCK_STREAM,
    Family,
    PortRange,
    Protocol,
    Reservation,
    address_text,
    parse_host,
)
from portpool._winsock import _abi

__all__ = ["WindowsPool", "WindowsSocket"]

_WS2_NAMES = ["WSAStartup", "WSACleanup", "WSAGetLastError", "socket", "bind", "getsockname",
              "connect", "listen", "accept", "getpeername", "setsockopt", "getsockopt",
              "closesocket", "WSAIoctl"]
_IPH_NAMES = [n for n, p in _abi.PROTOTYPES.items() if p.dll == "iphlpapi"]
_AF_UNSPEC = 0
_SO_TYPE = 0x1008  # winsock2.h: getsockopt tells the type the provider chose (W13)


def _is_ushort(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PORT


def _dll_pair(dlls: object) -> tuple[Any, Any]:
    """``dlls`` as ``(ws2_32, iphlpapi)``: any pair (an ``EmulatedDlls`` unpacks as one)."""
    if not isinstance(dlls, (str, bytes)):
        pair: Any = dlls
        try:
            ws2, iph = pair
        except (TypeError, ValueError):
            pass
        else:
            return ws2, iph
    raise TypeError(f"dlls must be a (ws2_32, iphlpapi) pair or None, not {type(dlls).__name__}")


def _load_real_dlls() -> tuple[Any, Any]:
    if sys.platform == "win32":
        return ctypes.WinDLL("ws2_32", use_last_error=True), ctypes.WinDLL("iphlpapi")
    raise winerror(WinError.ERROR_NOT_SUPPORTED,
                   "the real ws2_32/iphlpapi exist only on Windows;"
                   " use WindowsPool(dlls=EmulatedHost().dlls()) elsewhere")


@final
class WindowsPool(PortPool):
    """A process's port pool through ctypes.

    Args:
        dlls: a ``(ws2_32, iphlpapi)`` pair: ``EmulatedHost.dlls()``, or ``None`` for
            the real DLLs (Windows only).

    Raises:
        TypeError: ``dlls`` is neither ``None`` nor a pair.
        PortPoolError: ERROR_NOT_SUPPORTED off Windows without ``dlls``;
            ERROR_PROC_NOT_FOUND if ``ws2_32`` exports no WSAStartup (B14); the code of
            WSAStartup if it fails.
    """

    def __init__(self, dlls: Any = None) -> None:
        self.dlls = dlls
        ws2, iph = _load_real_dlls() if dlls is None else _dll_pair(dlls)
        # The emulated DLLs also say why a call failed; real ones do not.
        self._details = [getattr(dll, "details", None) for dll in (ws2, iph)]
        self._ws2 = _abi.bind_prototypes(ws2, _WS2_NAMES)
        self._iph = _abi.bind_prototypes(iph, _IPH_NAMES)
        if self._ws2["WSAStartup"] is None:
            raise refuse("B14", "ws2_32 exports no WSAStartup")
        data = _abi.WSADATA()
        code = self._ws2["WSAStartup"](0x0202, ctypes.byref(data))
        if code:
            raise winerror(code, "WSAStartup failed")
        self._started = True
        # The sockets this pool opened (not adopted ones), by handle: close() closes
        # them itself, since its WSACleanup is not the process's last (B13).
        self._own: dict[int, WindowsSocket] = {}

    @classmethod
    def open(cls, *, dlls: Any = None) -> WindowsPool:
        """``open_pool("windows", dlls=...)``."""
        return cls(dlls)

    def __repr__(self) -> str:
        where = "real DLLs" if self.dlls is None else repr(self.dlls)
        return f"<WindowsPool over {where}>"

    # --- the one error mapping -------------------------------------------------------

    def _call(self, name: str, *args: Any) -> Any:
        if not self._started:  # this pool's WSACleanup is done, whoever else holds Winsock
            raise refuse("B13", f"{name} after this pool's close() (its WSACleanup)")
        fn = self._ws2.get(name) or self._iph.get(name)
        if fn is None:
            raise refuse("B14", f"{name} is not exported by this DLL")
        return fn(*args)

    def _check(self, name: str, result: int, failure: int | None, detail: str) -> int:
        """The one place a DLL's answer becomes a :class:`PortPoolError`.

        Winsock (``failure`` given): that return value means the code is in
        WSAGetLastError (B5).  IP Helper (``failure`` is ``None``): a non-zero result
        is the code itself (B12).  The emulated DLLs also say why; real ones do not.
        """
        if failure is None:
            code, dll = result, 1
        elif result == failure:
            code, dll = self._call("WSAGetLastError"), 0
        else:
            return result
        if code == 0 and failure is None:
            return result  # NO_ERROR
        details = self._details[dll]
        why = details.text if details is not None and details.text else f"{name}: {detail}"
        if code == 0:  # a Winsock failure that set no code: still a failure
            why += " (the DLL failed without setting WSAGetLastError)"
        raise winerror(code, why)

    # --- the interface ---------------------------------------------------------------

    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM,  # noqa: A002 - socket's own name
               proto: int = 0) -> WindowsSocket:
        """See :meth:`portpool.PortPool.socket`.

        Raises:
            TypeError: an argument is not an int (Python decides, as for the emulated
                backend).
            OverflowError: an argument does not fit the C int of ``socket()``.
            PortPoolError: what Windows says: WSAEAFNOSUPPORT (W6), WSAESOCKTNOSUPPORT
                (W7), WSAEPROTONOSUPPORT / WSAEPROTOTYPE, WSANOTINITIALISED after close.
        """
        family, type, proto = check_socket_args(family, type, proto)  # noqa: A001 - socket's names
        fam = Family.from_value(family)
        wire_family = int(fam) if fam is not None else family
        handle = self._check("socket", self._call("socket", wire_family, type, proto),
                             _abi.INVALID_SOCKET, f"family {family}, type {type}, proto {proto}")
        if fam is None and family == _AF_UNSPEC:
            fam = Family.INET  # W13: AF_UNSPEC with a protocol gives the IPv4 provider's socket
        if fam is None:  # a family Windows has (AF_UNIX, AF_BTH) but without ports: W6
            self._call("closesocket", handle)
            raise refuse("W6", f"address family {family} has no port pool")
        if type == 0:  # W13: the provider chose the type; ask the socket (SO_TYPE)
            kind = _abi.INT(0)
            size = ctypes.c_int32(ctypes.sizeof(kind))
            if self._call("getsockopt", handle, _abi.SOL_SOCKET, _SO_TYPE, ctypes.byref(kind),
                          ctypes.byref(size)) == 0:
                type = int(kind.value)  # noqa: A001 - socket's name
        sock = WindowsSocket(self, handle, fam, type, None)
        self._own[handle] = sock  # closed by close(), before WSACleanup (B13)
        return sock

    def adopt(self, sock: _pysocket.socket) -> WindowsSocket:
        """Use the port-pool calls on an existing Python socket (by its handle).

        The Python socket keeps ownership: closing the returned object closes it.
        Only meaningful over the real DLLs on Windows.

        Args:
            sock: a :class:`socket.socket` (AF_INET or AF_INET6).

        Raises:
            TypeError: ``sock`` is not a :class:`socket.socket`.
            PortPoolError: WSAEAFNOSUPPORT if its family has no ports (rule W6).
        """
        if not isinstance(sock, _pysocket.socket):
            raise TypeError(f"adopt(): sock must be a socket.socket, not {type(sock).__name__}")
        fam = Family.from_value(int(sock.family))
        if fam is None:
            raise refuse("W6", f"address family {int(sock.family)} has no port pool")
        return WindowsSocket(self, sock.fileno(), fam, int(sock.type), sock)

    def _persistent(self, verb: str, protocol: object, start: object, count: object,
                    token: Any = None) -> None:
        protocol = check_int(protocol, "protocol")
        start, count = check_int(start, "start"), check_int(count, "count")
        if protocol not in (Protocol.TCP, Protocol.UDP):
            raise refuse("R13a", f"protocol {shown(protocol)} is neither TCP (6) nor UDP (17)")
        name = f"{verb}Persistent{Protocol(protocol).name.title()}PortReservation"
        # A value C cannot carry goes as 0, which Windows refuses (R13a).
        wire_start = _abi.htons(start) if _is_ushort(start) else 0
        wire_count = count if _is_ushort(count) else 0
        args = (wire_start, wire_count) + ((ctypes.byref(token),) if token is not None else ())
        self._check(name, self._call(name, *args), None, f"{shown(start)}+{shown(count)}")

    def create_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.create_persistent_reservation`."""
        token = _abi.ULONG64()
        self._persistent("Create", protocol, start, count, token)
        return int(token.value)

    def lookup_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.lookup_persistent_reservation`."""
        token = _abi.ULONG64()
        self._persistent("Lookup", protocol, start, count, token)
        return int(token.value)

    def delete_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> None:
        """See :meth:`portpool.PortPool.delete_persistent_reservation`."""
        self._persistent("Delete", protocol, start, count)

    def close(self) -> None:
        """Close the sockets this pool opened, then WSACleanup (once).

        WSACleanup closes a process's sockets only when it is the process's final one
        (B13), and in a Python process it never is: the ``socket`` module holds its own
        WSAStartup.  So the pool closes its own sockets first (closesocket; adopted
        Python sockets stay Python's), and afterwards every call on the pool or its
        sockets fails with WSANOTINITIALISED, as after a final WSACleanup.

        Closing twice is harmless, and so is closing after the process's Winsock was
        cleaned up already (WSANOTINITIALISED).

        Raises:
            PortPoolError: a closesocket failed (WSAENETDOWN, WSAEINPROGRESS, WSAEINTR)
                or WSACleanup failed (WSAENETDOWN, WSAEINPROGRESS): the pool stays open,
                the sockets not yet closed stay open, and ``close()`` may be called again.
        """
        if not self._started:
            return
        for handle in sorted(self._own):
            self._own[handle].close()  # forgets it; raises (and keeps it) if closesocket fails
        try:
            self._check("WSACleanup", self._call("WSACleanup"), _abi.SOCKET_ERROR, "")
        except PortPoolError as exc:
            if exc.code is not WinError.WSANOTINITIALISED:
                raise
        self._started = False

    def _forget(self, handle: int) -> None:
        """A socket of this pool was closed by its own close()."""
        self._own.pop(handle, None)


@final
class WindowsSocket(Socket):
    """A SOCKET handle driven through ctypes."""

    __slots__ = ("_closed", "_handle", "_owner", "_pool")

    def __init__(self, pool: WindowsPool, handle: int, family: Family, kind: int,
                 owner: _pysocket.socket | None) -> None:
        self._pool, self._handle, self._family, self._type = pool, handle, family, kind
        self._owner = owner
        self._closed = False

    def __repr__(self) -> str:
        return f"<WindowsSocket handle={self.fileno():#x}>"

    def _h(self) -> int:
        return _abi.INVALID_SOCKET if self._closed else self._handle

    def _ioctl(self, what: str, code: int, in_buf: Any, in_size: int, out_buf: Any,
               out_size: int) -> int:
        returned = _abi.DWORD()
        result = self._pool._call(
            "WSAIoctl", self._h(), code, ctypes.byref(in_buf), in_size,
            ctypes.byref(out_buf) if out_buf is not None else None, out_size,
            ctypes.byref(returned), None, None)
        self._pool._check("WSAIoctl", result, _abi.SOCKET_ERROR, what)
        return int(returned.value)

    def acquire_port_reservation(self, start: int, count: int) -> Reservation:
        """See :meth:`portpool.Socket.acquire_port_reservation`."""
        start, count = check_int(start, "start"), check_int(count, "count")
        fits = _is_ushort(start) and _is_ushort(count)
        request = _abi.INET_PORT_RANGE(_abi.htons(start) if fits else 0, count if fits else 0)
        out = _abi.INET_PORT_RESERVATION_INSTANCE()
        self._ioctl(f"SIO_ACQUIRE_PORT_RESERVATION {shown(start)}+{shown(count)}",
                    _abi.SIO_ACQUIRE_PORT_RESERVATION, request,
                    ctypes.sizeof(request) if fits else 0, out, ctypes.sizeof(out))
        token = int(out.Token.Token)
        protocol = self.protocol
        if protocol is None:  # a type Windows gave ports that Python cannot name: give them back
            self._token_ioctl("SIO_RELEASE_PORT_RESERVATION", _abi.SIO_RELEASE_PORT_RESERVATION,
                              token)
            raise refuse("R9a", f"socket type {self._type} is neither SOCK_STREAM nor SOCK_DGRAM")
        block = PortRange(_abi.ntohs(out.Reservation.StartPort), out.Reservation.NumberOfPorts)
        return Reservation(token, protocol, block, False)

    def _token_ioctl(self, what: str, code: int, token: object) -> None:
        token = check_int(token, "token")
        fits = 0 <= token < 2**64
        buf = _abi.INET_PORT_RESERVATION_TOKEN(token if fits else 0)
        self._ioctl(f"{what} {shown(token)}", code, buf, ctypes.sizeof(buf) if fits else 0, None, 0)

    def associate_port_reservation(self, token: int) -> None:
        """See :meth:`portpool.Socket.associate_port_reservation`."""
        self._token_ioctl("SIO_ASSOCIATE_PORT_RESERVATION", _abi.SIO_ASSOCIATE_PORT_RESERVATION,
                          token)

    def release_port_reservation(self, token: int) -> None:
        """See :meth:`portpool.Socket.release_port_reservation`."""
        self._token_ioctl("SIO_RELEASE_PORT_RESERVATION", _abi.SIO_RELEASE_PORT_RESERVATION, token)

    def bind(self, address: Address) -> None:
        """See :meth:`portpool.Socket.bind`."""
        check_address(address, self._family)  # what Python decides: types and widths
        name = _sockaddr(address, self._family)
        size = ctypes.sizeof(name) if name is not None else 0
        result = self._pool._call("bind", self._h(), ctypes.byref(name) if name is not None else None,
                                  size)
        self._pool._check("bind", result, _abi.SOCKET_ERROR, repr(address))

    def getsockname(self) -> Address:
        """See :meth:`portpool.Socket.getsockname`."""
        return self._name("getsockname")

    def _name(self, function: str) -> Address:
        """getsockname or getpeername into a buffer that holds either family."""
        buf = _abi.SOCKADDR_IN6()
        size = ctypes.c_int32(ctypes.sizeof(buf))
        result = self._pool._call(function, self._h(), ctypes.byref(buf), ctypes.byref(size))
        self._pool._check(function, result, _abi.SOCKET_ERROR, "")
        if buf.sin6_family == _abi.AF_INET:
            sin = _abi.SOCKADDR_IN.from_buffer(buf)
            return (str(ipaddress.IPv4Address(bytes(sin.sin_addr))), _abi.ntohs(sin.sin_port))
        host = address_text(ipaddress.IPv6Address(bytes(buf.sin6_addr)))
        # flowinfo crosses the ABI in network byte order; Python's getsockname gives
        # ntohl(sin6_flowinfo) (Modules/socketmodule.c, makesockaddr)
        return (host, _abi.ntohs(buf.sin6_port), _abi.ntohl(buf.sin6_flowinfo),
                buf.sin6_scope_id)

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        """See :meth:`portpool.Socket.setsockopt`.

        Raises:
            TypeError, OverflowError: what Python's socket refuses (``check_option``).
            PortPoolError: what the DLL says: WSAENOPROTOOPT (O1), WSAEINVAL (O2, O4, O5,
                O8, O9), WSAEFAULT (too few bytes for the option: O3), WSAENOTSOCK (closed:
                R9b).
        """
        level, option, data = check_option(level, option, value)
        # A non-NULL buffer even for b"": Python's socket passes the bytes' own pointer.
        buf = ctypes.create_string_buffer(data, max(len(data), 1))
        result = self._pool._call("setsockopt", self._h(), level, option, buf, len(data))
        self._pool._check("setsockopt", result, _abi.SOCKET_ERROR,
                          f"level {level}, option {option}, {len(data)} bytes")

    def getsockopt(self, level: int, option: int) -> int:
        """See :meth:`portpool.Socket.getsockopt`: the value the DLL writes, as a DWORD.

        Raises:
            TypeError, OverflowError: a level or option that is not a C int.
            PortPoolError: WSAENOPROTOOPT (O1), WSAEINVAL (O2), WSAENOTSOCK (R9b).
        """
        level, option, _ = check_option(level, option, 0, "getsockopt")
        value = _abi.DWORD(0)  # an option is a BOOL, a DWORD or narrower (O1, O3, B18)
        size = ctypes.c_int32(ctypes.sizeof(value))
        result = self._pool._call("getsockopt", self._h(), level, option, ctypes.byref(value),
                                  ctypes.byref(size))
        self._pool._check("getsockopt", result, _abi.SOCKET_ERROR,
                          f"level {level}, option {option}")
        return int(value.value)

    def connect(self, address: Address) -> None:
        """See :meth:`portpool.Socket.connect`; the sockaddr is made as for :meth:`bind`."""
        check_address(address, self._family, "connect")
        name = _sockaddr(address, self._family)
        size = ctypes.sizeof(name) if name is not None else 0
        result = self._pool._call("connect", self._h(),
                                  ctypes.byref(name) if name is not None else None, size)
        self._pool._check("connect", result, _abi.SOCKET_ERROR, repr(address))

    def listen(self, backlog: int = 128) -> None:
        """See :meth:`portpool.Socket.listen`.

        Raises:
            TypeError, OverflowError: ``backlog`` is not an int, or not a C int.
        """
        number = check_int(backlog, "backlog")
        if not -2**31 <= number < 2**31:
            raise OverflowError(f"backlog {number} does not fit a C int")
        result = self._pool._call("listen", self._h(), number)
        self._pool._check("listen", result, _abi.SOCKET_ERROR, f"backlog {number}")

    def accept(self) -> tuple[WindowsSocket, Address]:
        """See :meth:`portpool.Socket.accept`: accept into a buffer that holds either
        family; the new SOCKET is driven through the same DLLs."""
        buf = _abi.SOCKADDR_IN6()
        size = ctypes.c_int32(ctypes.sizeof(buf))
        handle = self._pool._call("accept", self._h(), ctypes.byref(buf), ctypes.byref(size))
        handle = self._pool._check("accept", handle, _abi.INVALID_SOCKET, "")
        if buf.sin6_family == _abi.AF_INET:
            sin = _abi.SOCKADDR_IN.from_buffer(buf)
            peer: Address = (str(ipaddress.IPv4Address(bytes(sin.sin_addr))),
                             _abi.ntohs(sin.sin_port))
        else:
            peer = (address_text(ipaddress.IPv6Address(bytes(buf.sin6_addr))),
                    _abi.ntohs(buf.sin6_port), buf.sin6_flowinfo, buf.sin6_scope_id)
        return WindowsSocket(self._pool, handle, self._family, self._type, None), peer

    def getpeername(self) -> Address:
        """See :meth:`portpool.Socket.getpeername`."""
        return self._name("getpeername")

    def set_cpu_affinity(self, processor: int) -> None:
        """See :meth:`portpool.Socket.set_cpu_affinity`: WSAIoctl(SIO_CPU_AFFINITY) with
        the processor number as a USHORT, no output (msquic's call).

        Raises:
            TypeError, OverflowError: not an int, or outside 0-65535 (``check_processor``).
            PortPoolError: WSAEOPNOTSUPP (TCP: B8; raw: R9a); WSAENOTSOCK (R9b).
        """
        number = _abi.USHORT(check_processor(processor))
        self._ioctl(f"SIO_CPU_AFFINITY {shown(processor)}", _abi.SIO_CPU_AFFINITY, number,
                    ctypes.sizeof(number), None, 0)

    def close(self) -> None:
        """closesocket (once); an adopted Python socket is closed by Python.

        The socket counts as closed only once closesocket succeeded (or WSACleanup
        closed it already: WSANOTINITIALISED, B13); closing twice is harmless.

        Raises:
            PortPoolError: closesocket failed (WSAENETDOWN, WSAEINPROGRESS, WSAEINTR,
                WSAENOTSOCK): the socket stays open, its handle and blocks kept, and
                ``close()`` may be called again.
            OSError: closing an adopted Python socket failed (Python's own error).
        """
        if self._closed:
            return
        if self._owner is not None:
            self._owner.close()
            self._closed = True
            return
        try:
            result = self._pool._call("closesocket", self._handle)
            self._pool._check("closesocket", result, _abi.SOCKET_ERROR, "")
        except PortPoolError as exc:
            if exc.code is not WinError.WSANOTINITIALISED:  # WSACleanup closed it already
                raise
        self._closed = True
        self._pool._forget(self._handle)

    def fileno(self) -> int:
        """The SOCKET handle, or -1 once closed."""
        return -1 if self._closed else self._handle


def _sockaddr(address: object, family: Family) -> Any:
    """Python's address tuple as a sockaddr, or ``None`` (a NULL name: WSAEFAULT, B3)."""
    if not isinstance(address, tuple) or len(address) < 2:
        return None
    host, port = address[0], address[1]
    if not isinstance(host, str) or not _is_ushort(port):
        return None
    parsed = parse_host(host, family)  # the model's own parser (W4)
    if parsed is None or (family is Family.INET and len(address) != 2) or len(address) > 4:
        return None
    packed = parsed.packed
    if family is Family.INET:
        sin = _abi.SOCKADDR_IN(_abi.AF_INET, _abi.htons(port))
        sin.sin_addr[:] = list(packed)
        return sin
    sin6 = _abi.SOCKADDR_IN6(_abi.AF_INET6, _abi.htons(port))
    sin6.sin6_addr[:] = list(packed)
    # As CPython's socket module fills it (Modules/socketmodule.c, getsockaddrarg):
    # sin6_flowinfo in network byte order (htonl), sin6_scope_id as given.  A link-local
    # bind needs its scope id: Windows cannot pick the interface from fe80::/10 alone.
    flowinfo, scope_id = (*address[2:], 0, 0)[:2]
    if not _is_uint32(flowinfo) or not _is_uint32(scope_id):
        return None
    sin6.sin6_flowinfo = _abi.htonl(flowinfo)
    sin6.sin6_scope_id = scope_id
    return sin6


def _is_uint32(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32
