"""Store-backed calls: their cost follows the changes, not the rows stored.

1. ``host.exclude`` and ``create_persistent_reservation`` on a machine whose sqlite store
   already holds 100 and 10,000 rows: the per-call cost at 10,000 against at 100.
   Goal: at most 1.5x (a call reads no rows unless another host wrote; issue 20 measured
   0.29 ms at 100 rows against 5.45 ms at 2,000 before).
2. The same with the in-memory store.  Goal: at most 1.5x.
3. 10,000 exclusions in a row on a new sqlite store, in seconds (issue 20: 216 s before).
   Goal: under 30 s on a shared 2-core machine (each is one sqlite transaction).

The sqlite files live in a RAM-backed directory when there is one (/dev/shm), so that
the disk's fsync (milliseconds per commit on a real disk) does not hide the cost of the
code; on a disk every store write pays one fsync more, whatever the rows.

Run: python benchmarks/bench_store.py [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable

from portpool import EmulatedHost, Protocol
from portpool._model._store import MemoryStore, StoredExclusion

ROUNDS = 5
RATIO_GOAL = 1.5
BULK_GOAL = 30.0


def _directory() -> str:
    shm = "/dev/shm"  # noqa: S108 - a private directory is made inside it (mkdtemp)
    return tempfile.mkdtemp(dir=shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None)


def _filled(rows: int, sqlite: bool, directory: str) -> EmulatedHost:
    """A machine holding ``rows`` TCP exclusions, written in one transaction."""
    store: str | MemoryStore = os.path.join(directory, f"m{rows}.portpool") if sqlite else MemoryStore()
    host = EmulatedHost(store=store)
    host.machine._store.add_rows(ranges={}, reservations=[], exclusions=[  # the fixture, in one go
        StoredExclusion(Protocol.TCP, 1100 + 5 * i, 2, "WinNAT") for i in range(rows)])
    return EmulatedHost(store=store)


def per_call(host: EmulatedHost, calls: int) -> tuple[float, float]:
    """Best per-call milliseconds of an exclusion and of a persistent create."""
    app = host.process(admin=True)
    best = [float("inf"), float("inf")]
    base = 20000
    for _ in range(ROUNDS):
        steps: list[Callable[[int], object]] = [
            lambda port: host.exclude(Protocol.UDP, port, 1, owner="HNS"),
            lambda port: app.create_persistent_reservation(Protocol.UDP, port + 1, 1)]
        for which, step in enumerate(steps):
            started = time.perf_counter()
            for i in range(calls):
                step(base + 2 * i)
            best[which] = min(best[which], (time.perf_counter() - started) / calls * 1e3)
            base += 2 * calls + 2
        host.release_exclusions("HNS")
        for r in host.reservations(Protocol.UDP):
            app.delete_persistent_reservation(Protocol.UDP, r.range.start, r.range.count)
    return best[0], best[1]


def main() -> int:
    quick = "--quick" in sys.argv
    calls, bulk = (20, 2000) if quick else (50, 10_000)
    directory = _directory()
    ok = True
    print(f"per call, ms (best of {ROUNDS} x {calls})   100 rows  10,000 rows   ratio"
          f"  (goal <= {RATIO_GOAL}x)")
    for sqlite in (True, False):
        small, large = per_call(_filled(100, sqlite, directory), calls), per_call(
            _filled(10_000, sqlite, directory), calls)
        for name, a, b in (("exclusion", small[0], large[0]), ("persistent create", small[1], large[1])):
            ratio = b / a
            ok = ok and ratio <= RATIO_GOAL
            store = "sqlite" if sqlite else "memory"
            print(f"  {store:<7} {name:<18}   {a:>8.3f}  {b:>11.3f}  {ratio:>6.2f}x")
    host = EmulatedHost(store=os.path.join(directory, "bulk.portpool"))
    started = time.perf_counter()
    for i in range(bulk):
        host.exclude(Protocol.TCP, 1100 + 5 * i, 2, owner="WinNAT")
    seconds = time.perf_counter() - started
    goal = BULK_GOAL * bulk / 10_000
    ok = ok and seconds <= goal
    print(f"{bulk:,} exclusions on a new sqlite store: {seconds:.1f} s (goal <= {goal:g} s)")
    print("ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
