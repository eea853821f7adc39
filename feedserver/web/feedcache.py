"""A worker's short-lived cache of served feeds: token hash -> bytes and ready headers.

Most feed requests never reach the database: a feed is kept for ``feed_cache_seconds`` (that
lifetime plus the nginx cache in front is the worst-case delay before a revoked token stops
working), at most ``max_bytes`` in all (each entry charged its bytes plus what a dictionary
entry costs), least recently used first out.

"No such token" answers are kept as briefly, apart, and at most :data:`MAX_MISSES` of them:
guessing tokens (a million guesses once kept about 272 MB per worker, never freed) can neither
grow the cache nor push real feeds out of it.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from dataclasses import dataclass, field

ENTRY_BYTES = 300  # a dictionary entry: the 64-character key, its tuple, float and links
MAX_MISSES = 4096  # "no such token" answers kept (about 1.2 MB)


@dataclass
class CachedFeed:
    """What a worker keeps for one token: the gzipped feed, validators and ready headers."""

    etag: str  # of the identity bytes; the gzip bytes carry etag + "-gz"
    modified_epoch: int
    ics_gzip: bytes
    filename: str
    last_modified: str
    ics: bytes | None = None  # decompressed on the first identity request
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Bytes this entry holds, its bookkeeping included."""
        return ENTRY_BYTES + len(self.ics_gzip) + len(self.ics or b"")

    def identity(self) -> bytes:
        """The plain bytes (decompressed once, then kept)."""
        if self.ics is None:
            self.ics = gzip.decompress(self.ics_gzip)
        return self.ics


class FeedCache:
    """Token hash -> CachedFeed for a fixed number of seconds, at most ``max_bytes`` in all.

    Expired entries are dropped when met; beyond the byte budget the least recently used go
    first. Misses live in their own small LRU (:data:`MAX_MISSES`).
    """

    def __init__(self, seconds: float, max_bytes: int = 16_000_000) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[float, CachedFeed]] = OrderedDict()
        self._misses: OrderedDict[str, float] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[bool, CachedFeed | None]:
        """(found, value); a cached None means "no such token" (kept as briefly)."""
        item = self._items.get(key)
        if item is not None:
            expires, value = item
            if expires < now:
                self._drop(key)
                return False, None
            self._items.move_to_end(key)
            return True, value
        missed = self._misses.get(key)
        if missed is None:
            return False, None
        if missed < now:
            del self._misses[key]
            return False, None
        return True, None

    def put(self, key: str, value: CachedFeed | None, now: float) -> None:
        """Keep ``value`` for the configured time (nothing when the lifetime is 0)."""
        if self.seconds <= 0:
            return
        self._drop(key)
        if value is None:
            self._misses[key] = now + self.seconds
            while len(self._misses) > MAX_MISSES:
                self._misses.popitem(last=False)
            return
        self._misses.pop(key, None)
        self._items[key] = (now + self.seconds, value)
        self.bytes += value.size
        while self.bytes > self.max_bytes and len(self._items) > 1:
            self._drop(next(iter(self._items)))

    def grew(self, value: CachedFeed, by: int) -> None:
        """Account for bytes an entry gained after it was put (its decompressed copy)."""
        self.bytes += by
        while self.bytes > self.max_bytes and len(self._items) > 1:
            oldest = next(iter(self._items))
            if self._items[oldest][1] is value:
                break
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.bytes -= item[1].size

    def clear(self) -> None:
        """Forget everything (after a change made in this worker)."""
        self._items.clear()
        self._misses.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items) + len(self._misses)
