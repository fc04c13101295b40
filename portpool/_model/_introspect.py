"""Introspection: what a machine holds and why (``explain``), its rows, a snapshot for
"a refused call changes nothing", and the fuzzer's sharing invariant."""

from __future__ import annotations

import attrs

from .._errors import WinError, shown
from .._types import MAX_PORT, Binding, Connection, Exclusion, Family, Protocol, Reservation
from ._binding import _Binding, _per_processor
from ._conflicts import Outcome, Sharing
from ._connections import connection_value
from ._rules import RULES, alternative
from ._state import (
    DEFAULT_USER,
    RUNTIME,
    SYSTEM,
    _as_int,
    _family_option,
    _protocol_option,
    _Socket,
)

__all__ = ["Explanation"]


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
            (inside a dynamic range, in no block, held by no socket and no connection:
            W1, X4, C17, T8).
        connections: the TCP connection endpoints whose local port it is (ESTABLISHED,
            CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT; T3, T8); a TIME_WAIT one's ``expires`` is
            the clock time it goes.
        clock: the machine's clock when this was asked (T1).
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
    connections: tuple[Connection, ...] = ()
    clock: float = 0.0

    def __str__(self) -> str:
        where = "inside" if self.in_dynamic_range else "outside"
        parts = [f"{self.protocol.name} port {self.port}: {where} the ipv4 dynamic range"]
        if self.exclusion is not None:
            ex = self.exclusion
            parts.append(f"excluded by {ex.owner} ({ex.start}-{ex.end}, no token)")
        if self.reservation is not None:
            res = self.reservation
            kind = "persistent" if res.persistent else f"runtime (process {self.owner_pid})"
            parts.append(f"reserved by {kind} block {shown(res.range)}, token {res.token:#x}")
        for b in self.bindings or ((self.binding,) if self.binding is not None else ()):
            parts.append(f"bound on {b.host} by socket {b.socket:#x} of process {b.pid}")
        for c in self.connections:
            until = (f" until clock {c.expires:g}" if c.expires is not None else "")
            parts.append(f"a connection {c.local_host}:{c.local_port} <-> {c.remote_host}:"
                         f"{c.remote_port} in {c.state}{until}")
        if (self.reservation is None and self.binding is None and self.exclusion is None
                and not self.connections):
            parts.append("free")
        verdict = "a plain bind succeeds" if self.plain_bind is None else (
            f"a plain bind fails with {self.plain_bind.name} ({int(self.plain_bind)})"
        )
        return "; ".join(parts) + f"; {verdict} [rules {', '.join(self.rules)}]"


class _Introspection(_Binding):
    """Reading the state; ``explain`` predicts a bind by the same walk over a port's
    holders as ``bind`` (``_Binding._meetings``)."""

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
            raise ValueError(f"port must be in 1-65535, not {shown(port)}")
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
            connections = (tuple(connection_value(c) for c in self._conns.at_port(port))
                           if proto is Protocol.TCP else ())
            if connections:
                rules += ["T3", "T5", "T8"]
                if plain is None and self._variants["T5"] == "inuse" and any(
                        c.family is Family.INET for c in connections):
                    plain, plain_rule = alternative("T5", "inuse").error, "T5"
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
                drawable=((port in v4 or port in v6) and block is None and not holders
                          and port not in space.held),
                connections=connections, clock=self._conns.clock)

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
                              s.affinity, s.sharing.value, s.endpoints, s.peer, s.listening,
                              s.backlog, tuple(s.queue or ()), s.conn, s.linger, s.accepted,
                              s.deferred, s.shared_port, s.scalable)
                             for s in self._sockets.values())),
                tuple((int(p), tuple((b.kind.value, b.range.start, b.range.count,
                                      b.reservation.token if b.reservation else None,
                                      b.owner_pid, b.owner_socket, b.owner, b.active)
                                     for b in space.blocks.values()),
                       tuple((int(f), r.range.start, r.range.count, r.free)
                             for f, r in space.ranges.items()),
                       tuple(sorted(space.bound.items())),
                       tuple(sorted((port, tuple(rest)) for port, rest in space.shared.items())),
                       tuple(sorted(space.held.items())))
                      for p, space in self._spaces.items()),
                tuple((c.id, c.family, c.local_host, c.local_port, c.remote_host, c.remote_port,
                       c.state.value, c.pid, c.socket, c.peer, c.expires, c.shared)
                      for c in self._conns.endpoints.values()),
                self._conns.clock, self._time_wait_delay,
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
        if first.shared_port and second.shared_port:
            return None  # O13: connections to different peers share the port
        user = self._processes[second.pid].user
        return next((rule_id for *_, outcome, rule_id, _ in
                     self._meetings(first, second.endpoints, second.sharing, user)
                     if outcome is not Outcome.SUCCESS), None)

    def _binding(self, sock: _Socket) -> Binding:
        assert sock.protocol is not None
        assert sock.port is not None
        assert sock.host is not None
        block = self._tokens.get(sock.association) if sock.association is not None else None
        token = (block.reservation.token if block and block.reservation
                 and sock.port in block.range else None)
        return Binding(sock.protocol, sock.port, sock.host, sock.family, sock.pid,
                       sock.handle, token)
