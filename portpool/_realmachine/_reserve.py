"""``portpool reserve``: keep a fixed port for your program, the way people do it by hand.

Theory of operation
-------------------
A fixed port (an OAuth callback, a game server) inside a WinNAT row cannot be bound
(X2), and ``netsh int ipv4 add excludedportrange`` over it fails while the row is there
(X6, ERROR_SHARING_VIOLATION).  The answer in the threads is three commands as
administrator::

    net stop winnat
    netsh int ipv4 add excludedportrange protocol=tcp startport=PORT numberofports=1 store=persistent
    net start winnat

The administered row keeps the port: a plain bind inside it succeeds (X15), and neither
bind(0) nor WinNAT's rows land on it (X4, X16).  :func:`plan_reserve` reads the rows
through the seam, test-binds the ports and decides which steps are needed (or refuses:
a port held by a socket, an administered row that overlaps without matching);
:func:`run_reserve` runs them through the seam, checks after ``net stop winnat`` that
the covering rows went (a row that stays is not WinNAT's: it starts winnat again and
refuses), removes the rows it added if a later add fails, and always starts winnat
again once it stopped it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from .._types import Protocol
from ..netsh import ExcludedRange
from ._machine import bind_now
from ._rows import read_rows
from ._seam import Seam

__all__ = ["ReservePlan", "ReserveRefused", "Step", "plan_reserve", "run_reserve"]


class ReserveRefused(Exception):  # noqa: N818 - a refusal, as the command reports it
    """The reservation cannot be made as asked; the message says why, on one line."""


@attrs.frozen
class Step:
    """One command of the dance: ``net stop|start winnat`` or a netsh ``add``/``delete``."""

    program: str  # "net" or "netsh"
    words: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join((self.program, *self.words))


def _add(protocol: Protocol, start: int, count: int, verb: str = "add") -> Step:
    words = ("int", "ipv4", verb, "excludedportrange", f"protocol={protocol.name.lower()}",
             f"startport={start}", f"numberofports={count}")
    return Step("netsh", words + (("store=persistent",) if verb == "add" else ()))


STOP, START = Step("net", ("stop", "winnat")), Step("net", ("start", "winnat"))


@attrs.frozen
class ReservePlan:
    """What :func:`run_reserve` will do.

    Attributes:
        start, count: the block.
        protocols: the protocols to add a row for (those not kept already).
        kept: the protocols an administered row already keeps exactly.
        covering: the rows without ``*`` over the block (WinNAT's, if winnat owns them).
        steps: the commands, in order.
    """

    start: int
    count: int
    protocols: tuple[Protocol, ...]
    kept: tuple[Protocol, ...]
    covering: tuple[tuple[Protocol, ExcludedRange], ...]
    steps: tuple[Step, ...]

    @property
    def last(self) -> int:
        """The block's last port."""
        return self.start + self.count - 1

    @property
    def stops_winnat(self) -> bool:
        """Whether the plan stops winnat."""
        return STOP in self.steps


def _ports(start: int, count: int) -> str:
    return f"{start}" if count == 1 else f"{start}-{start + count - 1}"


def plan_reserve(seam: Seam, start: int, count: int, protocols: Sequence[Protocol]) -> ReservePlan:
    """Decide the steps that keep ``start``..``start+count-1`` for ``protocols``.

    Raises:
        ReserveRefused: not Windows; a port held by a socket or refused without a row;
            an administered row that overlaps the block without matching it.
        LiveMachineError: netsh failed.
    """
    if not seam.windows:
        raise ReserveRefused(f"{seam.name} has no Windows port pools: run it on Windows (or give"
                             " --preset, --netsh or --machine for an emulated machine)")
    last = start + count - 1
    rows = read_rows(seam)
    kept: list[Protocol] = []
    todo: list[Protocol] = []
    covering: list[tuple[Protocol, ExcludedRange]] = []
    for protocol in protocols:
        meets = [row for row in rows.rows[protocol] if row.start <= last and start <= row.end]
        administered = [row for row in meets if row.administered]
        if any(row.start <= start and last <= row.end for row in administered):
            kept.append(protocol)
            continue
        if administered:
            row = administered[0]
            raise ReserveRefused(
                f"the administered {protocol.name} row {row.start}-{row.end} overlaps"
                f" {_ports(start, count)}: reserve a block inside it, or delete it first (`netsh"
                f" int ipv4 delete excludedportrange protocol={protocol.name.lower()}"
                f" startport={row.start} numberofports={row.end - row.start + 1}`) [R13b, N1]")
        covering += [(protocol, row) for row in meets]
        for port in range(start, last + 1):
            code = bind_now(protocol, port)
            if code == 10048 or (code is not None and not any(port in range(r.start, r.end + 1)
                                                              for _, r in covering)):
                what = "is in use" if code == 10048 else f"is refused ({code}) without a row"
                raise ReserveRefused(
                    f"{protocol.name} port {port} {what}: a program holds it, which winnat does not"
                    f" own; `netstat -ano -p {protocol.name.lower()} | findstr :{port}` names it;"
                    " close it first [R13b]")
        todo.append(protocol)
    steps: list[Step] = []
    if covering:
        steps.append(STOP)
    steps += [_add(p, start, count) for p in todo]
    if covering:
        steps.append(START)
    return ReservePlan(start, count, tuple(todo), tuple(kept), tuple(covering), tuple(steps))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def run_reserve(seam: Seam, plan: ReservePlan, say: Callable[[str], None]) -> None:
    """Run ``plan`` through ``seam``, saying each command and its outcome.

    Raises:
        ReserveRefused: not elevated (nothing ran), a step failed (the machine is as it was,
            winnat running again), or winnat would not start again (the message says so).
    """
    if not plan.steps:
        return
    if not seam.elevated():
        raise ReserveRefused("changing rows needs an elevated administrator: run the terminal as"
                             " administrator (or see the commands with --dry-run) [N2]")
    stopped = False
    added: list[Step] = []
    problem: str | None = None
    try:
        for step in plan.steps:
            if step is START:
                continue  # in the finally below, whatever happens
            if step is STOP:
                ran = seam.service("stop", "winnat")
                say(f"{step}: {_first_line(ran.output)}")
                if ran.status != 0:
                    problem = f"`{step}` failed ({_first_line(ran.output)}); nothing changed"
                    break
                stopped = True
                rows = read_rows(seam)
                stays = [(p, r) for p, r in plan.covering
                         if any(x.start <= r.end and r.start <= x.end and not x.administered
                                for x in rows.rows[p])]
                if stays:
                    p, r = stays[0]
                    problem = (f"the {p.name} row {r.start}-{r.end} stays while winnat is stopped: it"
                               " is not WinNAT's (HTTP.sys and other components keep theirs), and"
                               f" only its owner can free it; nothing changed [X1, X7]")
                    break
                continue
            ran = seam.netsh(step.words)
            say(f"{step}: {_first_line(ran.output)}")
            if ran.status != 0:
                problem = f"`{step}` failed: {_first_line(ran.output)} [N1]"
                break
            added.append(step)
        if problem is not None:
            for step in reversed(added):  # leave the rows as they were
                words = step.words
                undo = Step("netsh", (*words[:2], "delete", *words[3:-1]))
                ran = seam.netsh(undo.words)
                say(f"{undo}: {_first_line(ran.output)}")
    finally:
        if stopped:
            ran = seam.service("start", "winnat")
            say(f"{START}: {_first_line(ran.output)}")
            if ran.status != 0:
                problem = ((problem + "; ") if problem else "") + (
                    f"`net start winnat` failed ({_first_line(ran.output)}): run it again as"
                    " administrator, or reboot")
    if problem is not None:
        raise ReserveRefused(problem)
