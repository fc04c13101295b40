"""portpool benchmarks: ratios measured in one run on this machine, printed as a table.

1. The emulated cycle socket + bind(port 0) + getsockname + close, against the same
   cycle through Python's socket module on the real kernel.  Goal: at most 0.5x.
2. bind(0) and wildcard acquire with 10, 1,000 and 10,000 live reservations and
   bindings in a fragmented pool.  Goal: at most 1.5x from 10 to 10,000 (no call
   scans the port space).
3. Filling a whole 1024-65535 dynamic range (64,512 ports) with bind(0), and again
   with 1-port wildcard blocks: the per-call cost of the last 3,000 calls against the
   first 3,000, each the best of its three chunks of 1,000 (one chunk is timed once, so
   a busy spell or a full garbage collection, which a heap of 64,512 sockets makes
   long, lands on whichever chunk it meets).  Goal: at most 1.5x (fast to the last port).
4. The host lock (every call holds one RLock, for threads): the cycle of 1. with the
   lock against the same cycle with the lock replaced by a no-op.  Reported, with a
   goal of at most 1.25x.

Run: python benchmarks/bench_pool.py [--quick]
"""

from __future__ import annotations

import contextlib
import random
import socket
import sys
import time
from collections.abc import Callable

from _timing import best_per_call, print_table  # benchmarks/_timing.py: run as python benchmarks/NAME.py

from portpool import EmulatedHost, PortRange


def cycle_ratio(calls: int) -> tuple[float, float]:
    app = EmulatedHost(seed=1).process()

    def emulated() -> None:
        s = app.socket()
        s.bind(("127.0.0.1", 0))
        s.getsockname()
        s.close()

    def kernel() -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.getsockname()
        s.close()

    return best_per_call(emulated, calls), best_per_call(kernel, calls)


def loaded(live: int, calls: int) -> tuple[float, float]:
    """Per-call cost of bind(0) and of wildcard acquire with ``live`` reservations and
    ``live`` bindings scattered through a 1024-65535 dynamic range."""
    host = EmulatedHost(seed=2, dynamic_ports=PortRange(1024, 64512))
    app = host.process()
    rng = random.Random(3)
    keep = []
    for _ in range(live):  # fragment the pool: scattered 2-port blocks and single binds
        s = app.socket()
        s.acquire_port_reservation(0, 2)
        keep.append(s)
        b = app.socket()
        b.bind(("", 0))
        keep.append(b)
    rng.shuffle(keep)

    def bind_zero() -> None:
        s = app.socket()
        s.bind(("", 0))
        s.close()

    def wildcard() -> None:
        s = app.socket()
        s.acquire_port_reservation(0, 4)
        s.close()

    return best_per_call(bind_zero, calls), best_per_call(wildcard, calls)


def fill(kind: str) -> tuple[float, float]:
    """Per-call cost (us) of the first and of the last 3,000 of 64,512 calls that fill a
    1024-65535 dynamic range, by bind(0) or by 1-port wildcard acquires: the best chunk of
    1,000 calls of each three."""
    host = EmulatedHost(seed=4, dynamic_ports=PortRange(1024, 64512))
    app = host.process()
    sockets = [app.socket() for _ in range(64512)]
    if kind == "bind":
        calls = [lambda s=s: s.bind(("", 0)) for s in sockets]
    else:
        calls = [lambda s=s: s.acquire_port_reservation(0, 1) for s in sockets]
    times = []
    call: Callable[[], object]  # the lambdas' default arguments hide their arity from mypy
    for index in range(0, 64512, 1000):
        chunk = calls[index:index + 1000]
        start = time.perf_counter()
        for call in chunk:
            call()
        times.append((time.perf_counter() - start) / len(chunk) * 1e6)
    return min(times[:3]), min(times[-3:])


class _NoLock(contextlib.nullcontext[None]):
    """A lock that does nothing, as ``with`` and as acquire/release (the hot paths' way)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def lock_cost(calls: int) -> tuple[float, float]:
    """The cycle with the host's lock, and with a no-op in its place."""
    with_lock, _ = cycle_ratio(calls)
    host = EmulatedHost(seed=1)
    host.machine.lock = _NoLock()  # type: ignore[assignment]  # a no-op lock, measured
    app = host.process()

    def unlocked() -> None:
        s = app.socket()
        s.bind(("127.0.0.1", 0))
        s.getsockname()
        s.close()

    return with_lock, best_per_call(unlocked, calls)


def main() -> int:
    quick = "--quick" in sys.argv
    calls = 300 if quick else 3000
    emu, kern = cycle_ratio(calls)
    rows = [("cycle socket+bind(0)+getsockname+close", f"{emu:.2f} us", f"{kern:.2f} us (kernel)",
             f"{emu / kern:.2f}x", "<= 0.5x", emu / kern <= 0.5)]
    base = loaded(10, calls)
    for live in (1000, 10000):
        bind_t, acq_t = loaded(live, calls)
        rows.append((f"bind(0) with {live} live vs 10", f"{bind_t:.2f} us", f"{base[0]:.2f} us",
                     f"{bind_t / base[0]:.2f}x", "<= 1.5x", bind_t / base[0] <= 1.5))
        rows.append((f"wildcard acquire with {live} live vs 10", f"{acq_t:.2f} us",
                     f"{base[1]:.2f} us", f"{acq_t / base[1]:.2f}x", "<= 1.5x", acq_t / base[1] <= 1.5))
    for kind, label in (("bind", "fill 64,512 ports by bind(0)"),
                        ("wildcard", "fill 64,512 ports by 1-port wildcard acquires")):
        first, last = fill(kind)
        rows.append((f"{label}: last 3000 vs first 3000", f"{last:.2f} us", f"{first:.2f} us",
                     f"{last / first:.2f}x", "<= 1.5x", last / first <= 1.5))
    locked, unlocked = lock_cost(calls)
    rows.append(("host lock: cycle with lock vs without", f"{locked:.2f} us", f"{unlocked:.2f} us",
                 f"{locked / unlocked:.2f}x", "<= 1.25x", locked / unlocked <= 1.25))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
