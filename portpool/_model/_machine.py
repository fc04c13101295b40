"""One emulated Windows machine: its processes, sockets and the operations on its pools.

Theory of operation
-------------------
``Machine`` is the single owner of mutable state.  It knows processes, sockets and
tokens, and owns one ``PortSpace`` per protocol (``_space.py``: ports, the three kinds
of blocks, the dynamic ranges).  It knows nothing of call shapes (no buffers, no byte
order, no IOCTL codes: those belong to the ABI room and the backends) and nothing of
netsh's text (``portpool/_netsh_frontend.py``).

Every operation first checks everything that can refuse it, raising through
``refuse(rule_id, ...)`` whose Windows code lives in ``_rules.py``, and only then
mutates: a refused call changes nothing, the generator's state included.  Where the
evidence conflicts, a rule has alternatives and the one in force comes from
``self._variants`` (``EmulatedHost(variants=...)``).

What outlives processes (persistent reservations, system exclusions of this boot, the
dynamic ranges, the preset) lives in the store (``_store.py``), the machine's registry.
Every change goes to the store first, inside one transaction that re-checks it, so a
failing store changes nothing and hosts sharing one store file never both win a block.
A reboot asks the store for the next boot's state first and only then replaces memory.

Every public method holds ``self.lock`` (an ``RLock`` made with the machine): any call
from any thread, as Winsock allows.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import socket as _pysocket
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Final, NamedTuple

import attrs

from .._errors import WinError
from .._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    MAX_PORT,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_SOCKET,
    Binding,
    Exclusion,
    Family,
    PortRange,
    Protocol,
    Reservation,
    address_text,
    parse_host,
)
from ._conflicts import Outcome, Scope, Sharing, conflict
from ._presets import PRESETS, Preset
from ._rules import RULES, alternative, check_variants, refuse
from ._space import Block, BlockKind, PortSpace
from ._store import (
    MachineRecord,
    MemoryStore,
    Store,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
)

__all__ = ["DEFAULT_DYNAMIC_RANGE", "Explanation", "Machine", "SocketInfo", "dynamic_range_problem"]

DEFAULT_DYNAMIC_RANGE: Final = PortRange(49152, 16384)  # rule R18
MIN_DYNAMIC_PORTS: Final = 255  # rule Y1
DEFAULT_USER: Final = "user"
#: The local addresses of a machine made without ``addresses=`` (rule L1).
DEFAULT_ADDRESSES: Final = ("127.0.0.1", "192.168.1.10", "::1", "fd00::10")
# The levels setsockopt accepts (O2: SOL_SOCKET, IPPROTO_IP 0, IPPROTO_IPV6, TCP, UDP)
# and the options the model knows (O1), as (level, option).
_KNOWN_LEVELS: Final = frozenset({SOL_SOCKET, 0, IPPROTO_IPV6, int(Protocol.TCP), int(Protocol.UDP)})
_REUSE: Final = (SOL_SOCKET, SO_REUSEADDR)
_EXCLUSIVE: Final = (SOL_SOCKET, SO_EXCLUSIVEADDRUSE)
_V6ONLY: Final = (IPPROTO_IPV6, IPV6_V6ONLY)
Endpoint = tuple[Family, str | None]  # a stack and a specific address (None: the wildcard)
_FIRST_PID: Final = 1000  # Windows process ids are multiples of 4
_FIRST_HANDLE: Final = 0x100  # so are socket handles
_MAX_TOKEN: Final = 2**64 - 1
RUNTIME, PERSISTENT, SYSTEM = BlockKind.RUNTIME, BlockKind.PERSISTENT, BlockKind.SYSTEM

RangeKey = tuple[Protocol, Family]


@attrs.define
class _Process:
    pid: int
    admin: bool
    user: str
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
    reuse: bool = False  # SO_REUSEADDR
    exclusive: bool = False  # SO_EXCLUSIVEADDRUSE
    v6only: bool = True  # IPV6_V6ONLY (O6); meaningful for AF_INET6 sockets only
    affinity: int | None = None  # SIO_CPU_AFFINITY's processor (C19)
    sharing: Sharing = Sharing.DEFAULT  # the options as they were at bind (C18)
    endpoints: tuple[Endpoint, ...] = ()  # where the binding sits, once bound (C13-C15)
    peer: tuple[str, int] | None = None  # once connected


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
        in_dynamic_range: whether bind(0) and wildcard blocks of IPv4 sockets may
            draw it (the ipv4 range).
        in_dynamic_range_v6: the same for IPv6 sockets (the ipv6 range).
        reservation: the runtime or persistent block that contains it, if any.
        owner_pid: the process a runtime block belongs to (``None`` otherwise).
        exclusion: the system exclusion that contains it, if any.
        binding: the first socket bound to it, if any.
        plain_bind: the code a bind to this port from a plain socket of another
            process would get (``None``: it would succeed): an AF_INET socket of the
            default account, default options, the wildcard address.
        rules: the ids of the rules that decide it (see ``specs/semantics.md``).
        bindings: every socket holding it, in the order they bound (several may
            share a port: C1-C19).
        plain_bind_rule: the rule behind ``plain_bind`` (``None`` when it succeeds).
        acquire: the code a specific 1-port SIO_ACQUIRE_PORT_RESERVATION at this port
            would get (``None``: it would succeed), and ``acquire_rule`` its rule.
        drawable: whether bind(0) or a wildcard acquire may hand out this port now
            (inside a dynamic range, in no block, held by no socket: W1, X4, C17).
    """

    protocol: Protocol
    port: int
    in_dynamic_range: bool
    reservation: Reservation | None
    owner_pid: int | None
    binding: Binding | None
    plain_bind: WinError | None
    rules: tuple[str, ...]
    in_dynamic_range_v6: bool = False
    exclusion: Exclusion | None = None
    bindings: tuple[Binding, ...] = ()
    plain_bind_rule: str | None = None
    acquire: WinError | None = None
    acquire_rule: str | None = None
    drawable: bool = False

    def __str__(self) -> str:
        where = "inside" if self.in_dynamic_range else "outside"
        parts = [f"{self.protocol.name} port {self.port}: {where} the ipv4 dynamic range"]
        if self.exclusion is not None:
            ex = self.exclusion
            parts.append(f"excluded by {ex.owner} ({ex.start}-{ex.end}, no token)")
        if self.reservation is not None:
            res = self.reservation
            kind = "persistent" if res.persistent else f"runtime (process {self.owner_pid})"
            parts.append(f"reserved by {kind} block {res.range!r}, token {res.token:#x}")
        for b in self.bindings or ((self.binding,) if self.binding is not None else ()):
            parts.append(f"bound on {b.host} by socket {b.socket:#x} of process {b.pid}")
        if self.reservation is None and self.binding is None and self.exclusion is None:
            parts.append("free")
        verdict = "a plain bind succeeds" if self.plain_bind is None else (
            f"a plain bind fails with {self.plain_bind.name} ({int(self.plain_bind)})"
        )
        return "; ".join(parts) + f"; {verdict} [rules {', '.join(self.rules)}]"


def dynamic_range_problem(dynamic: PortRange, min_start: int) -> str | None:
    """Why ``dynamic`` cannot be a dynamic range (rules Y1, Y2), or ``None``."""
    if dynamic.count < MIN_DYNAMIC_PORTS:
        return f"{dynamic!r} has {dynamic.count} ports; a dynamic range needs at least 255"
    if dynamic.start < min_start:
        return f"{dynamic!r} starts below {min_start}"
    return None  # PortRange itself keeps the end at or below 65535


class Machine:
    """One Windows machine's port pools (see the module docstring).

    Raises (constructor):
        TypeError, ValueError: a bad option (what Python decides).
        StoreError: the store is not a usable portpool store.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        dynamic_ports: object = None,
        store: Store | None = None,
        variants: object = None,
        preset: str | None = None,
        addresses: object = None,
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self._local = _local_addresses(DEFAULT_ADDRESSES if addresses is None else addresses)
        self.lock = threading.RLock()
        self._variants = check_variants(variants)
        self._min_start = int(self._variants["Y2"])  # Y2's alternatives are named by the port
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
        options = self._range_options(dynamic_ports)
        self._rng = random.Random(seed)
        self._store: Store = store if store is not None else MemoryStore()
        self._next_pid = _FIRST_PID
        self._next_handle = _FIRST_HANDLE
        record = self._store.load()
        made = False
        if record.boot == 0:
            # A new machine: its configuration and first boot are one transaction, so
            # of several processes opening one new store at once, one makes it and the
            # others get its record (then it is a machine that exists, below).
            chosen = PRESETS[preset or "default"]
            ranges = {**chosen.ranges, **options}
            for dynamic in ranges.values():  # a preset's ranges obey Y2 like any option
                problem = dynamic_range_problem(dynamic, self._min_start)
                if problem is not None:
                    raise ValueError(f"preset {chosen.name!r}: {problem} (rule Y2 is"
                                     f" {self._variants['Y2']!r} on this host)")

            def place(new: MachineRecord) -> list[StoredExclusion]:
                nonlocal made
                made = True
                return self._placer(new)

            record = self._store.first_boot(
                ranges=ranges, preset=chosen.name, seed=seed,
                reservations=[StoredReservation(protocol, start, count, active=False)
                              for protocol, start, count in chosen.administered],
                place=place)
        if not made:  # a machine that exists: options change its configuration
            if preset is not None and preset != record.preset:
                raise ValueError(f"the store holds a {record.preset!r} machine, not {preset!r}")
            for (protocol, family), dynamic in options.items():
                self._store.set_range(protocol, family, dynamic)
            if options:
                record = self._store.load()
        self._boot(record)

    def _range_options(self, value: object) -> dict[RangeKey, PortRange]:
        """``dynamic_ports`` as {(protocol, family): range}, checked (rules Y1, Y2)."""
        if value is None:
            return {}
        if isinstance(value, PortRange):
            items: dict[object, object] = dict.fromkeys(_ALL_KEYS, value)
        elif isinstance(value, Mapping):
            items = {}
            for key, dynamic in value.items():
                if isinstance(key, Protocol):
                    items.update({(key, family): dynamic for family in Family})
                else:
                    items[key] = dynamic
        else:
            raise TypeError("dynamic_ports must be a PortRange or a dict keyed by Protocol or"
                            f" (Protocol, Family), not {type(value).__name__}")
        out: dict[RangeKey, PortRange] = {}
        for key, dynamic in items.items():
            if key not in _ALL_KEYS:
                raise TypeError(f"dynamic_ports key {key!r} is not a Protocol or a"
                                " (Protocol, Family) pair")
            if not isinstance(dynamic, PortRange):
                raise TypeError(f"dynamic_ports[{key!r}] must be a PortRange, not"
                                f" {type(dynamic).__name__}")
            problem = dynamic_range_problem(dynamic, self._min_start)
            if problem is not None:
                raise ValueError(f"dynamic_ports: {problem} (rules Y1, Y2; KB929851)")
            out[key] = dynamic  # type: ignore[index,unused-ignore]  # checked against _ALL_KEYS
        return out

    # --- lifecycle -----------------------------------------------------------------

    def _placer(self, record: MachineRecord) -> list[StoredExclusion]:
        """The system exclusions the preset's components place at this boot (X1)."""
        preset = PRESETS.get(record.preset or "default", PRESETS["default"])
        ranges = _with_defaults(record.ranges)
        occupied: dict[Protocol, list[PortRange]] = {p: [] for p in Protocol}
        for row in record.reservations:
            occupied[row.protocol].append(PortRange(row.start, row.count))
        rng = random.Random(record.seed * 1_000_003 + record.boot)
        return [StoredExclusion(protocol, start, count, owner)
                for protocol, start, count, owner in preset.place(rng, ranges, occupied)]

    def _boot(self, record: MachineRecord) -> None:
        """Start the machine from the store's record: nothing runs; persistent blocks
        and this boot's exclusions load, with fresh tokens (R13d, A10, X1)."""
        ranges = _with_defaults(record.ranges)
        self._processes: dict[int, _Process] = {}
        self._sockets: dict[int, _Socket] = {}
        self._tokens: dict[int, Block] = {}  # token -> runtime or persistent block
        self._spaces = {p: PortSpace({f: ranges[(p, f)] for f in Family}) for p in Protocol}
        self._preset: Preset = PRESETS.get(record.preset or "default", PRESETS["default"])
        self._boot_number = record.boot
        for row in record.exclusions:
            self._spaces[row.protocol].add_block(
                Block(SYSTEM, PortRange(row.start, row.count), owner=row.owner))
        for res in record.reservations:
            self._add_persistent(res)

    def _add_persistent(self, row: StoredReservation) -> Block:
        reservation = Reservation(self._persistent_token(row), row.protocol,
                                  PortRange(row.start, row.count), True)
        block = Block(PERSISTENT, reservation.range, reservation, active=row.active)
        self._tokens[reservation.token] = block
        self._spaces[row.protocol].add_block(block)
        return block

    def reboot(self) -> None:
        """Every process ends; persistent reservations remain with new tokens; the
        preset's components place their rows anew (R4, A10, A28, X1).

        All or nothing: the store prepares the next boot first (it may refuse, with
        StoreError or PortPoolError), and only then is memory replaced.
        """
        with self.lock:
            record = self._store.reboot(self._placer)
            for process in self._processes.values():
                process.alive = False
            self._boot(record)

    @property
    def variants(self) -> dict[str, str]:
        """The alternative in force for every rule that has alternatives."""
        return dict(self._variants)

    @property
    def preset(self) -> str:
        """The preset this machine was made from ("default" for none)."""
        return self._preset.name

    @property
    def boot_number(self) -> int:
        """How many times the machine has booted (1 for a new machine)."""
        return self._boot_number

    def create_process(self, *, admin: bool, user: str | None = None) -> int:
        """A new process of ``user`` (default ``"user"``); returns its pid."""
        if not isinstance(admin, bool):
            raise TypeError(f"admin must be True or False, not {admin!r}")
        if user is None:
            user = DEFAULT_USER
        elif not isinstance(user, str):
            raise TypeError(f"user must be a str, not {type(user).__name__}")
        elif not user:
            raise ValueError("user must not be empty")
        with self.lock:
            pid = self._next_pid
            self._next_pid += 4
            self._processes[pid] = _Process(pid, admin, user)
            return pid

    def exit_process(self, pid: int) -> None:
        """The process ends: its sockets close, and their runtime blocks go (R4, A28)."""
        with self.lock:
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
        with self.lock:
            return self._live_process(pid).admin

    # --- sockets -------------------------------------------------------------------

    def open_socket(self, pid: int, family: object, kind: object, proto: object) -> SocketInfo:
        """socket(): returns the new socket (its handle and kind) (rules W6-W11)."""
        with self.lock:
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
            self._sockets[handle] = _Socket(handle, pid, fam, kind, protocol)  # type: ignore[arg-type]  # kind was checked
            process.sockets.add(handle)
            return SocketInfo(handle, fam, kind, protocol, None, None, None)  # type: ignore[arg-type]

    def _check_socket_kind(self, process: _Process, family: object, kind: object,
                           proto: object) -> tuple[Family, Protocol | None]:
        """The full socket() validation (W6-W11), for anything but plain TCP/UDP."""
        pid = process.pid
        family_value, kind_value, proto_value = _as_int(family), _as_int(kind), _as_int(proto)
        fam = Family.from_value(family_value) if family_value is not None else None
        if fam is None:
            raise refuse("W6", f"address family {family!r}")
        if kind_value not in (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW):
            raise refuse("W7", f"socket type {kind!r}")
        if proto_value is None or not 0 <= proto_value <= 255:
            raise refuse("W8", f"protocol {proto!r}")
        protocol: Protocol | None
        if kind == SOCK_RAW:
            if not process.admin:
                raise refuse("W10", f"process {pid} is not an administrator")
            if proto == 0 and self._variants["W11"] == "refused":
                raise refuse("W11", "SOCK_RAW with protocol 0", "refused")
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
        with self.lock:
            self._close(self._socket(pid, handle))

    def socket_info(self, pid: int, handle: int) -> SocketInfo:
        """The state of a live socket of ``pid``."""
        with self.lock:
            s = self._socket(pid, handle)
            return SocketInfo(s.handle, s.family, s.type, s.protocol, s.host, s.port,
                              s.association)

    # --- runtime reservations --------------------------------------------------------

    def acquire(self, pid: int, handle: int, start: object, count: object) -> Reservation:
        """SIO_ACQUIRE_PORT_RESERVATION (R1-R3, A2-A4, A13, A21, X4, X5, Y4)."""
        with self.lock:
            sock = self._port_socket(pid, handle)
            protocol = sock.protocol
            if protocol is None:  # pragma: no cover - _port_socket refused raw sockets
                raise refuse("R9a", f"socket {handle:#x} is neither TCP nor UDP")
            first_port, count = _as_ushort(start), _as_ushort(count)
            if first_port is None or count is None:
                raise refuse("R9c", f"StartPort {start!r} / NumberOfPorts {count!r}")
            start = first_port
            if count == 0:
                raise refuse("A3", "NumberOfPorts is 0")
            space = self._spaces[protocol]
            if start == 0:  # R2: a wildcard request, from the socket's range (R3, X4, Y4)
                first = space.allocate_block(sock.family, count, self._rng,
                                             sequential=self._sequential(sock))
                if first is None:
                    raise refuse("A13", f"no {count} contiguous free {protocol.name} ports in"
                                 f" the dynamic range {space.dynamic(sock.family)!r}")
                block = PortRange(first, count)
            else:
                if start + count - 1 > MAX_PORT:
                    raise refuse("A3", f"ports {start}+{count} run past 65535")
                block = PortRange(start, count)
                other = space.overlapping(block)
                if other is not None:
                    raise refuse("X5", f"{block!r} overlaps {_describe(other)}")
                for port in space.bound_in(block.start, block.last):
                    raise refuse("A2", f"{protocol.name} port {port} of {block!r} is bound by"
                                 f" socket {space.bound[port]:#x}")
            reservation = Reservation(self._new_token(), protocol, block, False)
            entry = Block(RUNTIME, block, reservation, owner_pid=pid, owner_socket=handle)
            self._tokens[reservation.token] = entry
            space.add_block(entry)
            sock.acquired.add(reservation.token)
            return reservation

    def associate(self, pid: int, handle: int, token: object) -> None:
        """SIO_ASSOCIATE_PORT_RESERVATION (R5, R7, R14, A6, A7, A11, A12)."""
        with self.lock:
            sock = self._port_socket(pid, handle)
            block = self._block_for_token(token)
            if sock.port is not None:
                raise refuse("A7", f"socket {handle:#x} is already bound to port {sock.port}")
            if sock.association is not None and sock.association in self._tokens:
                raise refuse("A7", f"socket {handle:#x} is already associated")
            res = block.reservation
            assert res is not None
            if res.protocol is not sock.protocol:
                raise refuse("A6", f"token {res.token:#x} is a {res.protocol.name} reservation")
            if res.persistent:
                if not self._processes[pid].admin:
                    raise refuse("R7", f"process {pid} is not an elevated administrator")
            elif block.owner_pid != pid:
                raise refuse("A12", f"token {res.token:#x} was granted to process"
                             f" {block.owner_pid}")
            sock.association = res.token

    def release(self, pid: int, handle: int, token: object) -> None:
        """SIO_RELEASE_PORT_RESERVATION (R8, A5, A11, A20, A22)."""
        with self.lock:
            self._port_socket(pid, handle)
            block = self._block_for_token(token)
            res = block.reservation
            assert res is not None
            if res.persistent:
                raise refuse("A22", f"token {res.token:#x} is persistent")
            if block.owner_pid != pid:
                raise refuse("A5", f"token {res.token:#x} was granted to process"
                             f" {block.owner_pid}")
            self._remove_token(res.token)

    # --- bind ------------------------------------------------------------------------

    def bind(self, pid: int, handle: int, host: object, port: object) -> int:
        """bind(); returns the port taken (R5, R6, R17, W1-W4, A1, A13, A16, A17, A23,
        C1-C19, L1-L4, X2, X4, X14, X15, Y4)."""
        with self.lock:
            sock = self._socket(pid, handle)
            if type(port) is not int or not 0 <= port <= MAX_PORT:  # the hot path is a plain int
                number = _as_ushort(port)
                if number is None:
                    raise refuse("W4", f"port {port!r} is not in 0-65535")
                port = number
            canonical = _canonical_text(host, sock.family) if type(host) is str else None
            if canonical is None:
                raise refuse("W4", f"{host!r} is not an {sock.family.name} address")
            if sock.host is not None:
                raise refuse("W3", f"socket {handle:#x} is already bound")
            endpoints = self._endpoints(sock, canonical)
            protocol = sock.protocol
            if protocol is None:  # A24: a raw socket binds an address, no port
                sock.host, sock.port = canonical, None
                return 0
            space = self._spaces[protocol]
            block = self._tokens.get(sock.association) if sock.association is not None else None
            if block is not None and (port == 0 or port in block.range):
                chosen = space.pick_in_block(block.range, self._rng) if port == 0 else port
                if chosen is None:  # A1
                    raise refuse("A1", f"every port of {block.range!r} is bound")
                if chosen in space.bound:  # R6 allows the port; the table still applies
                    self._check_sharing(space, sock, chosen, endpoints)
            elif port == 0:  # W1, X4, Y4, C17, A4 (and A16/A17: a lapsed or foreign association)
                picked = space.allocate_port(sock.family, self._rng,
                                             sequential=self._sequential(sock))
                if picked is None:
                    raise refuse("A13", f"no free {protocol.name} port in"
                                 f" {space.dynamic(sock.family)!r}")
                chosen = picked
            else:
                self._check_blocks(space, pid, port)
                if port in space.bound:
                    self._check_sharing(space, sock, port, endpoints)
                chosen = port
            # Commit.
            if block is None:
                sock.association = None  # A16: a lapsed association is forgotten
            sock.host, sock.port, sock.endpoints = canonical, chosen, endpoints  # _commit_bind,
            if sock.reuse or sock.exclusive:  # inlined: this is the bind hot path (C18)
                sock.sharing = Sharing.REUSE if sock.reuse else Sharing.EXCLUSIVE
            space.bind(chosen, handle)
            return chosen

    def _commit_bind(self, space: PortSpace, sock: _Socket, host: str, port: int,
                     endpoints: tuple[Endpoint, ...]) -> None:
        sock.host, sock.port, sock.endpoints = host, port, endpoints
        if sock.reuse or sock.exclusive:  # C18: the options as they are now
            sock.sharing = Sharing.REUSE if sock.reuse else Sharing.EXCLUSIVE
        space.bind(port, sock.handle)

    def _endpoints(self, sock: _Socket, canonical: str) -> tuple[Endpoint, ...]:
        """Where a bind to ``canonical`` sits: (stack, address or None) pairs (C14, C15,
        L1-L4); refuses an address the machine does not have."""
        found = _endpoints_of(sock.family, sock.v6only, canonical)
        if type(found) is str:  # L3: a mapped address on an IPv6-only socket
            raise refuse(found, f"{canonical} is an IPv4-mapped address and socket"
                         f" {sock.handle:#x} is IPv6-only")
        endpoints: tuple[Endpoint, ...] = found  # type: ignore[assignment]  # str was refused
        for _stack, address in endpoints:
            if address is not None and address not in self._local:
                rule = "L4" if _is_group_address(address) else "L1"
                raise refuse(rule, f"{address} is not an address of this machine (it has"
                             f" {', '.join(sorted(self._local))})")
        return endpoints

    def _check_blocks(self, space: PortSpace, pid: int, port: int) -> None:
        """Refuse an explicit bind from a socket not associated with the port's block."""
        owner = space.block_at(port)
        if owner is not None:  # blocks before "in use" (A23, X2)
            if owner.kind is SYSTEM:
                raise refuse("X2", f"port {port} is inside {_describe(owner)}")
            if owner.kind is RUNTIME:
                if owner.owner_pid != pid:
                    raise refuse("R17", f"port {port} is inside {_describe(owner)}")
                if self._variants["X14"] == "refused":
                    raise refuse("X14", f"port {port} is inside {_describe(owner)}, and this"
                                 " socket is not associated with it", "refused")
            elif self._variants["X15"] == "refused":
                raise refuse("X15", f"port {port} is inside {_describe(owner)}, and this"
                             " socket is not associated with it", "refused")

    def _check_sharing(self, space: PortSpace, sock: _Socket, port: int,
                       endpoints: tuple[Endpoint, ...]) -> None:
        """May ``sock`` share ``port`` with the sockets holding it?  REUSE's tables, cell by
        cell (C1-C12), for every holder it meets (C13, C15, C16), on both stacks for a
        dual-stack socket (C14); msquic's per-processor sockets share (C19)."""
        user = self._processes[sock.pid].user
        sharing = (Sharing.REUSE if sock.reuse else Sharing.EXCLUSIVE if sock.exclusive
                   else Sharing.DEFAULT)
        dual_wildcard = len(endpoints) == 2
        for holder_handle in space.holders(port):  # C16: in the order they bound
            holder = self._sockets[holder_handle]
            if _per_processor(holder, sock):  # C19 (UDP only: TCP refused the ioctl)
                continue
            for meeting in self._meetings(holder, endpoints, sharing, user):
                stack, address, holder_address, outcome, rule_id, same_user = meeting
                where = (f"{'0.0.0.0' if stack is Family.INET else '::'}"
                         if address is None else address)
                detail = (f"{sock.protocol.name if sock.protocol else ''} port {port} on"
                          f" {where} is held by socket {holder.handle:#x} of process"
                          f" {holder.pid} ({holder.sharing.value},"
                          f" {'same' if same_user else 'another'} account)")
                if (dual_wildcard and stack is Family.INET and sharing is Sharing.EXCLUSIVE
                        and holder_address is not None):
                    raise refuse("C14", detail, self._variants["C14"])
                if outcome is not Outcome.SUCCESS:
                    raise refuse(rule_id, detail, cell=outcome.value)

    def _meetings(self, holder: _Socket, endpoints: tuple[Endpoint, ...], sharing: Sharing,
                  user: str) -> Iterator[tuple[Family, str | None, str | None, Outcome, str, bool]]:
        """Where a bind at ``endpoints`` (with ``sharing``, by ``user``) meets ``holder``
        (same stack, same address or the wildcard on either side: C13, C15), and the table's
        cell and row for each meeting (C1-C12): ``(stack, address, holder's address,
        outcome, rule id, same account)``."""
        same_user = _same_account(self._processes[holder.pid].user, user)
        for stack, address in endpoints:
            for holder_stack, holder_address in holder.endpoints:
                if holder_stack is not stack or (address is not None and holder_address
                                                 is not None and address != holder_address):
                    continue  # C13, C15: they do not meet
                first = (holder.sharing,
                         Scope.WILDCARD if holder_address is None else Scope.SPECIFIC)
                second = (sharing, Scope.WILDCARD if address is None else Scope.SPECIFIC)
                outcome, rule_id = conflict(first, second, same_user=same_user)
                yield stack, address, holder_address, outcome, rule_id, same_user

    def sockname(self, pid: int, handle: int) -> tuple[Family, str, int]:
        """getsockname(): (family, host, port) of a bound socket (W5)."""
        with self.lock:
            sock = self._socket(pid, handle)
            if sock.host is None:
                raise refuse("W5", f"socket {handle:#x} is not bound")
            return sock.family, sock.host, sock.port or 0

    # --- persistent reservations ---------------------------------------------------

    # --- socket options, connect ------------------------------------------------------

    def setsockopt(self, pid: int, handle: int, level: int, option: int, value: bytes) -> None:
        """setsockopt() for the options that change binding (O1-O7, C18)."""
        with self.lock:
            sock = self._socket(pid, handle)
            key = self._option_key(sock, level, option)
            if len(value) < 4:
                raise refuse("O3", f"the option value has {len(value)} bytes; a BOOL has 4")
            on = int.from_bytes(value[:4], "little") != 0
            if sock.host is not None and self._variants["O5"] == "refused":
                raise refuse("O5", f"socket {handle:#x} is already bound", "refused")
            if key == _REUSE:
                if on and sock.exclusive:
                    raise refuse("O4", f"socket {handle:#x} has SO_EXCLUSIVEADDRUSE set")
                sock.reuse = on
            elif key == _EXCLUSIVE:
                if on and sock.reuse:
                    raise refuse("O4", f"socket {handle:#x} has SO_REUSEADDR set")
                sock.exclusive = on
            else:
                sock.v6only = on

    def getsockopt(self, pid: int, handle: int, level: int, option: int) -> int:
        """getsockopt() for the options that change binding: 0 or 1 (O1, O2, O6, O7)."""
        with self.lock:
            sock = self._socket(pid, handle)
            key = self._option_key(sock, level, option)
            value = (sock.reuse if key == _REUSE else sock.exclusive if key == _EXCLUSIVE
                     else sock.v6only)
            return int(value)

    def _sequential(self, sock: _Socket) -> bool:
        """Whether ``sock``'s wildcard port comes from Windows' counter (A4's default)
        rather than a uniform draw (A4's ``random`` alternative)."""
        return self._variants["A4"] == "sequential"

    def _option_key(self, sock: _Socket, level: int, option: int) -> tuple[int, int]:
        if level not in _KNOWN_LEVELS or (level == IPPROTO_IPV6 and sock.family is Family.INET):
            raise refuse("O2", f"level {level} is not valid for an {sock.family.name} socket")
        key = (level, option)
        if key not in (_REUSE, _EXCLUSIVE, _V6ONLY):
            raise refuse("O1", f"option {option} of level {level} is not one the model knows"
                         " (SO_REUSEADDR, SO_EXCLUSIVEADDRUSE, IPV6_V6ONLY)")
        return key

    def set_cpu_affinity(self, pid: int, handle: int, processor: int) -> None:
        """SIO_CPU_AFFINITY: make a per-processor UDP socket (C19; B8 for TCP)."""
        with self.lock:
            sock = self._port_socket(pid, handle)
            if sock.protocol is not Protocol.UDP:
                raise refuse("B8", f"SIO_CPU_AFFINITY on TCP socket {handle:#x}: msquic's"
                             " per-processor sockets are UDP")
            sock.affinity = processor

    def connect(self, pid: int, handle: int, host: object, port: object) -> int:
        """connect(): binds an unbound socket implicitly, then records the peer; returns
        the local port (K1-K6, L3, A1, A13, W4)."""
        with self.lock:
            sock = self._socket(pid, handle)
            number = _as_ushort(port)
            canonical = _canonical_text(host, sock.family) if type(host) is str else None
            if number is None or canonical is None:
                raise refuse("W4", f"({host!r}, {port!r}) is not an {sock.family.name} address")
            found = _endpoints_of(sock.family, sock.v6only, canonical)
            if type(found) is str:
                raise refuse(found, f"{canonical} is an IPv4-mapped address and socket"
                             f" {handle:#x} is IPv6-only")
            if found[0][1] is None and sock.protocol is Protocol.UDP:  # K7: a disconnect
                sock.peer = None
                return sock.port or 0
            if number == 0 or found[0][1] is None:
                raise refuse("K3", f"cannot connect to {canonical} port {number}")
            if sock.peer is not None and sock.protocol is not Protocol.UDP:
                raise refuse("K4", f"socket {handle:#x} is connected to {sock.peer[0]} port"
                             f" {sock.peer[1]}")
            protocol = sock.protocol
            if sock.host is None and protocol is not None:  # K1: the implicit bind
                space = self._spaces[protocol]
                block = (self._tokens.get(sock.association) if sock.association is not None
                         else None)
                if block is not None and self._variants["K2"] == "block":
                    picked = space.pick_in_block(block.range, self._rng)
                    if picked is None:
                        raise refuse("A1", f"every port of {block.range!r} is bound")
                else:
                    picked = space.allocate_port(sock.family, self._rng,
                                                 sequential=self._sequential(sock))
                    if picked is None:
                        raise refuse("A13", f"no free {protocol.name} port in"
                                     f" {space.dynamic(sock.family)!r}")
                    sock.association = None
                wildcard = "0.0.0.0" if sock.family is Family.INET else "::"
                self._commit_bind(space, sock, wildcard, picked,
                                  self._endpoints(sock, wildcard))
            sock.peer = (canonical, number)
            return sock.port or 0

    def peername(self, pid: int, handle: int) -> tuple[Family, str, int]:
        """getpeername(): (family, host, port) of a connected socket (K5)."""
        with self.lock:
            sock = self._socket(pid, handle)
            if sock.peer is None:
                raise refuse("K5", f"socket {handle:#x} is not connected")
            return sock.family, sock.peer[0], sock.peer[1]

    def create_persistent(self, pid: int, protocol: object, start: object, count: object,
                          *, active: bool = False) -> int:
        """CreatePersistent*PortReservation (R13, R13a, R13b, A14, A15, X6); returns the
        token.  ``active``: a netsh ``store=active`` row, gone at the next boot (N3)."""
        with self.lock:
            proto, block = _protocol(protocol), self._persistent_block(start, count)  # A14
            if not self._live_process(pid).admin:
                raise refuse("R13", f"process {pid} is not an elevated administrator")
            self._sync()
            space = self._spaces[proto]
            other = space.overlapping(block)
            if other is not None:
                rule = {PERSISTENT: "R13b", RUNTIME: "A15", SYSTEM: "X6"}[other.kind]
                raise refuse(rule, f"{block!r} overlaps {_describe(other)}")
            for port in space.bound_in(block.start, block.last):
                raise refuse("R13b", f"{proto.name} port {port} of {block!r} is bound by"
                             f" socket {space.bound[port]:#x}")
            try:  # durable first, re-checked inside the store's transaction
                self._store.add_reservation(proto, block.start, block.count, active=active)
            except StoreConflict as exc:
                rule = "X6" if isinstance(exc.row, StoredExclusion) else "R13b"
                raise refuse(rule, f"{block!r} overlaps {exc.row.start}+{exc.row.count}, made"
                             " by another host sharing this store") from None
            return self._add_persistent(
                StoredReservation(proto, block.start, block.count, active)).reservation.token  # type: ignore[union-attr]

    def lookup_persistent(self, pid: int, protocol: object, start: object, count: object) -> int:
        """LookupPersistent*PortReservation (R13a, R15, A26, A27)."""
        with self.lock:
            proto, block = _protocol(protocol), self._persistent_block(start, count, "A27")
            self._live_process(pid)
            self._sync()
            found = self._persistent_exact(proto, block, "R15").reservation
            assert found is not None
            return found.token

    def delete_persistent(self, pid: int, protocol: object, start: object, count: object) -> None:
        """DeletePersistent*PortReservation (R13, R13a, R16, A20, A27)."""
        with self.lock:
            proto, block = _protocol(protocol), self._persistent_block(start, count, "A27")
            if not self._live_process(pid).admin:
                raise refuse("R13", f"process {pid} is not an elevated administrator")
            self._sync()
            found = self._persistent_exact(proto, block, "R16")
            self._delete_persistent(found)

    def _delete_persistent(self, found: Block) -> None:
        res = found.reservation
        assert res is not None  # persistent blocks have reservations
        # Durable first, and the store decides: another host sharing it may have deleted
        # the block since this one last looked (then this delete finds nothing: R16).
        gone = self._store.remove_reservation(res.protocol, res.range.start, res.range.count)
        self._remove_token(res.token)
        if not gone:
            raise refuse("R16", f"no persistent {res.protocol.name} reservation {res.range!r}"
                         " (another host sharing this store deleted it)")

    # --- exclusions and netsh's view (rules X1, X7, X12, X13, N1) -------------------

    def exclude(self, protocol: object, start: object, count: object, owner: object) -> Exclusion:
        """A Windows component places a system exclusion (X1, X12)."""
        proto = _protocol_option(protocol)
        block = _range_option(start, count)
        if not isinstance(owner, str) or not owner:
            raise TypeError(f"owner must be a non-empty str, not {owner!r}")
        with self.lock:
            self._sync()
            space = self._spaces[proto]
            other = space.overlapping(block)
            if other is not None:
                raise refuse("X12", f"{block!r} overlaps {_describe(other)}")
            try:
                self._store.add_exclusion(proto, block.start, block.count, owner)
            except StoreConflict as exc:
                raise refuse("X12", f"{block!r} overlaps {exc.row.start}+{exc.row.count}, made"
                             " by another host sharing this store") from None
            space.add_block(Block(SYSTEM, block, owner=owner))
            return Exclusion(proto, block.start, block.last, False, owner)

    def release_exclusions(self, owner: object) -> int:
        """The component stops (``net stop winnat``): its rows go (X1); returns how many."""
        if not isinstance(owner, str):
            raise TypeError(f"owner must be a str, not {type(owner).__name__}")
        with self.lock:
            self._store.remove_exclusions(owner)
            gone = 0
            for space in self._spaces.values():
                for block in [b for b in space.blocks.values()
                              if b.kind is SYSTEM and b.owner == owner]:
                    space.remove_block(block)
                    gone += 1
            return gone

    def exclusions(self, protocol: object, *, persistent_only: bool = False) -> tuple[Exclusion, ...]:
        """The rows netsh lists, sorted (X1, X13, N1, N3)."""
        proto = _protocol_option(protocol)
        with self.lock:
            self._sync()
            listed = self._variants["X13"] == "listed"
            rows = []
            for block in self._spaces[proto].blocks.values():
                r = block.range
                if block.kind is PERSISTENT:
                    if not (persistent_only and block.active):
                        rows.append(Exclusion(proto, r.start, r.last, True, None))
                elif persistent_only:
                    continue
                elif block.kind is SYSTEM:
                    rows.append(Exclusion(proto, r.start, r.last, False, block.owner))
                elif listed:
                    rows.append(Exclusion(proto, r.start, r.last, False,
                                          f"process {block.owner_pid}"))
            return tuple(rows)

    def delete_row(self, pid: int, protocol: object, start: object, count: object) -> None:
        """``netsh ... delete excludedportrange``: the row with exactly that start and
        count (N1, R16, X7).  The caller checked elevation (N2)."""
        with self.lock:
            proto, block = _protocol(protocol), self._persistent_block(start, count)
            self._live_process(pid)
            self._sync()
            found = self._spaces[proto].block_at(block.start)
            if found is None or found.range != block:
                raise refuse("R16", f"no {proto.name} row {block.start}-{block.last}")
            if found.kind is PERSISTENT:
                self._delete_persistent(found)
                return
            if found.kind is RUNTIME and self._variants["X13"] != "listed":
                raise refuse("R16", f"no {proto.name} row {block.start}-{block.last}")
            raise refuse("X7", f"{_describe(found)} is not administered", self._variants["X7"])

    # --- the dynamic ranges (rules R18, Y1-Y5) ---------------------------------------

    def dynamic_range(self, protocol: object, family: object = Family.INET) -> PortRange:
        """The dynamic port range of ``protocol`` for ``family`` (R18)."""
        proto, fam = _protocol_option(protocol), _family_option(family)
        with self.lock:
            return self._spaces[proto].dynamic(fam)

    def set_dynamic_range(self, protocol: object, family: object, dynamic: PortRange) -> None:
        """``netsh int ipv4|ipv6 set dynamicport``; the caller checked elevation (Y3).

        Raises:
            PortPoolError: ERROR_INVALID_PARAMETER outside the limits (Y1, Y2).
        """
        proto, fam = _protocol_option(protocol), _family_option(family)
        if dynamic.count < MIN_DYNAMIC_PORTS:
            raise refuse("Y1", f"{dynamic!r} has fewer than {MIN_DYNAMIC_PORTS} ports")
        if dynamic.start < self._min_start:
            raise refuse("Y2", f"{dynamic!r} starts below {self._min_start}",
                         self._variants["Y2"])
        with self.lock:
            self._store.set_range(proto, fam, dynamic)  # durable first
            self._spaces[proto].set_range(fam, dynamic)

    # --- introspection -------------------------------------------------------------

    def reservations(self, protocol: object) -> tuple[Reservation, ...]:
        """Live reservations of ``protocol``, runtime and persistent, in port order."""
        proto = _protocol_option(protocol)
        with self.lock:
            return tuple(b.reservation for b in self._spaces[proto].blocks.values()
                         if b.reservation is not None)

    def reservation_owner(self, token: int) -> int | None:
        """The pid a runtime block belongs to; ``None`` for persistent or unknown tokens."""
        with self.lock:
            block = self._tokens.get(token)
            return None if block is None else block.owner_pid

    def bindings(self, protocol: object) -> tuple[Binding, ...]:
        """Live bound sockets of ``protocol``, in port order."""
        proto = _protocol_option(protocol)
        with self.lock:
            space = self._spaces[proto]
            return tuple(self._binding(self._sockets[handle]) for port in sorted(space.bound)
                         for handle in space.holders(port))

    def free_ports(self, protocol: object, family: object = Family.INET) -> int:
        """How many ports of the dynamic range are neither bound nor in a block."""
        proto, fam = _protocol_option(protocol), _family_option(family)
        with self.lock:
            return self._spaces[proto].free_ports(fam)

    def explain(self, protocol: object, port: object) -> Explanation:
        """Who holds ``port`` and which rules decide a bind to it."""
        proto = _protocol_option(protocol)
        number = _as_int(port)
        if number is None:
            raise TypeError(f"port must be an int, not {type(port).__name__}")
        if not 1 <= number <= MAX_PORT:
            raise ValueError(f"port must be in 1-65535, not {port!r}")
        port = number
        with self.lock:
            space = self._spaces[proto]
            block = space.block_at(port)
            holders = [self._sockets[handle] for handle in space.holders(port)]
            bindings = tuple(self._binding(sock) for sock in holders)
            rules: list[str] = ["R17a", "X10"]
            plain: WinError | None = None
            plain_rule: str | None = None
            exclusion = None
            if block is not None and block.kind is SYSTEM:
                rules += ["X1", "X2"]
                plain, plain_rule = RULES["X2"].error, "X2"
                exclusion = Exclusion(proto, block.range.start, block.range.last, False,
                                      block.owner)
            elif block is not None and block.kind is RUNTIME:
                rules += ["R17", "R5"]
                plain, plain_rule = RULES["R17"].error, "R17"
            elif block is not None:
                rules += ["X15", "R5"]
                plain = alternative("X15", self._variants["X15"]).error
                plain_rule = "X15" if plain is not None else None
            if plain is None and holders:
                plain, plain_rule = self._predict_plain_bind(holders)
                rules += ["C13", "C15"] + ([plain_rule] if plain_rule else [])
                if plain is None:
                    plain_rule = plain_rule if plain_rule != "C15" else None
            acquire: WinError | None = None
            acquire_rule: str | None = None
            if block is not None:
                acquire, acquire_rule = RULES["X5"].error, "X5"
            elif holders:
                acquire, acquire_rule = RULES["A2"].error, "A2"
            v4, v6 = space.dynamic(Family.INET), space.dynamic(Family.INET6)
            if port in v4 or port in v6:
                rules += ["R18", "W1", "X4", "C17"]
            reservation = block.reservation if block is not None else None
            return Explanation(
                proto, port, port in v4, reservation,
                block.owner_pid if block is not None else None,
                bindings[0] if bindings else None, plain, tuple(dict.fromkeys(rules)),
                port in v6, exclusion, bindings, plain_rule, acquire, acquire_rule,
                drawable=(port in v4 or port in v6) and block is None and not holders)

    def _predict_plain_bind(self, holders: list[_Socket]) -> tuple[WinError | None, str | None]:
        """What an AF_INET socket of the default account, with default options, would get
        binding 0.0.0.0 at the holders' port (the table, C1-C13)."""
        decided = "C15"  # no holder on the IPv4 stack: the other stack's do not meet it
        for holder in holders:
            for *_, outcome, decided, _ in self._meetings(holder, ((Family.INET, None),),
                                                          Sharing.DEFAULT, DEFAULT_USER):
                if outcome is not Outcome.SUCCESS:
                    return outcome.value, decided
        return None, decided  # the row that let it through

    def snapshot(self) -> tuple[object, ...]:
        """A hashable picture of the whole state, for "a failed call changes nothing"."""
        with self.lock:
            return (
                tuple(sorted((p.pid, p.admin, p.alive, tuple(sorted(p.sockets)))
                             for p in self._processes.values())),
                tuple(sorted((s.handle, s.pid, s.host, s.port, s.association,
                              tuple(sorted(s.acquired)), s.reuse, s.exclusive, s.v6only,
                              s.affinity, s.sharing.value, s.endpoints, s.peer)
                             for s in self._sockets.values())),
                tuple((int(p), tuple((b.kind.value, b.range.start, b.range.count,
                                      b.reservation.token if b.reservation else None,
                                      b.owner_pid, b.owner_socket, b.owner, b.active)
                                     for b in space.blocks.values()),
                       tuple((int(f), r.range.start, r.range.count, r.free)
                             for f, r in space.ranges.items()),
                       tuple(sorted(space.bound.items())),
                       tuple(sorted((port, tuple(rest)) for port, rest in space.shared.items())))
                      for p, space in self._spaces.items()),
                self._next_pid, self._next_handle, self._rng.getstate(), self._boot_number,
            )

    def sharing_problems(self) -> list[str]:
        """Ports whose holders the conflict table would not let share (an invariant the
        fuzzer checks: every later holder passes against every earlier one it meets)."""
        problems: list[str] = []
        with self.lock:
            for protocol, space in self._spaces.items():
                for port, rest in space.shared.items():
                    holders = [self._sockets[h] for h in [space.bound[port], *rest]]
                    for index, later in enumerate(holders):
                        problems += (f"{protocol.name} port {port}: socket {later.handle:#x} shares"
                                     f" it with socket {earlier.handle:#x} against {why}"
                                     for earlier in holders[:index]
                                     if (why := self._refusing_rule(earlier, later)))
        return problems

    def _refusing_rule(self, first: _Socket, second: _Socket) -> str | None:
        """The rule that forbids ``second`` (bound with its options) beside ``first``."""
        if _per_processor(first, second):
            return None  # C19
        user = self._processes[second.pid].user
        return next((rule_id for *_, outcome, rule_id, _ in
                     self._meetings(first, second.endpoints, second.sharing, user)
                     if outcome is not Outcome.SUCCESS), None)

    def sockets_of(self, pid: int) -> Iterator[int]:
        """The live socket handles of ``pid``, in order."""
        with self.lock:
            process = self._processes.get(pid)
            return iter(sorted(process.sockets) if process else ())

    # --- helpers ---------------------------------------------------------------------

    def _sync(self) -> None:
        """Take in what other hosts sharing the store changed (persistent rows and
        exclusions); rows that collide with this host's own runtime state wait."""
        record = self._store.load()
        if record.boot != self._boot_number:
            return  # another host rebooted the shared machine; this one runs on as it was
        stored_res = {(r.protocol, r.start, r.count): r for r in record.reservations}
        stored_ex = {(r.protocol, r.start, r.count, r.owner) for r in record.exclusions}
        for protocol, space in self._spaces.items():
            for block in list(space.blocks.values()):
                r = block.range
                if block.kind is PERSISTENT and (protocol, r.start, r.count) not in stored_res:
                    assert block.reservation is not None
                    self._remove_token(block.reservation.token)
                elif block.kind is SYSTEM and (protocol, r.start, r.count, block.owner) not in stored_ex:
                    space.remove_block(block)
        for key, row in stored_res.items():
            space = self._spaces[key[0]]
            rng = PortRange(row.start, row.count)
            if space.overlapping(rng) is None and not space.bound_in(rng.start, rng.last):
                self._add_persistent(row)
        for protocol, start, count, owner in stored_ex:
            rng = PortRange(start, count)
            if self._spaces[protocol].overlapping(rng) is None:
                self._spaces[protocol].add_block(Block(SYSTEM, rng, owner=owner))

    def _live_process(self, pid: int) -> _Process:
        process = self._processes.get(pid)
        if process is None or not process.alive:
            raise refuse("A19", f"process {pid} is not running on this machine")
        return process

    def _socket(self, pid: int, handle: object) -> _Socket:
        sock = self._sockets.get(handle) if type(handle) is int else None
        if sock is not None and sock.pid == pid and self._processes[pid].alive:
            return sock  # the hot path
        self._live_process(pid)  # A19 before R9b
        if sock is None or sock.pid != pid:
            number = _as_int(handle)
            shown = f"{number:#x}" if number is not None else repr(handle)
            raise refuse("R9b", f"handle {shown} is not a socket of process {pid}")
        return sock

    def _port_socket(self, pid: int, handle: int) -> _Socket:
        sock = self._socket(pid, handle)
        if sock.protocol is None:
            raise refuse("R9a", f"socket {handle:#x} is neither TCP nor UDP")
        return sock

    def _block_for_token(self, token: object) -> Block:
        value = _as_int(token)
        if value is None or not 0 <= value <= _MAX_TOKEN:
            raise refuse("R9c", f"token {token!r} is not a 64-bit unsigned integer")
        block = self._tokens.get(value)
        if block is None:
            raise refuse("A11", f"token {value:#x} names no live reservation")
        return block

    def _persistent_block(self, start: object, count: object, past_rule: str = "R13a") -> PortRange:
        """The block of a persistent call: R13a for zeros (and for Create past 65535),
        ``past_rule`` (A27 for Lookup and Delete) for a block past 65535."""
        first, number = _as_ushort(start), _as_ushort(count)
        if not first or not number:  # None (not a USHORT) or 0
            raise refuse("R13a", f"StartPort {start!r} / NumberOfPorts {count!r}")
        if first + number - 1 > MAX_PORT:
            raise refuse(past_rule, f"ports {first}+{number} run past 65535")
        return PortRange(first, number)

    def _persistent_exact(self, protocol: Protocol, block: PortRange, rule: str) -> Block:
        found = self._spaces[protocol].block_at(block.start)
        if found is None or found.kind is not PERSISTENT or found.range != block:
            raise refuse(rule, f"no persistent {protocol.name} reservation {block!r}")
        return found

    def _persistent_token(self, row: StoredReservation) -> int:
        """A persistent block's token: a function of the row and the boot (A10), so every
        host that reads the same store in the same boot gives the same token, and a reboot
        gives a new one."""
        tokens = random.Random(f"persistent:{self._boot_number}:{int(row.protocol)}:{row.start}:"
                               f"{row.count}")
        while True:  # R13c: unique and never INVALID_PORT_RESERVATION_TOKEN (0)
            token = tokens.getrandbits(64)
            if token and token not in self._tokens:
                return token

    def _new_token(self) -> int:
        while True:  # R13c: unique and never INVALID_PORT_RESERVATION_TOKEN (0)
            token = self._rng.getrandbits(64)
            if token and token not in self._tokens:
                return token

    def _remove_token(self, token: int) -> None:
        block = self._tokens.pop(token)
        res = block.reservation
        assert res is not None
        self._spaces[res.protocol].remove_block(block)  # A20: bound sockets keep their ports
        if block.owner_socket is not None:
            self._sockets[block.owner_socket].acquired.discard(token)

    def _close(self, sock: _Socket) -> None:
        if sock.acquired:
            for token in sorted(sock.acquired):  # R4
                self._remove_token(token)
        if sock.protocol is not None and sock.port is not None:
            self._spaces[sock.protocol].unbind(sock.port, sock.handle)
        del self._sockets[sock.handle]
        self._processes[sock.pid].sockets.discard(sock.handle)

    def _binding(self, sock: _Socket) -> Binding:
        assert sock.protocol is not None
        assert sock.port is not None
        assert sock.host is not None
        block = self._tokens.get(sock.association) if sock.association is not None else None
        token = (block.reservation.token if block and block.reservation
                 and sock.port in block.range else None)
        return Binding(sock.protocol, sock.port, sock.host, sock.family, sock.pid,
                       sock.handle, token)


_ALL_KEYS: Final = frozenset((p, f) for p in Protocol for f in Family)

# (family, type, proto) -> (Family, Protocol) for every valid TCP/UDP socket() call (W9).
_STREAM_OR_DGRAM: Final[dict[tuple[object, object, object], tuple[Family, Protocol]]] = {
    (family_value, kind, proto): (Family.from_value(family_value) or Family.INET, protocol)
    for family_value in {AF_INET, AF_INET6, int(_pysocket.AF_INET6)}
    for kind, protocol in ((SOCK_STREAM, Protocol.TCP), (SOCK_DGRAM, Protocol.UDP))
    for proto in (0, int(protocol))
}


def _with_defaults(ranges: Mapping[RangeKey, PortRange]) -> dict[RangeKey, PortRange]:
    return {key: ranges.get(key, DEFAULT_DYNAMIC_RANGE) for key in _ALL_KEYS}


def _describe(block: Block) -> str:
    r = block.range
    if block.kind is SYSTEM:
        return f"a system exclusion {r.start}-{r.last} of {block.owner}"
    if block.kind is PERSISTENT:
        return f"the administered (persistent) block {r.start}-{r.last}"
    return f"the runtime block {r.start}-{r.last} of process {block.owner_pid}"


def _protocol(value: object) -> Protocol:
    """A protocol given to a Windows call: the model refuses others (R13a)."""
    number = _as_int(value)
    if number in (Protocol.TCP, Protocol.UDP):
        return Protocol(number)
    raise refuse("R13a", f"protocol {value!r} is neither TCP (6) nor UDP (17)")


def _protocol_option(value: object) -> Protocol:
    """A protocol given to an emulator method: Python's rules (TypeError, ValueError)."""
    if isinstance(value, Protocol):
        return value
    number = _as_int(value)
    if number is None:
        raise TypeError(f"protocol must be a portpool.Protocol, not {type(value).__name__}")
    if number not in (Protocol.TCP, Protocol.UDP):
        raise ValueError(f"protocol must be Protocol.TCP (6) or Protocol.UDP (17), not {value!r}")
    return Protocol(number)


def _family_option(value: object) -> Family:
    number = _as_int(value)
    fam = Family.from_value(number) if number is not None else None
    if fam is None:
        if number is None:
            raise TypeError(f"family must be a portpool.Family, not {type(value).__name__}")
        raise ValueError(f"family must be Family.INET or Family.INET6, not {value!r}")
    return fam


def _range_option(start: object, count: object) -> PortRange:
    first, number = _as_int(start), _as_int(count)
    if first is None or number is None:
        raise TypeError(f"start and count must be ints, not {start!r} and {count!r}")
    return PortRange(first, number)  # ValueError if out of range


def _as_int(value: object) -> int | None:
    """``value`` as a plain int (an IntEnum too), or ``None`` if it is no int (or a bool)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return None


def _as_ushort(value: object) -> int | None:
    """``value`` if it is an int in 0-65535 (a USHORT), else ``None``."""
    if type(value) is int:  # the common case, and excludes bool
        return value if 0 <= value <= MAX_PORT else None
    number = _as_int(value)
    return number if number is not None and 0 <= number <= MAX_PORT else None


@functools.lru_cache(maxsize=256)  # bind is hot; the same few literals recur
def _canonical_text(host: str, family: Family) -> str | None:
    """``host`` as Windows prints it back from the sockaddr (``""`` is the unspecified
    address: ``0.0.0.0`` or ``::``), or ``None`` if it is no address of ``family`` (rule
    W4).  Whether the machine has the address is L1's business."""
    address = parse_host(host, family)
    return None if address is None else address_text(address)


def _local_addresses(addresses: object) -> frozenset[str]:
    """The canonical texts of a machine's addresses (L1); TypeError/ValueError for bad ones."""
    if isinstance(addresses, (str, bytes)) or not isinstance(addresses, Iterable):
        raise TypeError(f"addresses must be a sequence of address strings, not"
                        f" {type(addresses).__name__}")
    local = set()
    for text in addresses:
        if not isinstance(text, str):
            raise TypeError(f"addresses must be strings, not {type(text).__name__}")
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None
        if address.is_unspecified:
            raise ValueError(f"{text!r} is the wildcard, which every machine binds; give the"
                             " machine's own addresses")
        if address.is_multicast or text.strip() == "255.255.255.255":
            raise ValueError(f"{text!r} is a group address, never an interface's (L4)")
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            raise ValueError(f"{text!r} is an IPv4-mapped address: give the IPv4 address"
                             f" {address.ipv4_mapped} (L2)")
        local.add(str(address))
    return frozenset(local)


@functools.lru_cache(maxsize=256)  # bind is hot; the same few literals recur
def _endpoints_of(family: Family, v6only: bool, canonical: str) -> tuple[Endpoint, ...] | str:
    """Where a bind of a ``family`` socket to ``canonical`` sits (C14, C15, L2), or the id of
    the rule that refuses it (L3)."""
    if family is Family.INET:
        return ((Family.INET, None if canonical == "0.0.0.0" else canonical),)
    if canonical == "::":  # C14: a dual-stack wildcard holds the port on both stacks
        return ((Family.INET6, None),) if v6only else ((Family.INET6, None), (Family.INET, None))
    mapped = ipaddress.IPv6Address(canonical).ipv4_mapped
    if mapped is None:
        return ((Family.INET6, canonical),)
    if v6only:
        return "L3"
    return ((Family.INET, None if mapped.is_unspecified else str(mapped)),)  # L2


def _is_group_address(text: str) -> bool:
    address = ipaddress.ip_address(text)
    return address.is_multicast or text == "255.255.255.255"


def _per_processor(one: _Socket, other: _Socket) -> bool:
    """msquic's per-processor sockets: both set SIO_CPU_AFFINITY, in one process (C19)."""
    return one.affinity is not None and other.affinity is not None and one.pid == other.pid


def _same_account(one: str, other: str) -> bool:
    """Whether two account names are one account: without regard to case (``Alice`` is
    ``alice``), as Windows logon names are (C7's note, assumed)."""
    return one.casefold() == other.casefold()
