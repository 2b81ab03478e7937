"""A bounded, thread-safe map that forgets the least recently used entry first.

Compiled programs (simulate, maps, tuning, network training) and built problems are kept in one
of these each: a long session of edits, formulas and scene switches must not keep every program
it ever compiled (tests/core/test_soak.py), and the window's worker thread and the GUI thread
ask for them at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``limit()`` entries; the least recently used goes first.

    ``limit`` is a callable so that a module constant can be lowered at run time (the soak test
    lowers ``simulate.MAX_COMPILED`` to make the cache evict).
    """

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The entry for ``key``, made with ``make()`` (under the lock: made once) if absent."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
            value = make()
            self._items[key] = value
            while len(self._items) > max(self._limit(), 1):
                self._items.popitem(last=False)
            return value

    def get(self, key: K) -> V | None:
        """The entry for ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > max(self._limit(), 1):
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._items))
