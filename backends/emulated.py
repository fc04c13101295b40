"""The ``emulated`` backend: the interface over the pure-Python model."""

from __future__ import annotations

from typing import Any, final

from portpool._arguments import (
    check_address,
    check_int,
    check_option,
    check_processor,
    check_socket_args,
)
from portpool._errors import PortPoolError, winerror
from portpool._host import EmulatedHost, EmulatedProcess
from portpool._interface import Address, Socket
from portpool._model._machine import Machine, SocketInfo
from portpool._types import AF_INET, SOCK_STREAM, Family, Protocol, Reservation

__all__ = ["EmulatedPool", "EmulatedSocket"]

_INET = Family.INET  # a module constant: reading an Enum class attribute costs more (hot paths)


def _injected(host: EmulatedHost, function: str) -> None:
    """Fail this call if ``host.calls.fail_next(function, code)`` queued a fault for it:
    one mechanism for the emulated DLLs and the Python-level pools.  The interface
    methods count as the DLL function that carries them (bind as ``bind``, the
    reservation calls and SIO_CPU_AFFINITY as ``WSAIoctl``, close as ``closesocket``)."""
    calls = host._calls
    if calls is not None:
        code = calls.take_fault(function)
        if code is not None:
            raise winerror(code, f"injected fault: {function} failed"
                                 " (host.calls.fail_next)")


@final
class EmulatedSocket(Socket):
    """A socket of an emulated process."""

    # _handle: the model's handle, -1 once closed (a closed socket's calls pass -1, which is
    # no socket: the model says WSAENOTSOCK).
    __slots__ = ("_handle", "_host", "_machine", "_pid", "_pool")

    def __init__(self, pool: EmulatedPool, info: SocketInfo) -> None:
        self._pool = pool
        self._host = pool._host
        self._pid = pool._pid
        self._machine = pool._machine
        self._handle = info.handle
        self._family, self._type = info.family, info.type

    def __repr__(self) -> str:
        state = "closed" if self._handle == -1 else f"handle={self._handle:#x}"
        return f"<EmulatedSocket {state} pid={self._pool.pid}>"

    def acquire_port_reservation(self, start: int, count: int) -> Reservation:
        """See :meth:`portpool.Socket.acquire_port_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "WSAIoctl")
        if type(start) is not int or type(count) is not int:  # plain ints need no check
            start, count = check_int(start, "start"), check_int(count, "count")
        return self._machine.acquire(self._pid, self._handle, start, count)

    def associate_port_reservation(self, token: int) -> None:
        """See :meth:`portpool.Socket.associate_port_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "WSAIoctl")
        token = check_int(token, "token")
        self._machine.associate(self._pid, self._handle, token)

    def release_port_reservation(self, token: int) -> None:
        """See :meth:`portpool.Socket.release_port_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "WSAIoctl")
        token = check_int(token, "token")
        self._machine.release(self._pid, self._handle, token)

    def bind(self, address: Address) -> None:
        """See :meth:`portpool.Socket.bind`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "bind")
        if type(address) is tuple and len(address) == 2 and self._family is _INET:
            try:  # the hot path: an IPv4 pair goes to the model as it is (_judged_first)
                self._machine.bind(self._pid, self._handle, address[0], address[1])
                return
            except PortPoolError as refused:
                error = refused
            check_address(address, self._family)  # Python's checks come first
            raise error
        host, port = check_address(address, self._family)
        self._machine.bind(self._pid, self._handle, host, port)

    def getsockname(self) -> Address:
        """See :meth:`portpool.Socket.getsockname`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "getsockname")
        family, host, port = self._machine.sockname(self._pid, self._handle)
        if family is _INET:
            return (host or "0.0.0.0", port)
        return (host or "::", port, 0, 0)

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        """See :meth:`portpool.Socket.setsockopt`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "setsockopt")
        level, option, data = check_option(level, option, value)
        self._machine.setsockopt(self._pid, self._handle, level, option, data)

    def getsockopt(self, level: int, option: int) -> int:
        """See :meth:`portpool.Socket.getsockopt`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "getsockopt")
        level, option, _ = check_option(level, option, 0, "getsockopt")
        return self._machine.getsockopt(self._pid, self._handle, level, option)

    def connect(self, address: Address) -> None:
        """See :meth:`portpool.Socket.connect`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "connect")
        if (type(address) is tuple and len(address) == 2 and self._family is _INET
                and type(address[0]) is str and type(address[1]) is int
                and 0 <= address[1] <= 65535):  # the hot path: a plain IPv4 pair
            self._machine.connect(self._pid, self._handle, address[0], address[1])
            return
        host, port = check_address(address, self._family, "connect")
        self._machine.connect(self._pid, self._handle, host, port)

    def listen(self, backlog: int = 128) -> None:
        """See :meth:`portpool.Socket.listen`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "listen")
        backlog = check_int(backlog, "backlog")
        self._machine.listen(self._pid, self._handle, backlog)

    def accept(self) -> tuple[EmulatedSocket, Address]:
        """See :meth:`portpool.Socket.accept`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "accept")
        info, host, port = self._machine.accept(self._pid, self._handle)
        peer: Address = (host, port) if info.family is _INET else (host, port, 0, 0)
        return EmulatedSocket(self._pool, info), peer

    def getpeername(self) -> Address:
        """See :meth:`portpool.Socket.getpeername`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "getpeername")
        family, host, port = self._machine.peername(self._pid, self._handle)
        return (host, port) if family is _INET else (host, port, 0, 0)

    def set_cpu_affinity(self, processor: int) -> None:
        """See :meth:`portpool.Socket.set_cpu_affinity`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "WSAIoctl")
        self._machine.set_cpu_affinity(self._pid, self._handle,
                                       check_processor(processor))

    def close(self) -> None:
        """See :meth:`portpool.Socket.close`; closing twice is harmless.

        Raises:
            PortPoolError: an injected closesocket fault: the socket stays open.
        """
        handle = self._handle
        if handle == -1:
            return
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "closesocket")
        self._handle = -1
        try:  # noqa: SIM105 - contextlib.suppress() costs 0.5 us on this hot path
            self._machine.close_socket(self._pid, handle)
        except PortPoolError:
            pass  # A19: the process is gone, and the socket with it

    def fileno(self) -> int:
        """The handle, or -1 once closed."""
        return self._handle


@final
class EmulatedPool(EmulatedProcess):
    """A process on an :class:`~portpool.EmulatedHost`."""

    def __init__(self, host: EmulatedHost, pid: int) -> None:
        self._host = host
        self._machine = host.machine
        self._pid = pid

    @classmethod
    def open(cls, *, admin: bool = False, **host_options: Any) -> EmulatedPool:
        """``open_pool("emulated")``: a process on a fresh host."""
        return cls.attach(EmulatedHost(**host_options), admin=admin)

    @classmethod
    def attach(cls, host: EmulatedHost, *, admin: bool = False, user: str | None = None,
               ) -> EmulatedPool:
        """A new process on ``host``."""
        return cls(host, host.machine.create_process(admin=admin, user=user))

    def __repr__(self) -> str:
        return f"<EmulatedPool pid={self._pid} admin={self.admin} alive={self.alive}>"

    @property
    def host(self) -> EmulatedHost:
        """The machine this process runs on."""
        return self._host

    @property
    def pid(self) -> int:
        """The process id."""
        return self._pid

    @property
    def admin(self) -> bool:
        """Whether the process is an elevated administrator."""
        machine: Machine = self._host.machine
        return machine.is_alive(self._pid) and machine.is_admin(self._pid)

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self._host.machine.is_alive(self._pid)

    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM,  # noqa: A002 - socket's own name
               proto: int = 0) -> EmulatedSocket:
        """See :meth:`portpool.PortPool.socket`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, "socket")
        if family.__class__ is int and type.__class__ is int and proto.__class__ is int:
            try:  # the hot path: plain ints go to the model as they are (_judged_first)
                return EmulatedSocket(self, self._machine.open_socket(self._pid, family, type, proto))
            except PortPoolError as refused:
                error = refused
            check_socket_args(family, type, proto)  # Python's checks come first
            raise error
        family, type, proto = check_socket_args(family, type, proto)  # noqa: A001 - socket's names
        return EmulatedSocket(self, self._machine.open_socket(self._pid, family, type, proto))

    def create_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.create_persistent_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, _persistent_function("Create", protocol))
        return self._machine.create_persistent(self._pid, *_persistent_args(protocol, start, count))

    def lookup_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.lookup_persistent_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, _persistent_function("Lookup", protocol))
        return self._machine.lookup_persistent(self._pid, *_persistent_args(protocol, start, count))

    def delete_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> None:
        """See :meth:`portpool.PortPool.delete_persistent_reservation`."""
        if self._host._calls is not None:  # a fault queue exists: consult it
            _injected(self._host, _persistent_function("Delete", protocol))
        self._machine.delete_persistent(self._pid, *_persistent_args(protocol, start, count))

    def exit(self) -> None:
        """End the process (R4); exiting twice is harmless."""
        if self.alive:
            self._host.machine.exit_process(self._pid)

    def close(self) -> None:
        """Same as :meth:`exit`."""
        self.exit()


# _judged_first: socket() with plain ints, and bind() with an IPv4 pair, go to the model
# before Python's checks (check_socket_args, check_address), which run only when the model
# refuses: the model accepts nothing those checks refuse (a triple it knows fits C ints; a
# host it knows is a str and a port it takes is an int in 0-65535) and refuses before it
# changes anything, so Python's error still comes first and Windows' after it, as when
# the checks ran first, and the common call pays for neither.


def _persistent_args(protocol: object, start: object, count: object) -> tuple[int, int, int]:
    """The persistent calls' arguments must be ints (Python decides); their values are
    Windows' business (R13a)."""
    return check_int(protocol, "protocol"), check_int(start, "start"), check_int(count, "count")


def _persistent_function(verb: str, protocol: object) -> str:
    """The IP Helper export a persistent call goes through, for fault injection."""
    return f"{verb}Persistent{'Udp' if protocol == Protocol.UDP else 'Tcp'}PortReservation"
