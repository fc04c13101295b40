"""The one timing rule every benchmark here uses: the best of several rounds, so that a busy
machine disturbs a figure least, and ratios are taken between figures of the same run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

ROUNDS = 7


def best_per_call(fn: Callable[[], object], calls: int, rounds: int = ROUNDS) -> float:
    """The best of ``rounds`` timings of ``calls`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


HEADER = ("measurement", "portpool", "reference", "ratio", "goal", "met")


def print_table(rows: Sequence[tuple[object, ...]]) -> None:
    """Print benchmark rows (measurement, portpool, reference, ratio, goal, met) as a table."""
    widths = [max(len(str(r[i])) for r in (*rows, HEADER)) for i in range(len(HEADER))]
    for row in (HEADER, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
