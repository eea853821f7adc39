"""GET /feeds/<token>.ics: pre-rendered bytes with strong ETags, 304s and gzip.

Nothing is rendered here. Feeds are stored gzipped; a worker keeps recently served feeds for
``feed_cache_seconds`` (bounded in bytes) so most requests never reach the database. That lifetime
plus the nginx cache in front is the worst-case delay before a revoked token stops working.

The gzip and identity representations have different strong ETags (``"<hash>-gz"`` and
``"<hash>"``), as RFC 9110 asks of different content encodings; If-None-Match uses the weak
comparison, so ``W/"<hash>"`` matches too.
"""

from __future__ import annotations

import gzip
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime

from flask import Blueprint, Response, request

from feedserver import subscriptions
from feedserver.services import services
from feedserver.tokens import digest

bp = Blueprint("feeds", __name__)

NOT_FOUND = b"Not found\n"
MAX_AGE = 300  # what clients are told; nginx ignores it and keeps feeds for 10 s (deploy/)


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
        """Bytes this entry holds."""
        return len(self.ics_gzip) + len(self.ics or b"")

    def identity(self) -> bytes:
        """The plain bytes (decompressed once, then kept)."""
        if self.ics is None:
            self.ics = gzip.decompress(self.ics_gzip)
        return self.ics


class FeedCache:
    """Token hash -> CachedFeed for a fixed number of seconds, at most ``max_bytes`` in all.

    Expired entries are dropped when met and when room is needed; beyond the byte budget the
    least recently used go first.
    """

    def __init__(self, seconds: float, max_bytes: int = 16_000_000) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[float, CachedFeed | None]] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[bool, CachedFeed | None]:
        """(found, value); a cached None means "no such token" (kept as briefly)."""
        item = self._items.get(key)
        if item is None:
            return False, None
        expires, value = item
        if expires < now:
            self._drop(key)
            return False, None
        self._items.move_to_end(key)
        return True, value

    def put(self, key: str, value: CachedFeed | None, now: float) -> None:
        """Keep ``value`` for the configured time (nothing when the lifetime is 0)."""
        if self.seconds <= 0:
            return
        self._drop(key)
        self._items[key] = (now + self.seconds, value)
        self.bytes += value.size if value is not None else 0
        if self.bytes > self.max_bytes:
            for old in [k for k, (expires, _) in self._items.items() if expires < now]:
                self._drop(old)
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
        if item is not None and item[1] is not None:
            self.bytes -= item[1].size

    def clear(self) -> None:
        """Forget everything (after a change made in this worker)."""
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def _load(token: str) -> CachedFeed | None:
    with services().db.session() as session:
        feed = subscriptions.feed_for_token(session, token)
        if feed is None or feed.ics_gzip is None or feed.content_changed_at is None:
            return None
        changed = feed.content_changed_at
        cached = CachedFeed(
            etag=feed.etag or '""',
            modified_epoch=int(changed.timestamp()),
            ics_gzip=feed.ics_gzip,
            filename=f"{feed.school_id}-{feed.audience}.ics",
            last_modified=format_datetime(changed, usegmt=True),
        )
    cached.headers = {
        "Last-Modified": cached.last_modified,
        "Cache-Control": f"max-age={MAX_AGE}",
        "Vary": "Accept-Encoding",
        "Content-Disposition": f'inline; filename="{cached.filename}"',
    }
    return cached


def _gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gz"'


@bp.route("/feeds/<token>.ics", methods=["GET", "HEAD"])
def feed(token: str) -> Response:
    """Serve one feed."""
    cache = services().feed_cache
    key = digest(token)
    now = time.monotonic()
    found, cached = cache.get(key, now)
    if not found:
        cached = _load(token)
        cache.put(key, cached, now)
    if cached is None:
        return Response(NOT_FOUND, status=404, mimetype="text/plain")
    zipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    etag = _gzip_etag(cached.etag) if zipped else cached.etag
    headers = {"ETag": etag, **cached.headers}
    if _not_modified(cached):
        del headers["Content-Disposition"]
        return Response(status=304, headers=headers)
    if zipped:
        body = cached.ics_gzip
        headers["Content-Encoding"] = "gzip"
    else:
        before = cached.size
        body = cached.identity()
        if cached.size != before and cache.seconds > 0:
            cache.grew(cached, cached.size - before)
    response = Response(body, 200, headers, content_type="text/calendar; charset=utf-8")
    response.direct_passthrough = True
    return response


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header accepts gzip (q-values and case honoured)."""
    best = None
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if name not in {"gzip", "x-gzip", "*"}:
            continue
        q = 1.0
        for param in params.split(";"):
            k, _, v = param.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if name == "*":
            best = q if best is None else best
        else:
            return q > 0
    return bool(best)


def _not_modified(cached: CachedFeed) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or cached.etag in tags or _gzip_etag(cached.etag) in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since is None:
            return False
        return cached.modified_epoch <= int(since.timestamp())
    return False
