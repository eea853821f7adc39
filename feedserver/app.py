"""The Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from feedserver import logs
from feedserver.clock import Clock, SystemClock
from feedserver.config import Config
from feedserver.db import Database
from feedserver.feeds import FeedCache
from feedserver.secretbox import SecretBox
from feedserver.services import Services

FEED_MAX_AGE = 300  # what clients and caches are told; the feed itself says REFRESH-INTERVAL


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the app: config (from the environment when not given), database, blueprints.

    Args:
        config: validated settings; default ``Config.from_mapping(os.environ)``.
        clock: the time source (tests and the demo pass a fixed one).

    Raises:
        feedserver.config.ConfigError: a setting is wrong (naming the variable).
    """
    app = Flask("feedserver", instance_relative_config=True)
    if config is None:
        config = Config.from_mapping(os.environ, app.instance_path)
    if config.database_url.startswith("sqlite:///") and app.instance_path in config.database_url:
        os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        FEED_MAX_AGE=FEED_MAX_AGE,
        JSON_SORT_KEYS=False,
    )
    app.extensions["sencocal"] = Services(
        config=config,
        db=Database(config.database_url),
        clock=clock or SystemClock(),
        feed_cache=FeedCache(config.feed_cache_seconds, config.feed_cache_bytes),
        secretbox=SecretBox(config.encryption_keys),
    )
    from feedserver import api, feeds, pages

    app.register_blueprint(feeds.bp)
    app.register_blueprint(api.bp)
    pages.init_app(app, config.production)  # cookie sessions for the pages only
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.add_url_rule("/healthz", "healthz", lambda: {"ok": True})
    logs.install()
    return app


PAGE_ERRORS = {
    400: ("Something was wrong with that request", None),
    403: ("You cannot see this page", "Only the sencocal admin can see this page."),
    404: ("Page not found", "Check the address, or the link you were sent."),
    405: ("That did not work", "That action is not available here."),
    410: ("This link has expired", None),
    413: ("That file is too large", "Files of up to 2 MB can be uploaded."),
}


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if not request.path.startswith(("/api/", "/feeds/")) and status in PAGE_ERRORS:
        title, message = PAGE_ERRORS[status]
        return render_template(
            "error.html", viewer=None, title=title, message=message or exc.description
        ), status
    messages = {
        404: "Not found.",
        405: "That method is not allowed here.",
        413: "The request body is too large.",
    }
    return jsonify(error=messages.get(status, exc.description or exc.name)), status


def _unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    import logging

    logging.getLogger("feedserver").exception("unexpected error")
    return jsonify(error="Something went wrong on our side; it has been logged."), 500
