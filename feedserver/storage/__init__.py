"""What sencocal keeps, and every read and write of it (SQLAlchemy 2, Alembic)."""
