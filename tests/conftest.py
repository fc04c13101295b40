"""Shared helpers.  The fixtures emulated_host, port_pool and admin_port_pool come from
portpool's own pytest plugin (portpool/pytest_plugin.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portpool import EmulatedHost, PortPool, PortPoolError, WinError


class Refusals:
    """``refused(code, call)``: the call fails with ``code`` and changes nothing.

    The rule id in the message is checked on the emulated backend; through the ctypes
    backend a Python value C cannot carry fails by a call-shape rule (B1, B3, B7) with
    the same code, so there only the code is compared.
    """

    def __init__(self, host: EmulatedHost, backend: str = "emulated") -> None:
        self.host = host
        self.backend = backend

    def __call__(self, code: WinError, call: Callable[[], Any], rule: str | None = None) -> PortPoolError:
        before = self.host.snapshot()
        with pytest.raises(PortPoolError) as info:
            call()
        assert info.value.winerror == int(code), str(info.value)
        assert info.value.name == code.name
        if rule is not None and self.backend == "emulated":
            assert f"[rule {rule}]" in str(info.value)
        assert self.host.snapshot() == before, "a refused call changed the machine"
        return info.value


BACKENDS = ["emulated", "ctypes"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every interface test runs on the emulated backend and on the ctypes backend
    over the emulated DLLs (portpool.backends.windows.WindowsPool(dlls=host.dlls()))."""
    return str(request.param)


@pytest.fixture
def new_process(emulated_host: EmulatedHost, backend: str) -> Iterator[Callable[..., PortPool]]:
    """Start processes on ``emulated_host`` through the backend under test."""
    made: list[PortPool] = []

    def start(admin: bool = False, user: str | None = None) -> PortPool:
        if backend == "emulated":
            pool: PortPool = emulated_host.process(admin=admin, user=user)
        else:
            from portpool.backends.windows import WindowsPool

            pool = WindowsPool(dlls=emulated_host.dlls(admin=admin, user=user))
        made.append(pool)
        return pool

    yield start
    for pool in made:
        pool.close()


@pytest.fixture
def pool(new_process: Callable[..., PortPool]) -> PortPool:
    return new_process()


@pytest.fixture
def admin_pool(new_process: Callable[..., PortPool]) -> PortPool:
    return new_process(admin=True)


@pytest.fixture
def refused(emulated_host: EmulatedHost, backend: str) -> Refusals:
    return Refusals(emulated_host, backend)
