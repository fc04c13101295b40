"""Disjoint runs of free ports, indexed by start and by length.

The model keeps, per protocol, the ports of the dynamic range that are neither bound
nor reserved as runs ``[lo, hi]``.  Taking a port or a block is O(log n) in the
number of runs, whatever the size of the port space: bind(0) and wildcard acquire
never scan ports (see benchmarks/bench_pool.py).
"""

from __future__ import annotations

import random

from sortedcontainers import SortedDict, SortedList

__all__ = ["FreeRuns"]

_SPAN = 1 << 17  # more than any port number


class FreeRuns:
    """A set of ports stored as maximal runs."""

    def __init__(self) -> None:
        self._by_start: SortedDict[int, int] = SortedDict()  # lo -> hi
        # length * _SPAN + lo: one int per run, so bisection compares ints, not tuples
        self._by_length: SortedList[int] = SortedList()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _put(self, lo: int, hi: int) -> None:
        self._by_start[lo] = hi
        self._by_length.add((hi - lo + 1) * _SPAN + lo)
        self._size += hi - lo + 1

    def _drop(self, lo: int) -> int:
        hi: int = self._by_start.pop(lo)
        self._by_length.remove((hi - lo + 1) * _SPAN + lo)
        self._size -= hi - lo + 1
        return hi

    def add(self, lo: int, hi: int) -> None:
        """Add the ports ``lo..hi``, which must all be absent."""
        if lo > hi:
            return
        # Merge with the run ending at lo-1 and the run starting at hi+1.
        index = self._by_start.bisect_right(lo) - 1
        if index >= 0:
            left_lo = self._by_start.keys()[index]
            if self._by_start[left_lo] == lo - 1:
                self._drop(left_lo)
                lo = left_lo
        if hi + 1 in self._by_start:
            hi = self._drop(hi + 1)
        self._put(lo, hi)

    def remove(self, lo: int, hi: int) -> None:
        """Remove whatever ports of ``lo..hi`` are present."""
        if lo > hi:
            return
        first = self._by_start.bisect_right(lo) - 1
        starts = list(self._by_start.islice(max(first, 0), self._by_start.bisect_right(hi)))
        for run_lo in starts:
            run_hi = self._by_start[run_lo]
            if run_hi < lo or run_lo > hi:
                continue
            self._drop(run_lo)
            if run_lo < lo:
                self._put(run_lo, lo - 1)
            if run_hi > hi:
                self._put(hi + 1, run_hi)

    def __contains__(self, port: int) -> bool:
        index = self._by_start.bisect_right(port) - 1
        if index < 0:
            return False
        lo = self._by_start.keys()[index]
        return bool(port <= self._by_start[lo])

    def has_run(self, count: int) -> bool:
        """Whether some run holds ``count`` ports."""
        return bool(self._by_length) and self._by_length[-1] // _SPAN >= count

    def pick_run(self, rng: random.Random, count: int) -> tuple[int, int] | None:
        """A run of at least ``count`` ports, drawn uniformly among those (rule A4)."""
        first = self._by_length.bisect_left(count * _SPAN)
        candidates = len(self._by_length) - first
        if candidates <= 0:
            return None
        length, lo = divmod(self._by_length[first + rng.randrange(candidates)], _SPAN)
        return lo, lo + length - 1

    def pick(self, rng: random.Random, count: int) -> int | None:
        """The first port of a random block of ``count`` ports inside one run, or ``None``:
        a run drawn by :meth:`pick_run`, then an offset uniformly within it."""
        run = self.pick_run(rng, count)
        if run is None:
            return None
        lo, hi = run
        first_port: int = lo + rng.randrange(hi - lo - count + 2)
        return first_port

    def runs(self) -> list[tuple[int, int]]:
        """The runs in port order (for tests and pictures)."""
        return list(self._by_start.items())
