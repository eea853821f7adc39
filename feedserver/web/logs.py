"""Logging that never writes a secret from a URL (feed and subscribe tokens, sign-in links).

For the app, werkzeug and gunicorn's access log. nginx gets the same treatment in
``deploy/nginx.conf`` (maps that rewrite the URI in its log format).

A secret is recognised the way the server reads the path, not by its spelling: every address in
a line is percent-decoded (repeatedly), its backslashes read as slashes, repeated slashes merged
and dot segments resolved, so ``/%66eeds/<token>.ics``, ``/feeds%2F<token>.ics`` and
``//subscribe/<token>`` are redacted like the plain forms. Only paths that *start* with
``/feeds/``, ``/subscribe/`` or ``/sign-in/`` carry a secret: API paths such as
``/api/schools/x/feeds/senco/tokens`` are left as they are. A query that carries one of those
paths (``?next=/subscribe/...``) is dropped.
"""

from __future__ import annotations

import logging
import posixpath
import re
from typing import Any
from urllib.parse import unquote

# An address in a log line: an optional scheme and host, then a path up to a space or quote.
ADDRESS = re.compile(r"""(?:\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s"'<>]*)?/[^\s"'<>]*""")
SECRET_ROOTS = {"feeds": "/feeds/[redacted].ics", "subscribe": "/subscribe/[redacted]",
                "sign-in": "/sign-in/[redacted]"}  # fmt: skip
HINTS = ("feeds", "subscribe", "sign-in", "%", "\\")


def _decoded(text: str) -> str:
    for _ in range(4):  # %2566 -> %66 -> f: servers decode once, be stricter than them
        once = unquote(text)
        if once == text:
            break
        text = once
    return text


def _root(path: str) -> str | None:
    """The secret-carrying root a (raw) path is read as, or None."""
    normal = posixpath.normpath("/" + _decoded(path).replace("\\", "/"))
    first, _, rest = normal.lstrip("/").partition("/")
    first = first.lower()
    return first if first in SECRET_ROOTS and rest else None


def _redact_address(match: re.Match[str]) -> str:
    address = match.group(0)
    split = re.match(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*)?", address)
    origin = split.group(0) if split else ""
    path, mark, query = address[len(origin) :].partition("?")
    root = _root(path)
    if root is not None:
        return origin + SECRET_ROOTS[root]
    if mark and any(f"/{r}/" in _decoded(query).lower().replace("\\", "/") for r in SECRET_ROOTS):
        return origin + path + "?[redacted]"
    return address


def redact(text: str) -> str:
    """Replace every secret in the addresses in ``text`` with [redacted]."""
    lowered = text.lower()
    if not any(hint in lowered for hint in HINTS):
        return text
    return ADDRESS.sub(_redact_address, text)


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
            """The access-log fields, redacted (a query that carries a secret path too)."""
            atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "f", "{raw_uri}e", "{referer}i"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            if isinstance(atoms.get("q"), str) and redact("/?" + atoms["q"]) != "/?" + atoms["q"]:
                atoms["q"] = "[redacted]"
            return atoms

except ImportError:  # pragma: no cover - gunicorn not installed
    pass
