"""The store's values: the rows it keeps (:class:`StoredReservation`,
:class:`StoredExclusion`), the machine's :class:`MachineRecord`, a write's :class:`Commit`,
the errors a store raises, and the checks every stored block passes.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from ..._errors import shown
from ..._types import MAX_PORT, Family, PortRange, Protocol
from .._presets import PRESETS

__all__ = [
    "Commit",
    "MachineRecord",
    "StoreConflict",
    "StoreError",
    "StoredExclusion",
    "StoredReservation",
]


def _check_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _check_block(protocol: object, start: object, count: object) -> None:
    """The checks every stored block passes (what Python decides: TypeError, ValueError)."""
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol must be a Protocol, not {type(protocol).__name__}")
    first, size = _check_int("start", start), _check_int("count", count)
    if not 1 <= first <= MAX_PORT:
        raise ValueError(f"start must be in 1-{MAX_PORT}, not {first}")
    if size < 1:
        raise ValueError(f"count must be at least 1, not {size}")
    if first + size - 1 > MAX_PORT:
        raise ValueError(f"ports {first}+{size} run past {MAX_PORT}")


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} {shown(value)} is not valid text (lone surrogate)") from None
    return value


def _check_owner(owner: object) -> str:
    if not _check_text("owner", owner):
        raise ValueError("owner must not be empty")
    return str(owner)


def _check_preset(name: object) -> None:
    if name is not None and _check_text("preset", name) not in PRESETS:
        raise ValueError(f"preset {shown(name)} is none this portpool knows ({', '.join(PRESETS)})")


def _seed_text(seed: object) -> str:
    """The seed as stored (decimal text): any int that Python can write in decimal."""
    value = _check_int("seed", seed)
    try:
        return str(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        raise ValueError(f"seed {shown(value)} has more digits than Python writes in decimal"
                         f" ({sys.get_int_max_str_digits():,})") from None


@attrs.frozen
class StoredReservation:
    """A persistent reservation as the store keeps it.

    Attributes:
        protocol: TCP or UDP.
        start: the first port.
        count: how many ports.
        active: ``True`` for a netsh ``store=active`` row, which the next boot drops
            (rule N3); ``False`` for one that survives reboots (rule R13d).

    Raises:
        TypeError, ValueError: a field of the wrong type, or a block outside 1-65535.
    """

    protocol: Protocol
    start: int
    count: int
    active: bool

    def __attrs_post_init__(self) -> None:
        _check_block(self.protocol, self.start, self.count)
        if not isinstance(self.active, bool):
            raise TypeError(f"active must be a bool, not {type(self.active).__name__}")

    @property
    def last(self) -> int:
        """The last port of the block (inclusive)."""
        return self.start + self.count - 1


@attrs.frozen
class StoredExclusion:
    """A system exclusion placed by a Windows component at the current boot (rule X1).

    Attributes:
        protocol: TCP or UDP.
        start: the first port.
        count: how many ports.
        owner: the component that placed it ("WinNAT", "HTTP.sys"): non-empty text.

    Raises:
        TypeError, ValueError: a field of the wrong type, a block outside 1-65535 or
            an empty owner.
    """

    protocol: Protocol
    start: int
    count: int
    owner: str

    def __attrs_post_init__(self) -> None:
        _check_block(self.protocol, self.start, self.count)
        _check_owner(self.owner)

    @property
    def last(self) -> int:
        """The last port of the block (inclusive)."""
        return self.start + self.count - 1


Row = StoredReservation | StoredExclusion
RangeKey = tuple[Protocol, Family]


def _row_key(row: Row) -> tuple[int, int]:
    return (int(row.protocol), row.start)


def _reservations(rows: Iterable[StoredReservation]) -> tuple[StoredReservation, ...]:
    return tuple(rows)


def _exclusions(rows: Iterable[StoredExclusion]) -> tuple[StoredExclusion, ...]:
    return tuple(rows)


def _frozen_ranges(ranges: Mapping[RangeKey, PortRange]) -> Mapping[RangeKey, PortRange]:
    if not ranges:  # most machines set none: one shared empty view (nobody can change it)
        return _NO_RANGES
    return types.MappingProxyType(dict(sorted(ranges.items())))


_NO_RANGES: Final[Mapping[RangeKey, PortRange]] = types.MappingProxyType({})


@attrs.frozen
class MachineRecord:
    """Everything the store holds about one machine, as one value.

    Attributes:
        reservations: persistent reservations, ordered by (protocol, start).
        exclusions: this boot's system exclusions, ordered by (protocol, start).
        ranges: the dynamic ranges that were set (read-only); the machine fills in
            defaults for the others.
        preset: the preset the machine was made with, or ``None``.
        seed: the machine's seed.
        boot: how many times the machine booted since the store was made (0: never).
        version: the store's version when it was read (see :meth:`Store.version`).
        time_wait_delay: TcpTimedWaitDelay in seconds, if it was set (rule T2; ``None``:
            Windows' default).
        auto_reuse_ports: the TCP auto-reuse port range (Set-NetTCPSetting
            -AutoReusePortRangeStartPort/-NumberOfPorts, rule O15), if one is set
            (``None``: Windows' default, 0 ports, no port sharing).
    """

    reservations: tuple[StoredReservation, ...] = attrs.field(converter=_reservations)
    exclusions: tuple[StoredExclusion, ...] = attrs.field(converter=_exclusions)
    ranges: Mapping[RangeKey, PortRange] = attrs.field(converter=_frozen_ranges, hash=False)
    preset: str | None
    seed: int
    boot: int
    version: int = attrs.field(default=0, eq=False)  # when it was read, not what it holds
    time_wait_delay: int | None = None
    auto_reuse_ports: PortRange | None = None


@attrs.frozen
class Commit:
    """One write's place in the store's history.

    Every write that changes the store adds one to its version, in the same transaction.
    A host that saw version ``before`` and wrote ``after`` knows that nobody else wrote
    in between; any other ``before`` means another host or process did.

    Attributes:
        before: the version the write found.
        after: the version it left (``before`` when it changed nothing).
        rows: how many rows it wrote or removed (0: nothing changed).
    """

    before: int
    after: int
    rows: int


class StoreConflict(Exception):  # noqa: N818 - the name the design gives it
    """A write would overlap a stored row of the same protocol; nothing was written.

    Attributes:
        row: the stored row in the way (a reservation or an exclusion).
        new: the row that was to be written.
    """

    def __init__(self, row: Row, new: Row) -> None:
        super().__init__(row, new)
        self.row = row
        self.new = new

    def __str__(self) -> str:
        return f"{_describe(self.new)} overlaps the stored {_describe(self.row)}"


class StoreError(ValueError):
    """The file is not a usable portpool store; it was left as it was.

    Raised for a foreign sqlite database, an empty or non-sqlite file, a store from a
    newer portpool, damaged or overlapping rows.

    Attributes:
        path: the store's path.
        reason: what is wrong with it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{shown(self.path)} is not a usable portpool store: {self.reason}"


def _describe(row: Row) -> str:
    if isinstance(row, StoredReservation):
        kind = "active reservation" if row.active else "reservation"
        return f"{row.protocol.name} {kind} {row.start}-{row.last}"
    return f"{row.protocol.name} exclusion {row.start}-{row.last} ({row.owner})"
