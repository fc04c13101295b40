"""netstat's values: one row of ``netstat -ano``, its TCP states, and the parse error."""

from __future__ import annotations

import enum
from typing import NamedTuple

from .._types import Family, Protocol

__all__ = ["NetstatParseError", "NetstatRow", "TcpState"]


class TcpState(enum.Enum):
    """A TCP endpoint's state as en-US ``netstat`` prints it (the value is the text)."""

    CLOSED = "CLOSED"
    LISTENING = "LISTENING"
    SYN_SENT = "SYN_SENT"
    SYN_RECEIVED = "SYN_RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT_1"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSE_WAIT = "CLOSE_WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"
    DELETE_TCB = "DELETE_TCB"


class NetstatRow(NamedTuple):
    """One row of ``netstat -ano``.

    Attributes:
        protocol: TCP or UDP.
        family: the IP version of the local address.
        local_host, local_port: the local address as netstat prints it (``0.0.0.0``,
            ``::``, ``127.0.0.1``, ``fe80::1%11``).
        remote_host, remote_port: the foreign address; ``None`` for a UDP row's ``*:*``.
        state: the TCP state (``None`` for UDP rows); a state word this module does not
            know (a display language it has no table for) is kept in ``state_text``.
        pid: the owning process (``-o``); 0 for a connection no process owns any more
            (TIME_WAIT); ``None`` when the text has no PID column.
        state_text: the state as the text spelt it (``"ABHÖREN"``).
    """

    protocol: Protocol
    family: Family
    local_host: str
    local_port: int
    remote_host: str | None
    remote_port: int | None
    state: TcpState | None
    pid: int | None
    state_text: str = ""


class NetstatParseError(ValueError):
    """The text given to :func:`portpool.netstat.parse` is not ``netstat -an[o]`` output.

    Attributes:
        line: the 1-based number of the line that shows it (0: the text as a whole).
        text: that line, as given.
        reason: what is wrong with it.
    """

    def __init__(self, line: int, text: str, reason: str) -> None:
        super().__init__(line, text, reason)
        self.line = line
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        if not self.line:
            return self.reason
        return f"line {self.line}: {self.reason}: {self.text!r}"
