"""Rate limits on what guessing looks like: failed sign-ins and links, bad keys, unknown feeds.

flask-limiter keeps the counts: in Redis when ``REDIS_URL`` is set (shared by every worker and
machine), in this process's memory otherwise (each gunicorn worker then counts on its own).
Only failures are counted, per client address: a school that signs in, calls the API with its
key and serves its feeds never meets a limit. Once a client is over one, that kind of request
is refused with 429 and ``Retry-After`` (a sign-in is refused before the key is even looked at,
so guessing gains nothing); an unknown feed address answers 429 instead of 404, while real
feeds keep being served to that address (a calendar service fetches many schools' feeds from
one address).

Behind nginx, set ``SENCOCAL_TRUSTED_PROXIES=1`` so the client's address is the one nginx saw
(``X-Forwarded-For``); without it a client could not forge the header to dodge a limit.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("feedserver")


@dataclass(frozen=True)
class Limit:
    """One kind of failure and how many of it a client may make.

    Attributes:
        name: the counters' namespace.
        rates: flask-limiter's notation, e.g. ``"10/minute;50/hour"``.
        what: the failures in words, for the refusal ("failed sign-ins").
    """

    name: str
    rates: str
    what: str

    @property
    def items(self) -> list[RateLimitItem]:
        """The parsed rates."""
        return parse_many(self.rates)


SIGN_IN = Limit("sign-in", "10/minute;50/hour", "failed sign-ins")
SIGN_IN_LINK = Limit("sign-in-link", "10/minute;50/hour", "sign-in links that did not work")
API_KEY = Limit("api-key", "20/minute;200/hour", "requests without a valid API key")
FEED_MISS = Limit("feed-miss", "60/minute;600/hour", "calendar addresses that do not exist")
ALL = (SIGN_IN, SIGN_IN_LINK, API_KEY, FEED_MISS)


class Limited(Exception):
    """A client is over a limit; ``retry_after`` seconds until it may try again."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"too many {limit.what}")
        self.limit = limit
        self.retry_after = retry_after

    @property
    def wait(self) -> str:
        """How long to wait, in words."""
        if self.retry_after <= 90:
            return f"{self.retry_after} seconds"
        return f"{math.ceil(self.retry_after / 60)} minutes"


def client() -> str:
    """The client's address (the proxy's view of it when one is trusted)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask, redis_url: str | None, trusted_proxies: int) -> None:
    """Counts in Redis (``redis_url``) or memory; the client address from trusted proxies."""
    limiter = Limiter(
        client,
        app=app,
        storage_uri=redis_url or "memory://",
        key_prefix="sencocal",
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    app.extensions["sencocal.limiter"] = limiter
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies)  # type: ignore[method-assign]


def _limiter() -> Limiter:
    found: Limiter = current_app.extensions["sencocal.limiter"]
    return found


def check(limit: Limit) -> None:
    """Refuse now (raise Limited) when this client is already over ``limit``."""
    strategy = _limiter().limiter
    try:
        for item in limit.items:
            if not strategy.test(item, limit.name, client()):
                reset = strategy.get_window_stats(item, limit.name, client()).reset_time
                raise Limited(limit, max(1, math.ceil(reset - time.time())))
    except Limited:
        raise
    except Exception as exc:  # noqa: BLE001 - the counts are down: let the request through
        log.warning("rate limit storage unavailable (%s): %s not checked", exc, limit.name)


def failed(limit: Limit) -> None:
    """Count one failure of this client; raise Limited when it went over ``limit``."""
    strategy = _limiter().limiter
    over: RateLimitItem | None = None
    try:
        for item in limit.items:
            if not strategy.hit(item, limit.name, client()):
                over = over or item
        if over is not None:
            reset = strategy.get_window_stats(over, limit.name, client()).reset_time
            raise Limited(limit, max(1, math.ceil(reset - time.time())))
    except Limited:
        raise
    except Exception as exc:  # noqa: BLE001 - the counts are down: let the request through
        log.warning("rate limit storage unavailable (%s): %s not counted", exc, limit.name)
