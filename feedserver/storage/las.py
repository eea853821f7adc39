"""Local authorities that publish their own packs, and the officers who publish for them.

The instance admin adds an LA (its DfE three-digit code and name) with its first officer; an
officer can add colleagues. Officers are accounts with the ``la`` scope (``storage.accounts``)
and sign in to the pages like school admins; an LA may also have API keys (``storage.apikeys``).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.models import LocalAuthority
from feedserver.storage.plaintext import PlainTextError, one_line
from rules.errors import SencocalInputError

CODE = re.compile(r"^\d{3}$")
MAX_NAME = 200


class LaError(SencocalInputError):
    """An LA that cannot be added as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def create(session: Session, code: str, name: str, actor: str, now: dt.datetime) -> LocalAuthority:
    """Add an LA.

    Raises:
        LaError: the code is not three digits, is taken, or the name is missing.
    """
    code = code.strip()
    if not CODE.match(code):
        raise LaError("An LA code is the DfE's three-digit number, like 330.", "code")
    try:
        name = one_line(name, "LA's name", MAX_NAME, required=True)
    except PlainTextError as exc:
        raise LaError(str(exc), "name") from None
    if session.get(LocalAuthority, code) is not None:
        raise LaError(f"LA {code} is already here.", "code")
    la = LocalAuthority(code=code, name=name, created_at=now)
    session.add(la)
    session.flush()
    audit.record(session, now, actor, "la.create", None, code=code, name=name)
    return la


def get(session: Session, code: str) -> LocalAuthority | None:
    """The LA with ``code``, or None."""
    return session.get(LocalAuthority, code)


def all_las(session: Session) -> list[LocalAuthority]:
    """Every LA, by name."""
    return list(session.scalars(select(LocalAuthority).order_by(LocalAuthority.name)))
