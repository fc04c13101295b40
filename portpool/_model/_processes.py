"""Processes and their sockets: create and end processes, socket(), closesocket(),
getsockname() (rules A19, R4, W5-W11; what a close does to connections: ``_connections.py``)."""

from __future__ import annotations

import socket as _pysocket
from collections.abc import Iterator
from typing import Final

from .._errors import shown
from .._types import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, Family, Protocol
from ._rules import refuse
from ._state import DEFAULT_USER, SocketInfo, _as_int, _MachineState, _Process, _Socket

_AF_UNSPEC: Final = 0
_new_tuple: Final = tuple.__new__
#: W13: the type of the first provider for a protocol, for socket(af, 0, protocol).
_TYPE_OF_PROTOCOL: Final = {0: SOCK_STREAM, int(Protocol.TCP): SOCK_STREAM, int(Protocol.UDP): SOCK_DGRAM}

__all__: list[str] = []


class _Processes(_MachineState):
    """Processes, sockets and their lifetimes."""

    def create_process(self, *, admin: bool, user: str | None = None, pid: int | None = None) -> int:
        """A new process of ``user`` (default ``"user"``); returns its pid.

        Args:
            pid: the pid to give it (a real machine's, read from netstat); default: the
                next free one.

        Raises:
            TypeError: a bad argument type.
            ValueError: an empty user; a pid that is not a positive multiple of 4, or is
                taken in this boot.
        """
        if not isinstance(admin, bool):
            raise TypeError(f"admin must be True or False, not {shown(admin)}")
        if pid is not None:
            number = _as_int(pid)
            if number is None:
                raise TypeError(f"pid must be an int, not {type(pid).__name__}")
            if number <= 0 or number % 4:
                raise ValueError(f"pid must be a positive multiple of 4 (as Windows' are), not"
                                 f" {number}")
        if user is None:
            user = DEFAULT_USER
        elif not isinstance(user, str):
            raise TypeError(f"user must be a str, not {type(user).__name__}")
        elif not user:
            raise ValueError("user must not be empty")
        with self.lock:
            if pid is None:
                while self._next_pid in self._processes:  # skip pids given explicitly
                    self._next_pid += 4
                pid = self._next_pid
                self._next_pid += 4
            elif pid in self._processes:
                raise ValueError(f"pid {pid} is taken on this machine")
            self._processes[pid] = _Process(pid, admin, user)
            return pid

    def exit_process(self, pid: int) -> None:
        """The process ends: its sockets close, and their runtime blocks go (R4, A28)."""
        with self.lock:
            process = self._live_process(pid)
            for handle in sorted(process.sockets):
                self.close_socket(pid, handle)
            process.alive = False

    def is_alive(self, pid: int) -> bool:
        """Whether ``pid`` is a live process of this boot."""
        process = self._processes.get(pid)
        return process is not None and process.alive

    def is_admin(self, pid: int) -> bool:
        """Whether ``pid`` runs as an elevated administrator."""
        with self.lock:
            return self._live_process(pid).admin

    # --- sockets -------------------------------------------------------------------

    def open_socket(self, pid: int, family: object, kind: object, proto: object) -> SocketInfo:
        """socket(): returns the new socket (its handle and kind) (rules W6-W11)."""
        self.lock.acquire()  # not `with`: half the cost on this hot path
        try:
            process = self._processes.get(pid)
            if process is None or not process.alive:
                process = self._live_process(pid)  # refuses (A19)
            protocol: Protocol | None
            known = _STREAM_OR_DGRAM.get((family, kind, proto))
            if known is not None:  # the hot path: a TCP or UDP socket, already validated
                fam, protocol = known
            else:
                fam, kind, protocol = self._check_socket_kind(process, family, kind, proto)
            handle = self._next_handle
            self._next_handle += 4
            self._sockets[handle] = _Socket(handle, pid, fam, kind, protocol)  # type: ignore[arg-type]  # kind was checked
            process.sockets.add(handle)
            # SocketInfo(...) without its Python-level __new__: socket() is a hot path.
            return _new_tuple(SocketInfo, (handle, fam, kind, protocol, None, None, None))
        finally:
            self.lock.release()

    def _check_socket_kind(self, process: _Process, family: object, kind: object,
                           proto: object) -> tuple[Family, int, Protocol | None]:
        """The full socket() validation, in Windows' order (W13, W7, W6, W8, W9, W10, W11),
        for anything but plain TCP/UDP; returns the family, the type (type 0 resolved) and
        the pool."""
        pid = process.pid
        family_value, kind_value, proto_value = _as_int(family), _as_int(kind), _as_int(proto)
        if family_value == _AF_UNSPEC and proto_value == 0:
            raise refuse("W13", "AF_UNSPEC with protocol 0 names no provider")
        if kind_value not in (0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW):
            raise refuse("W7", f"socket type {shown(kind)}")
        fam = Family.from_value(family_value) if family_value not in (None, _AF_UNSPEC) else None
        if fam is None and family_value != _AF_UNSPEC:
            raise refuse("W6", f"address family {shown(family)}")
        if proto_value is None or not 0 <= proto_value <= 255:
            raise refuse("W8", f"protocol {shown(proto)}")
        if kind_value == 0:  # W13: the first provider of the protocol chooses the type
            kind_value = _TYPE_OF_PROTOCOL.get(proto_value, SOCK_RAW)
        if fam is None:  # W13: AF_UNSPEC with a protocol: the IPv4 provider
            fam = Family.INET
        protocol: Protocol | None
        if kind_value == SOCK_RAW:
            if not process.admin:
                raise refuse("W10", f"process {pid} is not an administrator")
            if proto_value == 0 and self._variants["W11"] == "refused":
                raise refuse("W11", "SOCK_RAW with protocol 0", "refused")
            protocol = None
        else:
            natural = Protocol.TCP if kind_value == SOCK_STREAM else Protocol.UDP
            if proto_value not in (0, int(natural)):
                if proto_value in (int(Protocol.TCP), int(Protocol.UDP)):
                    raise refuse("W9", f"protocol {proto_value} with socket type {kind_value}")
                raise refuse("W8", f"protocol {proto_value} with socket type {kind_value}")
            protocol = natural
        return fam, kind_value, protocol

    def close_socket(self, pid: int, handle: int) -> None:
        """closesocket(): frees its port and the runtime blocks acquired on it (R4)."""
        self.lock.acquire()  # not `with`: half the cost on this hot path
        try:
            sock = self._sockets.get(handle) if type(handle) is int else None
            if sock is None or sock.pid != pid:  # (found: its process is alive, see _sockets)
                sock = self._socket(pid, handle)  # refuses (A19, R9b)
            if sock.acquired:
                for token in sorted(sock.acquired):  # R4
                    self._remove_token(token)
            if sock.conn is not None or sock.listening:  # T3, T4, S9
                self._end_connections(sock)
            if sock.protocol is not None and sock.port is not None and not sock.accepted:
                self._spaces[sock.protocol].unbind(sock.port, handle)
            del self._sockets[handle]
            self._processes[pid].sockets.discard(handle)
        finally:
            self.lock.release()

    def socket_info(self, pid: int, handle: int) -> SocketInfo:
        """The state of a live socket of ``pid``."""
        with self.lock:
            s = self._socket(pid, handle)
            return SocketInfo(s.handle, s.family, s.type, s.protocol, s.host, s.port,
                              s.association)

    def sockname(self, pid: int, handle: int) -> tuple[Family, str, int]:
        """getsockname(): (family, host, port) of a bound socket (W5)."""
        self.lock.acquire()  # not `with`: half the cost on this hot path
        try:
            sock = self._sockets.get(handle) if type(handle) is int else None
            if sock is None or sock.pid != pid:  # (found: its process is alive, see _sockets)
                sock = self._socket(pid, handle)  # refuses (A19, R9b)
            if sock.host is None:
                raise refuse("W5", f"socket {handle:#x} is not bound")
            return sock.family, sock.host, sock.port or 0
        finally:
            self.lock.release()

    def sockets_of(self, pid: int) -> Iterator[int]:
        """The live socket handles of ``pid``, in order."""
        with self.lock:
            process = self._processes.get(pid)
            return iter(sorted(process.sockets) if process else ())


# (family, type, proto) -> (Family, Protocol) for every valid TCP/UDP socket() call (W9).
_STREAM_OR_DGRAM: Final[dict[tuple[object, object, object], tuple[Family, Protocol]]] = {
    (family_value, kind, proto): (Family.from_value(family_value) or Family.INET, protocol)
    for family_value in {AF_INET, AF_INET6, int(_pysocket.AF_INET6)}
    for kind, protocol in ((SOCK_STREAM, Protocol.TCP), (SOCK_DGRAM, Protocol.UDP))
    for proto in (0, int(protocol))
}
