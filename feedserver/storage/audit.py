"""The audit log: who changed what and when. Never pass a secret in ``details``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage.models import AuditEntry


def record(
    session: Session,
    at: dt.datetime,
    actor: str,
    action: str,
    school_id: str | None = None,
    **details: Any,
) -> None:
    """Add one entry to the log (committed with the change it describes)."""
    session.add(AuditEntry(at=at, actor=actor, action=action, school_id=school_id, details=details))


PAGE = 50


def entries(
    session: Session,
    *,
    school_id: str | None = None,
    before: int | None = None,
    limit: int = PAGE,
) -> list[AuditEntry]:
    """The newest entries first (of one school when given), older than entry ``before``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if school_id is not None:
        query = query.where(AuditEntry.school_id == school_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(session.scalars(query))
