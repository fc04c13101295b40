"""The netsh text readers on long pasted lines: linear, whatever the line holds.

Each reader of pasted text (parse_excluded_ranges, parse_dynamic_port, protocol_of) is
given one line of 10,000 and of 100,000 characters, for shapes that once made a
backtracking pattern take O(n^2) to O(n^3) steps (issue 20: a 100,000-character
``- - -`` line took 117 s).  The ratio of the two costs is reported against the 10x of
a linear reader.  Goal: at most 25x for every shape (a quadratic reader gives 100x;
the margin over 10x absorbs noise on a shared machine).

Run: python benchmarks/bench_netsh.py [--quick]
"""

from __future__ import annotations

import contextlib
import sys
import time

from portpool.netsh import NetshParseError, parse_dynamic_port, parse_excluded_ranges, protocol_of

SHAPES = ["- ", "a ", " :", "ab", "*-", "> ", "x.go:1: ", "a\uff1a/", "5 6 ", "vhd: "]
GOAL = 25.0


def cost(line: str, rounds: int) -> float:
    """The best of ``rounds`` timings of the three readers on ``line``, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for reader in (parse_excluded_ranges, parse_dynamic_port, protocol_of):
            with contextlib.suppress(NetshParseError):
                reader(line)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    quick = "--quick" in sys.argv
    rounds = 3 if quick else 9
    print(f"{'shape':<12} {'10,000 chars':>13} {'100,000 chars':>14} {'ratio':>7}  (goal <= {GOAL:g}x)")
    worst = 0.0
    for shape in SHAPES:
        small = cost(shape * (10_000 // len(shape)), rounds)
        large = cost(shape * (100_000 // len(shape)), rounds)
        ratio = large / small
        worst = max(worst, ratio)
        print(f"{shape!r:<12} {small * 1e3:>10.2f} ms {large * 1e3:>11.2f} ms {ratio:>6.1f}x")
    print(f"worst ratio {worst:.1f}x: {'ok' if worst <= GOAL else 'MISSED'}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
