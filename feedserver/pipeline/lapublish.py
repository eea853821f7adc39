"""An LA's own publications: check, dry run, publish, roll back, term dates, and their progress.

The API and the LA's pages both come here, so each action is validated, audited and queued the
same way. Nothing here grows with the number of schools inside a request except the dry run of a
small LA (at most :data:`dryrun.IN_REQUEST` schools); a larger one, and every publication's
fan-out, is a job. A rejected pack raises before anything is stored, so no school sees a change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from feedserver import laterms, runtime
from feedserver.clock import today
from feedserver.pipeline import dryrun, jobs
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import la_view, packstore
from feedserver.storage.models import DryRun, LocalAuthority, PackVersion, School
from feedserver.storage.plaintext import PlainTextError, one_line

MAX_NOTE = 500


class NoteError(rules.SencocalInputError):
    """The note for schools is not plain text of the right length."""


@dataclass(frozen=True)
class Progress:
    """How far a publication has reached: schools re-evaluated with it, of those it reaches."""

    total: int
    done: int

    @property
    def finished(self) -> bool:
        """True once every school it reaches has it."""
        return self.done >= self.total


def owns(session: Session, la_code: str, slug: str) -> bool:
    """Whether ``slug`` is one of ``la_code``'s packs."""
    return slug in la_view.la_slugs(session, la_code)


def clean_note(note: str) -> str:
    """The publisher's note as stored (one line of plain text).

    Raises:
        NoteError: it has control characters or is too long.
    """
    try:
        return one_line(note, "note for schools", MAX_NOTE)
    except PlainTextError as exc:
        raise NoteError(str(exc)) from None


def check(session: Session, la_code: str, data: bytes | str, filename: str) -> rules.Pack:
    """Validate a pack for ``la_code`` without storing it.

    Raises:
        rules.PackRejected: every problem, with file, line, rule and field.
        packstore.PackPublishError: the pack names another publisher or a taken name.
    """
    return packstore.validate(session, data, filename, publisher_code=la_code)


def dry_run(
    session: Session, la_code: str, data: bytes | str, filename: str, actor: str, now: dt.datetime
) -> DryRun:
    """Validate, then work out what publishing would do at each school (the caller commits).

    A small LA is checked at once; a larger one by the ``dry_run_pack`` job, whose progress is
    stored on the returned row.
    """
    pack = check(session, la_code, data, filename)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    ids = dryrun.school_ids(session, la_code)
    if len(ids) > dryrun.IN_REQUEST:
        return dryrun.start(session, la_code, text, pack.pack, actor, now)
    svc = runtime.current()
    effects = dryrun.check(session, pack, ids, today(svc.clock), svc.memo)
    run = DryRun(la_code=la_code, slug=pack.pack, content=text, state="done", total=len(ids),
                 done=len(ids), results={"schools": [e.to_json() for e in effects]},
                 created_at=now, created_by=actor)  # fmt: skip
    session.add(run)
    session.flush()
    return run


def publish(
    session: Session,
    la_code: str,
    data: bytes | str,
    filename: str,
    note: str,
    actor: str,
    now: dt.datetime,
) -> tuple[PackVersion, bool]:
    """Store a new revision and queue its fan-out (after the commit); whether it is new."""
    version, new = packstore.publish(
        session, data, filename, actor, now, note=clean_note(note), publisher_code=la_code
    )
    if new:
        enqueue(jobs.fan_out_pack, version.id, reason="publish")
    return version, new


def rollback(
    session: Session,
    la_code: str,
    slug: str,
    revision: int,
    note: str,
    actor: str,
    now: dt.datetime,
) -> tuple[PackVersion, bool]:
    """Publish an earlier revision's content again, as a new revision, and queue its fan-out.

    Raises:
        packstore.PackPublishError: ``slug`` is not this LA's or has no such revision.
    """
    if not owns(session, la_code, slug):
        raise packstore.PackPublishError(
            f"There is no version {revision} of '{slug}' to go back to."
        )
    version, new = packstore.rollback(session, slug, revision, actor, now, clean_note(note))
    if new:
        enqueue(jobs.fan_out_pack, version.id, reason="rollback")
    return version, new


def term_dates(
    session: Session,
    la: LocalAuthority,
    data: bytes,
    kind: str,
    note: str,
    actor: str,
    now: dt.datetime,
) -> tuple[PackVersion, bool]:
    """Publish the LA's term dates from its CSV (``kind="csv"``) or ICS calendar (``"ics"``).

    Raises:
        rules.PackRejected: every problem in the file, with its line or entry.
    """
    periods = laterms.from_csv(data) if kind == "csv" else laterms.from_ics(data)
    label = f"term dates imported {now.date().isoformat()}"
    text = laterms.pack_yaml(la.code, la.name, periods, label)
    return publish(session, la.code, text, f"{laterms.slug_for(la.code)}.yaml", note, actor, now)


def progress(session: Session, version: PackVersion) -> Progress:
    """Schools reached by ``version`` that have been re-evaluated with it (or a later one)."""
    reached = packstore.reached_school_ids(session, version)
    if not reached:
        return Progress(0, 0)
    done = 0
    rows = session.execute(select(School.evaluated_packs).where(School.id.in_(reached)))
    for (evaluated,) in rows:
        slug, _, rev = str((evaluated or {}).get(version.slug, "")).partition("@")
        if slug == version.slug and rev.isdigit() and int(rev) >= version.revision:
            done += 1
    return Progress(len(reached), done)
