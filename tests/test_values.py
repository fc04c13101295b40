"""Errors, value types and the free-run index."""

from __future__ import annotations

import errno
import itertools
import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portpool import PortPoolError, PortRange, WinError, winerror
from portpool._model._runs import FreeRuns
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


@given(st.lists(st.tuples(st.booleans(), port_ranges(within=PortRange(1, 200), max_count=30)),
                max_size=40), st.integers(1, 12), st.integers(0, 10**6))
def test_free_runs_behave_like_a_set(ops: list[tuple[bool, PortRange]], want: int, seed: int) -> None:
    runs, model = FreeRuns(), set()
    for add, block in ops:
        ports = set(range(block.start, block.last + 1))
        if add:
            for lo, hi in _runs_of(sorted(ports - model)):
                runs.add(lo, hi)
            model |= ports
        else:
            runs.remove(block.start, block.last)
            model -= ports
        assert len(runs) == len(model)
        assert {p for lo, hi in runs.runs() for p in range(lo, hi + 1)} == model
        stored = runs.runs()
        assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(stored)), "not maximal"
    first = runs.pick(random.Random(seed), want)
    fits = any(all(p in model for p in range(s, s + want)) for s in model)
    assert (first is not None) == fits
    if first is not None:
        assert all(p in model for p in range(first, first + want))
        assert all((p in runs) for p in range(first, first + want))


def _runs_of(ports: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in ports:
        if out and out[-1][1] == p - 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


@given(dynamic_ranges(), emulated_hosts())
def test_strategies_make_valid_values(dynamic: PortRange, host) -> None:
    assert dynamic.count >= 255 and dynamic.start >= 1024
    pool = host.process()
    sock = pool.socket()
    sock.bind(("", 0))
    assert sock.getsockname()[1] in host.dynamic_range(sock.protocol)
