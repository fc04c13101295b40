"""The ``socket`` half of :func:`portpool.patch`: Python sockets as sockets of the
patch's emulated process, with a real kernel socket (the *twin*) behind each.

Every AF_INET/AF_INET6 TCP or UDP socket made while the patch is active is two
sockets: an emulated one in the patch's process (bind, getsockname, the options the
model knows, connect, getpeername and close go there, so the port pool's rules decide)
and its kernel twin, made at the same time, which carries the traffic and whose
descriptor ``fileno()`` returns: select, poll, epoll, selectors and asyncio wait on the
twin, so readiness is real.

Descriptors and SOCKET handles: the patched DLLs take a patched socket's ``fileno()`` as
its SOCKET (the patch maps the kernel descriptor to the emulated handle before the call),
and a SOCKET the patched ``ws2_32.socket`` returns is itself a kernel descriptor (of a
twin made for it).  A value that is no patched descriptor reaches the emulated DLLs as
it is (the emulated handles the host's views show still work).

Traffic: a UDP twin binds a loopback port when the emulated socket is bound; a TCP twin
binds one when it listens and is bound by the kernel when it connects.  The patch keeps
the map emulated ``(protocol, address, port)`` -> twin's loopback port, so a connect or
sendto to an emulated address and port reaches the twin of the emulated socket there.
Addresses coming back from the kernel (accept, recvfrom) are mapped back to emulated
ones.  A connect or sendto to a loopback address and port no emulated socket holds goes
to that real address, as a Windows machine reaches its own services (``hermetic=True``:
refused, WSAECONNREFUSED 10061, or dropped).

Names taken before the patch (``from socket import socket``, a subclass of
``socket.socket``, ``socket.create_connection`` bound early) make patched sockets too:
the patch changes what constructing ``socket.socket`` makes (its ``__new__``), not only
the module attribute.  ``keep_real`` lists modules whose sockets stay kernel sockets.
"""

from __future__ import annotations

import _socket
import contextlib
import errno as _errno
import ipaddress
import socket as _std
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final, Self

from .._arguments import check_address
from .._errors import PortPoolError
from .._types import Family, Protocol, linger
from ._oserror import ERRNO_TO_WINERROR, os_error, os_error_from, posix_errno

if TYPE_CHECKING:
    from types import FrameType

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
    # The options that change port choice, by Windows' numbers (ws2def.h), which no other
    # platform uses: SO_RANDOMIZE_PORT, SO_PORT_SCALABILITY, SO_REUSE_UNICASTPORT (O11-O14).
    **{(_std.SOL_SOCKET, option): (_WIN_SOL_SOCKET, option) for option in (0x3005, 0x3006, 0x3007)},
}
_V6ONLY: Final = (_WIN_IPPROTO_IPV6, 27)
#: SO_LINGER with this platform's constants: it goes to the model and to the twin (T4).
_LINGER: Final = (_std.SOL_SOCKET, _std.SO_LINGER)
_TYPE_FLAGS: Final = getattr(_std, "SOCK_NONBLOCK", 0) | getattr(_std, "SOCK_CLOEXEC", 0)
_LOOPBACK: Final = {Family.INET: "127.0.0.1", Family.INET6: "::1"}
_WILDCARD: Final = {Family.INET: "0.0.0.0", Family.INET6: "::"}
#: Where the twin of a dual-stack (IPV6_V6ONLY 0) ``::`` listener listens: the IPv4
#: loopback as an IPv4-mapped address, which IPv4 and IPv6 twins can both reach.
_DUAL_LOOPBACK: Final = "::ffff:127.0.0.1"
_WSAENOTINITIALISED: Final = 10093
_FRAMES: Final = 64  # how far keep_real looks up the stack

_active: SocketPatch | None = None
#: A subclass of socket.socket -> its patched version (the same for every patch).
_PATCHED_CLASSES: weakref.WeakKeyDictionary[type, type] = weakref.WeakKeyDictionary()


class _Bound:
    """One emulated bound socket with its kernel twin's address (None until it has one)."""

    __slots__ = ("dual", "family", "host", "port", "protocol", "real")

    def __init__(self, protocol: Protocol, family: Family, host: str, port: int,
                 real: tuple[Any, ...] | None) -> None:
        self.protocol, self.family, self.host, self.port, self.real = protocol, family, host, port, real
        self.dual = False


_STDLIB_CREATE_SERVER: Final = getattr(_std.create_server, "__code__", None)


def _sets_reuseaddr_off_windows(code: object) -> bool:
    """Whether ``code`` sets SO_REUSEADDR only because it runs off Windows:
    ``socket.create_server``, asyncio's ``create_server`` (its default)."""
    if code is _STDLIB_CREATE_SERVER:
        return True
    base_events = sys.modules.get("asyncio.base_events")
    return base_events is not None and code is getattr(base_events.BaseEventLoop.create_server,
                                                       "__code__", None)


class SocketPatch:
    """The ``socket`` module's replacements for one patched process, and its port map.

    Args:
        pool: the emulated process the sockets belong to.
        hermetic: refuse (TCP, 10061) or drop (UDP) traffic to loopback addresses no
            emulated socket holds, instead of reaching the real service there.
        keep_real: module names (and their submodules) whose sockets stay kernel sockets.
    """

    def __init__(self, pool: EmulatedProcess, *, hermetic: bool = False,
                 keep_real: tuple[str, ...] = ()) -> None:
        self.pool, self.hermetic, self.keep_real = pool, hermetic, keep_real
        self.lock = threading.Lock()
        self.bound: dict[int, _Bound] = {}  # id(PatchedSocket) -> its binding
        self.by_kernel_port: dict[tuple[Protocol, int], _Bound] = {}
        self.dialed: dict[tuple[Protocol, int], str] = {}  # client kernel port -> emulated host
        self.handles: dict[int, int] = {}  # kernel descriptor -> emulated SOCKET handle
        self.twins: dict[int, _RealSocket] = {}  # descriptor -> twin of a ctypes-made SOCKET
        # detach(): the emulated socket stays with its descriptor (on Windows the SOCKET
        # stays open) for the next socket made over it (socket(fileno=...), ssl).
        self.parked: dict[int, tuple[Socket, _Bound | None]] = {}
        self.claims: dict[int, weakref.ref[PatchedSocket]] = {}  # made over a live one's fd
        self.sockets: weakref.WeakSet[_RealSocket] = weakref.WeakSet()
        self.ending = False
        self._saved: dict[str, object] = {}

    def install(self) -> None:
        """Make ``socket.socket(...)`` (under any name) a patched socket; replace
        ``socket.create_server``; add SO_EXCLUSIVEADDRUSE."""
        global _active  # noqa: PLW0603 - the patch is process-global by design
        for name in ("create_server", "SO_EXCLUSIVEADDRUSE"):
            self._saved[name] = getattr(_std, name, None)
        _std.create_server = create_server
        _std.SO_EXCLUSIVEADDRUSE = SO_EXCLUSIVEADDRUSE  # type: ignore[attr-defined,misc,unused-ignore]
        _active = self
        _RealSocket.__new__ = staticmethod(_new)  # type: ignore[method-assign]  # the patch's point

    def uninstall(self) -> None:
        """Put back what :meth:`install` replaced."""
        global _active  # noqa: PLW0603 - the patch is process-global by design
        if "__new__" in _RealSocket.__dict__:
            del _RealSocket.__new__
        for name, value in self._saved.items():
            if value is None:
                if hasattr(_std, name):
                    delattr(_std, name)
            else:
                setattr(_std, name, value)
        self._saved.clear()
        _active = None

    def patched_class(self, cls: type) -> type:
        """The class a constructor call of ``cls`` makes while the patch is active."""
        if cls is _RealSocket:
            return PatchedSocket
        if issubclass(cls, PatchedSocket):
            return cls
        found = _PATCHED_CLASSES.get(cls)
        if found is None:
            try:
                found = type(cls.__name__, (cls, PatchedSocket),
                             {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
            except TypeError:  # a layout PatchedSocket cannot join (__slots__ of its own)
                found = cls
            _PATCHED_CLASSES[cls] = found
        return found

    def called_from_kept(self, frame: FrameType | None) -> bool:
        """Whether a module of ``keep_real`` is on the stack from ``frame`` up."""
        for _ in range(_FRAMES):
            if frame is None:
                return False
            name = str(frame.f_globals.get("__name__", ""))
            for kept in self.keep_real:
                if name == kept or name.startswith(kept + "."):
                    return True
            frame = frame.f_back
        return False

    def adopt(self, sock: _RealSocket) -> None:
        """Count ``sock`` as the process's, or refuse it once the patch is ending."""
        with self.lock:
            if not self.ending:
                self.sockets.add(sock)
                return
        raise os_error(_WSAENOTINITIALISED, "portpool.patch() is ending (another thread left it):"
                       " the emulated process has exited and makes no more sockets; leave the"
                       " patch after the threads that make sockets have stopped")

    def close_all(self) -> None:
        """Close every socket made under the patch (the process ends: R4); from now on no
        socket is made (a thread that tries gets WSANOTINITIALISED 10093)."""
        with self.lock:
            self.ending = True
            sockets = list(self.sockets)
            twins = list(self.twins.values())
            parked = [emulated for emulated, _ in self.parked.values()]
            self.twins.clear()
            self.handles.clear()
            self.parked.clear()
            self.claims.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):  # closing at the process's end cannot fail on Windows
                sock.close()
        for twin in twins:
            twin.close()
        for emulated in parked:
            emulated.close()

    # --- descriptors and handles --------------------------------------------------------

    def handle_of(self, value: int) -> int:
        """The emulated SOCKET handle behind kernel descriptor ``value`` (else ``value``)."""
        return self.handles.get(value, value)

    def add_twin(self, handle: int, family: int, kind: int) -> int:
        """A kernel twin for a SOCKET the patched ``ws2_32.socket`` made; its descriptor.

        Raises:
            OSError: the kernel's (EMFILE, ...).
        """
        real_family = _std.AF_INET if family == 2 else _std.AF_INET6
        twin = _RealSocket.__new__(_RealSocket)  # the plain class, not a patched socket
        _RealSocket.__init__(twin, real_family, kind & 0xF)
        fd = twin.fileno()
        with self.lock:
            self.twins[fd] = twin
            self.handles[fd] = handle
        return fd

    def drop_twin(self, fd: int) -> None:
        """Close the twin of a SOCKET the patched ``ws2_32.closesocket`` closed."""
        with self.lock:
            twin = self.twins.pop(fd, None)
            if twin is not None:
                self.handles.pop(fd, None)
        if twin is not None:
            twin.close()

    # --- the port map -------------------------------------------------------------------

    def register(self, owner: object, entry: _Bound, fd: int, handle: int) -> None:
        with self.lock:
            self.bound[id(owner)] = entry
            if entry.real is not None:
                self.by_kernel_port[(entry.protocol, int(entry.real[1]))] = entry
            self.handles[fd] = handle

    def set_real(self, owner: object, real: tuple[Any, ...]) -> None:
        """The twin of ``owner`` now has the kernel address ``real``."""
        with self.lock:
            entry = self.bound.get(id(owner))
            if entry is not None and entry.real is None:
                entry.real = real
                self.by_kernel_port[(entry.protocol, int(real[1]))] = entry

    def unregister(self, owner: object, fd: int) -> None:
        with self.lock:
            if fd != -1:
                self.handles.pop(fd, None)
                self.claims.pop(fd, None)
            entry = self.bound.pop(id(owner), None)
            if entry is not None and entry.real is not None:
                key = (entry.protocol, int(entry.real[1]))
                if self.by_kernel_port.get(key) is entry:
                    del self.by_kernel_port[key]
                self.dialed.pop(key, None)

    def kernel_target(self, protocol: Protocol, family: Family, host: str,
                      port: int) -> tuple[Any, ...] | None:
        """The kernel address behind the emulated ``(host, port)``: a socket bound to that
        address, else one bound to the wildcard address of the family, else (IPv4) a
        dual-stack ``::`` listener (rule P1)."""
        with self.lock:
            candidates = [b for b in self.bound.values() if b.protocol is protocol
                          and b.port == port and b.real is not None]
        for wanted in (host, _WILDCARD[family]):
            for entry in candidates:
                if entry.family is family and entry.host == wanted and entry.real is not None:
                    return entry.real
        if family is Family.INET:
            for entry in candidates:
                if entry.dual and entry.real is not None:
                    return ("127.0.0.1", entry.real[1])
        return None

    def emulated_address(self, protocol: Protocol, real: tuple[Any, ...],
                         family: Family) -> tuple[Any, ...]:
        """The emulated address of the socket behind kernel address ``real``."""
        with self.lock:
            entry = self.by_kernel_port.get((protocol, int(real[1])))
            dialed = self.dialed.get((protocol, int(real[1])))
        if entry is None:
            return tuple(real)
        host = entry.host
        if host == _WILDCARD[entry.family]:
            host = dialed if dialed is not None else _LOOPBACK[entry.family]
        if family is Family.INET6 and entry.family is Family.INET:
            host = "::ffff:" + host  # an IPv4 peer of a dual-stack socket (P1)
        return (host, entry.port) if family is Family.INET else (host, entry.port, 0, 0)


def _new(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``socket.socket.__new__`` while the patch is active."""
    del args, kwargs  # _socket.socket.__new__ takes none
    session = _active
    if session is not None and not (session.keep_real and session.called_from_kept(sys._getframe(1))):
        cls = session.patched_class(cls)
    return _socket.socket.__new__(cls)


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


def _loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _kernel_error(exc: OSError, ended: bool = False) -> OSError:
    """A kernel error of carried traffic as Python on Windows reports it (the same
    exception when it already is one, or has no Windows counterpart here)."""
    if getattr(exc, "winerror", None) is not None:
        return exc
    if exc.errno == _errno.EBADF:
        detail = ("the socket was closed when portpool.patch() ended (the emulated process"
                  " exited, R4)" if ended else "the socket is closed")
        return os_error(10038, detail)
    code = ERRNO_TO_WINERROR.get(exc.errno or 0)
    if code is None:
        return exc
    return os_error(code, f"kernel: {exc}")


class PatchedSocket(_RealSocket):
    """What ``socket.socket(...)`` makes while :func:`portpool.patch` is active (see the
    module docstring).

    A socket made from an existing descriptor (``fileno=``: accept, socketpair, fromfd)
    and any socket that is not AF_INET/AF_INET6 TCP/UDP is a plain kernel socket; one over
    the twin of a patched socket (``socket.fromfd(s.fileno(), ...)``, ``dup()``) shows its
    emulated addresses.
    """

    _pp_session: SocketPatch | None = None
    _pp_emulated: Socket | None = None
    _pp_local: tuple[Any, ...] | None = None  # an accepted or adopted socket's emulated ends
    _pp_peer: tuple[Any, ...] | None = None
    _pp_dropped = False  # a UDP socket connected to an address nothing holds
    _pp_pending = 0  # a non-blocking connect's refusal, for SO_ERROR (Windows code)
    _pp_ended = False  # closed when the patch ended

    def __init__(self, family: int = -1, type: int = -1,  # noqa: A002 - socket's own names
                 proto: int = -1, fileno: int | None = None) -> None:
        session = _active
        self._pp_session = session
        real_family = _std.AF_INET if family == -1 else family
        kind = _std.SOCK_STREAM if type == -1 else type
        emulated = None
        if (fileno is None and session is not None and real_family in (_std.AF_INET, _std.AF_INET6)
                and isinstance(kind, int) and kind & ~_TYPE_FLAGS in (_std.SOCK_STREAM, _std.SOCK_DGRAM)):
            if session.ending:
                session.adopt(self)  # raises: the process is gone
            winsock_family = 2 if real_family == _std.AF_INET else 23
            try:
                emulated = session.pool.socket(winsock_family, kind & ~_TYPE_FLAGS,
                                               0 if proto == -1 else proto)
            except PortPoolError as exc:
                raise os_error_from(exc) from None
        try:
            super().__init__(family, type, proto, fileno)
        except BaseException:
            if emulated is not None:
                emulated.close()
            raise
        if session is None:
            return
        try:
            session.adopt(self)
        except OSError:
            if emulated is not None:
                emulated.close()
            _RealSocket.close(self)
            raise
        if emulated is not None:
            self._pp_emulated = emulated
            with session.lock:
                session.handles[super().fileno()] = emulated.fileno()
        elif fileno is not None and super().family in (_std.AF_INET, _std.AF_INET6) \
                and not self._pp_take_over(session, int(super().fileno())):
            self._pp_adopt_names()

    # --- helpers ------------------------------------------------------------------------

    @property
    def _pp_family(self) -> Family:
        return Family.INET if super().family == _std.AF_INET else Family.INET6

    def _pp_take_over(self, session: SocketPatch, fd: int) -> bool:
        """A socket made over a detached patched socket's descriptor is that emulated
        socket again; one made over a live one's (ssl wraps before it detaches) claims it."""
        with session.lock:
            parked = session.parked.pop(fd, None)
            if parked is None:
                if fd in session.handles and fd not in session.twins:
                    session.claims[fd] = weakref.ref(self)
                return False
            emulated, entry = parked
            self._pp_emulated = emulated
            if entry is not None:
                session.bound[id(self)] = entry
        return True

    def _pp_adopt_names(self) -> None:
        """A socket over a twin's descriptor shows the emulated addresses."""
        session = self._pp_session
        assert session is not None
        protocol = Protocol.TCP if super().type == _std.SOCK_STREAM else Protocol.UDP
        try:
            real = super().getsockname()
        except OSError:
            return
        with session.lock:
            entry = session.by_kernel_port.get((protocol, int(real[1])))
        if entry is None:
            return
        family = self._pp_family
        self._pp_local = ((entry.host, entry.port) if family is Family.INET
                          else (entry.host, entry.port, 0, 0))
        try:
            self._pp_peer = session.emulated_address(protocol, tuple(super().getpeername()),
                                                     family)
        except OSError:
            self._pp_peer = None

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

    def _pp_gone(self) -> None:
        """A socket closed by the patch's end says so (not the model's bare WSAENOTSOCK)."""
        if self._pp_ended:
            raise os_error(10038, "the socket was closed when portpool.patch() ended (the"
                           " emulated process exited, R4); make sockets inside the patch")

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
        with session.lock:
            own = session.bound.get(id(self))
            if own is not None and own.real is not None:
                session.dialed[(emulated.protocol, int(own.real[1]))] = host

    def _pp_register(self) -> None:
        """Record the emulated binding; a UDP twin binds a loopback port now (a TCP twin
        when it listens or connects)."""
        emulated, session = self._pp_emulated, self._pp_session
        assert emulated is not None and session is not None
        if id(self) in session.bound or emulated.protocol is None:
            return
        family = self._pp_family
        host, port = emulated.getsockname()[:2]
        real: tuple[Any, ...] | None = None
        if emulated.protocol is Protocol.UDP:
            real = self._pp_bind_twin(_LOOPBACK[family])
        session.register(self, _Bound(emulated.protocol, family, _canonical(host), port, real),
                         super().fileno(), emulated.fileno())

    def _pp_bind_twin(self, host: str) -> tuple[Any, ...] | None:
        try:
            if host == _DUAL_LOOPBACK:
                super().setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 0)
            super().bind((host, 0))
            return tuple(super().getsockname())
        except OSError:
            return None  # no loopback for this family here: the emulated socket only

    # --- what the model decides ---------------------------------------------------------

    def bind(self, address: Any, /) -> None:
        """bind(): the emulated process's pool decides; a UDP twin takes a loopback port."""
        self._pp_gone()
        if self._pp_emulated is None:
            super().bind(address)
            return
        emulated = self._pp_emulated
        try:
            emulated.bind(self._pp_address(address))
        except PortPoolError as exc:
            raise os_error_from(exc) from None
        if emulated.protocol is not Protocol.TCP or emulated.getsockname()[1]:
            self._pp_register()  # a TCP port 0 waits for connect (O13), which registers it

    def getsockname(self) -> Any:
        """The emulated address (an accepted socket: the listener's port)."""
        self._pp_gone()
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
        self._pp_gone()
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
        every other option goes to the kernel socket.  SO_REUSEADDR set by
        ``socket.create_server`` or asyncio's ``create_server`` default is not set, as
        Python on Windows does not set it there."""
        mapped = OPTIONS.get((level, optname))
        if (self._pp_emulated is not None and (level, optname) == _LINGER
                and optlen is None and isinstance(value, (bytes, bytearray))):
            on, seconds = _linger_of(bytes(value))
            try:  # T4: the model's connection resets (or lingers) as Windows' would
                self._pp_emulated.setsockopt(_WIN_SOL_SOCKET, 0x0080, linger(on, seconds))
            except PortPoolError as exc:
                raise os_error_from(exc) from None
        if self._pp_emulated is None or mapped is None:
            if optlen is None:
                super().setsockopt(level, optname, value)
            else:
                super().setsockopt(level, optname, value, optlen)
            return
        if mapped[1] == 4 and _sets_reuseaddr_off_windows(sys._getframe(1).f_code):
            return
        if optlen is not None or value is None:
            raise os_error(10014, "setsockopt(level, option, None, optlen): no value")
        try:
            self._pp_emulated.setsockopt(mapped[0], mapped[1], value)
        except PortPoolError as exc:
            raise os_error_from(exc) from None

    def getsockopt(self, level: int, optname: int, buflen: int | None = None, /) -> Any:
        """Like :meth:`setsockopt`; with ``buflen``, the 4-byte little-endian value.
        SO_ERROR after a refused non-blocking connect gives the refusal (as this
        platform's errno: WSAECONNREFUSED is ECONNREFUSED) once."""
        mapped = OPTIONS.get((level, optname))
        if self._pp_emulated is None or mapped is None:
            if (self._pp_pending and level == _std.SOL_SOCKET and optname == _std.SO_ERROR
                    and buflen is None):
                code, self._pp_pending = self._pp_pending, 0
                return code if sys.platform == "win32" else posix_errno(code)
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
        connects to the twin behind the emulated peer, or (not hermetic) to a real
        loopback service nothing emulated holds.

        A refusal the patch decides on a non-blocking socket is WSAEWOULDBLOCK now and
        WSAECONNREFUSED in SO_ERROR, the descriptor writable, as Windows reports it.
        """
        self._pp_gone()
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is None or session is None:
            try:
                super().connect(address)
            except OSError as exc:
                raise _kernel_error(exc, self._pp_ended) from None
            return
        address = self._pp_address(address)
        protocol = emulated.protocol
        assert protocol is not None
        target = None
        outside = False
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            host, port = _canonical(str(address[0])), int(address[1])
            target = session.kernel_target(protocol, self._pp_family, host, port)
            if target is None and not session.hermetic and 0 < port <= 0xFFFF and _loopback(host):
                target, outside = (host, port, *address[2:]), True
        try:
            if target is None and protocol is Protocol.TCP and _routable(address):
                # Refused: the socket is bound implicitly (K1) but not connected, so the
                # program may call connect again, as Windows allows after WSAECONNREFUSED.
                self._pp_implicit_bind()
                if not self._pp_connected():
                    why = (f"no socket of the emulated machine is bound to {address[0]} port"
                           f" {address[1]}" + (" (portpool.patch(hermetic=True))" if session.hermetic
                                               else "; the patch reaches real services only on"
                                               " loopback addresses"))
                    if self.gettimeout() == 0.0:
                        self._pp_pending = 10061
                        raise os_error(10035, why + ": refused, see SO_ERROR")
                    raise os_error(10061, why)
            if outside and target is not None and protocol is Protocol.TCP:
                # The real service decides first, so that a refusal leaves the socket
                # unconnected (a retry works, as on Windows).
                self._pp_connect_beyond(target, host, port, None)
                return
            try:
                emulated.connect(address)
            except PortPoolError as exc:
                if (target is None or protocol is not Protocol.TCP or exc.winerror != 10061
                        or SocketPatch.kernel_target(session, protocol, self._pp_family, host, port)
                        is not None):  # a listener of this process refused: that stands
                    raise
                # A twin of another process of this machine (one that joined it through
                # the store: a child, or the parent) listens there.  Its listener lives in
                # that process's model, which this one cannot list: the connection is
                # made as to a peer beyond this process's view (T9), not refused (T10).
                self._pp_connect_beyond(target, host, port, host)
                return
        except PortPoolError as exc:
            raise os_error_from(exc) from None
        self._pp_register()
        if target is None:  # UDP: datagrams to an address nothing holds are dropped
            self._pp_dropped = True
            return
        self._pp_dropped = False
        self._pp_kernel_connect(target, None if outside else host)

    def _pp_connect_beyond(self, target: tuple[Any, ...], host: str, port: int,
                           dialed: str | None) -> None:
        """Connect the twin to ``target``, a listener this process's model cannot see (a
        real loopback service, or another process's twin), and record the connection."""
        self._pp_implicit_bind()
        try:
            self._pp_kernel_connect(target, dialed)
        except BlockingIOError:
            self._pp_connect_outside(host, port)  # in progress: the kernel reports the rest
            raise
        self._pp_connect_outside(host, port)

    def _pp_connect_outside(self, host: str, port: int) -> None:
        """The model's connect to a real loopback service beyond the emulated machine: a
        connection to a remote peer (T9), not one to the machine's listeners (T10)."""
        session, emulated = self._pp_session, self._pp_emulated
        assert session is not None and emulated is not None
        session.pool.host.machine.connect(session.pool.pid, emulated.fileno(), host, port,
                                          outside=True)

    def _pp_implicit_bind(self) -> None:
        """The model's implicit bind of connect (K1), unless bound or connected."""
        emulated = self._pp_emulated
        assert emulated is not None
        if not self._pp_bound() and not self._pp_connected():
            emulated.bind((_WILDCARD[self._pp_family], 0))
            self._pp_register()

    def _pp_kernel_connect(self, target: tuple[Any, ...], dialed: str | None) -> None:
        """Connect the twin.  Its loopback address (and the emulated host it dialed) is
        recorded first, so that the peer's accept, which may run before this connect
        returns, finds it."""
        session = self._pp_session
        assert session is not None
        mapped = str(target[0]).startswith("::ffff:")
        with session.lock:
            entry = session.bound.get(id(self))
            unbound = entry is not None and entry.real is None
        if unbound:
            family = self._pp_family
            real = self._pp_bind_twin(_DUAL_LOOPBACK if mapped else _LOOPBACK[family])
            if real is not None:
                session.set_real(self, real)
        elif mapped:
            with contextlib.suppress(OSError):  # a bound twin keeps its setting
                super().setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 0)
        if dialed is not None:
            self._pp_dial(dialed)
        try:
            super().connect(target)
        except OSError as exc:
            raise _kernel_error(exc) from None

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
        """listen(): an unbound socket gets WSAEINVAL, as on Windows (Linux would bind it);
        the twin binds a loopback port (a dual-stack ``::`` socket: the IPv4-mapped
        loopback, which IPv4 and IPv6 clients reach, P1)."""
        self._pp_gone()
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is not None and session is not None:
            if not self._pp_bound():
                raise os_error(10022, "listen() on an unbound socket")
            try:  # the model's listener takes the connections its clients make (S9)
                emulated.listen(backlog[0] if backlog else min(_std.SOMAXCONN, 128))
            except PortPoolError as exc:
                raise os_error_from(exc) from None
            with session.lock:
                entry = session.bound.get(id(self))
            if entry is not None and entry.real is None:
                dual = False
                if entry.family is Family.INET6 and entry.host == "::":
                    try:
                        dual = not emulated.getsockopt(*_V6ONLY)
                    except PortPoolError:
                        dual = False
                real = self._pp_bind_twin(_DUAL_LOOPBACK if dual else _LOOPBACK[entry.family])
                if real is not None:
                    entry.dual = dual
                    session.set_real(self, real)
        try:
            super().listen(*backlog)
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None

    def accept(self) -> tuple[_RealSocket, Any]:
        """accept(): a kernel socket whose getsockname/getpeername give emulated addresses."""
        session = self._pp_session
        try:
            fd, real_peer = self._accept()  # type: ignore[attr-defined]
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None
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
            if family is Family.INET6 and ":" not in dialed:
                dialed = "::ffff:" + dialed
            local = (dialed, *local[1:])
        sock._pp_local, sock._pp_peer = tuple(local), tuple(peer)
        self._pp_take_connection(sock, peer)
        return sock, peer

    def _pp_take_connection(self, sock: PatchedSocket, peer: Any) -> None:
        """The model's side of the connection the kernel accepted: its accepted socket
        goes with ``sock``, so that closing it leaves what Windows leaves (FIN_WAIT_2,
        TIME_WAIT: T3; a reset with SO_LINGER 0: T4).  A client the model did not see
        (a real process's, not patched) has none."""
        session, emulated = self._pp_session, self._pp_emulated
        assert session is not None and emulated is not None
        # The backend imports the host, which the patch must not load at import time.
        from ..backends.emulated import EmulatedPool, EmulatedSocket  # noqa: PLC0415

        pool = session.pool
        if not isinstance(pool, EmulatedPool):
            return
        try:
            info, _, _ = pool.host.machine.accept(pool.pid, emulated.fileno(),
                                                   (str(peer[0]), int(peer[1])))
        except PortPoolError:
            return
        accepted = EmulatedSocket(pool, info)
        sock._pp_emulated = accepted
        with session.lock:
            session.handles[sock.fileno()] = accepted.fileno()

    # --- traffic ------------------------------------------------------------------------

    def sendto(self, data: Any, *args: Any) -> int:
        """sendto(): an unbound socket is bound implicitly by the model (wildcard, a dynamic
        port); a datagram to an emulated address nothing holds is dropped (not hermetic:
        one to a loopback address goes to the real socket there)."""
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is None or session is None or emulated.protocol is not Protocol.UDP:
            try:
                return int(super().sendto(data, *args))
            except OSError as exc:
                raise _kernel_error(exc, self._pp_ended) from None
        address, flags = args[-1], (args[0] if len(args) > 1 else 0)
        host, port = check_address(self._pp_address(address), self._pp_family, "sendto")
        if not self._pp_bound():
            try:
                emulated.bind((_WILDCARD[self._pp_family], 0))
            except PortPoolError as exc:
                raise os_error_from(exc) from None
        self._pp_register()
        host = _canonical(host)
        target = session.kernel_target(Protocol.UDP, self._pp_family, host, port)
        outside = target is None and not session.hermetic and _loopback(host) and port > 0
        if outside:
            target = (host, port)
        if target is None:
            return len(memoryview(data))
        if not outside:
            self._pp_dial(host)
        try:
            return int(super().sendto(data, flags, target))
        except OSError as exc:
            raise _kernel_error(exc) from None

    def send(self, data: Any, flags: int = 0, /) -> int:
        """send() over the kernel twin."""
        if self._pp_dropped:
            return len(memoryview(data))
        try:
            return int(super().send(data, flags))
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None

    def sendall(self, data: Any, flags: int = 0, /) -> None:
        """sendall() over the kernel twin."""
        if self._pp_dropped:
            return
        try:
            super().sendall(data, flags)
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """recv() over the kernel twin."""
        try:
            return bytes(super().recv(bufsize, flags))
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> int:
        """recv_into() over the kernel twin."""
        try:
            return int(super().recv_into(buffer, nbytes, flags))
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]:
        """recvfrom(): the sender's emulated address."""
        try:
            data, real = super().recvfrom(bufsize, flags)
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None
        return bytes(data), self._pp_sender(real)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> tuple[int, Any]:
        """recvfrom_into(): the sender's emulated address."""
        try:
            count, real = super().recvfrom_into(buffer, nbytes, flags)
        except OSError as exc:
            raise _kernel_error(exc, self._pp_ended) from None
        return int(count), self._pp_sender(real)

    def _pp_sender(self, real: Any) -> Any:
        session, emulated = self._pp_session, self._pp_emulated
        if session is None or emulated is None or emulated.protocol is None or not real:
            return real
        return session.emulated_address(emulated.protocol, tuple(real), self._pp_family)

    # --- handles and closing ------------------------------------------------------------

    def dup(self) -> Self:
        """A socket over a duplicate of the twin's descriptor, with the emulated addresses
        (not a second emulated socket)."""
        return type(self)(super().family, super().type, self.proto,
                          fileno=_socket.dup(super().fileno()))

    def _pp_forget(self) -> None:
        emulated, session = self._pp_emulated, self._pp_session
        if emulated is not None:
            emulated.close()
        if session is not None:
            session.unregister(self, super().fileno())
            if session.ending:
                self._pp_ended = True

    def _real_close(self, _ss: Any = _socket.socket) -> None:
        self._pp_forget()
        _ss.close(self)

    def detach(self) -> int:
        """The kernel descriptor; the emulated socket stays open with it, as the SOCKET does
        on Windows, for a socket made over it (``socket(fileno=...)``, ``ssl``); the
        patch's end closes it if none is."""
        emulated, session, fd = self._pp_emulated, self._pp_session, super().fileno()
        if emulated is None or session is None or fd == -1 or session.ending:
            self._pp_forget()
            return int(super().detach())
        with session.lock:
            entry = session.bound.pop(id(self), None)
            claim = session.claims.pop(fd, None)
            heir = claim() if claim is not None else None
            if heir is not None and heir._pp_emulated is None:
                heir._pp_emulated, heir._pp_dropped = emulated, self._pp_dropped
                heir._pp_local = heir._pp_peer = None
                if entry is not None:
                    session.bound[id(heir)] = entry
            else:
                session.parked[fd] = (emulated, entry)
            self._pp_emulated = None
        return int(super().detach())


def _linger_of(value: bytes) -> tuple[bool, int]:
    """SO_LINGER's value as this platform's ``struct linger`` (two ints on Linux and macOS)
    or Windows' LINGER (two u_shorts): (on, seconds)."""
    if len(value) >= 8:
        on, seconds = int.from_bytes(value[:4], sys.byteorder), int.from_bytes(value[4:8], sys.byteorder)
    else:
        on, seconds = int.from_bytes(value[:2], "little"), int.from_bytes(value[2:4], "little")
    return bool(on), min(max(seconds, 0), 0xFFFF)


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
