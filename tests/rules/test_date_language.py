"""Each date-language construct against the real calendars of 2025/26, 2026/27 and 2027/28.

Calendars: ``england-typical`` (the reference sheet's typical English pattern with its example
INSET days) and ``six-term`` (a Kent-style six-term school). Bank holidays are England and Wales'
real ones from the ``holidays`` package (Good Friday 3 Apr 2026 / 26 Mar 2027 / 14 Apr 2028...).
"""

from __future__ import annotations

import datetime as dt

import pytest

from rules.vocabulary import Status
from rules.warning import WarningKind
from tests.conftest import load_calendar
from tests.rules.helpers import evaluate_rule, starts, with_changes

D = dt.date


@pytest.fixture(scope="module")
def typical():  # type: ignore[no-untyped-def]
    return load_calendar("england-typical")


@pytest.fixture(scope="module")
def six_term():  # type: ignore[no-untyped-def]
    return load_calendar("six-term")


# --------------------------------------------------------------------- fixed month-day


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2025, D(2025, 10, 10)), (2026, D(2026, 10, 10)), (2027, D(2027, 10, 10))],
)
def test_fixed_month_day_is_that_day_in_the_right_calendar_year(typical, year, expected):
    bodies, _ = evaluate_rule(
        {"id": "d", "kind": "event", "when": {"month": "october", "day": 10}}, typical, year
    )
    assert starts(bodies) == [expected]
    assert bodies[0].why == f"10 October {expected.year}"


def test_spring_months_fall_in_the_second_calendar_year(typical):
    bodies, _ = evaluate_rule(
        {"id": "d", "kind": "event", "when": {"month": 3, "day": 21}}, typical, 2026
    )
    assert starts(bodies) == [D(2027, 3, 21)]


def test_29_february_is_28_february_in_a_common_year_and_itself_in_a_leap_year(typical):
    rule = {"id": "leap", "kind": "deadline", "when": {"month": "february", "day": 29}}
    common, _ = evaluate_rule(rule, typical, 2026)
    leap, _ = evaluate_rule(rule, typical, 2027)
    assert starts(common) == [D(2027, 2, 28)]
    assert "29 February is 28 February in 2027" in common[0].why
    assert starts(leap) == [D(2028, 2, 29)]


# --------------------------------------------------------------------- nth / last weekday


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            {"nth": 1, "weekday": "thursday", "month": "october"},
            [D(2025, 10, 2), D(2026, 10, 1), D(2027, 10, 7)],
        ),
        (
            {"nth": 3, "weekday": "thursday", "month": "january"},
            [D(2026, 1, 15), D(2027, 1, 21), D(2028, 1, 20)],
        ),
        (
            {"nth": 2, "weekday": "monday", "month": "may"},
            [D(2026, 5, 11), D(2027, 5, 10), D(2028, 5, 8)],
        ),
        (
            {"nth": "last", "weekday": "monday", "month": "may"},
            [D(2026, 5, 25), D(2027, 5, 31), D(2028, 5, 29)],
        ),
        (
            {"nth": 4, "weekday": "friday", "month": "february"},
            [D(2026, 2, 27), D(2027, 2, 26), D(2028, 2, 25)],
        ),
    ],
)
def test_nth_and_last_weekday_of_a_month(typical, when, expected):
    got = [
        starts(evaluate_rule({"id": "n", "kind": "event", "when": when}, typical, y)[0])[0]
        for y in (2025, 2026, 2027)
    ]
    assert got == expected


def test_nth_weekday_says_which_in_words(typical):
    bodies, _ = evaluate_rule(
        {"id": "n", "kind": "event", "when": {"nth": 1, "weekday": "thursday", "month": "october"}},
        typical,
        2026,
    )
    assert bodies[0].why == "first Thursday of October 2026"


# --------------------------------------------------------------------- half terms, breaks, terms


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"half": "autumn2", "at": "start"}, [D(2025, 11, 3), D(2026, 11, 2), D(2027, 11, 1)]),
        ({"half": "summer2", "at": "end"}, [D(2026, 7, 22), D(2027, 7, 21), D(2028, 7, 20)]),
        ({"break": "october", "at": "start"}, [D(2025, 10, 27), D(2026, 10, 26), D(2027, 10, 25)]),
        ({"break": "february", "at": "end"}, [D(2026, 2, 20), D(2027, 2, 19), D(2028, 2, 18)]),
        ({"break": "easter", "at": "start"}, [D(2026, 3, 30), D(2027, 3, 26), D(2028, 4, 10)]),
        ({"term": "spring", "at": "end"}, [D(2026, 3, 27), D(2027, 3, 25), D(2028, 4, 7)]),
        ({"break": "summer", "at": "end"}, [D(2026, 8, 31), D(2027, 8, 31), D(2028, 8, 31)]),
    ],
)
def test_half_term_break_and_term_edges_follow_the_schools_own_calendar(typical, when, expected):
    got = [
        starts(evaluate_rule({"id": "h", "kind": "event", "when": when}, typical, y)[0])[0]
        for y in (2025, 2026, 2027)
    ]
    assert got == expected


def test_six_term_school_uses_its_own_earlier_october_half_term(six_term, typical):
    rule = {"id": "h", "kind": "event", "when": {"break": "october", "at": "start"}}
    assert starts(evaluate_rule(rule, six_term, 2025)[0]) == [D(2025, 10, 20)]
    assert starts(evaluate_rule(rule, typical, 2025)[0]) == [D(2025, 10, 27)]


def test_six_term_school_gets_one_occurrence_per_term_of_the_six(six_term):
    rule = {
        "id": "each",
        "kind": "meeting",
        "repeat": {"every": "half_term"},
        "when": {"half": "this", "at": "start", "weeks": 1},
    }
    bodies, _ = evaluate_rule(rule, six_term, 2025)
    assert [(b.occurrence, b.start) for b in bodies] == [
        ("autumn1", D(2025, 9, 8)),
        ("autumn2", D(2025, 11, 3)),
        ("spring1", D(2026, 1, 12)),
        ("spring2", D(2026, 3, 2)),
        ("summer1", D(2026, 4, 20)),
        ("summer2", D(2026, 6, 8)),
    ]


# --------------------------------------------------------------------- year starts


def test_academic_year_start_and_end(typical):
    start, _ = evaluate_rule(
        {"id": "a", "kind": "event", "when": {"academic_year": "start"}}, typical, 2026
    )
    end, _ = evaluate_rule(
        {"id": "a", "kind": "event", "when": {"academic_year": "end"}}, typical, 2026
    )
    assert starts(start) == [D(2026, 9, 1)] and starts(end) == [D(2027, 8, 31)]


def test_financial_year_follows_school_type(typical):
    rule = {"id": "fy", "kind": "event", "when": {"financial_year": "start"}}
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2027, 4, 1)]
    academy = with_changes(typical, **{"type": "academy"})
    assert starts(evaluate_rule(rule, academy, 2026)[0]) == [D(2026, 9, 1)]
    told = with_changes(academy, **{"financial_year_start": "april"})
    assert starts(evaluate_rule(rule, told, 2026)[0]) == [D(2027, 4, 1)]


def test_first_and_last_staff_day_include_inset_days_outside_term(typical):
    first, _ = evaluate_rule({"id": "f", "when": {"staff_day": "first"}}, typical, 2026)
    last, _ = evaluate_rule({"id": "l", "when": {"staff_day": "last"}}, typical, 2025)
    assert starts(first) == [D(2026, 9, 1)]  # INSET; pupils start on 2 Sep
    assert starts(last) == [D(2026, 7, 22)]


# --------------------------------------------------------------------- another rule's date


def test_after_another_rule_adds_its_offset_and_inherits_its_status(typical):
    census = {
        "id": "census",
        "kind": "event",
        "when": {
            "published": {2025: "2025-10-02"},
            "fallback": {"nth": 1, "weekday": "thursday", "month": "october"},
            "status": "computed",
        },
    }
    ret = {"id": "return", "kind": "deadline", "when": {"after": "census", "days": 27}}
    for year, day, status in (
        (2025, D(2025, 10, 29), Status.CONFIRMED),
        (2026, D(2026, 10, 28), Status.COMPUTED),
    ):
        bodies, _ = evaluate_rule(ret, typical, year, others=[census])
        assert starts(bodies) == [day]
        assert bodies[0].status == status


def test_after_can_name_a_rule_in_another_pack(typical, statutory):
    rule = {
        "id": "budget",
        "when": {"after": "england-statutory:financial-year-start", "weeks": -3},
    }
    bodies, _ = evaluate_rule(rule, typical, 2026, packs=[statutory])
    assert starts(bodies) == [D(2027, 3, 11)]
    assert "Financial year starts" in bodies[0].why


def test_after_a_rule_in_a_missing_pack_warns_instead_of_crashing(typical):
    rule = {"id": "x", "when": {"after": "nowhere:rule"}}
    bodies, result = evaluate_rule(rule, typical, 2026)
    assert bodies == []
    assert [(w.kind, w.subject, w.refs) for w in result.warnings] == [
        (WarningKind.REFERENCE_MISSING, "nowhere:rule", ("test-pack:x",))
    ]


def test_after_cycle_across_packs_is_reported_not_looped(typical):
    from tests.rules.helpers import make_pack

    first = make_pack([{"id": "a", "when": {"after": "pack-two:b"}}], slug="pack-one")
    second = make_pack([{"id": "b", "when": {"after": "pack-one:a"}}], slug="pack-two")
    import rules

    result = rules.evaluate_full([first, second], typical, 2026)
    assert result.events == ()
    # Each depends on the other, which cannot be dated: the first cause found is the circle.
    circle = (("cause", "reference_circle"), ("cause_subject", "pack-two:b"))
    assert [(w.kind, w.subject, w.refs, w.details) for w in result.warnings] == [
        (WarningKind.REFERENCE_UNRESOLVED, "pack-one:a", ("pack-two:b",), circle),
        (WarningKind.REFERENCE_UNRESOLVED, "pack-two:b", ("pack-one:a",), circle),
    ]


# --------------------------------------------------------------------- school-supplied dates


def test_school_date_key_makes_one_occurrence_per_date_in_the_year(typical):
    rule = {"id": "pe", "when": {"school_date": "parents_evening", "days": -7}}
    bodies, _ = evaluate_rule(rule, typical, 2026)
    assert [(b.occurrence, b.start) for b in bodies] == [
        ("1", D(2026, 10, 7)),
        ("2", D(2027, 3, 3)),
    ]


def test_missing_school_date_key_gives_a_warning_and_a_task_to_supply_it(typical):
    rule = {"id": "gov-prep", "when": {"school_date": "governors_meeting", "weeks": -1}}
    bodies, result = evaluate_rule(rule, typical, 2026)
    assert bodies == []
    assert [(w.kind, w.subject) for w in result.warnings] == [
        (WarningKind.DATE_KEY, "governors_meeting")
    ]
    setup = [e.body for e in result.events if e.body.pack == "sencocal"]
    assert [(b.title, b.start, b.kind.value) for b in setup] == [
        ("Add your governors meeting dates for 2026/27", D(2026, 9, 1), "task")
    ]
    assert "gov-prep" in setup[0].description


def test_missing_term_dates_give_a_task_to_add_them_never_a_crash(typical):
    rule = {"id": "t", "when": {"half": "spring1", "at": "start"}}
    bodies, result = evaluate_rule(rule, typical, 2028)
    assert bodies == []
    setup = [e.body for e in result.events if e.body.pack == "sencocal"]
    assert [b.title for b in setup] == ["Add your term dates for 2028/29"]
    assert [(w.kind, w.year, w.subject) for w in result.warnings] == [
        (WarningKind.TERM_DATES, 2028, "2028")
    ]


def test_national_date_needs_no_term_dates(typical):
    bodies, result = evaluate_rule(
        {"id": "d", "kind": "deadline", "when": {"month": "february", "day": 14}}, typical, 2030
    )
    assert starts(bodies) == [D(2031, 2, 14)] and result.warnings == ()


# --------------------------------------------------------------------- published dates


def test_published_date_is_confirmed_and_fallback_is_computed_and_marked(typical):
    rule = {
        "id": "ks2",
        "kind": "window",
        "title": "KS2 tests",
        "span": {"days": 4},
        "when": {
            "published": {2025: ["2026-05-11", "2026-05-14"]},
            "fallback": {"nth": 2, "weekday": "monday", "month": "may"},
            "status": "computed",
        },
    }
    published, _ = evaluate_rule(rule, typical, 2025)
    computed, _ = evaluate_rule(rule, typical, 2026)
    assert (published[0].start, published[0].end, published[0].status) == (
        D(2026, 5, 11),
        D(2026, 5, 15),
        Status.CONFIRMED,
    )
    assert published[0].title == "KS2 tests"
    assert (computed[0].start, computed[0].end, computed[0].status) == (
        D(2027, 5, 10),
        D(2027, 5, 14),
        Status.COMPUTED,
    )
    assert computed[0].title == "KS2 tests (expected)"
    assert "not yet published for 2026/27" in computed[0].why


def test_unconfirmed_date_is_never_shown_only_a_task_to_find_it(typical):
    rule = {
        "id": "jcq",
        "kind": "deadline",
        "title": "JCQ deadline",
        "when": {
            "published": {},
            "fallback": {"month": "february", "day": 21},
            "status": "unconfirmed",
        },
    }
    bodies, result = evaluate_rule(rule, typical, 2026)
    assert bodies == []
    [task] = [e.body for e in result.events]
    assert task.prep == "find-date" and task.title == "Find this year's date: JCQ deadline"
    assert task.status == Status.UNCONFIRMED and task.kind.value == "task"
    assert task.start == D(2027, 1, 8)  # about six weeks before late February, on a staff day
    assert "21" not in task.description  # the guessed day is not presented


def test_a_date_published_by_the_la_pack_or_the_school_replaces_the_find_task(typical):
    from tests.rules.helpers import make_pack

    rule = {
        "id": "jcq",
        "kind": "deadline",
        "when": {
            "published": {},
            "fallback": {"month": "february", "day": 21},
            "status": "unconfirmed",
        },
    }
    la = make_pack([], slug="la-test", publishes={"test-pack:jcq": {2026: "2027-03-19"}})
    bodies, _ = evaluate_rule(rule, typical, 2026, packs=[la])
    assert [(b.start, b.status) for b in bodies] == [(D(2027, 3, 19), Status.CONFIRMED)]
    school = with_changes(typical, **{"publishes": {"test-pack:jcq": {2026: D(2027, 3, 12)}}})
    bodies, _ = evaluate_rule(rule, school, 2026, packs=[la])
    assert [b.start for b in bodies] == [D(2027, 3, 12)]  # the school's own finding wins


# --------------------------------------------------------------------- offsets


def test_month_offsets_clamp_to_the_end_of_the_month(typical):
    rule = {"id": "m", "kind": "event", "when": {"month": "january", "day": 31, "months": 1}}
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2027, 2, 28)]
    assert starts(evaluate_rule(rule, typical, 2027)[0]) == [D(2028, 2, 29)]


def test_working_days_skip_weekends_and_bank_holidays(typical):
    # Thu 25 Mar 2027 + 2 working days: Fri 26 is Good Friday, Mon 29 Easter Monday -> Wed 31.
    rule = {"id": "w", "kind": "event", "when": {"month": "march", "day": 25, "working_days": 2}}
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2027, 3, 31)]


def test_school_days_skip_half_term_and_inset_days(typical):
    # From Wed 21 Oct 2026: Thu 22 (1); Fri 23 is INSET; half term 26-30 Oct; Mon 2 Nov INSET; Tue 3 (2).
    rule = {"id": "s", "kind": "event", "when": {"month": "october", "day": 21, "school_days": 2}}
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2026, 11, 3)]


def test_staff_days_count_inset_days(typical):
    rule = {"id": "s", "kind": "event", "when": {"month": "october", "day": 21, "staff_days": 2}}
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2026, 10, 23)]


def test_negative_school_days_count_back_over_a_bank_holiday(typical):
    # Back 1 school day from Tue 26 May 2026? That is half term; from Tue 5 May 2026 (after May Day).
    rule = {"id": "s", "kind": "event", "when": {"month": "may", "day": 5, "school_days": -1}}
    assert starts(evaluate_rule(rule, typical, 2025)[0]) == [D(2026, 5, 1)]


# --------------------------------------------------------------------- adjustments and defaults by kind


def test_task_on_easter_monday_moves_to_the_next_staff_day(typical):
    bodies, _ = evaluate_rule(
        {"id": "t", "kind": "task", "when": {"month": "march", "day": 29}}, typical, 2026
    )
    assert starts(bodies) == [D(2027, 4, 12)]
    assert (
        "moved from Mon 29 Mar 2027, Easter Monday to Mon 12 Apr 2027 (next staff day)"
        in bodies[0].why
    )


def test_task_in_half_term_lands_on_the_inset_day_after_it(typical):
    bodies, _ = evaluate_rule(
        {"id": "t", "kind": "meeting", "when": {"break": "october", "at": "start"}}, typical, 2026
    )
    assert starts(bodies) == [D(2026, 11, 2)]  # Mon 2 Nov 2026 is an INSET day: a staff day


def test_next_school_day_skips_the_inset_day(typical):
    rule = {
        "id": "t",
        "kind": "meeting",
        "when": {"break": "october", "at": "start", "adjust": "next_school_day"},
    }
    assert starts(evaluate_rule(rule, typical, 2026)[0]) == [D(2026, 11, 3)]


def test_deadline_keeps_its_legal_date_even_on_a_sunday(typical):
    bodies, _ = evaluate_rule(
        {"id": "d", "kind": "deadline", "when": {"month": "february", "day": 14}}, typical, 2026
    )
    assert starts(bodies) == [D(2027, 2, 14)]  # a Sunday, never moved


def test_deadline_may_move_earlier_and_says_so(typical):
    rule = {
        "id": "d",
        "kind": "deadline",
        "when": {"month": "february", "day": 14, "adjust": "previous_working_day"},
    }
    bodies, _ = evaluate_rule(rule, typical, 2025)
    assert starts(bodies) == [D(2026, 2, 13)]
    assert (
        "moved from Sat 14 Feb 2026, a weekend to Fri 13 Feb 2026 (previous working day)"
        in bodies[0].why
    )


def test_prep_for_a_deadline_moves_earlier_not_later(typical):
    rule = {
        "id": "d",
        "kind": "deadline",
        "when": {"month": "february", "day": 14},
        "prep": [{"id": "warn", "title": "Warn", "before": {"weeks": 6}}],
    }
    pack_result = evaluate_rule(rule, typical, 2026)[1]
    [prep] = [e.body for e in pack_result.events if e.body.prep == "warn"]
    # 14 Feb 2027 - 6 weeks = Sun 3 Jan 2027, in the Christmas break -> the last staff day before.
    assert prep.start == D(2026, 12, 18)
    assert prep.anchor == D(2027, 2, 14)


def test_window_and_event_keep_their_dates(typical):
    bodies, _ = evaluate_rule(
        {"id": "e", "kind": "event", "when": {"month": "december", "day": 25}}, typical, 2026
    )
    assert starts(bodies) == [D(2026, 12, 25)]


# --------------------------------------------------------------------- spans


def test_spans_in_days_weeks_and_until_are_exclusive_at_the_end(typical):
    days, _ = evaluate_rule(
        {"id": "s", "kind": "window", "when": {"month": "june", "day": 7}, "span": {"days": 5}},
        typical,
        2026,
    )
    weeks, _ = evaluate_rule(
        {"id": "s", "kind": "window", "when": {"month": "june", "day": 7}, "span": {"weeks": 2}},
        typical,
        2026,
    )
    until, _ = evaluate_rule(
        {
            "id": "s",
            "kind": "window",
            "when": {"half": "autumn1", "at": "start"},
            "span": {"until": {"half": "autumn1", "at": "end"}},
        },
        typical,
        2026,
    )
    assert (days[0].start, days[0].end) == (D(2027, 6, 7), D(2027, 6, 12))
    assert (weeks[0].start, weeks[0].end) == (D(2027, 6, 7), D(2027, 6, 21))
    assert (until[0].start, until[0].end) == (D(2026, 9, 2), D(2026, 10, 24))


def test_timed_meeting_is_in_london_time_across_the_clock_change(typical):
    rule = {
        "id": "m",
        "kind": "meeting",
        "when": {"month": "october", "day": 21},
        "time": {"start": "15:45", "end": "17:00"},
    }
    before, _ = evaluate_rule(rule, typical, 2026)
    rule2 = dict(rule, when={"month": "november", "day": 4})
    after, _ = evaluate_rule(rule2, typical, 2026)
    assert before[0].start.isoformat() == "2026-10-21T15:45:00+01:00"
    assert after[0].start.isoformat() == "2026-11-04T15:45:00+00:00"
    assert not before[0].all_day


# --------------------------------------------------------------------- repeats


def test_weekly_repeat_runs_in_term_time_only_skipping_bank_holidays_and_inset(typical):
    rule = {"id": "w", "kind": "meeting", "repeat": {"every": "week", "weekday": "monday"}}
    bodies, _ = evaluate_rule(rule, typical, 2026)
    got = starts(bodies)
    assert D(2026, 9, 7) in got and D(2026, 10, 19) in got
    assert D(2026, 10, 26) not in got  # October half term
    assert D(2026, 11, 2) not in got  # INSET day
    assert D(2027, 3, 29) not in got  # Easter Monday (and holidays)
    assert D(2027, 5, 3) not in got  # early May bank holiday
    assert D(2027, 6, 7) not in got  # INSET day
    assert all(d.weekday() == 0 for d in got)
    assert len(got) == len(set(b.occurrence for b in bodies))
    assert bodies[0].occurrence == "w02"  # weeks count from the week of 1 September


def test_weekly_repeat_through_holidays_keeps_every_week(typical):
    rule = {
        "id": "w",
        "kind": "event",
        "repeat": {"every": "week", "weekday": "friday", "through_holidays": True},
    }
    bodies, _ = evaluate_rule(rule, typical, 2026)
    assert len(bodies) == 52 and D(2026, 12, 25) in starts(bodies)


def test_termly_repeat_with_only_some_terms(typical):
    rule = {
        "id": "ta",
        "kind": "meeting",
        "repeat": {"every": "term", "only": ["autumn", "summer"]},
        "when": {"term": "this", "at": "start", "weeks": 3},
    }
    bodies, _ = evaluate_rule(rule, typical, 2026)
    # summer: 12 Apr + 3 weeks = Mon 3 May 2027, early May bank holiday -> next staff day Tue 4 May
    assert [(b.occurrence, b.start) for b in bodies] == [
        ("autumn", D(2026, 9, 23)),
        ("summer", D(2027, 5, 4)),
    ]


def test_monthly_repeat_skips_a_month_with_no_term_days(typical):
    rule = {
        "id": "m",
        "kind": "task",
        "repeat": {"every": "month"},
        "when": {"nth": 1, "weekday": "tuesday"},
    }
    bodies, _ = evaluate_rule(rule, typical, 2026)
    assert [b.occurrence for b in bodies] == [
        "september",
        "october",
        "november",
        "december",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
    ]
    assert dict((b.occurrence, b.start) for b in bodies)["april"] == D(
        2027, 4, 12
    )  # 6 Apr is Easter break


def test_term_time_window_in_a_holiday_is_dropped(typical):
    rule = {
        "id": "m",
        "kind": "event",
        "repeat": {"every": "month", "only": ["december", "january"]},
        "when": {"day": 28},
    }
    bodies, _ = evaluate_rule(rule, typical, 2026)
    assert [(b.occurrence, b.start) for b in bodies] == [("january", D(2027, 1, 28))]


# --------------------------------------------------------------------- applies_if


def test_applies_if_on_type_phase_and_flags(typical, demo_secondary):
    base = {"kind": "event", "when": {"month": "may", "day": 1}}
    y6 = dict(base, id="y6", applies_if={"flags": ["has_year6"]})
    sec = dict(base, id="sec", applies_if={"phases": ["secondary"]})
    acad = dict(base, id="acad", applies_if={"types": ["academy"]})
    no6 = dict(base, id="no6", applies_if={"not_flags": ["has_year6"]})
    import rules
    from tests.rules.helpers import make_pack

    pack = make_pack([y6, sec, acad, no6])
    primary_ids = {e.body.rule for e in rules.evaluate([pack], typical, 2026)}
    secondary_ids = {e.body.rule for e in rules.evaluate([pack], demo_secondary, 2026)}
    assert primary_ids == {"y6"}
    assert secondary_ids == {"sec", "acad", "no6"}


def test_explicit_flag_overrides_what_the_phase_implies(typical):
    import rules
    from tests.rules.helpers import make_pack

    pack = make_pack(
        [
            {
                "id": "y6",
                "kind": "event",
                "when": {"month": "may", "day": 1},
                "applies_if": {"flags": ["has_year6"]},
            }
        ]
    )
    infant_only = with_changes(typical, **{"flags": {"has_year6": False}})
    assert rules.evaluate([pack], infant_only, 2026) == []


def test_after_a_rule_that_does_not_apply_to_this_school_warns_instead_of_dating(
    demo_secondary, statutory
):
    rule = {"id": "sats-prep", "when": {"after": "england-statutory:ks2-tests", "weeks": -16}}
    bodies, result = evaluate_rule(rule, demo_secondary, 2026, packs=[statutory])
    assert bodies == []
    assert any(
        w.kind is WarningKind.REFERENCE_NOT_APPLICABLE
        and w.subject == "england-statutory:ks2-tests"
        and w.refs == ("test-pack:sats-prep",)
        for w in result.warnings
    )
