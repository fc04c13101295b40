"""The shape of a row: :class:`Rule`, :class:`Alternative`, :class:`Confidence`, and the
shorthands the concept modules write rows with."""

from __future__ import annotations

import enum

import attrs

from ..._errors import WinError

__all__ = ["OBS", "A", "Alternative", "Confidence", "D", "E", "Rule"]


class Confidence(enum.Enum):
    """How sure portpool is that Windows behaves as a rule says."""

    DOCUMENTED = "documented"
    OBSERVED = "observed"
    ASSUMED = "assumed"


@attrs.frozen
class Rule:
    """One behaviour of the Windows port pool.

    Attributes:
        id: the rule id used in code, tests and ``specs/semantics.md``.
        area: the section of the spec it belongs to.
        text: what Windows does.
        source: keys of :data:`SOURCES`, with a short quote or pointer.
        confidence: documented, observed or assumed (for a rule with alternatives,
            that of its default).
        error: the Windows code a refusal under this rule carries, if any (for a rule
            with alternatives, that of its default).
        check: for assumed rules, the experiment that settles it on Windows.
    """

    id: str
    area: str
    text: str
    source: str
    confidence: Confidence
    error: WinError | None = None
    check: str = ""


@attrs.frozen
class Alternative:
    """One of the behaviours a rule with conflicting evidence may have on Windows.

    Rules whose evidence disagrees keep every candidate as a row of
    :data:`_ALTERNATIVE_ROWS`; the first row of a rule is its default.  A host runs one
    alternative per rule (``EmulatedHost(variants={rule_id: name})``), and the code
    that enforces the rule asks the host which one is in force.

    Attributes:
        rule: the id of the rule it belongs to.
        name: a short name, unique within the rule ("succeeds", "refused").
        text: what Windows does under this alternative.
        source: the evidence for it.
        confidence: how strong that evidence is.
        error: the Windows code a refusal carries under this alternative, if any.
    """

    rule: str
    name: str
    text: str
    source: str
    confidence: Confidence
    error: WinError | None = None


# The shorthands the rows are written with.
D, OBS, A = Confidence.DOCUMENTED, Confidence.OBSERVED, Confidence.ASSUMED
E = WinError
