"""``portpool diff A B``: what changed between two snapshots of a machine.

"It worked yesterday": WinNAT places its rows anew at every boot (X1), a Windows update
or a Visual Studio install moves the dynamic range (R18), someone adds an administered
row.  Two snapshots (``portpool snapshot -o before.db`` today, ``-o after.db`` after the
update) tell which: rows gone, rows new, rows moved (a row without ``*`` of the same
length at another place), and changed dynamic ranges.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._host import EmulatedHost
from .._types import Exclusion, Family, PortRange, Protocol

__all__ = ["MachineDiff", "Snapshot", "diff", "snapshot_of"]


@attrs.frozen
class Snapshot:
    """The rows and dynamic ranges of one machine."""

    rows: dict[Protocol, tuple[Exclusion, ...]]
    dynamic: dict[tuple[Protocol, Family], PortRange]


def snapshot_of(host: object) -> Snapshot:
    """The rows and dynamic ranges of an :class:`~portpool.EmulatedHost`."""
    if not isinstance(host, EmulatedHost):
        raise TypeError(f"host must be an EmulatedHost, not {type(host).__name__}")
    return Snapshot({p: host.exclusions(p) for p in Protocol},
                    {(p, f): host.dynamic_range(p, f) for p in Protocol for f in Family})


def _key(row: Exclusion) -> tuple[int, int, bool]:
    return (row.start, row.end, row.administered)


def _text(row: Exclusion) -> str:
    kind = "administered (*)" if row.administered else (
        "system" if row.owner in (None, "unknown") else f"system, {row.owner}")
    return f"{row.start}-{row.end} ({kind})"


@attrs.frozen
class MachineDiff:
    """What changed from snapshot A to snapshot B."""

    lines: tuple[str, ...]

    @property
    def same(self) -> bool:
        """Whether nothing changed."""
        return not self.lines

    def __str__(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else "no change: same rows and dynamic ranges\n"


def _moved(gone: list[Exclusion], new: list[Exclusion]) -> list[tuple[Exclusion, Exclusion]]:
    """Pairs (old, new) of system rows of the same length, matched in port order."""
    pairs = []
    for old in sorted(gone, key=_key):
        length = old.end - old.start
        match = next((n for n in sorted(new, key=_key)
                      if not n.administered and not old.administered and n.end - n.start == length),
                     None)
        if match is not None:
            pairs.append((old, match))
            new.remove(match)
    for old, _ in pairs:
        gone.remove(old)
    return pairs


def diff(a: Snapshot, b: Snapshot) -> MachineDiff:
    """The changes from ``a`` to ``b``, one line each, TCP then UDP."""
    lines: list[str] = []
    for protocol in Protocol:
        name = protocol.name
        for family in Family:
            was, now = a.dynamic[(protocol, family)], b.dynamic[(protocol, family)]
            if was != now:
                version = "ipv4" if family is Family.INET else "ipv6"
                lines.append(f"{name} {version} dynamic range: {was.start}-{was.last} ->"
                             f" {now.start}-{now.last} [R18]")
        before = {_key(r): r for r in a.rows[protocol]}
        after = {_key(r): r for r in b.rows[protocol]}
        gone = [r for k, r in before.items() if k not in after]
        added = [r for k, r in after.items() if k not in before]
        for old, moved in _moved(gone, added):
            lines.append(f"{name} row moved: {_text(old)} -> {moved.start}-{moved.end} [X1]")
        lines += [f"{name} row gone: {_text(r)}" for r in _sorted(gone)]
        lines += [f"{name} row new: {_text(r)}" for r in _sorted(added)]
    return MachineDiff(tuple(lines))


def _sorted(rows: Iterable[Exclusion]) -> list[Exclusion]:
    return sorted(rows, key=_key)
