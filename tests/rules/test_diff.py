"""The one diff (``rules.diff.plan``): identity decides, the past stays, applying converges."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from feedserver import catalog
from rules.diff import Diff, Stored, is_past, plan

SCHOOL = catalog.demo_school("demo-secondary")
PACKS = [*catalog.builtin_packs(), catalog.demo_pack("la-example")]
EVENTS = rules.evaluate(PACKS, SCHOOL, 2026)
TODAY = dt.date(2026, 11, 23)


def store(events: list[rules.Event]) -> dict[str, Stored]:
    return {e.uid: Stored.of(e, 0, True) for e in events}


def apply(stored: dict[str, Stored], diff: Diff) -> dict[str, Stored]:
    """An independent in-memory apply, as the event rows do it."""
    out = dict(stored)
    for c in diff.creates:
        out[c.uid] = Stored.of(c.event, 0 if c.previous is None else c.previous.sequence + 1)
    for u in diff.updates:
        out[u.uid] = Stored.of(u.event, u.before.sequence + 1)
    for d in diff.deletes:
        out[d.uid] = dataclasses.replace(d.before, active=False)
    return out


def moved(event: rules.Event, days: int) -> rules.Event:
    body = event.body
    delta = dt.timedelta(days=days)
    return event._replace(
        body=dataclasses.replace(body, start=body.start + delta, end=body.end + delta)
    )


def reworded(event: rules.Event) -> rules.Event:
    return event._replace(body=dataclasses.replace(event.body, title=event.body.title + " (new)"))


def test_nothing_changed_plans_nothing():
    assert plan(EVENTS, store(EVENTS), TODAY) == Diff()


def test_a_moved_deadline_is_one_update_never_a_delete_and_a_create():
    future = next(e for e in EVENTS if not is_past(e, TODAY))
    desired = [moved(e, 7) if e.uid == future.uid else e for e in EVENTS]
    diff = plan(desired, store(EVENTS), TODAY)
    assert [u.uid for u in diff.updates] == [future.uid]
    assert diff.updates[0].moved
    assert not diff.creates and not diff.deletes


def test_past_events_are_never_moved_reworded_or_removed():
    past = [e for e in EVENTS if is_past(e, TODAY)]
    assert len(past) > 5
    desired = [moved(e, 3) if is_past(e, TODAY) else e for e in EVENTS]
    desired = [e for e in desired if e.uid != past[0].uid]  # and one dropped altogether
    diff = plan(desired, store(EVENTS), TODAY)
    assert diff.empty
    assert {s.event.uid for s in diff.kept} == {e.uid for e in past}
    result = {e.uid: e for e in diff.result(desired)}
    for event in past:  # the calendar still shows them as they happened
        assert result[event.uid] == event


def test_an_event_ending_today_is_not_past():
    event = next(
        e for e in EVENTS if e.body.all_day and e.body.end - e.body.start == dt.timedelta(1)
    )
    assert not is_past(event, event.body.start)
    assert is_past(event, event.body.start + dt.timedelta(days=1))


def test_a_dropped_event_coming_back_continues_its_sequence():
    gone = dict(store(EVENTS))
    first = EVENTS[-1]
    gone[first.uid] = Stored.of(first, 4, active=False)
    diff = plan(EVENTS, gone, TODAY)
    assert [c.uid for c in diff.creates] == [first.uid]
    assert diff.creates[0].previous is not None
    assert apply(gone, diff)[first.uid].sequence == 5


def test_two_desired_events_with_one_identity_are_refused():
    try:
        plan([EVENTS[0], EVENTS[0]], {}, TODAY)
    except ValueError as exc:
        assert EVENTS[0].uid in str(exc)
    else:
        raise AssertionError("a duplicate identity was accepted")


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[rules.Event], list[rules.Event], dt.date]:
    """A stored calendar and a desired one that moves, rewords, drops and adds events."""
    indices = st.integers(min_value=0, max_value=len(EVENTS) - 1)
    stored_ids = draw(st.sets(indices, min_size=1, max_size=40))
    desired_ids = draw(st.sets(indices, max_size=40))
    move = draw(st.sets(indices, max_size=10))
    reword = draw(st.sets(indices, max_size=10))
    today = TODAY + dt.timedelta(days=draw(st.integers(-120, 240)))
    stored = [EVENTS[i] for i in sorted(stored_ids)]
    desired = []
    for i in sorted(desired_ids):
        event = EVENTS[i]
        if i in move:
            event = moved(event, draw(st.integers(-20, 20).filter(bool)))
        if i in reword:
            event = reworded(event)
        desired.append(event)
    return stored, desired, today


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=edits())
def test_applying_a_plan_then_planning_again_gives_an_empty_diff(case):
    stored_events, desired, today = case
    stored = store(stored_events)
    diff = plan(desired, stored, today)
    after = apply(stored, diff)
    assert plan(desired, after, today).empty
    live = {uid: s.event for uid, s in after.items() if s.active}
    assert sorted(live.values(), key=lambda e: e.body.sort_key) == diff.result(desired)
    for uid, before in stored.items():  # the past is as it was
        if is_past(before.event, today):
            assert live[uid] == before.event
    for change in (*diff.updates, *diff.deletes):
        assert not is_past(change.before.event, today)
    assert len(set(diff.changed_uids)) == len(diff)
