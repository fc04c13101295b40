"""Hypothesis strategies for portpool values and emulated machines."""

from __future__ import annotations

from hypothesis import strategies as st

from .._host import EmulatedHost
from .._types import MAX_PORT, PortRange, Protocol

__all__ = ["dynamic_ranges", "emulated_hosts", "port_ranges", "ports", "protocols"]


def protocols() -> st.SearchStrategy[Protocol]:
    """TCP or UDP."""
    return st.sampled_from(Protocol)


def ports(*, min_port: int = 1, max_port: int = MAX_PORT) -> st.SearchStrategy[int]:
    """Port numbers (never 0, which means "any")."""
    return st.integers(min_port, max_port)


def port_ranges(*, within: PortRange | None = None,
                max_count: int = 64) -> st.SearchStrategy[PortRange]:
    """Valid blocks, optionally inside ``within``."""
    low, high = (within.start, within.last) if within else (1, MAX_PORT)

    @st.composite
    def build(draw: st.DrawFn) -> PortRange:
        start = draw(st.integers(low, high))
        count = draw(st.integers(1, min(max_count, high - start + 1)))
        return PortRange(start, count)

    return build()


def dynamic_ranges() -> st.SearchStrategy[PortRange]:
    """Dynamic port ranges a Windows machine may have (netsh allows start >= 1025,
    255 ports at least), with the two defaults seen in the wild weighted in."""
    return st.one_of(
        st.just(PortRange(49152, 16384)),
        st.just(PortRange(1024, 64512)),
        port_ranges(within=PortRange(1025, MAX_PORT - 1024), max_count=20000).filter(
            lambda r: r.count >= 255),
    )


def emulated_hosts(*, dynamic: st.SearchStrategy[PortRange] | None = None,
                   ) -> st.SearchStrategy[EmulatedHost]:
    """Fresh :class:`~portpool.EmulatedHost` machines with drawn seeds."""
    return st.builds(lambda seed, rng: EmulatedHost(seed=seed, dynamic_ports=rng),
                     st.integers(0, 2**32 - 1), dynamic if dynamic is not None else st.none())
