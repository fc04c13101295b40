"""The settings behind portpool's pytest fixtures (``portpool.pytest_plugin.PortpoolSettings``).

A module of its own so that the plugin, which pytest loads in every run, imports attrs
only when a test asks for one of portpool's fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from portpool import EmulatedHost

__all__ = ["PortpoolSettings"]


@attrs.frozen
class PortpoolSettings:
    """The machine a test gets: ini options, overridden by the closest ``portpool`` marker.

    Attributes:
        seed: the host's seed.  preset: ``"default"``, ``"hyperv"``, ``"vs-runner"`` or None.
        admin: whether ``port_pool`` and ``portpool_patch`` run elevated.
        dynamic: the dynamic ports (a PortRange, a mapping, or None for the default).
        variants: ``{rule_id: alternative}``.  profile: a ``portpool probe`` JSON path.
    """

    seed: int = 0
    preset: str | None = None
    admin: bool = False
    dynamic: object = None
    variants: Mapping[str, str] = attrs.field(factory=dict)
    profile: str | None = None

    def host(self, **overrides: Any) -> EmulatedHost:
        """A fresh :class:`~portpool.EmulatedHost` with these settings (``admin`` aside)."""
        from portpool import EmulatedHost

        chosen = attrs.evolve(self, **overrides) if overrides else self
        return EmulatedHost(seed=chosen.seed, dynamic_ports=chosen.dynamic,
                            variants=dict(chosen.variants) or None, preset=chosen.preset,
                            profile=chosen.profile)
