"""Connection benchmarks: ratios measured in one run on this machine, printed as a table.

1. connect + accept + close (both sides, the server first) on the emulated machine,
   against the same calls through Python's socket module on the real kernel's
   loopback.  Goal: at most 0.5x.
2. TIME_WAIT at scale: 1,000 and 100,000 connections left in TIME_WAIT, then one
   host.advance() that expires them all; the cost per connection (making it, then
   expiring it) at 100,000 against 1,000.  Goal: at most 1.5x (no call scans the table).

Run: python benchmarks/bench_connections.py [--quick]
"""

from __future__ import annotations

import socket
import sys
import time

from _timing import best_per_call, print_table  # benchmarks/_timing.py: run as python benchmarks/NAME.py

from portpool import EmulatedHost


def cycle_ratio(calls: int) -> tuple[float, float]:
    host = EmulatedHost(seed=1)
    app = host.process()
    server = app.socket()
    server.bind(("127.0.0.1", 8080))
    server.listen(200)

    def emulated() -> None:
        client = app.socket()
        client.connect(("127.0.0.1", 8080))
        accepted, _ = server.accept()
        accepted.close()
        client.close()

    real = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    real.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    real.bind(("127.0.0.1", 0))
    real.listen(200)
    address = real.getsockname()

    def kernel() -> None:
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.connect(address)
        accepted, _ = real.accept()
        accepted.close()
        client.close()

    try:
        return best_per_call(emulated, calls), best_per_call(kernel, calls)
    finally:
        real.close()


def time_wait_cost(count: int, rounds: int = 3) -> float:
    """Microseconds per connection to leave ``count`` connections in TIME_WAIT (the
    server closes first) and then expire them all with one advance().

    The client ports cycle through the dynamic range (16,384 ports), so the clients take
    turns over 7 listening ports: every connection's address pair stays distinct (a new
    connection with the pair of one in TIME_WAIT would take its place, T7).  The best of
    ``rounds`` runs: the small case runs more often, so that both take comparable time and
    a busy moment of the machine does not decide the ratio."""
    best = float("inf")
    for _ in range(rounds):
        host = EmulatedHost(seed=2)
        app = host.process()
        servers = []
        for port in range(8080, 8087):
            server = app.socket()
            server.bind(("127.0.0.1", port))
            server.listen(200)
            servers.append((server, ("127.0.0.1", port)))
        start = time.perf_counter()
        for n in range(count):
            server, address = servers[n % 7]
            client = app.socket()
            client.connect(address)
            accepted, _ = server.accept()
            accepted.close()
            client.close()
        gone = host.advance(host.time_wait_delay)
        elapsed = time.perf_counter() - start
        if gone != count:
            raise RuntimeError(f"{gone} of {count} connections left TIME_WAIT")
        best = min(best, elapsed)
    return best / count * 1e6


def main() -> int:
    quick = "--quick" in sys.argv
    calls = 300 if quick else 3000
    emu, kern = cycle_ratio(calls)
    rows = [("connect+accept+close", f"{emu:.2f} us", f"{kern:.2f} us (kernel)",
             f"{emu / kern:.2f}x", "<= 0.5x", emu / kern <= 0.5)]
    small = time_wait_cost(1000, rounds=20)
    large = time_wait_cost(10_000 if quick else 100_000)
    label = "10,000" if quick else "100,000"
    rows.append((f"TIME_WAIT + advance, per connection: {label} vs 1,000", f"{large:.2f} us",
                 f"{small:.2f} us", f"{large / small:.2f}x", "<= 1.5x", large / small <= 1.5))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
