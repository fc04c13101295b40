"""The machine's own invariants, checked after calls: its structure (:func:`check_host`)
and what introspection shows (compared around refused calls).  The postconditions that
read the machine after a bind or a lookup are :class:`~._world.World`'s methods.
"""

from __future__ import annotations

import bisect
import collections
import itertools
from typing import Any

from ..._host import EmulatedHost
from ..._types import MAX_PORT, Family, PortRange, Protocol
from ._sites import exception_site


def _is_system_row(row: Any) -> bool:
    owner = getattr(row, "owner", None)
    return not row.administered and isinstance(owner, str) and not owner.startswith("process ")


def check_host(host: EmulatedHost, *, full: bool = False) -> list[str]:
    """The machine's structural invariants; returns the problems found (none: ``[]``).

    Holds the host's lock (when it has one) so that threads see one consistent state.
    """
    lock = getattr(host, "lock", None)
    if lock is None:
        return _check_host(host, full)
    with lock:
        return _check_host(host, full)


def _check_host(host: EmulatedHost, full: bool) -> list[str]:
    machine = host.machine
    problems: list[str] = (machine.sharing_problems() if hasattr(machine, "sharing_problems")
                           else [])
    tokens: set[int] = set()
    for protocol in Protocol:
        try:
            reservations = host.reservations(protocol)
            bindings = host.bindings(protocol)
            rows = host.exclusions(protocol) if full and hasattr(host, "exclusions") else ()
        except Exception as exc:  # introspection must never raise
            return [f"introspection of {protocol.name} raised {type(exc).__name__}:"
                    f" {exc} at {exception_site(exc)}"]
        blocks = [(r.range, f"token {r.token:#x}") for r in reservations]
        blocks += [(row.range, f"exclusion of {row.owner}") for row in rows if _is_system_row(row)]
        blocks.sort(key=lambda b: (b[0].start, b[0].count))
        for (a, what_a), (b, what_b) in itertools.pairwise(blocks):
            if a.overlaps(b):
                problems.append(f"{protocol.name} blocks overlap: {a!r} ({what_a}) and {b!r}"
                                f" ({what_b})")
        for res in reservations:
            if res.token == 0 or res.token in tokens:
                problems.append(f"token {res.token:#x} is zero or given twice")
            tokens.add(res.token)
            if res.protocol is not protocol:
                problems.append(f"{protocol.name} reservation {res!r} says {res.protocol}")
            if not res.persistent:
                owner = machine.reservation_owner(res.token)
                if owner is None or not machine.is_alive(owner):
                    problems.append(f"runtime block {res.range!r} of process {owner} outlives it")
        sockets = [(b.pid, b.socket) for b in bindings]
        if len(set(sockets)) != len(sockets):  # a port may have several holders (C1-C19)
            twice = sorted(k for k, n in collections.Counter(sockets).items() if n > 1)
            problems.append(f"{protocol.name} sockets listed twice: {twice[:10]}")
        live: dict[int, set[int]] = {}
        for binding in bindings:
            if binding.pid not in live:
                live[binding.pid] = (set(machine.sockets_of(binding.pid))
                                     if machine.is_alive(binding.pid) else set())
            if binding.socket not in live[binding.pid]:
                problems.append(f"{protocol.name} port {binding.port} is bound by socket"
                                f" {binding.socket:#x} of process {binding.pid}, which is gone")
            if not 1 <= binding.port <= MAX_PORT:
                problems.append(f"binding to port {binding.port}")
        if full and hasattr(machine, "free_ports"):
            taken = sorted(b[0] for b in blocks)
            # Ports held by TCP connections (TIME_WAIT and the rest) are taken too (T8).
            held = {c.local_port for c in host.connections(protocol) if c.state not in
                    (None, "LISTENING")} if hasattr(host, "connections") else set()
            bound_ports = sorted({b.port for b in bindings} | held)
            for family in Family:
                problem = _free_count_problem(machine, protocol, family,
                                              host.dynamic_range(protocol, family), taken,
                                              bound_ports)
                if problem:
                    problems.append(problem)
    if full:
        try:
            hash(host.snapshot())
        except Exception as exc:
            problems.append(f"host.snapshot() is not hashable: {type(exc).__name__}: {exc}")
    return problems


def _free_count_problem(machine: Any, protocol: Protocol, family: Family, dynamic: PortRange,
                        blocks: list[PortRange], bound: list[int]) -> str | None:
    """The machine's count of free dynamic ports against one rebuilt from what it shows."""
    covered = sum(max(0, min(b.last, dynamic.last) - max(b.start, dynamic.start) + 1)
                  for b in blocks)
    starts = [b.start for b in blocks]
    for port in bound:
        if port in dynamic:
            index = bisect.bisect_right(starts, port) - 1
            if index < 0 or port > blocks[index].last:
                covered += 1
    expected = dynamic.count - covered
    actual = machine.free_ports(protocol, family)
    if actual != expected:
        return (f"{protocol.name} {family.name}: the machine counts {actual} free ports in"
                f" {dynamic!r}, its blocks, bindings and connections leave {expected}")
    return None



def _view(host: EmulatedHost) -> object:
    """What introspection shows (for calls that legitimately start a process)."""
    parts: list[object] = []
    for protocol in Protocol:
        parts.append(host.reservations(protocol))
        parts.append(host.bindings(protocol))
        if hasattr(host, "exclusions"):
            parts.append(host.exclusions(protocol))
        for family in Family:
            parts.append(host.dynamic_range(protocol, family))
    return tuple(parts)
