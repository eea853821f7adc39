"""The WSGI entry point: ``gunicorn -c deploy/gunicorn.conf.py feedserver.wsgi:app``."""

from __future__ import annotations

from feedserver.web.app import create_app

app = create_app(background_jobs=True)  # without REDIS_URL, jobs never hold up a request
