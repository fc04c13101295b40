"""Testing tools shipped with portpool (they need the ``test`` extra: hypothesis).

* :func:`run_conformance_test` checks any :class:`~portpool.PortPool` backend
  against the rules, with a Hypothesis state machine.
* :mod:`portpool.testing.strategies` builds ports, ranges and hosts.
* The pytest fixtures live in :mod:`portpool.pytest_plugin` (loaded automatically).
"""

from ._conformance import ConformanceMachine, run_conformance_test

__all__ = ["ConformanceMachine", "run_conformance_test"]
