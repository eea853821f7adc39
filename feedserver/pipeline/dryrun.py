"""What publishing an LA pack would do to each of its schools, before anything is stored.

For every school in the LA: evaluate its current and next academic year with the new pack in
place of the LA's live one, plan against its stored events with the same ``rules.diff.plan``
refresh uses, and count what this pack's entries would do: added, moved (old and new date),
reworded, removed, with a few examples, and the school dates the pack needs that the school has
not given. Past entries never change (the plan keeps them), so they are never counted.

Small LAs are checked in the request; a large one is checked by the ``dry_run_pack`` job in
batches, its progress stored on a :class:`DryRun` row the page reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

import rules
from feedserver import runtime
from feedserver.clock import today
from feedserver.pipeline import refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.pipeline.jobbase import job
from feedserver.storage import events as event_store
from feedserver.storage import packstore, schools
from feedserver.storage.models import DryRun, School
from rules.diff import plan

PUPIL = "/pupil:"  # the identity part that marks a per-pupil entry
EXAMPLES = 3  # examples of each kind of change, per school
IN_REQUEST = 40  # an LA with more schools than this is checked by a job


@dataclass(frozen=True)
class Change:
    """One entry the publication would change at one school."""

    kind: str  # "added" | "moved" | "reworded" | "removed"
    title: str
    old_start: str | None = None  # ISO dates
    new_start: str | None = None


@dataclass
class SchoolEffect:
    """What the publication would do at one school."""

    school_id: str
    name: str
    urn: str | None
    added: int = 0
    moved: int = 0
    reworded: int = 0
    removed: int = 0
    examples: list[Change] = field(default_factory=list)
    missing_dates: list[str] = field(default_factory=list)  # school date keys it needs

    @property
    def affected(self) -> bool:
        """True when any of the school's entries would change."""
        return bool(self.added or self.moved or self.reworded or self.removed)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**asdict(self), "affected": self.affected}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchoolEffect:
        """Rebuild from :meth:`to_json`."""
        values = {k: v for k, v in data.items() if k != "affected"}
        values["examples"] = [Change(**c) for c in values.get("examples", [])]
        return cls(**values)


def school_effect(
    session: Any, school: School, pack: rules.Pack, today: dt.date, memo: rules.Memo | None
) -> SchoolEffect:
    """What publishing ``pack`` (as it would be served) would do at ``school``."""
    profile = schools.profile_of(school)
    packs = [p for p, _ in schools.packs_for(session, profile) if p.pack != pack.pack]
    years = refresh.window(today)
    events, warnings = refresh.evaluate_packs([*packs, pack], profile, years, memo)
    stored = event_store.stored(session, school.id, years)
    # Per-pupil entries are the school's alone: an LA never sees them, even as counts here.
    ours = [e for e in events if e.body.pack == pack.pack and not e.body.pupil_level]
    others = {e.uid for e in events if e.body.pack != pack.pack}
    kept = {uid: s for uid, s in stored.items()
            if uid not in others and _of(uid, pack) and PUPIL not in uid}  # fmt: skip
    diff = plan(ours, kept, today)
    effect = SchoolEffect(school.id, school.name, profile.urn)
    seen: dict[str, int] = {}

    def example(change: Change) -> None:
        seen[change.kind] = seen.get(change.kind, 0) + 1
        if seen[change.kind] <= EXAMPLES:
            effect.examples.append(change)

    for c in diff.creates:
        effect.added += 1
        example(Change("added", c.event.body.title, new_start=_day(c.event.body.start)))
    for u in diff.updates:
        old, new = u.before.event.body, u.event.body
        if u.moved:
            effect.moved += 1
            example(Change("moved", new.title, _day(old.start), _day(new.start)))
        else:
            effect.reworded += 1
            example(Change("reworded", new.title, new_start=_day(new.start)))
    for d in diff.deletes:
        effect.removed += 1
        body = d.before.event.body
        example(Change("removed", body.title, old_start=_day(body.start)))
    effect.missing_dates = sorted(
        {
            w.subject
            for w in warnings
            if w.kind == rules.WarningKind.DATE_KEY
            and any(ref.startswith(f"{pack.pack}:") for ref in w.refs)
        }
    )
    return effect


def _of(uid: str, pack: rules.Pack) -> bool:
    return uid.split("/", 2)[1] == pack.pack


def _day(value: dt.date) -> str:
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def school_ids(session: Any, la_code: str) -> list[str]:
    """The LA's schools, by id."""
    return list(
        session.scalars(select(School.id).where(School.la_code == la_code).order_by(School.id))
    )


def check(
    session: Any,
    pack: rules.Pack,
    ids: list[str],
    today: dt.date,
    memo: rules.Memo | None,
) -> list[SchoolEffect]:
    """The effect at each of ``ids`` of publishing ``pack`` today."""
    served = packstore.as_published(session, pack, today)
    out = []
    for school_id in ids:
        school = session.get(School, school_id)
        if school is not None:
            out.append(school_effect(session, school, served, today, memo))
    return out


def start(session: Any, la_code: str, text: str, slug: str, actor: str, now: dt.datetime) -> DryRun:
    """Store a dry run for the LA's schools and queue its job (the caller commits)."""
    ids = school_ids(session, la_code)
    run = DryRun(la_code=la_code, slug=slug, content=text, state="waiting", total=len(ids),
                 done=0, results={"schools": []}, created_at=now, created_by=actor)  # fmt: skip
    session.add(run)
    session.flush()
    enqueue(dry_run_pack, run.id, reason="check")
    return run


BATCH = 25  # schools checked between progress updates


@job("fanout", timeout=3600)
def dry_run_pack(run_id: int, *, reason: str) -> dict[str, Any]:
    """Check a stored dry run's schools in batches, storing the results as it goes.

    Rerun after a crash, it carries on from the schools already checked.
    """
    svc = runtime.current()
    with svc.db.session() as session:
        run = session.get(DryRun, run_id)
        if run is None or run.state == "done":
            return {"run": run_id, "skipped": True}
        pack = rules.load_pack(run.content, f"{run.slug}.yaml")
        ids = school_ids(session, run.la_code)
        checked = {r["school_id"] for r in run.results.get("schools", [])}
        run.state, run.total = "running", len(ids)
    todo = [i for i in ids if i not in checked]
    for start_at in range(0, len(todo), BATCH):
        with svc.db.session() as session:
            effects = check(session, pack, todo[start_at : start_at + BATCH], today(svc.clock),
                            svc.memo)  # fmt: skip
            run = session.get(DryRun, run_id)
            if run is None:
                return {"run": run_id, "gone": True}
            done = [*run.results.get("schools", []), *(e.to_json() for e in effects)]
            run.results = {"schools": done}
            run.done = len(done)
    with svc.db.session() as session:
        run = session.get(DryRun, run_id)
        if run is not None:
            run.state = "done"
    return {"run": run_id, "schools": len(ids)}
