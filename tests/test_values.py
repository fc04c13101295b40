"""Errors, value types and the exact free-run enumeration."""

from __future__ import annotations

import contextlib
import errno
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portpool import EmulatedHost, PortPoolError, PortRange, Protocol, Reservation, WinError, winerror
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
        PortRange("1", 1)  # type: ignore[arg-type]


@given(st.lists(port_ranges(within=PortRange(100, 60), max_count=6), max_size=8),
       st.lists(st.integers(90, 170), max_size=20), st.integers(1, 5))
def test_free_segments_are_exact(blocks: list[PortRange], binds: list[int], minimum: int) -> None:
    """The exact enumeration behind the bind(0) and wildcard fallbacks, against brute force."""
    host = EmulatedHost(dynamic_ports=PortRange(100, 60))
    app = host.process()
    for block in blocks:
        with contextlib.suppress(PortPoolError):
            app.socket().acquire_port_reservation(block.start, block.count)
    for port in binds:
        with contextlib.suppress(PortPoolError):
            app.socket().bind(("", port))
    pool = host.machine._pools[Protocol.TCP]
    taken = {p for r in host.reservations(Protocol.TCP) for p in range(r.range.start, r.range.last + 1)}
    taken |= {b.port for b in host.bindings(Protocol.TCP)}
    free = [p for p in range(100, 160) if p not in taken]
    runs: list[tuple[int, int]] = []
    for p in free:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    assert pool.segments(minimum) == [r for r in runs if r[1] - r[0] + 1 >= minimum]
    assert host.machine.free_ports(Protocol.TCP) == len(free)


@given(dynamic_ranges(), emulated_hosts())
def test_strategies_make_valid_values(dynamic: PortRange, host) -> None:
    assert dynamic.count >= 255 and dynamic.start >= 1024
    pool = host.process()
    sock = pool.socket()
    sock.bind(("", 0))
    assert sock.getsockname()[1] in host.dynamic_range(sock.protocol)


@given(st.from_type(PortRange), st.from_type(Reservation))
def test_hypothesis_knows_portpool_types(block: PortRange, reservation: Reservation) -> None:
    # Registered through portpool's "hypothesis" entry point.
    assert 1 <= block.start <= block.last <= 65535
    assert reservation.token > 0 and reservation.range.last <= 65535
