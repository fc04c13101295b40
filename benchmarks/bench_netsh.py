"""The netsh text readers on long pasted lines: linear, whatever the line holds.

Each reader of pasted text (parse_excluded_ranges, parse_dynamic_port, protocol_of)
reads 100,000 characters twice: as ten lines of 10,000 (ten calls) and as one line of
100,000, for shapes that once made a backtracking pattern take O(n^2) to O(n^3) steps
(issue 20: a 100,000-character ``- - -`` line took 117 s).  The same characters cost
the same to a linear reader (ratio 1x); a quadratic one pays 10x for the long line, a
cubic one 100x.  Goal: at most 3x for every shape (the margin absorbs the noise of a
shared machine).

Run: python benchmarks/bench_netsh.py [--quick]
"""

from __future__ import annotations

import contextlib
import sys
import time

from portpool.netsh import NetshParseError, parse_dynamic_port, parse_excluded_ranges, protocol_of

SHAPES = ["- ", "a ", " :", "ab", "*-", "> ", "x.go:1: ", "a\uff1a/", "5 6 ", "vhd: "]
GOAL = 3.0


def _once(line: str) -> float:
    started = time.perf_counter()
    for reader in (parse_excluded_ranges, parse_dynamic_port, protocol_of):
        with contextlib.suppress(NetshParseError):
            reader(line)
    return time.perf_counter() - started


def costs(shape: str, rounds: int) -> tuple[float, float]:
    """The best of ``rounds`` timings, in seconds, of the three readers on ten lines of
    10,000 characters and on one of 100,000; the two take turns, so that a change in the
    machine's load hits both alike."""
    short, long = shape * (10_000 // len(shape)), shape * (100_000 // len(shape))
    best_short = best_long = float("inf")
    for _ in range(rounds):
        best_short = min(best_short, sum(_once(short) for _ in range(10)))
        best_long = min(best_long, _once(long))
    return best_short, best_long


def main() -> int:
    quick = "--quick" in sys.argv
    rounds = 3 if quick else 9
    print(f"{'shape':<12} {'10 x 10,000':>13} {'1 x 100,000':>14} {'ratio':>7}  (goal <= {GOAL:g}x)")
    worst = 0.0
    for shape in SHAPES:
        small, large = costs(shape, rounds)
        ratio = large / small
        worst = max(worst, ratio)
        print(f"{shape!r:<12} {small * 1e3:>10.2f} ms {large * 1e3:>11.2f} ms {ratio:>6.1f}x")
    print(f"worst ratio {worst:.1f}x: {'ok' if worst <= GOAL else 'MISSED'}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
