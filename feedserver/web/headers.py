"""Security headers on every answer, by surface: pages, the API, feeds, static files.

Pages may not be framed (clickjacking), load nothing but this site's own stylesheet, send no
Referer (a subscribe page's own address carries a feed token, a sign-in link's its secret) and
are never stored by a browser or proxy (several show a secret once: a new sign-in link, key or
subscribe link). API answers are never stored either. Feeds are ``private``: a shared cache
between the calendar app and us must not keep a school's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def page_policy(form_targets: Iterable[str] = ()) -> str:
    """The pages' policy; ``form_targets`` are the other sites a form may lead to.

    A form that starts a consent flow (sign in with Google) answers with a redirect to the
    provider, and browsers hold redirects after a form to ``form-action`` too: each provider's
    authorization address is named here, and nothing else.
    """
    origins = sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, form_targets) if p.netloc})
    actions = " ".join(["'self'", *origins])
    return (
        f"default-src 'none'; style-src 'self'; img-src 'self'; form-action {actions}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    path = request.path
    if path.startswith("/static/"):
        return response
    headers.setdefault("Referrer-Policy", "no-referrer")
    if path.startswith("/feeds/"):
        return response  # Cache-Control is the feed's own (private, max-age)
    headers["Cache-Control"] = "no-store"
    if path.startswith("/api/") or path == "/healthz":
        headers.setdefault("Content-Security-Policy", API_POLICY)
        return response
    headers.setdefault("Content-Security-Policy", current_app.config["SENCOCAL_PAGE_POLICY"])
    headers.setdefault("X-Frame-Options", "DENY")
    return response


def install(app: Flask, form_targets: Iterable[str] = ()) -> None:
    """Add the headers to every answer of ``app`` (errors included).

    Args:
        app: the application.
        form_targets: authorization addresses that consent forms redirect to.
    """
    app.config["SENCOCAL_PAGE_POLICY"] = page_policy(form_targets)
    app.after_request(_secure)
