"""The shipped conformance machine, run on both backends with every hook and every
variant it can observe, and shown to bite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from portpool import EmulatedHost, PortPool, PortRange, Protocol, Reservation, Socket
from portpool._model._rules import ALTERNATIVES, DEFAULT_VARIANTS
from portpool.backends.windows import WindowsPool
from portpool.testing import run_conformance_test

# Deterministic (derandomize, no database) and modest: the whole file runs in ~20 s.
SETTINGS = settings(max_examples=120, deadline=None, stateful_step_count=50, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow])
VARIANT_SETTINGS = settings(SETTINGS, max_examples=40, stateful_step_count=40)
DYNAMIC = PortRange(49152, 16384)
BACKENDS = ["emulated", "ctypes"]
# The rules with alternatives the machine observes through the interface and netsh.
# Y2 (the lowest dynamic start) and B2 (a short IOCTL buffer) are not calls the
# interface makes: tests/test_exclusions.py and tests/test_robust_backends.py cover them.
# C14 needs a dual-stack SO_EXCLUSIVEADDRUSE wildcard bind over an IPv4 loopback bind, which
# the machine can make but reaches too rarely to require: tests/test_conflicts.py covers it.
# A4 (sequential or random wildcard ports) changes which port, never a code, and the
# machine compares codes: tests/test_allocation.py covers it.  L4 (a bind to the broadcast
# address) is one the machine makes too rarely to require: tests/test_conflicts.py covers it.
OBSERVED = ("W11", "X7", "X13", "X14", "X15", "O5", "K2")
ALTERNATIVE_CASES = [(rule, alt.name) for rule in OBSERVED for alt in ALTERNATIVES[rule]]


class _Rig:
    """A fresh emulated machine per generated run, a backend over it, and the hooks."""

    def __init__(self, backend: str, *, admin: bool, variants: Mapping[str, str] | None = None,
                 dynamic: PortRange = DYNAMIC, crowd: int = 0) -> None:
        self.backend, self.admin, self.variants = backend, admin, variants
        self.dynamic, self.crowd = dynamic, crowd
        self.host = EmulatedHost()

    def _open(self, *, admin: bool) -> PortPool:
        if self.backend == "emulated":
            return self.host.process(admin=admin)
        return WindowsPool(dlls=self.host.dlls(admin=admin))

    def pool(self) -> PortPool:
        self.host = EmulatedHost(seed=5, variants=self.variants, dynamic_ports=self.dynamic)
        for protocol in Protocol:  # another component fills most of the range
            if self.crowd:
                self.host.exclude(protocol, self.dynamic.start, self.crowd, owner="HNS")
        return self._open(admin=self.admin)

    # The hooks act on self.host, which pool() replaces at every run.
    def exclude(self, protocol: Protocol, start: int, count: int) -> object:
        return self.host.exclude(protocol, start, count)

    def release_exclusions(self) -> object:
        return self.host.release_exclusions("WinNAT")

    def other_process(self) -> PortPool:
        return self._open(admin=False)

    def netsh(self, words: str) -> str:
        return self.host.netsh(words, admin=self.admin)

    def run(self, *, told: Mapping[str, str] | None = None,
            run_settings: settings = SETTINGS) -> frozenset[str]:
        """Run the machine, telling it ``told`` (default: the host's own variants)."""
        return run_conformance_test(
            self.pool, admin=self.admin, dynamic=self.dynamic, settings=run_settings,
            variants=self.variants if told is None else told,
            snapshot=lambda _pool: self.host.snapshot(), exclude=self.exclude,
            release_exclusions=self.release_exclusions, other_process=self.other_process,
            netsh=self.netsh)


@pytest.mark.rule("R1", "R2", "R3", "R4", "R5", "R8", "R17", "W1", "C1", "C2", "W3", "W5", "A1", "A2",
                  "K1", "K3", "K4", "O8", "O4", "O5", "O6", "C13", "C15", "C16", "C17", "C18",
                  "L1",
                  "A5", "A6", "A7", "A11", "A12", "A22", "A23", "R13", "R13b", "R15", "R16",
                  "A15", "X1", "X2", "X4", "X5", "X6", "X10", "X12", "N1", "N2", "N4", "W10",
                  "R9a", "B4", "B5", "B12")
@pytest.mark.parametrize("admin", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_conforms_with_exclusions_and_another_process(backend: str, admin: bool) -> None:
    observed = _Rig(backend, admin=admin).run()
    expected = {"X1", "X2", "X4", "X5", "X10", "X12", "X14: refused", "R17", "A2", "A5", "A12",
                "W5", "N4", "K1", "O4", "O8", "O6", "L1"}
    expected |= ({"X6", "X15: succeeds", "A15", "R13b", "N1", "X7: access-denied",
                  "W11: accepted"} if admin else {"R13", "N2", "W10"})
    assert expected <= observed, f"never exercised: {sorted(expected - observed)}"
    assert observed & {"C1", "C2"}, "no bind met a bound port (the conflict tables, C1/C2)"


@pytest.mark.rule("A13")
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_conforms_in_a_crowded_dynamic_range(backend: str) -> None:
    # The smallest range Windows allows (Y1), all but 5 ports excluded by a component.
    rig = _Rig(backend, admin=False, dynamic=PortRange(50000, 255), crowd=250)
    assert "A13" in rig.run(run_settings=VARIANT_SETTINGS)


@pytest.mark.rule("W11", "X7", "X13", "X14", "X15", "O5", "K2")
@pytest.mark.parametrize(("rule", "name"), ALTERNATIVE_CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_conforms_under_every_alternative(backend: str, rule: str, name: str) -> None:
    observed = _Rig(backend, admin=True, variants={rule: name}).run(run_settings=VARIANT_SETTINGS)
    assert f"{rule}: {name}" in observed, f"{rule}: {name} was never exercised"


def test_every_rule_with_alternatives_is_observed_or_explained() -> None:
    # A new rule with alternatives must join OBSERVED, or be explained above.  T5 and T6
    # (binds over connections) need listen/accept, which the conformance machine does not
    # make: tests/test_connections.py and the probe's experiments exercise both alternatives.
    assert set(ALTERNATIVES) == {*OBSERVED, "Y2", "B2", "C14", "A4", "L4", "T5", "T6"}


@pytest.mark.parametrize("rule", OBSERVED)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conformance_catches_a_host_following_another_alternative(backend: str, rule: str) -> None:
    # The machine is told the defaults; the host follows the other alternative.  The
    # failure names the rule, through the ctypes backend as through the emulated one.
    other = next(a.name for a in ALTERNATIVES[rule] if a.name != DEFAULT_VARIANTS[rule])
    rig = _Rig(backend, admin=True, variants={rule: other})
    quick = settings(VARIANT_SETTINGS, max_examples=100, phases=[Phase.generate])
    with pytest.raises(AssertionError) as caught:
        rig.run(told=DEFAULT_VARIANTS, run_settings=quick)
    assert f"{rule}: {DEFAULT_VARIANTS[rule]}" in str(caught.value)


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

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self.inner.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        return self.inner.getsockopt(level, option)

    def connect(self, address: Any) -> None:
        self.inner.connect(address)

    def getpeername(self) -> Any:
        return self.inner.getpeername()

    def listen(self, backlog: int = 128) -> None:
        self.inner.listen(backlog)

    def accept(self) -> Any:
        return self.inner.accept()

    def set_cpu_affinity(self, processor: int) -> None:
        self.inner.set_cpu_affinity(processor)

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
                                               derandomize=True, phases=[Phase.generate],
                                               suppress_health_check=list(HealthCheck)))


def test_hooks_are_checked() -> None:
    def pool() -> PortPool:
        return EmulatedHost().process()

    with pytest.raises(ValueError, match="go together"):
        run_conformance_test(pool, exclude=lambda p, s, c: None)
    with pytest.raises(ValueError, match="overlaps the dynamic range"):
        run_conformance_test(pool, scratch=PortRange(50000, 10), dynamic=DYNAMIC)
    with pytest.raises(ValueError, match="no alternative"):
        run_conformance_test(pool, variants={"X15": "sometimes"})
    with pytest.raises(TypeError, match="netsh must be callable"):
        run_conformance_test(pool, netsh="netsh")  # type: ignore[arg-type]  # wrong on purpose
