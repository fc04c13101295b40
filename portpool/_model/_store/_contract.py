"""What the machine needs of its registry: the :class:`Store` protocol, and the checks of
its methods' arguments that every store makes before any transaction.

Blocks of one protocol never overlap, whatever their kind: every write checks that
inside its own transaction, so the check and the write are one step, and a write in
the way of a stored row raises :class:`StoreConflict` naming that row and writes
nothing.  TCP and UDP never conflict.  Tokens are not stored: each boot hands out
new ones (rule A10).

``MemoryStore`` and ``SqliteStore`` behave the same.

Versions: every write that changes the store adds one to a counter in the same
transaction (``meta.version``; :class:`Commit` tells the writer the version it found
and the one it left).  A host that wrote or read version N and finds N again knows
nobody else wrote, without reading a row: :meth:`Store.version` is one small read,
and a host's calls cost the same with 10 rows stored as with 10,000
(``benchmarks/bench_store.py``).  A store from before versions has none: it reads as
0 until its first write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol as _Protocol
from typing import TypeVar

from ..._errors import shown
from ..._types import Family, PortRange, Protocol
from .._presets import LOWEST_DYNAMIC_START, MIN_DYNAMIC_PORTS
from ._records import (
    Commit,
    MachineRecord,
    RangeKey,
    Row,
    StoredExclusion,
    StoredReservation,
    _check_preset,
    _seed_text,
)

__all__ = ["Store"]

_RowT = TypeVar("_RowT", StoredReservation, StoredExclusion)


class Store(_Protocol):
    """What the machine needs of its registry (see the module docstring).

    Every method is one transaction: it happens entirely or not at all.
    """

    def load(self) -> MachineRecord:
        """Everything stored, checked.

        Returns:
            The machine's record.

        Raises:
            StoreError: the store holds something a portpool store cannot.
            PortPoolError: ERROR_NOT_SUPPORTED, the store cannot be read.
        """
        ...

    def version(self) -> int:
        """A number that every change to the store increases, whoever made it: equal
        numbers mean nothing changed in between.  Cheap: it reads no rows.

        Raises:
            StoreError, PortPoolError: as for ``load``.
        """
        ...

    def add_reservation(self, protocol: Protocol, start: int, count: int, *, active: bool) -> Commit:
        """Store a persistent reservation.

        Args:
            protocol: TCP or UDP.
            start: the first port.
            count: how many ports.
            active: a netsh ``store=active`` row (gone at the next boot).

        Returns:
            The write's place in the store's history (the same for every write below).

        Raises:
            StoreConflict: it overlaps a stored reservation or exclusion of ``protocol``.
            StoreError: the store is damaged.
            PortPoolError: ERROR_NOT_SUPPORTED, the store cannot be written.
            TypeError, ValueError: bad arguments.
        """
        ...

    def remove_reservation(self, protocol: Protocol, start: int, count: int) -> Commit:
        """Forget the reservation with exactly this start and count.

        Args:
            protocol: TCP or UDP.
            start: the first port.
            count: how many ports.

        Returns:
            The commit; its ``rows`` is 1 if there was one, else 0.

        Raises:
            StoreError, PortPoolError, TypeError, ValueError: as for ``add_reservation``.
        """
        ...

    def add_exclusion(self, protocol: Protocol, start: int, count: int, owner: str) -> Commit:
        """Store a system exclusion of the current boot.

        Args:
            protocol: TCP or UDP.
            start: the first port.
            count: how many ports.
            owner: the component placing it.

        Raises:
            StoreConflict, StoreError, PortPoolError, TypeError, ValueError: as for
                ``add_reservation``.
        """
        ...

    def remove_exclusions(self, owner: str) -> Commit:
        """Forget every exclusion of ``owner``, in both protocols.

        Args:
            owner: the component.

        Returns:
            The commit; its ``rows`` says how many rows went.

        Raises:
            StoreError, PortPoolError, TypeError: as for ``add_reservation``.
        """
        ...

    def set_range(self, protocol: Protocol, family: Family, range: PortRange) -> Commit:  # noqa: A002 - the design's name
        """Store the dynamic range of (protocol, family), replacing the one stored.

        Args:
            protocol: TCP or UDP.
            family: IPv4 or IPv6.
            range: the range: at least 255 ports from port 1024 up, which every
                machine obeys (rules Y1, Y2; a machine may ask more, as Y2's 1025).

        Raises:
            StoreError, PortPoolError, TypeError: as for ``add_reservation``.
        """
        ...

    def set_time_wait_delay(self, seconds: int) -> Commit:
        """Store TcpTimedWaitDelay (rule T2; its limits are the machine's business).

        Raises:
            StoreError, PortPoolError, TypeError: as for ``add_reservation``.
        """
        ...

    def set_auto_reuse_ports(self, ports: PortRange | None) -> Commit:
        """Store the TCP auto-reuse port range (rule O15; ``None``: none, Windows'
        default).

        Raises:
            StoreError, PortPoolError, TypeError: as for ``add_reservation``.
        """
        ...

    def set_preset(self, name: str | None, seed: int) -> Commit:
        """Store the preset and seed the machine was made with.

        Args:
            name: the preset's name, or ``None``.
            seed: the seed.

        Raises:
            StoreError, PortPoolError, TypeError, ValueError: as for ``add_reservation``.
        """
        ...

    def add_rows(self, *, ranges: Mapping[tuple[Protocol, Family], PortRange],
                 reservations: Sequence[StoredReservation],
                 exclusions: Sequence[StoredExclusion]) -> Commit:
        """Store dynamic ranges, persistent reservations and exclusions in one
        transaction: all of them, or (on any error) none.

        Args:
            ranges: dynamic ranges to store, per (protocol, family).
            reservations: persistent reservations, checked in order as
                ``add_reservation`` checks them.
            exclusions: system exclusions of the current boot, checked after them.

        Raises:
            StoreConflict: a row overlaps a stored row or an earlier one.
            StoreError, PortPoolError, TypeError, ValueError: as for ``add_reservation``.
        """
        ...

    def reboot(self, place: Callable[[MachineRecord], Sequence[StoredExclusion]]) -> MachineRecord:
        """Boot the machine anew, all or nothing.

        In one transaction: drop the active reservations and every exclusion, count
        the boot, and store the exclusions ``place`` returns for the new boot.

        Args:
            place: given the record after the drop (``boot`` already counted), returns
                the system exclusions of the new boot.  It must not call the store.

        Returns:
            The new record.

        Raises:
            StoreConflict: a placed row overlaps a kept reservation or another placed row.
            StoreError, PortPoolError: as for ``load``.
            TypeError: ``place`` returned something other than StoredExclusion rows.
            Anything ``place`` raises.  In every case the store is as it was.
        """
        ...

    def first_boot(
        self,
        *,
        ranges: Mapping[tuple[Protocol, Family], PortRange],
        preset: str | None,
        seed: int,
        reservations: Sequence[StoredReservation],
        place: Callable[[MachineRecord], Sequence[StoredExclusion]],
    ) -> MachineRecord:
        """Make a new machine and boot it, all or nothing, unless it exists already.

        In one transaction: if the machine has booted (``boot`` is not 0), change
        nothing and return the record as stored: another host or process made the
        machine first.  Otherwise store the ``ranges`` (over any stored ones), the
        preset and seed, and the ``reservations`` (checked in order, as
        ``add_reservation`` checks), then boot exactly as :meth:`reboot` does.
        Several processes opening one new store at once thus make the machine once.

        Args:
            ranges: dynamic ranges to store, per (protocol, family).
            preset: the preset's name, or ``None``.
            seed: the seed.
            reservations: persistent reservations made with the machine.
            place: as for :meth:`reboot`; it is not called when the machine exists.

        Returns:
            The new record (``boot`` 1), or the stored one when the machine existed.

        Raises:
            StoreConflict: a reservation overlaps a stored row or an earlier one, or a
                placed row overlaps a kept reservation or another placed row.
            StoreError, PortPoolError: as for ``load``.
            TypeError, ValueError: bad arguments, or ``place`` returned something
                other than StoredExclusion rows (TypeError).
            Anything ``place`` raises.  In every case the store is as it was.
        """
        ...


def _first_boot_args(
    ranges: object, preset: object, seed: object, reservations: object, place: object,
) -> tuple[dict[RangeKey, PortRange], list[StoredReservation]]:
    """The arguments of ``first_boot``, checked before any transaction."""
    checked = _ranges_arg(ranges)
    _check_preset(preset)
    _seed_text(seed)
    rows = _rows_arg("reservations", reservations, StoredReservation)
    if not callable(place):
        raise TypeError(f"place must be callable, not {type(place).__name__}")
    return checked, rows


def _ranges_arg(ranges: object) -> dict[RangeKey, PortRange]:
    if type(ranges) is not dict and not isinstance(ranges, Mapping):
        raise TypeError(f"ranges must be a mapping, not {type(ranges).__name__}")
    checked: dict[RangeKey, PortRange] = {}
    for key, dynamic in ranges.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise TypeError(f"ranges key {shown(key)} is not a (Protocol, Family) pair")
        protocol, family = key
        _check_range_args(protocol, family, dynamic)
        checked[(protocol, family)] = dynamic
    return checked


def _rows_arg(name: str, rows: object, kind: type[_RowT]) -> list[_RowT]:
    """``rows`` as a list, checked to be a sequence of ``kind`` rows (``name`` says whose)."""
    if type(rows) is not list and (not isinstance(rows, Sequence) or isinstance(rows, str | bytes)):
        raise TypeError(f"{name} must be a sequence of {kind.__name__}, not {type(rows).__name__}")
    out: list[_RowT] = []
    for row in rows:
        if not isinstance(row, kind):
            raise TypeError(f"{name} must hold {kind.__name__} rows, not {type(row).__name__}")
        out.append(row)
    return out


def _add_rows_args(ranges: object, reservations: object, exclusions: object,
                   ) -> tuple[dict[RangeKey, PortRange], list[Row]]:
    """The arguments of ``add_rows``, checked before any transaction."""
    rows: list[Row] = [*_rows_arg("reservations", reservations, StoredReservation),
                       *_rows_arg("exclusions", exclusions, StoredExclusion)]
    return _ranges_arg(ranges), rows


def _check_range_args(protocol: object, family: object, dynamic: object) -> None:
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol must be a Protocol, not {type(protocol).__name__}")
    if not isinstance(family, Family):
        raise TypeError(f"family must be a Family, not {type(family).__name__}")
    if not isinstance(dynamic, PortRange):
        raise TypeError(f"range must be a PortRange, not {type(dynamic).__name__}")
    if dynamic.count < MIN_DYNAMIC_PORTS or dynamic.start < LOWEST_DYNAMIC_START:
        raise ValueError(f"{shown(dynamic)} is no dynamic range (rules Y1, Y2: at least"
                         f" {MIN_DYNAMIC_PORTS} ports, from port {LOWEST_DYNAMIC_START} up)")


def _placed(rows: object) -> list[StoredExclusion]:
    """What ``place`` returned, checked to be StoredExclusion rows."""
    return _rows_arg("what place returned", rows, StoredExclusion)


def _check_auto_reuse(ports: object) -> None:
    if ports is not None and not isinstance(ports, PortRange):
        raise TypeError(f"ports must be a PortRange or None, not {type(ports).__name__}")


def _check_delay(seconds: object) -> None:
    if type(seconds) is not int or seconds <= 0:
        raise TypeError(f"seconds must be a positive int, not {seconds!r}")
