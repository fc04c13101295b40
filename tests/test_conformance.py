"""The shipped conformance machine, run on the emulated backend, and shown to bite."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from portpool import EmulatedHost, PortPool, PortRange, Reservation, Socket
from portpool.testing import run_conformance_test

SETTINGS = settings(max_examples=150, deadline=None, stateful_step_count=40,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.rule("R1", "R2", "R3", "R4", "R5", "R8", "R17", "W1", "W2", "W3", "W5", "A1", "A2",
                  "A6", "A7", "A11", "A22", "R13", "R13b", "R15", "R16", "A15")
@pytest.mark.parametrize("admin", [True, False])
def test_emulated_backend_conforms(admin: bool) -> None:
    run_conformance_test(lambda: EmulatedHost(seed=5).process(admin=admin), admin=admin,
                         dynamic=PortRange(49152, 16384),
                         snapshot=lambda pool: pool.host.snapshot(),  # type: ignore[attr-defined]
                         settings=SETTINGS)


@pytest.mark.rule("A13")
def test_emulated_backend_conforms_in_a_tiny_dynamic_range() -> None:
    tiny = PortRange(50000, 10)
    run_conformance_test(lambda: EmulatedHost(seed=9, dynamic_ports=tiny).process(),
                         dynamic=tiny, snapshot=lambda pool: pool.host.snapshot(),  # type: ignore[attr-defined]
                         settings=SETTINGS)


class _FaultySocket(Socket):
    """Delegates to a real socket, with one planted fault."""

    def __init__(self, inner: Socket, fault: str) -> None:
        self.inner, self.fault = inner, fault

    family = property(lambda self: self.inner.family)
    type = property(lambda self: self.inner.type)
    protocol = property(lambda self: self.inner.protocol)

    def acquire_port_reservation(self, start: int, count: int) -> Reservation:
        res = self.inner.acquire_port_reservation(start, count)
        if self.fault == "shifted-block" and start:  # reports a block one port off
            return Reservation(res.token, res.protocol, PortRange(res.range.start + 1, count),
                               res.persistent)
        return res

    def associate_port_reservation(self, token: int) -> None:
        self.inner.associate_port_reservation(token)

    def release_port_reservation(self, token: int) -> None:
        self.inner.release_port_reservation(token)

    def bind(self, address: Any) -> None:
        self.inner.bind(address)

    def getsockname(self) -> Any:
        return self.inner.getsockname()

    def close(self) -> None:
        if self.fault != "leaky-close":  # closing keeps the port and the blocks
            self.inner.close()

    def fileno(self) -> int:
        return self.inner.fileno()


class _Wrapped(PortPool):
    """A backend with one planted fault, to show the conformance machine catches it."""

    def __init__(self, inner: PortPool, fault: str) -> None:
        self.inner, self.fault = inner, fault

    def socket(self, *args: Any, **kwargs: Any) -> Socket:
        return _FaultySocket(self.inner.socket(*args, **kwargs), self.fault)

    def create_persistent_reservation(self, *a: Any) -> int:
        return self.inner.create_persistent_reservation(*a)

    def lookup_persistent_reservation(self, *a: Any) -> int:
        return self.inner.lookup_persistent_reservation(*a)

    def delete_persistent_reservation(self, *a: Any) -> None:
        self.inner.delete_persistent_reservation(*a)


@pytest.mark.parametrize("fault", ["leaky-close", "shifted-block"])
def test_conformance_catches_a_broken_backend(fault: str) -> None:
    with pytest.raises(AssertionError):
        run_conformance_test(lambda: _Wrapped(EmulatedHost().process(), fault),
                             settings=settings(max_examples=200, deadline=None, database=None,
                                               suppress_health_check=list(HealthCheck)))


@pytest.mark.rule("B4", "B5", "B12")
@pytest.mark.parametrize("admin", [True, False])
def test_ctypes_backend_over_emulated_dlls_conforms(admin: bool) -> None:
    from portpool.backends.windows import WindowsPool

    run_conformance_test(lambda: WindowsPool(dlls=EmulatedHost(seed=5).dlls(admin=admin)),
                         admin=admin, dynamic=PortRange(49152, 16384),
                         snapshot=lambda pool: pool.dlls.host.snapshot(),  # type: ignore[attr-defined]
                         settings=SETTINGS)
