"""netstat over an emulated machine: the machine's connections as ``netstat -ano`` rows.

The model says what exists (``Machine.connections``: listeners, connection endpoints,
UDP sockets, rule T12); this room only turns it into netstat's rows and text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._types import Connection
from ._print import render_netstat
from ._values import NetstatRow, TcpState

if TYPE_CHECKING:
    from .._model._machine import Machine

__all__ = ["render_machine", "row_of"]


def row_of(connection: Connection) -> NetstatRow:
    """One :class:`~portpool.Connection` as the row netstat prints for it."""
    state = None if connection.state is None else TcpState(connection.state)
    remote_port = connection.remote_port
    remote_host = connection.remote_host
    if state is TcpState.LISTENING:  # netstat prints a listener's foreign address as 0
        remote_host = "0.0.0.0" if connection.family == 2 else "::"
        remote_port = 0
    return NetstatRow(connection.protocol, connection.family, connection.local_host,
                      connection.local_port, remote_host, remote_port, state, connection.pid,
                      "" if state is None else state.value)


def render_machine(machine: Machine) -> str:
    """What ``netstat -ano`` prints for ``machine`` (T12)."""
    return render_netstat(row_of(c) for c in machine.connections())
