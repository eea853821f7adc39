"""The worker's feed cache under guessing: "not found" answers never grow it without bound."""

from __future__ import annotations

import hashlib
import tracemalloc

from feedserver.web.feedcache import MAX_MISSES, CachedFeed, FeedCache


def guess(i: int) -> str:
    return hashlib.sha256(f"guess {i}".encode()).hexdigest()


def feed(size: int = 60_000) -> CachedFeed:
    return CachedFeed('"e"', 0, b"x" * size, "f.ics", "d")


def test_a_million_token_guesses_keep_the_cache_small():
    cache = FeedCache(seconds=5, max_bytes=16_000_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1_000_000):
            cache.put(guess(i), None, now=1.0)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) <= MAX_MISSES
    assert grown < 2_000_000, f"{grown:,} bytes kept for misses"


def test_guessing_never_pushes_real_feeds_out():
    cache = FeedCache(seconds=5, max_bytes=1_000_000)
    cache.put("real", feed(), now=0.0)
    for i in range(50_000):
        cache.put(guess(i), None, now=0.5)
    assert cache.get("real", now=1.0) == (True, cache.get("real", now=1.0)[1])
    assert cache.get("real", now=1.0)[1] is not None
    assert cache.get(guess(49_999), now=1.0) == (True, None)  # a recent miss is remembered


def test_each_entry_is_charged_for_its_own_bookkeeping():
    cache = FeedCache(seconds=5, max_bytes=100_000)
    for i in range(10_000):
        cache.put(f"k{i}", feed(size=10), now=0.0)
    assert cache.bytes <= 100_000
    assert len(cache) <= 100_000 // 300
