"""What a machine holds, and the helpers every part of it uses.

``_MachineState`` declares the state one ``Machine`` owns (its processes, sockets,
tokens, one ``PortSpace`` per protocol, and the TCP connection table with the clock) and
the helpers the concept modules share: finding a live process or socket, tokens, and
taking in what other hosts sharing the store changed (``_sync``).  The concept modules
(``_processes.py``, ``_blocks.py``, ``_binding.py``, ``_connections.py``,
``_introspect.py``) are mixins over it; ``_machine.py`` composes them.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Container
from typing import Any, Final, Generic, NamedTuple, TypeVar, overload

import attrs

from .._errors import shown
from .._types import (
    MAX_PORT,
    Exclusion,
    Family,
    PortRange,
    Protocol,
    Reservation,
)
from ._conflicts import Sharing
from ._endpoints import ConnectionTable
from ._presets import Preset
from ._rules import refuse
from ._space import Block, BlockKind, PortSpace
from ._store import Commit, Store, StoredReservation

__all__ = ["Route", "SocketInfo"]

DEFAULT_USER: Final = "user"
Endpoint = tuple[Family, str | None]  # a stack and a specific address (None: the wildcard)
RUNTIME, PERSISTENT, SYSTEM = BlockKind.RUNTIME, BlockKind.PERSISTENT, BlockKind.SYSTEM

RangeKey = tuple[Protocol, Family]
_T = TypeVar("_T")


class _SetOnFirstUse(Generic[_T]):
    """An attribute made by ``make(instance)`` the first time it is read, then an ordinary
    attribute of the instance.  Not ``functools.cached_property``: that one writes into the
    instance's ``__dict__``, which turns CPython's compact attribute storage into a plain
    dict and makes every later attribute read of the instance slower (on a machine, about
    0.4 us of a socket+bind+close cycle: benchmarks/bench_startup.py).  This one sets the
    attribute as ``__init__`` would have.  Unlike cached_property it takes no lock: the
    machine reads its generator under its own lock, so two threads never make two."""

    def __init__(self, make: Callable[[Any], _T]) -> None:
        self._make = make
        self._name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, instance: None, owner: type) -> _SetOnFirstUse[_T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...
    def __get__(self, instance: object, owner: type | None = None) -> _T | _SetOnFirstUse[_T]:
        if instance is None:
            return self
        value = self._make(instance)
        setattr(instance, self._name, value)  # read from the instance from now on
        return value


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
    options: dict[tuple[int, int], int] = attrs.Factory(dict)  # the other options set (O1, O10)
    sharing: Sharing = Sharing.DEFAULT  # the options as they were at bind (C18)
    endpoints: tuple[Endpoint, ...] = ()  # where the binding sits, once bound (C13-C15)
    peer: tuple[str, int] | None = None  # once connected
    listening: bool = False  # after listen() (S1-S4)
    backlog: int = 0  # how many connections may wait for accept (S4)
    queue: deque[int] | None = None  # endpoint ids waiting for accept, oldest first (S9)
    conn: int | None = None  # its TCP connection endpoint's id (T3)
    linger: tuple[int, int] | None = None  # SO_LINGER's (l_onoff, l_linger) (T4)
    accepted: bool = False  # made by accept: on the listener's port without binding it (S9)
    deferred: bool = False  # bound to port 0 with SO_REUSE_UNICASTPORT: the port comes at connect (O13)
    shared_port: bool = False  # its port may be shared with connections to other peers (O13)
    scalable: bool = False  # took its wildcard port with SO_PORT_SCALABILITY (O12)


class Route(NamedTuple):
    """Where a TCP connect goes, decided before anything changes (T7, T10, T11).

    Attributes:
        stack: the IP version the connection runs on.
        source: the local address its endpoint gets (the socket's, or the route's).
        destination, port: the peer, in the stack's own form (IPv4 text for IPv4).
        listener: the listening socket of the machine that takes it; ``None`` for a peer
            that is not the machine's (T9).
    """

    stack: Family
    source: str
    destination: str
    port: int
    listener: int | None


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


class _MachineState:
    """The state one machine owns, and the helpers its parts share (see the module
    docstring); ``Machine.__init__`` and ``_boot`` fill it in."""

    lock: threading.RLock
    _local: frozenset[str]
    #: The host text of an IPv4 socket's bind, (host text, IPV6_V6ONLY) of an IPv6 one ->
    #: (canonical text, endpoints) of binds that passed W4 and L1-L4 on this machine (its
    #: addresses never change): bind's hot path.
    _where: dict[str | tuple[str, bool], tuple[str, tuple[Endpoint, ...]]]
    #: Whether wildcard ports are counted (A4's default) rather than drawn.
    _counted: bool
    _variants: dict[str, str]
    _min_start: int
    _seed: int
    _store: Store
    _next_pid: int
    _next_handle: int
    _processes: dict[int, _Process]
    #: Every socket here belongs to a live process of this boot: a process's sockets close
    #: before it ends (``exit_process``) and a reboot starts with none.  So a socket found
    #: with the caller's pid needs no liveness check (A19 cannot apply): the hot paths.
    _sockets: dict[int, _Socket]
    _tokens: dict[int, Block]  # token -> runtime or persistent block
    _spaces: dict[Protocol, PortSpace]

    @_SetOnFirstUse
    def _rng(self) -> random.Random:
        """The machine's one generator, seeded on first use: seeding costs more than the
        rest of a new machine, and many machines never draw."""
        return random.Random(self._seed)
    _preset: Preset
    _boot_number: int
    _seen: int  # the store's version this machine's memory is in step with
    _conns: ConnectionTable  # TCP connection endpoints and the clock (T1-T12)
    _time_wait_delay: int  # TcpTimedWaitDelay in force this boot (T2)
    _auto_reuse: PortRange | None  # the auto-reuse port range in force this boot (O13, O15)

    def _end_connections(self, sock: _Socket) -> None:
        """Closing ``sock`` ends its connections (``_connections.py`` does it, T3, T4)."""

    def _sequential(self, sock: _Socket) -> bool:
        """Whether ``sock``'s wildcard port comes from Windows' counter (A4's default)
        rather than a uniform draw (A4's ``random`` alternative)."""
        if sock.options and sock.options.get((0xFFFF, 0x3005)):  # O11: SO_RANDOMIZE_PORT draws
            return False
        return self._counted
    _stopped: dict[str, tuple[Exclusion, ...]]  # stopped component -> the rows it held (X16)

    def _sync(self) -> None:
        """Take in what other hosts sharing the store changed (persistent rows and
        exclusions); rows that collide with this host's own runtime state wait.

        Cheap when nobody else wrote: the store's version (one small read) equals the
        one this machine last took in or wrote itself (:meth:`_wrote`); only then are
        the rows read and compared."""
        if self._store.version() == self._seen:
            return
        self._take_in()

    def _stale(self) -> bool:
        """Whether another host wrote since this machine last looked; if so, take it in.
        (A write need not look first: the store checks it against every stored row.
        Only a refusal from memory asks, in case the row in the way is gone.)"""
        if self._store.version() == self._seen:
            return False
        self._take_in()
        return True

    def _take_in(self) -> None:
        """Read the store and bring memory in step with it."""
        record = self._store.load()
        self._seen = record.version
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

    def _wrote(self, commit: Commit) -> None:
        """This machine's own write, already applied to memory: still in step with the
        store if nobody else wrote since this machine last looked."""
        if commit.before == self._seen:
            self._seen = commit.after
        else:  # another host wrote in between: take that in too
            self._take_in()

    def _add_persistent(self, row: StoredReservation) -> Block:
        block = persistent_block(self._boot_number, row, self._tokens)
        assert block.reservation is not None
        self._tokens[block.reservation.token] = block
        self._spaces[row.protocol].add_block(block)
        return block

    def _live_process(self, pid: int) -> _Process:
        process = self._processes.get(pid)
        if process is None or not process.alive:
            raise refuse("A19", f"process {pid} is not running on this machine")
        return process

    def _socket(self, pid: int, handle: object) -> _Socket:
        sock = self._sockets.get(handle) if type(handle) is int else None
        if sock is not None and sock.pid == pid:
            return sock  # the hot path (its process is alive: see ``_sockets``)
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

    def _remove_token(self, token: int) -> None:
        block = self._tokens.pop(token)
        res = block.reservation
        assert res is not None
        self._spaces[res.protocol].remove_block(block)  # A20: bound sockets keep their ports
        if block.owner_socket is not None:
            self._sockets[block.owner_socket].acquired.discard(token)


def persistent_token(boot: int, row: StoredReservation, taken: Container[int]) -> int:
    """The token of a persistent block in boot ``boot``: a function of the row and the boot
    (A10), so every host that reads the same store in the same boot gives the same token and
    a reboot gives a new one; never one of ``taken`` (the tokens handed out before it)."""
    tokens = random.Random(f"persistent:{boot}:{int(row.protocol)}:{row.start}:{row.count}")
    while True:  # R13c: unique and never INVALID_PORT_RESERVATION_TOKEN (0)
        token = tokens.getrandbits(64)
        if token and token not in taken:
            return token


def persistent_block(boot: int, row: StoredReservation, taken: Container[int]) -> Block:
    """The block a stored persistent reservation becomes at boot ``boot`` (R13d, A10)."""
    reservation = Reservation(persistent_token(boot, row, taken), row.protocol,
                              PortRange(row.start, row.count), True)
    return Block(PERSISTENT, reservation.range, reservation, active=row.active)


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
    raise refuse("R13a", f"protocol {shown(value)} is neither TCP (6) nor UDP (17)")


def _protocol_option(value: object) -> Protocol:
    """A protocol given to an emulator method: Python's rules (TypeError, ValueError)."""
    if isinstance(value, Protocol):
        return value
    number = _as_int(value)
    if number is None:
        raise TypeError(f"protocol must be a portpool.Protocol, not {type(value).__name__}")
    if number not in (Protocol.TCP, Protocol.UDP):
        raise ValueError(f"protocol must be Protocol.TCP (6) or Protocol.UDP (17), not {shown(value)}")
    return Protocol(number)


def _family_option(value: object) -> Family:
    number = _as_int(value)
    fam = Family.from_value(number) if number is not None else None
    if fam is None:
        if number is None:
            raise TypeError(f"family must be a portpool.Family, not {type(value).__name__}")
        raise ValueError(f"family must be Family.INET or Family.INET6, not {shown(value)}")
    return fam


def _range_option(start: object, count: object) -> PortRange:
    first, number = _as_int(start), _as_int(count)
    if first is None or number is None:
        raise TypeError(f"start and count must be ints, not {shown(start)} and {shown(count)}")
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
