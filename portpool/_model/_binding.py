"""bind, connect and the options that change binding: blocks in the way, sharing a port
with its holders (REUSE's tables), local addresses, SO_REUSEADDR / SO_EXCLUSIVEADDRUSE /
IPV6_V6ONLY / SO_LINGER, msquic's per-processor sockets (rules A1, A13, A16, A23, C1-C19,
K1-K7, L1-L4, O1-O7, R5, R6, R17, W1-W4, X2, X14, X15; a TCP connect's connection and the
binds that meet connections: T5-T10, ``_connections.py``)."""

from __future__ import annotations

import functools
import ipaddress
import itertools
from collections.abc import Iterator
from typing import Final

from .._errors import WinError, shown
from .._types import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    MAX_PORT,
    SO_EXCLUSIVEADDRUSE,
    SO_LINGER,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_SOCKET,
    Family,
    Protocol,
    address_text,
    parse_host,
)
from ._conflicts import Outcome, Scope, Sharing, conflict
from ._rules import refuse
from ._sockopts import OptionSpec, option_spec
from ._space import PortSpace
from ._state import (
    RUNTIME,
    SYSTEM,
    Endpoint,
    Route,
    _as_ushort,
    _describe,
    _MachineState,
    _Socket,
)

__all__: list[str] = []

# The levels setsockopt accepts (O2: SOL_SOCKET, IPPROTO_IP 0, IPPROTO_IPV6, TCP, UDP)
# and the options the model knows (O1), as (level, option).
_KNOWN_LEVELS: Final = frozenset({SOL_SOCKET, 0, IPPROTO_IPV6, int(Protocol.TCP), int(Protocol.UDP)})
_REUSE: Final = (SOL_SOCKET, SO_REUSEADDR)
_LINGER: Final = (SOL_SOCKET, SO_LINGER)
_DONTLINGER: Final = (SOL_SOCKET, ~0x80)
_TYPE: Final = (SOL_SOCKET, 0x1008)
_ACCEPTCONN: Final = (SOL_SOCKET, 0x0002)
_CONNECT_TIME: Final = (SOL_SOCKET, 0x700C)
_BROADCAST: Final = "255.255.255.255"
_BROADCAST_OPTION: Final = (SOL_SOCKET, 0x20)  # SO_BROADCAST
_KIND_NAMES: Final = {SOCK_STREAM: "stream", SOCK_DGRAM: "dgram", SOCK_RAW: "raw"}
_EXCLUSIVE: Final = (SOL_SOCKET, SO_EXCLUSIVEADDRUSE)
_V6ONLY: Final = (IPPROTO_IPV6, IPV6_V6ONLY)
_RANDOMIZE: Final = (SOL_SOCKET, 0x3005)  # SO_RANDOMIZE_PORT (O11, O14)
_SCALABLE: Final = (SOL_SOCKET, 0x3006)  # SO_PORT_SCALABILITY (O12)
_UNICAST: Final = (SOL_SOCKET, 0x3007)  # SO_REUSE_UNICASTPORT (O13, O14)
#: How many host texts a machine remembers as checked binds (its ``_where``): a test
#: binds a handful of literals, and the cache stays bounded.
_WHERE_SIZE: Final = 64
_INET: Final = Family.INET  # a module constant: reading an Enum class attribute costs more


class _Binding(_MachineState):
    """bind, connect, getpeername and the options that change binding."""

    def bind(self, pid: int, handle: int, host: object, port: object) -> int:
        """bind(); returns the port taken (R5, R6, R17, W1-W4, A1, A13, A16, A17, A23,
        C1-C19, L1-L4, X2, X4, X14, X15, Y4)."""
        self.lock.acquire()  # not `with`: half the cost on this hot path
        try:
            sock = self._sockets.get(handle) if type(handle) is int else None
            if sock is None or sock.pid != pid:  # (found: its process is alive, see _sockets)
                sock = self._socket(pid, handle)  # refuses (A19, R9b)
            if type(port) is not int or not 0 <= port <= MAX_PORT:  # the hot path is a plain int
                port = _port_number(port)
            key: str | tuple[str, bool] | None = None
            if type(host) is str:  # IPV6_V6ONLY means nothing to an IPv4 socket's bind
                key = host if sock.family is _INET else (host, sock.v6only)
            where = self._where.get(key) if key is not None else None
            if where is None or sock.host is not None:  # else: W4 and L1-L4 passed before
                where = self._bind_address(sock, host, key)
            canonical, endpoints = where
            protocol = sock.protocol
            if protocol is None:  # A24: a raw socket binds an address, no port
                sock.host, sock.port = canonical, None
                return 0
            space = self._spaces[protocol]
            block = self._tokens.get(sock.association) if sock.association is not None else None
            if block is not None and (port == 0 or port in block.range):
                chosen = space.pick_in_block(block.range, self._rng) if port == 0 else port
                if chosen is None:  # A1
                    raise refuse("A1", f"every port of {shown(block.range)} is bound")
                if chosen in space.bound:  # R6 allows the port; the table still applies
                    self._check_sharing(space, sock, chosen, endpoints)
            elif port == 0:  # W1, X4, Y4, C17 (and A16/A17: a lapsed or foreign association)
                if sock.options and self._deferred_bind(sock, canonical, endpoints):
                    return 0  # O13: the port waits for connect
                picked = self._draw_port(space, sock)
                if sock.options and sock.options.get(_SCALABLE):
                    picked = self._scalable(space, sock, endpoints, picked)  # O12
                if picked is None:
                    raise refuse("A13", f"no free {protocol.name} port in"
                                 f" {space.dynamic(sock.family)!r}")
                chosen = picked
            else:
                self._check_blocks(space, pid, port)
                if port in space.bound:
                    self._check_sharing(space, sock, port, endpoints)
                if port in space.held:  # connections on the port (T5, T6)
                    self._check_connections(sock, port, endpoints)
                chosen = port
            # Commit.
            if block is None:
                sock.association = None  # A16: a lapsed association is forgotten
            sock.host, sock.port, sock.endpoints = canonical, chosen, endpoints  # _commit_bind,
            if sock.reuse or sock.exclusive:  # inlined: this is the bind hot path (C18)
                sock.sharing = Sharing.REUSE if sock.reuse else Sharing.EXCLUSIVE
            space.bind(chosen, handle)
            return chosen
        finally:
            self.lock.release()

    def _bind_address(self, sock: _Socket, host: object, key: str | tuple[str, bool] | None,
                      ) -> tuple[str, tuple[Endpoint, ...]]:
        """bind's address checks in Windows' order (W4, W3, then L1-L4): the canonical text
        and where the binding sits.  What passed is remembered in ``_where`` (the machine's
        addresses never change), so the next bind of that text skips straight to W3."""
        canonical = _canonical_text(host, sock.family) if type(host) is str else None
        if canonical is None:
            raise refuse("W4", f"{shown(host)} is not an {sock.family.name} address")
        if sock.host is not None:
            raise refuse("W3", f"socket {sock.handle:#x} is already bound")
        endpoints = self._endpoints(sock, canonical)
        if key is not None and len(self._where) < _WHERE_SIZE:
            self._where[key] = (canonical, endpoints)
        return canonical, endpoints

    def _draw_port(self, space: PortSpace, sock: _Socket) -> int | None:
        """The port bind(0) and connect's implicit bind take (W1, A4, C17, T8): the one
        place the allocation policy is called from (held ports, connections' included,
        are skipped)."""
        return space.allocate_port(sock.family, self._rng, sequential=self._sequential(sock)
                                   if sock.options else self._counted)  # no option: A4 decides

    def _deferred_bind(self, sock: _Socket, host: str, endpoints: tuple[Endpoint, ...]) -> bool:
        """bind(address, 0) of a TCP socket with SO_REUSE_UNICASTPORT on a machine with an
        auto-reuse port range (O13, O15): the socket is bound to ``host`` and takes its port
        at connect.  Whether that happened."""
        if not (sock.options.get(_UNICAST) and sock.protocol is Protocol.TCP  # O16: not UDP
                and self._auto_reuse is not None):
            return False
        sock.association = None
        sock.host, sock.endpoints, sock.deferred, sock.shared_port = host, endpoints, True, True
        if sock.reuse or sock.exclusive:  # C18
            sock.sharing = Sharing.REUSE if sock.reuse else Sharing.EXCLUSIVE
        return True

    def _scalable(self, space: PortSpace, sock: _Socket, endpoints: tuple[Endpoint, ...],
                  picked: int | None) -> int | None:
        """bind(0) with SO_PORT_SCALABILITY (O12): ``picked`` (a free port), else for a
        specific address a port only scalable sockets hold on other addresses."""
        if picked is None and all(address is not None for _, address in endpoints):
            picked = self._scalable_port(space, endpoints)
        sock.scalable = picked is not None
        return picked

    def _scalable_port(self, space: PortSpace, endpoints: tuple[Endpoint, ...]) -> int | None:
        """SO_PORT_SCALABILITY's bind(address, 0) when no port is free (O12): the first port
        at or after the counter that only sockets which took it with the option hold, none
        of them on one of ``endpoints``' addresses.  The counter moves past it (A4)."""
        entry = space.dynamic(endpoints[0][0])
        lo, hi = entry.start, entry.last
        counter = space.counter if space.counter is not None else lo
        start = counter if lo <= counter <= hi else lo
        sockets, bound, reserved, held = self._sockets, space.bound, space.reserved, space.held
        for port in itertools.chain(range(start, hi + 1), range(lo, start)):
            if port not in bound or port in reserved or port in held:
                continue  # a free port would have been found; blocks and connections stay
            if all(sockets[h].scalable and not _meet(sockets[h].endpoints, endpoints)
                   for h in space.holders(port)):
                space.counter = port + 1 if port < hi else lo
                return port
        return None

    def _check_connections(self, sock: _Socket, port: int,
                           endpoints: tuple[Endpoint, ...]) -> None:
        """May ``sock`` bind ``port``, which TCP connections use (accepted sockets of a
        closed listener, FIN_WAIT_2, CLOSE_WAIT, TIME_WAIT)?  T6 for SO_EXCLUSIVEADDRUSE
        over an SO_EXCLUSIVEADDRUSE listener's connections, then T5 for any bind without
        SO_REUSEADDR; each as its alternative in force says."""
        exclusive, plain = self._variants["T6"] == "inuse", self._variants["T5"] == "inuse"
        if not (exclusive and sock.exclusive) and not (plain and not sock.reuse):
            return
        for conn in self._conns.at_port(port):
            if not any(stack is conn.family and address in (None, conn.local_host)
                       for stack, address in endpoints):
                continue  # C13, C15: another address or the other stack
            where = (f"TCP port {port}: a connection {conn.local_host}:{port} <->"
                     f" {conn.remote_host}:{conn.remote_port} is {conn.state.value}")
            if exclusive and sock.exclusive and conn.accepted and conn.sharing is Sharing.EXCLUSIVE:
                raise refuse("T6", f"{where}, accepted by an SO_EXCLUSIVEADDRUSE listener", "inuse")
            if plain and not sock.reuse:
                raise refuse("T5", f"{where}; bind without SO_REUSEADDR", "inuse")

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
                detail = (f"{address} is not an address of this machine (it has"
                          f" {', '.join(sorted(self._local))})")
                if address == _BROADCAST and self._variants["L4"] == "access" and not (
                        sock.options.get(_BROADCAST_OPTION)):
                    raise refuse("L4", detail + "; SO_BROADCAST is off", "access")
                if address == _BROADCAST and self._variants["L4"] == "not-available":
                    raise refuse("L4", detail, "not-available")
                raise refuse("L1", detail)
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
            loose = sock.family is Family.INET and _loose_dual(holder)  # C20
            for meeting in self._meetings(holder, endpoints, sharing, user):
                stack, address, holder_address, outcome, rule_id, same_user = meeting
                where = (f"{'0.0.0.0' if stack is Family.INET else '::'}"
                         if address is None else address)
                detail = (f"{sock.protocol.name if sock.protocol else ''} port {port} on"
                          f" {where} is held by socket {holder.handle:#x} of process"
                          f" {holder.pid} ({holder.sharing.value},"
                          f" {'same' if same_user else 'another'} account)")
                if loose and stack is Family.INET and holder.sharing is Sharing.EXCLUSIVE:
                    raise refuse("C20", detail + ", a dual-stack wildcard")
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
                if (stack is Family.INET and address is None and len(endpoints) == 1
                        and holder.sharing is not Sharing.EXCLUSIVE and _loose_dual(holder)):
                    continue  # C20: a dual-stack [::] does not stop an IPv4 wildcard bind
                first = (holder.sharing,
                         Scope.WILDCARD if holder_address is None else Scope.SPECIFIC)
                second = (sharing, Scope.WILDCARD if address is None else Scope.SPECIFIC)
                outcome, rule_id = conflict(first, second, same_user=same_user)
                yield stack, address, holder_address, outcome, rule_id, same_user

    # --- socket options, connect ------------------------------------------------------

    def option_spec(self, pid: int, handle: int, level: int, option: int) -> OptionSpec:
        """The row of an option ``handle`` has, after the checks setsockopt and getsockopt
        share: the socket (R9b), the level (O2), the option (O1), the socket's type (O1, O9).
        The ABI layer asks it before it looks at the caller's buffers."""
        with self.lock:
            sock = self._socket(pid, handle)
            return self._spec(sock, level, option)

    def setsockopt(self, pid: int, handle: int, level: int, option: int, value: bytes) -> None:
        """setsockopt(): ``value`` is the caller's bytes (optlen of them); the option keeps
        what it is set to (O1, O3, O4, O5, O7-O11, C18)."""
        with self.lock:
            sock = self._socket(pid, handle)
            spec = self._spec(sock, level, option)
            if not spec.settable:
                raise refuse("O1", f"{spec.label} cannot be set")
            size = len(value)
            if size == 0 and ((spec.level == SOL_SOCKET and spec.boolean) or spec.width == 0):
                return  # O3: an empty SOL_SOCKET BOOL changes nothing (assumed)
            if size < spec.width and not (spec.short and size > 0):
                raise refuse("O3", f"{spec.label} takes {spec.width} bytes, not {size}")
            raw = int.from_bytes(value[:spec.width], "little")
            if raw > spec.maximum:
                raise refuse("O9", f"{spec.label} takes 0-{spec.maximum}, not {raw}")
            on = raw != 0
            key = (spec.level, spec.name)
            if key == _RANDOMIZE and on and sock.options.get(_UNICAST):
                raise refuse("O14", f"socket {handle:#x} has SO_REUSE_UNICASTPORT set")
            if key in (_REUSE, _EXCLUSIVE, _V6ONLY):
                if sock.host is not None:
                    if key == _V6ONLY and sock.family is Family.INET:
                        raise refuse("O8", f"socket {handle:#x} is bound")
                    if self._variants["O5"] == "refused":
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
                return
            if key == _DONTLINGER:  # O10: the negation of SO_LINGER's l_onoff
                linger = sock.options.get(_LINGER, 0)
                sock.options[_LINGER] = (linger & ~0xFFFF) | (0 if on else 1)
            else:
                sock.options[key] = int(on) if spec.boolean else raw
            if key in (_LINGER, _DONTLINGER):  # what close reads (T4): (l_onoff, l_linger)
                linger = sock.options.get(_LINGER, 0)
                sock.linger = (linger & 0xFFFF, linger >> 16)

    def getsockopt(self, pid: int, handle: int, level: int, option: int) -> int:
        """getsockopt(): the option's value as an int (O1, O6, O7, O8, O10); the ABI layer
        writes its width (B18)."""
        with self.lock:
            sock = self._socket(pid, handle)
            spec = self._spec(sock, level, option)
            key = (spec.level, spec.name)
            if key == _REUSE:
                return int(sock.reuse)
            if key == _EXCLUSIVE:
                return int(sock.exclusive)
            if key == _V6ONLY:
                return int(sock.v6only)
            if key == _DONTLINGER:
                return int(sock.options.get(_LINGER, 0) & 0xFFFF == 0)
            if key == _ACCEPTCONN:  # 1 once listen() succeeded (O1; wine-sock test_listen)
                return int(sock.listening)
            if key == _TYPE:
                return sock.type
            if key == _CONNECT_TIME:  # O10: no clock; a connected TCP socket reads 0 seconds
                return 0 if sock.peer is not None and sock.protocol is Protocol.TCP else 0xFFFFFFFF
            if key in sock.options:
                return sock.options[key]
            return spec.default_for(_KIND_NAMES.get(sock.type, "raw"))

    def _spec(self, sock: _Socket, level: int, option: int) -> OptionSpec:
        if level not in _KNOWN_LEVELS:
            raise refuse("O2", f"level {level} is not valid")
        spec = option_spec(level, option)
        if spec is None:
            raise refuse("O1", f"option {option} of level {level} is not one Windows has")
        if int(sock.family) not in spec.families:
            raise refuse("O2", f"{spec.label} is not valid for an {sock.family.name} socket")
        if _KIND_NAMES.get(sock.type, "raw") not in spec.kinds:
            rule_id = "O9" if spec.wrong_kind is WinError.WSAEINVAL else "O1"
            raise refuse(rule_id, f"{spec.label} does not apply to a socket of type {sock.type}")
        return spec

    def set_cpu_affinity(self, pid: int, handle: int, processor: int) -> None:
        """SIO_CPU_AFFINITY: make a per-processor UDP socket (C19; B8 for TCP)."""
        with self.lock:
            sock = self._port_socket(pid, handle)
            if sock.protocol is not Protocol.UDP:
                raise refuse("B8", f"SIO_CPU_AFFINITY on TCP socket {handle:#x}: msquic's"
                             " per-processor sockets are UDP")
            sock.affinity = processor

    def connect(self, pid: int, handle: int, host: object, port: object, *,
                outside: bool = False) -> int:
        """connect(): binds an unbound socket implicitly, then records the peer; a TCP
        socket makes a connection (with a listener of the machine, or a remote peer);
        returns the local port (K1-K7, L3, A1, S8, T7-T11, W4).  ``outside``: the peer is
        a real service beyond the emulated machine (``portpool.patch()`` reaching one on
        loopback), taken as a remote peer (T9) whatever its address."""
        with self.lock:
            sock = self._socket(pid, handle)
            number = _as_ushort(port)
            canonical = _canonical_text(host, sock.family) if type(host) is str else None
            if number is None or canonical is None:
                raise refuse("W4", f"({shown(host)}, {shown(port)}) is not an {sock.family.name} address")
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
            route = None
            if protocol is Protocol.TCP:  # S8, T10, T11, T7: refused before anything changes
                route = self._route(sock, found[0], number, outside)  # type: ignore[arg-type]  # str was refused
            if sock.host is None and protocol is not None:  # K1: the implicit bind
                space = self._spaces[protocol]
                block = (self._tokens.get(sock.association) if sock.association is not None
                         else None)
                if block is not None and self._variants["K2"] == "block":
                    picked = space.pick_in_block(block.range, self._rng)
                    if picked is None:
                        raise refuse("A1", f"every port of {shown(block.range)} is bound")
                else:
                    shared = route is not None and self._auto_reuse is not None
                    # O13: connect's implicit bind has SO_REUSE_UNICASTPORT on by default
                    picked = (self._shared_port(space, sock, route) if shared and route
                              else self._draw_port(space, sock))
                    if picked is None:
                        rule = "T8" if protocol is Protocol.TCP else "A13"
                        raise refuse(rule, f"no free {protocol.name} port in"  # O15's range if shared
                                     f" {self._auto_reuse if shared else space.dynamic(sock.family)!r}"
                                     " for connect's implicit bind"
                                     + (f" to {canonical} port {number}" if shared else ""))
                    sock.shared_port = shared
                    sock.association = None
                local = "0.0.0.0" if sock.family is Family.INET else "::"
                loopback = "127.0.0.1" if sock.family is Family.INET else "::1"
                if _is_loopback(canonical) and loopback in self._local:
                    local = loopback  # K1: the loopback route's address
                self._commit_bind(space, sock, local, picked, self._endpoints(sock, local))
            elif sock.deferred and route is not None:  # O13: the deferred port, at last
                space = self._spaces[Protocol.TCP]
                picked = self._shared_port(space, sock, route)
                if picked is None:
                    raise refuse("T8", f"no TCP port of {self._auto_reuse!r} is free"
                                 f" for a connection to {canonical} port {number}")
                sock.port, sock.deferred = picked, False
                space.bind(picked, handle)
            sock.peer = (canonical, number)
            if route is not None:
                self._connect_tcp(sock, route)
            return sock.port or 0

    def _route(self, sock: _Socket, destination: Endpoint, port: int, outside: bool) -> Route:
        """Where a TCP connect goes (S8, T7, T10, T11): ``_connections.py`` says."""
        raise NotImplementedError  # pragma: no cover - the connections mixin overrides it

    def _shared_port(self, space: PortSpace, sock: _Socket, route: Route) -> int | None:
        """The port a sharing connection gets (O13): ``_connections.py`` says."""
        raise NotImplementedError  # pragma: no cover - the connections mixin overrides it

    def _connect_tcp(self, sock: _Socket, route: Route) -> None:
        """Make the connection (S9, T9): ``_connections.py`` does."""
        raise NotImplementedError  # pragma: no cover - the connections mixin overrides it

    def peername(self, pid: int, handle: int) -> tuple[Family, str, int]:
        """getpeername(): (family, host, port) of a connected socket (K5)."""
        with self.lock:
            sock = self._socket(pid, handle)
            if sock.peer is None:
                raise refuse("K5", f"socket {handle:#x} is not connected")
            return sock.family, sock.peer[0], sock.peer[1]


def _port_number(port: object) -> int:
    """bind's port as an int in 0-65535 (an IntEnum too), or W4."""
    number = _as_ushort(port)
    if number is None:
        raise refuse("W4", f"port {shown(port)} is not in 0-65535")
    return number


@functools.lru_cache(maxsize=256)  # bind is hot; the same few literals recur
def _canonical_text(host: str, family: Family) -> str | None:
    """``host`` as Windows prints it back from the sockaddr (``""`` is the unspecified
    address: ``0.0.0.0`` or ``::``), or ``None`` if it is no address of ``family`` (rule
    W4).  Whether the machine has the address is L1's business."""
    address = parse_host(host, family)
    return None if address is None else address_text(address)


@functools.lru_cache(maxsize=256)  # connect is hot; the same few peers recur
def _is_loopback(canonical: str) -> bool:
    """Whether ``canonical`` (an address's text) is a loopback address (K1)."""
    return ipaddress.ip_address(canonical).is_loopback


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


def _meet(held: tuple[Endpoint, ...], wanted: tuple[Endpoint, ...]) -> bool:
    """Whether two bindings' places meet: a stack in common, with the same address or
    the wildcard on either side (C13, C15)."""
    return any(stack is other and (address is None or where is None or address == where)
               for stack, address in held for other, where in wanted)


def _per_processor(one: _Socket, other: _Socket) -> bool:
    """msquic's per-processor sockets: both set SIO_CPU_AFFINITY, in one process (C19)."""
    return one.affinity is not None and other.affinity is not None and one.pid == other.pid


def _same_account(one: str, other: str) -> bool:
    """Whether two account names are one account: without regard to case (``Alice`` is
    ``alice``), as Windows logon names are (C7's note, assumed)."""
    return one.casefold() == other.casefold()


def _dual_wildcard(sock: _Socket) -> bool:
    """Whether ``sock`` holds the wildcard on both stacks (a dual-stack [::] bind: C14, C20)."""
    return len(sock.endpoints) == 2 and all(address is None for _, address in sock.endpoints)


def _loose_dual(sock: _Socket) -> bool:
    """Whether C20 applies to ``sock``: a dual-stack [::] TCP socket. Wine's tests, the
    evidence, bind TCP sockets; UDP keeps the tables."""
    return sock.protocol is Protocol.TCP and _dual_wildcard(sock)
