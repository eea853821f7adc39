"""Dates found wrong and rules found missing (issue 8, section 3), each pinned to its fact.

Fact ids are those of shared/reference/send-calendar-facts.md; "seed 001" is
shared/seeds/001_1f8d6c985b88da15.txt. Anything the sheet marks UNCONFIRMED must appear as a
"find this year's date" task, never as a date.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

import rules
from rules.audiences import for_audience
from rules.vocabulary import Status
from tests.rules.helpers import evaluate_rule, with_changes

D = dt.date
YEARS = (2025, 2026, 2027)


@pytest.fixture(scope="module")
def packs(builtin_packs, la_example):
    return [*builtin_packs, la_example]


@pytest.fixture(scope="module")
def primary(packs, demo_primary):
    return {y: rules.evaluate(packs, demo_primary, y) for y in YEARS}


@pytest.fixture(scope="module")
def secondary(packs, demo_secondary):
    return {y: rules.evaluate(packs, demo_secondary, y) for y in YEARS}


def bodies(events, rule, prep=None):
    return [e.body for e in events if e.body.rule == rule and e.body.prep == prep]


def one(events, rule, prep=None):
    [body] = bodies(events, rule, prep)
    return body


def spring1(events):
    # the la-example's first spring half term, by year
    return {2025: (D(2026, 1, 5), D(2026, 2, 13)), 2026: (D(2027, 1, 4), D(2027, 2, 12)),
            2027: (D(2028, 1, 4), D(2028, 2, 11))}  # fmt: skip


@pytest.mark.parametrize("year", YEARS)
def test_spring_sen_type_check_is_in_term_about_two_weeks_before_census_day(primary, year):
    """census.sen_check (about 2 weeks before, in term); census.sen_type_spring."""
    census = one(primary[year], "census-spring").start
    check = one(primary[year], "census-spring", "sen-type-check").start
    first, last = spring1(primary)[year]
    assert first <= check < census  # in the spring term, after January's register update
    assert (census - check).days <= 14


@pytest.mark.parametrize(
    ("year", "day"), [(2024, D(2025, 3, 3)), (2025, D(2026, 3, 2)), (2026, D(2027, 3, 1))]
)
def test_secondary_offer_day_on_a_weekend_moves_to_the_next_working_day(packs, demo_primary,
                                                                         year, day):  # fmt: skip
    """la.phase.admissions_link: Mon 3 Mar 2025 and Mon 2 Mar 2026 (1 March at a weekend)."""
    events = rules.evaluate(packs, demo_primary, year)
    assert one(events, "secondary-offer-day").start == day


def test_primary_applications_close_15_january_and_offer_day_is_16_april(primary):
    """la.phase.admissions_link: primary applications close 15 January, offers 16 April."""
    assert one(primary[2026], "primary-applications-close").start == D(2027, 1, 15)
    assert one(primary[2026], "primary-offer-day").start == D(2027, 4, 16)  # a Friday
    # Sun 16 Apr 2028 is Easter Day and Mon 17 Easter Monday: the next working day is Tue 18
    assert one(primary[2027], "primary-offer-day").start == D(2028, 4, 18)


@pytest.mark.parametrize("year", YEARS)
def test_reception_baseline_runs_from_each_childs_start_not_from_an_inset_day(
    primary, demo_primary, year
):
    """sta.rba: within the first 6 weeks after each child starts in Reception."""
    body = one(primary[year], "reception-baseline")
    assert body.start not in demo_primary.inset_days  # 1 Sep is an INSET day for the demo
    assert body.start.weekday() < 5 and body.start.month == 9
    assert "each child" in body.title and "their own first day" in body.description


@pytest.mark.parametrize("year", YEARS)
def test_the_review_list_is_asked_for_after_the_las_deadline(primary, la_example, year):
    """la.ar.termly_list: the LA sends it at least 2 weeks before the term starts."""
    asked = bodies(primary[year], "review-list")
    assert [b.occurrence for b in asked] == ["autumn", "spring", "summer"]
    assert la_example.term_dates is not None
    starts = {p.label: p.start for p in la_example.term_dates[year]}
    for body in asked:
        deadline = starts[f"{body.occurrence}1"] - dt.timedelta(days=14)
        assert body.start > deadline  # never before the LA's own deadline (CoP 9.172)
        assert body.start <= starts[f"{body.occurrence}1"] + dt.timedelta(days=7)
        assert "has now passed" in body.description and "this term" in body.title


@pytest.mark.parametrize("year", YEARS)
def test_every_title_of_a_computed_date_says_expected(primary, secondary, year):
    """One rule for all: main entries and their prep tasks, in every reader's feed."""
    for events in (primary[year], secondary[year]):
        for audience in ("senco", "slt", "governors", "ta", "staff"):
            for event in for_audience(events, audience):
                if event.body.status == Status.COMPUTED:
                    assert event.body.title.endswith("(expected)"), (audience, event.uid)
    computed_prep = [e for e in primary[2026] if e.body.prep and e.body.status == Status.COMPUTED]
    assert computed_prep  # e.g. the census checks


def test_year7_intake_tasks_need_a_year7_intake_not_a_year9(packs, demo_secondary):
    intake = ("mar-year7-intake-planning", "jun-visit-feeder-primaries")
    events = rules.evaluate(packs, demo_secondary, 2026)
    assert all(bodies(events, r) for r in intake)
    upper = with_changes(demo_secondary, id="upper-school", flags={"has_year7": False,
                                                                   "has_sixth_form": True})  # fmt: skip
    events = rules.evaluate(packs, upper, 2026)
    assert not any(bodies(events, r) for r in intake)  # a 13-18 upper school


@pytest.mark.parametrize("year", YEARS)
def test_a_reminder_that_names_its_distance_is_true_where_it_lands(primary, secondary, year):
    for events in (primary[year], secondary[year]):
        for e in events:
            found = re.search(r"\bin (\d+) weeks?\b", e.body.title)
            if found and e.body.prep:
                assert (e.body.anchor - e.body.start).days // 7 == int(found.group(1)), e.uid
    warning = one(primary[2026], "phase-transfer-school", "warning")
    assert warning.start == D(2027, 1, 4)  # 3 Jan is in the holiday: forward into term
    assert "in 6 weeks" not in warning.title and "before 15 February" in warning.title


def test_without_parents_evenings_or_governors_meetings_the_entries_sit_at_usual_dates(
    packs, demo_primary
):
    """Seed 000/001: parents' evenings and governors' meetings; the school adds its own dates."""
    bare = with_changes(demo_primary, id="bare", named_dates={})
    result = rules.evaluate_full(packs, bare, 2026)
    meetings = bodies(result.events, "governors-meeting")
    assert [b.occurrence for b in meetings] == ["1", "2", "3"]  # one a term
    prep = bodies(result.events, "parents-evening-prep")
    assert len(prep) == 2
    for body in [*meetings, *prep]:
        assert "Add your date" in body.description and "Date to add" in body.categories
        assert "until your school adds" in body.why
    governors = [e for e in for_audience(result.events, "governors")
                 if e.body.rule == "governors-meeting"]  # fmt: skip
    assert all("Add your date" in e.body.description for e in governors)
    assert {"governors_meeting", "parents_evening"} <= {w.subject for w in result.warnings}
    own = rules.evaluate(packs, demo_primary, 2026)  # with its dates: no usual ones
    assert all("Add your date" not in b.description for b in bodies(own, "governors-meeting"))


def test_the_eyfs_profile_is_a_statutory_april_to_june_window(primary, secondary):
    """sta.eyfsp: completed between April and June (statutory)."""
    body = one(primary[2026], "eyfs-profile")
    assert (body.start, body.end) == (D(2027, 4, 1), D(2027, 7, 1)) and body.statutory
    assert not bodies(secondary[2026], "eyfs-profile")


def test_exam_series_dates_beyond_the_confirmed_year_are_find_this_years_date_tasks(secondary):
    """exams.summer_2026: 24 Jun, 13 and 20 Aug 2026 (PARTLY); later years not published."""
    assert one(secondary[2025], "exams-contingency-day").start == D(2026, 6, 24)
    assert one(secondary[2025], "gcse-results-day").start == D(2026, 8, 20)
    for rule in ("exams-contingency-day", "gcse-results-day"):
        assert not bodies(secondary[2026], rule)
        task = one(secondary[2026], rule, "find-date")
        assert task.title.startswith("Find this year's date")
    assert not bodies(secondary[2026], "a-level-results-day", "find-date")  # 11-16: no sixth form


def test_ks2_results_day_is_a_date_to_find_after_2026(primary):
    """sta.ks2.results: 16 July 2026 (PARTLY); later years not published."""
    assert one(primary[2025], "ks2-results").start == D(2026, 7, 16)
    assert one(primary[2026], "ks2-results", "find-date").status == Status.UNCONFIRMED


def test_the_npq_for_sencos_and_the_accessibility_plan_are_in_every_calendar(primary, secondary):
    """senco.npq_deadline (within 3 years of taking up the post); school.accessibility_plan."""
    for events in (primary[2026], secondary[2026]):
        npq = one(events, "senco-npq")
        assert "within three years" in npq.description and "NPQ for SENCOs" in npq.description
        plan = one(events, "accessibility-plan-review")
        assert "at least every three years" in plan.description


def test_the_la_budget_return_is_a_date_to_find_for_maintained_schools(primary, secondary):
    """fin.maintained_year: budget plans between 1 May and 30 June, on the LA's date."""
    assert one(primary[2026], "la-budget-plan-return", "find-date").basis.value == "la_practice"
    assert not bodies(secondary[2026], "la-budget-plan-return", "find-date")  # an academy


def test_the_receiving_school_is_told_about_consultations_for_its_new_pupils(secondary):
    """cop.ehcna.school_consultation: reply within 15 days."""
    body = one(secondary[2026], "incoming-consultations")
    assert "within 15 days" in body.description and body.start.month == 11


def test_seed_001_categories_each_have_a_rule(primary):
    """Seed 001: ECT induction, certificates, parent views, SEN support reviews, in-class support."""
    events = primary[2026]
    for rule in ("ect-induction-send", "staff-certificates", "parent-views-survey",
                 "in-class-support-timetable"):  # fmt: skip
        assert bodies(events, rule), rule
    reviews = bodies(events, "sen-support-parent-reviews")
    assert len(reviews) == 3  # CoP 6.65: at least three times a year
    assert all("Statutory guidance" in b.categories for b in reviews)
    certificates = one(events, "staff-certificates").title
    assert all(w in certificates for w in ("first aid", "moving and handling", "medicines"))


@pytest.mark.parametrize(("year", "day"), [(2025, D(2025, 11, 10)), (2026, D(2026, 11, 16)),
                                           (2027, D(2027, 11, 15))])  # fmt: skip
def test_anti_bullying_week_falls_back_to_the_monday_between_10_and_16_november(
    demo_primary, year, day
):
    """aw.antibullying: the Monday that falls between 10 and 16 November."""
    rule = {"id": "abw", "kind": "window", "when": {"weekday": "monday", "month": "november",
                                                    "day": 10}}  # fmt: skip
    [body], _ = evaluate_rule(rule, demo_primary, year)
    assert body.start == day


def test_anti_bullying_weeks_fallback_is_that_rule(builtin_packs):
    cycle = next(p for p in builtin_packs if p.pack == "senco-annual-cycle")
    rule = cycle.rule("aw-anti-bullying-week")
    assert rule is not None and rule.when is not None and rule.when.fallback is not None
    fallback = rule.when.fallback
    assert (fallback.weekday, fallback.month, fallback.day, fallback.nth) == (
        "monday",
        "november",
        10,
        None,
    )


@pytest.mark.parametrize("year", (2026, 2027))
def test_nothing_unconfirmed_is_shown_as_a_date(primary, secondary, builtin_packs, year):
    unconfirmed = {
        r.id
        for p in builtin_packs
        for r in p.rules
        if r.when is not None
        and r.when.status == "unconfirmed"
        and year not in (r.when.published or {})
    }
    for events in (primary[year], secondary[year]):
        for e in events:
            if e.body.rule in unconfirmed:
                assert e.body.prep == "find-date", e.uid
