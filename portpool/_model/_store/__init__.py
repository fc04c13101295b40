"""The machine's registry: what outlives processes, in memory or in a sqlite file.

Windows keeps persistent reservations in "a persistent store of the TCP/UDP module"
that survives a restart (rule R13d), and the dynamic ranges in the registry.  The
store plays that part for the emulated machine.  It holds a :class:`MachineRecord`:

* persistent reservations (``StoredReservation``; ``active`` rows are netsh's
  ``store=active`` rows, gone at the next boot, rule N3);
* the system exclusions Windows components placed at the current boot
  (``StoredExclusion``, rule X1);
* the dynamic ranges that were set, per (protocol, IP version) (rules R18, Y3);
* the preset and seed the machine was made with, and how many times it booted.

One module per concept: ``_records.py`` the values (rows, record, commit, errors),
``_contract.py`` the :class:`Store` protocol every store keeps (no overlaps, versions)
and the checks of its arguments, ``_memory.py`` ``MemoryStore``, ``_sqlite.py``
``SqliteStore`` (its file: sharing, checks on load, layout).  This package re-exports
their public names.
"""

from ._contract import Store
from ._memory import MemoryStore
from ._records import (
    Commit,
    MachineRecord,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
    StoreError,
)
from ._sqlite import SqliteStore

__all__ = [
    "Commit",
    "MachineRecord",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "StoreConflict",
    "StoreError",
    "StoredExclusion",
    "StoredReservation",
]
