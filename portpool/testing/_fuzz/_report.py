"""What a run found and did: :class:`Violation`, the counters (:class:`Stats`), and the
printable :class:`FuzzReport`.
"""

from __future__ import annotations

import collections
import re
from typing import Final

import attrs

from ..._errors import WinError

_UNKNOWN_CODE: Final = -(2**40)  # a failure whose code the caller cannot read


@attrs.frozen
class Violation:
    """One broken invariant.

    Attributes:
        kind: what broke (``"exception"``, ``"refusal changed state"``, ``"structure"``,
            ``"ledger"``, ``"postcondition"``, ``"canary"``, ``"fault"``, ``"internal"``,
            ``"reboot"``, ``"harness"``).
        op: the operation that showed it.
        detail: what was seen.
        calls: the last calls made before it (``op(args)``), oldest first.
    """

    kind: str
    op: str
    detail: str
    calls: tuple[str, ...] = ()

    def __str__(self) -> str:
        recent = "".join(f"\n      {c}" for c in self.calls[-8:])
        return f"[{self.kind}] {self.op}: {self.detail}{recent}"


@attrs.define
class Stats:
    """Counters of one run (merged over threads)."""

    calls: collections.Counter[str] = attrs.Factory(collections.Counter)
    succeeded: collections.Counter[str] = attrs.Factory(collections.Counter)
    outcomes: collections.Counter[str] = attrs.Factory(collections.Counter)
    codes: collections.Counter[str] = attrs.Factory(collections.Counter)
    raised: collections.Counter[tuple[str, str]] = attrs.Factory(collections.Counter)
    raised_ops: dict[tuple[str, str], set[str]] = attrs.Factory(dict)
    checks: collections.Counter[str] = attrs.Factory(collections.Counter)
    violation_kinds: collections.Counter[str] = attrs.Factory(collections.Counter)
    violations: list[Violation] = attrs.Factory(list)
    max_kept: int = 100

    @property
    def total(self) -> int:
        """How many calls were made."""
        return sum(self.calls.values())

    def violate(self, violation: Violation) -> None:
        """Record a violation (the first :attr:`max_kept` are kept in full)."""
        self.violation_kinds[violation.kind] += 1
        if len(self.violations) < self.max_kept:
            self.violations.append(violation)

    def merge(self, other: Stats) -> None:
        """Add ``other``'s counts to these."""
        for mine, theirs in ((self.calls, other.calls), (self.succeeded, other.succeeded),
                             (self.outcomes, other.outcomes),
                             (self.codes, other.codes), (self.checks, other.checks),
                             (self.violation_kinds, other.violation_kinds)):
            mine.update(theirs)
        self.raised.update(other.raised)
        for key, ops in other.raised_ops.items():
            self.raised_ops.setdefault(key, set()).update(ops)
        room = self.max_kept - len(self.violations)
        self.violations.extend(other.violations[:max(room, 0)])


@attrs.define
class FuzzReport:
    """What a run did: :attr:`stats`, the time it took, and :meth:`summary`."""

    stats: Stats
    seconds: float
    threads: int = 1
    seed: int = 0

    @property
    def violations(self) -> list[Violation]:
        """The violations kept (see :attr:`Stats.violation_kinds` for all counts)."""
        return self.stats.violations

    @property
    def clean(self) -> bool:
        """Whether no invariant was broken."""
        return not self.stats.violation_kinds

    def summary(self, top: int = 25) -> str:
        """A printable report: calls, outcomes, exceptions by type and site, checks."""
        s = self.stats
        total = s.total
        rate = total / self.seconds if self.seconds else 0.0
        layers = collections.Counter(name.split(".", 1)[0] for name in s.calls.elements())
        lines = [
            f"calls: {total:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(layers.items()))})"
            f" in {self.seconds:,.1f} s with {self.threads} thread(s), seed {self.seed}:"
            f" {rate:,.0f} calls/s",
            "outcomes: " + ", ".join(f"{k} {v:,}" for k, v in s.outcomes.most_common()),
            f"Windows codes of refusals (top {top}): "
            + ", ".join(f"{k} {v:,}" for k, v in s.codes.most_common(top)),
        ]
        windows = [(key, n) for key, n in s.raised.most_common() if key[0] == "PortPoolError"]
        others = [(key, n) for key, n in s.raised.most_common() if key[0] != "PortPoolError"]
        for title, rows, limit in (
                ("PortPoolError by call site (deepest portpool frame)", windows, top),
                ("other exceptions by type and call site (all)", others, len(others))):
            lines.append(f"{title}:")
            for (kind, site), count in rows[:limit]:
                ops = ", ".join(sorted(s.raised_ops.get((kind, site), ())))
                lines.append(f"  {count:>9,}  {kind:<19} {site:<40} {ops[:80]}")
            if len(rows) > limit:
                lines.append(f"  ... {len(rows) - limit} more sites")
        lines.append("invariant checks: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(s.checks.items())))
        lines.append(f"violations: {sum(s.violation_kinds.values()):,}" + (
            " (" + ", ".join(f"{k} {v:,}" for k, v in s.violation_kinds.most_common()) + ")"
            if s.violation_kinds else ""))
        seen: set[tuple[str, str, str]] = set()
        for violation in s.violations:  # one example of each distinct finding
            key = (violation.kind, violation.op, re.sub(r"0x[0-9a-f]+|\d+", "N", violation.detail))
            if key not in seen and len(seen) < top:
                seen.add(key)
                lines.append(f"  {violation}")
        return "\n".join(lines)



def _code_name(code: int) -> str:
    if code == _UNKNOWN_CODE:
        return "(no lpErrno)"
    try:
        return WinError(code).name
    except ValueError:
        return f"WINERROR_{code}"
