"""The Windows experiments, one per rule, keyed by rule id (:data:`EXPERIMENTS`).

Theory of operation
-------------------
Each :class:`Experiment` row names its rule, says in one line what it does, whether it
needs an elevated administrator and what else it needs from the lab (``_lab.CAPABILITIES``),
and holds a function of a :class:`~portpool._probes._lab.Lab` that returns its finding:

* for a rule with alternatives, the name of the alternative the machine followed, or
  ``None`` when none matched (the evidence then shows what was seen);
* for a rule with one behaviour, ``True`` (the machine agrees) or ``False``.

The experiments live in one module per group of rules (``_exp_alternatives.py``,
``_exp_abi.py``, ``_exp_pools.py``, ``_exp_sharing.py`` for the C, L, O and K rules,
``_exp_persistent.py``, ``_exp_connections.py`` for S, T), each registering with
``@experiment(rule_id, summary, admin=..., needs=...)`` from ``_kit.py``, which also holds
the helpers.  A new rule that is assumed or has alternatives needs one
(``tests/test_probes.py`` lists the missing ones).

Experiments use ports of ``lab.scratch`` only (at fixed offsets, so that two never meet
even if an undo failed), make every call they judge through ``lab.see`` and leave the
undoing to the lab (sockets closed, persistent blocks deleted, netsh changes reverted,
in the runner's ``finally``).  :func:`by_code` classifies a call by the code each
alternative's row gives; :func:`expects` checks calls against a rule's code.

Rules whose check cannot be run on a machine (a process that has exited makes no calls)
have an experiment with ``runnable=False``: it is reported as skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._model._rules import RULES
from . import (
    _exp_abi,
    _exp_alternatives,
    _exp_connections,
    _exp_persistent,
    _exp_pools,
    _exp_sharing,
)
from ._kit import EXPERIMENT_REGISTRY, Experiment, Finding, by_code, expects

__all__ = ["EXPERIMENTS", "Experiment", "Finding", "by_code", "expects"]

# The modules that register experiments, one per group of rules.
_MODULES: Final = (_exp_alternatives, _exp_abi, _exp_pools, _exp_sharing, _exp_persistent,
                   _exp_connections)

#: rule id -> its experiment, in the rule table's order.
EXPERIMENTS: Final[Mapping[str, Experiment]] = {
    rule: EXPERIMENT_REGISTRY[rule] for rule in RULES if rule in EXPERIMENT_REGISTRY}
