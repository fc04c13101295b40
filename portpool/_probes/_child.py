"""Another process on this machine, as a :class:`~portpool.PortPool`.

Some rules are about two processes (a block of one refuses the other's binds: R17,
A5, A12, A23, R20, A28).  On a real machine the second process must be a real one:
:class:`ChildPool` starts a Python child (``multiprocessing``, spawn), which opens a
pool of ``backend`` and runs each call sent over a pipe; a
:class:`~portpool.PortPoolError` comes back with its code and message.  :meth:`kill`
ends the child without closing anything, as ``taskkill /F`` does.

A child with *less* privilege than this process (A26, X15: a non-elevated process
beside an elevated one) cannot be a ``multiprocessing`` child, which inherits this
process's token.  ``ChildPool(backend, launch=...)`` has ``launch`` start
``python -m portpool._probes._child HOST PORT KEY BACKEND`` its own way; the child
connects back over loopback (``multiprocessing.connection``, authenticated with a
one-time key) and serves the same calls.  On Windows :func:`basic_user_launcher`
starts it with ``runas /trustlevel:0x20000``: the SAFER "Basic User" level, which
"allows programs to execute as a user that does not have Administrator or Power User
access rights" (runas /showtrustlevels; the level's description in advapi32).
Launching with the linked non-elevated token does not work (Microsoft's Windows SDK
team blog, "Dealing with Administrator and standard user's context", 2010).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Client, Listener
from typing import Any

from .._errors import PortPoolError, WinError, winerror
from .._interface import Address, PortPool, Socket
from .._registry import open_pool
from .._types import AF_INET, SOCK_STREAM, Family, Protocol

__all__ = ["ChildPool", "basic_user_launcher"]

_TIMEOUT = 60.0


def _serve(conn: Any, backend: str) -> None:  # a Connection, or a PipeConnection on Windows
    """The child: open a pool, then run calls until told to stop or the pipe closes."""
    pool = open_pool(backend)
    sockets: dict[int, Socket] = {}
    while True:
        try:
            target, method, args = conn.recv()
        except EOFError:
            return
        try:
            if target is None:
                result = getattr(pool, method)(*args)
                if isinstance(result, Socket):
                    sockets[len(sockets) + 1] = result
                    result = ("socket", len(sockets))
            else:
                result = getattr(sockets[target], method)(*args)
                if method == "accept":  # the new socket stays here; the parent gets its handle
                    sockets[len(sockets) + 1] = result[0]
                    result = (len(sockets), result[0].family, result[0].type, result[1])
        except PortPoolError as exc:
            conn.send(("error", exc.winerror, str(exc)))
        except (TypeError, ValueError, OverflowError) as exc:
            conn.send(("python", type(exc).__name__, str(exc)))
        else:
            conn.send(("ok", result))
        if target is None and method == "close":
            return


def _connect_back(backend: str, launch: Callable[[list[str]], None]) -> tuple[Any, int]:
    """Start a child with ``launch`` and wait (at most ``_TIMEOUT``) for it to connect."""
    key = secrets.token_bytes(32)
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        host, port = listener.address
        accepted: list[Any] = []  # Connection, or PipeConnection on Windows

        def accept() -> None:
            with contextlib.suppress(OSError, EOFError, multiprocessing.AuthenticationError):
                accepted.append(listener.accept())

        def wake() -> None:  # a connection that fails to authenticate ends the accept
            with contextlib.suppress(OSError), socket.create_connection((host, port), 5):
                pass
            waiter.join(_TIMEOUT)

        waiter = threading.Thread(target=accept, daemon=True)
        waiter.start()
        try:
            launch([sys.executable, "-m", "portpool._probes._child", host, str(port), key.hex(),
                    backend])
        except BaseException:
            wake()
            raise
        waiter.join(_TIMEOUT)
        if waiter.is_alive():
            wake()
    if not accepted:
        raise winerror(WinError.ERROR_INVALID_HANDLE,
                       f"the child process did not connect back in {_TIMEOUT}s")
    conn = accepted[0]
    if not conn.poll(_TIMEOUT):
        conn.close()
        raise winerror(WinError.ERROR_INVALID_HANDLE, "the child process did not say its pid")
    pid = conn.recv()
    return conn, int(pid)


def basic_user_launcher(command: list[str]) -> None:
    """Start ``command`` without administrator rights: ``runas /trustlevel:0x20000``
    (Windows; see the module docstring).

    Raises:
        PortPoolError: ERROR_ACCESS_DENIED when runas refused (its output says why).
    """
    line = subprocess.list2cmdline(command)
    done = subprocess.run(["runas", "/trustlevel:0x20000", line], capture_output=True,  # noqa: S603, S607 - runas from System32 with our own command line
                          stdin=subprocess.DEVNULL, check=False, timeout=_TIMEOUT)
    if done.returncode != 0:
        text = (done.stdout + done.stderr).decode(errors="replace").strip()
        raise winerror(WinError.ERROR_ACCESS_DENIED,
                       f"runas /trustlevel:0x20000 exited {done.returncode}: {text}")


def main(argv: list[str]) -> int:
    """The launched child: connect back to ``HOST PORT`` with ``KEY``, say its pid,
    then serve ``BACKEND``'s calls until told to stop."""
    host, port, key, backend = argv
    conn = Client((host, int(port)), authkey=bytes.fromhex(key))
    conn.send(os.getpid())
    _serve(conn, backend)
    conn.close()
    return 0


class ChildPool(PortPool):
    """A pool in a child process (see the module docstring).

    Args:
        backend: the backend the child opens (``"windows"`` on a real machine).
        launch: starts the child's command line its own way (a child with another
            token: :func:`basic_user_launcher`); ``None``: a ``multiprocessing`` child.

    Raises:
        PortPoolError: ERROR_INVALID_HANDLE when a launched child does not connect back
            in time; what ``launch`` raises.
    """

    def __init__(self, backend: str = "windows", *,
                 launch: Callable[[list[str]], None] | None = None) -> None:
        self._process: Any = None
        self._pid: int | None = None
        self._conn: Any  # a Connection, or a PipeConnection on Windows
        if launch is None:
            context = multiprocessing.get_context("spawn")
            self._conn, child_end = context.Pipe()
            self._process = context.Process(target=_serve, args=(child_end, backend), daemon=True)
            self._process.start()
            child_end.close()
        else:
            self._conn, self._pid = _connect_back(backend, launch)
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid if self._process is not None else self._pid

    def call(self, target: int | None, method: str, *args: Any) -> Any:
        """Run ``method`` on the child's pool (``target`` None) or socket ``target``.

        Raises:
            PortPoolError: the call failed in the child (its code), or the child is
                gone (ERROR_INVALID_HANDLE, with the reason).
            TypeError, ValueError, OverflowError: the child's Python refused the arguments.
        """
        if self._closed:
            raise winerror(WinError.ERROR_INVALID_HANDLE, "the child process has ended")
        try:
            self._conn.send((target, method, args))
            if not self._conn.poll(_TIMEOUT):
                raise winerror(WinError.ERROR_INVALID_HANDLE,
                               f"the child process did not answer {method} in {_TIMEOUT}s")
            answer = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise winerror(WinError.ERROR_INVALID_HANDLE, f"the child process has ended: {exc}") from None
        if answer[0] == "error":
            raise winerror(answer[1], answer[2])
        if answer[0] == "python":
            kind = {"TypeError": TypeError, "OverflowError": OverflowError}.get(answer[1], ValueError)
            raise kind(answer[2])
        return answer[1]

    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM,  # noqa: A002 - socket's own name
               proto: int = 0) -> Socket:
        """See :meth:`portpool.PortPool.socket`."""
        _, handle = self.call(None, "socket", family, type, proto)
        return _ChildSocket(self, handle, Family(family), type)

    def create_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.create_persistent_reservation`."""
        token: int = self.call(None, "create_persistent_reservation", protocol, start, count)
        return token

    def lookup_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        """See :meth:`portpool.PortPool.lookup_persistent_reservation`."""
        token: int = self.call(None, "lookup_persistent_reservation", protocol, start, count)
        return token

    def delete_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> None:
        """See :meth:`portpool.PortPool.delete_persistent_reservation`."""
        self.call(None, "delete_persistent_reservation", protocol, start, count)

    def kill(self) -> None:
        """End the child at once, closing nothing (Windows closes its sockets)."""
        if not self._closed:
            self._closed = True
            if self._process is not None:
                self._process.kill()
                self._process.join(_TIMEOUT)
            elif self._pid is not None:
                with contextlib.suppress(OSError):  # gone already
                    os.kill(self._pid, signal.SIGTERM)  # TerminateProcess on Windows
            self._conn.close()

    def close(self) -> None:
        """Close the child's pool and let it end."""
        if self._closed:
            return
        with contextlib.suppress(PortPoolError):  # the child is gone already
            self.call(None, "close")
        self._closed = True
        if self._process is not None:
            self._process.join(_TIMEOUT)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(_TIMEOUT)
        self._conn.close()


class _ChildSocket(Socket):
    """A socket of a :class:`ChildPool`."""

    __slots__ = ("_handle", "_pool")

    def __init__(self, pool: ChildPool, handle: int, family: Family, kind: int) -> None:
        self._pool, self._handle = pool, handle
        self._family, self._type = family, kind

    def acquire_port_reservation(self, start: int, count: int) -> Any:
        return self._pool.call(self._handle, "acquire_port_reservation", start, count)

    def associate_port_reservation(self, token: int) -> None:
        self._pool.call(self._handle, "associate_port_reservation", token)

    def release_port_reservation(self, token: int) -> None:
        self._pool.call(self._handle, "release_port_reservation", token)

    def bind(self, address: Address) -> None:
        self._pool.call(self._handle, "bind", address)

    def getsockname(self) -> Address:
        address: Address = self._pool.call(self._handle, "getsockname")
        return address

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self._pool.call(self._handle, "setsockopt", level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        value: int = self._pool.call(self._handle, "getsockopt", level, option)
        return value

    def connect(self, address: Address) -> None:
        self._pool.call(self._handle, "connect", address)

    def listen(self, backlog: int = 128) -> None:
        self._pool.call(self._handle, "listen", backlog)

    def accept(self) -> tuple[Socket, Address]:
        handle, family, kind, peer = self._pool.call(self._handle, "accept")
        return _ChildSocket(self._pool, handle, Family(family), kind), peer

    def getpeername(self) -> Address:
        address: Address = self._pool.call(self._handle, "getpeername")
        return address

    def set_cpu_affinity(self, processor: int) -> None:
        self._pool.call(self._handle, "set_cpu_affinity", processor)

    def close(self) -> None:
        try:
            self._pool.call(self._handle, "close")
        except PortPoolError:
            if not self._pool._closed:
                raise

    def fileno(self) -> int:
        value: int = self._pool.call(self._handle, "fileno")
        return value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
