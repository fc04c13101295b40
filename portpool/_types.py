"""Frozen values shared by the model, the interface and every backend."""

from __future__ import annotations

import enum
import functools
import ipaddress
import socket as _socket
from typing import Final

import attrs

from ._errors import shown

__all__ = [
    "AF_INET",
    "AF_INET6",
    "IPPROTO_IPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "IPV6_V6ONLY",
    "MAX_PORT",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_STREAM",
    "SOL_SOCKET",
    "SOMAXCONN",
    "SO_EXCLUSIVEADDRUSE",
    "SO_LINGER",
    "SO_REUSEADDR",
    "Binding",
    "Connection",
    "Exclusion",
    "Family",
    "PortRange",
    "Protocol",
    "Reservation",
    "address_text",
    "linger",
]

MAX_PORT: Final = 65535

# Winsock's values (ws2def.h).  AF_INET6 is 23 on Windows and 10 on Linux; portpool
# speaks Windows, and also accepts the running platform's socket.AF_INET6.
AF_INET: Final = 2
AF_INET6: Final = 23
SOCK_STREAM: Final = 1
SOCK_DGRAM: Final = 2
SOCK_RAW: Final = 3
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17

# The socket options the model knows (winsock2.h, ws2ipdef.h); Windows' values, which
# differ from Linux's (SOL_SOCKET is 1 and SO_REUSEADDR 2 there).
SOL_SOCKET: Final = 0xFFFF
SO_REUSEADDR: Final = 4
SO_EXCLUSIVEADDRUSE: Final = ~SO_REUSEADDR  # -5: winsock2.h's ((int)(~SO_REUSEADDR))
IPPROTO_IPV6: Final = 41
IPV6_V6ONLY: Final = 27
#: SO_LINGER (winsock2.h 0x0080): its value is a LINGER, two u_shorts (l_onoff, l_linger).
SO_LINGER: Final = 0x0080
#: listen()'s "a maximum reasonable value" (winsock2.h 0x7fffffff, rule S4).
SOMAXCONN: Final = 0x7FFFFFFF


class Protocol(enum.IntEnum):
    """A transport protocol with a port pool of its own (the IPPROTO_* number)."""

    TCP = 6
    UDP = 17


_PROTOCOL_OF_TYPE: Final[dict[int, Protocol]] = {SOCK_STREAM: Protocol.TCP, SOCK_DGRAM: Protocol.UDP}


class Family(enum.IntEnum):
    """The address families whose sockets use the port pools."""

    INET = AF_INET
    INET6 = AF_INET6

    @classmethod
    def from_value(cls, value: int) -> Family | None:
        """Winsock's value, or the running platform's ``socket.AF_*``; ``None`` if neither."""
        if value == AF_INET:
            return cls.INET
        if value in (AF_INET6, int(_socket.AF_INET6)):
            return cls.INET6
        return None


def protocol_of(kind: int) -> Protocol | None:
    """The pool a socket type uses: TCP for SOCK_STREAM, UDP for SOCK_DGRAM, else none."""
    return _PROTOCOL_OF_TYPE.get(kind)


_IS_INT: Final = attrs.validators.instance_of(int)


def _check_start(instance: PortRange, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int:  # a plain int passes at once (ranges are made on hot paths)
        _IS_INT(instance, attribute, value)  # instance_of(int)'s own TypeError, or passes


def _check_range(instance: PortRange, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int:
        _IS_INT(instance, attribute, value)
    if not 1 <= instance.start <= MAX_PORT or instance.count < 1:
        raise ValueError(f"a port range needs start in 1-65535 and count >= 1, not {shown(value)}")
    if instance.start + instance.count - 1 > MAX_PORT:
        raise ValueError(f"ports {shown(instance.start)}+{shown(instance.count)} run past 65535")


@attrs.frozen(repr=False, order=True)
class PortRange:
    """A block of ``count`` ports starting at ``start`` (host byte order).

    >>> PortRange(49152, 16384)
    PortRange(49152-65535)
    """

    start: int = attrs.field(validator=_check_start)  # instance_of(int), with a fast path
    count: int = attrs.field(validator=_check_range)  # instance_of(int), then the limits

    @property
    def last(self) -> int:
        """The last port of the block (inclusive)."""
        return self.start + self.count - 1

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.start <= port <= self.last

    def overlaps(self, other: PortRange) -> bool:
        """Whether the two blocks share a port."""
        return self.start <= other.last and other.start <= self.last

    def __repr__(self) -> str:
        return f"PortRange({self.start}-{self.last})"


@attrs.frozen
class Reservation:
    """A reserved block of ports and the token that lets sockets use it.

    Attributes:
        token: the opaque 64-bit token (never 0, INVALID_PORT_RESERVATION_TOKEN).
        protocol: TCP or UDP: each protocol has a pool of its own.
        range: the block.
        persistent: ``True`` for CreatePersistent*PortReservation blocks, ``False``
            for runtime (SIO_ACQUIRE_PORT_RESERVATION) blocks.
    """

    token: int
    protocol: Protocol
    range: PortRange
    persistent: bool


@attrs.frozen
class Binding:
    """A socket bound to a port: what ``host.bindings()`` reports.

    Attributes:
        protocol: the pool the port belongs to.
        port: the local port.
        host: the local address, as Windows prints it back (``"0.0.0.0"`` or ``"::"``
            for the unspecified address, which ``bind`` takes as ``""``).
        family: IPv4 or IPv6.
        pid: the owning process.
        socket: the socket's handle (its ``fileno()``).
        token: the reservation the port came from through association, if any.
    """

    protocol: Protocol
    port: int
    host: str
    family: Family
    pid: int
    socket: int
    token: int | None


def linger(on: bool, seconds: int = 0) -> bytes:
    """SO_LINGER's value, a LINGER (two little-endian u_shorts: l_onoff, l_linger).

    ``linger(True, 0)`` makes closesocket reset the connection instead of leaving it in
    TIME_WAIT (rule T4).

    Raises:
        TypeError: ``seconds`` is not an int.
        ValueError: ``seconds`` outside 0-65535.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"seconds must be an int, not {type(seconds).__name__}")
    if not 0 <= seconds <= MAX_PORT:
        raise ValueError(f"seconds must be 0-65535 (a u_short), not {seconds}")
    return int(bool(on)).to_bytes(2, "little") + seconds.to_bytes(2, "little")


@attrs.frozen
class Connection:
    """One row of ``netstat -ano`` on an emulated machine: ``host.connections()``.

    A listening TCP socket (``state`` ``"LISTENING"``, no remote address), one side of a
    TCP connection (``"ESTABLISHED"``, ``"CLOSE_WAIT"``, ``"FIN_WAIT_2"``,
    ``"TIME_WAIT"``), or a bound UDP socket (``state`` ``None``; a remote address once
    connected) (rule T12).

    Attributes:
        protocol: TCP or UDP.
        family: the IP version of its addresses.
        local_host, local_port: the local address (``"0.0.0.0"``/``"::"`` for a wildcard).
        remote_host, remote_port: the peer; ``None`` for a listener and an unconnected
            UDP socket.
        state: the TCP state as netstat names it; ``None`` for UDP.
        pid: the owning process; 0 once no process owns it (TIME_WAIT, FIN_WAIT_2).
        expires: for TIME_WAIT, the clock time (``host.clock``) it ends; else ``None``.
        socket: the owning socket's handle, if a socket owns it.
    """

    protocol: Protocol
    family: Family
    local_host: str
    local_port: int
    remote_host: str | None
    remote_port: int | None
    state: str | None
    pid: int
    expires: float | None = None
    socket: int | None = None


@attrs.frozen(order=True)
class Exclusion:
    """One row of ``netsh interface ipv4 show excludedportrange``: ``host.exclusions()``.

    Attributes:
        protocol: TCP or UDP (each has its own list; IPv4 and IPv6 share it, rule X10).
        start: the first port.
        end: the last port (inclusive, as netsh prints it).
        administered: ``True`` for a persistent reservation (a ``*`` row), made by
            CreatePersistent*PortReservation or ``netsh add excludedportrange``.
        owner: the Windows component that placed a system row ("WinNAT", "HTTP.sys"),
            ``"process <pid>"`` for a runtime reservation (rule X13), ``None`` for an
            administered row.
    """

    protocol: Protocol
    start: int
    end: int
    administered: bool
    owner: str | None

    @property
    def range(self) -> PortRange:
        """The row as a :class:`PortRange`."""
        return PortRange(self.start, self.end - self.start + 1)


@functools.lru_cache(maxsize=256)  # bind is hot; the same few literals recur
def address_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """``address`` as Windows prints it (RtlIpv6AddressToString): Python's text, but an
    IPv4-mapped address ends in dotted decimal (``::ffff:127.0.0.1``), as Python 3.13
    prints it too and 3.11 does not (``::ffff:7f00:1``)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def parse_host(host: str, family: Family) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a bind's host text names for ``family``, or ``None`` if it names none.

    ``""`` is the unspecified address.  An IPv6 scope (``fe80::1%1``) is dropped, as a
    sockaddr made from the text alone carries none; an empty scope (``::1%``) or a scope
    on an IPv4 address names no address.  The one parser both backends use, so the
    emulated model and the ctypes backend's sockaddr agree on every text.
    """
    text, percent, scope = host.partition("%")
    if percent and (family is Family.INET or not scope):
        return None
    if not text:
        return None if percent else (
            ipaddress.IPv4Address(0) if family is Family.INET else ipaddress.IPv6Address(0))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address if address.version == (4 if family is Family.INET else 6) else None
