"""``host.find_free_block``: a block safe to reserve, computed from the machine's public
queries, checked against a brute-force reading of the same machine."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portpool import EmulatedHost, Family, PortRange, Protocol
from portpool.testing import strategies as pst

TCP, UDP = Protocol.TCP, Protocol.UDP


def _taken(host: EmulatedHost, protocols: tuple[Protocol, ...]) -> bytearray:
    """Per port, 1 if the advisor must avoid it: the slow, obvious reading."""
    taken = bytearray(65536)
    for port in range(1024):
        taken[port] = 1
    for protocol in protocols:
        for family in Family:
            dynamic = host.dynamic_range(protocol, family)
            taken[dynamic.start:dynamic.last + 1] = b"\x01" * dynamic.count
        for row in host.exclusions(protocol):
            taken[row.start:row.end + 1] = b"\x01" * (row.end - row.start + 1)
        for res in host.reservations(protocol):
            taken[res.range.start:res.range.last + 1] = b"\x01" * res.range.count
        for binding in host.bindings(protocol):
            taken[binding.port] = 1
    return taken


def _lowest(taken: bytearray, count: int) -> int | None:
    run = 0
    for port in range(1024, 65536):
        run = 0 if taken[port] else run + 1
        if run == count:
            return port - count + 1
    return None


@pytest.mark.rule("W1", "X4", "R19")
@given(host=pst.emulated_hosts(), count=st.integers(1, 3000),
       protocols=st.sampled_from([(TCP,), (UDP,), (TCP, UDP)]), binds=st.lists(pst.ports(), max_size=5))
@settings(max_examples=40, deadline=None)
def test_the_block_is_the_lowest_free_one(host: EmulatedHost, count: int,
                                          protocols: tuple[Protocol, ...], binds: list[int]) -> None:
    app = host.process()
    for port in binds:
        with contextlib.suppress(OSError):  # a port in a row or bound: the machine decides
            app.socket().bind(("0.0.0.0", port))
    expected = _lowest(_taken(host, protocols), count)
    if expected is None:
        with pytest.raises(ValueError, match="no block of"):
            host.find_free_block(count, protocols)
        return
    assert host.find_free_block(count, protocols) == PortRange(expected, count)


@pytest.mark.rule("R13b", "X6", "X15")
@pytest.mark.parametrize("preset", ["default", "hyperv"])
def test_the_block_can_be_reserved_and_then_bound(preset: str) -> None:
    host = EmulatedHost.preset(preset, seed=2)
    block = host.find_free_block(50)
    admin = host.process(admin=True)
    for protocol in Protocol:
        admin.create_persistent_reservation(protocol, block.start, block.count)  # no sharing violation
    with host.process().socket() as server:
        server.bind(("0.0.0.0", block.start + 7))  # an administered row lets a plain bind in
    assert host.find_free_block(50) == PortRange(block.start + 50, 50)


def test_presets() -> None:
    assert EmulatedHost.preset("default").find_free_block(100) == PortRange(1024, 100)
    vs = EmulatedHost.preset("vs-runner")
    assert vs.find_free_block(1) == PortRange(65535, 1)  # the one port past its range
    with pytest.raises(ValueError, match=r"no block of 2 free TCP/UDP ports .*\(1024-65534\)"):
        vs.find_free_block(2)


def test_one_protocol_ignores_the_others_rows() -> None:
    host = EmulatedHost()
    host.exclude(UDP, 1024, 100, owner="WinNAT")
    assert host.find_free_block(10, TCP) == PortRange(1024, 10)
    assert host.find_free_block(10) == PortRange(1124, 10)
    assert host.find_free_block(10, [UDP, UDP]) == PortRange(1124, 10)


def test_an_ipv6_range_counts_too() -> None:
    host = EmulatedHost(dynamic_ports={(TCP, Family.INET6): PortRange(1024, 2000)})
    assert host.find_free_block(10, TCP) == PortRange(3024, 10)


@pytest.mark.parametrize(("count", "protocols", "error"), [
    (0, TCP, ValueError), (64513, TCP, ValueError), ("3", TCP, TypeError), (True, TCP, TypeError),
    (3, "tcp", TypeError), (3, 99, ValueError), (3, [], ValueError), (3, [TCP, None], TypeError),
    (3, None, TypeError)])
def test_bad_arguments(count: object, protocols: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        EmulatedHost().find_free_block(count, protocols)  # type: ignore[arg-type]  # wrong on purpose
