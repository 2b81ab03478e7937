"""The bounded cache every compiled-program store uses."""

from __future__ import annotations

import threading

from gdviz.core.lru import LRU


def test_least_recently_used_goes_first_and_the_limit_is_read_each_time() -> None:
    limit = [3]
    cache: LRU[str, int] = LRU(lambda: limit[0])
    made: list[str] = []

    def make(k: str) -> int:
        made.append(k)
        return len(made)

    for k in "abc":
        cache.get_or_make(k, lambda k=k: make(k))
    assert cache.get_or_make("a", lambda: make("a")) == 1  # kept, not made again
    cache.get_or_make("d", lambda: make("d"))  # b is now the least recently used
    assert "b" not in cache and list(cache) == ["c", "a", "d"]
    limit[0] = 1
    cache.put("e", 99)
    assert list(cache) == ["e"] and cache.get("e") == 99 and cache.get("a") is None
    assert made == ["a", "b", "c", "d"]


def test_one_value_per_key_when_threads_ask_at_once() -> None:
    cache: LRU[int, object] = LRU(lambda: 8)
    barrier = threading.Barrier(4)
    seen: list[object] = []

    def ask() -> None:
        barrier.wait()
        seen.append(cache.get_or_make(1, object))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(v is seen[0] for v in seen)
