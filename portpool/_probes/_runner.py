"""Run the experiments on a lab and gather a profile.

Each experiment runs alone: the runner skips it (with the reason) when it needs an
administrator the lab is not, or a capability the lab lacks; otherwise it runs it and,
in ``finally``, undoes everything it made (:meth:`Lab.undo`).  Its finding becomes a
:class:`Result` with a verdict:

========== ==============================================================
observed   a rule with alternatives: the machine followed ``observed``
unmatched  a rule with alternatives: no alternative matched (see evidence)
agree      a rule with one behaviour: the machine did as the rule says
disagree   a rule with one behaviour: it did not (see evidence)
skipped    not run here (``reason``)
error      the experiment itself failed (``reason``), or could not undo
========== ==============================================================
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from .._model._rules import ALTERNATIVES, DEFAULT_VARIANTS, RULES
from ._experiments import EXPERIMENTS, Experiment
from ._lab import Lab, Skip
from ._scratch import ScratchRefusedError, choose_scratch

__all__ = ["FAILING", "ProbeRefusedError", "Profile", "Result", "run_experiment", "run_probe"]

#: The verdicts that make ``portpool probe`` exit 1.
FAILING: Final = frozenset({"unmatched", "disagree", "error"})
#: The verdicts that settle a rule.
SETTLING: Final = frozenset({"observed", "agree", "disagree"})


@attrs.frozen
class Result:
    """What one experiment found (see the module docstring for the verdicts).

    Attributes:
        rule: the rule id.
        verdict: observed, unmatched, agree, disagree, skipped or error.
        observed: the alternative the machine followed (rules with alternatives), or ``None``.
        expected: what portpool assumes: the default alternative, or ``"agree"``.
        evidence: the calls made and what came of them.
        reason: why it was skipped or failed.
    """

    rule: str
    verdict: str
    observed: str | None = None
    expected: str = "agree"
    evidence: tuple[str, ...] = ()
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        """The profile's entry for this rule."""
        out: dict[str, Any] = {"verdict": self.verdict, "observed": self.observed,
                               "expected": self.expected, "evidence": list(self.evidence)}
        if self.reason:
            out["reason"] = self.reason
        return out


@attrs.frozen
class Profile:
    """A probe's result: the machine and a :class:`Result` per rule."""

    machine: Mapping[str, Any]
    results: Mapping[str, Result]

    def as_json(self) -> dict[str, Any]:
        """The profile as JSON data (``portpool probe --json``)."""
        return {"machine": dict(self.machine),
                "results": {rule: result.as_json() for rule, result in self.results.items()}}

    @property
    def failing(self) -> list[Result]:
        """The results whose verdict is unmatched, disagree or error."""
        return [r for r in self.results.values() if r.verdict in FAILING]


def _expected(rule_id: str) -> str:
    return DEFAULT_VARIANTS.get(rule_id, "agree")


def run_experiment(lab: Lab, experiment: Experiment) -> Result:
    """Run one experiment on ``lab`` (skipping it when it cannot run) and undo it."""
    rule, expected = experiment.rule, _expected(experiment.rule)
    if not experiment.runnable:
        return Result(rule, "skipped", None, expected, (), experiment.summary)
    if experiment.admin and not lab.elevated:
        return Result(rule, "skipped", None, expected, (),
                      "needs an elevated administrator (run portpool probe as one)")
    missing = sorted(experiment.needs - lab.capabilities)
    if missing:
        return Result(rule, "skipped", None, expected, (),
                      f"needs {', '.join(missing)}, which the {lab.name} backend cannot give")
    lab.evidence = []
    verdict, observed, reason = "error", None, ""
    try:
        finding = experiment.run(lab)
    except Skip as skip:
        verdict, reason = "skipped", str(skip)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} (at {frame.name}, line {frame.lineno})"
    else:
        if rule in ALTERNATIVES:
            if isinstance(finding, str) and finding in {a.name for a in ALTERNATIVES[rule]}:
                verdict, observed = "observed", finding
            elif finding is None:
                verdict = "unmatched"
            else:
                reason = f"the experiment returned {finding!r}, not an alternative of {rule}"
        elif isinstance(finding, bool):
            verdict = "agree" if finding else "disagree"
        else:
            reason = f"the experiment returned {finding!r}, not True or False"
    finally:
        evidence = tuple(lab.evidence)
        problems = lab.undo()
    if problems:
        verdict = "error"
        reason = "; ".join([*([reason] if reason else []), "could not undo: " + "; ".join(problems)])
    return Result(rule, verdict, observed, expected, evidence, reason)


class ProbeRefusedError(ValueError):
    """The probe did not start: a previous run's restores failed, or the scratch block
    is not free (the message says what to do)."""


def run_probe(lab: Lab, only: Iterable[str] | None = None, *,
              move_scratch: bool = False) -> Profile:
    """Run every experiment (or those of ``only``, in table order) on ``lab``.

    First it restores what an interrupted probe left in the lab's journal
    (:meth:`Lab.recover`), then it checks the scratch block against every dynamic
    range and exclusion row (``_scratch.py``), moving it to a free block when
    ``move_scratch`` (the user did not choose it).  Each experiment's changes are undone
    in ``finally``: after an exception, and after Ctrl+C too, which then goes on.

    Raises:
        ValueError: a rule of ``only`` has no experiment (the message lists them).
        ProbeRefusedError: the journal's restores failed, or the scratch block meets a
            range or a row and may not move (the message names them).
    """
    chosen = list(EXPERIMENTS) if only is None else list(dict.fromkeys(only))
    unknown = [rule for rule in chosen if rule not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"no experiment for {', '.join(unknown)} (portpool probe --list"
                         " shows the rules that have one)")
    problems = lab.recover()
    if problems:
        raise ProbeRefusedError("an earlier probe's changes could not be restored: "
                           + "; ".join(problems) + " (restore them by hand, then delete the"
                           " journal file)")
    try:
        lab.scratch = choose_scratch(lab, movable=move_scratch)
    except ScratchRefusedError as exc:
        raise ProbeRefusedError(str(exc)) from None
    lab.evidence = []
    order = [rule for rule in RULES if rule in chosen]
    results = {rule: run_experiment(lab, EXPERIMENTS[rule]) for rule in order}
    return Profile(lab.machine(), results)
