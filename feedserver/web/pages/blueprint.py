"""The pages' one blueprint (each view module adds its routes to it)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
