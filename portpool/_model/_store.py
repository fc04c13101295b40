"""Where persistent reservations live: in memory, or in a sqlite file.

Windows keeps persistent reservations in "a persistent store of the TCP/UDP module"
that survives a restart (rule R13d).  ``SqliteStore`` plays that part: every change
is committed before the model changes its memory, so nothing committed is lost and
a failed write leaves the machine as it was.  Tokens are not stored: each boot hands
out new ones (rule A10).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Protocol as _Protocol

from .._errors import WinError, winerror
from .._types import Protocol

__all__ = ["MemoryStore", "SqliteStore", "Store"]


class Store(_Protocol):
    """The interface of a persistent-reservation store."""

    def load(self) -> list[tuple[Protocol, int, int]]:
        """Every stored block as (protocol, start, count)."""
        ...

    def add(self, protocol: Protocol, start: int, count: int) -> None:
        """Record a block durably."""
        ...

    def remove(self, protocol: Protocol, start: int, count: int) -> None:
        """Forget a block durably."""
        ...


class MemoryStore:
    """A store that lives as long as the Python object (the default)."""

    def __init__(self) -> None:
        self._blocks: set[tuple[Protocol, int, int]] = set()

    def load(self) -> list[tuple[Protocol, int, int]]:
        """Every stored block."""
        return sorted(self._blocks)

    def add(self, protocol: Protocol, start: int, count: int) -> None:
        """Record a block."""
        self._blocks.add((protocol, start, count))

    def remove(self, protocol: Protocol, start: int, count: int) -> None:
        """Forget a block."""
        self._blocks.discard((protocol, start, count))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS persistent_reservation (
    protocol INTEGER NOT NULL,
    start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (protocol, start)
)
"""


class SqliteStore:
    """Persistent reservations in a sqlite file that outlives the Python process.

    One connection per operation, committed before returning, so the file is never
    held open between calls (Windows would otherwise lock it).  A failure to read or
    write raises :class:`PortPoolError` with ERROR_NOT_SUPPORTED and changes nothing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._run(_SCHEMA)

    def _run(self, sql: str, params: tuple[int, ...] = ()) -> list[tuple[int, int, int]]:
        try:
            connection = sqlite3.connect(self.path)
            try:
                with connection:  # commits, or rolls back on error
                    rows = connection.execute(sql, params).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise winerror(WinError.ERROR_NOT_SUPPORTED,
                           f"persistent store {self.path!r}: {exc}") from None
        return rows

    def load(self) -> list[tuple[Protocol, int, int]]:
        """Every stored block."""
        rows = self._run("SELECT protocol, start, count FROM persistent_reservation"
                         " ORDER BY protocol, start")
        return [(Protocol(p), s, c) for p, s, c in rows]

    def add(self, protocol: Protocol, start: int, count: int) -> None:
        """Record a block (committed before returning)."""
        self._run("INSERT INTO persistent_reservation VALUES (?, ?, ?)",
                  (int(protocol), start, count))

    def remove(self, protocol: Protocol, start: int, count: int) -> None:
        """Forget a block (committed before returning)."""
        self._run("DELETE FROM persistent_reservation WHERE protocol=? AND start=? AND count=?",
                  (int(protocol), start, count))
