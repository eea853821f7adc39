"""A school's EHCP roster at rest: sealed with the server's key set, read only to evaluate or show.

The roster is one sealed JSON document per school (``ehcp_rosters``); the database holds no
pupil reference or date in clear, only the roster's fingerprint (for refresh) and its size.
A pupil who leaves (removed alone, or missing from a replacement roster) takes their stored
events and the "What changed" entries about them along, in the same transaction. Every write
takes the school's lock first, so it never interleaves with a refresh of that school.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.events import lock_school
from feedserver.storage.models import EventChange, EventRow, RosterRow
from feedserver.storage.secretbox import SecretBox
from rules.roster import EhcpPupil, Roster, roster_fingerprint
from rules.roster_csv import to_record

EMPTY_FINGERPRINT = roster_fingerprint(())


class RosterSchoolGone(LookupError):
    """The school was deleted while its roster was being changed."""


@dataclass(frozen=True)
class RosterChange:
    """What one write did: how many pupils joined, left and stayed, and whether anything changed.

    Attributes:
        added: pupils new to the roster.
        removed: pupils no longer on it (their events went with them).
        kept: pupils on both the old and the new roster.
        changed: the roster's content differs from before (a refresh is due).
        events_removed: stored events of the pupils who left, deleted.
    """

    added: int
    removed: int
    kept: int
    changed: bool
    events_removed: int


def read(session: Session, box: SecretBox, school_id: str) -> Roster:
    """The school's roster, in reference order (empty when it has none).

    Raises:
        SecretUnreadable: it was sealed with a key no longer configured.
    """
    row = session.get(RosterRow, school_id)
    if row is None:
        return ()
    return _opened(box, row.sealed)


def fingerprint(session: Session, school_id: str) -> str:
    """The school's roster fingerprint, without opening it (the empty roster's when none)."""
    found = session.scalar(select(RosterRow.fingerprint).where(RosterRow.school_id == school_id))
    return found or EMPTY_FINGERPRINT


def fingerprints(session: Session) -> dict[str, str]:
    """Every stored roster's fingerprint by school (one query, for the nightly staleness check)."""
    rows = session.execute(select(RosterRow.school_id, RosterRow.fingerprint))
    return {school_id: digest for school_id, digest in rows}


def size(session: Session, school_id: str) -> int:
    """How many pupils the school's roster holds."""
    return int(
        session.scalar(select(RosterRow.pupils).where(RosterRow.school_id == school_id)) or 0
    )


def replace(
    session: Session,
    box: SecretBox,
    school_id: str,
    roster: Iterable[EhcpPupil],
    actor: str,
    now: dt.datetime,
) -> RosterChange:
    """Make ``roster`` the school's whole roster (the caller commits and queues a refresh).

    Pupils missing from it have left: their events are deleted with them.

    Raises:
        RosterSchoolGone: the school does not exist (any more).
    """
    if lock_school(session, school_id) is None:
        raise RosterSchoolGone(school_id)
    new = tuple(sorted(roster, key=lambda p: p.ref))
    row = session.get(RosterRow, school_id, populate_existing=True)
    old = _opened(box, row.sealed) if row is not None else ()
    digest = roster_fingerprint(new)
    before = {p.ref for p in old}
    after = {p.ref for p in new}
    left = before - after
    events_removed = purge_pupils(session, school_id, left)
    changed = digest != (row.fingerprint if row is not None else EMPTY_FINGERPRINT)
    if changed:
        sealed = box.seal(json.dumps([to_record(p) for p in new], separators=(",", ":")))
        if row is None:
            session.add(RosterRow(school_id=school_id, sealed=sealed, fingerprint=digest,
                                  pupils=len(new), updated_at=now,
                                  updated_by=actor[:100]))  # fmt: skip
        else:
            row.sealed, row.fingerprint, row.pupils = sealed, digest, len(new)
            row.updated_at, row.updated_by = now, actor[:100]
        # counts only: the audit log is read by the instance admin, who never sees the roster
        audit.record(session, now, actor, "roster.replace", school_id, pupils=len(new),
                     added=len(after - before), removed=len(left))  # fmt: skip
    session.flush()
    return RosterChange(len(after - before), len(left), len(after & before), changed,
                        events_removed)  # fmt: skip


def remove_pupil(
    session: Session, box: SecretBox, school_id: str, ref: str, actor: str, now: dt.datetime
) -> RosterChange | None:
    """Remove one pupil who left, with their events; None when no such pupil is on the roster.

    Raises:
        RosterSchoolGone: the school does not exist (any more).
    """
    if lock_school(session, school_id) is None:
        raise RosterSchoolGone(school_id)
    row = session.get(RosterRow, school_id, populate_existing=True)
    old = _opened(box, row.sealed) if row is not None else ()
    if ref not in {p.ref for p in old}:
        return None
    return replace(session, box, school_id, [p for p in old if p.ref != ref], actor, now)


def purge_pupils(session: Session, school_id: str, refs: Iterable[str]) -> int:
    """Delete every stored event of these pupils (any year, live or dropped); how many.

    Also their "What changed" entries. Pushed calendars never receive pupil-level events
    (``pipeline.pushed``), so no remote calendar or sync ledger holds any of theirs.
    """
    gone = set(refs)
    if not gone:
        return 0
    rows = session.execute(
        select(EventRow.uid, EventRow.body).where(EventRow.school_id == school_id)
    ).all()
    uids = [uid for uid, body in rows if body.get("pupil") in gone]
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        session.execute(
            delete(EventRow).where(EventRow.school_id == school_id, EventRow.uid.in_(chunk))
        )
        session.execute(
            delete(EventChange).where(
                EventChange.school_id == school_id, EventChange.uid.in_(chunk)
            )
        )
    return len(uids)


def _opened(box: SecretBox, sealed: bytes) -> Roster:
    records = json.loads(box.open(sealed))
    return tuple(_pupil(r) for r in records)


def _pupil(record: dict[str, object]) -> EhcpPupil:
    def day(name: str) -> dt.date | None:
        value = record.get(name)
        return dt.date.fromisoformat(str(value)) if value else None

    plan = day("plan_issued")
    assert plan is not None
    return EhcpPupil(
        ref=str(record["ref"]),
        year_group=int(str(record["year_group"])),
        under_5=bool(record["under_5"]),
        plan_issued=plan,
        last_review_meeting=day("last_review_meeting"),
        last_review_decision=day("last_review_decision"),
        booked_meeting=day("booked_meeting"),
        transfer=record.get("transfer") or None,  # type: ignore[arg-type]
    )
