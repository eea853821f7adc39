"""GET /feeds/<token>.ics: pre-rendered bytes with strong ETags, 304s and gzip.

Nothing is rendered here. Feeds are stored gzipped; a worker keeps recently served feeds for
``feed_cache_seconds`` (bounded in bytes) so most requests never reach the database. That lifetime
plus the nginx cache in front is the worst-case delay before a revoked token stops working.

The gzip and identity representations have different strong ETags (``"<hash>-gz"`` and
``"<hash>"``), as RFC 9110 asks of different content encodings; If-None-Match uses the weak
comparison, so ``W/"<hash>"`` matches too.
"""

from __future__ import annotations

import time
from email.utils import format_datetime, parsedate_to_datetime

from flask import Blueprint, Response, request

from feedserver.storage import subscriptions
from feedserver.storage.tokens import digest
from feedserver.web import limits
from feedserver.web.context import feed_cache, services
from feedserver.web.feedcache import CachedFeed

bp = Blueprint("feeds", __name__)

NOT_FOUND = b"Not found\n"
MAX_AGE = 300  # what clients are told; nginx ignores it and keeps feeds for 10 s (deploy/)
CACHE_CONTROL = f"private, max-age={MAX_AGE}"  # a school's calendar: no shared cache keeps it


def _load(token: str) -> CachedFeed | None:
    with services().db.session() as session:
        feed = subscriptions.feed_for_token(session, token, services().clock.now())
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
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        "Content-Disposition": f'inline; filename="{cached.filename}"',
    }
    return cached


def _gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gz"'


@bp.route("/feeds/<token>.ics", methods=["GET", "HEAD"])
def feed(token: str) -> Response:
    """Serve one feed."""
    cache = feed_cache()
    key = digest(token)
    now = time.monotonic()
    found, cached = cache.get(key, now)
    if not found:
        cached = _load(token)
        cache.put(key, cached, now)
    if cached is None:
        limits.failed(limits.FEED_MISS)  # 429 instead of 404 once an address guesses too much
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
