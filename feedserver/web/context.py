"""The current app's long-lived objects, for code running inside a request."""

from __future__ import annotations

from flask import current_app

from feedserver.runtime import Services
from feedserver.web.feedcache import FeedCache


def services() -> Services:
    """The current app's services (config, database, clock, memo, jobs, secret box)."""
    found: Services = current_app.extensions["sencocal"]
    return found


def feed_cache() -> FeedCache:
    """The cache of served feeds in this worker."""
    found: FeedCache = current_app.extensions["sencocal.feed_cache"]
    return found
