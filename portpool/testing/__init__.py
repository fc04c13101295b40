"""Testing tools shipped with portpool (they need Hypothesis: the ``hypothesis`` extra).

* :func:`run_conformance_test` checks any :class:`~portpool.PortPool` backend
  against the rules, with a Hypothesis state machine.
* :mod:`portpool.testing.strategies` builds ports, ranges and hosts.
* The pytest fixtures live in :mod:`portpool.pytest_plugin` (loaded automatically).
"""

try:
    import hypothesis  # noqa: F401 - only to say what is missing
except ModuleNotFoundError as exc:  # tests/test_first_contact.py runs this in a subprocess
    if exc.name != "hypothesis":
        raise
    raise ModuleNotFoundError(
        "portpool.testing needs Hypothesis, which is not installed: pip install"
        " 'portpool[hypothesis]' (or, in a checkout, pip install -e '.[hypothesis]')",
        name="hypothesis") from None

from ._conformance import ConformanceMachine, run_conformance_test

__all__ = ["ConformanceMachine", "run_conformance_test"]
