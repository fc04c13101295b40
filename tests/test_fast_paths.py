"""The model's fast paths give the answers of the plain paths they stand for: the sorted
maps that spill into a SortedList, the store index's batch add, port spaces that share a
template's blocks until one changes, IP versions that share a range entry, the addresses
bind remembers, and the interface calls that reach the model before Python's checks."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from portpool import EmulatedHost, Family, PortPoolError, PortRange, Protocol, WinError
from portpool._model import _sorted
from portpool._model._sorted import SortedIntMap
from portpool._model._space import Block, BlockKind, PortSpace
from portpool._model._store import StoreConflict, StoredExclusion
from portpool._model._store._memory import _Index

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
    copy.bind(1250, 1)  # the IP versions share the copy's entry, not the source's
    assert [copy.free_ports(f) for f in ranges] == [288, 288]
    assert [source.free_ports(f) for f in ranges] == [300, 300]


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


_SPACE_OPS = st.lists(st.tuples(st.sampled_from(["bind", "unbind", "block", "unblock", "port", "run"]),
                                st.sampled_from([Family.INET, Family.INET6]), st.booleans(),
                                st.integers(95, 130), st.integers(1, 4)), max_size=60)


@given(_SPACE_OPS, st.integers(0, 24), st.integers(0, 2**16))
@example([("port", Family.INET, True, 0, 1), ("port", Family.INET6, False, 0, 1),
          ("run", Family.INET6, False, 0, 1), ("port", Family.INET6, True, 0, 1)], 20, 1)
def test_ip_versions_sharing_a_range_entry_answer_as_with_an_entry_each(
        ops: list[tuple[str, Family, bool, int, int]], fill: int, seed: int) -> None:
    """Two IP versions with the same dynamic ports share one free-port entry (a bind counts
    once); each still draws as if it had its own: same ports, same counts, same draws."""
    from portpool._model._space import _distinct

    ranges = {Family.INET: PortRange(100, 24), Family.INET6: PortRange(100, 24)}
    shared, apart = PortSpace(ranges), PortSpace(ranges)
    assert len(shared._distinct) == 1
    apart.ranges[Family.INET6] = apart.ranges[Family.INET].copy()  # the layout of old
    apart._distinct = _distinct(apart.ranges)
    rngs = [random.Random(seed), random.Random(seed)]
    for handle in range(fill):  # a crowded range: allocations switch to the free set
        shared.bind(100 + handle, handle)
        apart.bind(100 + handle, handle)
    shared.counter = apart.counter = 100  # the first allocation walks the filled ports
    handle = fill
    for verb, family, sequential, port, count in ops:
        answers = []
        for space, rng in zip((shared, apart), rngs, strict=True):
            if verb == "bind" and port not in space.reserved:
                space.bind(port, handle)  # a second holder shares the port
            elif verb == "unbind" and space.holders(port):
                space.unbind(port, space.holders(port)[-1])
            elif verb == "block" and space.overlapping(PortRange(port, count)) is None:
                space.add_block(Block(BlockKind.RUNTIME, PortRange(port, count)))
            elif verb == "unblock" and space.block_at(port) is not None:
                block = space.block_at(port)
                assert block is not None
                space.remove_block(block)
            elif verb == "port":
                answers.append(picked := space.allocate_port(family, rng, sequential=sequential))
                if picked is not None:
                    space.bind(picked, handle)
            elif verb == "run":
                answers.append(space.allocate_block(family, count, rng, sequential=sequential))
        handle += 1
        assert answers[:1] == answers[1:]
        for fam in ranges:
            taken = set(shared.bound) | shared.reserved
            assert shared.free_ports(fam) == apart.free_ports(fam) == sum(
                1 for p in range(100, 124) if p not in taken)
        assert shared.crowded == apart.crowded and shared.counter == apart.counter
    assert rngs[0].getstate() == rngs[1].getstate()


@pytest.mark.rule("A19")
@pytest.mark.rule("R9b")
def test_python_judges_arguments_before_windows_on_the_hot_paths_too() -> None:
    """socket() with plain ints and bind() with an IPv4 pair reach the model before
    Python's checks; a refusal still comes after Python's error, as in Python's socket."""
    app = EmulatedHost(seed=1).process()
    sock = app.socket()
    sock.close()
    with pytest.raises(OverflowError):
        sock.bind(("127.0.0.1", 70000))
    with pytest.raises(TypeError):
        sock.bind(("127.0.0.1", True))
    with pytest.raises(TypeError):
        sock.bind((b"127.0.0.1", 0))
    with pytest.raises(PortPoolError) as closed:
        sock.bind(("127.0.0.1", 0))
    assert closed.value.code is WinError.WSAENOTSOCK
    app.exit()
    with pytest.raises(OverflowError):
        app.socket(2, 1, 2**40)
    with pytest.raises(PortPoolError) as gone:
        app.socket(2, 1, 0)
    assert gone.value.winerror != 0 and "A19" in str(gone.value)


def test_a_machines_generator_is_made_on_first_use_and_then_kept() -> None:
    from portpool._model._machine import Machine
    from portpool._model._state import _SetOnFirstUse

    assert isinstance(Machine._rng, _SetOnFirstUse)  # read on the class: the descriptor
    machine = EmulatedHost(seed=7).machine
    assert "_rng" not in vars(machine)  # not seeded by making the machine
    generator = machine._rng
    assert machine._rng is generator and vars(machine)["_rng"] is generator
    assert generator.random() == random.Random(machine._seed).random()
