"""A school's own controls: turning a rule off, setting its own date, adding one-off events."""

from __future__ import annotations

import datetime as dt

import pytest

import rules
from rules.vocabulary import Status
from rules.warning import WarningKind
from tests.rules.helpers import with_changes

D = dt.date


@pytest.fixture(scope="module")
def packs(builtin_packs, la_example):
    return [*builtin_packs, la_example]


def rule_events(events, ref):
    pack, rule = ref.split(":")
    return [e.body for e in events if e.body.pack == pack and e.body.rule == rule]


def test_a_rule_turned_off_makes_nothing_and_others_are_untouched(packs, demo_primary):
    before = rules.evaluate(packs, demo_primary, 2026)
    off = with_changes(demo_primary, rules_off=["senco-annual-cycle:slt-send-meeting"])
    after = rules.evaluate(packs, off, 2026)
    assert rule_events(before, "senco-annual-cycle:slt-send-meeting")
    assert rule_events(after, "senco-annual-cycle:slt-send-meeting") == []
    rest = {e.uid: e.body.content_hash for e in before if e.body.rule != "slt-send-meeting"}
    assert rest == {e.uid: e.body.content_hash for e in after}


def test_a_date_of_the_schools_own_replaces_the_rules_date_and_moves_its_prep(packs, demo_primary):
    ref = "la-example:topup-round-autumn"
    moved = with_changes(demo_primary, date_overrides={ref: {2026: D(2026, 10, 16)}})
    events = rules.evaluate(packs, moved, 2026)
    bodies = {b.prep: b for b in rule_events(events, ref)}
    assert bodies[None].start == D(2026, 10, 16)
    assert bodies[None].status == Status.CONFIRMED
    assert "set by your school" in bodies[None].why
    assert bodies["gather-evidence"].start == D(2026, 9, 25)  # three weeks before the new date
    uids = {e.uid for e in rules.evaluate(packs, demo_primary, 2026)}
    assert {e.uid for e in events} == uids  # same identities: the event moved, not replaced


def test_a_date_override_reaches_rules_dated_from_it(packs, demo_primary):
    moved = with_changes(
        demo_primary, date_overrides={"england-statutory:census-autumn": {2026: D(2026, 10, 8)}}
    )
    events = rules.evaluate(packs, moved, 2026)
    [ret] = [
        b for b in rule_events(events, "england-statutory:census-autumn-return") if b.prep is None
    ]
    assert ret.start == D(2026, 11, 4)  # 8 Oct + 27 days


def test_a_date_override_on_a_repeating_rule_is_a_warning(packs, demo_primary):
    ref = "senco-annual-cycle:slt-send-meeting"
    moved = with_changes(demo_primary, date_overrides={ref: {2026: D(2026, 10, 8)}})
    result = rules.evaluate_full(packs, moved, 2026)
    assert any(
        w.kind is WarningKind.OVERRIDE_SEVERAL_DATES and w.subject == ref and ref in w.refs
        for w in result.warnings
    )


def test_one_off_local_events_appear_in_their_year_with_their_audience(packs, demo_primary):
    local = {
        "id": "ep-visit", "title": "Educational psychologist visit", "kind": "meeting",
        "start": D(2026, 11, 12), "end": D(2026, 11, 13), "audience": ["senco", "slt"],
    }  # fmt: skip
    school = with_changes(demo_primary, local_events=[local])
    events = rules.evaluate(packs, school, 2026)
    [body] = [e.body for e in events if e.body.pack == "local"]
    assert (body.start, body.end, body.title) == (
        D(2026, 11, 12),
        D(2026, 11, 14),
        "Educational psychologist visit",
    )
    assert "slt" in body.audience and body.why == "added by your school"
    assert not [e for e in rules.evaluate(packs, school, 2025) if e.body.pack == "local"]


def test_local_event_with_end_before_start_is_refused(demo_primary):
    with pytest.raises(Exception) as caught:
        with_changes(
            demo_primary,
            local_events=[
                {"id": "x", "title": "X", "start": D(2026, 11, 12), "end": D(2026, 11, 1)}
            ],
        )
    assert "'end' is before 'start'" in str(caught.value)


def test_a_closure_day_is_neither_a_school_day_nor_a_staff_day(demo_primary):
    from tests.rules.helpers import evaluate_rule

    rule = {"id": "t", "kind": "task", "when": {"month": "november", "day": 5}}
    open_day, _ = evaluate_rule(rule, demo_primary, 2026, packs=[])
    closed = with_changes(demo_primary, closure_days=[D(2026, 11, 5)])
    from feedserver import catalog

    moved, _ = evaluate_rule(rule, closed, 2026, packs=[catalog.demo_pack("la-example")])
    same, _ = evaluate_rule(rule, demo_primary, 2026, packs=[catalog.demo_pack("la-example")])
    assert [b.start for b in same] == [D(2026, 11, 5)]
    assert [b.start for b in moved] == [D(2026, 11, 6)]
    assert open_day == []  # without term dates nothing can be placed
