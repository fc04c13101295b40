"""``portpool.patch()``: run unmodified Windows code against an emulated machine.

In the spirit of pyfakefs's ``Patcher``: while the patch is active, ``ctypes`` (see
:mod:`._ctypes`) and ``socket`` (see :mod:`._socket`) show the code under test one
process of an :class:`~portpool.EmulatedHost`.

Scope:
    * Process-global, like pyfakefs: every thread sees the patch while it is active.
      Sockets made in any thread while it is active belong to the patch's process.
    * Nesting: a patch inside an active patch on the same host (and with the same
      settings) shares the outer one's process and changes nothing; the outermost exit
      restores.  A patch on another host (or other settings) while one is active
      raises :class:`RuntimeError`.
    * Leaving (also by an exception, also while other threads still make sockets) ends
      the process, as a program's end does on Windows: every socket made under the patch
      closes (emulated and kernel), its runtime reservations go (R4); a thread that makes
      a socket once leaving has begun gets WSANOTINITIALISED (10093) naming portpool;
      then ``ctypes`` and ``socket`` are exactly as before.
    * ``socket.socket`` under any name (``from socket import socket`` before the patch,
      subclasses, ``create_connection``) makes patched sockets: see :mod:`._socket`.
      ``keep_real=("module", ...)`` keeps the sockets those modules make real.
    * ``ctypes`` on Linux and macOS has no Windows names before the patch, so none can be
      taken early; on Windows a name taken before the patch (``from ctypes import
      windll``) keeps the real DLLs.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from .._host import EmulatedHost, EmulatedProcess
from .._winsock import _abi
from ._ctypes import CtypesPatch
from ._oserror import format_error, os_error
from ._socket import PatchedSocket, SocketPatch

if TYPE_CHECKING:
    from .._winsock._dlls import EmulatedDlls

__all__ = ["PatchedSocket", "Patcher", "active", "format_error", "os_error", "patch"]

_lock = threading.Lock()
_current: _Session | None = None


class _Session:
    """One active patch: the host, the process, the installed replacements."""

    def __init__(self, host: EmulatedHost, admin: bool, hermetic: bool,
                 keep_real: tuple[str, ...]) -> None:
        self.host, self.admin, self.depth = host, admin, 0
        self.hermetic, self.keep_real = hermetic, keep_real
        self.pool: EmulatedProcess = host.process(admin=admin)
        self._dlls: EmulatedDlls | None = None
        self._dlls_lock = threading.Lock()
        self.socket = SocketPatch(self.pool, hermetic=hermetic, keep_real=keep_real)
        self.ctypes = CtypesPatch(self.dlls, self.socket)

    def settings(self) -> tuple[object, ...]:
        return (self.admin, self.hermetic, self.keep_real)

    def dlls(self) -> EmulatedDlls:
        """The process's emulated DLLs, made when the program first loads one."""
        dlls = self._dlls
        if dlls is None:
            with self._dlls_lock:
                dlls = self._dlls
                if dlls is None:
                    from .._winsock._dlls import EmulatedDlls  # noqa: PLC0415 - only for programs that load a DLL

                    dlls = EmulatedDlls(self.host, self.pool.pid, self.host.calls)
                    # Python's socket module calls WSAStartup when it loads on Windows:
                    # the process has Winsock started before the program's first call.
                    getattr(dlls.ws2_32, "WSAStartup")(0x0202, ctypes.byref(_wsadata()))  # noqa: B009 - a C export
                    self._dlls = dlls
        return dlls

    def install(self) -> None:
        self.ctypes.install()
        try:
            self.socket.install()
        except BaseException:
            self.ctypes.uninstall()
            raise

    def uninstall(self) -> None:
        """Close the sockets, end the process, put everything back, whatever fails."""
        try:
            self.socket.close_all()
        finally:
            try:
                if self._dlls is not None:
                    self._dlls.exit()  # also aborts pending overlapped operations (B10)
                elif self.pool.alive:
                    self.pool.exit()
            finally:
                try:
                    self.socket.uninstall()
                finally:
                    self.ctypes.uninstall()


def _wsadata() -> ctypes.Structure:
    return _abi.WSADATA()


class Patcher:
    """The context manager :func:`patch` returns; entering gives the host."""

    def __init__(self, host: EmulatedHost | None = None, *, admin: bool = False,
                 hermetic: bool = False, keep_real: Iterable[str] = ()) -> None:
        if host is not None and not isinstance(host, EmulatedHost):
            raise TypeError(f"host must be an EmulatedHost or None, not {type(host).__name__}")
        if not isinstance(admin, bool):
            raise TypeError(f"admin must be True or False, not {admin!r}")
        if not isinstance(hermetic, bool):
            raise TypeError(f"hermetic must be True or False, not {hermetic!r}")
        if isinstance(keep_real, str):
            raise TypeError("keep_real must be an iterable of module names, not one str")
        kept = tuple(keep_real)
        for name in kept:
            if not isinstance(name, str) or not name:
                raise TypeError(f"keep_real holds module names, not {name!r}")
        self._host, self._admin = host, admin
        self._settings = (admin, hermetic, kept)
        self._session: _Session | None = None

    def __enter__(self) -> EmulatedHost:
        global _current  # noqa: PLW0603 - the patch is process-global by design
        with _lock:
            if self._session is not None:
                raise RuntimeError("this portpool.patch() is already active")
            session = _current
            if session is not None:
                if (self._host is not None and self._host is not session.host) \
                        or self._settings != session.settings():
                    raise RuntimeError(
                        "portpool.patch() is already active for another host or other settings"
                        " (admin, hermetic, keep_real); nest patches only on the same host with"
                        " the same settings (they share its process)")
            else:
                session = _Session(self._host if self._host is not None else EmulatedHost(),
                                   *self._settings)
                session.install()
                _current = session
            session.depth += 1
            self._session = session
            return session.host

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        global _current  # noqa: PLW0603 - the patch is process-global by design
        with _lock:
            session, self._session = self._session, None
            if session is None:
                return
            session.depth -= 1
            if session.depth == 0:
                _current = None
                session.uninstall()

    @property
    def host(self) -> EmulatedHost | None:
        """The patched host while active."""
        return self._session.host if self._session is not None else None

    @property
    def pid(self) -> int | None:
        """The patched process's id while active."""
        return self._session.pool.pid if self._session is not None else None


def patch(host: EmulatedHost | None = None, *, admin: bool = False, hermetic: bool = False,
          keep_real: Iterable[str] = ()) -> Patcher:
    """Make ``ctypes`` and ``socket`` show one process of an emulated Windows machine.

    ::

        with portpool.patch() as host:
            run_the_code_under_test()           # unchanged: ctypes.WinDLL("ws2_32"), socket
            print(host.netsh("int ipv4 show excludedportrange protocol=tcp"))

    Args:
        host: the machine; ``None`` makes a fresh :class:`~portpool.EmulatedHost`.
        admin: whether the process runs as an elevated administrator.
        hermetic: the emulated machine reaches nothing outside itself: a TCP connect to a
            loopback address and port no patched socket holds is refused (10061) and a
            datagram there dropped.  By default it reaches the real service listening
            there (a server started before the patch, a database in a container), as a
            Windows machine reaches its own services.
        keep_real: names of modules (with their submodules) whose sockets stay real
            kernel sockets, made anywhere below a call from them.

    Returns:
        A context manager; entering it returns the host.

    Raises:
        TypeError: ``host`` is not an EmulatedHost, ``admin`` or ``hermetic`` not a
            bool, ``keep_real`` not an iterable of module names.
        RuntimeError: on entering, a patch for another host (or other settings) is active.
    """
    return Patcher(host, admin=admin, hermetic=hermetic, keep_real=keep_real)


def active() -> EmulatedHost | None:
    """The host of the active patch, or None."""
    session = _current
    return session.host if session is not None else None
