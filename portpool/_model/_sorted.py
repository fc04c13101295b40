"""A map from int keys (a block's first port) to values, with the keys kept in order.

The port spaces and the in-memory store index their blocks and rows by start port and
ask one question of the order: "the entry with the greatest start at or below this port"
(blocks and rows never overlap, so it is the only one that can contain the port).  A dict
and a sorted list of its keys answer that with one ``bisect``, cost next to nothing to
make (a new machine makes several), and insert in O(n) memmove.  Past ``_SPILL`` keys
that memmove is no longer small (a range filled by 1-port blocks holds 64,000 of them,
and a block placed below the others moves every key), so the keys move once into a
``sortedcontainers.SortedList``, whose inserts and deletes cost O(log n) at any size.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import Final, Generic, TypeVar

from sortedcontainers import SortedList

__all__ = ["SortedIntMap"]

V = TypeVar("V")

#: Keys kept in a plain list up to this many; more move into a SortedList (for good).
_SPILL: Final = 2048


class SortedIntMap(Generic[V]):
    """int -> value, iterated in key order."""

    __slots__ = ("_keys", "_values")

    def __init__(self) -> None:
        self._values: dict[int, V] = {}
        self._keys: list[int] | SortedList = []

    def copy(self) -> SortedIntMap[V]:
        """A shallow copy."""
        other: SortedIntMap[V] = SortedIntMap()
        other._values = self._values.copy()
        other._keys = self._keys.copy()
        return other

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: int) -> bool:
        return key in self._values

    def __getitem__(self, key: int) -> V:
        return self._values[key]

    def get(self, key: int) -> V | None:
        """The value at ``key``, or ``None``."""
        return self._values.get(key)

    def __setitem__(self, key: int, value: V) -> None:
        if key not in self._values:
            keys = self._keys
            if not isinstance(keys, list):
                keys.add(key)
            elif len(keys) < _SPILL:
                bisect.insort(keys, key)
            else:  # large: O(log n) inserts and deletes from now on
                self._keys = SortedList(keys)
                self._keys.add(key)
        self._values[key] = value

    def filtered(self, keep: Callable[[V], bool]) -> SortedIntMap[V]:
        """A copy holding the values ``keep`` keeps (in one pass: no insort)."""
        other: SortedIntMap[V] = SortedIntMap()
        values = self._values
        kept = {key: values[key] for key in self._keys if keep(values[key])}
        other._values = kept
        other._keys = list(kept) if len(kept) <= _SPILL else SortedList(kept)
        return other

    def update(self, items: Iterable[tuple[int, V]]) -> None:
        """Set many keys at once: one sort instead of one insort per key."""
        values = self._values
        values.update(items)
        keys = sorted(values)
        self._keys = keys if len(keys) <= _SPILL else SortedList(keys)

    def __delitem__(self, key: int) -> None:
        del self._values[key]  # KeyError first, as dict: the caller checked
        keys = self._keys
        if isinstance(keys, list):
            del keys[bisect.bisect_left(keys, key)]
        else:
            keys.remove(key)

    def _bisect_right(self, key: int) -> int:
        keys = self._keys
        if isinstance(keys, list):
            return bisect.bisect_right(keys, key)
        found: int = keys.bisect_right(key)
        return found

    def floor(self, key: int) -> V | None:
        """The value with the greatest key at or below ``key``, or ``None``."""
        keys = self._keys
        index = (bisect.bisect_right(keys, key) if isinstance(keys, list) else keys.bisect_right(key)) - 1
        return self._values[keys[index]] if index >= 0 else None

    def values(self) -> list[V]:
        """The values in key order (a new list: safe to change the map meanwhile)."""
        values = self._values
        return [values[key] for key in self._keys]

    def values_from(self, key: int) -> Iterator[V]:
        """The values in key order, from the one with the greatest key at or below
        ``key`` (or the first, if none is)."""
        values, keys = self._values, self._keys
        for index in range(max(self._bisect_right(key) - 1, 0), len(keys)):
            yield values[keys[index]]

    def items(self) -> list[tuple[int, V]]:
        """(key, value) in key order."""
        values = self._values
        return [(key, values[key]) for key in self._keys]
