"""The one interface every backend implements: :class:`PortPool` and :class:`Socket`.

Two backends implement it: ``emulated`` (the pure-Python model) and ``windows``
(ctypes over ``ws2_32``/``iphlpapi``, real or emulated DLLs).  Every method raises
:class:`~portpool.PortPoolError` with the exact Windows code; the Raises sections
below list the codes and the ``specs/semantics.md`` rules behind them.
"""

from __future__ import annotations

import abc
import builtins
from types import TracebackType
from typing import Any, Self

from ._types import AF_INET, SOCK_STREAM, Family, Protocol, Reservation, protocol_of

__all__ = ["Address", "PortPool", "Socket"]

#: ``(host, port)`` for AF_INET, ``(host, port, flowinfo, scope_id)`` for AF_INET6,
#: as Python's :mod:`socket` module uses them.
Address = tuple[Any, ...]


class Socket(abc.ABC):
    """A socket of one process, seen through the port-pool calls.

    Sockets are context managers; :meth:`close` is idempotent, as Python's are.
    Every other call on a closed socket raises WSAENOTSOCK (rule R9b).

    An implementation sets ``_family`` and ``_type`` when it makes the socket; the
    three describing properties are built on them.
    """

    __slots__ = ("_family", "_type")
    _family: Family
    _type: int

    @property
    def family(self) -> int:
        """The address family (Winsock value: AF_INET 2 or AF_INET6 23)."""
        return int(self._family)

    @property
    def type(self) -> int:
        """The socket type (SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3)."""
        return self._type

    @property
    def protocol(self) -> Protocol | None:
        """TCP or UDP, or ``None`` for a socket that has no ports (SOCK_RAW)."""
        return protocol_of(self._type)

    @abc.abstractmethod
    def acquire_port_reservation(self, start: int, count: int) -> Reservation:
        """SIO_ACQUIRE_PORT_RESERVATION: reserve ``count`` ports for this process.

        The block lives as long as this socket (rule R4).

        Args:
            start: the first port, or 0 for a wildcard block from the dynamic range.
            count: how many ports (1-65535).

        Returns:
            The runtime :class:`Reservation` (block and token).

        Raises:
            PortPoolError: WSAEINVAL (count 0, block past 65535, not integers: A3,
                R9c); WSAEADDRINUSE (a port of the block is reserved or bound: A2);
                WSAENOBUFS (no free wildcard block: A13); WSAEOPNOTSUPP (neither TCP
                nor UDP: R9a); WSAENOTSOCK (closed: R9b).
        """

    @abc.abstractmethod
    def associate_port_reservation(self, token: int) -> None:
        """SIO_ASSOCIATE_PORT_RESERVATION: let :meth:`bind` take ports from a block.

        Must come before :meth:`bind` (rule R5).

        Raises:
            PortPoolError: WSAEINVAL (unknown token, other protocol, already bound or
                associated: A11, A6, A7); WSAEACCES (a runtime token of another
                process, A12, or a persistent token without administrator rights, R7);
                WSAEOPNOTSUPP (R9a); WSAENOTSOCK (R9b).
        """

    @abc.abstractmethod
    def release_port_reservation(self, token: int) -> None:
        """SIO_RELEASE_PORT_RESERVATION: give a runtime block back (rule R8).

        Sockets already bound from it keep their ports (A20).

        Raises:
            PortPoolError: WSAEINVAL (unknown or persistent token: A11, A22);
                WSAEACCES (granted to another process: A5); WSAEOPNOTSUPP (R9a);
                WSAENOTSOCK (R9b).
        """

    @abc.abstractmethod
    def bind(self, address: Address) -> None:
        """bind(): port 0 takes a free port (from the associated block, R5, or from
        the dynamic range, W1); an explicit port must not be reserved, and may be shared
        with the sockets holding it only as REUSE's tables allow (addresses, options,
        accounts: C1-C19).

        Raises:
            PortPoolError: WSAEACCES (inside a reserved block without association:
                R17, X2; a table cell that says ACCESS: C1-C12, C14); WSAEADDRINUSE
                (held by another socket: W2, C1-C12; the associated block is full:
                A1); WSAEADDRNOTAVAIL (an address the machine does not have: L1, L3,
                L4); WSAENOBUFS (dynamic range exhausted: A13); WSAEINVAL (already
                bound: W3); WSAEFAULT (malformed address: W4); WSAENOTSOCK (R9b).
            TypeError, OverflowError: an address Python's socket would refuse (not a
                tuple of the family's shape, a port outside 0-65535).
        """

    @abc.abstractmethod
    def getsockname(self) -> Address:
        """getsockname(): the bound address, in Python's tuple shape.

        Raises:
            PortPoolError: WSAEINVAL (not bound: W5); WSAENOTSOCK (R9b).
        """

    @abc.abstractmethod
    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        """setsockopt(): the options that change binding, with Windows' constants
        (``portpool.SOL_SOCKET``, ``SO_REUSEADDR``, ``SO_EXCLUSIVEADDRUSE``,
        ``IPPROTO_IPV6``, ``IPV6_V6ONLY``).  Set them before :meth:`bind` (C18).
        ``SO_LINGER`` takes a LINGER, ``struct.pack("<HH", l_onoff, l_linger)``
        (``portpool.linger(on, seconds)`` makes it); on with 0 seconds, close resets (T4).

        Args:
            level, option: the option's level and name.
            value: an int (sent as a 4-byte BOOL) or the raw bytes.

        Raises:
            PortPoolError: WSAENOPROTOOPT (an option the model does not know: O1);
                WSAEINVAL (a bad level, or IPV6_V6ONLY on an AF_INET socket: O2;
                SO_REUSEADDR with SO_EXCLUSIVEADDRUSE: O4; after bind under O5's
                ``refused``); WSAEFAULT (fewer than 4 bytes: O3); WSAENOTSOCK (R9b).
            TypeError, OverflowError: arguments Python's socket would refuse.
        """

    @abc.abstractmethod
    def getsockopt(self, level: int, option: int) -> int:
        """getsockopt(): 0 or 1 for the options :meth:`setsockopt` knows (O6, O7).

        Raises:
            PortPoolError: WSAENOPROTOOPT (O1); WSAEINVAL (O2); WSAENOTSOCK (R9b).
            TypeError, OverflowError: a level or option that is not a C int.
        """

    @abc.abstractmethod
    def connect(self, address: Address) -> None:
        """connect(): binds an unbound socket implicitly (wildcard address, a port from
        the associated block or the dynamic range: K1, K2), then records the peer.

        A TCP connect to one of the machine's addresses makes a connection with the
        socket listening there (accept it on the listener: S9); to any other address it
        succeeds at once (the model has no network beyond the machine: K6, T9).

        Raises:
            PortPoolError: WSAEADDRNOTAVAIL (the wildcard or port 0 as peer: K3; a
                mapped address on an IPv6-only socket: L3); WSAEISCONN (a connected
                TCP socket: K4); WSAECONNREFUSED (nothing listens there, or its backlog
                is full: T10); WSAEINVAL (a listening socket: S8); WSAEADDRINUSE (the same
                connection still exists, TIME_WAIT included: T7; the associated block is
                full: A1); WSAENOBUFS (no port left for the implicit bind: T8, A13);
                WSAEFAULT (W4); WSAENOTSOCK (R9b).
            TypeError, OverflowError: an address Python's socket would refuse.
        """

    @abc.abstractmethod
    def listen(self, backlog: int = 128) -> None:
        """listen(): take connections on the bound address (rules S1-S4).

        Args:
            backlog: how many connections may wait for :meth:`accept`: 1-200 (values
                outside count as the nearest, SOMAXCONN as 200); a negative value -N is
                SOMAXCONN_HINT(N), N kept within 200-65535.  A second listen keeps the
                first backlog.

        Raises:
            PortPoolError: WSAEINVAL (not bound: S1); WSAEOPNOTSUPP (not TCP: S2);
                WSAEISCONN (connected: S3); WSAENOTSOCK (R9b).
            TypeError: ``backlog`` is not an int.
        """

    @abc.abstractmethod
    def accept(self) -> tuple[Socket, Address]:
        """accept(): the oldest connection waiting on this listening socket.

        Returns:
            The new socket (bound to the address the client connected to and this
            socket's port, with this socket's options) and the client's address (S9).

        Raises:
            PortPoolError: WSAEINVAL (not listening: S5); WSAEOPNOTSUPP (not TCP: S6);
                WSAEWOULDBLOCK (no connection waiting; the model never blocks: S7);
                WSAENOTSOCK (R9b).
        """

    @abc.abstractmethod
    def getpeername(self) -> Address:
        """getpeername(): the connected peer, in Python's tuple shape.

        Raises:
            PortPoolError: WSAENOTCONN (not connected: K5); WSAENOTSOCK (R9b).
        """

    @abc.abstractmethod
    def set_cpu_affinity(self, processor: int) -> None:
        """WSAIoctl(SIO_CPU_AFFINITY): make this UDP socket one of a process's
        per-processor sockets, which may all bind one port (C19, msquic's pattern).

        Raises:
            PortPoolError: WSAEOPNOTSUPP (a TCP socket: B8; a raw one: R9a);
                WSAENOTSOCK (R9b).
            TypeError, OverflowError: a processor number that is not an int in 0-65535
                (SIO_CPU_AFFINITY takes a USHORT).
        """

    @abc.abstractmethod
    def close(self) -> None:
        """closesocket(): frees the port and every runtime block acquired here (R4); a
        connection this side closes first stays in FIN_WAIT_2, then TIME_WAIT, holding its
        port (T3), unless SO_LINGER is on with a zero timeout (a reset: T4)."""

    @abc.abstractmethod
    def fileno(self) -> int:
        """The socket's handle (-1 once closed)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: builtins.type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class PortPool(abc.ABC):
    """One process's view of a machine's TCP and UDP port pools.

    Made by :func:`portpool.open_pool` or ``EmulatedHost.process()``.
    """

    @abc.abstractmethod
    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM,  # noqa: A002 - socket's own name
               proto: int = 0) -> Socket:
        """socket(): a new socket of this process.

        ``proto`` 0 means TCP for SOCK_STREAM and UDP for SOCK_DGRAM.  A SOCK_RAW
        socket can be made (by an administrator), but the reservation calls on it fail
        with WSAEOPNOTSUPP.

        Raises:
            PortPoolError: WSAEAFNOSUPPORT (W6), WSAESOCKTNOSUPPORT (W7),
                WSAEPROTONOSUPPORT (W8, W9), WSAEINVAL (AF_UNSPEC with protocol 0: W13),
                WSAEACCES (SOCK_RAW without administrator rights: W10).
        """

    @abc.abstractmethod
    def create_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """CreatePersistent{Tcp,Udp}PortReservation; ``start`` in host byte order.

        Returns:
            The token.  It may change at a reboot: look it up again (A10).

        Raises:
            PortPoolError: ERROR_INVALID_PARAMETER (zero start or count, block past
                65535: R13a); ERROR_ACCESS_DENIED (not an administrator: R13);
                ERROR_SHARING_VIOLATION (overlaps a reservation or a bound port:
                R13b, A15).
        """

    @abc.abstractmethod
    def lookup_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """LookupPersistent{Tcp,Udp}PortReservation: the token of that exact block.

        Raises:
            PortPoolError: ERROR_INVALID_PARAMETER (R13a); ERROR_NOT_FOUND (R15).
        """

    @abc.abstractmethod
    def delete_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> None:
        """DeletePersistent{Tcp,Udp}PortReservation of that exact block.

        Raises:
            PortPoolError: ERROR_INVALID_PARAMETER (R13a); ERROR_ACCESS_DENIED (R13);
                ERROR_NOT_FOUND (R16).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release what the pool holds (the emulated one ends its process)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: builtins.type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
