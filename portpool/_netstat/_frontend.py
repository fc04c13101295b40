"""netstat over an emulated machine: the machine's connections as ``netstat -ano`` rows.

The model says what exists (``Machine.connections``: listeners, connection endpoints,
UDP sockets, rule T12); this room only turns it into netstat's rows and text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .._errors import PortPoolError
from .._types import (
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    SOMAXCONN,
    Connection,
    Family,
    Protocol,
)
from ._print import render_netstat
from ._values import NetstatRow, TcpState

if TYPE_CHECKING:
    from .._model._machine import Machine

__all__ = ["local_addresses", "machine_from_netstat", "render_machine", "row_of"]


def row_of(connection: Connection) -> NetstatRow:
    """One :class:`~portpool.Connection` as the row netstat prints for it."""
    state = None if connection.state is None else TcpState(connection.state)
    remote_port = connection.remote_port
    remote_host = connection.remote_host
    if state is TcpState.LISTENING:  # netstat prints a listener's foreign address as 0
        remote_host = "0.0.0.0" if connection.family is Family.INET else "::"
        remote_port = 0
    return NetstatRow(connection.protocol, connection.family, connection.local_host,
                      connection.local_port, remote_host, remote_port, state, connection.pid,
                      "" if state is None else state.value)


def render_machine(machine: Machine) -> str:
    """What ``netstat -ano`` prints for ``machine`` (T12)."""
    return render_netstat(row_of(c) for c in machine.connections())


#: The TCP states a machine read from netstat can hold (the model's, rule T3); rows in
#: other states (SYN_SENT, LAST_ACK, ...) last a moment on Windows and are skipped.
_KEPT: Final = frozenset({TcpState.ESTABLISHED, TcpState.CLOSE_WAIT, TcpState.FIN_WAIT_2,
                          TcpState.TIME_WAIT})


def local_addresses(rows: Iterable[NetstatRow]) -> list[str]:
    """The machine's own addresses the rows show (their specific local addresses), in
    the order first seen, without IPv6 scopes."""
    seen: dict[str, None] = {}
    for row in rows:
        host = row.local_host.partition("%")[0]
        if host not in ("0.0.0.0", "::"):
            seen[host] = None
    return list(seen)


def machine_from_netstat(machine: Machine, rows: Iterable[NetstatRow]) -> int:
    """Give ``machine`` the sockets a real machine's ``netstat -ano`` rows show: one
    process per PID (with that PID), a listening socket per LISTENING row, a bound (and,
    with a peer, connected) socket per UDP row, and a connection endpoint per TCP row in
    ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2 or TIME_WAIT (owned by its PID, or by none for
    PID 0; a TIME_WAIT row waits the machine's whole TcpTimedWaitDelay).

    The machine must have the rows' local addresses (``local_addresses``).  A socket
    that cannot bind beside an earlier one with default options binds with SO_REUSEADDR
    (two rows on one address and port mean the real sockets shared it).

    Returns:
        How many rows were skipped (TCP states the model has no place for).

    Raises:
        ValueError: a row without a PID (netstat was run without -o).
    """
    listed = list(rows)
    if any(row.pid is None for row in listed):
        raise ValueError("the netstat output has no PID column: run netstat -ano")
    for pid in sorted({row.pid for row in listed if row.pid}):
        if not machine.is_alive(pid):
            machine.create_process(admin=False, pid=pid)
    skipped = 0
    for row in listed:
        pid = row.pid or 0
        if row.protocol is Protocol.UDP or row.state is TcpState.LISTENING:
            if not pid:
                skipped += 1
                continue
            _socket_of(machine, pid, row)
        elif row.state in _KEPT and row.remote_host is not None and row.remote_port is not None:
            assert row.state is not None
            machine.seed_connection(pid, row.family, row.local_host.partition("%")[0],
                                    row.local_port, row.remote_host.partition("%")[0],
                                    row.remote_port, row.state.value)
        else:
            skipped += 1
    return skipped


def _socket_of(machine: Machine, pid: int, row: NetstatRow) -> None:
    kind = SOCK_STREAM if row.protocol is Protocol.TCP else SOCK_DGRAM
    host = row.local_host.partition("%")[0]
    handle = machine.open_socket(pid, int(row.family), kind, 0).handle
    try:
        machine.bind(pid, handle, host, row.local_port)
    except PortPoolError:
        machine.setsockopt(pid, handle, SOL_SOCKET, SO_REUSEADDR, (1).to_bytes(4, "little"))
        machine.bind(pid, handle, host, row.local_port)
    if row.protocol is Protocol.TCP:
        machine.listen(pid, handle, SOMAXCONN)
    elif row.remote_host is not None and row.remote_port:
        machine.connect(pid, handle, row.remote_host.partition("%")[0], row.remote_port)
