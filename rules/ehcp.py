"""Each pupil's annual-review cycle for one academic year, and where its meeting goes.

Facts (shared/reference/send-calendar-facts.md, sections 1b and 1c): a plan is reviewed within
12 months of its issue or of the previous review's conclusion (``cop.ar.due``), which is the
LA's decision when known (``cop.ar.clock_reset``) and otherwise the meeting, marked assumed;
the meeting is held at least 4 weeks before that anniversary (``cop.ar.recommended_meeting_by``).
A phase-transfer review is held in the autumn term of the final year, or before October half
term where the LA asks for it earlier (``cop.phase.review_window``).

An academic year shows one cycle per pupil: the next review when its meeting falls in that
year, else the review held in it (its report and the LA's decision still to come).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dateutil.relativedelta import relativedelta

from rules.calendar import TermYear, academic_year_of, year_bounds
from rules.event import Event, EventBody
from rules.placement import Placed, Request, place
from rules.roster import EhcpPupil
from rules.vocabulary import Kind, Status

MEETING_LEAD = dt.timedelta(days=28)  # cop.ar.recommended_meeting_by
WINDOW = dt.timedelta(weeks=8)  # how much earlier than that a meeting may be proposed
LATE_WINDOW = dt.timedelta(days=20)  # an overdue review: in its first three weeks of term
TRANSFER_LEAD = dt.timedelta(weeks=13)  # 4 weeks to decide + 8 to issue the plan, and a week

AnchorKind = Literal["plan", "decision", "meeting"]


@dataclass(frozen=True)
class SchoolDays:
    """The school's days around one academic year, for placing meetings and deadlines.

    Attributes:
        year: the academic year evaluated.
        school_days: term days that are not INSET or closure days, sorted (the year before,
            this year and the next, where term dates are known).
        busy: school days no meeting goes on (census days, the KS2 test week).
        term: this year's term periods, or None when they are not known.
    """

    year: int
    school_days: tuple[dt.date, ...]
    busy: frozenset[dt.date]
    term: TermYear | None

    def on_or_before(self, day: dt.date) -> dt.date | None:
        """The last school day on or before ``day``, or None."""
        i = bisect.bisect_right(self.school_days, day)
        return self.school_days[i - 1] if i else None

    def is_school_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a school day."""
        i = bisect.bisect_left(self.school_days, day)
        return i < len(self.school_days) and self.school_days[i] == day

    def meeting_days(self) -> tuple[dt.date, ...]:
        """School days of ``year`` a meeting may go on (not busy)."""
        first, last = year_bounds(self.year)
        lo = bisect.bisect_left(self.school_days, first)
        hi = bisect.bisect_right(self.school_days, last)
        return tuple(d for d in self.school_days[lo:hi] if d not in self.busy)


@dataclass(frozen=True)
class Cycle:
    """One pupil's review in the year evaluated.

    Attributes:
        pupil: the roster row.
        meeting: the meeting's day (booked, held, or proposed by placement).
        how: "held", "booked", or the placement's answer ("placed", "kept", "over_cap",
            "outside_window").
        anchor: what the 12 months run from, and its kind (None for a held review).
        due: the review's anniversary (None for a held review).
        late: the meeting falls after the recommended latest date (due less 4 weeks).
        transfer_deadline: a phase-transfer year's deadline, never moved, or None.
    """

    pupil: EhcpPupil
    meeting: dt.date
    how: str
    anchor: dt.date | None
    anchor_kind: AnchorKind | None
    due: dt.date | None
    late: bool
    transfer_deadline: dt.date | None

    @property
    def proposed(self) -> bool:
        """The meeting date is sencocal's proposal, not the school's booking."""
        return self.how not in ("held", "booked")

    @property
    def status(self) -> Status:
        """Confirmed for a booked or held meeting; computed (expected) for a proposal."""
        return Status.COMPUTED if self.proposed else Status.CONFIRMED


BUSY_RULES = frozenset(
    {
        ("england-statutory", "census-autumn"),
        ("england-statutory", "census-spring"),
        ("england-statutory", "census-summer"),
        ("england-statutory", "ks2-tests"),
    }
)
"""Census days and the KS2 test week: no review meeting goes on them."""


def school_days_for(
    year: int,
    term_years: Mapping[int, TermYear | None],
    inset: Iterable[dt.date],
    bodies: Iterable[EventBody],
) -> SchoolDays:
    """The :class:`SchoolDays` of one school and year, from its term dates and its events."""
    insets = frozenset(inset)
    days = sorted(
        d
        for y in (year - 1, year, year + 1)
        if (ty := term_years.get(y)) is not None
        for d in ty.days
        if d not in insets
    )
    busy: set[dt.date] = set()
    for body in bodies:
        if (body.pack, body.rule) in BUSY_RULES and body.prep is None and body.all_day:
            day = body.start
            while day < body.end:
                busy.add(day)
                day += dt.timedelta(days=1)
    return SchoolDays(year, tuple(days), frozenset(busy), term_years.get(year))


def anchor_of(pupil: EhcpPupil) -> tuple[dt.date, AnchorKind]:
    """What the review clock runs from: the LA's decision, else the meeting, else the plan."""
    if pupil.last_review_decision is not None:
        return pupil.last_review_decision, "decision"
    if pupil.last_review_meeting is not None:
        return pupil.last_review_meeting, "meeting"
    return pupil.plan_issued, "plan"


def transfer_deadline(pupil: EhcpPupil, year: int) -> dt.date | None:
    """14 Feb (school phases, before 15 Feb) or 30 Mar (post-16, before 31 Mar) of year+1."""
    if pupil.transfer == "school":
        return dt.date(year + 1, 2, 14)
    if pupil.transfer == "post16":
        return dt.date(year + 1, 3, 30)
    return None


def cycles(
    roster: Sequence[EhcpPupil],
    days: SchoolDays,
    reviews_per_week: int,
    placed: Mapping[str, dt.date] | None = None,
    transfer_review_by: str = "autumn",
) -> list[Cycle]:
    """Each pupil's cycle in ``days.year`` (pupils with none that year are left out).

    Deterministic and independent of roster order; ``placed`` proposals are kept where they
    still fit, and booked meetings never move.
    """
    year = days.year
    first, last = year_bounds(year)
    meeting_days = days.meeting_days()
    booked: dict[str, dt.date] = {}
    requests: dict[str, Request] = {}
    shape: dict[str, tuple[dt.date, AnchorKind, dt.date, dt.date | None, dt.date]] = {}
    held: list[EhcpPupil] = []
    for pupil in sorted(roster, key=lambda p: p.ref):
        anchor, kind = anchor_of(pupil)
        due = anchor + relativedelta(months=12)
        latest = due - MEETING_LEAD
        deadline = transfer_deadline(pupil, year)
        if pupil.booked_meeting is not None:
            if academic_year_of(pupil.booked_meeting) == year:
                booked[pupil.ref] = pupil.booked_meeting
                shape[pupil.ref] = (anchor, kind, due, deadline, latest)
                continue
        else:
            request = _request(pupil, days, meeting_days, latest, deadline, transfer_review_by)
            if request is not None:
                requests[pupil.ref] = request
                shape[pupil.ref] = (anchor, kind, due, deadline, latest)
                continue
        meeting = pupil.last_review_meeting
        if meeting is not None and first <= meeting <= last:
            held.append(pupil)
    load = dict(booked)
    load.update({f"{p.ref}/held": p.last_review_meeting for p in held if p.last_review_meeting})
    where: dict[str, Placed] = place(
        requests.values(), meeting_days, reviews_per_week, booked=load, kept=placed
    )
    out: list[Cycle] = []
    by_ref = {p.ref: p for p in roster}
    for ref, (anchor, kind, due, deadline, latest) in shape.items():
        spot = where[ref] if ref in where else None
        if spot is None:
            continue  # no school day at all this year (no term dates)
        pupil = by_ref[ref]
        late = spot.day > latest
        out.append(Cycle(pupil, spot.day, spot.how, anchor, kind, due, late, deadline))
    for pupil in held:
        assert pupil.last_review_meeting is not None
        deadline = transfer_deadline(pupil, year)
        meeting = pupil.last_review_meeting
        out.append(Cycle(pupil, meeting, "held", None, None, None, False, deadline))
    out.sort(key=lambda c: c.pupil.ref)
    return out


def _request(
    pupil: EhcpPupil,
    days: SchoolDays,
    meeting_days: Sequence[dt.date],
    latest: dt.date,
    deadline: dt.date | None,
    transfer_review_by: str,
) -> Request | None:
    """The window the pupil's next meeting may go in this year, or None (not this year)."""
    year = days.year
    if not meeting_days:
        return None
    opening = meeting_days[0]
    if deadline is not None and days.term is not None:
        if pupil.last_review_meeting is not None and pupil.last_review_meeting >= opening:
            return None  # the transfer review has been held this year
        autumn = days.term.term("autumn")
        early = transfer_review_by == "october_half_term"
        by = days.term.half("autumn1")[1] if early else autumn[1]
        end = min(by, deadline - TRANSFER_LEAD, max(latest, autumn[0]))
        return Request(pupil.ref, max(autumn[0], opening), max(end, opening))
    last_day = days.on_or_before(latest)
    belongs = academic_year_of(last_day if last_day is not None else latest)
    if belongs > year:
        return None
    if belongs < year or latest < opening:  # overdue: as soon as possible
        return Request(pupil.ref, opening, opening + LATE_WINDOW)
    return Request(pupil.ref, max(latest - WINDOW, opening), latest)


def placed_meetings(events: Iterable[Event]) -> dict[str, dt.date]:
    """The proposed (not booked) annual-review meeting of each pupil in a school's events.

    Feed the result back to :func:`rules.evaluate_full` as ``placed`` so that a new
    evaluation keeps every earlier proposal and places new meetings around them.
    """
    found: dict[str, dt.date] = {}
    for event in events:
        body = event.body
        if (
            body.pupil is None
            or body.kind != Kind.MEETING
            or body.occurrence is not None
            or body.prep is not None
            or body.status == Status.CONFIRMED
        ):
            continue
        start = body.start.date() if isinstance(body.start, dt.datetime) else body.start
        if body.pupil not in found or start < found[body.pupil]:
            found[body.pupil] = start
    return found
