"""The model's fast paths give the answers of the plain paths they stand for: the sorted
maps that spill into a SortedList, the store index's batch add, port spaces that share a
template's blocks until one changes, and the addresses bind remembers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portpool import EmulatedHost, Family, PortPoolError, PortRange, Protocol, WinError
from portpool._model import _sorted
from portpool._model._sorted import SortedIntMap
from portpool._model._space import Block, BlockKind, PortSpace
from portpool._model._store import StoreConflict, StoredExclusion, _Index

_OPS = st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=120)


@given(_OPS, st.integers(0, 60))
def test_a_sorted_map_past_its_spill_size_answers_as_a_dict_does(
        ops: list[tuple[bool, int]], probe: int) -> None:
    spill = _sorted._SPILL
    # setattr: _SPILL is Final to the library; this test alone makes it small, so that the
    # SortedList side is exercised
    setattr(_sorted, "_SPILL", 4)  # noqa: B010
    try:
        fast: SortedIntMap[str] = SortedIntMap()
        model: dict[int, str] = {}
        for put, key in ops:
            if put:
                fast[key] = f"v{key}"
                model[key] = f"v{key}"
            elif key in model:
                del fast[key]
                del model[key]
            keys = sorted(model)
            assert fast.items() == [(k, model[k]) for k in keys]
            assert len(fast) == len(model)
        below = [k for k in sorted(model) if k <= probe]
        assert fast.floor(probe) == (model[below[-1]] if below else None)
        start = below[-1] if below else None
        expected = [model[k] for k in sorted(model) if start is None or k >= start]
        assert list(fast.values_from(probe)) == expected
        assert fast.filtered(lambda v: v.endswith("0")).items() == [
            (k, model[k]) for k in sorted(model) if model[k].endswith("0")]
        copied = fast.copy()
        copied[61] = "new"
        assert 61 not in fast and copied.items()[-1] == (61, "new")
        fast.update([(62, "a"), (0, "b")])
        assert fast.items() == sorted({**model, 62: "a", 0: "b"}.items())
    finally:
        setattr(_sorted, "_SPILL", spill)  # noqa: B010 - as above


_ROWS = st.lists(st.builds(StoredExclusion, st.sampled_from(list(Protocol)), st.integers(1, 200),
                           st.integers(1, 30), st.just("WinNAT")), max_size=12)


@given(_ROWS, _ROWS)
def test_the_index_adds_a_batch_as_it_adds_one_row_at_a_time(
        stored: list[StoredExclusion], batch: list[StoredExclusion]) -> None:
    def index_of(rows: list[StoredExclusion]) -> _Index | None:
        index = _Index()
        try:
            for row in rows:
                index.add(row)
        except StoreConflict:
            return None
        return index

    base = index_of(stored)
    if base is None:
        return
    one_by_one, at_once = base.copy(), base.copy()
    expected: tuple[object, object] | None = None
    try:
        for row in batch:
            one_by_one.add(row)
    except StoreConflict as exc:
        expected = (exc.row, exc.new)
    if expected is None:
        at_once.add_all(batch)
        assert at_once.all() == one_by_one.all()
    else:
        with pytest.raises(StoreConflict) as caught:
            at_once.add_all(batch)
        assert (caught.value.row, caught.value.new) == expected


def test_a_copied_port_space_and_its_source_change_apart() -> None:
    ranges = {Family.INET: PortRange(1000, 300), Family.INET6: PortRange(1000, 300)}
    source = PortSpace(ranges)
    source.add_block(Block(BlockKind.SYSTEM, PortRange(1100, 10), owner="WinNAT"))
    copy = source.copy()
    copy.add_block(Block(BlockKind.SYSTEM, PortRange(1200, 1), owner="HTTP.sys"))
    assert 1200 in copy.reserved and 1200 not in source.reserved
    assert [b.range.start for b in source.blocks.values()] == [1100]
    block = source.blocks.floor(1100)
    assert block is not None
    source.remove_block(block)
    assert 1105 not in source.reserved and 1105 in copy.reserved
    assert [b.range.start for b in copy.blocks.values()] == [1100, 1200]
    assert source.free_ports(Family.INET) == 300 and copy.free_ports(Family.INET) == 289


def test_two_hosts_of_one_preset_do_not_share_their_blocks() -> None:
    one, two = EmulatedHost.preset("hyperv", seed=3), EmulatedHost.preset("hyperv", seed=3)
    before = two.exclusions(Protocol.TCP)
    with one.process().socket() as s:
        s.acquire_port_reservation(40000, 5)
        assert two.exclusions(Protocol.TCP) == before
        with two.process().socket() as other:
            assert other.acquire_port_reservation(40000, 5).range == PortRange(40000, 5)


@pytest.mark.rule("W3")
@pytest.mark.rule("L1")
def test_a_remembered_address_still_meets_every_bind_check() -> None:
    app = EmulatedHost(seed=1).process()
    first, second = app.socket(), app.socket()
    first.bind(("127.0.0.1", 0))
    second.bind(("127.0.0.1", 0))  # the address is remembered now
    with pytest.raises(PortPoolError) as again:
        second.bind(("127.0.0.1", 0))
    assert again.value.code is WinError.WSAEINVAL  # W3, on the remembered path too
    for _ in range(2):  # a refused address is never remembered
        with pytest.raises(PortPoolError) as foreign:
            app.socket().bind(("10.9.9.9", 0))
        assert foreign.value.code is WinError.WSAEADDRNOTAVAIL
