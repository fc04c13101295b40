"""Where wildcard ports land (rule A4): Windows' counter, on both backends, and the
``random`` alternative; PortSpace.allocate_port and allocate_block directly."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from portpool import (
    AF_INET,
    AF_INET6,
    SOCK_DGRAM,
    EmulatedHost,
    PortPool,
    PortPoolError,
    PortRange,
    Protocol,
    WinError,
)
from portpool._model._space import Block, BlockKind, PortSpace
from portpool._types import Family

rule = pytest.mark.rule
UDP = Protocol.UDP


def _bind0(pool: PortPool, family: int = AF_INET) -> int:
    sock = pool.socket(family, SOCK_DGRAM)
    sock.bind(("0.0.0.0" if family == AF_INET else "::", 0))
    port: int = sock.getsockname()[1]
    return port


@rule("A4", "W1", "C17")
def test_wildcard_ports_count_up_across_processes_and_families(
        new_process: Callable[..., PortPool]) -> None:
    one, two = new_process(), new_process()
    ports = [_bind0(one), _bind0(two), _bind0(one, AF_INET6), _bind0(two)]
    first = ports[0]
    assert ports == [first, first + 1, first + 2, first + 3], ports


@rule("A4")
def test_a_freed_port_comes_back_only_when_the_counter_comes_round(
        new_process: Callable[..., PortPool]) -> None:
    pool = new_process()
    sock = pool.socket(AF_INET, SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    freed = sock.getsockname()[1]
    sock.close()
    assert _bind0(pool) == freed + 1  # the counter moved on: the freed port waits


@rule("A4", "X4")
def test_the_counter_skips_a_row_and_held_ports() -> None:
    host = EmulatedHost(seed=3)
    pool = host.process()
    first = _bind0(pool)
    host.exclude(UDP, first + 1, 5, owner="WinNAT")
    held = pool.socket(AF_INET, SOCK_DGRAM)
    held.bind(("0.0.0.0", first + 6))
    assert _bind0(pool) == first + 7


@rule("A4", "R2", "R3")
def test_wildcard_blocks_follow_the_counter_too() -> None:
    host = EmulatedHost(seed=5)
    pool = host.process()
    first = _bind0(pool)
    sock = pool.socket(AF_INET, SOCK_DGRAM)
    block = sock.acquire_port_reservation(0, 10)
    assert block.range == PortRange(first + 1, 10)
    assert _bind0(pool) == first + 11


@rule("A4", "A13")
def test_blocks_in_the_smallest_range_run_out_with_wsaenobufs() -> None:
    # Where the first 100-port block lands depends on the counter; whatever it is, blocks
    # are handed out until no run of 100 is left, and then the refusal is WSAENOBUFS.
    for seed in range(10):
        host = EmulatedHost(seed=seed, dynamic_ports=PortRange(60000, 255))
        pool = host.process()
        placed = 0
        while True:
            sock = pool.socket(AF_INET, SOCK_DGRAM)
            try:
                sock.acquire_port_reservation(0, 100)
            except PortPoolError as exc:
                assert exc.winerror == WinError.WSAENOBUFS
                break
            placed += 1
        assert 1 <= placed <= 2


@rule("A4")
def test_the_random_alternative_draws() -> None:
    host = EmulatedHost(seed=11, variants={"A4": "random"})
    pool = host.process()
    ports = [_bind0(pool) for _ in range(30)]
    steps = [b - a for a, b in itertools.pairwise(ports)]
    assert sum(1 for step in steps if step < 0) >= 5, ports  # no counting up
    assert len(set(ports)) == 30


@rule("A4", "A13")
def test_allocate_port_fills_a_range_in_order_then_says_none() -> None:
    space = PortSpace({Family.INET: PortRange(1000, 300), Family.INET6: PortRange(1000, 300)})
    rng = random.Random(1)
    space.counter = 1290
    got: list[int] = []
    while (port := space.allocate_port(Family.INET, rng)) is not None:
        space.bind(port, len(got))
        got.append(port)
    assert got == [*range(1290, 1300), *range(1000, 1290)]
    assert space.allocate_port(Family.INET, rng) is None


@rule("A4")
def test_allocate_port_bisects_once_crowded() -> None:
    space = PortSpace({Family.INET: PortRange(1000, 300), Family.INET6: PortRange(1000, 300)})
    rng = random.Random(2)
    for port in range(1000, 1300):
        if port != 1150:
            space.bind(port, port)
    space.counter = 1200
    assert space.allocate_port(Family.INET, rng) == 1150  # wraps round to the one free port
    assert space.ranges[Family.INET].free_set is not None  # found through the sorted set


@rule("A4", "X4")
def test_allocate_block_wraps_and_skips_blocks() -> None:
    space = PortSpace({Family.INET: PortRange(1000, 300), Family.INET6: PortRange(1000, 300)})
    rng = random.Random(3)
    space.add_block(Block(BlockKind.SYSTEM, PortRange(1000, 50), owner="WinNAT"))
    space.counter = 1280
    assert space.allocate_block(Family.INET, 30, rng) == 1050  # 1280-1299 is too short
    assert space.counter == 1080
    assert space.allocate_block(Family.INET, 300, rng) is None
    assert space.counter == 1080  # a refusal moves nothing
