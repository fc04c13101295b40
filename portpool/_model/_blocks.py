"""Blocks, rows and ranges: runtime reservations (SIO_*_PORT_RESERVATION), persistent
ones (Create/Lookup/DeletePersistent*PortReservation), system exclusions and netsh's
rows, and the dynamic ranges."""

from __future__ import annotations

from typing import Final

from .._errors import PortPoolError, shown
from .._types import MAX_PORT, Exclusion, Family, PortRange, Protocol, Reservation
from ._presets import MIN_DYNAMIC_PORTS
from ._rules import refuse
from ._space import Block
from ._state import (
    PERSISTENT,
    RUNTIME,
    SYSTEM,
    _as_int,
    _as_ushort,
    _describe,
    _family_option,
    _MachineState,
    _protocol,
    _protocol_option,
    _range_option,
)
from ._store import StoreConflict, StoredExclusion, StoredReservation

__all__ = ["MIN_DYNAMIC_PORTS", "dynamic_range_problem"]

_MAX_TOKEN: Final = 2**64 - 1


def dynamic_range_problem(dynamic: PortRange, min_start: int) -> str | None:
    """Why ``dynamic`` cannot be a dynamic range (rules Y1, Y2), or ``None``."""
    if dynamic.count < MIN_DYNAMIC_PORTS:
        return f"{shown(dynamic)} has {dynamic.count} ports; a dynamic range needs at least 255"
    if dynamic.start < min_start:
        return f"{shown(dynamic)} starts below {min_start}"
    return None  # PortRange itself keeps the end at or below 65535


class _Blocks(_MachineState):
    """The three kinds of blocks, netsh's rows and the dynamic ranges."""

    # --- runtime reservations --------------------------------------------------------

    def acquire(self, pid: int, handle: int, start: object, count: object) -> Reservation:
        """SIO_ACQUIRE_PORT_RESERVATION (R1-R3, A2-A4, A13, A21, X4, X5, Y4)."""
        self.lock.acquire()  # not `with`: half the cost on this hot path
        try:
            sock = self._sockets.get(handle) if type(handle) is int else None
            if sock is None or sock.pid != pid or sock.protocol is None:  # (see _sockets)
                sock = self._port_socket(pid, handle)  # refuses (A19, R9b, R9a)
            protocol = sock.protocol
            if protocol is None:  # pragma: no cover - _port_socket refused raw sockets
                raise refuse("R9a", f"socket {handle:#x} is neither TCP nor UDP")
            if type(start) is int and type(count) is int and 0 <= start <= MAX_PORT and (
                    0 <= count <= MAX_PORT):  # the hot path: two plain USHORTs
                first_port, number = start, count
            else:
                checked_start, checked_count = _as_ushort(start), _as_ushort(count)
                if checked_start is None or checked_count is None:
                    raise refuse("R9c", f"StartPort {shown(start)} / NumberOfPorts {shown(count)}")
                first_port, number = checked_start, checked_count
            start, count = first_port, number
            if count == 0:
                raise refuse("A3", "NumberOfPorts is 0")
            space = self._spaces[protocol]
            if start == 0:  # R2: a wildcard request, from the socket's range (R3, X4, Y4)
                first = space.allocate_block(sock.family, count, self._rng, sequential=(
                    self._sequential(sock) if sock.options else self._counted))
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
                    raise refuse("X5", f"{shown(block)} overlaps {_describe(other)}")
                for port in space.bound_in(block.start, block.last):
                    raise refuse("A2", f"{protocol.name} port {port} of {shown(block)} is bound by"
                                 f" socket {space.bound[port]:#x}")
            reservation = Reservation(self._new_token(), protocol, block, False)
            entry = Block(RUNTIME, block, reservation, owner_pid=pid, owner_socket=handle)
            self._tokens[reservation.token] = entry
            space.add_block(entry)
            sock.acquired.add(reservation.token)
            return reservation
        finally:
            self.lock.release()

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

    def _block_for_token(self, token: object) -> Block:
        value = _as_int(token)
        if value is None or not 0 <= value <= _MAX_TOKEN:
            raise refuse("R9c", f"token {shown(token)} is not a 64-bit unsigned integer")
        block = self._tokens.get(value)
        if block is None:
            raise refuse("A11", f"token {value:#x} names no live reservation")
        return block

    def _new_token(self) -> int:
        while True:  # R13c: unique and never INVALID_PORT_RESERVATION_TOKEN (0)
            token = self._rng.getrandbits(64)
            if token and token not in self._tokens:
                return token

    # --- persistent reservations ---------------------------------------------------

    def create_persistent(self, pid: int, protocol: object, start: object, count: object,
                          *, active: bool = False) -> int:
        """CreatePersistent*PortReservation (R13, R13a, R13b, A14, A15, X6); returns the
        token.  ``active``: a netsh ``store=active`` row, gone at the next boot (N3)."""
        with self.lock:
            proto, block = _protocol(protocol), self._persistent_block(start, count)  # A14
            if not self._live_process(pid).admin:
                raise refuse("R13", f"process {pid} is not an elevated administrator")
            space = self._spaces[proto]  # the store checks the rows of other hosts
            other = space.overlapping(block)
            if other is not None and self._stale():  # unless the row in the way is gone
                other = space.overlapping(block)
            if other is not None:
                rule = {PERSISTENT: "R13b", RUNTIME: "A15", SYSTEM: "X6"}[other.kind]
                raise refuse(rule, f"{shown(block)} overlaps {_describe(other)}")
            for port in space.bound_in(block.start, block.last):
                raise refuse("R13b", f"{proto.name} port {port} of {shown(block)} is bound by"
                             f" socket {space.bound[port]:#x}")
            try:  # durable first, re-checked inside the store's transaction
                commit = self._store.add_reservation(proto, block.start, block.count,
                                                     active=active)
            except StoreConflict as exc:
                rule = "X6" if isinstance(exc.row, StoredExclusion) else "R13b"
                raise refuse(rule, f"{shown(block)} overlaps {exc.row.start}+{exc.row.count}, made"
                             " by another host sharing this store") from None
            added = self._add_persistent(StoredReservation(proto, block.start, block.count, active))
            self._wrote(commit)
            return added.reservation.token  # type: ignore[union-attr]

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
        commit = self._store.remove_reservation(res.protocol, res.range.start, res.range.count)
        self._remove_token(res.token)
        self._wrote(commit)
        if not commit.rows:
            raise refuse("R16", f"no persistent {res.protocol.name} reservation {shown(res.range)}"
                         " (another host sharing this store deleted it)")

    def _persistent_block(self, start: object, count: object, past_rule: str = "R13a") -> PortRange:
        """The block of a persistent call: R13a for zeros (and for Create past 65535),
        ``past_rule`` (A27 for Lookup and Delete) for a block past 65535."""
        first, number = _as_ushort(start), _as_ushort(count)
        if not first or not number:  # None (not a USHORT) or 0
            raise refuse("R13a", f"StartPort {shown(start)} / NumberOfPorts {shown(count)}")
        if first + number - 1 > MAX_PORT:
            raise refuse(past_rule, f"ports {first}+{number} run past 65535")
        return PortRange(first, number)

    def _persistent_exact(self, protocol: Protocol, block: PortRange, rule: str) -> Block:
        found = self._spaces[protocol].block_at(block.start)
        if found is None or found.kind is not PERSISTENT or found.range != block:
            raise refuse(rule, f"no persistent {protocol.name} reservation {shown(block)}")
        return found

    # --- exclusions and netsh's view (rules X1, X7, X12, X13, N1) -------------------

    def exclude(self, protocol: object, start: object, count: object, owner: object) -> Exclusion:
        """A Windows component places a system exclusion (X1, X12)."""
        proto = _protocol_option(protocol)
        block = _range_option(start, count)
        if not isinstance(owner, str) or not owner:
            raise TypeError(f"owner must be a non-empty str, not {shown(owner)}")
        with self.lock:
            space = self._spaces[proto]  # the store checks the rows of other hosts
            other = space.overlapping(block)
            if other is not None and self._stale():  # unless the row in the way is gone
                other = space.overlapping(block)
            if other is not None:
                raise refuse("X12", f"{shown(block)} overlaps {_describe(other)}")
            try:
                commit = self._store.add_exclusion(proto, block.start, block.count, owner)
            except StoreConflict as exc:
                raise refuse("X12", f"{shown(block)} overlaps {exc.row.start}+{exc.row.count}, made"
                             " by another host sharing this store") from None
            space.add_block(Block(SYSTEM, block, owner=owner))
            self._wrote(commit)
            return Exclusion(proto, block.start, block.last, False, owner)

    def release_exclusions(self, owner: object) -> int:
        """The component stops (``net stop winnat``): its rows go (X1); returns how many."""
        if not isinstance(owner, str):
            raise TypeError(f"owner must be a str, not {type(owner).__name__}")
        with self.lock:
            commit = self._store.remove_exclusions(owner)
            gone = 0
            for space in self._spaces.values():
                for block in [b for b in space.blocks.values()
                              if b.kind is SYSTEM and b.owner == owner]:
                    space.remove_block(block)
                    gone += 1
            self._wrote(commit)
            return gone

    def stop_component(self, owner: object) -> tuple[Exclusion, ...]:
        """The component stops (``net stop winnat``): its rows go, and the machine keeps
        them until it starts again (X1, X16).  Returns the rows that went (none when it
        was stopped already)."""
        if not isinstance(owner, str) or not owner:
            raise TypeError(f"owner must be a non-empty str, not {owner!r}")
        with self.lock:
            self._sync()
            rows = tuple(Exclusion(protocol, b.range.start, b.range.last, False, owner)
                         for protocol, space in self._spaces.items()
                         for b in space.blocks.values() if b.kind is SYSTEM and b.owner == owner)
            self.release_exclusions(owner)
            self._stopped[owner] = self._stopped.get(owner, ()) + rows
            return rows

    def start_component(self, owner: object) -> tuple[tuple[Exclusion, ...], tuple[Exclusion, ...]]:
        """The component starts again (``net start winnat``): each row it held when it
        stopped comes back where it was, unless it would now overlap another block, which
        it leaves out (X16, X12).  Returns (the rows back, the rows left out)."""
        if not isinstance(owner, str) or not owner:
            raise TypeError(f"owner must be a non-empty str, not {owner!r}")
        with self.lock:
            rows = self._stopped.pop(owner, ())
            back: list[Exclusion] = []
            left: list[Exclusion] = []
            for row in rows:
                try:
                    self.exclude(row.protocol, row.start, row.end - row.start + 1, owner)
                except PortPoolError:  # X12: a block placed meanwhile (an administered row)
                    left.append(row)
                else:
                    back.append(row)
            return tuple(back), tuple(left)

    def component_stopped(self, owner: object) -> bool:
        """Whether the component was stopped (and not started again) since the last boot."""
        with self.lock:
            return owner in self._stopped

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
            raise refuse("Y1", f"{shown(dynamic)} has fewer than {MIN_DYNAMIC_PORTS} ports")
        if dynamic.start < self._min_start:
            raise refuse("Y2", f"{shown(dynamic)} starts below {self._min_start}",
                         self._variants["Y2"])
        with self.lock:
            commit = self._store.set_range(proto, fam, dynamic)  # durable first
            self._spaces[proto].set_range(fam, dynamic)
            self._wrote(commit)
