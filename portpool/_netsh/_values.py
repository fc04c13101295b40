"""netsh's values and errors: a row of the exclusion table, and the two ways text or words are refused."""

from __future__ import annotations

from typing import Final, NamedTuple

from .._types import PortRange, Protocol
from . import _text

# --- values ---------------------------------------------------------------------------


class ExcludedRange(NamedTuple):
    """One row of ``netsh int ipv4 show excludedportrange``.

    Attributes:
        start: the first port.
        end: the last port, inclusive, as netsh prints it.
        administered: ``True`` for a row marked ``*`` (a persistent reservation, made
            by ``netsh add excludedportrange`` or CreatePersistent*PortReservation).
    """

    start: int
    end: int
    administered: bool

    @property
    def range(self) -> PortRange:
        """The row as a :class:`~portpool.PortRange` (raises ValueError if it is none)."""
        return PortRange(self.start, self.end - self.start + 1)


class NetshParseError(ValueError):
    """The text given to a parser is not netsh output.

    Attributes:
        line: the 1-based number of the line that shows it.
        text: that line, as given.
        reason: what is wrong with it.
    """

    def __init__(self, line: int, text: str, reason: str) -> None:
        super().__init__(line, text, reason)
        self.line = line
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}"


class NetshUsageError(ValueError):
    """netsh would refuse these command words before running anything.

    Attributes:
        output: exactly what netsh prints (en-US, LF line endings): the usage text, the
            "not found" line, or a message such as "The parameter is incorrect.".
        status: netsh's exit status for it.
        kind: ``"not-found"`` (no such command), ``"syntax"`` (an unknown tag or too many
            values), ``"duplicate"`` (a tag given twice), ``"missing"`` (a required
            parameter left out), ``"value"`` (a value netsh does not accept) or
            ``"help"`` (a help token such as ``?``: netsh prints the usage, status 0).
    """

    def __init__(self, output: str, status: int, kind: str) -> None:
        super().__init__(output.strip().splitlines()[0] if output.strip() else kind)
        self.output = output
        self.status = status
        self.kind = kind

    def __reduce__(self) -> tuple[type[NetshUsageError], tuple[str, int, str]]:
        return type(self), (self.output, self.status, self.kind)


def _problem(problem: _text.Problem) -> NetshParseError:
    return NetshParseError(problem.line.number, problem.line.raw, problem.reason)


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"netsh output must be a str, not {type(text).__name__}")
    return text


_PROTOCOLS: Final = {"tcp": Protocol.TCP, "udp": Protocol.UDP}


