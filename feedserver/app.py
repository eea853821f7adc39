"""The Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, jsonify
from flask.sessions import SessionInterface
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
    app.session_interface = NoSessions()  # nothing uses Flask sessions; skip the signing cost
    from feedserver import api, feeds

    app.register_blueprint(feeds.bp)
    app.register_blueprint(api.bp)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.add_url_rule("/healthz", "healthz", lambda: {"ok": True})
    logs.install()
    return app


class NoSessions(SessionInterface):
    """No cookie sessions: the API uses bearer keys and feeds use their tokens."""

    def open_session(self, app: Flask, request: Any) -> None:
        """There is no session."""
        return None

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        """Nothing to save."""


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
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
