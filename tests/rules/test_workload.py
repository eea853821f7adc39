"""The SENCO workload view (rules/workload.py) and the effort estimates it adds up.

The issue says the demo primary school (15 hours a week) has 6 of its 41 term weeks over, the
week of 14 Sep 2026 at 19.2 hours in 8 entries. Measured on the packs as they stand (and on
main's packs before this change, with the same result): 40 term weeks (weeks with at least one
school day in the Example Borough calendar, INSET days not counted), 9 of them over, the week of
14 Sep 2026 at 20.25 hours in 9 entries. The issue's figure is one 1-hour entry short of that
week (19.25 hours, shown rounded as 19.2): the packs have grown since it was written. Adding
estimates to the national dates that had none changed one week (12 Apr 2027: 15.5 to 15.75
hours, National Offer Day for primary schools) and no week's over/under verdict.
"""

from __future__ import annotations

import datetime as dt

import pytest

import rules
from rules.vocabulary import Basis
from rules.workload import movable, workload
from tests.rules.helpers import with_changes

YEAR = 2026


@pytest.fixture(scope="module")
def packs(builtin_packs, la_example):
    return [*builtin_packs, la_example]


@pytest.fixture(scope="module")
def load(packs, demo_primary):
    return workload(rules.evaluate(packs, demo_primary, YEAR), demo_primary, YEAR, packs=packs)


def test_every_rule_and_preparation_in_the_built_in_packs_has_an_effort_estimate(builtin_packs):
    missing = [
        f"{p.pack}:{r.id}{'/' + prep.id if prep else ''}"
        for p in builtin_packs
        for r in p.rules
        for prep in (None, *r.prep)
        if (prep or r).effort_hours is None
    ]
    assert missing == []


def test_a_schools_own_estimate_replaces_the_rules_for_its_main_entry_only(packs, demo_primary):
    ref = "england-statutory:ks2-tests"
    mine = with_changes(demo_primary, effort_hours={ref: 9})
    bodies = [e.body for e in rules.evaluate(packs, mine, YEAR) if e.body.rule == "ks2-tests"]
    assert [b.effort_hours for b in bodies if b.prep is None] == [9]
    assert {b.effort_hours for b in bodies if b.prep} == {3, 1}


def test_a_schools_own_estimate_must_name_a_rule_and_be_sensible(demo_primary):
    with pytest.raises(rules.PackRejected) as bad:
        rules.profile.profile_from_data(
            {**demo_primary.model_dump(mode="json"), "effort_hours": {"nonsense": 1, "a:b": -2}},
            "settings",
        )
    text = str(bad.value)
    assert "effort_hours" in text and "pack:rule-id" in text


def test_the_demo_primarys_year_as_weeks_against_its_15_hours(load):
    assert load.cap == 15
    assert len(load.weeks) == 53 and load.weeks[0].monday == dt.date(2026, 8, 31)
    assert all(w.monday.weekday() == 0 for w in load.weeks)
    term = [w for w in load.weeks if w.in_term]
    assert len(term) == 40
    over = [w.monday for w in load.over_weeks]
    assert len(over) == 9 and all(w.in_term for w in load.over_weeks)
    sep14 = next(w for w in load.weeks if w.monday == dt.date(2026, 9, 14))
    assert sep14.over and sep14.hours == 20.25 and len(sep14.entries) == 9
    assert sep14.hours == sum(e.body.effort_hours or 0 for e in sep14.entries)
    assert all(w.over == (w.hours > 15) for w in load.weeks)


def test_suggestions_move_only_movable_tasks_earlier_into_term_weeks_with_room(load):
    assert load.suggestions
    term = {w.monday for w in load.weeks if w.in_term}
    for s in load.suggestions:
        assert s.to_date < s.from_date and s.year == YEAR
        assert s.to_date - dt.timedelta(days=s.to_date.weekday()) in term
        entry = next(e for w in load.weeks for e in w.entries if f"{e.body.pack}:{e.body.rule}"
                     == s.ref and e.body.prep is None)  # fmt: skip
        assert movable(entry.body) and entry.body.basis != Basis.STATUTORY
        assert "hours" in s.reason and ":" not in s.reason.replace(s.ref, "")


def test_accepting_every_suggestion_leaves_no_week_over(packs, demo_primary, load):
    own = {s.ref: {YEAR: s.to_date} for s in load.suggestions}
    accepted = with_changes(demo_primary, date_overrides=own)
    after = workload(rules.evaluate(packs, accepted, YEAR), accepted, YEAR, packs=packs)
    assert after.over_weeks == ()


def test_statutory_dates_and_pupils_meetings_are_never_suggested(packs, demo_primary):
    from tests.rules.test_ehcp_timelines import roster_of_40

    events = rules.evaluate(packs, demo_primary, YEAR, roster=roster_of_40())
    load = workload(events, demo_primary, YEAR, packs=packs)
    fixed = {f"{e.body.pack}:{e.body.rule}" for e in events
             if e.body.statutory or e.body.pupil_level}  # fmt: skip
    assert not fixed & {s.ref for s in load.suggestions}

    def day(value):
        return value.date() if isinstance(value, dt.datetime) else value

    first, last = dt.date(2026, 9, 1), dt.date(2027, 8, 31)
    counted = [e for e in events if e.body.year == YEAR and first <= day(e.body.start) <= last]
    total = sum(e.body.effort_hours or 0 for e in counted)
    assert sum(w.hours for w in load.weeks) == pytest.approx(total)


def test_without_a_cap_no_week_is_over_and_nothing_is_suggested(packs, demo_primary):
    free = with_changes(demo_primary, senco_hours_per_week=None)
    got = workload(rules.evaluate(packs, free, YEAR), free, YEAR, packs=packs)
    assert got.cap is None and got.over_weeks == () and got.suggestions == ()
