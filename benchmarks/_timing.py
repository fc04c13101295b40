"""The one timing rule every benchmark here uses: the best of several rounds, so that a busy
machine disturbs a figure least, and ratios are taken between figures of the same run."""

from __future__ import annotations

import time
from collections.abc import Callable

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
