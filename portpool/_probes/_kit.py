"""The experiment kit: the :class:`Experiment` row, its registry and the helpers every
experiment module uses (see ``_experiments.py`` for what an experiment is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._errors import WinError
from .._model._rules import ALTERNATIVES, RULES
from .._types import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, Protocol
from ._lab import Lab, Seen, Skip

__all__ = [
    "DECISIVE",
    "EXPERIMENT_REGISTRY",
    "LOOP4",
    "LOOP6",
    "TCP",
    "UDP",
    "E",
    "Experiment",
    "Finding",
    "acquire_block",
    "addr",
    "by_code",
    "decisive",
    "expects",
    "experiment",
    "ok",
    "scratch_port",
    "tcp_socket",
    "udp_socket",
]

#: What an experiment returns: an alternative's name or None (rules with
#: alternatives), True or False (rules with one behaviour).
Finding = str | bool | None

E = WinError
UDP, TCP = Protocol.UDP, Protocol.TCP
LOOP4, LOOP6 = "127.0.0.1", "::1"


@attrs.frozen
class Experiment:
    """One Windows experiment.

    Attributes:
        rule: the rule it settles.
        summary: what it does, in one line.
        run: the experiment (see the module docstring).
        admin: whether it needs an elevated administrator.
        needs: what else it needs of the lab (``other-process``, ``dlls``, ...).
        runnable: ``False`` when there is nothing to run on a machine (``summary``
            says why).
    """

    rule: str
    summary: str
    run: Callable[[Lab], Finding]
    admin: bool = False
    needs: frozenset[str] = frozenset()
    runnable: bool = True


EXPERIMENT_REGISTRY: dict[str, Experiment] = {}


def experiment(rule: str, summary: str, *, admin: bool = False, needs: tuple[str, ...] = (),
                runnable: bool = True) -> Callable[[Callable[[Lab], Finding]],
                                                    Callable[[Lab], Finding]]:
    def register(run: Callable[[Lab], Finding]) -> Callable[[Lab], Finding]:
        if rule in EXPERIMENT_REGISTRY or rule not in RULES:  # pragma: no cover - guards the registry
            raise RuntimeError(f"experiment for {rule!r}: duplicate or no such rule")
        EXPERIMENT_REGISTRY[rule] = Experiment(rule, summary, run, admin, frozenset(needs), runnable)
        return run
    return register


#: The mark :func:`decisive` puts at the end of an evidence line.
DECISIVE = " [decisive]"


def decisive(lab: Lab, line: int = -1) -> None:
    """Mark the evidence line ``line`` (an index of ``lab.evidence``; default the latest)
    as the call whose outcome decided the finding: the probe's table shows it, rather
    than the last line, when it is not the last.

    Raises:
        ValueError: there is no such line (the experiment's own mistake).
    """
    if not -len(lab.evidence) <= line < len(lab.evidence):
        raise ValueError(f"decisive(): no evidence line {line} (there are {len(lab.evidence)})")
    if not lab.evidence[line].endswith(DECISIVE):
        lab.evidence[line] += DECISIVE


def by_code(rule_id: str, *seen: Seen) -> str | None:
    """The alternative of ``rule_id`` whose code (``None``: success) every call in
    ``seen`` got, or ``None`` when none (or the calls disagree among themselves)."""
    codes = {s.code for s in seen}
    if len(codes) != 1:
        return None
    code = codes.pop()
    for row in ALTERNATIVES[rule_id]:
        if (None if row.error is None else int(row.error)) == code:
            return row.name
    return None


def expects(rule_id: str, *seen: Seen) -> bool:
    """Whether every call in ``seen`` got the code of ``rule_id`` (its refusal)."""
    error = RULES[rule_id].error
    want = None if error is None else int(error)
    return all(s.code == want for s in seen)


def ok(*seen: Seen) -> bool:
    """Whether every call in ``seen`` succeeded."""
    return all(s.ok for s in seen)


def scratch_port(lab: Lab, offset: int) -> int:
    """The scratch block's port at ``offset`` (each experiment keeps to its own offsets)."""
    return lab.scratch.start + offset


def udp_socket(lab: Lab, pool: Any = None, *, v6: bool = False) -> Any:
    """A new UDP socket of ``pool`` (default: the lab's main process)."""
    return (pool or lab.main).socket(AF_INET6 if v6 else AF_INET, SOCK_DGRAM)


def tcp_socket(lab: Lab, pool: Any = None, *, v6: bool = False) -> Any:
    """A new TCP socket of ``pool`` (default: the lab's main process)."""
    return (pool or lab.main).socket(AF_INET6 if v6 else AF_INET, SOCK_STREAM)


def addr(port: int, *, v6: bool = False) -> tuple[Any, ...]:
    """The loopback address of ``port``, in Python's tuple shape for the family."""
    return (LOOP6, port, 0, 0) if v6 else (LOOP4, port)


def acquire_block(lab: Lab, sock: Any, start: int, count: int, who: str = "A") -> Any:
    """Acquire ``start``+``count`` on ``sock`` as setup: the reservation, or :class:`Skip`
    when it fails (the experiment cannot say anything then)."""
    seen = lab.see(f"{who}: acquire {start}+{count}",
                   lambda: sock.acquire_port_reservation(start, count))
    if not seen.ok:
        raise Skip(f"the setup failed: {seen.text()}")
    return seen.value

