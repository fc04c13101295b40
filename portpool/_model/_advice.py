"""A safe block for one's own server: ``host.find_free_block(count)``, ``portpool advise``.

The fix people apply by hand on Windows machines where WinNAT or Visual Studio took
their ports: pick a block that no dynamic range covers (so no bind(0), no wildcard
reservation and no WinNAT row placed at the next boot lands in it: rules W1, X1, X4),
that no row and no socket holds now, and reserve it with ``netsh int ipv4 add
excludedportrange ... store=persistent`` (an administered row: a plain bind inside it
still succeeds, rule X15).

Computed from the machine's public queries alone (``dynamic_range``, ``exclusions``,
``reservations``, ``bindings``), so it reads the same on any machine a host can be
made of, a real one's netsh output included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from .._errors import shown
from .._types import MAX_PORT, Family, PortRange, Protocol
from ._machine import Machine

__all__ = ["LOWEST_SAFE_PORT", "find_free_block", "taken_ranges"]

#: Ports below this are the well-known ports of services; the advisor never offers them.
LOWEST_SAFE_PORT: Final = 1024


def _protocols(value: object) -> tuple[Protocol, ...]:
    if isinstance(value, int):
        items: tuple[object, ...] = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        items = tuple(value)
    else:
        raise TypeError(f"protocols must be a Protocol or a sequence of them, not {shown(value)}")
    out: list[Protocol] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"protocols must be Protocol values, not {shown(item)}")
        if item not in (Protocol.TCP, Protocol.UDP):
            raise ValueError(f"protocols must be Protocol.TCP (6) or Protocol.UDP (17), not {shown(item)}")
        if Protocol(item) not in out:
            out.append(Protocol(item))
    if not out:
        raise ValueError("protocols must name at least one protocol")
    return tuple(out)


def taken_ranges(machine: Machine, protocols: Sequence[Protocol]) -> list[PortRange]:
    """Every range the advisor must avoid for ``protocols``, merged and sorted: the ports
    below 1024, every dynamic range (ipv4 and ipv6), every row netsh lists, every
    reservation and every bound port."""
    spans: list[tuple[int, int]] = [(1, LOWEST_SAFE_PORT - 1)]
    for protocol in protocols:
        for family in Family:
            dynamic = machine.dynamic_range(protocol, family)
            spans.append((dynamic.start, dynamic.last))
        spans += [(row.start, row.end) for row in machine.exclusions(protocol)]
        spans += [(res.range.start, res.range.last) for res in machine.reservations(protocol)]
        spans += [(b.port, b.port) for b in machine.bindings(protocol)]
    merged: list[list[int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [PortRange(first, last - first + 1) for first, last in merged]


def find_free_block(machine: Machine, count: object,
                    protocols: object = (Protocol.TCP, Protocol.UDP)) -> PortRange:
    """The lowest block of ``count`` ports free for every one of ``protocols``.

    Free means: at or above 1024, outside every dynamic range of those protocols (ipv4
    and ipv6), outside every row netsh lists (system exclusions, administered rows,
    runtime blocks) and every reservation, and held by no socket.  Such a block can be
    reserved with ``netsh int ipv4 add excludedportrange`` (it overlaps nothing: R13b,
    X6) and nothing Windows places later lands in it (W1, X1, X4).

    Args:
        machine: the machine to read.
        count: how many ports (1-64512).
        protocols: a :class:`Protocol` or several; default TCP and UDP.

    Returns:
        The block, as a :class:`PortRange`.

    Raises:
        TypeError: ``count`` is not an int, or ``protocols`` holds something else.
        ValueError: ``count`` is out of 1-64512, or no such block exists (the message
            names the dynamic ranges that cover the space).
    """
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, not {type(count).__name__}")
    room = MAX_PORT - LOWEST_SAFE_PORT + 1
    if not 1 <= count <= room:
        raise ValueError(f"count must be in 1-{room}, not {count}")
    chosen = _protocols(protocols)
    with machine.lock:
        taken = taken_ranges(machine, chosen)
        ranges = sorted({machine.dynamic_range(p, f) for p in chosen for f in Family})
    cursor = LOWEST_SAFE_PORT
    for block in taken:
        if block.start - cursor >= count:
            return PortRange(cursor, count)
        cursor = max(cursor, block.last + 1)
    if MAX_PORT + 1 - cursor >= count:
        return PortRange(cursor, count)
    names = "/".join(p.name for p in chosen)
    shown = ", ".join(f"{r.start}-{r.last}" for r in ranges)
    raise ValueError(f"no block of {count} free {names} ports outside the dynamic ranges ({shown})"
                     " and the rows above 1024; shrink a dynamic range (netsh int ipv4 set"
                     " dynamicport tcp start=49152 num=16384, as an administrator) or ask for"
                     " fewer ports")
