"""Hypothesis strategies for portpool values and emulated machines.

* :func:`protocols`, :func:`ports`, :func:`port_ranges`, :func:`dynamic_ranges`: values.
* :func:`variant_maps`: ``{rule_id: alternative}`` for the rules whose evidence
  conflicts (``portpool specs`` lists them), as ``EmulatedHost(variants=...)`` takes.
* :func:`presets`: the names ``EmulatedHost.preset()`` takes.
* :func:`emulated_hosts`: fresh machines, optionally of drawn presets and variants.

Every strategy shrinks towards the plainest value: the default alternative, the
``"default"`` preset.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import assume
from hypothesis import strategies as st

from .._host import EmulatedHost
from .._model._machine import dynamic_range_problem
from .._model._presets import PRESETS
from .._model._rules import ALTERNATIVES, check_variants
from .._types import MAX_PORT, PortRange, Protocol

__all__ = ["dynamic_ranges", "emulated_hosts", "port_ranges", "ports", "presets", "protocols",
           "variant_maps"]


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
    """Dynamic port ranges a Windows machine may have (rules Y1, Y2: 255 ports at least,
    starting at 1025, or 1024 as the Visual Studio installer sets it), with the two
    ranges seen in the wild weighted in."""
    return st.one_of(
        st.just(PortRange(49152, 16384)),
        st.just(PortRange(1024, 64512)),
        port_ranges(within=PortRange(1025, MAX_PORT - 1024), max_count=20000).filter(
            lambda r: r.count >= 255),
    )


def variant_maps(rules: Iterable[str] | None = None) -> st.SearchStrategy[dict[str, str]]:
    """``{rule_id: alternative}`` with one drawn alternative per rule.

    Each draw shrinks towards the rule's default alternative (listed first).

    Args:
        rules: the rule ids to draw alternatives for (default: every rule that has
            alternatives); the others are left out of the map, so a host keeps their
            defaults.

    Raises:
        ValueError: a rule id in ``rules`` has no alternatives.
    """
    chosen = list(ALTERNATIVES) if rules is None else list(rules)
    for rule_id in chosen:
        if rule_id not in ALTERNATIVES:
            raise ValueError(f"rule {rule_id!r} has no alternatives (rules that do:"
                             f" {', '.join(ALTERNATIVES)})")
    return st.fixed_dictionaries({
        rule_id: st.sampled_from([row.name for row in ALTERNATIVES[rule_id]])
        for rule_id in chosen})


def presets() -> st.SearchStrategy[str]:
    """The names :meth:`EmulatedHost.preset` takes (``"default"``, ``"hyperv"``,
    ``"vs-runner"``), shrinking towards ``"default"``."""
    return st.sampled_from(list(PRESETS))


def emulated_hosts(*, dynamic: st.SearchStrategy[PortRange] | None = None,
                   variants: st.SearchStrategy[dict[str, str]] | None = None,
                   preset: st.SearchStrategy[str] | None = None,
                   ) -> st.SearchStrategy[EmulatedHost]:
    """Fresh :class:`~portpool.EmulatedHost` machines with drawn seeds.

    Args:
        dynamic: draws the dynamic range of all four (protocol, IP version) pairs
            (for example :func:`dynamic_ranges`); ``None`` keeps the preset's, or the
            default 49152-65535.
        variants: draws the alternatives in force (for example :func:`variant_maps`);
            ``None`` keeps the defaults.  A drawn range that the drawn Y2 alternative
            refuses (a start of 1024 under ``"1025"``) is rejected, not changed.
        preset: draws the kind of machine (for example :func:`presets`); ``None`` makes
            clean machines.

    Example::

        @given(emulated_hosts(variants=variant_maps(), preset=presets()))
        def test_bind_zero_never_lands_in_a_block(host): ...
    """

    @st.composite
    def build(draw: st.DrawFn) -> EmulatedHost:
        seed = draw(st.integers(0, 2**32 - 1))
        rng = draw(dynamic) if dynamic is not None else None
        chosen = draw(variants) if variants is not None else None
        name = draw(preset) if preset is not None else None
        lowest = int(check_variants(chosen)["Y2"])
        ranges = [rng] if rng is not None else list(PRESETS[name or "default"].ranges.values())
        # (a drawn range replaces all four of the preset's)
        assume(all(dynamic_range_problem(r, lowest) is None for r in ranges))  # Y2 refuses them
        return EmulatedHost(seed=seed, dynamic_ports=rng, variants=chosen, preset=name)

    return build()
