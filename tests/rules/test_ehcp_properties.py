"""Properties of whole evaluations with a roster (hypothesis): placement as the feed server runs it.

Random rosters for the demo primary school over 2026/27: every proposed meeting is on a school
day that is no census day or KS2 test day, the roster's order never matters, booked meetings
stay, and a pupil added later never moves another pupil's proposal once the proposals are fed
back through ``placed`` (rules.ehcp.placed_meetings), as the refresh job does.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from rules.ehcp import placed_meetings, school_days_for
from rules.roster import EhcpPupil

YEAR = 2026
D = dt.date


@st.composite
def pupil(draw, ref):
    plan = D(2022, 9, 1) + dt.timedelta(days=draw(st.integers(0, 1000)))
    meeting = None
    decision = None
    if draw(st.booleans()):
        meeting = max(plan, D(2025, 9, 1)) + dt.timedelta(days=draw(st.integers(0, 330)))
        if draw(st.booleans()):
            decision = meeting + dt.timedelta(days=draw(st.integers(0, 40)))
    booked = None
    if draw(st.integers(0, 9)) == 0:
        booked = D(2026, 9, 7) + dt.timedelta(days=draw(st.integers(0, 280)))
    transfer = draw(st.sampled_from([None, None, None, "school"]))
    return EhcpPupil(ref, 3, False, plan, meeting, decision, booked, transfer)


@st.composite
def rosters(draw):
    n = draw(st.integers(1, 12))
    return [draw(pupil(f"P-{i:03d}")) for i in range(n)]


@pytest.fixture(scope="module")
def packs(builtin_packs, la_example):
    return [*builtin_packs, la_example]


def meetings(events):
    return {e.body.pupil: e.body for e in events if e.body.rule == "ehcp-review-meeting"}


SLOW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SLOW
@given(rosters(), st.randoms(use_true_random=False))
def test_meetings_are_on_school_days_and_the_roster_order_never_matters(
    packs, demo_primary, roster, rnd
):
    got = rules.evaluate_full(packs, demo_primary, YEAR, roster=roster)
    shuffled = list(roster)
    rnd.shuffle(shuffled)
    again = rules.evaluate(packs, demo_primary, YEAR, roster=shuffled)
    assert [(e.uid, e.body.content_hash) for e in got.events] == [
        (e.uid, e.body.content_hash) for e in again
    ]
    from rules.evaluate import _facts  # the school's own calendar, as evaluation sees it

    facts = _facts([rules.Memo().compiled(p) for p in packs], demo_primary, YEAR, rules.Memo())
    days = school_days_for(YEAR, facts.term_years, facts.inset, [e.body for e in got.events])
    for ref, body in meetings(got.events).items():
        booked = next(p.booked_meeting for p in roster if p.ref == ref)
        if booked is not None and body.status == rules.event.Status.CONFIRMED:
            assert body.start == booked
        elif body.status != rules.event.Status.CONFIRMED:
            assert days.is_school_day(body.start) and body.start not in days.busy


@SLOW
@given(rosters(), pupil("P-NEW"))
def test_a_pupil_added_later_never_moves_anothers_proposal(packs, demo_primary, roster, newcomer):
    first = rules.evaluate(packs, demo_primary, YEAR, roster=roster)
    placed = placed_meetings(first)
    after = rules.evaluate(packs, demo_primary, YEAR, roster=[*roster, newcomer], placed=placed)
    moved = placed_meetings(after)
    assert {ref: moved[ref] for ref in placed} == placed
