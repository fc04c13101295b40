"""The socket options Windows has, as data: who has each, its width, default and range.

Theory of operation
-------------------
Windows accepts far more options than the three that change how a port is shared
(rule O1): SO_KEEPALIVE, SO_RCVBUF, TCP_NODELAY, IP_TTL and the rest are kept and read
back.  Each row of :data:`OPTIONS` says, for one ``(level, name)``:

* which sockets have it (``kinds``: ``"stream"``, ``"dgram"``, ``"raw"``; and
  ``families``) and the code another kind gets (``wrong_kind``: WSAENOPROTOOPT when the
  option does not exist for it, WSAEINVAL when it exists but does not apply, as Wine's
  ``test_sockopt_validity`` records);
* its width: the bytes getsockopt writes and reports (``width``: 1 for the BOOLEAN
  options such as SO_KEEPALIVE and TCP_NODELAY, 4 for a BOOL or DWORD, 4 for LINGER);
* whether setsockopt accepts fewer bytes than that (``short``), what getsockopt does
  with a buffer shorter than it (``short_get``), whether a non-zero value reads back
  as 1 (``boolean``), the largest value accepted (``maximum``: WSAEINVAL above it),
  whether it can be set at all (``settable``), and its value on a new socket
  (``default``; per socket kind where Windows differs, IP_DONTFRAGMENT).

The widths and length rules are Wine's ``test_optsize`` table (``sock.c``
``test_set_getsockopt``), which runs on Windows; the existence rules are
``test_sockopt_validity``; the defaults are Windows' where a test reads them
(SO_REUSEADDR 0, IPV6_V6ONLY 1, SO_BROADCAST 0, SO_DEBUG 0, IP_DONTFRAGMENT,
SO_CONNECT_TIME) and otherwise assumed (rule O10).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from .._errors import WinError

__all__ = ["OPTIONS", "OptionSpec", "option_spec"]

SOL_SOCKET: Final = 0xFFFF
IPPROTO_IP: Final = 0
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17
IPPROTO_IPV6: Final = 41

Kind = Literal["stream", "dgram", "raw"]
#: what getsockopt does when ``*optlen`` is positive but below the option's width:
#: ``bytes``: writes ``*optlen`` bytes, reports 1; ``byte``: writes one byte, reports 1;
#: ``fail-zero``: WSAEFAULT, ``*optlen`` bytes zeroed, ``*optlen`` kept;
#: ``fail-keep``: WSAEFAULT, buffer and ``*optlen`` kept; ``fail-reset``: WSAEFAULT,
#: buffer kept, ``*optlen`` set to 0.
ShortGet = Literal["bytes", "byte", "fail-zero", "fail-keep", "fail-reset"]
_ALL: Final[frozenset[str]] = frozenset({"stream", "dgram", "raw"})
_STREAM: Final[frozenset[str]] = frozenset({"stream"})
_DGRAM: Final[frozenset[str]] = frozenset({"dgram", "raw"})
_BOTH: Final[frozenset[int]] = frozenset({2, 23})
_V4: Final[frozenset[int]] = frozenset({2})
_V6: Final[frozenset[int]] = frozenset({23})


@attrs.frozen
class OptionSpec:
    """One option Windows has (see the module docstring).

    Attributes:
        level, name: the option's level and number (Winsock's).
        label: its C name, for messages.
        width: the bytes getsockopt writes and reports for it.
        kinds: the socket types that have it; families: the address families.
        wrong_kind: the code for a socket outside ``kinds``.
        default: its value on a new socket, or a mapping per socket kind.
        boolean: a non-zero value reads back as 1.
        short: setsockopt accepts 1 to ``width``-1 bytes (read as that many bytes).
        short_get: getsockopt with a buffer below ``width`` (see :data:`ShortGet`).
        maximum: the largest value setsockopt accepts (WSAEINVAL above it).
        settable: setsockopt may change it (a read-only option: WSAENOPROTOOPT).
        rule: the rule that gives it its meaning beyond storage, if any.
    """

    level: int
    name: int
    label: str
    width: int = 4
    kinds: frozenset[str] = _ALL
    families: frozenset[int] = _BOTH
    wrong_kind: WinError = WinError.WSAENOPROTOOPT
    default: int | Mapping[str, int] = 0
    boolean: bool = False
    short: bool = False
    short_get: ShortGet = "fail-keep"
    maximum: int = 0xFFFFFFFF
    settable: bool = True
    rule: str = "O1"

    def default_for(self, kind: str) -> int:
        """The value a new socket of ``kind`` has."""
        if isinstance(self.default, int):
            return self.default
        return self.default.get(kind, 0)


def _sol(name: int, label: str, **kw: Any) -> OptionSpec:
    """A SOL_SOCKET row."""
    return OptionSpec(SOL_SOCKET, name, label, **kw)


def _bool_sol(name: int, label: str, **kw: Any) -> OptionSpec:
    """A SOL_SOCKET BOOL: 1-3 bytes accepted, a short buffer gets its low bytes (O3, B18)."""
    return OptionSpec(SOL_SOCKET, name, label, boolean=True, short=True, short_get="bytes", **kw)


_EINVAL: Final = WinError.WSAEINVAL
_ROWS: Final[tuple[OptionSpec, ...]] = (
    # SOL_SOCKET (sol-socket-socket-options; widths from test_optsize)
    _sol(0x1, "SO_DEBUG", boolean=True),
    _sol(0x2, "SO_ACCEPTCONN", kinds=_STREAM, boolean=True, settable=False),
    _bool_sol(0x4, "SO_REUSEADDR", rule="O4"),
    _sol(0x8, "SO_KEEPALIVE", width=1, kinds=_STREAM, short=True, short_get="byte"),
    _sol(0x10, "SO_DONTROUTE", width=1, short=True, short_get="byte"),
    _bool_sol(0x20, "SO_BROADCAST", kinds=_DGRAM, rule="L4"),
    _sol(0x80, "SO_LINGER", kinds=_STREAM, short_get="fail-zero"),
    _bool_sol(0x100, "SO_OOBINLINE", kinds=_STREAM),
    _bool_sol(~0x80, "SO_DONTLINGER", kinds=_STREAM, default=1),
    _bool_sol(~0x4, "SO_EXCLUSIVEADDRUSE", rule="O4"),
    _sol(0x1001, "SO_SNDBUF", default=65536, short_get="fail-zero"),
    _sol(0x1002, "SO_RCVBUF", default=65536, short_get="fail-zero"),
    _sol(0x1005, "SO_SNDTIMEO"),
    _sol(0x1006, "SO_RCVTIMEO"),
    _sol(0x1007, "SO_ERROR"),
    _sol(0x1008, "SO_TYPE", settable=False),
    _sol(0x2003, "SO_MAX_MSG_SIZE", kinds=_DGRAM, default=65507, settable=False),
    _bool_sol(0x3005, "SO_RANDOMIZE_PORT", rule="O11"),
    _bool_sol(0x3006, "SO_PORT_SCALABILITY", rule="O12"),
    _bool_sol(0x3007, "SO_REUSE_UNICASTPORT", rule="O13"),
    _sol(0x700C, "SO_CONNECT_TIME", default=0xFFFFFFFF, settable=False),
    # IPPROTO_TCP
    OptionSpec(IPPROTO_TCP, 1, "TCP_NODELAY", width=1, kinds=_STREAM, short=True, short_get="byte"),
    OptionSpec(IPPROTO_TCP, 3, "TCP_KEEPALIVE", kinds=_STREAM, short_get="fail-reset", default=7200),
    OptionSpec(IPPROTO_TCP, 16, "TCP_KEEPCNT", kinds=_STREAM, short_get="fail-reset", maximum=255,
               default=10),
    OptionSpec(IPPROTO_TCP, 17, "TCP_KEEPINTVL", kinds=_STREAM, short_get="fail-reset", default=1),
    # IPPROTO_IP (AF_INET sockets)
    OptionSpec(IPPROTO_IP, 1, "IP_OPTIONS", families=_V4, width=0),
    OptionSpec(IPPROTO_IP, 2, "IP_HDRINCL", families=_V4, kinds=frozenset({"raw"}),
               wrong_kind=_EINVAL, boolean=True),
    OptionSpec(IPPROTO_IP, 3, "IP_TOS", families=_V4, short=True, short_get="byte", maximum=255),
    OptionSpec(IPPROTO_IP, 4, "IP_TTL", families=_V4, short=True, short_get="byte", maximum=255,
               default=128),
    OptionSpec(IPPROTO_IP, 9, "IP_MULTICAST_IF", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL),
    OptionSpec(IPPROTO_IP, 10, "IP_MULTICAST_TTL", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL,
               short=True, short_get="byte", maximum=255, default=1),
    OptionSpec(IPPROTO_IP, 11, "IP_MULTICAST_LOOP", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short=True, short_get="byte", default=1),
    OptionSpec(IPPROTO_IP, 14, "IP_DONTFRAGMENT", families=_V4, boolean=True,
               default={"stream": 1}),
    OptionSpec(IPPROTO_IP, 19, "IP_PKTINFO", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
    OptionSpec(IPPROTO_IP, 21, "IP_RECVTTL", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
    OptionSpec(IPPROTO_IP, 31, "IP_UNICAST_IF", families=_V4),
    OptionSpec(IPPROTO_IP, 40, "IP_RECVTOS", families=_V4, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
    # IPPROTO_IPV6 (AF_INET6 sockets; IPV6_V6ONLY on AF_INET ones too, rule O8)
    OptionSpec(IPPROTO_IPV6, 4, "IPV6_UNICAST_HOPS", families=_V6, short=True, short_get="byte",
               maximum=255, default=128),
    OptionSpec(IPPROTO_IPV6, 9, "IPV6_MULTICAST_IF", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL),
    OptionSpec(IPPROTO_IPV6, 10, "IPV6_MULTICAST_HOPS", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL,
               short=True, short_get="byte", maximum=255, default=1),
    OptionSpec(IPPROTO_IPV6, 11, "IPV6_MULTICAST_LOOP", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short=True, short_get="byte", default=1),
    OptionSpec(IPPROTO_IPV6, 14, "IPV6_DONTFRAG", families=_V6, boolean=True, short=True,
               short_get="byte"),
    OptionSpec(IPPROTO_IPV6, 19, "IPV6_PKTINFO", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
    OptionSpec(IPPROTO_IPV6, 21, "IPV6_HOPLIMIT", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
    OptionSpec(IPPROTO_IPV6, 23, "IPV6_PROTECTION_LEVEL", families=_V6),
    OptionSpec(IPPROTO_IPV6, 27, "IPV6_V6ONLY", width=1, short=True, short_get="byte", default=1,
               rule="O6"),
    OptionSpec(IPPROTO_IPV6, 31, "IPV6_UNICAST_IF", families=_V6),
    OptionSpec(IPPROTO_IPV6, 40, "IPV6_RECVTCLASS", families=_V6, kinds=_DGRAM, wrong_kind=_EINVAL,
               boolean=True, short_get="fail-reset"),
)
OPTIONS: Final[Mapping[tuple[int, int], OptionSpec]] = {(r.level, r.name): r for r in _ROWS}


def option_spec(level: int, name: int) -> OptionSpec | None:
    """The row for ``(level, name)``, or ``None`` for an option Windows lacks."""
    return OPTIONS.get((level, name))
