"""GET /feeds/<token>.ics: pre-rendered bytes with strong ETags, 304s and gzip.

Nothing is rendered here. A worker keeps each feed's bytes for ``feed_cache_seconds`` so most
requests never reach the database; that lifetime (plus the nginx cache in front) is the
worst-case delay before a revoked token stops working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime

from flask import Blueprint, Response, current_app, request

from feedserver import subscriptions
from feedserver.services import services

bp = Blueprint("feeds", __name__)

NOT_FOUND = b"Not found\n"


@dataclass(frozen=True)
class CachedFeed:
    """What a worker keeps for one token: the feed's bytes and validators."""

    etag: str
    last_modified: str
    modified_epoch: int
    ics: bytes
    ics_gzip: bytes
    filename: str
    expires: float


class FeedCache:
    """Token hash -> CachedFeed, each kept for a fixed number of seconds (0: not at all)."""

    def __init__(self, seconds: float, size: int = 20_000) -> None:
        self.seconds = seconds
        self.size = size
        self._items: dict[str, CachedFeed | None] = {}
        self._expires: dict[str, float] = {}

    def get(self, key: str, now: float) -> tuple[bool, CachedFeed | None]:
        """(found, value); a cached None means "no such token" (also cached, briefly)."""
        expires = self._expires.get(key)
        if expires is None or expires < now:
            return False, None
        return True, self._items[key]

    def put(self, key: str, value: CachedFeed | None, now: float) -> None:
        """Keep ``value`` for the configured time."""
        if self.seconds <= 0:
            return
        if len(self._items) >= self.size:
            self._items.clear()
            self._expires.clear()
        self._items[key] = value
        self._expires[key] = now + self.seconds

    def clear(self) -> None:
        """Forget everything (tests, and after a change made in this worker)."""
        self._items.clear()
        self._expires.clear()


def _load(token: str) -> CachedFeed | None:
    svc = services()
    with svc.db.session() as session:
        feed = subscriptions.feed_for_token(session, token)
        if feed is None or feed.ics is None or feed.content_changed_at is None:
            return None
        changed = feed.content_changed_at
        return CachedFeed(
            etag=feed.etag or "",
            last_modified=format_datetime(changed, usegmt=True),
            modified_epoch=int(changed.timestamp()),
            ics=feed.ics,
            ics_gzip=feed.ics_gzip or b"",
            filename=f"{feed.school_id}-{feed.audience}.ics",
            expires=0.0,
        )


@bp.route("/feeds/<token>.ics", methods=["GET", "HEAD"])
def feed(token: str) -> Response:
    """Serve one feed."""
    svc = services()
    from feedserver.tokens import digest

    key = digest(token)
    now = time.monotonic()
    found, cached = svc.feed_cache.get(key, now)
    if not found:
        cached = _load(token)
        svc.feed_cache.put(key, cached, now)
    if cached is None:
        return Response(NOT_FOUND, status=404, mimetype="text/plain")
    headers = {
        "ETag": cached.etag,
        "Last-Modified": cached.last_modified,
        "Cache-Control": f"max-age={current_app.config['FEED_MAX_AGE']}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(cached):
        return Response(status=304, headers=headers)
    body = cached.ics
    if "gzip" in request.headers.get("Accept-Encoding", "") and cached.ics_gzip:
        body = cached.ics_gzip
        headers["Content-Encoding"] = "gzip"
    headers["Content-Disposition"] = f'inline; filename="{cached.filename}"'
    response = Response(
        body, status=200, headers=headers, content_type="text/calendar; charset=utf-8"
    )
    response.direct_passthrough = True
    return response


def _not_modified(cached: CachedFeed) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {t.strip() for t in inm.split(",")}
        return "*" in tags or cached.etag in tags
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
