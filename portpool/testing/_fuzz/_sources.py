"""Where a fuzz run's choices come from: a seeded ``random.Random`` for long runs, or
Hypothesis's ``st.data()`` so that a failing sequence shrinks.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Source(abc.ABC):
    """Where every choice of a fuzz run comes from.

    Choices are made so that the smallest draw is the most ordinary one: Hypothesis
    shrinks toward it, so a shrunk failure keeps only the hostile choices it needs.
    """

    @abc.abstractmethod
    def integer(self, low: int, high: int) -> int:
        """An int in ``low..high`` (inclusive)."""

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` (the first is the most ordinary)."""
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        """True with probability ``percent``/100 (False when shrunk)."""
        return self.integer(1, 100) > 100 - percent

    def weighted(self, cumulative: Sequence[int]) -> int:
        """An index drawn by the running totals of weights ``cumulative``."""
        draw = self.integer(0, cumulative[-1] - 1)
        low, high = 0, len(cumulative) - 1
        while low < high:  # the first running total above the draw
            mid = (low + high) // 2
            if cumulative[mid] > draw:
                high = mid
            else:
                low = mid + 1
        return low


class RandomSource(Source):
    """Choices from a seeded :class:`random.Random` (never the global one)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        """See :meth:`Source.integer`."""
        return self._rng.randint(low, high)


class HypothesisSource(Source):
    """Choices drawn from Hypothesis's ``st.data()``, so failures shrink."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self._cache: dict[tuple[int, int], st.SearchStrategy[int]] = {}

    def integer(self, low: int, high: int) -> int:
        """See :meth:`Source.integer`."""
        strategy = self._cache.get((low, high))
        if strategy is None:
            strategy = self._cache[(low, high)] = st.integers(low, high)
        value: int = self._data.draw(strategy)
        return value
