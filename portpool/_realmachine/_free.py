"""``portpool.free_port()``: a port that binds now and lies in no exclusion row.

Theory of operation
-------------------
Port pickers test-bind a port and trust the result.  On Windows that is not enough: a
plain bind inside an administered (``*``) row succeeds (rule X15) although the row is
there to keep the port for its owner, a TCP port may bind while the same UDP port is in
a UDP row, and a port of the dynamic range is where WinNAT puts its 100-port rows at the
next boot (X1).  So :func:`free_port`

1. reads the machine's rows and dynamic ranges through the seam (netsh in any display
   language on Windows, the patched emulated machine under :func:`portpool.patch`,
   nothing elsewhere: :mod:`._rows`);
2. draws candidates: for one port, what ``bind(0)`` hands out (the OS's own choice, as
   pytest-asyncio and portpicker do), else a start drawn at random among the ports at or
   above 1024 that no row of the protocols (and, with ``outside_dynamic``, no dynamic
   range) meets;
3. keeps the first candidate whose every port binds now, for every protocol asked for,
   on the family's wildcard and loopback addresses; a refusal with WSAEACCES (10013:
   a row, or another account's exclusive socket) counts as busy, like WSAEADDRINUSE
   (10048) and WSAEADDRNOTAVAIL (10049).

The test binds go through the ``socket`` module, so under the patch they meet the
emulated machine: that is how the suite runs this Windows path on Linux.
"""

from __future__ import annotations

import errno
import random
import socket
import time
from collections.abc import Sequence
from typing import Final

from .._types import MAX_PORT, Family, Protocol
from ._rows import MachineRows, read_rows
from ._seam import Seam, WindowsSeam, current_seam

__all__ = ["NoFreePortError", "free_port", "parse_protocols"]

_FIRST: Final = 1024  # below it: well-known ports, and privileged ones elsewhere
_ATTEMPTS: Final = 200  # candidates tried before giving up (each is test-bound)
_BIND0_TRIES: Final = 16
#: Codes that mean "not this port" (Windows codes, and the errno values they map to).
_BUSY_WINERRORS: Final = frozenset({10013, 10048, 10049})
_BUSY_ERRNOS: Final = frozenset({errno.EACCES, errno.EADDRINUSE, errno.EADDRNOTAVAIL})
_WILDCARD: Final = {Family.INET: "0.0.0.0", Family.INET6: "::"}
_LOOPBACK: Final = {Family.INET: "127.0.0.1", Family.INET6: "::1"}
_KIND: Final = {Protocol.TCP: socket.SOCK_STREAM, Protocol.UDP: socket.SOCK_DGRAM}


class NoFreePortError(RuntimeError):
    """:func:`free_port` found no port (or block) that binds outside every row; the
    message says what was searched."""


def parse_protocols(protocol: object) -> tuple[Protocol, ...]:
    """``"tcp"``, ``"udp"``, ``"both"`` or a :class:`Protocol` -> the protocols.

    Raises:
        TypeError, ValueError: anything else.
    """
    if isinstance(protocol, Protocol):
        return (protocol,)
    if not isinstance(protocol, str):
        raise TypeError(f"protocol must be 'tcp', 'udp', 'both' or a Protocol, not {type(protocol).__name__}")
    word = protocol.lower()
    if word == "both":
        return (Protocol.TCP, Protocol.UDP)
    if word in ("tcp", "udp"):
        return (Protocol[word.upper()],)
    raise ValueError(f"protocol must be 'tcp', 'udp' or 'both', not {protocol!r}")


#: On this Windows machine, the rows read last and when (time.monotonic()): six netsh
#: process starts per draw add up over a test session that draws many ports.  Rows change when
#: winnat restarts or the machine boots; a port in a row that moved since is still caught
#: by the test bind (WSAEACCES is busy).
_READ: list[tuple[float, MachineRows]] = []
_KEEP_SECONDS: Final = 10.0


def _rows_now(seam: Seam) -> MachineRows:
    """The seam's rows; this Windows machine's are kept for :data:`_KEEP_SECONDS`."""
    if not isinstance(seam, WindowsSeam):
        return read_rows(seam)  # the emulated machine changes under the tests' hands: read it each time
    now = time.monotonic()
    if _READ and now - _READ[0][0] < _KEEP_SECONDS:
        return _READ[0][1]
    rows = read_rows(seam)
    _READ[:] = [(now, rows)]
    return rows


def _family(value: object) -> Family:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"family must be socket.AF_INET or socket.AF_INET6, not {value!r}")
    found = Family.from_value(int(value))
    if found is None:
        raise ValueError(f"family must be socket.AF_INET or socket.AF_INET6, not {value!r}")
    return found


def _os_family(family: Family) -> int:
    return int(socket.AF_INET if family is Family.INET else socket.AF_INET6)


def _busy(exc: OSError) -> bool:
    code = getattr(exc, "winerror", None)
    if isinstance(code, int):
        return code in _BUSY_WINERRORS
    return exc.errno in _BUSY_ERRNOS


def _binds(protocols: Sequence[Protocol], family: Family, start: int, count: int) -> bool:
    """Whether every port of the block binds now, for every protocol, on the wildcard and
    the loopback address (each socket closed at once)."""
    for port in range(start, start + count):
        for protocol in protocols:
            for host in (_WILDCARD[family], _LOOPBACK[family]):
                with socket.socket(_os_family(family), _KIND[protocol]) as probe:
                    try:
                        probe.bind((host, port))
                    except OSError as exc:
                        if _busy(exc):
                            return False
                        raise
    return True


def _bind_zero(protocol: Protocol, family: Family) -> int | None:
    """What bind(0) hands out now (the socket is closed at once); None if it fails, for
    example with WSAENOBUFS when the dynamic range is full (A13)."""
    with socket.socket(_os_family(family), _KIND[protocol]) as probe:
        try:
            probe.bind((_LOOPBACK[family], 0))
        except OSError as exc:
            code = getattr(exc, "winerror", None)
            if _busy(exc) or code == 10055 or exc.errno == errno.ENOBUFS:
                return None
            raise
        port: int = probe.getsockname()[1]
        return port


def _spans(rows: MachineRows, protocols: Sequence[Protocol], outside_dynamic: bool,
           skip: set[int]) -> list[tuple[int, int]]:
    """The runs (first, last) of ports at or above 1024 outside every row of
    ``protocols`` (and every dynamic range with ``outside_dynamic``) and ``skip``."""
    cut: list[tuple[int, int]] = [(row.start, row.end) for p in protocols for row in rows.rows[p]]
    if outside_dynamic:
        cut += [(r.start, r.last) for p in protocols for f in Family for r in (rows.dynamic[(p, f)],)]
    cut += [(port, port) for port in skip]
    cut.sort()
    spans, nxt = [], _FIRST
    for first, last in cut:
        if first > nxt:
            spans.append((nxt, first - 1))
        nxt = max(nxt, last + 1)
    if nxt <= MAX_PORT:
        spans.append((nxt, MAX_PORT))
    return spans


def _draw(spans: list[tuple[int, int]], count: int, rng: random.Random) -> int | None:
    """A start drawn uniformly among the blocks of ``count`` that fit in one span."""
    fits = [(first, last - first - count + 2) for first, last in spans if last - first + 1 >= count]
    total = sum(n for _, n in fits)
    if total == 0:
        return None
    pick = rng.randrange(total)
    for first, n in fits:
        if pick < n:
            return first + pick
        pick -= n
    return None  # pragma: no cover - pick < total


def free_port(protocol: str | Protocol = "tcp", *, family: int = socket.AF_INET, count: int = 1,
              outside_dynamic: bool = False, rng: random.Random | None = None) -> int:
    """A port that binds now and lies in no exclusion row (the first of a block with ``count``).

    On Windows it reads the rows with netsh (any display language) and test-binds the
    port; elsewhere a bind(0), as pytest-asyncio's ``unused_tcp_port`` does.  Under
    :func:`portpool.patch` the patched emulated machine is the machine.

    Args:
        protocol: ``"tcp"``, ``"udp"`` or ``"both"`` (the port must be free for both, and
            in no row of either).
        family: ``socket.AF_INET`` or ``socket.AF_INET6``: the test binds' family.  The
            rows are the same for both (rule X10).
        count: how many consecutive ports (1-64512); the first is returned.
        outside_dynamic: also keep out of the dynamic ranges (IPv4 and IPv6 of each
            protocol), where bind(0) hands out ports and WinNAT places its rows at the next
            boot (X1).  Elsewhere than Windows: the kernel's ephemeral range.
        rng: the generator for random candidates (default: a new ``random.Random()``).

    Returns:
        The port (the block's first).  Nothing holds it when this returns: bind it soon,
        as with every port picker.

    Raises:
        TypeError, ValueError: a bad argument.
        NoFreePortError: no such port or block (the message says why).
        portpool.LiveMachineError: netsh failed on Windows.
    """
    protocols = parse_protocols(protocol)
    fam = _family(family)
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, not {type(count).__name__}")
    if not 1 <= count <= MAX_PORT - _FIRST + 1:
        raise ValueError(f"count must be in 1-{MAX_PORT - _FIRST + 1}, not {count}")
    if not isinstance(outside_dynamic, bool):
        raise TypeError(f"outside_dynamic must be True or False, not {outside_dynamic!r}")
    if rng is not None and not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, not {type(rng).__name__}")
    chooser = rng if rng is not None else random.Random()
    rows = _rows_now(current_seam())
    if count == 1 and not outside_dynamic:
        for _ in range(_BIND0_TRIES):
            port = _bind_zero(protocols[0], fam)
            if (port is not None and port >= _FIRST and not rows.rows_over(protocols, port, port)
                    and _binds(protocols, fam, port, 1)):
                return port
    skip: set[int] = set()
    for _ in range(_ATTEMPTS):
        start = _draw(_spans(rows, protocols, outside_dynamic, skip), count, chooser)
        if start is None:
            break
        if _binds(protocols, fam, start, count):
            return start
        skip.update(range(start, start + count))
    names = " and ".join(p.name for p in protocols)
    where = "outside every row" + (" and dynamic range" if outside_dynamic else "")
    ranges = ", ".join(sorted({repr(r) for r in rows.dynamic_over(protocols, 1, MAX_PORT)}))
    raise NoFreePortError(f"no block of {count} {names} port{'s' if count > 1 else ''} at or above"
                          f" {_FIRST} {where} binds now (dynamic ranges: {ranges};"
                          f" {len(skip)} ports tried were busy)")

