"""The ``socket`` half of :func:`portpool.patch`: Python sockets as sockets of the
patch's emulated process, with a real kernel socket behind each for the traffic.

Every AF_INET/AF_INET6 TCP or UDP socket made while the patch is active is two
sockets: an emulated one in the patch's process (bind, getsockname, the options the
model knows, connect, getpeername, close and ``fileno()``, which is the emulated SOCKET
handle, go there, so the port pool's rules decide) and a kernel socket, bound to an
ephemeral port of the loopback address whenever the emulated one is bound.  The patch
keeps the map emulated ``(protocol, address, port)`` -> kernel loopback port, so a
connect or sendto to an emulated address and port reaches the kernel socket behind the
emulated socket bound there: listen/accept/send/recv/sendto/recvfrom carry real bytes.
Addresses coming back from the kernel (accept, recvfrom) are mapped back to emulated
ones.  The emulated machine has no network beyond itself: a TCP connect to an address
and port no patched socket is bound to is refused (WSAECONNREFUSED 10061), UDP
datagrams to one are dropped.
"""

from __future__ import annotations

import _socket
import ipaddress
import os
import socket as _std
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Self

from .._arguments import check_address
from .._errors import PortPoolError
from .._types import Family, Protocol
from ._oserror import ERRNO_TO_WINERROR, os_error, os_error_from

if TYPE_CHECKING:
    from .._host import EmulatedProcess
    from .._interface import Socket

__all__ = ["PatchedSocket", "SocketPatch"]

_RealSocket = _std.socket
#: Windows' value (winsock2.h: ((int)(~SO_REUSEADDR))), used where the platform has none.
SO_EXCLUSIVEADDRUSE: Final[int] = int(getattr(_std, "SO_EXCLUSIVEADDRUSE", -5))
_WIN_SOL_SOCKET: Final = 0xFFFF
_WIN_IPPROTO_IPV6: Final = 41
#: (running platform's level, option) -> Windows' (level, option), for the options the model knows.
OPTIONS: Final[dict[tuple[int, int], tuple[int, int]]] = {
    (_std.SOL_SOCKET, _std.SO_REUSEADDR): (_WIN_SOL_SOCKET, 4),
    (_std.SOL_SOCKET, SO_EXCLUSIVEADDRUSE): (_WIN_SOL_SOCKET, -5),
    (_std.IPPROTO_IPV6, _std.IPV6_V6ONLY): (_WIN_IPPROTO_IPV6, 27),
}
_TYPE_FLAGS: Final = getattr(_std, "SOCK_NONBLOCK", 0) | getattr(_std, "SOCK_CLOEXEC", 0)
_LOOPBACK: Final = {Family.INET: "127.0.0.1", Family.INET6: "::1"}
_WILDCARD: Final = {Family.INET: "0.0.0.0", Family.INET6: "::"}

_active: SocketPatch | None = None


class _Bound:
    """One emulated bound socket with its kernel twin."""

    __slots__ = ("family", "host", "port", "protocol", "real")

    def __init__(self, protocol: Protocol, family: Family, host: str, port: int,
                 real: tuple[Any, ...] | None) -> None:
        self.protocol, self.family, self.host, self.port, self.real = protocol, family, host, port, real


class SocketPatch:
    """The ``socket`` module's replacements for one patched process, and its port map."""

    def __init__(self, pool: EmulatedProcess) -> None:
        self.pool = pool
        self.lock = threading.Lock()
        self.bound: dict[int, _Bound] = {}  # id(PatchedSocket) -> its binding
        self.by_kernel_port: dict[tuple[Protocol, int], _Bound] = {}
        self.dialed: dict[tuple[Protocol, int], str] = {}  # client kernel port -> emulated host
        self.sockets: weakref.WeakSet[_RealSocket] = weakref.WeakSet()
        self._saved: dict[str, object] = {}

    def install(self) -> None:
        """Replace ``socket.socket`` and ``socket.create_server``; add SO_EXCLUSIVEADDRUSE."""
        global _active  # noqa: PLW0603 - the patch is process-global by design
        for name in ("socket", "create_server", "SO_EXCLUSIVEADDRUSE"):
            self._saved[name] = getattr(_std, name, None)
        _std.socket = PatchedSocket  # type: ignore[misc]
        _std.create_server = create_server
        _std.SO_EXCLUSIVEADDRUSE = SO_EXCLUSIVEADDRUSE  # type: ignore[attr-defined,misc,unused-ignore]
        _active = self

    def uninstall(self) -> None:
        """Put back what :meth:`install` replaced."""
        global _active  # noqa: PLW0603 - the patch is process-global by design
        for name, value in self._saved.items():
            if value is None:
                if hasattr(_std, name):
                    delattr(_std, name)
            else:
                setattr(_std, name, value)
        self._saved.clear()
        _active = None

    def close_all(self) -> None:
        """Close every socket made under the patch (the process ends: R4)."""
        for sock in list(self.sockets):
            sock.close()

    # --- the port map -------------------------------------------------------------------

    def register(self, owner: object, entry: _Bound) -> None:
        with self.lock:
            self.bound[id(owner)] = entry
            if entry.real is not None:
                self.by_kernel_port[(entry.protocol, int(entry.real[1]))] = entry

    def unregister(self, owner: object) -> None:
        with self.lock:
            entry = self.bound.pop(id(owner), None)
            if entry is not None and entry.real is not None:
                key = (entry.protocol, int(entry.real[1]))
                self.by_kernel_port.pop(key, None)
                self.dialed.pop(key, None)

    def kernel_target(self, protocol: Protocol, family: Family, host: str,
                      port: int) -> tuple[Any, ...] | None:
        """The kernel address behind the emulated ``(host, port)``: a socket bound to that
        address, else one bound to the wildcard address of the family."""
        with self.lock:
            candidates = [b for b in self.bound.values() if b.protocol is protocol
                          and b.family is family and b.port == port and b.real is not None]
        for wanted in (host, _WILDCARD[family]):
            for entry in candidates:
                if entry.host == wanted:
                    return entry.real
        return None

    def emulated_address(self, protocol: Protocol, real: tuple[Any, ...],
                         family: Family) -> tuple[Any, ...]:
        """The emulated address of the socket behind kernel address ``real``."""
        with self.lock:
            entry = self.by_kernel_port.get((protocol, int(real[1])))
            dialed = self.dialed.get((protocol, int(real[1])))
        if entry is None:
            return real
        host = entry.host
        if host == _WILDCARD[family]:
            host = dialed if dialed is not None else _LOOPBACK[family]
        return (host, entry.port) if family is Family.INET else (host, entry.port, 0, 0)


def _literal(host: str, family: Family) -> bool:
    """Whether ``host`` is an address literal of ``family`` (CPython's ``inet_pton`` check;
    an IPv6 literal with a ``%scope`` is taken as one too)."""
    try:
        if family is Family.INET:
            ipaddress.IPv4Address(host)
        else:
            ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(host: object, family: Family) -> object:
    """Python's own handling of a host before bind/connect/sendto (CPython's ``setipaddr``).

    ``""`` is the family's wildcard, ``"<broadcast>"``/``"255.255.255.255"`` IPv4's
    broadcast, a literal of the socket's family stays as it is, ``"localhost"`` is the
    family's loopback; anything else, an address of the other family included, goes to the
    running platform's resolver, as Python sends it there.

    Raises:
        socket.gaierror: the resolver's, unchanged, as Python raises it (Windows: 11001
            WSAHOST_NOT_FOUND, also for an IPv4 literal on an AF_INET6 socket; glibc:
            EAI_NONAME -2, EAI_ADDRFAMILY -9).
        OSError: ``"address family mismatched"`` for the broadcast on AF_INET6, as CPython.
        TypeError: a host with a NUL character, as CPython.
        UnicodeError: a non-ASCII name IDNA cannot encode, as CPython.
    """
    if not isinstance(host, str):
        return host
    if "\0" in host:
        raise TypeError("host name must not contain null character")
    if host == "":
        return _WILDCARD[family]
    if host in ("<broadcast>", "255.255.255.255"):
        if family is not Family.INET:
            raise OSError("address family mismatched")
        return "255.255.255.255"
    if _literal(host, family):
        return host
    if host.lower() == "localhost":
        return _LOOPBACK[family]
    real_family = _std.AF_INET if family is Family.INET else _std.AF_INET6
    name = host.encode("ascii") if host.isascii() else host.encode("idna")
    # No except: a name the resolver cannot resolve is socket.gaierror before bind or
    # connect runs, as in Python, not an address for the model to refuse.
    return str(_std.getaddrinfo(name, None, real_family)[0][4][0])


def _routable(address: Any) -> bool:
    """A peer the model would not refuse before the network (K3, W4): a literal address
    that is not the wildcard, and a port that is not 0."""
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    except (ValueError, IndexError, TypeError):
        return False
    return type(address[1]) is int and 0 < address[1] <= 0xFFFF and not ip.is_unspecified


def _canonical(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host


@contextmanager
def _kernel() -> Iterator[None]:
    """Kernel errors of carried traffic, as Python on Windows reports them."""
    try:
        yield
    except OSError as exc:
        code = ERRNO_TO_WINERROR.get(exc.errno or 0)
        if code is None or getattr(exc, "winerror", None) is not None:
            raise
        raise os_error(code, f"kernel: {exc}") from None


class _SocketClass(type):
    """``isinstance(x, socket.socket)`` stays true for sockets made before the patch (and for
    ``ssl.SSLSocket``), while ``socket.socket`` is :class:`PatchedSocket`."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _RealSocket)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _RealSocket)


class PatchedSocket(_RealSocket, metaclass=_SocketClass):
    """``socket.socket`` while :func:`portpool.patch` is active (see the module docstring).

    A socket made from an existing descriptor (``fileno=``: accept, socketpair, fromfd)
    and any socket that is not AF_INET/AF_INET6 TCP/UDP is a plain kernel socket.
    """

    def __init__(self, family: int = -1, type: int = -1,  # noqa: A002 - socket's own names
                 proto: int = -1, fileno: int | None = None) -> None:
        self._pp_session = _active
        self._pp_emulated: Socket | None = None
        self._pp_local: tuple[Any, ...] | None = None  # an accepted socket's emulated ends
        self._pp_peer: tuple[Any, ...] | None = None
        self._pp_dropped = False  # a UDP socket connected to an address nothing holds
        real_family = _std.AF_INET if family == -1 else family
        kind = _std.SOCK_STREAM if type == -1 else type
        session = self._pp_session
        if (fileno is None and session is not None and real_family in (_std.AF_INET, _std.AF_INET6)
                and isinstance(kind, int) and kind & ~_TYPE_FLAGS in (_std.SOCK_STREAM, _std.SOCK_DGRAM)):
            winsock_family = 2 if real_family == _std.AF_INET else 23
            try:
                self._pp_emulated = session.pool.socket(winsock_family, kind & ~_TYPE_FLAGS,
                                                        0 if proto == -1 else proto)
            except PortPoolError as exc:
                raise os_error_from(exc) from None
        try:
            super().__init__(family, type, proto, fileno)
        except BaseException:
            if self._pp_emulated is not None:
                self._pp_emulated.close()
            raise
        if session is not None:
            session.sockets.add(self)

    # --- helpers ------------------------------------------------------------------------

    @property
    def _pp_family(self) -> Family:
        return Family.INET if super().family == _std.AF_INET else Family.INET6

    def _pp_address(self, address: Any) -> Any:
        """``address`` with its host resolved (:func:`_resolve`) once the tuple has the
        shape and port type Python checks first; otherwise as it is, for the model's
        TypeError."""
        family = self._pp_family
        if (isinstance(address, tuple) and 2 <= len(address) <= (2 if family is Family.INET else 4)
                and hasattr(type(address[1]), "__index__")):
            return (_resolve(address[0], family), *address[1:])
        return address

    def _pp_bound(self) -> bool:
        assert self._pp_emulated is not None
        try:
            self._pp_emulated.getsockname()
        except PortPoolError:
            return False
        return True

    def _pp_check_open(self) -> None:
        if super().fileno() == -1:
            raise os_error(10038, "the socket is closed")

    def _pp_connected(self) -> bool:
        assert self._pp_emulated is not None
        try:
            self._pp_emulated.getpeername()
        except PortPoolError:
            return False
        return True

    def _pp_dial(self, host: str) -> None:
        """Remember which emulated address this socket's traffic goes to: the peer sees
        it as the source address (Windows picks the destination's address for traffic
        that stays on the machine)."""
        session, emulated = self._pp_session, self._pp_emulated
        assert session is not None and emulated is not None and emulated.protocol is not None
        own = session.bound.get(id(self))
        if own is not None and own.real is not None:
            with session.lock:
                session.dialed[(emulated.protocol, int(own.real[1]))] = host

    def _pp_carry(self) -> None:
        """Bind the kernel twin to the loopback address and record the map entry."""
        emulated, session = self._pp_emulated, self._pp_session
        assert emulated is not None and session is not None
        if id(self) in session.bound or emulated.protocol is None:
            return
        family = self._pp_family
        host, port = emulated.getsockname()[:2]
        real: tuple[Any, ...] | None
        try:
            super().bind((_LOOPBACK[family], 0))
            real = tuple(super().getsockname())
        except OSError:
            real = None  # no loopback for this family here: the emulated socket only
        session.register(self, _Bound(emulated.protocol, family, _canonical(host), port, real))

    # --- what the model decides ---------------------------------------------------------

    def bind(self, address: Any, /) -> None:
        """bind(): the emulated process's pool decides; the kernel twin takes a loopback port."""
        if self._pp_emulated is None:
            super().bind(address)
            return
        try:
            self._pp_emulated.bind(self._pp_address(address))
        except PortPoolError as exc:
            raise os_error_from(exc) from None
        self._pp_carry()

    def getsockname(self) -> Any:
        """The emulated address (an accepted socket: the listener's port)."""
        if self._pp_emulated is None:
            if self._pp_local is None:
                return super().getsockname()
            self._pp_check_open()
            return self._pp_local
        try:
            return self._pp_emulated.getsockname()
        except PortPoolError as exc:
            raise os_error_from(exc) from None

    def getpeername(self) -> Any:
        """The emulated peer."""
        if self._pp_emulated is None:
            if self._pp_peer is None:
                return super().getpeername()
            self._pp_check_open()
            return self._pp_peer
        try:
            return self._pp_emulated.getpeername()
        except PortPoolError as exc:
            raise os_error_from(exc) from None

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None,
                   /) -> None:
        """The options the model knows, with this platform's constants, go to the model;
        every other option goes to the kernel socket."""
        mapped = OPTIONS.get((level, optname))
        if self._pp_emulated is None or mapped is None:
            if optlen is None:
                super().setsockopt(level, optname, value)
            else:
                super().setsockopt(level, optname, value, optlen)
            return
        if optlen is not None or value is None:
            raise os_error(10014, "setsockopt(level, option, None, optlen): no value")
        try:
            self._pp_emulated.setsockopt(mapped[0], mapped[1], value)
        except PortPoolError as exc:
            raise os_error_from(exc) from None

    def getsockopt(self, level: int, optname: int, buflen: int | None = None, /) -> Any:
        """Like :meth:`setsockopt`; with ``buflen``, the 4-byte little-endian value."""
        mapped = OPTIONS.get((level, optname))
        if self._pp_emulated is None or mapped is None:
            if buflen is None:
                return super().getsockopt(level, optname)
            return super().getsockopt(level, optname, buflen)
        try:
            value = self._pp_emulated.getsockopt(*mapped)
        except PortPoolError as exc:
            raise os_error_from(exc) from None
        if buflen is None:
            return value
        if buflen < 4:
            raise os_error(10014, f"optlen {buflen} is shorter than a BOOL")
        return int(value).to_bytes(4, "little")

    def connect(self, address: Any, /) -> None:
        """connect(): the model first (implicit bind, the peer), then the kernel twin
        connects to the kernel socket behind the emulated peer, if one is bound there."""
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is None or session is None:
            with _kernel():
                super().connect(address)
            return
        address = self._pp_address(address)
        protocol = emulated.protocol
        assert protocol is not None
        target = None
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            host, port = _canonical(str(address[0])), int(address[1])
            target = session.kernel_target(protocol, self._pp_family, host, port)
        try:
            if target is None and protocol is Protocol.TCP and _routable(address):
                # Refused: the socket is bound implicitly (K1) but not connected, so the
                # program may call connect again, as Windows allows after WSAECONNREFUSED.
                if not self._pp_bound() and not self._pp_connected():
                    emulated.bind((_WILDCARD[self._pp_family], 0))
                    self._pp_carry()
                if not self._pp_connected():
                    raise os_error(10061, f"no socket of the emulated machine is bound to"
                                   f" {address[0]} port {address[1]}")
            emulated.connect(address)
        except PortPoolError as exc:
            raise os_error_from(exc) from None
        self._pp_carry()
        if target is None:  # UDP: datagrams to an address nothing holds are dropped
            self._pp_dropped = True
            return
        self._pp_dropped = False
        self._pp_dial(host)
        with _kernel():
            super().connect(target)

    def connect_ex(self, address: Any, /) -> int:
        """connect() returning the error code (Windows: the WSA code) instead of raising;
        a host that does not resolve raises (socket.gaierror), as in Python."""
        if self._pp_emulated is not None:
            address = self._pp_address(address)
        try:
            self.connect(address)
        except OSError as exc:
            return int(getattr(exc, "winerror", None) or exc.errno or 0)
        return 0

    def listen(self, *backlog: int) -> None:
        """listen(): an unbound socket gets WSAEINVAL, as on Windows (Linux would bind it)."""
        if self._pp_emulated is not None and not self._pp_bound():
            raise os_error(10022, "listen() on an unbound socket")
        with _kernel():
            super().listen(*backlog)

    def accept(self) -> tuple[_RealSocket, Any]:
        """accept(): a kernel socket whose getsockname/getpeername give emulated addresses."""
        session = self._pp_session
        with _kernel():
            fd, real_peer = self._accept()  # type: ignore[attr-defined]
        sock = PatchedSocket(super().family, super().type, self.proto, fileno=fd)
        if _std.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        if self._pp_emulated is None or session is None or self._pp_emulated.protocol is None:
            return sock, real_peer
        family, protocol = self._pp_family, self._pp_emulated.protocol
        peer = session.emulated_address(protocol, tuple(real_peer), family)
        local = self.getsockname()
        with session.lock:
            dialed = session.dialed.get((protocol, int(real_peer[1])))
        if dialed is not None and local[0] == _WILDCARD[family]:
            local = (dialed, *local[1:])
        sock._pp_local, sock._pp_peer = tuple(local), tuple(peer)
        session.sockets.add(sock)
        return sock, peer

    # --- traffic ------------------------------------------------------------------------

    def sendto(self, data: Any, *args: Any) -> int:
        """sendto(): an unbound socket is bound implicitly by the model (wildcard, a dynamic
        port); a datagram to an emulated address nothing holds is dropped."""
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is None or session is None or emulated.protocol is not Protocol.UDP:
            with _kernel():
                return int(super().sendto(data, *args))
        address, flags = args[-1], (args[0] if len(args) > 1 else 0)
        host, port = check_address(self._pp_address(address), self._pp_family, "sendto")
        if not self._pp_bound():
            try:
                emulated.bind((_WILDCARD[self._pp_family], 0))
            except PortPoolError as exc:
                raise os_error_from(exc) from None
        self._pp_carry()
        host = _canonical(host)
        target = session.kernel_target(Protocol.UDP, self._pp_family, host, port)
        if target is None:
            return len(memoryview(data))
        self._pp_dial(host)
        with _kernel():
            return int(super().sendto(data, flags, target))

    def send(self, data: Any, flags: int = 0, /) -> int:
        """send() over the kernel twin."""
        if self._pp_dropped:
            return len(memoryview(data))
        with _kernel():
            return int(super().send(data, flags))

    def sendall(self, data: Any, flags: int = 0, /) -> None:
        """sendall() over the kernel twin."""
        if self._pp_dropped:
            return
        with _kernel():
            super().sendall(data, flags)

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """recv() over the kernel twin."""
        with _kernel():
            return bytes(super().recv(bufsize, flags))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> int:
        """recv_into() over the kernel twin."""
        with _kernel():
            return int(super().recv_into(buffer, nbytes, flags))

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]:
        """recvfrom(): the sender's emulated address."""
        with _kernel():
            data, real = super().recvfrom(bufsize, flags)
        return bytes(data), self._pp_sender(real)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> tuple[int, Any]:
        """recvfrom_into(): the sender's emulated address."""
        with _kernel():
            count, real = super().recvfrom_into(buffer, nbytes, flags)
        return int(count), self._pp_sender(real)

    def _pp_sender(self, real: Any) -> Any:
        session, emulated = self._pp_session, self._pp_emulated
        if session is None or emulated is None or emulated.protocol is None or not real:
            return real
        return session.emulated_address(emulated.protocol, tuple(real), self._pp_family)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """sendfile(): by send(), since fileno() is not a kernel descriptor."""
        return int(self._sendfile_use_send(file, offset, count))  # type: ignore[attr-defined]

    # --- handles and closing ------------------------------------------------------------

    def fileno(self) -> int:
        """The emulated SOCKET handle (-1 once closed); a plain kernel socket's descriptor."""
        if self._pp_emulated is None:
            return super().fileno()
        return self._pp_emulated.fileno() if super().fileno() != -1 else -1

    def dup(self) -> Self:
        """A plain kernel socket over a duplicate of the kernel descriptor (not in the model)."""
        return type(self)(super().family, super().type, self.proto,
                          fileno=_socket.dup(super().fileno()))

    def get_inheritable(self) -> bool:
        """Of the kernel descriptor."""
        return os.get_inheritable(super().fileno())

    def set_inheritable(self, inheritable: bool) -> None:
        """Of the kernel descriptor."""
        os.set_inheritable(super().fileno(), inheritable)

    def _pp_forget(self) -> None:
        if self._pp_emulated is not None:
            self._pp_emulated.close()
        if self._pp_session is not None:
            self._pp_session.unregister(self)

    def _real_close(self, _ss: Any = _socket.socket) -> None:
        self._pp_forget()
        _ss.close(self)

    def detach(self) -> int:
        """The kernel descriptor; the emulated socket closes."""
        self._pp_forget()
        return int(super().detach())


def create_server(address: Any, *, family: int = _std.AF_INET, backlog: int | None = None,
                  reuse_port: bool = False, dualstack_ipv6: bool = False) -> _RealSocket:
    """``socket.create_server`` as on Windows: no SO_REUSEADDR (CPython sets it only on
    POSIX, and on Windows it would let other sockets share the port)."""
    if reuse_port:
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6 and family != _std.AF_INET6:
        raise ValueError("dualstack_ipv6 requires AF_INET6 family")
    sock = _std.socket(family, _std.SOCK_STREAM)
    try:
        if family == _std.AF_INET6:
            sock.setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 0 if dualstack_ipv6 else 1)
        try:
            sock.bind(address)
        except OSError as err:
            msg = f"{err.strerror} (while attempting to bind on address {address!r})"
            raise OSError(err.errno, msg) from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except OSError:
        sock.close()
        raise
