"""``netstat -ano`` as en-US Windows prints it.

The layout: a blank line, ``Active Connections``, a blank line, the header, then one
row per endpoint.  Columns are separated by two spaces and padded to 5 (Proto), 21 (Local
Address), 21 (Foreign Address) and 14 (State) characters; a longer address (a scoped IPv6
one) pushes the rest of its row right.  That reproduces every row of the pastes this
module was checked against: billfeller/billfeller.github.io#174 (zh-CN, TIME_WAIT rows with
PID 0), ohadravid/netstat2-rs#7 (UDP rows ``*:*`` and a connected UDP row), and a
Windows paste in a public repository's comment with scoped IPv6 rows two spaces apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .._types import Family, Protocol
from ._values import NetstatRow

__all__ = ["TITLE", "render_netstat", "render_row"]

TITLE: Final = "Active Connections"
_HEADER: Final = ("Proto", "Local Address", "Foreign Address", "State", "PID")


def _line(proto: str, local: str, foreign: str, state: str, pid: str) -> str:
    return f"  {proto:<5}  {local:<21}  {foreign:<21}  {state:<14}  {pid}"


def _endpoint(family: Family, host: str | None, port: int | None) -> str:
    if host is None or port is None:
        return "*:*"
    return f"[{host}]:{port}" if family is Family.INET6 else f"{host}:{port}"


def render_row(row: NetstatRow) -> str:
    """One row as netstat prints it (without the line ending)."""
    state = row.state.value if row.state is not None else row.state_text
    pid = "" if row.pid is None else str(row.pid)
    return _line(row.protocol.name, _endpoint(row.family, row.local_host, row.local_port),
                 _endpoint(row.family, row.remote_host, row.remote_port),
                 state if row.protocol is Protocol.TCP else "", pid)


def render_netstat(rows: Iterable[NetstatRow]) -> str:
    """What ``netstat -ano`` prints for ``rows`` (en-US, LF line endings), in the order given."""
    lines = ["", TITLE, "", _line(*_HEADER)]
    lines += [render_row(row) for row in rows]
    return "\n".join(lines) + "\n"
