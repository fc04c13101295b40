"""The machine's registry: what outlives processes, in memory or in a sqlite file."""

from ._sqlite import (
    Commit,
    MachineRecord,
    MemoryStore,
    SqliteStore,
    Store,
    StoreConflict,
    StoredExclusion,
    StoredReservation,
    StoreError,
)

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
