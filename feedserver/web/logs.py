"""Logging that never writes a secret from a URL (feed and subscribe tokens, sign-in links).

For the app, werkzeug and gunicorn's access log.

nginx gets the same treatment in ``deploy/nginx.conf`` (a ``map`` that rewrites the URI in its
log format).
"""

from __future__ import annotations

import logging
import re
from typing import Any

SECRET_PATH = re.compile(r"/(feeds|subscribe|sign-in)/[^/\s?\"']+?(\.ics)?(?=[\s?\"'/]|$)")
MARKERS = ("/feeds/", "/subscribe/", "/sign-in/")


def _redacted(match: re.Match[str]) -> str:
    return "/feeds/[redacted].ics" if match.group(1) == "feeds" else f"/{match.group(1)}/[redacted]"


def redact(text: str) -> str:
    """Replace every secret in a path (feed and subscribe tokens, sign-in links) with [redacted]."""
    return SECRET_PATH.sub(_redacted, text) if any(m in text for m in MARKERS) else text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts feed tokens from messages and their arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {
                    k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
                }
            else:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(
    logger_names: tuple[str, ...] = ("", "werkzeug", "gunicorn.access", "gunicorn.error"),
) -> None:
    """Attach the redacting filter to the app's loggers and their handlers.

    gunicorn's access log is redacted by :class:`GunicornLogger` itself (cheaper per request).
    """
    flt = RedactingFilter()
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(flt)


try:  # gunicorn is only present where the app is served with it
    from gunicorn.glogging import Logger as _GunicornLogger

    class GunicornLogger(_GunicornLogger):  # type: ignore[misc]
        """gunicorn's logger with feed tokens redacted from every access-log atom."""

        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            """The access-log fields, redacted."""
            atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "q", "f", "{raw_uri}e"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            return atoms

except ImportError:  # pragma: no cover - gunicorn not installed
    pass
