"""Interface tests that need no emulator introspection, over every backend available here.

On Linux: the emulated backend and the ctypes backend over the emulated DLLs.  On
Windows the real DLLs join (``WindowsPool()``), so the same assertions check the
emulator's rules against the machine, and the conformance machine runs on it too.
Specific ports come from a scratch block, ``PORTPOOL_SCRATCH`` (default 40000), which
must be outside the dynamic range and unused on the machine.

This module has not yet run on real Windows (no Windows machine here).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator

import pytest

from portpool import SOCK_DGRAM, EmulatedHost, PortPool, PortPoolError, PortRange, WinError, open_pool
from portpool._model._rules import RULES
from portpool.backends.windows import WindowsPool
from portpool.testing import run_conformance_test

SCRATCH = int(os.environ.get("PORTPOOL_SCRATCH", "40000"))
BACKENDS = ["emulated", "ctypes"] + (["windows"] if sys.platform == "win32" else [])


def code(rule_id: str) -> int:
    error = RULES[rule_id].error
    assert error is not None
    return int(error)


@pytest.fixture(params=BACKENDS)
def any_pool(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    if request.param == "emulated":
        pool: PortPool = EmulatedHost(seed=8).process()
    elif request.param == "ctypes":
        pool = WindowsPool(dlls=EmulatedHost(seed=8).dlls())
    else:
        pool = open_pool("windows")
    with pool:
        yield pool


def fails(call: Callable[[], object], rule_id: str) -> None:
    with pytest.raises(PortPoolError) as info:
        call()
    assert info.value.winerror == code(rule_id), f"rule {rule_id}: {info.value}"


@pytest.mark.rule("R1", "R5", "R6")
def test_acquire_associate_bind(any_pool: PortPool) -> None:
    with any_pool.socket() as owner, any_pool.socket() as user:
        res = owner.acquire_port_reservation(SCRATCH, 4)
        assert res.range == PortRange(SCRATCH, 4) and not res.persistent and res.token
        user.associate_port_reservation(res.token)
        user.bind(("127.0.0.1", 0))
        assert user.getsockname()[1] in res.range


@pytest.mark.rule("R17", "W2", "W3", "W5")
def test_bind_refusals(any_pool: PortPool) -> None:
    with any_pool.socket() as owner, any_pool.socket() as plain, any_pool.socket() as other:
        owner.acquire_port_reservation(SCRATCH, 2)
        fails(lambda: plain.bind(("127.0.0.1", SCRATCH + 1)), "R17")
        fails(plain.getsockname, "W5")
        plain.bind(("127.0.0.1", SCRATCH + 5))
        fails(lambda: plain.bind(("127.0.0.1", 0)), "W3")
        fails(lambda: other.bind(("127.0.0.1", SCRATCH + 5)), "W2")


@pytest.mark.rule("R4", "R8")
def test_release_and_close_free_the_block(any_pool: PortPool) -> None:
    owner = any_pool.socket()
    res = owner.acquire_port_reservation(SCRATCH, 2)
    owner.release_port_reservation(res.token)
    again = owner.acquire_port_reservation(SCRATCH, 2)
    owner.close()
    with any_pool.socket() as s:
        assert s.acquire_port_reservation(SCRATCH, 2).range == again.range


@pytest.mark.rule("A2", "A3", "A6", "A11", "R9b")
def test_assumed_codes(any_pool: PortPool) -> None:
    with any_pool.socket() as tcp, any_pool.socket(type=SOCK_DGRAM) as udp:
        tcp.acquire_port_reservation(SCRATCH, 3)
        fails(lambda: udp.acquire_port_reservation(SCRATCH, 0), "A3")
        udp_res = udp.acquire_port_reservation(SCRATCH, 3)  # the other pool: fine
        with any_pool.socket() as second:
            fails(lambda: second.acquire_port_reservation(SCRATCH + 2, 2), "A2")
            fails(lambda: second.associate_port_reservation(udp_res.token), "A6")
            fails(lambda: second.associate_port_reservation(0x5EED5EED), "A11")
    fails(lambda: tcp.bind(("127.0.0.1", 0)), "R9b")


def _is_admin() -> bool:
    return sys.platform == "win32" and bool(ctypes.windll.shell32.IsUserAnAdmin())


@pytest.mark.skipif(sys.platform != "win32", reason="the real DLLs exist only on Windows")
def test_real_windows_conforms() -> None:
    run_conformance_test(lambda: open_pool("windows"), scratch=PortRange(SCRATCH, 24),
                         admin=_is_admin())


def test_errors_name_their_codes(any_pool: PortPool) -> None:
    with pytest.raises(PortPoolError) as info:
        any_pool.socket(99)
    assert info.value.code is WinError.WSAEAFNOSUPPORT
    assert str(info.value).startswith("[WinError 10047] WSAEAFNOSUPPORT: ")
