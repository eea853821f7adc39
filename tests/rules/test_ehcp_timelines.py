"""Per-pupil annual-review timelines over 2026/27 for the demo primary school and 40 pupils.

Each step is pinned to its fact in shared/reference/send-calendar-facts.md (sections 1b, 1c):
``cop.ar.due``, ``cop.ar.clock_reset``, ``cop.ar.recommended_meeting_by``,
``cop.ar.request_advice``, ``cop.ar.invite_notice``, ``cop.ar.circulate_advice``,
``cop.ar.report_to_la``, ``cop.ar.la_decision``, ``cop.ar.under5_interim``,
``cop.phase.school_transfer``, ``cop.phase.post16``, ``cop.phase.review_window``. Every
statutory step must sit where the fact puts it, or carry a warning and say why in its entry.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from dateutil.relativedelta import relativedelta

import rules
from rules.ehcp import placed_meetings
from rules.roster import EhcpPupil
from rules.vocabulary import Audience, Basis, Status
from tests.rules.helpers import with_changes

D = dt.date
YEAR = 2026
WEEK = dt.timedelta(weeks=1)


def roster_of_40() -> list[EhcpPupil]:
    """40 pupils whose reviews fall due across 2026/27, in every shape the roster allows."""
    out = []
    for i in range(40):
        ref = f"P-{i + 1:04d}"
        plan = D(2023, 3, 1) + dt.timedelta(days=11 * i)
        meeting = D(2025, 9, 8) + dt.timedelta(days=9 * i)  # last reviews through 2025/26
        decision = meeting + dt.timedelta(days=20) if i % 3 else None  # a third assumed
        under_5 = i in (14, 15)
        year_group = -1 if under_5 else 1 + i % 6
        transfer = "school" if i in (5, 11, 17) else None
        booked = D(2026, 11, 17) if i == 20 else (D(2027, 3, 2) if i == 30 else None)
        if i in (38, 39):  # new plans: the first review runs from the plan's issue
            plan, meeting, decision = D(2026, 1, 12) + dt.timedelta(days=40 * (i - 38)), None, None
        out.append(EhcpPupil(ref, year_group, under_5, plan, meeting, decision, booked, transfer))
    return out


@pytest.fixture(scope="module")
def packs(builtin_packs, la_example):
    return [*builtin_packs, la_example]


@pytest.fixture(scope="module")
def school(demo_primary):
    return with_changes(demo_primary, ehcp={"interim_reviews": True, "interim_months": 4})


@pytest.fixture(scope="module")
def result(packs, school):
    return rules.evaluate_full(packs, school, YEAR, roster=roster_of_40())


@pytest.fixture(scope="module")
def school_days(la_example, school):
    days = set()
    for y in (YEAR - 1, YEAR, YEAR + 1):
        for p in la_example.term_dates.get(y, ()):
            d = p.start
            while d <= p.end:
                if rules.calendar.is_working_day(d) and d not in school.inset_days:
                    days.add(d)
                d += dt.timedelta(days=1)
    return days


def steps(result, ref):
    return {(e.body.rule, e.body.occurrence): e.body for e in result.events if e.body.pupil == ref}


def last_school_day_on_or_before(days, day):
    while day not in days:
        day -= dt.timedelta(days=1)
    return day


def warned(result, kind, rule):
    return any(w.kind == kind and f"england-statutory:{rule}" in w.refs for w in result.warnings)


def test_every_pupil_has_one_annual_review_with_every_statutory_step(result):
    roster = roster_of_40()
    wanted = {"ehcp-review-meeting", "ehcp-review-papers", "ehcp-review-report",
              "ehcp-review-decision", "ehcp-review-due", "ehcp-request-advice"}  # fmt: skip
    for pupil in roster:
        got = steps(result, pupil.ref)
        assert wanted <= {rule for rule, _ in got}, pupil.ref
        assert all(b.pupil_level and b.audience[0] == Audience.SENCO for b in got.values())


def test_the_review_is_due_12_months_from_the_decision_else_the_meeting_marked_assumed(result):
    """cop.ar.due, cop.ar.clock_reset: the clock runs from the LA's decision when known."""
    for pupil in roster_of_40():
        due = steps(result, pupil.ref)[("ehcp-review-due", None)]
        anchor = pupil.last_review_decision or pupil.last_review_meeting or pupil.plan_issued
        assert due.start == anchor + relativedelta(months=12)
        assert due.basis == Basis.STATUTORY
        if pupil.last_review_meeting is not None and pupil.last_review_decision is None:
            assert due.status == Status.COMPUTED and "Assumed" in due.description
            assert due.title.endswith("(expected)")
        else:
            assert due.status == Status.CONFIRMED


def test_meetings_are_school_days_at_least_4_weeks_before_the_due_date_or_warned(
    result, school_days
):
    """cop.ar.recommended_meeting_by; no meeting on census day or in the KS2 test week."""
    busy = {e.body.start for e in result.events if e.body.rule.startswith("census-")
            and e.body.prep is None}  # fmt: skip
    ks2 = next(e.body for e in result.events if e.body.rule == "ks2-tests" and not e.body.prep)
    busy |= {ks2.start + dt.timedelta(days=i) for i in range((ks2.end - ks2.start).days)}
    for pupil in roster_of_40():
        got = steps(result, pupil.ref)
        meeting = got[("ehcp-review-meeting", None)]
        due = got[("ehcp-review-due", None)].start
        assert meeting.start in school_days and meeting.start not in busy, pupil.ref
        if pupil.booked_meeting is not None:
            assert meeting.start == pupil.booked_meeting and meeting.status == Status.CONFIRMED
        else:
            assert meeting.status == Status.COMPUTED and "(proposed date)" in meeting.title
        if meeting.start > due - dt.timedelta(days=28):
            assert warned(result, rules.WarningKind.REVIEW_LATE, "ehcp-review-meeting")
            assert "LA's decision may come" in meeting.description


def test_papers_go_2_weeks_before_and_the_report_2_weeks_after_on_school_days(result, school_days):
    """cop.ar.invite_notice, cop.ar.circulate_advice, cop.ar.report_to_la.

    A day in a holiday becomes the last school day before it; the entry and a warning say so.
    """
    moved = 0
    for pupil in roster_of_40():
        got = steps(result, pupil.ref)
        m = got[("ehcp-review-meeting", None)].start
        for rule, target in (
            ("ehcp-review-papers", m - 2 * WEEK),
            ("ehcp-review-report", m + 2 * WEEK),
        ):
            body = got[(rule, None)]
            assert body.start == last_school_day_on_or_before(school_days, target)
            assert body.basis == Basis.STATUTORY
            if body.start != target:
                moved += 1
                assert "when the school is closed" in body.description
                assert warned(result, rules.WarningKind.DEADLINE_OUT_OF_TERM, rule)
    assert moved  # this roster has papers due in a holiday: the case is exercised


def test_advice_is_asked_for_6_weeks_before_as_local_practice(result, school_days):
    """cop.ar.request_advice (PARTLY: local guidance), so good practice, not statutory."""
    for pupil in roster_of_40():
        got = steps(result, pupil.ref)
        m = got[("ehcp-review-meeting", None)].start
        advice = got[("ehcp-request-advice", None)]
        assert advice.start == last_school_day_on_or_before(school_days, m - 6 * WEEK)
        assert advice.basis == Basis.GOOD_PRACTICE and not advice.statutory


def test_the_advice_lead_is_the_schools_own_setting(packs, school):
    mine = with_changes(school, ehcp={"advice_weeks": 8})
    pupil = roster_of_40()[20]  # booked 17 Nov 2026
    got = steps(rules.evaluate_full(packs, mine, YEAR, roster=[pupil]), pupil.ref)
    assert got[("ehcp-request-advice", None)].start == D(2026, 9, 22)


def test_the_las_decision_is_due_4_weeks_after_the_meeting_never_moved(result):
    """cop.ar.la_decision: the LA's deadline, on its date even at a weekend or in a holiday."""
    for pupil in roster_of_40():
        got = steps(result, pupil.ref)
        m = got[("ehcp-review-meeting", None)].start
        assert got[("ehcp-review-decision", None)].start == m + 4 * WEEK


def test_phase_transfer_reviews_are_in_the_autumn_term_and_the_deadline_never_moves(result):
    """cop.phase.review_window, cop.phase.school_transfer: 14 Feb 2027, a Sunday."""
    for i in (5, 11, 17):
        got = steps(result, roster_of_40()[i].ref)
        assert D(2026, 9, 1) <= got[("ehcp-review-meeting", None)].start <= D(2026, 11, 15)
        deadline = got[("ehcp-transfer-deadline", None)]
        assert deadline.start == D(2027, 2, 14) and deadline.status == Status.CONFIRMED


def test_the_post16_transfer_deadline_is_before_31_march(packs, school):
    """cop.phase.post16."""
    pupil = EhcpPupil("Y11-1", 11, False, D(2024, 2, 1), D(2025, 11, 3), None, None, "post16")
    got = steps(rules.evaluate_full(packs, school, YEAR, roster=[pupil]), "Y11-1")
    assert got[("ehcp-transfer-deadline", None)].start == D(2027, 3, 30)


def test_interim_reviews_for_under_5s_only_where_the_school_turns_them_on(packs, school, result):
    """cop.ar.under5_interim: 'should consider', not a duty; so optional, statutory guidance."""
    interims = [e.body for e in result.events if e.body.rule == "ehcp-interim-review"]
    assert interims and {b.pupil for b in interims} <= {"P-0015", "P-0016"}
    for body in interims:
        assert body.optional and body.basis == Basis.STATUTORY_GUIDANCE
        assert "not a duty" in body.description
    off = rules.evaluate_full(packs, with_changes(school, ehcp={}), YEAR, roster=roster_of_40())
    assert not [e for e in off.events if e.body.rule == "ehcp-interim-review"]


def test_no_week_has_more_reviews_than_the_schools_limit_when_it_can_be_met(result):
    weeks = Counter()
    for e in result.events:
        if e.body.rule == "ehcp-review-meeting":
            weeks[e.body.start - dt.timedelta(days=e.body.start.weekday())] += 1
    assert max(weeks.values()) <= 3
    assert not any(w.kind == rules.WarningKind.REVIEWS_OVER_CAP for w in result.warnings)


def test_a_tighter_limit_still_holds_and_proposals_fed_back_never_move(packs, school):
    tight = with_changes(school, ehcp={"reviews_per_week": 1})
    roster = roster_of_40()
    first = rules.evaluate_full(packs, tight, YEAR, roster=roster[:30])
    placed = placed_meetings(first.events)
    assert len(placed) == 29  # one of the first 30 is booked
    again = rules.evaluate_full(packs, tight, YEAR, roster=roster, placed=placed)
    assert {k: v for k, v in placed_meetings(again.events).items() if k in placed} == placed
    weeks = Counter(
        d - dt.timedelta(days=d.weekday()) for d in placed_meetings(again.events).values()
    )
    assert max(weeks.values()) <= 1 or any(
        w.kind == rules.WarningKind.REVIEWS_OVER_CAP for w in again.warnings
    )


def test_roster_order_never_changes_the_calendar(packs, school):
    roster = roster_of_40()
    a = rules.evaluate(packs, school, YEAR, roster=roster)
    b = rules.evaluate(packs, school, YEAR, roster=list(reversed(roster)))
    assert [(e.uid, e.body.content_hash) for e in a] == [(e.uid, e.body.content_hash) for e in b]


def test_two_pupils_reviews_have_different_identities(result):
    uids = [e.uid for e in result.events if e.body.rule == "ehcp-review-meeting"]
    assert len(uids) == len(set(uids)) == 40
    assert all("/pupil:P-" in uid for uid in uids)


def test_slt_and_governors_get_counts_per_week_never_pupils(result):
    for audience in (Audience.SLT, Audience.GOVERNORS):
        feed = rules.for_audience(result.events, audience)
        assert not any(e.body.pupil or e.body.pupil_level for e in feed)
        text = " ".join(f"{e.uid} {e.body.title} {e.body.description}" for e in feed)
        assert "P-0" not in text
        counts = [e.body for e in feed if e.body.rule == "ehcp-review-meeting"]
        assert counts and all("this week" in b.title for b in counts)
        least = min(int(b.title.split()[0]) for b in counts)
        assert least >= (3 if audience == Audience.GOVERNORS else 1)
    slt = [
        e for e in rules.for_audience(result.events, "slt") if e.body.rule == "ehcp-review-meeting"
    ]
    assert sum(int(e.body.title.split()[0]) for e in slt) == 40
    assert len({e.uid for e in slt}) == len(slt)


def test_a_count_keeps_its_identity_when_the_pupils_it_counts_change(packs, school):
    roster = roster_of_40()
    a = rules.for_audience(rules.evaluate(packs, school, YEAR, roster=roster), "slt")
    b = rules.for_audience(rules.evaluate(packs, school, YEAR, roster=roster[:-1]), "slt")
    ids = lambda feed: {e.uid for e in feed if e.body.rule == "ehcp-review-meeting"}  # noqa: E731
    assert ids(b) <= ids(a)


def test_without_term_dates_the_reviews_wait_for_them(packs, school):
    nowhere = with_changes(school, la_code="998")
    got = rules.evaluate_full(packs, nowhere, YEAR, roster=roster_of_40())
    assert not [e for e in got.events if e.body.pupil]
    assert any(w.kind == rules.WarningKind.TERM_DATES for w in got.warnings)


def test_a_review_held_this_year_keeps_its_report_and_the_recorded_decision(packs, school):
    """cop.ar.report_to_la, cop.ar.la_decision: once the meeting is on the roster as held."""
    held = EhcpPupil("P-HELD", 4, False, D(2023, 5, 2), D(2026, 10, 6), D(2026, 10, 27))
    got = steps(rules.evaluate_full(packs, school, YEAR, roster=[held]), "P-HELD")
    assert set(got) == {
        ("ehcp-review-meeting", None),
        ("ehcp-review-report", None),
        ("ehcp-review-decision", None),
    }
    meeting = got[("ehcp-review-meeting", None)]
    assert meeting.start == D(2026, 10, 6) and meeting.status == Status.CONFIRMED
    assert "(proposed date)" not in meeting.title
    assert got[("ehcp-review-report", None)].start == D(2026, 10, 20)
    decision = got[("ehcp-review-decision", None)]
    assert decision.start == D(2026, 10, 27) and "records the LA's decision" in decision.description


def test_the_next_years_review_follows_from_this_years_decision(packs, school):
    """cop.ar.clock_reset: 12 months from the decision of 27 Oct 2026, meeting 4 weeks before."""
    held = EhcpPupil("P-HELD", 4, False, D(2023, 5, 2), D(2026, 10, 6), D(2026, 10, 27))
    got = steps(rules.evaluate_full(packs, school, YEAR + 1, roster=[held]), "P-HELD")
    assert got[("ehcp-review-due", None)].start == D(2027, 10, 27)
    meeting = got[("ehcp-review-meeting", None)].start
    assert D(2027, 9, 1) <= meeting <= D(2027, 9, 29)


def test_a_booked_meeting_never_moves_even_when_it_is_late(packs, school):
    pupil = EhcpPupil("P-LATE", 3, False, D(2024, 1, 8), D(2025, 11, 3), D(2025, 11, 20),
                      booked_meeting=D(2026, 11, 16))  # fmt: skip
    result = rules.evaluate_full(packs, school, YEAR, roster=[pupil])
    meeting = steps(result, "P-LATE")[("ehcp-review-meeting", None)]
    assert meeting.start == D(2026, 11, 16) and meeting.status == Status.CONFIRMED
    assert "LA's decision may come after the review is due" in meeting.description
    assert warned(result, rules.WarningKind.REVIEW_LATE, "ehcp-review-meeting")
