"""england-statutory against the reference sheet (shared/reference/send-calendar-facts.md).

2025/26 dates the sheet marks CONFIRMED are checked exactly and must be ``confirmed``; 2026/27
dates the sheet marks COMPUTED must be shown as ``computed`` ("expected"); dates it marks
UNCONFIRMED must never appear as a date, only as a "find this year's date" task.
"""

from __future__ import annotations

import datetime as dt

import pytest

import rules
from rules.vocabulary import Status
from tests.rules.helpers import with_changes

D = dt.date


@pytest.fixture(scope="module")
def primary_events(statutory, la_example, demo_primary):
    return {y: rules.evaluate([statutory, la_example], demo_primary, y) for y in (2025, 2026)}


@pytest.fixture(scope="module")
def secondary_events(statutory, la_example, demo_secondary):
    return {y: rules.evaluate([statutory, la_example], demo_secondary, y) for y in (2025, 2026)}


def main(events, rule):
    return [
        e.body
        for e in events
        if e.body.pack == "england-statutory" and e.body.rule == rule and e.body.prep is None
    ]


CONFIRMED_2025 = [
    ("census-autumn", D(2025, 10, 2), D(2025, 10, 3)),
    ("census-autumn-return", D(2025, 10, 29), D(2025, 10, 30)),
    ("census-spring", D(2026, 1, 15), D(2026, 1, 16)),
    ("census-spring-return", D(2026, 2, 11), D(2026, 2, 12)),
    ("census-summer", D(2026, 5, 21), D(2026, 5, 22)),
    ("ks2-tests", D(2026, 5, 11), D(2026, 5, 15)),
    ("multiplication-check", D(2026, 6, 1), D(2026, 6, 13)),
    ("phonics-check", D(2026, 6, 8), D(2026, 6, 13)),
    ("phase-transfer-school", D(2026, 2, 14), D(2026, 2, 15)),
    ("financial-year-start", D(2026, 4, 1), D(2026, 4, 2)),
]


@pytest.mark.parametrize(("rule", "start", "end"), CONFIRMED_2025)
def test_2025_26_confirmed_dates_are_exact_and_confirmed(primary_events, rule, start, end):
    [body] = main(primary_events[2025], rule)
    assert (body.start, body.end, body.status) == (start, end, Status.CONFIRMED)
    assert "(expected)" not in body.title


COMPUTED_2026 = [
    ("census-autumn", D(2026, 10, 1)),
    ("census-autumn-return", D(2026, 10, 28)),
    ("census-spring", D(2027, 1, 21)),
    ("census-spring-return", D(2027, 2, 17)),
    ("census-summer", D(2027, 5, 20)),
    ("census-summer-return", D(2027, 6, 16)),
    ("ks2-tests", D(2027, 5, 10)),
    ("multiplication-check", D(2027, 6, 7)),
    ("phonics-check", D(2027, 6, 14)),
]


@pytest.mark.parametrize(("rule", "start"), COMPUTED_2026)
def test_2026_27_computed_dates_are_shown_as_expected(primary_events, rule, start):
    [body] = main(primary_events[2026], rule)
    assert (body.start, body.status) == (start, Status.COMPUTED)
    assert body.title.endswith("(expected)")
    assert "Expected date" in body.categories


def test_summer_2026_census_return_has_one_source_so_stays_computed(primary_events):
    [body] = main(primary_events[2025], "census-summer-return")
    assert (body.start, body.status) == (D(2026, 6, 17), Status.COMPUTED)


@pytest.mark.parametrize("rule", ["ks2-access-arrangements", "ks2-modified-tests"])
def test_unconfirmed_primary_dates_are_tasks_to_find_them_never_dates(primary_events, rule):
    for year in (2025, 2026):
        bodies = [e.body for e in primary_events[year] if e.body.rule == rule]
        assert [(b.prep, b.status, b.kind.value) for b in bodies] == [
            ("find-date", Status.UNCONFIRMED, "task")
        ]
        assert bodies[0].title.startswith("Find this year's date: ")


@pytest.mark.parametrize("rule", ["jcq-aao-june", "jcq-modified-papers-june"])
def test_unconfirmed_jcq_deadlines_are_tasks_to_find_them(secondary_events, rule):
    bodies = [e.body for e in secondary_events[2026] if e.body.rule == rule]
    assert [(b.prep, b.status) for b in bodies] == [("find-date", Status.UNCONFIRMED)]


def test_phase_transfer_deadlines_sit_on_the_last_permitted_day_and_never_move(
    primary_events, secondary_events
):
    school = main(primary_events[2026], "phase-transfer-school")[0]
    post16 = main(secondary_events[2026], "phase-transfer-post16")[0]
    assert school.start == D(2027, 2, 14)  # a Sunday: kept, never moved to Monday 15th
    assert post16.start == D(2027, 3, 30)
    assert "before 15 February" in school.title and "before 15 February" in school.description
    assert "before 31 March" in post16.title
    assert main(primary_events[2025], "phase-transfer-school")[0].start == D(
        2026, 2, 14
    )  # a Saturday


def test_phase_transfer_has_warning_tasks_weeks_ahead_on_staff_days(primary_events):
    preps = {
        e.body.prep: e.body
        for e in primary_events[2026]
        if e.body.rule == "phase-transfer-school" and e.body.prep
    }
    assert preps["warning"].start < D(2027, 2, 14) - dt.timedelta(weeks=5)
    assert preps["hold-reviews"].start < preps["warning"].start
    # 3 Jan 2027 is in the Christmas break: the reminder moves forward into term (4 Jan, an INSET
    # day), not back to 18 Dec, 8 weeks before (issue 8)
    assert preps["warning"].start == D(2027, 1, 4)


def test_phase_rules_apply_by_phase(primary_events, secondary_events):
    assert main(secondary_events[2026], "phase-transfer-school") == []
    assert main(primary_events[2026], "phase-transfer-post16") == []
    assert main(secondary_events[2026], "ks2-tests") == []


def test_financial_year_for_an_academy_is_september(secondary_events):
    assert main(secondary_events[2026], "financial-year-start")[0].start == D(2026, 9, 1)


def test_national_windows_do_not_follow_a_schools_breaks(statutory, demo_primary):
    # Move this school's summer half term a week later: national windows must not move.
    late = dict(
        demo_primary.model_dump(),
        term_dates={
            2026: [
                {"label": "autumn1", "start": D(2026, 9, 1), "end": D(2026, 10, 23)},
                {"label": "autumn2", "start": D(2026, 11, 2), "end": D(2026, 12, 18)},
                {"label": "spring1", "start": D(2027, 1, 4), "end": D(2027, 2, 12)},
                {"label": "spring2", "start": D(2027, 2, 22), "end": D(2027, 3, 25)},
                {"label": "summer1", "start": D(2027, 4, 12), "end": D(2027, 6, 4)},
                {"label": "summer2", "start": D(2027, 6, 14), "end": D(2027, 7, 21)},
            ]
        },
    )
    events = rules.evaluate([statutory], rules.SchoolProfile.model_validate(late), 2026)
    assert main(events, "multiplication-check")[0].start == D(2027, 6, 7)
    assert main(events, "phonics-check")[0].start == D(2027, 6, 14)


def test_every_statutory_rule_names_its_source(statutory):
    for rule in statutory.rules:
        if rule.statutory:
            assert rule.source is not None and rule.source.url is not None, rule.id


def test_a_school_that_finds_a_date_sees_it_confirmed(statutory, la_example, demo_primary):
    found = with_changes(
        demo_primary,
        publishes={
            "england-statutory:ks2-access-arrangements": {2026: [D(2027, 3, 8), D(2027, 3, 19)]}
        },
    )
    events = rules.evaluate([statutory, la_example], found, 2026)
    bodies = [e.body for e in events if e.body.rule == "ks2-access-arrangements"]
    assert [(b.start, b.end, b.status, b.prep) for b in bodies] == [
        (D(2027, 3, 8), D(2027, 3, 20), Status.CONFIRMED, None)
    ]
