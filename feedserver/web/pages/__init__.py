"""Server-rendered pages (Jinja, no JavaScript framework).

Sign-in, subscribe, preview, settings, and the admin's pages (one module per concern, sharing
``admin_nav``): each module adds its routes to the one blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask, production: bool) -> None:
    """Register the pages, their session cookie settings and template helpers."""
    from feedserver.web.pages import access
    from feedserver.web.pages import admin_audit as _audit  # noqa: F401 - registers its routes
    from feedserver.web.pages import admin_feeds as _admin_feeds  # noqa: F401
    from feedserver.web.pages import admin_keys as _keys  # noqa: F401
    from feedserver.web.pages import admin_people as _people  # noqa: F401
    from feedserver.web.pages import admin_views as _admin  # noqa: F401
    from feedserver.web.pages import auth_views as _auth  # noqa: F401
    from feedserver.web.pages import calendar_views as _calendars  # noqa: F401
    from feedserver.web.pages import la_people as _la_people  # noqa: F401
    from feedserver.web.pages import la_views as _la  # noqa: F401
    from feedserver.web.pages import microsoft_views as _microsoft  # noqa: F401
    from feedserver.web.pages import roster_views as _roster  # noqa: F401
    from feedserver.web.pages import school_views as _school  # noqa: F401
    from feedserver.web.pages import settings_views as _settings  # noqa: F401
    from feedserver.web.pages import subscribe_views as _subscribe  # noqa: F401
    from feedserver.web.pages import whats_new_views as _whats_new  # noqa: F401
    from feedserver.web.pages import workload_views as _workload  # noqa: F401
    from feedserver.web.pages.blueprint import bp

    access.configure(app, production)
    app.register_blueprint(bp)

    @app.context_processor
    def helpers() -> dict[str, Any]:
        from feedserver.web.pages import admin_nav, fmt

        return {"csrf_token": access.csrf_token, "fmt": fmt, "admin_sections": admin_nav.sections}
