"""Errors, value types and the exact free-run enumeration."""

from __future__ import annotations

import errno
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portpool import EmulatedHost, Family, PortPoolError, PortRange, Reservation, WinError, winerror
from portpool.testing.strategies import dynamic_ranges, emulated_hosts, port_ranges


def test_error_carries_winerror_name_errno_and_message() -> None:
    err = winerror(WinError.WSAEACCES, "port 5")
    assert isinstance(err, OSError) and isinstance(err, PortPoolError)
    assert err.winerror == 10013 and err.code is WinError.WSAEACCES and err.name == "WSAEACCES"
    assert err.errno == errno.EACCES
    assert str(err) == ("[WinError 10013] WSAEACCES: An attempt was made to access a socket in a"
                        " way forbidden by its access permissions. (port 5)")
    again = pickle.loads(pickle.dumps(err))
    assert (again.winerror, again.detail, str(again)) == (10013, "port 5", str(err))


def test_unknown_codes_still_make_an_error() -> None:
    err = PortPoolError(4242)
    assert err.winerror == 4242 and err.code is None and err.name == "WINERROR_4242"


@pytest.mark.parametrize("code", list(WinError))
def test_every_code_has_a_message_and_an_errno(code: WinError) -> None:
    err = winerror(code)
    assert err.strerror == code.message and isinstance(err.errno, int)


def test_port_range_validation_and_repr() -> None:
    assert repr(PortRange(49152, 16384)) == "PortRange(49152-65535)"
    assert 5 in PortRange(5, 1) and 6 not in PortRange(5, 1) and "5" not in PortRange(5, 1)
    for start, count in ((0, 1), (1, 0), (65535, 2), (70000, 1)):
        with pytest.raises(ValueError, match="port"):
            PortRange(start, count)
    with pytest.raises(TypeError):
        PortRange("1", 1)  # type: ignore[arg-type]  # wrong on purpose


@given(st.lists(port_ranges(within=PortRange(100, 60), max_count=6), max_size=8),
       st.lists(st.integers(90, 170), max_size=20), st.integers(1, 5), st.booleans())
def test_free_segments_are_exact(blocks: list[PortRange], binds: list[int], minimum: int,
                                 nearly_full: bool) -> None:
    """The exact enumeration behind the bind(0) and wildcard fallbacks, against brute
    force, from the block index and from the exact free set alike."""
    from portpool._model._space import Block, BlockKind, PortSpace

    dynamic = PortRange(100, 60)  # a room-level test: the space itself sets no limits
    space = PortSpace({Family.INET: dynamic, Family.INET6: PortRange(150, 40)})
    if nearly_full:
        space._crowd(Family.INET, space.ranges[Family.INET])  # what bind(0) does when the range fills
    for block in blocks:
        if space.overlapping(block) is None:
            space.add_block(Block(BlockKind.RUNTIME, block))
    for handle, port in enumerate(binds):
        if port not in space.bound:
            space.bind(port, handle)
    taken = set(space.reserved) | set(space.bound)
    free = [p for p in range(100, 160) if p not in taken]
    runs: list[tuple[int, int]] = []
    for p in free:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    assert space.segments(Family.INET, minimum) == [r for r in runs if r[1] - r[0] + 1 >= minimum]
    assert space.free_ports(Family.INET) == len(free)
    assert space.free_ports(Family.INET6) == len([p for p in range(150, 190) if p not in taken])
    for held in list(space.blocks.values()):
        space.remove_block(held)
    for port in list(space.bound):
        space.unbind(port, space.bound[port])
    assert space.free_ports(Family.INET) == 60 and space.free_ports(Family.INET6) == 40
    if nearly_full:
        free_set = space.ranges[Family.INET].free_set
        assert free_set is not None  # kept once nearly full
        assert list(free_set) == list(range(100, 160))


@given(dynamic_ranges(), emulated_hosts())
def test_strategies_make_valid_values(dynamic: PortRange, host: EmulatedHost) -> None:
    assert dynamic.count >= 255 and dynamic.start >= 1024
    pool = host.process()
    sock = pool.socket()
    sock.bind(("", 0))
    assert sock.protocol is not None  # a stream socket has ports
    assert sock.getsockname()[1] in host.dynamic_range(sock.protocol)


@given(st.from_type(PortRange), st.from_type(Reservation))
def test_hypothesis_knows_portpool_types(block: PortRange, reservation: Reservation) -> None:
    # Registered through portpool's "hypothesis" entry point.
    assert 1 <= block.start <= block.last <= 65535
    assert reservation.token > 0 and reservation.range.last <= 65535
