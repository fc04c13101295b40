"""The twins of every process on a shared machine: emulated port -> kernel address.

Each patched process keeps its own map from the emulated ``(protocol, address, port)``
its sockets are bound to, to the loopback address of their kernel twins (see
:mod:`._socket`).  Processes that share one machine (a parent and the children that
joined it, :mod:`._children`) also publish their map in a small sqlite file beside the
machine's store, ``<store>-twins``, so that a connect or a datagram to an emulated port
another process holds reaches that process's twin, as on one Windows machine.

A row belongs to the process (``os.getpid()``) that bound the socket; it goes when the
socket closes or the process exits; rows of a process that no longer runs are skipped
and removed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, Final

from .._types import Family, Protocol

__all__ = ["TwinMap", "twins_path"]

_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS twin(
    pid INTEGER NOT NULL, protocol INTEGER NOT NULL, family INTEGER NOT NULL,
    host TEXT NOT NULL, port INTEGER NOT NULL, real_host TEXT NOT NULL, real_port INTEGER NOT NULL,
    PRIMARY KEY (pid, protocol, real_port))"""
_WILDCARD: Final = {Family.INET: "0.0.0.0", Family.INET6: "::"}
_TIMEOUT: Final = 10.0  # seconds another process may hold the file's write lock


def twins_path(store: str) -> str:
    """The twin map file of the machine kept in ``store``."""
    return f"{store}-twins"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


class TwinMap:
    """The published twins of one shared machine, and the hooks that keep this
    process's rows current.

    Args:
        path: the map's sqlite file (made if missing).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._lock = threading.Lock()
        with self._connection() as connection:
            connection.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=_TIMEOUT, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    # --- rows -------------------------------------------------------------------------

    def publish(self, entry: Any) -> None:
        """Publish one bound socket of this process whose twin has a kernel address."""
        if entry is None or entry.real is None:
            return
        with self._lock, self._connection() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO twin VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.pid, int(entry.protocol), int(entry.family), str(entry.host), int(entry.port),
                 str(entry.real[0]), int(entry.real[1])))

    def withdraw(self, entry: Any) -> None:
        """Remove the row of one socket of this process (it closed)."""
        if entry is None or entry.real is None:
            return
        with self._lock, self._connection() as connection:
            connection.execute("DELETE FROM twin WHERE pid = ? AND protocol = ? AND real_port = ?",
                               (self.pid, int(entry.protocol), int(entry.real[1])))

    def withdraw_all(self) -> None:
        """Remove every row of this process (it exits, or stops sharing)."""
        with self._lock, self._connection() as connection:
            connection.execute("DELETE FROM twin WHERE pid = ?", (self.pid,))

    def lookup(self, protocol: Protocol, family: Family, host: str, port: int) -> tuple[Any, ...] | None:
        """The kernel address of another live process's twin bound to the emulated
        ``(host, port)``, or to the family's wildcard address there; None if none."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT pid, host, real_host, real_port FROM twin WHERE protocol = ? AND family = ?"
                " AND port = ? AND pid != ? AND host IN (?, ?)",
                (int(protocol), int(family), port, self.pid, host, _WILDCARD[family])).fetchall()
        rows.sort(key=lambda row: row[1] != host)  # the exact address before the wildcard
        for pid, _, real_host, real_port in rows:
            if _alive(int(pid)):
                address = (str(real_host), int(real_port))
                return address if family is Family.INET else (*address, 0, 0)
            with self._lock, self._connection() as connection:
                connection.execute("DELETE FROM twin WHERE pid = ?", (pid,))
        return None

    # --- the hooks on a patched process's port map -------------------------------------

    def attach(self, sockets: Any) -> None:
        """Keep ``sockets`` (the patch's :class:`~._socket.SocketPatch`) published, and let
        its lookups fall back to the other processes' twins."""
        register, set_real = sockets.register, sockets.set_real
        unregister, kernel_target = sockets.unregister, sockets.kernel_target

        def register_hook(owner: object, entry: Any, *args: Any) -> None:
            register(owner, entry, *args)
            self.publish(entry)

        def set_real_hook(owner: object, real: tuple[Any, ...]) -> None:
            set_real(owner, real)
            self.publish(sockets.bound.get(id(owner)))

        def unregister_hook(owner: object, *args: Any) -> None:
            entry = sockets.bound.get(id(owner))
            unregister(owner, *args)
            self.withdraw(entry)

        def kernel_target_hook(protocol: Protocol, family: Family, host: str,
                               port: int) -> tuple[Any, ...] | None:
            found = kernel_target(protocol, family, host, port)
            return found if found is not None else self.lookup(protocol, family, host, port)

        sockets.register, sockets.set_real = register_hook, set_real_hook
        sockets.unregister, sockets.kernel_target = unregister_hook, kernel_target_hook
        for entry in list(sockets.bound.values()):
            self.publish(entry)

    def detach(self, sockets: Any) -> None:
        """Undo :meth:`attach` and withdraw this process's rows."""
        for name in ("register", "set_real", "unregister", "kernel_target"):
            vars(sockets).pop(name, None)
        self.withdraw_all()
