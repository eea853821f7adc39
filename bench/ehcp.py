"""Benchmark: EHCP annual reviews for many schools, evaluated and placed for one year.

    python bench/ehcp.py [--schools 500] [--pupils 40] [--las 50] [--year 2026] [--cap 3]

Schools as bench/evaluate.py makes them (synthetic LAs with their own term dates, a fifth of the
schools with term dates of their own, their own INSET and school dates), each with a roster of
``--pupils`` pupils: last reviews spread over the year before (a third without the LA's
decision date, so their clocks are assumed), a few new plans, booked meetings, phase transfers
and under-5s. Every school is evaluated with its roster through one shared :class:`rules.Memo`
and its meetings placed at most ``--cap`` a week. Prints the time, the busiest week against the
cap, the weeks over it (and whether each was one the placement could not avoid: it says so
with a ``reviews_over_cap`` warning only when no placement meets the cap) and the peak memory
(RSS, and tracemalloc's peak for a sample of schools).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules  # noqa: E402
from bench.evaluate import la_pack, school  # noqa: E402
from feedserver import catalog  # noqa: E402
from rules.roster import EhcpPupil  # noqa: E402

D = dt.date
MEETING = "ehcp-review-meeting"


def roster(rng: random.Random, count: int, year: int) -> list[EhcpPupil]:
    """``count`` pupils whose next reviews fall across ``year``, every shape the roster allows."""
    out = []
    for i in range(count):
        ref = f"P-{i + 1:04d}"
        meeting = D(year - 1, 9, 1) + dt.timedelta(days=rng.randrange(330))
        while meeting.weekday() >= 5:
            meeting += dt.timedelta(days=1)
        plan = meeting - dt.timedelta(days=365 * rng.randint(1, 4) + rng.randrange(200))
        decision = meeting + dt.timedelta(days=rng.randint(10, 28)) if rng.random() < 0.67 else None
        if rng.random() < 0.05:  # a new plan: the first review runs from its issue
            plan, meeting, decision = meeting, None, None
        under_5 = rng.random() < 0.03
        booked = None
        if rng.random() < 0.1:
            booked = D(year, 10, 1) + dt.timedelta(days=rng.randrange(200))
            while booked.weekday() >= 5:
                booked += dt.timedelta(days=1)
        transfer = "school" if rng.random() < 0.12 else None
        group = -1 if under_5 else rng.randint(0, 6)
        out.append(EhcpPupil(ref, group, under_5, plan, meeting, decision, booked, transfer))
    return out


def weekly(events: list[rules.Event]) -> Counter[dt.date]:
    weeks: Counter[dt.date] = Counter()
    for e in events:
        if e.body.rule == MEETING and e.body.pupil:
            weeks[e.body.start - dt.timedelta(days=e.body.start.weekday())] += 1
    return weeks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--pupils", type=int, default=40)
    parser.add_argument("--las", type=int, default=50)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--cap", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--trace", type=int, default=20, help="schools run under tracemalloc")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    years = range(args.year - 1, args.year + 2)
    las = [la_pack(f"{800 + i:03d}", rng, years) for i in range(args.las)]
    builtin = list(catalog.builtin_packs())
    schools = []
    for i in range(args.schools):
        la = las[i % len(las)]
        profile = school(i, la, rng, years)
        data = profile.model_dump(mode="json")
        data["phases"] = ["primary"]
        data["ehcp"] = {"reviews_per_week": args.cap, "interim_reviews": rng.random() < 0.3}
        profile = rules.SchoolProfile.model_validate(data)
        schools.append((profile, [*builtin, la], roster(rng, args.pupils, args.year)))
    memo = rules.Memo()

    tracemalloc.start()
    for profile, packs, pupils in schools[: args.trace]:
        rules.evaluate_full(packs, profile, args.year, memo=memo, roster=pupils)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    memo.clear()

    started = time.perf_counter()
    results = [
        rules.evaluate_full(packs, profile, args.year, memo=memo, roster=pupils)
        for profile, packs, pupils in schools
    ]
    elapsed = time.perf_counter() - started

    busiest = 0
    over_weeks = 0
    unavoidable = True
    pupil_events = 0
    for (_, _, pupils), result in zip(schools, results, strict=True):
        weeks = weekly(list(result.events))
        pupil_events += sum(1 for e in result.events if e.body.pupil)
        busiest = max(busiest, max(weeks.values(), default=0))
        over = [w for w, n in weeks.items() if n > args.cap]
        over_weeks += len(over)
        warned = any(w.kind == rules.WarningKind.REVIEWS_OVER_CAP for w in result.warnings)
        booked = Counter(
            p.booked_meeting - dt.timedelta(days=p.booked_meeting.weekday())
            for p in pupils
            if p.booked_meeting
        )
        for week in over:
            if not warned and weeks[week] > max(args.cap, booked[week]):
                unavoidable = False
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.schools} schools x {args.pupils} pupils, {args.year}/{(args.year + 1) % 100:02d}: "
        f"{pupil_events} pupil entries, {elapsed / args.schools * 1000:.1f} ms a school"
    )
    print(f"busiest week: {busiest} reviews against a cap of {args.cap}")
    print(
        f"peak memory: {rss:.0f} MB RSS; tracemalloc peak {traced_peak / 2**20:.1f} MB "
        f"over {args.trace} schools"
    )
    print(
        f"ehcp: {args.schools} schools x {args.pupils} pupils in {elapsed:.1f} s, "
        f"weeks over cap {over_weeks} (cap met where possible: {'yes' if unavoidable else 'no'})"
    )


if __name__ == "__main__":
    main()
