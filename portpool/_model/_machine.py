"""The state of one emulated Windows machine's port pools, and every operation on it.

Theory of operation
-------------------
``Machine`` is the single owner of mutable state.  It knows processes, sockets,
ports, reservations and tokens; it knows nothing of call shapes (no buffers, no
byte order, no IOCTL codes: those belong to the ABI room and the backends).

Per protocol it keeps these indexes, kept in step by the few private helpers at
the bottom of this file:

* ``bound``: port -> socket handle, a plain dict (binding and closing are the hot
  path); "which ports of lo..hi are bound" costs O(min(block size, bound ports));
* ``blocks``: block start -> block, sorted; blocks never overlap, so the only block
  that can contain a port is the one with the greatest start at or below it;
* ``reserved``: every port inside a block, a set, for O(1) "is this port reserved";
* ``free_count``: how many ports of the dynamic range are neither bound nor reserved.

No call scans the port space.  bind(0) draws a port of the dynamic range uniformly
and keeps it if it is neither bound nor reserved (two set lookups): O(1) expected
while the range is not nearly full.  A wildcard block is drawn the same way, as a
window of the dynamic range, and slid past the highest port that is taken.  After
many misses both enumerate the free runs exactly, from ``blocks`` and ``bound``
(O(blocks + bound ports), only near exhaustion).  ``free_count`` lets an exhausted
range be refused before the generator is touched, and a wildcard refusal restores
the generator, so a refused call changes nothing, the generator's state included.

Every operation first checks everything that can refuse it (raising through
``refuse(rule_id, ...)``, whose Windows code lives in ``_rules.py``), and only then
mutates: a refused call changes nothing.  Persistent reservations are written to
the durable store before memory, so a failing store also changes nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import socket as _pysocket
from collections.abc import Iterator
from typing import Final, NamedTuple

import attrs
from sortedcontainers import SortedDict

from .._errors import WinError
from .._types import (
    AF_INET,
    AF_INET6,
    MAX_PORT,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    Binding,
    Family,
    PortRange,
    Protocol,
    Reservation,
)
from ._rules import RULES, refuse
from ._store import MemoryStore, Store

__all__ = ["DEFAULT_DYNAMIC_RANGE", "Explanation", "Machine", "SocketInfo"]

DEFAULT_DYNAMIC_RANGE: Final = PortRange(49152, 16384)  # rule R18
_FIRST_PID: Final = 1000  # Windows process ids are multiples of 4
_FIRST_HANDLE: Final = 0x100  # so are socket handles
_MAX_TOKEN: Final = 2**64 - 1
# Random draws before bind(0) / a wildcard block falls back to exact enumeration
# (O(runs + bound ports)).  Blocks need more: a drawn block must miss every bound port.
_PROBES: Final = 16
_BLOCK_PROBES: Final = 64
_SLIDES: Final = 8  # window moves within a drawn run before drawing again


@attrs.define
class _Process:
    pid: int
    admin: bool
    alive: bool = True
    sockets: set[int] = attrs.Factory(set)


@attrs.define
class _Socket:
    handle: int
    pid: int
    family: Family
    type: int
    protocol: Protocol | None  # None: a raw socket, which has no ports
    host: str | None = None  # set once bound
    port: int | None = None
    association: int | None = None  # a token, once associated
    acquired: set[int] = attrs.Factory(set)  # runtime tokens granted on this socket


@attrs.define
class _Block:
    reservation: Reservation
    owner_pid: int | None  # None for persistent blocks
    owner_socket: int | None


class SocketInfo(NamedTuple):
    """What a backend needs to know of a live socket.

    Immutable like the attrs values elsewhere, but a NamedTuple: socket() makes one per
    call, and it is three times cheaper to build (benchmarks/bench_pool.py).
    """

    handle: int
    family: Family
    type: int
    protocol: Protocol | None
    host: str | None
    port: int | None
    association: int | None


@attrs.frozen
class Explanation:
    """Who holds a port and which rules apply: ``host.explain(protocol, port)``.

    Attributes:
        protocol, port: the port asked about.
        in_dynamic_range: whether bind(0) and wildcard blocks may draw it.
        reservation: the block that contains it, if any.
        owner_pid: the process a runtime block belongs to (``None`` if persistent).
        binding: the socket bound to it, if any.
        plain_bind: the code a bind to this port from a plain socket would get
            (``None``: it would succeed).
        rules: the ids of the rules that decide it (see ``specs/semantics.md``).
    """

    protocol: Protocol
    port: int
    in_dynamic_range: bool
    reservation: Reservation | None
    owner_pid: int | None
    binding: Binding | None
    plain_bind: WinError | None
    rules: tuple[str, ...]

    def __str__(self) -> str:
        where = "inside" if self.in_dynamic_range else "outside"
        parts = [f"{self.protocol.name} port {self.port}: {where} the dynamic range"]
        if self.reservation is not None:
            res = self.reservation
            kind = "persistent" if res.persistent else f"runtime (process {self.owner_pid})"
            parts.append(f"reserved by {kind} block {res.range!r}, token {res.token:#x}")
        if self.binding is not None:
            b = self.binding
            parts.append(f"bound by socket {b.socket:#x} of process {b.pid}")
        if self.reservation is None and self.binding is None:
            parts.append("free")
        verdict = "a plain bind succeeds" if self.plain_bind is None else (
            f"a plain bind fails with {self.plain_bind.name} ({int(self.plain_bind)})"
        )
        return "; ".join(parts) + f"; {verdict} [rules {', '.join(self.rules)}]"


class _Pool:
    """One protocol's pool: bound ports, reserved blocks, free dynamic ports."""

    def __init__(self, dynamic: PortRange) -> None:
        self.dynamic = dynamic
        self.bound: dict[int, int] = {}
        self.dyn_lo, self.dyn_hi = dynamic.start, dynamic.last
        self.blocks: SortedDict[int, _Block] = SortedDict()  # start -> block
        self.free_count = dynamic.count  # in the dynamic range, not reserved, not bound
        self.reserved: set[int] = set()  # every port inside a block: O(1) membership

    def segments(self, minimum: int) -> list[tuple[int, int]]:
        """Exactly the runs of free ports (unreserved, not bound) of at least ``minimum``."""
        out = []
        for lo, hi in self.unreserved_runs():
            cursor = lo
            for port in self.bound_in(lo, hi):
                if port - cursor >= minimum:
                    out.append((cursor, port - 1))
                cursor = port + 1
            if hi - cursor + 1 >= minimum:
                out.append((cursor, hi))
        return out

    def unreserved_runs(self) -> list[tuple[int, int]]:
        """The runs of the dynamic range between blocks, in order: O(blocks)."""
        runs, cursor = [], self.dyn_lo
        for start in self.blocks.irange(maximum=self.dyn_hi):
            if start > cursor:
                runs.append((cursor, start - 1))
            cursor = max(cursor, self.blocks[start].reservation.range.last + 1)
        if cursor <= self.dyn_hi:
            runs.append((cursor, self.dyn_hi))
        return runs

    def bound_in(self, lo: int, hi: int) -> list[int]:
        """The bound ports of lo..hi, in order: O(min(hi - lo, bound ports))."""
        bound = self.bound
        if hi - lo < len(bound):
            return [port for port in range(lo, hi + 1) if port in bound]
        return sorted(port for port in bound if lo <= port <= hi)


class Machine:
    """One Windows machine's port pools (see the module docstring)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        dynamic_ports: PortRange | dict[Protocol, PortRange] | None = None,
        store: Store | None = None,
    ) -> None:
        self._rng = random.Random(seed)
        if dynamic_ports is None:
            ranges = dict.fromkeys(Protocol, DEFAULT_DYNAMIC_RANGE)
        elif isinstance(dynamic_ports, PortRange):
            ranges = dict.fromkeys(Protocol, dynamic_ports)
        else:
            ranges = {p: dynamic_ports.get(p, DEFAULT_DYNAMIC_RANGE) for p in Protocol}
        self._ranges = ranges
        self._store: Store = store if store is not None else MemoryStore()
        self._next_pid = _FIRST_PID
        self._next_handle = _FIRST_HANDLE
        self._boot()

    # --- lifecycle -----------------------------------------------------------------

    def _boot(self) -> None:
        """Start (or restart) the machine: nothing runs, persistent blocks reload (R13d)."""
        self._processes: dict[int, _Process] = {}
        self._sockets: dict[int, _Socket] = {}
        self._blocks: dict[int, _Block] = {}  # token -> block
        self._pools = {p: _Pool(self._ranges[p]) for p in Protocol}
        for protocol, start, count in self._store.load():
            # A10: every boot hands out fresh tokens.
            self._add_block(Reservation(self._new_token(), protocol, PortRange(start, count), True),
                            None, None)

    def reboot(self) -> None:
        """Every process ends; only persistent reservations remain, with new tokens (R4, A10)."""
        for process in self._processes.values():
            process.alive = False
        self._boot()

    def create_process(self, *, admin: bool) -> int:
        """A new process; returns its pid."""
        pid = self._next_pid
        self._next_pid += 4
        self._processes[pid] = _Process(pid, admin)
        return pid

    def exit_process(self, pid: int) -> None:
        """The process ends: its sockets close, and their runtime blocks go (R4)."""
        process = self._live_process(pid)
        for handle in sorted(process.sockets):
            self._close(self._sockets[handle])
        process.alive = False

    def is_alive(self, pid: int) -> bool:
        """Whether ``pid`` is a live process of this boot."""
        process = self._processes.get(pid)
        return process is not None and process.alive

    def is_admin(self, pid: int) -> bool:
        """Whether ``pid`` runs as an elevated administrator."""
        return self._live_process(pid).admin

    # --- sockets -------------------------------------------------------------------

    def open_socket(self, pid: int, family: int, kind: int, proto: int) -> SocketInfo:
        """socket(): returns the new socket (its handle and kind) (rules W6-W10)."""
        process = self._processes.get(pid)
        if process is None or not process.alive:
            process = self._live_process(pid)  # refuses (A19)
        protocol: Protocol | None
        known = _STREAM_OR_DGRAM.get((family, kind, proto))
        if known is not None:  # the hot path: a TCP or UDP socket, already validated
            fam, protocol = known
        else:
            fam, protocol = self._check_socket_kind(process, family, kind, proto)
        handle = self._next_handle
        self._next_handle += 4
        self._sockets[handle] = _Socket(handle, pid, fam, kind, protocol)
        process.sockets.add(handle)
        return SocketInfo(handle, fam, kind, protocol, None, None, None)

    def _check_socket_kind(self, process: _Process, family: object, kind: object,
                           proto: object) -> tuple[Family, Protocol | None]:
        """The full socket() validation (W6-W10), for anything but plain TCP/UDP."""
        pid = process.pid
        fam = Family.from_value(family) if isinstance(family, int) else None
        if fam is None:
            raise refuse("W6", f"address family {family!r}")
        if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW):
            raise refuse("W7", f"socket type {kind!r}")
        if not isinstance(proto, int) or not 0 <= proto <= 255:
            raise refuse("W8", f"protocol {proto!r}")
        protocol: Protocol | None
        if kind == SOCK_RAW:
            if not process.admin:
                raise refuse("W10", f"process {pid} is not an administrator")
            protocol = None
        else:
            natural = Protocol.TCP if kind == SOCK_STREAM else Protocol.UDP
            if proto not in (0, int(natural)):
                if proto in (int(Protocol.TCP), int(Protocol.UDP)):
                    raise refuse("W9", f"protocol {proto} with socket type {kind}")
                raise refuse("W8", f"protocol {proto} with socket type {kind}")
            protocol = natural
        return fam, protocol

    def close_socket(self, pid: int, handle: int) -> None:
        """closesocket(): frees its port and the runtime blocks acquired on it (R4)."""
        self._close(self._socket(pid, handle))

    def socket_info(self, pid: int, handle: int) -> SocketInfo:
        """The state of a live socket of ``pid``."""
        s = self._socket(pid, handle)
        return SocketInfo(s.handle, s.family, s.type, s.protocol, s.host, s.port, s.association)

    # --- runtime reservations --------------------------------------------------------

    def acquire(self, pid: int, handle: int, start: object, count: object) -> Reservation:
        """SIO_ACQUIRE_PORT_RESERVATION (R1-R3, A2-A4, A13, A21)."""
        sock = self._port_socket(pid, handle)
        protocol = sock.protocol
        assert protocol is not None  # _port_socket refused raw sockets
        if not _is_ushort(start) or not _is_ushort(count):
            raise refuse("R9c", f"StartPort {start!r} / NumberOfPorts {count!r}")
        assert isinstance(start, int)
        assert isinstance(count, int)
        if count == 0:
            raise refuse("A3", "NumberOfPorts is 0")
        pool = self._pools[protocol]
        if start == 0:  # R2: a wildcard request
            first = self._pick_block(pool, count)  # R3, A4
            if first is None:
                raise refuse("A13", f"no {count} contiguous free {protocol.name} ports in the"
                              f" dynamic range {pool.dynamic!r}")
            block = PortRange(first, count)
        else:
            if start + count - 1 > MAX_PORT:
                raise refuse("A3", f"ports {start}+{count} run past 65535")
            block = PortRange(start, count)
            self._check_block_unused(protocol, block, "A2", "A2", "A2")
        reservation = Reservation(self._new_token(), protocol, block, False)
        self._add_block(reservation, pid, handle)
        sock.acquired.add(reservation.token)
        return reservation

    def associate(self, pid: int, handle: int, token: object) -> None:
        """SIO_ASSOCIATE_PORT_RESERVATION (R5, R7, R14, A6, A7, A11, A12)."""
        sock = self._port_socket(pid, handle)
        block = self._block_for_token(token)
        if sock.port is not None:
            raise refuse("A7", f"socket {handle:#x} is already bound to port {sock.port}")
        if sock.association is not None and sock.association in self._blocks:
            raise refuse("A7", f"socket {handle:#x} is already associated")
        res = block.reservation
        if res.protocol is not sock.protocol:
            raise refuse("A6", f"token {res.token:#x} is a {res.protocol.name} reservation")
        if res.persistent:
            if not self._processes[pid].admin:
                raise refuse("R7", f"process {pid} is not an elevated administrator")
        elif block.owner_pid != pid:
            raise refuse("A12", f"token {res.token:#x} was granted to process {block.owner_pid}")
        sock.association = res.token

    def release(self, pid: int, handle: int, token: object) -> None:
        """SIO_RELEASE_PORT_RESERVATION (R8, A5, A11, A20, A22)."""
        self._port_socket(pid, handle)
        block = self._block_for_token(token)
        if block.reservation.persistent:
            raise refuse("A22", f"token {block.reservation.token:#x} is persistent")
        if block.owner_pid != pid:
            raise refuse("A5", f"token {block.reservation.token:#x} was granted to process"
                          f" {block.owner_pid}")
        self._remove_block(block.reservation.token)

    # --- bind ------------------------------------------------------------------------

    def bind(self, pid: int, handle: int, host: object, port: object) -> int:
        """bind(); returns the port taken (R5, R6, R17, W1-W4, A1, A13, A16, A17, A23)."""
        sock = self._socket(pid, handle)
        if not _is_ushort(port):
            raise refuse("W4", f"port {port!r} is not in 0-65535")
        assert isinstance(port, int)
        if not _valid_host(host, sock.family):
            raise refuse("W4", f"{host!r} is not an {sock.family.name} address")
        assert isinstance(host, str)
        if sock.host is not None:
            raise refuse("W3", f"socket {handle:#x} is already bound")
        protocol = sock.protocol
        if protocol is None:  # A24: a raw socket binds an address, no port
            sock.host, sock.port = host, None
            return 0
        pool = self._pools[protocol]
        block = self._blocks.get(sock.association) if sock.association is not None else None
        if block is not None and (port == 0 or port in block.reservation.range):
            chosen = self._pick_in_block(pool, block.reservation) if port == 0 else port
            if chosen is None:  # A1
                raise refuse("A1", f"every port of {block.reservation.range!r} is bound")
            if chosen in pool.bound:  # R6 allows the port, W2 still applies
                raise refuse("W2", f"{protocol.name} port {chosen} is bound by socket"
                             f" {pool.bound[chosen]:#x}")
        elif port == 0:  # W1 (and A16/A17: a lapsed or foreign association)
            if pool.free_count == 0:
                raise refuse("A13", f"no free {protocol.name} port in {pool.dynamic!r}")
            chosen = self._pick_port(pool)
        else:
            owner = self._block_at(protocol, port)
            if owner is not None:  # R17 before W2 (A23)
                raise refuse("R17", f"{protocol.name} port {port} is inside reserved block"
                             f" {owner.reservation.range!r}")
            if port in pool.bound:
                raise refuse("W2", f"{protocol.name} port {port} is bound by socket"
                             f" {pool.bound[port]:#x}")
            chosen = port
        # Commit.
        if block is None:
            sock.association = None  # A16: a lapsed association is forgotten
        sock.host, sock.port = host, chosen
        pool.bound[chosen] = handle
        if pool.dyn_lo <= chosen <= pool.dyn_hi and chosen not in pool.reserved:
            pool.free_count -= 1
        return chosen

    def sockname(self, pid: int, handle: int) -> tuple[Family, str, int]:
        """getsockname(): (family, host, port) of a bound socket (W5)."""
        sock = self._socket(pid, handle)
        if sock.host is None:
            raise refuse("W5", f"socket {handle:#x} is not bound")
        return sock.family, sock.host, sock.port or 0

    # --- persistent reservations ---------------------------------------------------

    def create_persistent(self, pid: int, protocol: object, start: object, count: object) -> int:
        """CreatePersistent*PortReservation (R13, R13a, R13b, A14, A15); returns the token."""
        proto, block = _protocol(protocol), self._persistent_block(start, count)  # A14
        if not self._live_process(pid).admin:
            raise refuse("R13", f"process {pid} is not an elevated administrator")
        self._check_block_unused(proto, block, "R13b", "A15", "R13b")
        self._store.add(proto, block.start, block.count)  # durable first; may fail
        reservation = Reservation(self._new_token(), proto, block, True)
        self._add_block(reservation, None, None)
        return reservation.token

    def lookup_persistent(self, pid: int, protocol: object, start: object, count: object) -> int:
        """LookupPersistent*PortReservation (R13a, R15); no administrator needed."""
        proto, block = _protocol(protocol), self._persistent_block(start, count)
        self._live_process(pid)
        return self._persistent_exact(proto, block, "R15").reservation.token

    def delete_persistent(self, pid: int, protocol: object, start: object, count: object) -> None:
        """DeletePersistent*PortReservation (R13, R13a, R16, A20)."""
        proto, block = _protocol(protocol), self._persistent_block(start, count)
        if not self._live_process(pid).admin:
            raise refuse("R13", f"process {pid} is not an elevated administrator")
        found = self._persistent_exact(proto, block, "R16")
        self._store.remove(proto, block.start, block.count)  # durable first
        self._remove_block(found.reservation.token)

    # --- introspection -------------------------------------------------------------

    def dynamic_range(self, protocol: Protocol) -> PortRange:
        """The protocol's dynamic port range (R18)."""
        return self._pools[protocol].dynamic

    def reservations(self, protocol: Protocol) -> tuple[Reservation, ...]:
        """Live reservations of ``protocol``, in port order."""
        pool = self._pools[protocol]
        return tuple(block.reservation for block in pool.blocks.values())

    def reservation_owner(self, token: int) -> int | None:
        """The pid a runtime block belongs to; ``None`` for persistent or unknown tokens."""
        block = self._blocks.get(token)
        return None if block is None else block.owner_pid

    def bindings(self, protocol: Protocol) -> tuple[Binding, ...]:
        """Live bound sockets of ``protocol``, in port order."""
        bound = self._pools[protocol].bound
        return tuple(self._binding(self._sockets[bound[port]]) for port in sorted(bound))

    def free_ports(self, protocol: Protocol) -> int:
        """How many ports of the dynamic range are neither bound nor reserved."""
        return self._pools[protocol].free_count

    def explain(self, protocol: object, port: object) -> Explanation:
        """Who holds ``port`` and which rules decide a bind to it."""
        protocol = _protocol(protocol)
        if not _is_ushort(port) or port == 0:
            raise refuse("R13a", f"port {port!r} is not in 1-65535")
        assert isinstance(port, int)
        pool = self._pools[protocol]
        block = self._block_at(protocol, port)
        handle = pool.bound.get(port)
        binding = self._binding(self._sockets[handle]) if handle is not None else None
        rules: list[str] = ["R17a"]
        plain: WinError | None = None
        if block is not None:
            rules += ["R17", "R5"]
            plain = RULES["R17"].error
        elif binding is not None:
            rules.append("W2")
            plain = RULES["W2"].error
        if port in pool.dynamic:
            rules += ["R18", "W1"]
        return Explanation(protocol, port, port in pool.dynamic,
                           block.reservation if block else None,
                           block.owner_pid if block else None, binding, plain, tuple(rules))

    def snapshot(self) -> tuple[object, ...]:
        """A hashable picture of the whole state, for "a failed call changes nothing"."""
        return (
            tuple(sorted((p.pid, p.admin, p.alive, tuple(sorted(p.sockets)))
                         for p in self._processes.values())),
            tuple(sorted((s.handle, s.pid, s.host, s.port, s.association,
                          tuple(sorted(s.acquired))) for s in self._sockets.values())),
            tuple(sorted((t, b.owner_pid, b.owner_socket, b.reservation.range.start,
                          b.reservation.range.count, int(b.reservation.protocol))
                         for t, b in self._blocks.items())),
            tuple((int(p), pool.free_count,
                   tuple(sorted(pool.bound.items())))
                  for p, pool in self._pools.items()),
            self._next_pid, self._next_handle, self._rng.getstate(),
        )

    # --- helpers ---------------------------------------------------------------------

    def _live_process(self, pid: int) -> _Process:
        process = self._processes.get(pid)
        if process is None or not process.alive:
            raise refuse("A19", f"process {pid} is not running on this machine")
        return process

    def _socket(self, pid: int, handle: object) -> _Socket:
        sock = self._sockets.get(handle) if isinstance(handle, int) else None
        if sock is not None and sock.pid == pid and self._processes[pid].alive:
            return sock  # the hot path
        self._live_process(pid)  # A19 before R9b
        if sock is None or sock.pid != pid:
            shown = f"{handle:#x}" if isinstance(handle, int) else repr(handle)
            raise refuse("R9b", f"handle {shown} is not a socket of process {pid}")
        return sock

    def _port_socket(self, pid: int, handle: int) -> _Socket:
        sock = self._socket(pid, handle)
        if sock.protocol is None:
            raise refuse("R9a", f"socket {handle:#x} is neither TCP nor UDP")
        return sock

    def _block_for_token(self, token: object) -> _Block:
        if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token <= _MAX_TOKEN:
            raise refuse("R9c", f"token {token!r} is not a 64-bit unsigned integer")
        block = self._blocks.get(token)
        if block is None:
            raise refuse("A11", f"token {token:#x} names no live reservation")
        return block

    def _block_at(self, protocol: Protocol, port: int) -> _Block | None:
        if port not in self._pools[protocol].reserved:
            return None
        blocks = self._pools[protocol].blocks
        index = blocks.bisect_right(port) - 1
        if index < 0:
            return None
        block: _Block = blocks.values()[index]
        return block if port in block.reservation.range else None

    def _check_block_unused(self, protocol: Protocol, block: PortRange,
                            persistent_rule: str, runtime_rule: str, bound_rule: str) -> None:
        pool = self._pools[protocol]
        index = pool.blocks.bisect_right(block.last) - 1
        if index >= 0:
            other: _Block = pool.blocks.values()[index]
            if other.reservation.range.overlaps(block):
                rule = persistent_rule if other.reservation.persistent else runtime_rule
                raise refuse(rule, f"{block!r} overlaps reserved block"
                             f" {other.reservation.range!r}")
        for port in pool.bound_in(block.start, block.last):
            raise refuse(bound_rule, f"{protocol.name} port {port} of {block!r} is bound by"
                         f" socket {pool.bound[port]:#x}")

    def _persistent_block(self, start: object, count: object) -> PortRange:
        if not _is_ushort(start) or not _is_ushort(count) or start == 0 or count == 0:
            raise refuse("R13a", f"StartPort {start!r} / NumberOfPorts {count!r}")
        assert isinstance(start, int)
        assert isinstance(count, int)
        if start + count - 1 > MAX_PORT:
            raise refuse("R13a", f"ports {start}+{count} run past 65535")
        return PortRange(start, count)

    def _persistent_exact(self, protocol: Protocol, block: PortRange, rule: str) -> _Block:
        found = self._block_at(protocol, block.start)
        if found is None or not found.reservation.persistent or found.reservation.range != block:
            raise refuse(rule, f"no persistent {protocol.name} reservation {block!r}")
        return found

    def _pick_in_block(self, pool: _Pool, reservation: Reservation) -> int | None:
        """A uniformly drawn free port of the block (A4), or ``None`` (A1)."""
        block = reservation.range
        taken = pool.bound_in(block.start, block.last)
        if len(taken) >= block.count:
            return None
        port = block.start + self._rng.randrange(block.count - len(taken))
        for bound_port in taken:  # the i-th free port: skip the bound ones below it
            if bound_port <= port:
                port += 1
            else:
                break
        return port

    def _pick_port(self, pool: _Pool) -> int:
        """A uniformly drawn free port of the dynamic range (W1, A4); one must exist."""
        dynamic, rng = pool.dynamic, self._rng
        bound, reserved = pool.bound, pool.reserved
        for _ in range(_PROBES):  # rejection sampling: O(1) while the range is not full
            port = dynamic.start + rng.randrange(dynamic.count)
            if port not in bound and port not in reserved:
                return port
        segments = pool.segments(1)  # nearly full: enumerate exactly
        index = rng.randrange(sum(hi - lo + 1 for lo, hi in segments))
        for lo, hi in segments:
            if index <= hi - lo:
                return lo + index
            index -= hi - lo + 1
        raise AssertionError("free_count and the pool disagree")  # pragma: no cover

    def _pick_block(self, pool: _Pool, count: int) -> int | None:
        """The first port of a drawn free block of ``count`` ports (R3, A4), or ``None``.

        A refusal leaves the generator as it was (the state is restored).
        """
        if pool.free_count < count:  # cannot fit: refuse before touching the generator
            return None
        saved = self._rng.getstate()
        rng, last_first = self._rng, pool.dyn_hi - count + 1
        for _ in range(_BLOCK_PROBES):
            first = pool.dyn_lo + rng.randrange(last_first - pool.dyn_lo + 1)
            for _ in range(_SLIDES):  # slide past the highest taken port of the window
                conflict = _last_taken(pool, first, count)
                if conflict is None:
                    return first
                first = conflict + 1
                if first > last_first:
                    break
        segments = pool.segments(count)
        if not segments:
            self._rng.setstate(saved)
            return None
        lo, hi = segments[self._rng.randrange(len(segments))]
        return lo + self._rng.randrange(hi - lo - count + 2)

    def _new_token(self) -> int:
        while True:  # R13c: unique and never INVALID_PORT_RESERVATION_TOKEN (0)
            token = self._rng.getrandbits(64)
            if token and token not in self._blocks:
                return token

    def _add_block(self, reservation: Reservation, pid: int | None, handle: int | None) -> None:
        pool = self._pools[reservation.protocol]
        block = reservation.range
        entry = _Block(reservation, pid, handle)
        self._blocks[reservation.token] = entry
        pool.blocks[block.start] = entry
        lo, hi = max(block.start, pool.dyn_lo), min(block.last, pool.dyn_hi)
        if lo <= hi:  # the block's dynamic ports stop counting as free
            pool.free_count -= (hi - lo + 1) - len(pool.bound_in(lo, hi))
        pool.reserved.update(range(block.start, block.last + 1))

    def _remove_block(self, token: int) -> None:
        block = self._blocks.pop(token)
        res = block.reservation
        pool = self._pools[res.protocol]
        del pool.blocks[res.range.start]
        pool.reserved.difference_update(range(res.range.start, res.range.last + 1))
        if block.owner_socket is not None:
            self._sockets[block.owner_socket].acquired.discard(token)
        # A20: bound sockets keep their ports; the rest of the block is free again.
        lo, hi = max(res.range.start, pool.dyn_lo), min(res.range.last, pool.dyn_hi)
        if lo <= hi:
            pool.free_count += (hi - lo + 1) - len(pool.bound_in(lo, hi))

    def _close(self, sock: _Socket) -> None:
        if sock.acquired:
            for token in sorted(sock.acquired):  # R4
                self._remove_block(token)
        if sock.protocol is not None and sock.port is not None:
            pool = self._pools[sock.protocol]
            del pool.bound[sock.port]
            if pool.dyn_lo <= sock.port <= pool.dyn_hi and sock.port not in pool.reserved:
                pool.free_count += 1
        del self._sockets[sock.handle]
        self._processes[sock.pid].sockets.discard(sock.handle)

    def _binding(self, sock: _Socket) -> Binding:
        assert sock.protocol is not None
        assert sock.port is not None
        assert sock.host is not None
        block = self._blocks.get(sock.association) if sock.association is not None else None
        token = block.reservation.token if block and sock.port in block.reservation.range else None
        return Binding(sock.protocol, sock.port, sock.host, sock.family, sock.pid,
                       sock.handle, token)

    def sockets_of(self, pid: int) -> Iterator[int]:
        """The live socket handles of ``pid``, in order."""
        process = self._processes.get(pid)
        return iter(sorted(process.sockets) if process else ())


# (family, type, proto) -> (Family, Protocol) for every valid TCP/UDP socket() call (W9).
_STREAM_OR_DGRAM: Final[dict[tuple[object, object, object], tuple[Family, Protocol]]] = {
    (family_value, kind, proto): (Family.from_value(family_value) or Family.INET, protocol)
    for family_value in {AF_INET, AF_INET6, int(_pysocket.AF_INET6)}
    for kind, protocol in ((SOCK_STREAM, Protocol.TCP), (SOCK_DGRAM, Protocol.UDP))
    for proto in (0, int(protocol))
}


def _last_taken(pool: _Pool, first: int, count: int) -> int | None:
    """The highest bound or reserved port of first..first+count-1; ``None`` if all free.

    O(count) set lookups: the cost of the block asked for, never of the port space.
    """
    bound, reserved = pool.bound, pool.reserved
    for port in range(first + count - 1, first - 1, -1):
        if port in bound or port in reserved:
            return port
    return None


def _protocol(value: object) -> Protocol:
    if isinstance(value, int) and value in (Protocol.TCP, Protocol.UDP):
        return Protocol(value)
    raise refuse("R13a", f"protocol {value!r} is neither TCP (6) nor UDP (17)")


def _is_ushort(value: object) -> bool:
    if type(value) is int:  # the common case, and excludes bool
        return 0 <= value <= MAX_PORT
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PORT


def _valid_host(host: object, family: Family) -> bool:
    """Whether ``host`` is an address of ``family`` (any such address is local: A25)."""
    if not isinstance(host, str):
        return False
    return host == "" or _valid_literal(host, family)


@functools.lru_cache(maxsize=256)  # bind is hot; the same few literals recur
def _valid_literal(host: str, family: Family) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return address.version == (4 if family is Family.INET else 6)

