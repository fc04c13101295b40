"""``MemoryStore``: the machine's registry as a Python object (the default), its rows
kept in an index sorted per protocol.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ..._types import Family, PortRange, Protocol
from .._sorted import SortedIntMap
from ._contract import (
    _add_rows_args,
    _check_auto_reuse,
    _check_delay,
    _check_range_args,
    _first_boot_args,
    _placed,
)
from ._records import (
    Commit,
    MachineRecord,
    RangeKey,
    Row,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
    _check_block,
    _check_preset,
    _check_text,
    _seed_text,
)

__all__ = ["MemoryStore"]


_PROTOCOL_ORDER: Final = tuple(sorted(Protocol))
_START: Final = operator.attrgetter("start")


class _Index:
    """Every row of one machine, per protocol: start -> row, sorted.

    Rows of one protocol never overlap, so the only row that can overlap a block is
    the one with the greatest start at or below the block's last port: a conflict
    check costs O(log n).  ``SqliteStore`` finds the same row with the same query.
    """

    def __init__(self) -> None:
        self.rows: dict[Protocol, SortedIntMap[Row]] = {p: SortedIntMap() for p in _PROTOCOL_ORDER}

    def copy(self, keep: Callable[[Row], bool] | None = None) -> _Index:
        """A copy with the rows ``keep`` keeps (all of them without ``keep``)."""
        other = _Index()
        for protocol, rows in self.rows.items():
            if rows:
                other.rows[protocol] = rows.copy() if keep is None else rows.filtered(keep)
        return other

    def add(self, new: Row) -> None:
        rows = self.rows[new.protocol]
        below = rows.floor(new.last)
        if below is not None and below.last >= new.start:
            raise StoreConflict(below, new)
        rows[new.start] = new

    def add_all(self, new: Sequence[Row]) -> None:
        """``add`` each row in order: the same rows end up stored, and the same
        StoreConflict is raised for the same row (rows before it may stay added, as with
        ``add``).  When no row is in the way (a boot's placed rows), they are checked in
        one sort per protocol and stored at once instead of one insort each."""
        if not new:
            return
        by_protocol: dict[Protocol, list[Row]] = {}
        for row in new:
            by_protocol.setdefault(row.protocol, []).append(row)
        for protocol, rows in by_protocol.items():
            ordered = sorted([*rows, *self.rows[protocol].values()], key=_START)
            end = 0  # the last port of the row before
            for row in ordered:
                if row.start <= end:  # an overlap: let add find and report the first one
                    for one in new:
                        self.add(one)
                    return  # pragma: no cover - add raised
                end = row.start + row.count - 1
        for protocol, rows in by_protocol.items():
            self.rows[protocol].update((row.start, row) for row in rows)

    def all(self) -> list[Row]:
        return [row for protocol in _PROTOCOL_ORDER for row in self.rows[protocol].values()]


class MemoryStore:
    """A store that lives as long as the Python object (the default).

    Safe to share between threads and between hosts of one Python process.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._index = _Index()
        self._ranges: dict[RangeKey, PortRange] = {}
        self._preset: str | None = None
        self._seed = 0
        self._boot = 0
        self._version = 0
        self._time_wait_delay: int | None = None
        self._auto_reuse: PortRange | None = None

    def _record(self, index: _Index, boot: int, version: int | None = None) -> MachineRecord:
        reservations: list[StoredReservation] = []
        exclusions: list[StoredExclusion] = []
        for protocol in _PROTOCOL_ORDER:
            for row in index.rows[protocol].values():
                if isinstance(row, StoredReservation):
                    reservations.append(row)
                else:
                    exclusions.append(row)
        return MachineRecord(
            reservations=reservations, exclusions=exclusions, ranges=self._ranges,
            preset=self._preset, seed=self._seed, boot=boot,
            version=self._version if version is None else version,
            time_wait_delay=self._time_wait_delay, auto_reuse_ports=self._auto_reuse)

    def _commit(self, rows: int) -> Commit:
        """Count a write (the caller holds the lock)."""
        before = self._version
        if rows:
            self._version += 1
        return Commit(before, self._version, rows)

    def load(self) -> MachineRecord:
        """Everything stored (see :meth:`Store.load`)."""
        with self._lock:
            return self._record(self._index, self._boot)

    def version(self) -> int:
        """The store's version (see :meth:`Store.version`)."""
        with self._lock:
            return self._version

    def add_reservation(self, protocol: Protocol, start: int, count: int, *, active: bool) -> Commit:
        """Store a persistent reservation (see :meth:`Store.add_reservation`)."""
        row = StoredReservation(protocol, start, count, active)
        with self._lock:
            self._index.add(row)
            return self._commit(1)

    def remove_reservation(self, protocol: Protocol, start: int, count: int) -> Commit:
        """Forget the reservation with exactly this start and count (see
        :meth:`Store.remove_reservation`)."""
        _check_block(protocol, start, count)
        with self._lock:
            rows = self._index.rows[protocol]
            row = rows.get(start)
            if isinstance(row, StoredReservation) and row.count == count:
                del rows[start]
                return self._commit(1)
            return self._commit(0)

    def add_exclusion(self, protocol: Protocol, start: int, count: int, owner: str) -> Commit:
        """Store a system exclusion (see :meth:`Store.add_exclusion`)."""
        row = StoredExclusion(protocol, start, count, owner)
        with self._lock:
            self._index.add(row)
            return self._commit(1)

    def remove_exclusions(self, owner: str) -> Commit:
        """Forget every exclusion of ``owner`` (see :meth:`Store.remove_exclusions`)."""
        _check_text("owner", owner)
        with self._lock:
            gone = 0
            for rows in self._index.rows.values():
                for row in [r for r in rows.values() if isinstance(r, StoredExclusion)]:
                    if row.owner == owner:
                        del rows[row.start]
                        gone += 1
            return self._commit(gone)

    def set_range(self, protocol: Protocol, family: Family, range: PortRange) -> Commit:  # noqa: A002 - the design's name
        """Store the dynamic range of (protocol, family) (see :meth:`Store.set_range`)."""
        _check_range_args(protocol, family, range)
        with self._lock:
            self._ranges[(protocol, family)] = range
            return self._commit(1)

    def set_time_wait_delay(self, seconds: int) -> Commit:
        """Store TcpTimedWaitDelay (see :meth:`Store.set_time_wait_delay`)."""
        _check_delay(seconds)
        with self._lock:
            self._time_wait_delay = seconds
            return self._commit(1)

    def set_auto_reuse_ports(self, ports: PortRange | None) -> Commit:
        """Store the auto-reuse port range (see :meth:`Store.set_auto_reuse_ports`)."""
        _check_auto_reuse(ports)
        with self._lock:
            self._auto_reuse = ports
            return self._commit(1)

    def set_preset(self, name: str | None, seed: int) -> Commit:
        """Store the preset and seed (see :meth:`Store.set_preset`)."""
        _check_preset(name)
        _seed_text(seed)
        with self._lock:
            self._preset, self._seed = name, seed
            return self._commit(1)

    def add_rows(self, *, ranges: Mapping[tuple[Protocol, Family], PortRange],
                 reservations: Sequence[StoredReservation],
                 exclusions: Sequence[StoredExclusion]) -> Commit:
        """Store ranges and rows, all or nothing (see :meth:`Store.add_rows`)."""
        new_ranges, rows = _add_rows_args(ranges, reservations, exclusions)
        with self._lock:
            index = self._index.copy()
            for row in rows:
                index.add(row)
            self._index = index
            self._ranges.update(new_ranges)
            return self._commit(len(rows) + len(new_ranges))

    def reboot(self, place: Callable[[MachineRecord], Sequence[StoredExclusion]]) -> MachineRecord:
        """Boot anew, all or nothing (see :meth:`Store.reboot`)."""
        with self._lock:
            return self._boot_from(self._index, place)

    def first_boot(
        self,
        *,
        ranges: Mapping[tuple[Protocol, Family], PortRange],
        preset: str | None,
        seed: int,
        reservations: Sequence[StoredReservation],
        place: Callable[[MachineRecord], Sequence[StoredExclusion]],
    ) -> MachineRecord:
        """Make the machine and boot it, unless it exists (see :meth:`Store.first_boot`)."""
        new_ranges, rows = _first_boot_args(ranges, preset, seed, reservations, place)
        with self._lock:
            if self._boot != 0:
                return self._record(self._index, self._boot)
            index = self._index.copy() if rows else self._index
            index.add_all(rows)
            saved = self._ranges, self._preset, self._seed
            self._ranges = {**self._ranges, **new_ranges}
            self._preset, self._seed = preset, seed
            try:
                return self._boot_from(index, place)
            except BaseException:
                self._ranges, self._preset, self._seed = saved
                raise

    def _boot_from(self, index: _Index, place: Callable[[MachineRecord], Sequence[StoredExclusion]],
                   ) -> MachineRecord:
        """Boot from the rows in ``index`` (left as it is) and the stored configuration;
        the store changes only once everything succeeded.  The caller holds the lock."""
        kept = index.copy(lambda r: isinstance(r, StoredReservation) and not r.active)
        boot = self._boot + 1
        # The record this boot leaves if ``place`` places nothing (its version too: the
        # boot's write counts one), so a machine without placed rows is read once.
        record = self._record(kept, boot, self._version + 1)
        placed = _placed(place(record))
        kept.add_all(placed)
        self._index, self._boot = kept, boot
        self._version += 1  # _commit(1), without the Commit nobody reads
        return self._record(kept, boot) if placed else record
