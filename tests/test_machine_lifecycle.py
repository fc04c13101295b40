"""A richer state machine on the emulator alone: many processes, exits and reboots,
checked against the host's own introspection after every step."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from portpool import EmulatedHost, PortPoolError, PortRange, Protocol
from portpool._host import EmulatedProcess


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.host = EmulatedHost(seed=11, dynamic_ports=PortRange(50000, 255))
        self.procs: list[EmulatedProcess] = []
        self.runtime_owner: dict[int, int] = {}  # token -> handle that acquired it
        self.created_persistent: dict[tuple[Protocol, int, int], int] = {}

    @rule(admin=st.booleans())
    def start_process(self, admin: bool) -> None:
        self.procs.append(self.host.process(admin=admin))

    @precondition(lambda self: self.procs)
    @rule(i=st.integers(0, 50), udp=st.booleans(), start=st.sampled_from([0, 50005, 3000]),
          count=st.integers(1, 6), bind=st.booleans())
    def socket_work(self, i: int, udp: bool, start: int, count: int, bind: bool) -> None:
        proc = self.procs[i % len(self.procs)]
        if not proc.alive:
            return
        s = proc.socket(type=2 if udp else 1)
        before = self.host.snapshot()
        try:
            res = s.acquire_port_reservation(start, count)
        except PortPoolError:
            assert self.host.snapshot() == before
            return
        self.runtime_owner[res.token] = s.fileno()
        if bind:
            s.associate_port_reservation(res.token)
            s.bind(("", 0))
            assert s.getsockname()[1] in res.range

    @precondition(lambda self: self.procs)
    @rule(i=st.integers(0, 50))
    def exit_process(self, i: int) -> None:
        self.procs[i % len(self.procs)].exit()

    @rule()
    def reboot(self) -> None:
        self.host.reboot()
        self.procs = []

    @rule(udp=st.booleans(), start=st.integers(3000, 3010), count=st.integers(1, 3))
    def persistent(self, udp: bool, start: int, count: int) -> None:
        admin = self.host.process(admin=True)
        protocol = Protocol.UDP if udp else Protocol.TCP
        try:
            admin.create_persistent_reservation(protocol, start, count)
            self.created_persistent[(protocol, start, count)] = 1
        except PortPoolError:
            pass
        admin.exit()

    @invariant()
    def reservations_match_live_owners(self) -> None:
        machine = self.host.machine
        for protocol in Protocol:
            ranges = [r.range for r in self.host.reservations(protocol)]
            for a, b in itertools.pairwise(ranges):
                assert a.last < b.start, "reservations overlap"
            for res in self.host.reservations(protocol):
                if res.persistent:
                    assert (protocol, res.range.start, res.range.count) in self.created_persistent
                else:  # R4: a runtime block exists only while its process lives
                    assert machine.is_alive(machine.reservation_owner(res.token) or -1)
            persisted = {(p, s, c) for (p, s, c) in self.created_persistent if p is protocol}
            assert persisted == {(protocol, r.range.start, r.range.count)
                                 for r in self.host.reservations(protocol) if r.persistent}
            ports = [b.port for b in self.host.bindings(protocol)]
            assert len(ports) == len(set(ports))
            for binding in self.host.bindings(protocol):
                assert machine.is_alive(binding.pid)
            # the free count is the dynamic range minus what is bound or reserved in it
            dynamic = self.host.dynamic_range(protocol)
            used = {p for r in self.host.reservations(protocol) for p in
                    range(r.range.start, r.range.last + 1) if p in dynamic}
            used |= {p for p in ports if p in dynamic}
            assert machine.free_ports(protocol) == dynamic.count - len(used)


@pytest.mark.rule("R4", "R13d", "A10", "A19")
def test_lifecycle() -> None:
    Lifecycle.TestCase.settings = settings(max_examples=100, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
    Lifecycle.TestCase().runTest()
