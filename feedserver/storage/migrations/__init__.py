"""Alembic migrations for sencocal's database."""
