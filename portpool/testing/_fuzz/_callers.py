"""The callers a :class:`~._world.World` keeps: processes seen through the interface and
their sockets, processes seen through their DLL pair, overlapped calls still pending.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..._interface import PortPool, Socket
from ..._types import Protocol


@attrs.define(eq=False)
class _Proc:
    """A process seen through the interface: an EmulatedPool or a WindowsPool."""

    pool: PortPool
    pid: int
    admin: bool
    dlls: Any = None  # the DLL pair under a WindowsPool
    sockets: list[_Sock] = attrs.Factory(list)
    closed: bool = False

    @property
    def label(self) -> str:
        return f"{'ctypes' if self.dlls is not None else 'emulated'} pid {self.pid}"


@attrs.define(eq=False)
class _Sock:
    sock: Socket
    proc: _Proc
    handle: int
    protocol: Protocol | None
    family: int
    closed: bool = False

    def __repr__(self) -> str:
        state = "closed " if self.closed else ""
        return f"<{state}socket {self.handle:#x} of {self.proc.label}>"


@attrs.define(eq=False)
class _DProc:
    """A process seen through its DLL pair."""

    dlls: Any
    pid: int
    admin: bool
    started: int = 0
    sockets: dict[int, Protocol | None] = attrs.Factory(dict)
    families: dict[int, int] = attrs.Factory(dict)  # handle -> AF_INET or AF_INET6
    closed: list[int] = attrs.Factory(list)
    events: list[int] = attrs.Factory(list)
    closed_events: list[int] = attrs.Factory(list)
    exited: bool = False

    @property
    def ws2(self) -> Any:
        return self.dlls.ws2_32

    @property
    def iph(self) -> Any:
        return self.dlls.iphlpapi


@attrs.define(eq=False)
class _Pending:
    """An overlapped IOCTL the emulator may complete later: its buffers stay alive."""

    proc: _DProc
    handle: int
    code: int
    overlapped: Any
    out: Any
    token: int
    start: int
    count: int
    keep: tuple[Any, ...]
