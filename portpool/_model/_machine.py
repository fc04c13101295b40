"""One emulated Windows machine: its processes, sockets and the operations on its pools.

Theory of operation
-------------------
``Machine`` is the single owner of mutable state.  It knows processes, sockets and
tokens, and owns one ``PortSpace`` per protocol (``_space.py``: ports, the three kinds
of blocks, the dynamic ranges).  It knows nothing of call shapes (no buffers, no byte
order, no IOCTL codes: those belong to the ABI room and the backends) and nothing of
netsh's text (``portpool/_netsh/_frontend.py``).

Every operation first checks everything that can refuse it, raising through
``refuse(rule_id, ...)`` whose Windows code lives in ``_rules/``, and only then
mutates: a refused call changes nothing, the generator's state included.  Where the
evidence conflicts, a rule has alternatives and the one in force comes from
``self._variants`` (``EmulatedHost(variants=...)``).

What outlives processes (persistent reservations, system exclusions of this boot, the
dynamic ranges, the preset) lives in the store (``_store/``), the machine's registry.
Every change goes to the store first, inside one transaction that re-checks it, so a
failing store changes nothing and hosts sharing one store file never both win a block.
A reboot asks the store for the next boot's state first and only then replaces memory.

Every public method holds ``self.lock`` (an ``RLock`` made with the machine): any call
from any thread, as Winsock allows.

Layout: this module holds the constructor and the lifecycle (boot, reboot); each concept
is a mixin over ``_state.py``'s ``_MachineState`` (the state and the helpers every part
uses): ``_processes.py`` (processes and sockets), ``_blocks.py`` (runtime and persistent
reservations, exclusions, netsh's rows, the dynamic ranges), ``_binding.py`` (bind,
sharing, options, connect), ``_connections.py`` (listen, accept, TCP connections, the
clock and TIME_WAIT, over ``_endpoints.py``'s table) and ``_introspect.py`` (explain, snapshots; it builds on
``_binding.py``'s walk over a port's holders).  A new concept gets a module of its own.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from .._errors import shown
from .._types import Family, PortRange, Protocol
from ._blocks import _Blocks, dynamic_range_problem
from ._connections import (
    DEFAULT_TIME_WAIT_DELAY,
    _Connections,
    check_auto_reuse_ports,
    check_time_wait_delay,
)
from ._endpoints import ConnectionTable
from ._introspect import Explanation, _Introspection
from ._presets import PRESETS, place_nothing
from ._processes import _Processes
from ._rules import check_variants
from ._space import Block, PortSpace
from ._state import SYSTEM, RangeKey, SocketInfo, persistent_block
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
#: The local addresses of a machine made without ``addresses=`` (rule L1).
DEFAULT_ADDRESSES: Final = ("127.0.0.1", "192.168.1.10", "::1", "fd00::10")
_FIRST_PID: Final = 1000  # Windows process ids are multiples of 4
_FIRST_HANDLE: Final = 0x100  # so are socket handles


class Machine(_Processes, _Blocks, _Connections, _Introspection):
    """One Windows machine's port pools (see the module docstring).

    Args (constructor, besides the options ``EmulatedHost`` documents):
        store: the store, or a function that opens it, called only once every option
            has been checked (so a refused option never makes a store file).
        rows: persistent reservations and system exclusions the machine is made with
            (``from_netsh``): written with the dynamic ranges in one transaction, all
            or nothing.

    Raises (constructor):
        TypeError, ValueError: a bad option (what Python decides), or ``rows`` that
            overlap each other or a stored row (nothing is written then).
        StoreError: the store is not a usable portpool store.
        PortPoolError: ERROR_NOT_SUPPORTED, the store cannot be read or written.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        dynamic_ports: object = None,
        store: Store | Callable[[], Store] | None = None,
        variants: object = None,
        preset: str | None = None,
        addresses: object = None,
        rows: Sequence[StoredReservation | StoredExclusion] = (),
        time_wait_delay: object = None,
        auto_reuse_ports: object = None,
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        delay = None if time_wait_delay is None else check_time_wait_delay(time_wait_delay)
        reuse_range = None if auto_reuse_ports is None else check_auto_reuse_ports(auto_reuse_ports)
        self._local = _DEFAULT_LOCAL if addresses is None else _local_addresses(addresses)
        self.lock = threading.RLock()
        self._variants = check_variants(variants)
        self._min_start = int(self._variants["Y2"])  # Y2's alternatives are named by the port
        self._counted = self._variants["A4"] == "sequential"
        self._where = {}
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown preset {shown(preset)} (presets: {', '.join(PRESETS)})")
        options = {} if dynamic_ports is None else self._range_options(dynamic_ports)
        given = _given_rows(rows)
        chosen = PRESETS[preset or "default"]
        if rows:  # before the store is touched: the given rows against the preset's
            _check_no_overlap([*(StoredReservation(protocol, start, count, active=False)
                                 for protocol, start, count in chosen.administered),
                               *given[0], *given[1]])
        self._seed = seed
        self._store: Store = _open(store)  # every option is checked: now it may be made
        self._seen = -1  # the store's version this machine has taken in (see _sync)
        self._next_pid = _FIRST_PID
        self._next_handle = _FIRST_HANDLE
        # A store made here holds no machine yet: no need to read it.
        record = self._store.load() if store is not None else None
        made = False
        if record is None or record.boot == 0:
            # A new machine: its configuration and first boot are one transaction, so
            # of several processes opening one new store at once, one makes it and the
            # others get its record (then it is a machine that exists, below).
            ranges = {**chosen.ranges, **options}
            for dynamic in ranges.values():  # a preset's ranges obey Y2 like any option
                problem = dynamic_range_problem(dynamic, self._min_start)
                if problem is not None:
                    raise ValueError(f"preset {shown(chosen.name)}: {problem} (rule Y2 is"
                                     f" {self._variants['Y2']!r} on this host)")

            def place(new: MachineRecord) -> list[StoredExclusion]:
                nonlocal made
                made = True
                return self._placer(new) + given[1]

            try:
                record = self._store.first_boot(
                    ranges=ranges, preset=chosen.name, seed=seed,
                    reservations=[*_administered(chosen.name), *given[0]],
                    place=place)
            except StoreConflict as exc:
                raise ValueError(f"the machine's rows overlap: {exc}") from None
        if not made:  # a machine that exists: options change its configuration
            if preset is not None and preset != record.preset:
                raise ValueError(f"the store holds a {shown(record.preset)} machine, not {shown(preset)}")
            if options or rows:
                try:  # one transaction: all of them or none
                    self._store.add_rows(ranges=options, reservations=given[0],
                                         exclusions=given[1])
                except StoreConflict as exc:
                    raise ValueError(f"a row given overlaps the stored machine: {exc}") from None
                record = self._store.load()
        self._boot(self._settings(record, delay, reuse_range))

    def _settings(self, record: MachineRecord, delay: int | None,
                  reuse_range: PortRange | None) -> MachineRecord:
        """Store the settings given to the constructor, which this machine boots with (a
        new one, or this host): TcpTimedWaitDelay (T2), the auto-reuse port range (O15)."""
        if delay is not None:
            self._store.set_time_wait_delay(delay)
        if reuse_range is not None:
            self._store.set_auto_reuse_ports(reuse_range)
        return record if delay is None and reuse_range is None else self._store.load()

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
                raise TypeError(f"dynamic_ports key {shown(key)} is not a Protocol or a"
                                " (Protocol, Family) pair")
            if not isinstance(dynamic, PortRange):
                raise TypeError(f"dynamic_ports[{shown(key)}] must be a PortRange, not"
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
        if preset.place is place_nothing:  # no component of this machine places rows
            return []
        return list(_placements(preset.name, record.seed, record.boot,
                                tuple(sorted(record.ranges.items())),
                                tuple((r.protocol, r.start, r.count) for r in record.reservations)))

    def _boot(self, record: MachineRecord) -> None:
        """Start the machine from the store's record: nothing runs; persistent blocks
        and this boot's exclusions load, with fresh tokens (R13d, A10, X1)."""
        self._processes = {}
        self._sockets = {}
        spaces, persistent = _booted_spaces(
            tuple(sorted(record.ranges.items())) if record.ranges else (),
            tuple([(r.protocol, r.start, r.count, r.owner) for r in record.exclusions]),
            record.boot, record.reservations)
        self._spaces = {protocol: space.copy() for protocol, space in spaces.items()}
        self._tokens = dict(persistent)
        self._preset = PRESETS.get(record.preset or "default", PRESETS["default"])
        self._boot_number = record.boot
        self._seen = record.version
        self._stopped = {}  # every component runs after a boot (X1, X16)
        self._time_wait_delay = record.time_wait_delay or DEFAULT_TIME_WAIT_DELAY  # T2
        self._auto_reuse = record.auto_reuse_ports  # O15: read at boot
        tcp = self._spaces[Protocol.TCP]
        self._conns = ConnectionTable(tcp.hold, tcp.release)  # T1: the clock starts at 0

    def reboot(self) -> None:
        """Every process ends; persistent reservations remain with new tokens; the
        preset's components place their rows anew; connections are gone, the clock starts
        again at 0 and TcpTimedWaitDelay is read anew (R4, A10, A28, X1, T1, T2).

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


_ALL_KEYS: Final = frozenset((p, f) for p in Protocol for f in Family)


def _open(store: Store | Callable[[], Store] | None) -> Store:
    """The store, made by its opener if given one (``EmulatedHost`` passes a path so)."""
    if store is None:
        return MemoryStore()
    if hasattr(store, "load"):
        return store  # type: ignore[return-value]  # a Store (checked by shape, as the host does)
    return store()  # type: ignore[operator,unused-ignore]  # an opener (mypy narrows differently by version)


def _given_rows(rows: object) -> tuple[list[StoredReservation], list[StoredExclusion]]:
    """``rows`` checked: stored rows that do not overlap each other."""
    if rows == ():  # no rows given (every host but from_netsh's)
        return [], []
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        raise TypeError(f"rows must be a sequence of stored rows, not {type(rows).__name__}")
    reservations: list[StoredReservation] = []
    exclusions: list[StoredExclusion] = []
    for row in rows:
        if isinstance(row, StoredReservation):
            reservations.append(row)
        elif isinstance(row, StoredExclusion):
            exclusions.append(row)
        else:
            raise TypeError(f"rows must hold StoredReservation or StoredExclusion, not"
                            f" {type(row).__name__}")
    _check_no_overlap([*reservations, *exclusions])
    return reservations, exclusions


def _check_no_overlap(rows: Sequence[StoredReservation | StoredExclusion]) -> None:
    ordered = sorted(rows, key=lambda row: (row.protocol, row.start))
    for before, after in itertools.pairwise(ordered):
        if before.protocol is after.protocol and before.last >= after.start:
            raise ValueError(f"the machine's rows overlap: {before.protocol.name}"
                             f" {before.start}-{before.last} and {after.start}-{after.last}")


def _with_defaults(ranges: Mapping[RangeKey, PortRange]) -> dict[RangeKey, PortRange]:
    return {key: ranges.get(key, DEFAULT_DYNAMIC_RANGE) for key in _ALL_KEYS}


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
            raise ValueError(f"{shown(text)} is not an IPv4 or IPv6 address") from None
        if address.is_unspecified:
            raise ValueError(f"{shown(text)} is the wildcard, which every machine binds; give the"
                             " machine's own addresses")
        if address.is_multicast or text.strip() == "255.255.255.255":
            raise ValueError(f"{shown(text)} is a group address, never an interface's (L4)")
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            raise ValueError(f"{shown(text)} is an IPv4-mapped address: give the IPv4 address"
                             f" {address.ipv4_mapped} (L2)")
        local.add(str(address))
    return frozenset(local)


#: Enum members as tuples: iterating an Enum class costs a generator per loop.
_FAMILIES: Final = tuple(Family)
_PROTOCOLS: Final = tuple(Protocol)
#: The default machine's addresses, parsed once for every host.
_DEFAULT_LOCAL: Final = _local_addresses(DEFAULT_ADDRESSES)


# --- what every boot of the same machine computes alike, computed once -----------------
# A machine is deterministic: the same preset, seed, boot number and rows place the same
# exclusions, and the same ranges and exclusions make the same port spaces.  Suites make
# many machines alike, so both are cached (as immutable values, or as templates that
# every host copies) instead of being recomputed per host.

_RangeItems = tuple[tuple[RangeKey, PortRange], ...]


@functools.cache  # one entry per preset: PRESETS is fixed, so the cache is bounded
def _administered(preset: str) -> tuple[StoredReservation, ...]:
    """The persistent rows ``preset`` makes with the machine, as stored rows (values)."""
    return tuple(StoredReservation(protocol, start, count, active=False)
                 for protocol, start, count in PRESETS[preset].administered)


@functools.lru_cache(maxsize=256)
def _placements(preset: str, seed: int, boot: int, ranges: _RangeItems,
                reservations: tuple[tuple[Protocol, int, int], ...]) -> tuple[StoredExclusion, ...]:
    """The rows ``preset``'s components place at this boot (X1): a function of its inputs."""
    full = _with_defaults(dict(ranges))
    occupied: dict[Protocol, list[PortRange]] = {p: [] for p in _PROTOCOLS}
    for protocol, start, count in reservations:
        occupied[protocol].append(PortRange(start, count))
    rng = random.Random(seed * 1_000_003 + boot)
    return tuple(StoredExclusion(protocol, start, count, owner)
                 for protocol, start, count, owner in PRESETS[preset].place(rng, full, occupied))


@functools.lru_cache(maxsize=256)
def _booted_spaces(ranges: _RangeItems, exclusions: tuple[tuple[Protocol, int, int, str], ...],
                   boot: int, reservations: tuple[StoredReservation, ...],
                   ) -> tuple[dict[Protocol, PortSpace], tuple[tuple[int, Block], ...]]:
    """Templates of the port spaces a boot starts with (copy before use), and the
    persistent blocks' (token, block) pairs: the dynamic ranges, the system exclusions and
    the persistent reservations with this boot's tokens (R13d, A10, X1).  Blocks are
    never changed once made, so every machine booted alike shares them."""
    full = _with_defaults(dict(ranges))
    spaces = {p: PortSpace({f: full[(p, f)] for f in _FAMILIES}) for p in _PROTOCOLS}
    for protocol, start, count, owner in exclusions:
        spaces[protocol].add_block(Block(SYSTEM, PortRange(start, count), owner=owner))
    tokens: dict[int, Block] = {}
    for row in reservations:  # in the store's order, as each boot hands out tokens
        block = persistent_block(boot, row, tokens)
        assert block.reservation is not None
        tokens[block.reservation.token] = block
        spaces[row.protocol].add_block(block)
    return spaces, tuple(tokens.items())
