"""sencocal's service edge: the Flask app (feeds, API), storage, ICS rendering and the CLI."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so `sencocal pack check` does not import Flask and SQLAlchemy.
    if name == "create_app":
        from feedserver.web.app import create_app

        return create_app
    raise AttributeError(name)
