"""The machine's registry: MemoryStore and SqliteStore (issue 8, items 2 and 3).

Both stores run the same behaviour tests; the sqlite store also has to refuse files
that are not portpool stores without touching them, fail cleanly at run time, keep
reboot all or nothing, and let several processes share one file.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import pickle
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import pytest

import portpool._model._store._sqlite as sqlite_store
from portpool import EmulatedHost, PortPoolError, WinError
from portpool._model._store import (
    MachineRecord,
    MemoryStore,
    SqliteStore,
    Store,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
    StoreError,
)
from portpool._types import Family, PortRange, Protocol

TCP, UDP = Protocol.TCP, Protocol.UDP
EMPTY = MachineRecord(reservations=(), exclusions=(), ranges={}, preset=None, seed=0, boot=0)


def _res(protocol: Protocol, start: int, count: int, active: bool = False) -> StoredReservation:
    return StoredReservation(protocol, start, count, active)


def _exc(protocol: Protocol, start: int, count: int, owner: str = "WinNAT") -> StoredExclusion:
    return StoredExclusion(protocol, start, count, owner)


def _put(store: Store, row: StoredReservation | StoredExclusion) -> None:
    if isinstance(row, StoredReservation):
        store.add_reservation(row.protocol, row.start, row.count, active=row.active)
    else:
        store.add_exclusion(row.protocol, row.start, row.count, row.owner)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Each behaviour test runs on both stores."""
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(tmp_path / "machine.portpool")


# --- behaviour, both stores ------------------------------------------------------------


def test_a_new_store_is_empty(store: Store) -> None:
    assert store.load() == EMPTY


@pytest.mark.rule("R13d")
def test_rows_come_back_in_order_of_protocol_and_start(store: Store) -> None:
    rows: list[StoredReservation | StoredExclusion] = [
        _res(UDP, 9000, 1), _exc(TCP, 50000, 100), _res(TCP, 5000, 4, active=True),
        _exc(UDP, 50000, 100, "HNS"), _res(TCP, 1, 3), _res(TCP, 65535, 1)]
    for row in rows:
        _put(store, row)
    record = store.load()
    assert record.reservations == (_res(TCP, 1, 3), _res(TCP, 5000, 4, active=True),
                                   _res(TCP, 65535, 1), _res(UDP, 9000, 1))
    assert record.exclusions == (_exc(TCP, 50000, 100), _exc(UDP, 50000, 100, "HNS"))


# (stored, new) pairs of ports that overlap: same block, inside, across either
# edge, around, one shared port at either end.
OVERLAPS = [((100, 10), (100, 10)), ((100, 10), (103, 2)), ((100, 10), (95, 6)),
            ((100, 10), (109, 5)), ((100, 10), (90, 30)), ((100, 10), (109, 1)),
            ((100, 10), (91, 10))]


@pytest.mark.rule("R13b", "X6", "X12")
@pytest.mark.parametrize(("stored", "new"), OVERLAPS)
@pytest.mark.parametrize("stored_kind", ["reservation", "exclusion"])
@pytest.mark.parametrize("new_kind", ["reservation", "active", "exclusion"])
def test_an_overlapping_write_is_refused_naming_the_row_and_writes_nothing(
        store: Store, stored: tuple[int, int], new: tuple[int, int], stored_kind: str,
        new_kind: str) -> None:
    in_the_way = _res(TCP, *stored) if stored_kind == "reservation" else _exc(TCP, *stored)
    _put(store, in_the_way)
    before = store.load()
    attempt: StoredReservation | StoredExclusion = (_exc(TCP, *new, "HTTP.sys") if new_kind == "exclusion"
               else _res(TCP, *new, active=new_kind == "active"))
    with pytest.raises(StoreConflict) as info:
        _put(store, attempt)
    assert info.value.row == in_the_way
    assert info.value.new == attempt
    assert "overlaps the stored" in str(info.value)
    assert store.load() == before


@pytest.mark.rule("X10")
def test_neighbours_and_the_other_protocol_never_conflict(store: Store) -> None:
    _put(store, _res(TCP, 100, 10))
    _put(store, _exc(TCP, 110, 5))     # starts right after
    _put(store, _res(TCP, 90, 10))     # ends right before
    _put(store, _exc(UDP, 90, 30))     # the same ports, the other protocol
    _put(store, _res(UDP, 120, 10))
    assert len(store.load().reservations) == 3
    assert len(store.load().exclusions) == 2


def test_the_conflict_names_the_row_with_the_greatest_start(store: Store) -> None:
    # Both stores report the same row when two are in the way.
    _put(store, _res(TCP, 100, 10))
    _put(store, _exc(TCP, 110, 10))
    _put(store, _res(TCP, 120, 10))
    with pytest.raises(StoreConflict) as info:
        store.add_reservation(TCP, 105, 20, active=False)
    assert info.value.row == _res(TCP, 120, 10)
    with pytest.raises(StoreConflict) as info:
        store.add_exclusion(TCP, 95, 20, "WinNAT")
    assert info.value.row == _exc(TCP, 110, 10)


@pytest.mark.rule("R13a")
def test_remove_reservation_needs_the_exact_block(store: Store) -> None:
    _put(store, _res(TCP, 100, 10, active=True))
    _put(store, _exc(TCP, 200, 10))
    assert store.remove_reservation(TCP, 100, 9).rows == 0
    assert store.remove_reservation(TCP, 101, 9).rows == 0
    assert store.remove_reservation(UDP, 100, 10).rows == 0
    assert store.remove_reservation(TCP, 200, 10).rows == 0  # an exclusion, not a reservation
    assert store.load().reservations == (_res(TCP, 100, 10, active=True),)
    assert store.remove_reservation(TCP, 100, 10).rows == 1
    assert store.remove_reservation(TCP, 100, 10).rows == 0
    assert store.load().reservations == ()
    assert store.load().exclusions == (_exc(TCP, 200, 10),)


@pytest.mark.rule("X1")
def test_remove_exclusions_takes_every_row_of_the_owner_in_both_protocols(store: Store) -> None:
    for row in (_exc(TCP, 100, 10), _exc(UDP, 100, 10), _exc(TCP, 300, 1, "HTTP.sys"),
                _res(TCP, 500, 10)):
        _put(store, row)
    assert store.remove_exclusions("winnat").rows == 0  # owners are compared exactly
    assert store.remove_exclusions("WinNAT").rows == 2
    assert store.remove_exclusions("WinNAT").rows == 0
    record = store.load()
    assert record.exclusions == (_exc(TCP, 300, 1, "HTTP.sys"),)
    assert record.reservations == (_res(TCP, 500, 10),)


@pytest.mark.rule("R18", "Y3")
def test_set_range_keeps_one_row_per_protocol_and_family(store: Store) -> None:
    store.set_range(TCP, Family.INET, PortRange(1025, 64511))
    store.set_range(TCP, Family.INET, PortRange(49152, 16384))
    store.set_range(UDP, Family.INET6, PortRange(10000, 255))
    store.set_range(TCP, Family.INET6, PortRange(1024, 255))  # the lowest every machine obeys
    with pytest.raises(ValueError, match="Y1, Y2"):  # issue 20: no machine has these
        store.set_range(TCP, Family.INET6, PortRange(1, 1))
    with pytest.raises(ValueError, match="Y1, Y2"):
        store.set_range(TCP, Family.INET6, PortRange(50000, 10))
    ranges = store.load().ranges
    assert dict(ranges) == {(TCP, Family.INET): PortRange(49152, 16384),
                            (TCP, Family.INET6): PortRange(1024, 255),
                            (UDP, Family.INET6): PortRange(10000, 255)}
    assert list(ranges) == sorted(ranges)


def test_set_preset_keeps_name_and_seed_of_any_size(store: Store) -> None:
    store.set_preset("vs-runner", -(2**80))
    assert (store.load().preset, store.load().seed) == ("vs-runner", -(2**80))
    with pytest.raises(ValueError, match="docker-desktop"):  # issue 20: a preset it knows
        store.set_preset("docker-desktop", 1)
    store.set_preset(None, 7)
    assert (store.load().preset, store.load().seed) == (None, 7)


BAD_CALLS: list[tuple[str, Callable[[Store], object], type[Exception]]] = [
    ("int protocol", lambda s: s.add_reservation(6, 1, 1, active=False), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("text start", lambda s: s.add_reservation(TCP, "5", 1, active=False), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("float count", lambda s: s.add_exclusion(TCP, 5, 1.0, "x"), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("bool start", lambda s: s.add_exclusion(TCP, True, 1, "x"), TypeError),
    ("start 0", lambda s: s.add_reservation(TCP, 0, 1, active=False), ValueError),
    ("start 65536", lambda s: s.add_reservation(TCP, 65536, 1, active=False), ValueError),
    ("count 0", lambda s: s.add_reservation(TCP, 5, 0, active=False), ValueError),
    ("past 65535", lambda s: s.add_exclusion(TCP, 65530, 7, "x"), ValueError),
    ("active not bool", lambda s: s.add_reservation(TCP, 5, 1, active=1), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("empty owner", lambda s: s.add_exclusion(TCP, 5, 1, ""), ValueError),
    ("owner not text", lambda s: s.add_exclusion(TCP, 5, 1, 5), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("lone surrogate", lambda s: s.add_exclusion(TCP, 5, 1, "\ud800"), ValueError),
    ("remove start 0", lambda s: s.remove_reservation(TCP, 0, 1), ValueError),
    ("remove owner None", lambda s: s.remove_exclusions(None), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("range tuple", lambda s: s.set_range(TCP, Family.INET, (1, 2)), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("family int", lambda s: s.set_range(TCP, 2, PortRange(1, 2)), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("seed text", lambda s: s.set_preset("default", "1"), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("seed None", lambda s: s.set_preset("default", None), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("name int", lambda s: s.set_preset(5, 1), TypeError),  # type: ignore[arg-type]  # wrong on purpose
    ("name unknown", lambda s: s.set_preset("docker", 1), ValueError),
]


@pytest.mark.parametrize(("call", "error"), [(c, e) for _, c, e in BAD_CALLS],
                         ids=[name for name, _, _ in BAD_CALLS])
def test_bad_arguments_raise_python_errors_and_write_nothing(
        store: Store, call: Callable[[Store], object], error: type[Exception]) -> None:
    _put(store, _res(UDP, 5, 1))
    before = store.load()
    with pytest.raises(error):
        call(store)
    assert store.load() == before


@pytest.mark.rule("N3", "X1", "R13d")
def test_reboot_drops_active_rows_and_exclusions_and_places_new_ones(store: Store) -> None:
    _put(store, _res(TCP, 100, 10))
    _put(store, _res(TCP, 200, 10, active=True))
    _put(store, _exc(TCP, 300, 10))
    store.set_range(UDP, Family.INET, PortRange(20000, 1000))
    store.set_preset("default", 3)
    seen: list[MachineRecord] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        seen.append(record)
        # The ports of the dropped rows are free again.
        return [_exc(UDP, 20000, 100), _exc(TCP, 200, 110, "HNS"), _exc(TCP, 1, 1, "HTTP.sys")]

    record = store.reboot(place)
    assert seen == [MachineRecord(reservations=(_res(TCP, 100, 10),), exclusions=(),
                                  ranges={(UDP, Family.INET): PortRange(20000, 1000)},
                                  preset="default", seed=3, boot=1)]
    assert record == attrs.evolve(seen[0], exclusions=(
        _exc(TCP, 1, 1, "HTTP.sys"), _exc(TCP, 200, 110, "HNS"), _exc(UDP, 20000, 100)))
    assert store.load() == record
    assert store.reboot(lambda r: ()).boot == 2
    assert store.load().exclusions == ()


def _unchanged_after_failed_reboot(store: Store, place: Callable[[MachineRecord], Sequence[StoredExclusion]],
                                   error: type[BaseException]) -> BaseException:
    _put(store, _res(TCP, 100, 10))
    _put(store, _res(TCP, 200, 10, active=True))
    _put(store, _exc(UDP, 300, 10))
    before = store.load()
    with pytest.raises(error) as info:
        store.reboot(place)
    assert store.load() == before
    return info.value


def test_reboot_is_all_or_nothing_when_place_raises(store: Store) -> None:
    def place(record: MachineRecord) -> list[StoredExclusion]:
        raise OSError("the placer failed")  # passed through, not taken for a store failure

    err = _unchanged_after_failed_reboot(store, place, OSError)
    assert type(err) is OSError


def test_reboot_is_all_or_nothing_when_a_placed_row_hits_a_kept_reservation(store: Store) -> None:
    err = _unchanged_after_failed_reboot(
        store, lambda r: [_exc(TCP, 1000, 5), _exc(TCP, 105, 1)], StoreConflict)
    assert isinstance(err, StoreConflict) and err.row == _res(TCP, 100, 10)


def test_reboot_is_all_or_nothing_when_placed_rows_overlap_each_other(store: Store) -> None:
    err = _unchanged_after_failed_reboot(
        store, lambda r: [_exc(TCP, 1000, 5), _exc(TCP, 1004, 5, "HNS")], StoreConflict)
    assert isinstance(err, StoreConflict) and err.row == _exc(TCP, 1000, 5)
    assert err.new == _exc(TCP, 1004, 5, "HNS")


@pytest.mark.parametrize("returned", [[("tcp", 1, 1)], [_res(TCP, 1000, 1)], "rows", None])
def test_reboot_refuses_a_placer_that_returns_something_else(store: Store, returned: object) -> None:
    _unchanged_after_failed_reboot(store, lambda r: returned, TypeError)  # type: ignore[arg-type,return-value]  # wrong on purpose


# --- first_boot: a new machine in one transaction ---------------------------------------

HYPERV_LIKE: dict[tuple[Protocol, Family], PortRange] = {
    (TCP, Family.INET): PortRange(1024, 64511), (UDP, Family.INET6): PortRange(20000, 1000)}


def _first_boot(store: Store, place: Callable[[MachineRecord], Sequence[StoredExclusion]],
                reservations: Sequence[StoredReservation] = (_res(TCP, 50000, 60),),
                preset: str | None = "hyperv", seed: int = 3) -> MachineRecord:
    return store.first_boot(ranges=HYPERV_LIKE, preset=preset, seed=seed,
                            reservations=reservations, place=place)


@pytest.mark.rule("R13d", "X1", "N3")
def test_first_boot_makes_the_machine_and_boots_it_once(store: Store) -> None:
    # What was stored before the machine was made stays, as reboot would keep it.
    _put(store, _res(UDP, 100, 10))
    _put(store, _exc(TCP, 300, 10))  # gone at the boot, like every exclusion
    store.set_range(TCP, Family.INET, PortRange(30000, 300))  # replaced
    store.set_range(UDP, Family.INET, PortRange(40000, 300))  # kept
    seen: list[MachineRecord] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        seen.append(record)
        return [_exc(TCP, 49152, 100), _exc(TCP, 5357, 1, "HTTP.sys"), _exc(TCP, 300, 5)]

    record = _first_boot(store, place, [_res(TCP, 50000, 60), _res(UDP, 7000, 5, active=True)])
    assert seen == [MachineRecord(
        reservations=(_res(TCP, 50000, 60), _res(UDP, 100, 10)), exclusions=(),
        ranges={**HYPERV_LIKE, (UDP, Family.INET): PortRange(40000, 300)},
        preset="hyperv", seed=3, boot=1)]
    assert record == attrs.evolve(seen[0], exclusions=(
        _exc(TCP, 300, 5), _exc(TCP, 5357, 1, "HTTP.sys"), _exc(TCP, 49152, 100)))
    assert store.load() == record


def test_first_boot_of_a_machine_that_exists_changes_nothing(store: Store) -> None:
    made = _first_boot(store, lambda r: [_exc(TCP, 49152, 100)])
    calls: list[MachineRecord] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        calls.append(record)
        return [_exc(UDP, 1, 1)]

    # Another process made it first: everything the late caller brings is ignored,
    # even what would conflict.
    again = store.first_boot(ranges={(UDP, Family.INET): PortRange(1024, 500)}, preset="vs-runner",
                             seed=9, reservations=[_res(TCP, 49152, 1)], place=place)
    assert again == made == store.load()
    rebooted = store.reboot(lambda r: [])
    assert _first_boot(store, place) == rebooted == store.load()
    assert rebooted.boot == 2
    assert calls == []


def _unchanged_after_failed_first_boot(
        store: Store, error: type[BaseException],
        place: Callable[[MachineRecord], Sequence[StoredExclusion]] = lambda r: [],
        reservations: Sequence[StoredReservation] = (_res(TCP, 50000, 60),)) -> BaseException:
    _put(store, _res(TCP, 100, 10, active=True))
    _put(store, _exc(UDP, 300, 10))
    store.set_range(TCP, Family.INET, PortRange(30000, 300))
    store.set_preset("vs-runner", 1)
    before = store.load()
    with pytest.raises(error) as info:
        _first_boot(store, place, reservations)
    assert store.load() == before
    # Still a new machine: the next first_boot makes it.
    assert _first_boot(store, lambda r: []).boot == 1
    return info.value


def test_first_boot_is_all_or_nothing_when_place_raises(store: Store) -> None:
    def place(record: MachineRecord) -> list[StoredExclusion]:
        assert record.reservations == (_res(TCP, 50000, 60),)  # the active row went
        raise OSError("the placer failed")

    err = _unchanged_after_failed_first_boot(store, OSError, place)
    assert type(err) is OSError and str(err) == "the placer failed"


def test_first_boot_is_all_or_nothing_when_a_placed_row_hits_a_new_reservation(store: Store) -> None:
    err = _unchanged_after_failed_first_boot(
        store, StoreConflict, lambda r: [_exc(UDP, 1, 1), _exc(TCP, 50059, 100)])
    assert isinstance(err, StoreConflict) and err.row == _res(TCP, 50000, 60)


@pytest.mark.parametrize(("reservations", "in_the_way"), [
    ([_res(TCP, 50000, 60), _res(TCP, 50059, 1)], _res(TCP, 50000, 60)),  # each other
    ([_res(UDP, 1, 1), _res(TCP, 105, 1)], _res(TCP, 100, 10, active=True)),  # a stored row
    ([_res(UDP, 305, 1, active=True)], _exc(UDP, 300, 10)),  # checked like add_reservation
])
def test_first_boot_checks_its_reservations_like_add_reservation(
        store: Store, reservations: list[StoredReservation], in_the_way: StoredReservation) -> None:
    calls: list[MachineRecord] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        calls.append(record)
        return []

    err = _unchanged_after_failed_first_boot(store, StoreConflict, place, reservations)
    assert isinstance(err, StoreConflict) and err.row == in_the_way
    assert calls == []  # refused before booting


@pytest.mark.parametrize("returned", [[("tcp", 1, 1)], [_res(TCP, 1000, 1)], None])
def test_first_boot_refuses_a_placer_that_returns_something_else(store: Store, returned: object) -> None:
    _unchanged_after_failed_first_boot(store, TypeError, lambda r: returned)  # type: ignore[arg-type,return-value]  # wrong on purpose


BAD_FIRST_BOOTS: list[tuple[str, dict[str, object], type[Exception]]] = [
    ("ranges a list", {"ranges": [((TCP, Family.INET), PortRange(1, 1))]}, TypeError),
    ("ranges key a protocol", {"ranges": {TCP: PortRange(1, 1)}}, TypeError),
    ("ranges key of ints", {"ranges": {(6, 2): PortRange(1, 1)}}, TypeError),
    ("range a tuple", {"ranges": {(TCP, Family.INET): (1, 1)}}, TypeError),
    ("preset an int", {"preset": 5}, TypeError),
    ("preset a lone surrogate", {"preset": "\ud800"}, ValueError),
    ("seed text", {"seed": "3"}, TypeError),
    ("seed a bool", {"seed": True}, TypeError),
    ("reservations a row", {"reservations": _res(TCP, 1, 1)}, TypeError),
    ("reservation a tuple", {"reservations": [(TCP, 1, 1)]}, TypeError),
    ("reservation an exclusion", {"reservations": [_exc(TCP, 1, 1)]}, TypeError),
    ("place not callable", {"place": []}, TypeError),
]


@pytest.mark.parametrize(("change", "error"), [(c, e) for _, c, e in BAD_FIRST_BOOTS],
                         ids=[name for name, _, _ in BAD_FIRST_BOOTS])
def test_first_boot_with_bad_arguments_raises_python_errors_and_writes_nothing(
        store: Store, change: dict[str, object], error: type[Exception]) -> None:
    arguments: dict[str, object] = {"ranges": HYPERV_LIKE, "preset": "hyperv", "seed": 3,
                                    "reservations": [], "place": lambda r: []}
    with pytest.raises(error):
        store.first_boot(**{**arguments, **change})  # type: ignore[arg-type]  # wrong on purpose
    assert store.load() == EMPTY


def test_records_and_rows_are_frozen_values() -> None:
    record = MachineRecord(reservations=[_res(TCP, 1, 1)], exclusions=[],
                           ranges={(TCP, Family.INET): PortRange(1, 1)}, preset=None, seed=0, boot=0)
    assert record.reservations == (_res(TCP, 1, 1),) and record.exclusions == ()
    assert hash(record) == hash(attrs.evolve(record))
    with pytest.raises(TypeError):
        record.ranges[(UDP, Family.INET)] = PortRange(1, 1)  # type: ignore[index]  # read-only on purpose
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.boot = 1  # type: ignore[misc]  # frozen on purpose
    assert _res(TCP, 1, 3).last == 3 and _exc(TCP, 10, 3).last == 12


def test_errors_survive_pickling() -> None:
    # They cross process boundaries (multiprocessing, pytest-xdist).
    conflict = pickle.loads(pickle.dumps(StoreConflict(_res(TCP, 1, 1), _exc(TCP, 1, 1))))
    assert (conflict.row, conflict.new) == (_res(TCP, 1, 1), _exc(TCP, 1, 1))
    error = pickle.loads(pickle.dumps(StoreError("/x", "damaged")))
    assert (error.path, error.reason, str(error)) == ("/x", "damaged", str(StoreError("/x", "damaged")))


OPERATIONS = ["add_reservation", "add_exclusion", "remove_reservation", "remove_exclusions",
              "set_range", "set_preset", "reboot", "first_boot"]


def _random_operation(rng: random.Random) -> tuple[str, tuple[object, ...], dict[str, object]]:
    name = rng.choice(OPERATIONS)
    protocol = rng.choice(list(Protocol))
    start, count = rng.randrange(1, 200), rng.randrange(1, 20)
    owner = rng.choice(["WinNAT", "HNS"])
    if name == "add_reservation":
        return name, (protocol, start, count), {"active": rng.random() < 0.3}
    if name == "add_exclusion":
        return name, (protocol, start, count, owner), {}
    if name == "remove_reservation":
        return name, (protocol, start, count), {}
    if name == "remove_exclusions":
        return name, (owner,), {}
    if name == "set_range":
        return name, (protocol, rng.choice(list(Family)), PortRange(1024 + start, 255 + count)), {}
    if name == "set_preset":
        return name, (rng.choice([None, "default"]), rng.randrange(-5, 5)), {}
    placed = [_exc(protocol, rng.randrange(1, 200), rng.randrange(1, 10), owner)
              for _ in range(rng.randrange(3))]
    if name == "first_boot":
        rows = [_res(rng.choice(list(Protocol)), rng.randrange(1, 200), rng.randrange(1, 10),
                     rng.random() < 0.3) for _ in range(rng.randrange(3))]
        return name, (), {"ranges": {(protocol, rng.choice(list(Family))): PortRange(1024 + start, 255 + count)},
                          "preset": "hyperv", "seed": start, "reservations": rows,
                          "place": lambda record: placed}
    return name, (lambda record: placed,), {}


@pytest.mark.parametrize("seed", [1, 2])
def test_memory_and_sqlite_stores_agree_on_random_operations(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    stores: list[Store] = [MemoryStore(), SqliteStore(tmp_path / "a.portpool")]
    for step in range(150):
        name, args, kwargs = _random_operation(rng)
        outcomes = []
        for one in stores:
            try:
                outcomes.append(("ok", getattr(one, name)(*args, **kwargs)))
            except StoreConflict as exc:
                outcomes.append(("conflict", (exc.row, exc.new)))
        assert outcomes[0] == outcomes[1], (step, name, args)
        assert stores[0].load() == stores[1].load(), (step, name, args)


# --- the sqlite file ----------------------------------------------------------------


def _state(path: Path) -> tuple[object, ...]:
    """What must not change: the bytes, size, mtime and the directory's names."""
    info = path.stat()
    return (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns,
            sorted(os.listdir(path.parent)))


@pytest.mark.rule("R13d")
def test_a_sqlite_store_outlives_its_object(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    first = SqliteStore(path)
    _put(first, _res(UDP, 7000, 4))
    first.set_preset("default", 9)
    assert SqliteStore(str(path)).load() == first.load()
    assert repr(first) == f"SqliteStore({str(path)!r})"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_a_new_store_file_is_readable_by_its_owner_only(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        SqliteStore(tmp_path / "m.portpool")
    finally:
        os.umask(old)
    assert (tmp_path / "m.portpool").stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["m.portpool"]  # no temporary file left behind


def test_a_store_is_made_in_place_where_there_are_no_hard_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(source: str, target: str) -> None:
        raise PermissionError(1, "Operation not permitted", target)

    monkeypatch.setattr(os, "link", no_link)
    store = SqliteStore(tmp_path / "m.portpool")
    _put(store, _res(TCP, 1, 1))
    assert store.load().reservations == (_res(TCP, 1, 1),)
    assert os.listdir(tmp_path) == ["m.portpool"]
    if sys.platform != "win32":
        assert (tmp_path / "m.portpool").stat().st_mode & 0o777 == 0o600


def test_a_store_made_in_place_that_fails_leaves_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(source: str, target: str) -> None:
        raise PermissionError(1, "Operation not permitted", target)

    made: list[str] = []

    def initialize(self: SqliteStore, path: str) -> None:
        made.append(path)
        if len(made) == 2:  # the temporary file succeeds, the one in place fails
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(SqliteStore, "_initialize", initialize)
    _not_supported(lambda: SqliteStore(tmp_path / "m.portpool"))
    assert made[1] == str(tmp_path / "m.portpool")
    assert os.listdir(tmp_path) == []


def test_a_store_that_cannot_be_created_is_a_port_pool_error(tmp_path: Path) -> None:
    with pytest.raises(PortPoolError) as info:
        SqliteStore(tmp_path / "missing-directory" / "m.portpool")
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    assert "missing-directory" in str(info.value)


def test_bad_paths_are_python_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        SqliteStore(5)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError):
        SqliteStore(b"/tmp/x")  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="empty"):
        SqliteStore("")
    with pytest.raises(ValueError, match="timeout"):
        SqliteStore(tmp_path / "m", timeout=-1)
    assert os.listdir(tmp_path) == []


def _sqlite(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def _portpool(path: Path, *statements: str) -> None:
    """A portpool store with one good row in each table, then ``statements``."""
    store = SqliteStore(path)
    _put(store, _res(TCP, 5000, 10))
    _put(store, _exc(TCP, 6000, 10))
    store.set_range(TCP, Family.INET, PortRange(49152, 16384))
    _sqlite(path, *statements)


# Tables as they were, minus their constraints, so that damaged rows can be written.
LOOSE = ["DROP TABLE reservation", "CREATE TABLE reservation (protocol, start, count, active)",
         "INSERT INTO reservation VALUES (6, 5000, 10, 0)",
         "DROP TABLE exclusion", "CREATE TABLE exclusion (protocol, start, count, owner)",
         "DROP TABLE dynamic_range", "CREATE TABLE dynamic_range (protocol, family, start, count)"]

REFUSED: list[tuple[str, Callable[[Path], object], str]] = [
    ("empty file", lambda p: p.write_bytes(b""), r"empty \(0-byte\) file"),
    ("text file", lambda p: p.write_text("hello\n"), "not a sqlite database"),
    ("random bytes", lambda p: p.write_bytes(random.Random(1).randbytes(8192)), "not a sqlite database"),
    ("sqlite header only", lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(40)), "not a sqlite database"),
    ("foreign database", lambda p: _sqlite(p, "CREATE TABLE customers (name TEXT)",
                                           "INSERT INTO customers VALUES ('ada')"),
     r"without the portpool marker \(tables: customers\)"),
    ("database without tables", lambda p: _sqlite(p, "PRAGMA user_version = 7"), "no tables"),
    ("portpool 0.1 store", lambda p: _sqlite(
        p, "CREATE TABLE persistent_reservation (protocol INTEGER NOT NULL, start INTEGER NOT NULL,"
        " count INTEGER NOT NULL, PRIMARY KEY (protocol, start))",
        "INSERT INTO persistent_reservation VALUES (6, 5000, 10)"), "portpool 0.1"),
    ("meta of another application", lambda p: _sqlite(
        p, "CREATE TABLE meta (key TEXT PRIMARY KEY, value)",
        "INSERT INTO meta VALUES ('application', 'other')"), "application='other'"),
    ("newer schema", lambda p: _portpool(p, "UPDATE meta SET value = 2 WHERE key = 'schema'"),
     r"newer portpool \(schema 2"),
    ("older schema", lambda p: _portpool(p, "UPDATE meta SET value = 0 WHERE key = 'schema'"),
     "meta schema 0 is not 1"),
    ("schema not an integer", lambda p: _portpool(p, "UPDATE meta SET value = '1' WHERE key = 'schema'"),
     "meta schema '1'"),
    ("WAL mode", lambda p: _portpool(p, "PRAGMA journal_mode = WAL"), "WAL mode"),
    ("missing table", lambda p: _portpool(p, "DROP TABLE exclusion"), "'exclusion' is missing"),
    ("wrong columns", lambda p: _portpool(p, "ALTER TABLE exclusion ADD COLUMN extra"),
     "'exclusion' has columns"),
    ("a trigger", lambda p: _portpool(p, "CREATE TRIGGER t AFTER INSERT ON reservation BEGIN"
                                         " DELETE FROM exclusion; END"), "unexpected trigger 't'"),
    ("missing meta key", lambda p: _portpool(p, "DELETE FROM meta WHERE key = 'boot'"), "'boot' is missing"),
    ("boot negative", lambda p: _portpool(p, "UPDATE meta SET value = -1 WHERE key = 'boot'"), "boot -1"),
    ("seed not decimal", lambda p: _portpool(p, "UPDATE meta SET value = '0x10' WHERE key = 'seed'"), "seed '0x10'"),
    ("seed an integer", lambda p: _portpool(p, "UPDATE meta SET value = 5 WHERE key = 'seed'"), "seed 5"),
    ("preset not text", lambda p: _portpool(p, "UPDATE meta SET value = 5 WHERE key = 'preset'"), "preset 5"),
    ("protocol 7", lambda p: _portpool(p, "UPDATE reservation SET protocol = 7"), "protocol must be 6"),
    ("start 0", lambda p: _portpool(p, "UPDATE reservation SET start = 0"), "start must be in 1-65535"),
    ("start 70000", lambda p: _portpool(p, "UPDATE exclusion SET start = 70000"), "start must be in 1-65535"),
    ("count 0", lambda p: _portpool(p, "UPDATE reservation SET count = 0"), "count must be at least 1"),
    ("count -3", lambda p: _portpool(p, "UPDATE exclusion SET count = -3"), "count must be at least 1"),
    ("past 65535", lambda p: _portpool(p, "UPDATE reservation SET start = 65530"), "run past 65535"),
    ("text start", lambda p: _portpool(p, "UPDATE reservation SET start = 'abc'"), "start must be an integer"),
    ("float start", lambda p: _portpool(p, "UPDATE reservation SET start = 5000.5"), "start must be an integer"),
    ("blob count", lambda p: _portpool(p, "UPDATE exclusion SET count = x'0a'"), "count must be an integer"),
    ("null count", lambda p: _portpool(p, *LOOSE, "UPDATE reservation SET count = NULL"),
     "count must be an integer, not None"),
    ("active 2", lambda p: _portpool(p, "UPDATE reservation SET active = 2"), "active must be 0 or 1"),
    ("empty owner", lambda p: _portpool(p, "UPDATE exclusion SET owner = ''"), "owner must not be empty"),
    ("owner not text", lambda p: _portpool(p, *LOOSE, "INSERT INTO exclusion VALUES (6, 1, 1, 5)"),
     "owner must be a str"),
    ("range family 3", lambda p: _portpool(p, "UPDATE dynamic_range SET family = 3"), "family must be 2"),
    ("range past 65535", lambda p: _portpool(p, "UPDATE dynamic_range SET count = 20000"), "run past 65535"),
    ("range twice", lambda p: _portpool(p, *LOOSE, "INSERT INTO dynamic_range VALUES (6, 2, 1024, 300)",
                                        "INSERT INTO dynamic_range VALUES (6, 2, 2000, 300)"),
     "appears twice"),
    ("range of 10 ports", lambda p: _portpool(p, "UPDATE dynamic_range SET count = 10"), "rules Y1, Y2"),
    ("range below 1024", lambda p: _portpool(p, "UPDATE dynamic_range SET start = 1000"), "rules Y1, Y2"),
    ("unknown preset", lambda p: _portpool(p, "UPDATE meta SET value = 'docker' WHERE key = 'preset'"),
     "preset 'docker' is none this portpool knows"),
    ("version not a count", lambda p: _portpool(p, "UPDATE meta SET value = -1 WHERE key = 'version'"),
     "meta version -1"),
    ("preset unknown name", lambda p: _portpool(p, "UPDATE meta SET value = 'x' WHERE key = 'preset'"),
     "preset 'x'"),
    ("overlapping reservations", lambda p: _portpool(p, "INSERT INTO reservation VALUES (6, 5009, 1, 0)"),
     "overlapping rows: TCP reservation 5000-5009 and TCP reservation 5009-5009"),
    ("reservation over an exclusion", lambda p: _portpool(p, "INSERT INTO reservation VALUES (6, 5990, 20, 1)"),
     "overlapping rows: TCP active reservation 5990-6009 and TCP exclusion 6000-6009"),
    ("same start", lambda p: _portpool(p, "INSERT INTO exclusion VALUES (6, 5000, 1, 'HNS')"),
     "overlapping rows"),
]


@pytest.mark.parametrize(("make", "reason"), [(m, r) for _, m, r in REFUSED],
                         ids=[name for name, _, _ in REFUSED])
def test_a_file_that_is_not_a_portpool_store_is_refused_untouched(
        tmp_path: Path, make: Callable[[Path], object], reason: str) -> None:
    path = tmp_path / "m.portpool"
    make(path)
    before = _state(path)
    with pytest.raises(StoreError, match=reason) as info:
        SqliteStore(path)
    assert isinstance(info.value, ValueError)
    assert info.value.path == str(path) and str(path) in str(info.value)
    assert _state(path) == before


def test_the_same_ports_in_both_protocols_are_not_damage(tmp_path: Path) -> None:
    # The control for the overlap cases above.
    path = tmp_path / "m.portpool"
    _portpool(path, "INSERT INTO reservation VALUES (17, 5000, 10, 0)",
              "INSERT INTO exclusion VALUES (17, 6000, 10, 'WinNAT')")
    assert len(SqliteStore(path).load().reservations) == 2


def test_a_directory_is_a_port_pool_error_not_a_new_store(tmp_path: Path) -> None:
    (tmp_path / "m.portpool").mkdir()
    with pytest.raises(PortPoolError) as info:
        SqliteStore(tmp_path / "m.portpool")
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    assert os.listdir(tmp_path) == ["m.portpool"]


@pytest.mark.parametrize(("damage", "reason"), [
    (["DELETE FROM meta"], "not the portpool marker"),
    (["UPDATE meta SET value = 3 WHERE key = 'schema'"], "newer portpool"),
    (["INSERT INTO reservation VALUES (6, 5005, 1, 0)"], "overlapping rows"),
    (["UPDATE reservation SET protocol = 99"], "protocol must be 6"),
])
def test_every_operation_checks_the_file_again(tmp_path: Path, damage: list[str], reason: str) -> None:
    path = tmp_path / "m.portpool"
    _portpool(path)
    store = SqliteStore(path)
    _sqlite(path, *damage)
    before = _state(path)
    with pytest.raises(StoreError, match=reason):
        store.load()
    with pytest.raises(StoreError, match=reason):
        store.reboot(lambda r: [])
    assert _state(path) == before
    if reason in ("not the portpool marker", "newer portpool"):  # writes check the marker
        with pytest.raises(StoreError, match=reason):
            store.add_reservation(UDP, 1, 1, active=False)
        with pytest.raises(StoreError, match=reason):
            store.set_preset("default", 1)
        assert _state(path) == before


def _write_calls() -> list[Callable[[Store], object]]:
    return [lambda s: s.load(),
            lambda s: s.add_reservation(UDP, 1, 1, active=False),
            lambda s: s.remove_reservation(TCP, 5000, 10),
            lambda s: s.add_exclusion(UDP, 1, 1, "x"),
            lambda s: s.remove_exclusions("WinNAT"),
            lambda s: s.set_range(UDP, Family.INET, PortRange(1024, 300)),
            lambda s: s.set_preset("default", 1),
            lambda s: s.reboot(lambda r: []),
            lambda s: s.first_boot(ranges={}, preset=None, seed=0, reservations=[],
                                   place=lambda r: [])]


def _not_supported(call: Callable[[], object]) -> PortPoolError:
    with pytest.raises(PortPoolError) as info:
        call()
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    return info.value


def test_a_store_deleted_at_run_time_fails_every_call_and_is_not_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    _portpool(path)
    store = SqliteStore(path)
    path.unlink()
    for call in _write_calls():
        err = _not_supported(functools.partial(call, store))
        assert str(path) in str(err)
    assert os.listdir(tmp_path) == []


def test_a_store_replaced_by_a_directory_fails_every_call(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    store = SqliteStore(path)
    path.unlink()
    path.mkdir()
    for call in _write_calls():
        _not_supported(functools.partial(call, store))


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[Path, SqliteStore]]:
    """A store another connection holds in an EXCLUSIVE transaction."""
    path = tmp_path / "m.portpool"
    _portpool(path)
    store = SqliteStore(path, timeout=0.05)
    before = store.load()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield path, store
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.load() == before


def test_a_locked_store_fails_every_call_within_the_timeout(locked: tuple[Path, SqliteStore]) -> None:
    path, store = locked
    before = _state(path)
    for call in _write_calls():
        started = time.monotonic()
        err = _not_supported(functools.partial(call, store))
        assert "locked" in str(err)
        assert time.monotonic() - started < 2
    assert _state(path) == before
    with pytest.raises(PortPoolError):
        SqliteStore(path, timeout=0.05)  # opening reads the file too


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[Path, SqliteStore]]:
    """A store whose file cannot be written: mode 0400, or for root (who ignores the
    mode) the immutable attribute."""
    if sys.platform == "win32":
        pytest.skip("Windows has no mode bits")
    else:  # mypy reads this branch on Linux only (os.geteuid)
        path = tmp_path / "m.portpool"
        _portpool(path)
        store = SqliteStore(path)
        if os.geteuid() != 0:
            path.chmod(0o400)
            yield path, store
            return
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
            pytest.skip("root writes read-only files, and chattr +i is not available here")
        try:
            yield path, store
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_store_fails_writes_and_still_loads(read_only: tuple[Path, SqliteStore]) -> None:
    path, store = read_only
    before = _state(path)
    for call in _write_calls()[1:]:
        err = _not_supported(functools.partial(call, store))
        assert "readonly" in str(err)
    assert store.load().reservations == (_res(TCP, 5000, 10),)
    assert SqliteStore(path).load() == store.load()  # opening needs no write
    assert _state(path) == before


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot rename an open file")
def test_reboot_is_all_or_nothing_when_the_file_moves_away_during_it(tmp_path: Path) -> None:
    path, away = tmp_path / "m.portpool", tmp_path / "elsewhere"
    store = SqliteStore(path)

    def place(record: MachineRecord) -> list[StoredExclusion]:
        path.rename(away)  # sqlite refuses to write a file that moved (READONLY_DBMOVED)
        return [_exc(UDP, 1, 1)]

    _put(store, _res(TCP, 100, 10, active=True))
    before, state = store.load(), _state(path)
    _not_supported(lambda: store.reboot(place))
    away.rename(path)
    assert _state(path) == state
    assert store.load() == before


def test_reboot_is_all_or_nothing_when_the_commit_cannot_get_its_lock(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    store = SqliteStore(path, timeout=0.05)
    _put(store, _res(TCP, 100, 10, active=True))
    _put(store, _exc(TCP, 300, 10))
    before = store.load()
    readers: list[sqlite3.Connection] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM meta").fetchall()  # a shared lock the commit must wait for
        readers.append(reader)
        return [_exc(TCP, 1, 1)]

    try:
        err = _not_supported(lambda: store.reboot(place))
        assert "locked" in str(err)
    finally:
        for reader in readers:
            reader.close()
    assert store.load() == before


def test_first_boot_is_all_or_nothing_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    _portpool(path)
    store = SqliteStore(path)
    state = _state(path)

    def place(record: MachineRecord) -> list[StoredExclusion]:
        raise KeyboardInterrupt  # anything at all, after every row was written

    with pytest.raises(KeyboardInterrupt):
        store.first_boot(ranges={(UDP, Family.INET6): PortRange(20000, 1000)}, preset="hyperv",
                         seed=3, reservations=[_res(UDP, 50000, 60)], place=place)
    assert _state(path) == state


def test_a_store_deleted_before_reboot_is_not_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    store = SqliteStore(path)
    path.unlink()
    calls: list[MachineRecord] = []

    def place(record: MachineRecord) -> list[StoredExclusion]:
        calls.append(record)
        return []

    _not_supported(lambda: store.reboot(place))
    assert calls == [] and not path.exists()


# --- several processes on one file ----------------------------------------------------

@pytest.mark.rule("R13b")
def test_the_overlap_check_and_the_write_are_one_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another host tries an overlapping block just after this one's check: it has to
    # wait for this write, then sees it.  (Checked outside the write's lock, both win.)
    path = tmp_path / "m.portpool"
    store, other = SqliteStore(path), SqliteStore(path)
    outcome: list[str] = []
    threads: list[threading.Thread] = []
    check = sqlite_store._in_the_way

    def intrude() -> None:
        try:
            other.add_reservation(TCP, 102, 4, active=False)
            outcome.append("won")
        except StoreConflict as exc:
            outcome.append(f"conflict with {exc.row.start}")

    def check_then_intrude(connection: sqlite3.Connection, new: StoredReservation) -> object:
        found = check(connection, new)
        if not threads:
            threads.append(threading.Thread(target=intrude))
            threads[0].start()
            threads[0].join(0.3)  # it cannot finish while this write holds the lock
        return found

    monkeypatch.setattr(sqlite_store, "_in_the_way", check_then_intrude)
    store.add_reservation(TCP, 100, 4, active=False)
    threads[0].join()
    assert outcome == ["conflict with 100"]
    assert store.load().reservations == (_res(TCP, 100, 4),)


WORKERS, GROUPS, BLOCK = 4, 30, 4


def _contend(path: str, worker: int, barrier: multiprocessing.synchronize.Barrier,
             results: multiprocessing.queues.Queue[tuple[int, list[int], list[str]]]) -> None:
    """One process: open the (perhaps not yet existing) store, then try every group."""
    wins: list[int] = []
    problems: list[str] = []
    try:
        barrier.wait(timeout=30)
        store = SqliteStore(path)  # several processes create the file at once
        order = list(range(GROUPS))
        random.Random(worker).shuffle(order)
        for group in order:
            # Odd groups: the same block for everyone; even groups: blocks offset by
            # one port per worker, so every pair overlaps.
            start = 1000 + 10 * group + (worker if group % 2 == 0 else 0)
            try:
                if worker == 0:
                    store.add_exclusion(TCP, start, BLOCK, "WinNAT")
                else:
                    store.add_reservation(TCP, start, BLOCK, active=False)
            except StoreConflict as exc:
                if not 1000 + 10 * group <= exc.row.start < 1000 + 10 * group + 10:
                    problems.append(f"group {group}: conflict with {exc.row}")
            else:
                wins.append(group)
    except Exception as exc:
        problems.append(repr(exc))
    results.put((worker, wins, problems))


@pytest.mark.rule("R13b", "X6")
def test_several_processes_sharing_a_file_never_both_win_a_block(tmp_path: Path) -> None:
    path = tmp_path / "shared.portpool"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results: multiprocessing.queues.Queue[tuple[int, list[int], list[str]]] = context.Queue()
    processes = [context.Process(target=_contend, args=(str(path), worker, barrier, results))
                 for worker in range(WORKERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert [problems for _, _, problems in outcomes] == [[]] * WORKERS
    winners: dict[int, list[int]] = {}
    for worker, wins, _ in outcomes:
        for group in wins:
            winners.setdefault(group, []).append(worker)
    assert sorted(winners) == list(range(GROUPS))
    assert all(len(who) == 1 for who in winners.values()), winners
    record = SqliteStore(path).load()  # checks that no two rows overlap
    stored: list[StoredReservation | StoredExclusion] = sorted(
        [*record.reservations, *record.exclusions], key=lambda r: r.start)
    assert len(stored) == GROUPS
    for row in stored:
        group = (row.start - 1000) // 10
        (worker,) = winners[group]
        assert row.start == 1000 + 10 * group + (worker if group % 2 == 0 else 0)
        assert isinstance(row, StoredExclusion) == (worker == 0)
    assert os.listdir(tmp_path) == ["shared.portpool"]


def _make_host(path: str, barrier: multiprocessing.synchronize.Barrier,
               results: multiprocessing.queues.Queue[tuple[str, object]]) -> None:
    """One process: make a host on the (perhaps not yet existing) store at once with the others."""
    try:
        barrier.wait(timeout=30)
        host = EmulatedHost(store=path, preset="hyperv", seed=3)
        results.put(("ok", (host.exclusions(TCP), host.exclusions(UDP))))
    except BaseException as exc:
        results.put(("failed", repr(exc)))


@pytest.mark.rule("X1", "R13d")
def test_processes_making_one_machine_at_once_make_it_once(tmp_path: Path) -> None:
    # pytest-xdist workers opening one new store: every host starts, the machine boots
    # once, the preset's rows are made once, and every process sees the same rows.
    path = tmp_path / "shared.portpool"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results: multiprocessing.queues.Queue[tuple[str, object]] = context.Queue()
    processes = [context.Process(target=_make_host, args=(str(path), barrier, results))
                 for _ in range(WORKERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert [status for status, _ in outcomes] == ["ok"] * WORKERS, outcomes
    alone = EmulatedHost(preset="hyperv", seed=3)  # the same machine, made in memory
    expected = (alone.exclusions(TCP), alone.exclusions(UDP))
    assert any(row.owner == "WinNAT" for row in expected[0])
    assert [seen for _, seen in outcomes] == [expected] * WORKERS
    record = SqliteStore(path).load()
    assert record.boot == 1
    # the preset's rows (TCP and UDP 50000-50059), each once
    assert record.reservations == (_res(TCP, 50000, 60), _res(UDP, 50000, 60))
    assert (record.preset, record.seed) == ("hyperv", 3)


def _stale_first_load(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's first look at the store comes just before another host made the
    machine: it sees a new store, then the store's first_boot finds the machine."""
    loads: list[MachineRecord] = []
    real = store.load

    def load() -> MachineRecord:
        loads.append(real())
        return EMPTY if len(loads) == 1 else loads[-1]

    monkeypatch.setattr(store, "load", load)


def test_a_host_that_comes_second_to_a_new_store_opens_the_machine(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    first = EmulatedHost(store=store, preset="hyperv", seed=3)
    made = store.load()
    _stale_first_load(store, monkeypatch)
    second = EmulatedHost(store=store, preset="hyperv", seed=4)  # the stored seed wins
    assert store.load() == made
    assert second.exclusions(TCP) == first.exclusions(TCP)


def test_a_host_that_comes_second_applies_its_options_to_the_machine(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    EmulatedHost(store=store, preset="hyperv", seed=3)
    made = store.load()
    _stale_first_load(store, monkeypatch)
    second = EmulatedHost(store=store, dynamic_ports={UDP: PortRange(10000, 1000)})
    assert store.load() == attrs.evolve(made, ranges={
        **made.ranges, (UDP, Family.INET): PortRange(10000, 1000),
        (UDP, Family.INET6): PortRange(10000, 1000)})
    assert second.machine.preset == "hyperv"
    assert second.dynamic_range(UDP, Family.INET6) == PortRange(10000, 1000)
    assert second.dynamic_range(TCP) == PortRange(49152, 16384)


def test_a_host_that_comes_second_with_another_preset_is_refused(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    EmulatedHost(store=store, preset="hyperv", seed=3)
    made = store.load()
    _stale_first_load(store, monkeypatch)
    with pytest.raises(ValueError, match="holds a 'hyperv' machine, not 'vs-runner'"):
        EmulatedHost(store=store, preset="vs-runner")
    assert store.load() == made


# A writer that adds one reservation after another (row k at port k + 1) and prints k once
# add_reservation returned.  With argv[2] = "between" it stops, before writing row
# argv[3], between two transactions; with "commit", inside the transaction that writes it,
# when the COMMIT statement starts (the row is written, the journal beside the file, the
# file itself not yet changed); it prints "stopped" and waits there to be killed.
CHILD = textwrap.dedent("""
    import sqlite3, sys
    from portpool._model._store import SqliteStore
    from portpool._types import Protocol
    path, where, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SqliteStore(path)
    k = len(store.load().reservations)

    def stop():
        print("stopped", flush=True)
        sys.stdin.readline()  # killed here

    def trace(statement):
        if where == "commit" and k == stop_at and statement == "COMMIT":
            stop()

    connect = sqlite3.connect
    def traced(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = traced
    while True:
        if where == "between" and k == stop_at:
            stop()
        store.add_reservation(Protocol.UDP, 1 + k, 1, active=False)
        print(k, flush=True)
        k += 1
""")


def _line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, f"the writer ended (exit status {child.poll()}) or the watchdog killed it"
    return line.strip()


def _hot(path: Path) -> bool:
    """Whether a journal beside ``path`` must be rolled back before the file can be read
    (sqlite refuses a read-only reader then)."""
    probe = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        assert getattr(exc, "sqlite_errorcode", None) == 776  # SQLITE_READONLY_ROLLBACK
        return True
    finally:
        probe.close()
    return False


# (where the writer is killed, after how many more commits): stopped between two
# transactions, stopped inside one before its COMMIT, and wherever it is when the test
# has read that many lines (inside sqlite's COMMIT too, at times: then its journal is hot).
_KILLS = [("between", 7), ("commit", 3), ("anywhere", 5), ("commit", 0), ("anywhere", 29),
          ("between", 0), ("anywhere", 1), ("commit", 2)]


def test_a_writer_killed_mid_loop_loses_nothing_it_committed(tmp_path: Path) -> None:
    """SIGKILL (TerminateProcess) at any point of a write loses nothing the writer saw
    committed, keeps nothing it did not, and the next opener reads a consistent store.

    A journal can stay beside the file: one whose header sqlite has not written yet (a
    writer killed before its COMMIT changed the file) is not hot, and readers rightly
    leave it; a hot one (killed inside COMMIT) is rolled back by the next reader.  The
    next writer's commit removes any journal.
    """
    path = tmp_path / "m.portpool"
    journal = tmp_path / "m.portpool-journal"
    SqliteStore(path)
    committed: set[int] = set()
    for where, more in _KILLS:
        stop_at = len(committed) + more
        with subprocess.Popen([sys.executable, "-c", CHILD, str(path), where, str(stop_at)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
            watchdog = threading.Timer(60, child.kill)  # nothing waits forever on the child
            watchdog.start()
            try:
                for _ in range(more):
                    committed.add(int(_line(child)))
                if where != "anywhere":
                    assert _line(child) == "stopped"
                    if where == "commit":
                        assert journal.exists() and not _hot(path)
                child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
                assert child.stdout is not None
                committed.update(int(line) for line in child.stdout.read().split())
            finally:
                watchdog.cancel()
        assert child.wait(timeout=60) != 0
        was_hot = journal.exists() and _hot(path)
        stored = {row.start - 1 for row in SqliteStore(path).load().reservations}
        # Everything reported committed is there; at most the call in flight is extra
        # (killed after its COMMIT, before it printed), and only when killed anywhere.
        assert committed <= stored
        assert stored - committed <= ({len(committed)} if where == "anywhere" else set())
        assert not (journal.exists() and _hot(path))  # a hot one was rolled back
        if was_hot:
            assert not journal.exists()
        committed = stored
    assert journal.exists()  # the last writer died inside a transaction (before COMMIT)
    store = SqliteStore(path)
    store.add_reservation(UDP, 60000, 1, active=False)
    assert os.listdir(tmp_path) == ["m.portpool"]  # the next writer's commit removed it
    assert {row.start - 1 for row in store.load().reservations} == committed | {59999}


BAD_ADD_ROWS: list[tuple[str, dict[str, object], str]] = [
    ("reservations a row", {"reservations": _res(TCP, 1, 1)},
     "reservations must be a sequence of StoredReservation, not StoredReservation"),
    ("reservations text", {"reservations": "rows"},
     "reservations must be a sequence of StoredReservation, not str"),
    ("an exclusion among reservations", {"reservations": [_exc(TCP, 1, 1)]},
     "reservations must hold StoredReservation rows, not StoredExclusion"),
    ("a tuple among exclusions", {"exclusions": [(TCP, 1, 1, "x")]},
     "exclusions must hold StoredExclusion rows, not tuple"),
    ("ranges a list", {"ranges": []}, "ranges must be a mapping, not list"),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in BAD_ADD_ROWS],
                         ids=[name for name, _, _ in BAD_ADD_ROWS])
def test_add_rows_with_bad_arguments_raises_type_errors_and_writes_nothing(
        store: Store, change: dict[str, object], message: str) -> None:
    """add_rows checks every argument before its transaction (one check for every caller)."""
    before = store.load()
    arguments: dict[str, object] = {"ranges": {}, "reservations": [_res(TCP, 1000, 1)],
                                    "exclusions": [_exc(UDP, 2000, 1)]}
    with pytest.raises(TypeError, match=re.escape(message)):
        store.add_rows(**{**arguments, **change})  # type: ignore[arg-type]  # wrong on purpose
    assert store.load() == before
