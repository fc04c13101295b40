"""``portpool.patch()``: run unmodified Windows code against an emulated machine.

In the spirit of pyfakefs's ``Patcher``: while the patch is active, ``ctypes`` (see
:mod:`._ctypes`) and ``socket`` (see :mod:`._socket`) show the code under test one
process of an :class:`~portpool.EmulatedHost`.

Scope:
    * Process-global, like pyfakefs: every thread sees the patch while it is active.
      Sockets made in any thread while it is active belong to the patch's process.
    * Nesting: a patch inside an active patch on the same host (and with the same
      ``admin``) shares the outer one's process and changes nothing; the outermost exit
      restores.  A patch on another host (or another ``admin``) while one is active
      raises :class:`RuntimeError`.
    * Leaving (also by an exception) ends the process, as a program's end does on
      Windows: every socket made under the patch closes (emulated and kernel), its runtime
      reservations go (R4); then ``ctypes`` and ``socket`` are exactly as before.
    * Code that bound ``socket.socket`` or ``ctypes.WinDLL`` to a name of its own before
      the patch began (``from socket import socket`` at import time) keeps the real ones.
"""

from __future__ import annotations

import ctypes
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from .._host import EmulatedHost, EmulatedProcess
from .._registry import load_backend
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

    def __init__(self, host: EmulatedHost, admin: bool) -> None:
        self.host, self.admin, self.depth = host, admin, 0
        self.dlls: EmulatedDlls = host.dlls(admin=admin)
        # The emulated backend's process object for the DLLs' pid: Python's sockets and
        # the DLLs' SOCKET handles are one process's.
        self.pool: EmulatedProcess = load_backend("emulated")(host, self.dlls.pid)
        data = _wsadata()
        # Python's socket module calls WSAStartup when it loads on Windows: the process
        # has Winsock started before the program's first ctypes call.
        getattr(self.dlls.ws2_32, "WSAStartup")(0x0202, ctypes.byref(data))  # noqa: B009 - a C export
        self.ctypes = CtypesPatch(self.dlls)
        self.socket = SocketPatch(self.pool)

    def install(self) -> None:
        self.ctypes.install()
        try:
            self.socket.install()
        except BaseException:
            self.ctypes.uninstall()
            raise

    def uninstall(self) -> None:
        try:
            self.socket.close_all()
            self.dlls.exit()
        finally:
            self.socket.uninstall()
            self.ctypes.uninstall()


def _wsadata() -> ctypes.Structure:
    return _abi.WSADATA()


class Patcher:
    """The context manager :func:`patch` returns; entering gives the host."""

    def __init__(self, host: EmulatedHost | None = None, *, admin: bool = False) -> None:
        if host is not None and not isinstance(host, EmulatedHost):
            raise TypeError(f"host must be an EmulatedHost or None, not {type(host).__name__}")
        if not isinstance(admin, bool):
            raise TypeError(f"admin must be True or False, not {admin!r}")
        self._host, self._admin = host, admin
        self._session: _Session | None = None

    def __enter__(self) -> EmulatedHost:
        global _current  # noqa: PLW0603 - the patch is process-global by design
        with _lock:
            if self._session is not None:
                raise RuntimeError("this portpool.patch() is already active")
            session = _current
            if session is not None:
                if (self._host is not None and self._host is not session.host) \
                        or self._admin != session.admin:
                    raise RuntimeError(
                        "portpool.patch() is already active for another host or another admin"
                        " setting; nest patches only on the same host (they share its process)")
            else:
                session = _Session(self._host if self._host is not None else EmulatedHost(),
                                   self._admin)
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
        return self._session.dlls.pid if self._session is not None else None


def patch(host: EmulatedHost | None = None, *, admin: bool = False) -> Patcher:
    """Make ``ctypes`` and ``socket`` show one process of an emulated Windows machine.

    ::

        with portpool.patch() as host:
            run_the_code_under_test()           # unchanged: ctypes.WinDLL("ws2_32"), socket
            print(host.netsh("int ipv4 show excludedportrange protocol=tcp"))

    Args:
        host: the machine; ``None`` makes a fresh :class:`~portpool.EmulatedHost`.
        admin: whether the process runs as an elevated administrator.

    Returns:
        A context manager; entering it returns the host.

    Raises:
        TypeError: ``host`` is not an EmulatedHost, or ``admin`` not a bool.
        RuntimeError: on entering, a patch for another host (or ``admin``) is active.
    """
    return Patcher(host, admin=admin)


def active() -> EmulatedHost | None:
    """The host of the active patch, or None."""
    session = _current
    return session.host if session is not None else None
