"""Properties of annual-review placement (rules/placement.py), driven by hypothesis.

Placement must be deterministic and blind to input order, never move a booked meeting, keep
earlier proposals that still fit, meet the weekly cap whenever any placement could (checked
against an exact matching), put every meeting on an allowed day, and never move one pupil's
proposal when another pupil is added and the earlier result is fed back as ``kept``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.placement import Request, monday, place

START = dt.date(2026, 9, 7)  # a Monday
SPAN = 16 * 7


@st.composite
def school(draw):
    """Allowed days (weekdays in 16 weeks, some dropped as holidays) and a cap."""
    weekdays = [START + dt.timedelta(days=i) for i in range(SPAN)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    dropped = draw(st.sets(st.sampled_from(weekdays), max_size=40))
    days = sorted(set(weekdays) - dropped)
    cap = draw(st.integers(1, 3))
    return days, cap


@st.composite
def requests(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        first = draw(st.integers(0, SPAN - 1))
        width = draw(st.integers(0, 40))
        earliest = START + dt.timedelta(days=first)
        out.append(Request(f"P-{i:03d}", earliest, earliest + dt.timedelta(days=width)))
    return out


def feasible(reqs, days, cap, used):
    """Whether every request can have a week with room (exact bipartite matching)."""
    weeks: dict[dt.date, list[dt.date]] = {}
    for d in days:
        weeks.setdefault(monday(d), []).append(d)
    slots = [(w, k) for w in sorted(weeks) for k in range(max(0, cap - used[w]))]
    options = {
        r.ref: [
            i
            for i, (w, _) in enumerate(slots)
            if any(r.earliest <= d <= r.latest for d in weeks[w])
        ]
        for r in reqs
    }
    owner: dict[int, str] = {}

    def augment(ref, seen):
        for i in options[ref]:
            if i in seen:
                continue
            seen.add(i)
            if i not in owner or augment(owner[i], seen):
                owner[i] = ref
                return True
        return False

    return all(augment(r.ref, set()) for r in reqs)


@settings(max_examples=150, deadline=None)
@given(school(), requests(), st.randoms(use_true_random=False))
def test_placement_is_deterministic_and_independent_of_the_order_pupils_come_in(s, reqs, rnd):
    days, cap = s
    first = place(reqs, days, cap)
    shuffled = list(reqs)
    rnd.shuffle(shuffled)
    assert place(shuffled, days, cap) == first == place(reqs, days, cap)


@settings(max_examples=150, deadline=None)
@given(school(), requests(), st.data())
def test_booked_meetings_never_move_and_count_towards_their_week(s, reqs, data):
    days, cap = s
    booked = {
        f"B-{i}": data.draw(st.sampled_from(days)) for i in range(data.draw(st.integers(0, 4)))
    } if days else {}  # fmt: skip
    out = place(reqs, days, cap, booked=booked)
    for ref, day in booked.items():
        assert out[ref].day == day and out[ref].how == "booked"
    used = Counter(monday(d) for d in booked.values())
    if feasible(reqs, days, cap, used):
        weeks = Counter(monday(p.day) for p in out.values())
        for week, count in weeks.items():
            assert count <= max(cap, used[week])


@settings(max_examples=150, deadline=None)
@given(school(), requests())
def test_every_meeting_is_on_an_allowed_day_and_in_its_window_when_the_window_has_one(s, reqs):
    days, cap = s
    out = place(reqs, days, cap)
    allowed = set(days)
    for r in reqs:
        if not any(r.earliest <= d <= r.latest for d in days):
            assert r.ref not in out or out[r.ref].how == "outside_window"
            continue
        got = out[r.ref]
        assert got.day in allowed
        assert r.earliest <= got.day <= r.latest
        assert got.how in ("placed", "over_cap")


@settings(max_examples=150, deadline=None)
@given(school(), requests())
def test_no_week_is_over_the_cap_whenever_a_placement_could_meet_it(s, reqs):
    days, cap = s
    out = place(reqs, days, cap)
    inside = [r for r in reqs if any(r.earliest <= d <= r.latest for d in days)]
    # a meeting with no allowed day in its window goes to the nearest one and takes room there
    outside = Counter(monday(p.day) for p in out.values() if p.how == "outside_window")
    weeks = Counter(monday(out[r.ref].day) for r in inside)
    if feasible(inside, days, cap, outside):
        for week, count in weeks.items():
            assert count + outside[week] <= max(cap, outside[week])
        assert all(out[r.ref].how == "placed" for r in inside)
    else:
        assert any(out[r.ref].how == "over_cap" for r in inside)


@settings(max_examples=150, deadline=None)
@given(school(), requests(), st.data())
def test_earlier_proposals_are_kept_and_new_ones_placed_around_them(s, reqs, data):
    days, cap = s
    first = place(reqs, days, cap)
    kept = {ref: p.day for ref, p in first.items()}
    again = place(reqs, days, cap, kept=kept)
    for r in reqs:
        if r.ref in first and r.earliest <= first[r.ref].day <= r.latest:
            assert again[r.ref].day == first[r.ref].day and again[r.ref].how == "kept"


@settings(max_examples=150, deadline=None)
@given(school(), requests(), st.integers(0, SPAN - 1), st.integers(0, 40))
def test_adding_a_pupil_never_moves_another_pupils_proposal_fed_back_as_kept(s, reqs, at, width):
    days, cap = s
    first = place(reqs, days, cap)
    kept = {ref: p.day for ref, p in first.items()}
    earliest = START + dt.timedelta(days=at)
    newcomer = Request("P-NEW", earliest, earliest + dt.timedelta(days=width))
    after = place([*reqs, newcomer], days, cap, kept=kept)
    for r in reqs:
        if r.earliest <= first[r.ref].day <= r.latest if r.ref in first else False:
            assert after[r.ref].day == first[r.ref].day
