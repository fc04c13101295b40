"""``SqliteStore``: the machine's registry in a sqlite file that outlives the Python process.

``SqliteStore`` can be shared by several hosts and processes (pytest-xdist workers,
say): each write runs in a ``BEGIN IMMEDIATE`` transaction, so of two overlapping writes
exactly one wins; a new machine is configured and booted by one such transaction
(``first_boot``), so processes opening one new file at once make the machine once.  The
file is opened for each operation and never held open between calls.  A failure to read
or write at run time raises ``PortPoolError`` (ERROR_NOT_SUPPORTED) and changes nothing.

What a store holds obeys the rules a live machine obeys, and the loader checks every
row against them: ports in 1-65535, no two blocks of a protocol overlapping, dynamic
ranges of at least 255 ports from port 1024 up (rules Y1, Y2; a host whose Y2 asks
1025 still refuses to set 1024 itself), a preset this portpool knows.  Writes refuse
the same things (ValueError).  A file that is not a usable store is refused with
:class:`StoreError` and never written to: it must be a regular file (a FIFO or a
device is refused without waiting on it), a sqlite database (rollback journal, not
WAL) with the portpool marker and this schema, and pass sqlite's quick check when it
is opened.  A writer that died inside its COMMIT leaves a *hot* journal, which the
first read rolls back (a write): so a hot journal is first rolled back in a copy, and
the file itself is opened only when the copy is a portpool store.  A writer that died
before its COMMIT leaves a journal whose header is still blank: the file was never
touched, readers rightly leave that journal alone, and the next write removes it.

Sqlite layout (schema 1)::

    meta(key TEXT PRIMARY KEY, value)        application='portpool', schema=1,
                                             preset=text or NULL, seed=decimal text
                                             (a Python int of up to 4,300 digits),
                                             boot=int, version=int (absent: 0),
                                             tcp_timed_wait_delay=int (once set, T2),
                                             tcp_auto_reuse_start=int and
                                             tcp_auto_reuse_count=int (both or
                                             neither, once set, O15)
    reservation(protocol, start, count, active)     PRIMARY KEY (protocol, start)
    exclusion(protocol, start, count, owner)        PRIMARY KEY (protocol, start)
    dynamic_range(protocol, family, start, count)   PRIMARY KEY (protocol, family)

A new file is created with mode 0600 (owner only) and appears complete: it is
built under a temporary name in the same directory and linked into place, so a
process opening the path at the same moment sees either nothing or a whole store.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import attrs

from ..._errors import PortPoolError, WinError, shown, winerror
from ..._types import Family, PortRange, Protocol
from .._presets import LOWEST_DYNAMIC_START, MIN_DYNAMIC_PORTS, PRESETS
from ._contract import (
    _add_rows_args,
    _check_auto_reuse,
    _check_delay,
    _check_range_args,
    _first_boot_args,
    _placed,
)
from ._records import (
    Commit,
    MachineRecord,
    RangeKey,
    Row,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
    StoreError,
    _check_block,
    _check_owner,
    _check_preset,
    _check_text,
    _describe,
    _row_key,
    _seed_text,
)

if TYPE_CHECKING:  # sqlite3 loads with the first SqliteStore, not with the model
    import sqlite3

__all__ = ["SqliteStore"]

SCHEMA: Final = 1
APPLICATION: Final = "portpool"


_CREATE: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value)",
    "CREATE TABLE reservation (protocol INTEGER NOT NULL, start INTEGER NOT NULL,"
    " count INTEGER NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (protocol, start))",
    "CREATE TABLE exclusion (protocol INTEGER NOT NULL, start INTEGER NOT NULL,"
    " count INTEGER NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (protocol, start))",
    "CREATE TABLE dynamic_range (protocol INTEGER NOT NULL, family INTEGER NOT NULL,"
    " start INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (protocol, family))",
)
_TABLES: Final = {
    "meta": {"key", "value"},
    "reservation": {"protocol", "start", "count", "active"},
    "exclusion": {"protocol", "start", "count", "owner"},
    "dynamic_range": {"protocol", "family", "start", "count"},
}
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_DECIMAL: Final = re.compile(r"-?[0-9]+")
# sqlite primary result codes that say "this file holds something else", as opposed
# to "cannot read or write it now" (busy, locked, I/O, cannot open, read-only, full).
_CONTENT_CODES: Final = frozenset({
    1,   # SQLITE_ERROR: no such table or column, the schema is not ours
    11,  # SQLITE_CORRUPT
    17,  # SQLITE_SCHEMA
    19,  # SQLITE_CONSTRAINT
    20,  # SQLITE_MISMATCH
    24,  # SQLITE_FORMAT
    25,  # SQLITE_RANGE
    26,  # SQLITE_NOTADB
})
DEFAULT_TIMEOUT: Final = 10.0
_SQLITE_READONLY_ROLLBACK: Final = 776  # a read-only connection met a hot journal


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


class _NotAStoreError(Exception):
    """A reason the open file is not a usable store (becomes StoreError)."""


class _Passthrough(Exception):  # noqa: N818 - a carrier, not an error of its own
    """Carries an exception raised by ``place`` out of the transaction untranslated."""

    def __init__(self, inner: BaseException) -> None:
        super().__init__(inner)
        self.inner = inner


def _protocol_value(value: object) -> Protocol:
    if type(value) is not int or value not in (6, 17):
        raise ValueError(f"protocol must be 6 (TCP) or 17 (UDP), not {shown(value)}")
    return Protocol(value)


def _family_value(value: object) -> Family:
    if type(value) is not int or value not in (2, 23):
        raise ValueError(f"family must be 2 (IPv4) or 23 (IPv6), not {shown(value)}")
    return Family(value)


def _plain_int(name: str, value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an integer, not {shown(value)}")
    return value


def _parse(table: str, row: tuple[object, ...]) -> Row:
    try:
        protocol, start, count, last = row
        kind = _protocol_value(protocol)
        first, size = _plain_int("start", start), _plain_int("count", count)
        if table == "reservation":
            if type(last) is not int or last not in (0, 1):
                raise ValueError(f"active must be 0 or 1, not {shown(last)}")
            return StoredReservation(kind, first, size, bool(last))
        return StoredExclusion(kind, first, size, _check_owner(last))
    except (TypeError, ValueError) as exc:
        raise _NotAStoreError(f"{table} row {shown(row)}: {exc}") from None


def _parse_range(row: tuple[object, ...]) -> tuple[RangeKey, PortRange]:
    try:
        protocol, family, start, count = row
        key = (_protocol_value(protocol), _family_value(family))
        return key, PortRange(_plain_int("start", start), _plain_int("count", count))
    except (TypeError, ValueError) as exc:
        raise _NotAStoreError(f"dynamic_range row {shown(row)}: {exc}") from None


def _check_structure(connection: sqlite3.Connection, verified: int | None = None) -> int:
    """The portpool marker, a schema this code reads, and the tables it needs.

    Returns sqlite's schema cookie (``PRAGMA schema_version``, changed by every change
    to the tables).  Given the cookie of a check already passed on this file, only the
    marker is read again: the tables cannot have changed.
    """
    cookie = connection.execute("PRAGMA schema_version").fetchone()[0]
    if cookie == verified:
        _check_marker(connection)
        return int(cookie)
    objects = connection.execute("SELECT type, name FROM sqlite_master").fetchall()
    tables = sorted(name for kind, name in objects if kind == "table")
    if "meta" not in tables:
        if not objects:
            raise _NotAStoreError("a sqlite database with no tables, not a portpool store")
        if tables == ["persistent_reservation"]:
            raise _NotAStoreError("a store of portpool 0.1 (table persistent_reservation, no portpool"
                           " marker); this version does not convert it")
        raise _NotAStoreError(f"a sqlite database without the portpool marker (tables: {', '.join(tables)})")
    _check_marker(connection)
    for kind, name in objects:
        if kind in ("view", "trigger"):
            raise _NotAStoreError(f"unexpected {kind} {shown(name)}")
    for table, columns in _TABLES.items():
        if table not in tables:
            raise _NotAStoreError(f"table {shown(table)} is missing")
        found = {c for (c,) in connection.execute("SELECT name FROM pragma_table_info(?)", (table,))}
        if found != columns:
            raise _NotAStoreError(f"table {shown(table)} has columns {sorted(found)}, not {sorted(columns)}")
    return int(cookie)


def _check_marker(connection: sqlite3.Connection) -> None:
    meta: dict[object, object] = {}
    for key, value in connection.execute("SELECT key, value FROM meta").fetchall():
        if key in meta:
            raise _NotAStoreError(f"meta key {shown(key)} appears twice")
        meta[key] = value
    if meta.get("application") != APPLICATION:
        raise _NotAStoreError(f"a sqlite database with a meta table but not the portpool marker"
                       f" (application={meta.get('application')!r})")
    schema = meta.get("schema")
    if type(schema) is int and schema > SCHEMA:
        raise _NotAStoreError(f"written by a newer portpool (schema {schema}; this version reads"
                       f" schema {SCHEMA})")
    if schema != SCHEMA or type(schema) is not int:
        raise _NotAStoreError(f"meta schema {shown(schema)} is not {SCHEMA}")


def _read(connection: sqlite3.Connection) -> MachineRecord:
    """The whole record, every row checked (after ``_check_structure``)."""
    meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    for key in ("preset", "seed", "boot"):
        if key not in meta:
            raise _NotAStoreError(f"meta key {shown(key)} is missing")
    preset, seed, boot = meta["preset"], meta["seed"], meta["boot"]
    if preset is not None and not isinstance(preset, str):
        raise _NotAStoreError(f"meta preset {shown(preset)} is not text")
    if preset is not None and preset not in PRESETS:
        raise _NotAStoreError(f"meta preset {shown(preset)} is none this portpool knows"
                              f" ({', '.join(PRESETS)})")
    version = _version_of(meta)
    if not isinstance(seed, str) or not _DECIMAL.fullmatch(seed):
        raise _NotAStoreError(f"meta seed {shown(seed)} is not a decimal integer")
    if type(boot) is not int or boot < 0:
        raise _NotAStoreError(f"meta boot {shown(boot)} is not a count")
    try:
        seed_value = int(seed)
    except ValueError as exc:  # more digits than int() reads
        raise _NotAStoreError(f"meta seed: {exc}") from None
    rows = [_parse("reservation", row) for row in connection.execute(
        "SELECT protocol, start, count, active FROM reservation")]
    rows += [_parse("exclusion", row) for row in connection.execute(
        "SELECT protocol, start, count, owner FROM exclusion")]
    rows.sort(key=_row_key)
    for before, after in itertools.pairwise(rows):
        if before.protocol is after.protocol and before.last >= after.start:
            raise _NotAStoreError(f"overlapping rows: {_describe(before)} and {_describe(after)}")
    ranges: dict[RangeKey, PortRange] = {}
    for row in connection.execute("SELECT protocol, family, start, count FROM dynamic_range"):
        where, dynamic = _parse_range(row)
        if where in ranges:
            raise _NotAStoreError(f"dynamic_range {where[0].name}/{where[1].name} appears twice")
        if dynamic.count < MIN_DYNAMIC_PORTS or dynamic.start < LOWEST_DYNAMIC_START:
            raise _NotAStoreError(
                f"dynamic_range {where[0].name}/{where[1].name} {shown(dynamic)} is no dynamic range"
                f" (rules Y1, Y2: at least {MIN_DYNAMIC_PORTS} ports, from port"
                f" {LOWEST_DYNAMIC_START} up)")
        ranges[where] = dynamic
    delay = meta.get(_DELAY_KEY)
    if delay is not None and (type(delay) is not int or delay <= 0):
        raise _NotAStoreError(f"meta {_DELAY_KEY} {shown(delay)} is not a number of seconds")
    return MachineRecord(
        reservations=[r for r in rows if isinstance(r, StoredReservation)],
        exclusions=[r for r in rows if isinstance(r, StoredExclusion)],
        ranges=ranges, preset=preset, seed=seed_value, boot=boot, version=version,
        time_wait_delay=delay, auto_reuse_ports=_read_auto_reuse(meta))


def _read_auto_reuse(meta: Mapping[object, object]) -> PortRange | None:
    """The auto-reuse port range the meta table holds (rule O15; both keys or none)."""
    start, count = meta.get(_AUTO_REUSE_KEYS[0]), meta.get(_AUTO_REUSE_KEYS[1])
    if start is None and count is None:
        return None
    if type(start) is not int or type(count) is not int:
        raise _NotAStoreError(f"meta {_AUTO_REUSE_KEYS[0]} {shown(start)} and"
                              f" {_AUTO_REUSE_KEYS[1]} {shown(count)} are no port range")
    try:
        return PortRange(start, count)
    except ValueError as exc:
        raise _NotAStoreError(f"meta auto-reuse port range: {exc}") from None


def _version_of(meta: Mapping[object, object]) -> int:
    """The store's version (meta key 'version'; a store no write has counted yet: 0)."""
    version = meta.get("version", 0)
    if type(version) is not int or version < 0:
        raise _NotAStoreError(f"meta version {shown(version)} is not a count")
    return version


def _read_version(connection: sqlite3.Connection) -> int:
    return _version_of(dict(connection.execute(
        "SELECT key, value FROM meta WHERE key = 'version'").fetchall()))


def _commit(connection: sqlite3.Connection, before: int, rows: int) -> Commit:
    """Count a write inside its transaction (one more version if it changed anything)."""
    if not rows:
        return Commit(before, before, 0)
    connection.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (before + 1,))
    return Commit(before, before + 1, rows)


def _in_the_way(connection: sqlite3.Connection, new: Row) -> Row | None:
    """The stored row of ``new.protocol`` that overlaps ``new``, if any: the one with
    the greatest start at or below ``new.last`` (rows never overlap; see ``_Index``)."""
    found: list[Row] = []
    for table, last in (("reservation", "active"), ("exclusion", "owner")):
        row = connection.execute(
            f"SELECT protocol, start, count, {last} FROM {table}"  # noqa: S608 - fixed names
            " WHERE protocol = ? AND start <= ? ORDER BY start DESC LIMIT 1",
            (int(new.protocol), new.last)).fetchone()
        if row is not None:
            found.append(_parse(table, row))
    if not found:
        return None
    row = max(found, key=_row_key)
    return row if row.last >= new.start else None


def _insert(connection: sqlite3.Connection, new: Row) -> None:
    """Write ``new`` unless a stored row is in the way."""
    row = _in_the_way(connection, new)
    if row is not None:
        raise StoreConflict(row, new)
    if isinstance(new, StoredReservation):
        connection.execute("INSERT INTO reservation VALUES (?, ?, ?, ?)",
                           (int(new.protocol), new.start, new.count, int(new.active)))
    else:
        connection.execute("INSERT INTO exclusion VALUES (?, ?, ?, ?)",
                           (int(new.protocol), new.start, new.count, new.owner))


def _write_range(connection: sqlite3.Connection, protocol: Protocol, family: Family,
                 dynamic: PortRange) -> None:
    """Store the dynamic range of (protocol, family) in place of the stored one."""
    key = (int(protocol), int(family))
    connection.execute("DELETE FROM dynamic_range WHERE protocol = ? AND family = ?", key)
    connection.execute("INSERT INTO dynamic_range VALUES (?, ?, ?, ?)",
                       (*key, dynamic.start, dynamic.count))


#: The meta key of TcpTimedWaitDelay (rule T2); absent until it is set.
_DELAY_KEY: Final = "tcp_timed_wait_delay"


#: The meta keys of the TCP auto-reuse port range (rule O15); absent while none is set.
_AUTO_REUSE_KEYS: Final = ("tcp_auto_reuse_start", "tcp_auto_reuse_count")


def _write_preset(connection: sqlite3.Connection, name: str | None, seed: int) -> None:
    connection.executemany("UPDATE meta SET value = ? WHERE key = ?",
                           [(name, "preset"), (_seed_text(seed), "seed")])


def _boot(connection: sqlite3.Connection,
          place: Callable[[MachineRecord], Sequence[StoredExclusion]]) -> MachineRecord:
    """Boot anew inside the caller's write transaction (see :meth:`Store.reboot`):
    drop the active reservations and every exclusion, count the boot, store what
    ``place`` returns.  The caller rolls back if this raises."""
    before = _read(connection)
    after = attrs.evolve(
        before, reservations=[r for r in before.reservations if not r.active],
        exclusions=(), boot=before.boot + 1)
    try:
        rows = _placed(place(after))
    except BaseException as exc:
        raise _Passthrough(exc) from None
    connection.execute("DELETE FROM reservation WHERE active != 0")
    connection.execute("DELETE FROM exclusion")
    connection.execute("UPDATE meta SET value = ? WHERE key = 'boot'", (after.boot,))
    for row in rows:
        _insert(connection, row)
    commit = _commit(connection, before.version, 1)
    return attrs.evolve(after, exclusions=sorted(rows, key=lambda r: (r.protocol, r.start)),
                        version=commit.after)


def _file_uri(path: str, mode: str) -> str:
    """sqlite's URI for the absolute ``path``, opened in ``mode`` (rw: never create it)."""
    from pathlib import Path

    return f"{Path(path).as_uri()}?mode={mode}"


def _create_file(path: str) -> None:
    """Make an empty file readable and writable by its owner only; fail if it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    os.close(os.open(path, flags, 0o600))


class SqliteStore:
    """The store in a sqlite file that outlives the Python process.

    Opening a path that does not exist makes a new store there (mode 0600).  Opening
    an existing file checks it completely and refuses it, untouched, if it is not a
    portpool store.  One connection per operation, committed before returning; several
    hosts and processes may share one file.

    Args:
        path: the file.
        timeout: how long to wait, in seconds, for another writer to finish before
            failing with ERROR_NOT_SUPPORTED.

    Raises:
        StoreError: the file exists and is not a usable portpool store.
        PortPoolError: ERROR_NOT_SUPPORTED, the file cannot be created or read.
        TypeError, ValueError: ``path`` is not a path, or is empty; a bad ``timeout``.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        text = os.fspath(path)
        if not isinstance(text, str):
            raise TypeError(f"path must be text, not {type(text).__name__}")
        if not text:
            raise ValueError("path must not be empty")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if not timeout >= 0:
            raise ValueError(f"timeout must be at least 0, not {timeout}")
        self.path = text
        self._timeout = float(timeout)
        self._absolute = os.path.abspath(text)
        self._uri = _file_uri(self._absolute, "rw")
        # The file (device, inode) and schema cookie whose tables were last checked.
        self._verified: tuple[tuple[int, int] | None, int | None] = (None, None)
        if not os.path.lexists(self._absolute):
            with self._errors():
                self._create()
        with self._transaction(write=False) as connection:
            _read(connection)
            problems = [p for (p,) in connection.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise _NotAStoreError(f"damaged (sqlite's quick check: {'; '.join(problems)})")

    def __repr__(self) -> str:
        return f"SqliteStore({shown(self.path)})"

    # --- the file ----------------------------------------------------------------

    def _connect(self, path: str) -> sqlite3.Connection:
        # mode=rw: never create the file (a store deleted at run time is an error,
        # not a new empty store).
        import sqlite3

        uri = self._uri if path == self._absolute else _file_uri(path, "rw")
        return sqlite3.connect(uri, uri=True, timeout=self._timeout, isolation_level=None)

    def _create(self) -> None:
        """Make a new store at the path, complete when it appears there.

        It is built under a temporary name (mode 0600) and hard-linked into place, which
        fails if the path exists: of several processes creating one store at once, one
        links and the others open its store.  Where the file system has no hard links
        the store is made in place (then another process could see it empty for a moment).
        """
        import secrets

        directory, name = os.path.split(self._absolute)
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.new")
        _create_file(temp)
        try:
            self._initialize(temp)
            try:
                os.link(temp, self._absolute)
            except FileExistsError:
                return  # another process made it first: open theirs
            except OSError:
                pass  # no hard links here
            else:
                return
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        try:
            _create_file(self._absolute)
        except FileExistsError:
            return  # another process made it first: open theirs
        try:
            self._initialize(self._absolute)
        except BaseException:
            with contextlib.suppress(OSError):  # leave no empty file behind
                os.unlink(self._absolute)
            raise

    def _initialize(self, path: str) -> None:
        connection = self._connect(path)
        try:
            connection.execute("BEGIN IMMEDIATE")
            if connection.execute("SELECT count(*) FROM sqlite_master").fetchone() != (0,):
                raise FileExistsError(path)  # somebody else's file: never write to it
            for statement in _CREATE:
                connection.execute(statement)
            connection.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("application", APPLICATION), ("schema", SCHEMA), ("preset", None),
                ("seed", "0"), ("boot", 0)])
            connection.execute("COMMIT")
        finally:
            connection.close()

    def _sniff(self) -> tuple[int, int]:
        """Refuse, from what it is and its first bytes, a file sqlite should not open;
        never block (a FIFO is opened without waiting for a writer) and never write.
        Returns the file's identity (device, inode)."""
        descriptor = os.open(self._absolute, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
        try:
            status = os.fstat(descriptor)
            mode = status.st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", self._absolute)
            if not stat.S_ISREG(mode):
                raise _NotAStoreError(f"not a regular file ({_file_kind(mode)})")
            identity = (status.st_dev, status.st_ino)
            header = os.read(descriptor, 100)
        finally:
            os.close(descriptor)
        if not header:
            raise _NotAStoreError("an empty (0-byte) file, not a portpool store")
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            raise _NotAStoreError("not a sqlite database")
        if 2 in (header[18], header[19]):
            raise _NotAStoreError("a sqlite database in WAL mode, not a portpool store")
        self._check_hot_journal()
        return identity

    def _check_hot_journal(self) -> None:
        """Refuse, untouched, a file that is not a portpool store but has a hot journal.

        A hot journal (left by a writer that died inside its COMMIT) is rolled back by
        the next connection that reads the file: a write.  So before the first read, a
        journal beside the file is tried read-only; if sqlite finds it hot, the file and its
        journal are copied aside, the copy is rolled back and checked, and only a portpool
        store is opened (and so rolled back) in place.
        """
        journal = self._absolute + "-journal"
        try:
            if os.stat(journal).st_size == 0:
                return
        except FileNotFoundError:
            return
        import shutil
        import sqlite3
        import tempfile

        probe = sqlite3.connect(_file_uri(self._absolute, "ro"), uri=True,
                                timeout=self._timeout, isolation_level=None)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return  # not hot: a live writer's journal, or none that matters
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) != _SQLITE_READONLY_ROLLBACK:
                raise
        finally:
            probe.close()
        with tempfile.TemporaryDirectory() as directory:
            copy = os.path.join(directory, "store")
            shutil.copyfile(self._absolute, copy)
            shutil.copyfile(journal, copy + "-journal")
            connection = self._connect(copy)
            try:
                connection.execute("BEGIN")
                try:
                    _check_structure(connection)
                except _NotAStoreError as exc:
                    raise _NotAStoreError(f"{exc}; a journal of an unfinished write lies beside"
                                          " it, left as it was") from None
            finally:
                connection.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate failures: content -> StoreError, I/O -> PortPoolError."""
        import sqlite3

        try:
            yield
        except _Passthrough as carrier:
            raise carrier.inner from None
        except _NotAStoreError as exc:
            raise StoreError(self.path, str(exc)) from None
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in _CONTENT_CODES:
                raise StoreError(self.path, f"damaged: {exc}") from None
            raise winerror(WinError.ERROR_NOT_SUPPORTED,
                           f"persistent store {shown(self.path)}: {exc}") from None
        except PortPoolError:
            raise
        except OSError as exc:
            raise winerror(WinError.ERROR_NOT_SUPPORTED,
                           f"persistent store {shown(self.path)}: {exc}") from None

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction, committed on success, else rolled back."""
        import sqlite3

        with self._errors():
            identity = self._sniff()
            connection = self._connect(self._absolute)
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    verified = self._verified[1] if self._verified[0] == identity else None
                    self._verified = (identity, _check_structure(connection, verified))
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            connection.execute("ROLLBACK")
                    raise
            finally:
                connection.close()

    # --- the Store protocol --------------------------------------------------------

    def load(self) -> MachineRecord:
        """Everything stored, every row checked again (see :meth:`Store.load`)."""
        with self._transaction(write=False) as connection:
            return _read(connection)

    def version(self) -> int:
        """The store's version, read without reading a row (see :meth:`Store.version`)."""
        with self._errors():
            self._sniff()
            connection = self._connect(self._absolute)
            try:
                return _read_version(connection)  # one statement: its own transaction
            finally:
                connection.close()

    def add_reservation(self, protocol: Protocol, start: int, count: int, *, active: bool) -> Commit:
        """Store a persistent reservation, checked and written in one transaction (see
        :meth:`Store.add_reservation`)."""
        return self._add_row(StoredReservation(protocol, start, count, active))

    def remove_reservation(self, protocol: Protocol, start: int, count: int) -> Commit:
        """See :meth:`Store.remove_reservation`."""
        _check_block(protocol, start, count)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            cursor = connection.execute(
                "DELETE FROM reservation WHERE protocol = ? AND start = ? AND count = ?",
                (int(protocol), start, count))
            return _commit(connection, before, cursor.rowcount)

    def add_exclusion(self, protocol: Protocol, start: int, count: int, owner: str) -> Commit:
        """Store a system exclusion, checked and written in one transaction (see
        :meth:`Store.add_exclusion`)."""
        return self._add_row(StoredExclusion(protocol, start, count, owner))

    def _add_row(self, row: Row) -> Commit:
        """Insert one checked row in a transaction of its own (refused when in the way)."""
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            _insert(connection, row)
            return _commit(connection, before, 1)

    def remove_exclusions(self, owner: str) -> Commit:
        """Forget every exclusion of ``owner`` (see :meth:`Store.remove_exclusions`)."""
        _check_text("owner", owner)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            gone = connection.execute("DELETE FROM exclusion WHERE owner = ?", (owner,)).rowcount
            return _commit(connection, before, gone)

    def set_range(self, protocol: Protocol, family: Family, range: PortRange) -> Commit:  # noqa: A002 - the design's name
        """Store the dynamic range of (protocol, family), replacing the one stored (see
        :meth:`Store.set_range`)."""
        _check_range_args(protocol, family, range)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            _write_range(connection, protocol, family, range)
            return _commit(connection, before, 1)

    def set_time_wait_delay(self, seconds: int) -> Commit:
        """Store TcpTimedWaitDelay (see :meth:`Store.set_time_wait_delay`)."""
        _check_delay(seconds)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_DELAY_KEY, seconds))
            return _commit(connection, before, 1)

    def set_auto_reuse_ports(self, ports: PortRange | None) -> Commit:
        """Store the auto-reuse port range (see :meth:`Store.set_auto_reuse_ports`)."""
        _check_auto_reuse(ports)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            connection.executemany("DELETE FROM meta WHERE key = ?",
                                   [(key,) for key in _AUTO_REUSE_KEYS])
            if ports is not None:
                connection.executemany("INSERT INTO meta VALUES (?, ?)", [
                    (_AUTO_REUSE_KEYS[0], ports.start), (_AUTO_REUSE_KEYS[1], ports.count)])
            return _commit(connection, before, 1)

    def set_preset(self, name: str | None, seed: int) -> Commit:
        """Store the preset and seed (see :meth:`Store.set_preset`)."""
        _check_preset(name)
        _seed_text(seed)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            _write_preset(connection, name, seed)
            return _commit(connection, before, 1)

    def add_rows(self, *, ranges: Mapping[tuple[Protocol, Family], PortRange],
                 reservations: Sequence[StoredReservation],
                 exclusions: Sequence[StoredExclusion]) -> Commit:
        """Store ranges and rows in one transaction, all or nothing (see
        :meth:`Store.add_rows`)."""
        new_ranges, rows = _add_rows_args(ranges, reservations, exclusions)
        with self._transaction(write=True) as connection:
            before = _read_version(connection)
            for (protocol, family), dynamic in new_ranges.items():
                _write_range(connection, protocol, family, dynamic)
            for row in rows:
                _insert(connection, row)
            return _commit(connection, before, len(rows) + len(new_ranges))

    def reboot(self, place: Callable[[MachineRecord], Sequence[StoredExclusion]]) -> MachineRecord:
        """Boot anew in one transaction, all or nothing (see :meth:`Store.reboot`)."""
        with self._transaction(write=True) as connection:
            return _boot(connection, place)

    def first_boot(
        self,
        *,
        ranges: Mapping[tuple[Protocol, Family], PortRange],
        preset: str | None,
        seed: int,
        reservations: Sequence[StoredReservation],
        place: Callable[[MachineRecord], Sequence[StoredExclusion]],
    ) -> MachineRecord:
        """Make the machine and boot it in one transaction, unless it exists (see
        :meth:`Store.first_boot`)."""
        new_ranges, rows = _first_boot_args(ranges, preset, seed, reservations, place)
        with self._transaction(write=True) as connection:
            stored = _read(connection)
            if stored.boot != 0:
                return stored
            for (protocol, family), dynamic in new_ranges.items():
                _write_range(connection, protocol, family, dynamic)
            _write_preset(connection, preset, seed)
            for row in rows:
                _insert(connection, row)
            return _boot(connection, place)
