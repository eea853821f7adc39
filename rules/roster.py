"""The EHCP roster: one pseudonymous row per pupil with a plan, the input to per-pupil timelines.

The roster never holds a name. A pupil is the school's own reference (``P-0412``), a year group
and the dates the annual-review clock runs from. It is kept apart from the school's profile
(stored encrypted, read only by the school's own admins) and passed to the evaluator on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

REF_PATTERN = r"^[A-Za-z0-9-]{1,40}$"
_REF = re.compile(REF_PATTERN)
YEAR_GROUPS = range(-2, 15)  # -2 two-year-olds, -1 nursery, 0 reception, 1 to 14
MAX_PUPILS = 2000

Transfer = Literal["school", "post16"]
"""A phase transfer coming this year: to another school phase, or into post-16."""


@dataclass(frozen=True)
class EhcpPupil:
    """One pupil with an EHC plan, by the school's pseudonymous reference.

    Attributes:
        ref: the school's own code for the pupil, letters, digits and '-' only.
        year_group: -2 (two-year-olds), -1 (nursery), 0 (reception) up to 14.
        under_5: the pupil is under compulsory school age (interim reviews may apply).
        plan_issued: the date the final plan was issued.
        last_review_meeting: the last annual review meeting, if any.
        last_review_decision: the LA's decision after that review, if known; the 12-month
            clock runs from it, and from the meeting (marked assumed) when it is not known.
        booked_meeting: a meeting date the school has booked; it never moves.
        transfer: a phase transfer coming this academic year, if any.
    """

    ref: str
    year_group: int
    under_5: bool
    plan_issued: dt.date
    last_review_meeting: dt.date | None = None
    last_review_decision: dt.date | None = None
    booked_meeting: dt.date | None = None
    transfer: Transfer | None = None

    def __post_init__(self) -> None:
        if not _REF.match(self.ref):
            raise ValueError(
                f"pupil reference {self.ref!r} must be the school's own code "
                "(letters, digits and '-' only, up to 40), never a name"
            )
        if self.year_group not in YEAR_GROUPS:
            raise ValueError(f"year group {self.year_group} is outside -2 to 14")
        if self.last_review_decision is not None and self.last_review_meeting is None:
            raise ValueError("an LA decision date needs the review meeting it followed")
        if (
            self.last_review_meeting is not None
            and self.last_review_decision is not None
            and self.last_review_decision < self.last_review_meeting
        ):
            raise ValueError("the LA's decision is dated before the review meeting")
        if self.last_review_meeting is not None and self.last_review_meeting < self.plan_issued:
            raise ValueError("the last review meeting is dated before the plan was issued")


Roster = tuple[EhcpPupil, ...]


def roster_fingerprint(roster: Iterable[EhcpPupil]) -> str:
    """A stable digest of a roster's content, independent of row order (for refresh)."""
    rows = sorted(
        json.dumps(
            [
                p.ref,
                p.year_group,
                p.under_5,
                p.plan_issued.isoformat(),
                p.last_review_meeting.isoformat() if p.last_review_meeting else None,
                p.last_review_decision.isoformat() if p.last_review_decision else None,
                p.booked_meeting.isoformat() if p.booked_meeting else None,
                p.transfer,
            ]
        )
        for p in roster
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()
