"""The Flask application factory, and the web surfaces' error presenter.

Errors are answered in the form of the surface that met them: an HTML page for the pages, JSON
for ``/api/``, plain text for ``/feeds/``. A database that is down or not set up is a 503 that
says so (``/healthz`` too), never a 500; an unexpected error is logged with its traceback and
the person sees a plain sentence.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, make_response, render_template, request
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from feedserver import errors, runtime
from feedserver.clock import Clock
from feedserver.config import Config
from feedserver.runtime import Services
from feedserver.web import headers, limits, logs
from feedserver.web.feedcache import FeedCache

log = logging.getLogger("feedserver")


def create_app(
    config: Config | None = None, *, clock: Clock | None = None, background_jobs: bool = False
) -> Flask:
    """Build the app: config (from the environment when not given), services, blueprints.

    Args:
        config: validated settings; default ``Config.from_mapping(os.environ)``.
        clock: the time source (tests and the demo pass a fixed one).
        background_jobs: without Redis, run jobs on a background thread instead of in the
            request that asked for them (what a served app wants; tests keep them in line).

    Raises:
        feedserver.config.ConfigError: a setting is wrong (naming the variable).
    """
    # Templates and static files live beside this module; the instance folder stays where
    # Flask puts it for the "feedserver" package (the default SQLite database is there).
    app = Flask("feedserver", root_path=str(Path(__file__).parent), instance_relative_config=True)
    if config is None:
        config = Config.from_mapping(os.environ, app.instance_path)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    services = Services.from_config(config, clock=clock, background_jobs=background_jobs)
    from feedserver.web import api_changes  # noqa: F401 - its route, before the blueprint's

    app.extensions["sencocal"] = services
    app.extensions["sencocal.feed_cache"] = FeedCache(
        config.feed_cache_seconds, config.feed_cache_bytes
    )
    from feedserver.web import api, api_access, api_la, feeds, pages  # noqa: F401 - their routes
    from feedserver.web import api_roster as _roster  # noqa: F401 - the EHCP roster
    from feedserver.web import api_workload as _workload  # noqa: F401 - the SENCO workload
    from feedserver.web.apiroutes import bp as api_bp

    app.register_blueprint(feeds.bp)
    app.register_blueprint(api_bp)
    pages.init_app(app, config.production)  # cookie sessions for the pages only
    app.register_error_handler(limits.Limited, _limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.before_request(_refuse_control_characters)
    limits.init_app(app, config.redis_url, config.trusted_proxies)
    headers.install(app, form_targets=[config.google.auth_uri, config.microsoft.authority_url])
    app.wsgi_app = _WithServices(app.wsgi_app, services)  # type: ignore[method-assign]
    logs.install()
    return app


class _WithServices:
    """WSGI middleware: jobs enqueued during a request find this app's services."""

    def __init__(self, wsgi: Any, services: Services) -> None:
        self.wsgi = wsgi
        self.services = services

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with runtime.using(self.services):
            result: Iterable[bytes] = self.wsgi(environ, start_response)
            return result


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse_control_characters() -> None:
    """A path or query with a control character (NUL, line breaks) is a 400, never a lookup.

    PostgreSQL cannot even compare a NUL, and no address of ours contains one.
    """
    if CONTROL.search(request.path) or any(
        CONTROL.search(k) or CONTROL.search(v) for k, v in request.args.items(multi=True)
    ):
        abort(400, "The address contains a character that is not allowed (a control character).")


def _healthz() -> Any:
    from feedserver.web.context import services

    try:
        with services().db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here means "not healthy"
        problem = errors.from_database(exc) or errors.DatabaseUnavailable()
        return jsonify(ok=False, database="unavailable", message=str(problem)), 503
    return {"ok": True, "database": "ok"}


PAGE_ERRORS = {
    400: ("Something was wrong with that request", None),
    403: ("You cannot see this page", "Only the sencocal admin can see this page."),
    404: ("Page not found", "Check the address, or the link you were sent."),
    405: ("That did not work", "That action is not available here."),
    410: ("This link has expired", None),
    413: ("That file is too large", "Files of up to 2 MB can be uploaded."),
}
API_ERRORS = {
    404: "Not found.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
}


def _surface() -> str:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return "api"
    if request.path.startswith("/feeds/"):
        return "feed"
    return "page"


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if _surface() == "page" and status in PAGE_ERRORS:
        title, message = PAGE_ERRORS[status]
        return _page(status, title, message or exc.description or title)
    return jsonify(error=API_ERRORS.get(status, exc.description or exc.name)), status


def _limited(exc: limits.Limited) -> Any:
    answer = _present(
        429,
        "Too many attempts",
        f"There have been too many {exc.limit.what} from your address. "
        f"Wait {exc.wait} and try again.",
    )
    response = make_response(answer)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    problem = exc if isinstance(exc, errors.ServiceUnavailable) else errors.from_database(exc)
    refused = _refused_by_database(exc)
    if refused is not None:
        log.warning(
            "%s %s: refused by the database: %s",
            request.method,
            request.path,
            getattr(exc, "orig", exc),
        )
        return _present(*refused)
    if problem is not None:
        log.warning("%s %s: %s (%s)", request.method, request.path, type(problem).__name__, exc)
        return _present(503, "sencocal is not available just now", str(problem))
    log.exception("unexpected error")
    return _present(
        500,
        "Something went wrong on our side",
        "It has been logged. Nothing you entered was lost if the page said it was saved; "
        "please try again, and tell your sencocal admin if it keeps happening.",
    )


def _refused_by_database(exc: Exception) -> tuple[int, str, str] | None:
    """A 4xx for input the database itself refused, should any get past the checks before it.

    A value it cannot store (a NUL character, text longer than its column) is the request's
    fault, not ours; a unique key taken is a change made at the same moment.
    """
    if isinstance(exc, sa_exc.DataError):
        message = (
            "A value in this request cannot be stored: it has a control character, or is too "
            "long or out of range. Nothing was saved; check what you entered."
        )
        return 422, "That could not be saved", message
    if isinstance(exc, sa_exc.IntegrityError):
        message = "Someone made a change at the same moment. Nothing was saved; try again."
        return 409, "That clashed with another change", message
    return None


def _present(status: int, title: str, message: str) -> Any:
    surface = _surface()
    if surface == "page":
        return _page(status, title, message)
    if surface == "feed":
        return Response(f"{title}.\n", status=status, mimetype="text/plain")
    return jsonify(error=message), status


def _page(status: int, title: str, message: str) -> Any:
    try:
        return render_template("error.html", viewer=None, title=title, message=message), status
    except Exception:  # noqa: BLE001 - the template itself failed: still answer in HTML
        log.exception("error page failed to render")
        body = f"<!doctype html><html lang=en><title>{title}</title><h1>{title}</h1><p>{message}"
        return Response(body, status=status, mimetype="text/html")
