"""Hypothesis's entry point for portpool: ``st.from_type`` knows portpool's values.

Loaded by Hypothesis itself (``[project.entry-points.hypothesis]``) when it is
imported, so nothing here runs for users who do not use Hypothesis.
"""

from __future__ import annotations

from hypothesis import strategies as st

from .._types import PortRange, Reservation
from .strategies import port_ranges, protocols


def _port_ranges(_: type[PortRange]) -> st.SearchStrategy[PortRange]:
    return port_ranges()


def _reservations(_: type[Reservation]) -> st.SearchStrategy[Reservation]:
    return st.builds(Reservation, token=st.integers(1, 2**64 - 1), protocol=protocols(),
                     range=port_ranges(), persistent=st.booleans())


def _hypothesis_setup_hook() -> None:
    """Register strategies for PortRange and Reservation (Protocol is an enum already).

    Resolver functions, not strategies: nothing is built while Hypothesis imports.
    """
    st.register_type_strategy(PortRange, _port_ranges)
    st.register_type_strategy(Reservation, _reservations)
