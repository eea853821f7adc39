"""Benchmark: evaluate the built-in packs plus each school's LA pack for N synthetic schools.

    python bench/evaluate.py [--schools 2000] [--las 150] [--year 2026] [--baseline 200]

Schools are spread over ``--las`` synthetic LAs (each with its own term dates and a copy of the
example LA pack's rules); a fifth have term dates of their own; every school picks its own INSET
days and parents' evenings, governor meetings, fire drills and transition days, as real schools
do. Prints school-years per second with a shared :class:`rules.Memo` (the design: work is shared
between schools that answer a rule's questions the same way) and, side by side in the same run,
the plain loop (a fresh memo per school), with the ratio, and the process's peak memory.
The process is pinned to one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules  # noqa: E402
from feedserver import catalog  # noqa: E402
from rules.calendar import is_working_day  # noqa: E402

D = dt.date


def weekdays_between(first: D, last: D) -> list[D]:
    days = []
    day = first
    while day <= last:
        if is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def monday_on_or_after(day: D) -> D:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def synthetic_periods(year: int, rng: random.Random) -> list[dict[str, Any]]:
    """Plausible English term periods for ``year``, varied the ways LAs vary them."""
    start = D(year, 9, 1) + dt.timedelta(days=rng.choice([0, 1, 2]))
    while start.weekday() >= 5:
        start += dt.timedelta(days=1)
    oct_break = monday_on_or_after(D(year, 10, 19)) + dt.timedelta(weeks=rng.choice([0, 1]))
    xmas_end = monday_on_or_after(D(year, 12, 14)) + dt.timedelta(days=4)
    spring_start = monday_on_or_after(D(year + 1, 1, 3))
    feb_break = monday_on_or_after(D(year + 1, 2, 12)) + dt.timedelta(weeks=rng.choice([0, 1]))
    easter_break = monday_on_or_after(D(year + 1, 3, 24)) + dt.timedelta(weeks=rng.choice([0, 1]))
    may_break = monday_on_or_after(D(year + 1, 5, 25))
    summer_end = D(year + 1, 7, 20) + dt.timedelta(days=rng.choice([0, 1, 2]))
    while summer_end.weekday() >= 5:
        summer_end -= dt.timedelta(days=1)
    day = dt.timedelta(days=1)
    return [
        {"label": "autumn1", "start": start, "end": oct_break - 3 * day},
        {"label": "autumn2", "start": oct_break + 7 * day, "end": xmas_end},
        {"label": "spring1", "start": spring_start, "end": feb_break - 3 * day},
        {"label": "spring2", "start": feb_break + 7 * day, "end": easter_break - 3 * day},
        {"label": "summer1", "start": easter_break + 14 * day, "end": may_break - 3 * day},
        {"label": "summer2", "start": may_break + 7 * day, "end": summer_end},
    ]


def la_pack(code: str, rng: random.Random, years: range) -> rules.Pack:
    """A copy of the example LA pack's rules with this LA's own code and term dates."""
    base = catalog.demo_pack("la-example")
    term_dates = {y: synthetic_periods(y, rng) for y in years}
    data = base.model_dump(by_alias=True, exclude_none=True)
    data.update(pack=f"la-{code}", title=f"LA {code}", term_dates=term_dates)
    data["publisher"] = {"kind": "la", "code": code}
    return rules.Pack.model_validate(data)


def school(i: int, la: rules.Pack, rng: random.Random, years: range) -> rules.SchoolProfile:
    code = la.publisher.code
    assert code is not None and la.term_dates is not None
    kind = rng.choices(["maintained", "academy", "special", "free_school"], [40, 50, 5, 5])[0]
    phases = rng.choices(
        [["primary"], ["secondary"], ["infant"], ["junior"], ["all_through"]], [70, 20, 4, 4, 2]
    )[0]
    own = rng.random() < 0.2
    term_dates: dict[int, Any] = {}
    inset: list[D] = []
    named: dict[str, list[D]] = {
        k: []
        for k in (
            "parents_evening",
            "governors_meeting",
            "fire_drill",
            "transition_day",
            "open_evening",
        )
    }
    for y in years:
        periods = [p.model_dump() for p in la.term_dates[y]]
        if own:
            periods = synthetic_periods(y, rng)
            term_dates[y] = periods
        slots = [
            periods[0]["start"], periods[0]["start"] + dt.timedelta(days=1), periods[0]["end"],
            periods[1]["start"], periods[2]["start"], periods[2]["end"], periods[3]["start"],
            periods[4]["end"], periods[5]["start"], periods[5]["end"],
        ]  # fmt: skip
        inset += rng.sample([d for d in slots if d.weekday() < 5], 5)
        named["parents_evening"] += [
            rng.choice(weekdays_between(D(y, 10, 5), D(y, 11, 20))),
            rng.choice(weekdays_between(D(y + 1, 3, 1), D(y + 1, 3, 20))),
        ]
        named["governors_meeting"] += [
            rng.choice(weekdays_between(D(y, 11, 10), D(y, 12, 5))),
            rng.choice(weekdays_between(D(y + 1, 3, 1), D(y + 1, 3, 25))),
            rng.choice(weekdays_between(D(y + 1, 6, 10), D(y + 1, 7, 10))),
        ]
        named["fire_drill"] += [
            rng.choice(weekdays_between(D(y, 9, 10), D(y, 10, 10))),
            rng.choice(weekdays_between(D(y + 1, 1, 12), D(y + 1, 2, 5))),
            rng.choice(weekdays_between(D(y + 1, 4, 20), D(y + 1, 5, 10))),
        ]
        named["transition_day"] += [rng.choice(weekdays_between(D(y + 1, 6, 25), D(y + 1, 7, 8)))]
        named["open_evening"] += [rng.choice(weekdays_between(D(y, 9, 15), D(y, 10, 5)))]
    return rules.SchoolProfile.model_validate(
        {
            "id": f"school-{i:05d}",
            "name": f"School {i}",
            "la_code": code,
            "type": kind,
            "phases": phases,
            "term_dates": term_dates,
            "inset_days": sorted(set(inset)),
            "named_dates": named,
        }
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument(
        "--baseline", type=int, default=200, help="schools for the plain-loop comparison"
    )
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    rng = random.Random(args.seed)
    years = range(args.year - 1, args.year + 2)
    started = time.perf_counter()
    las = [la_pack(str(300 + i), rng, years) for i in range(args.las)]
    schools = [school(i, las[i % len(las)], rng, years) for i in range(args.schools)]
    builtins = list(catalog.builtin_packs())
    packs_of = {la.publisher.code: [*builtins, la] for la in las}
    setup = time.perf_counter() - started
    rule_count = sum(len(p.rules) for p in builtins) + len(las[0].rules)
    print(
        f"setup: {len(schools)} schools over {len(las)} LAs ({sum(bool(s.term_dates) for s in schools)} with their own term dates), {rule_count} rules per school; {setup:.1f} s"
    )
    print(f"rss after setup: {peak_rss_mb():.0f} MB")

    # The plain loop: nothing shared between schools (a fresh memo for each).
    sample = schools[: args.baseline]
    t0 = time.perf_counter()
    plain_events = 0
    for s in sample:
        plain_events += len(rules.evaluate(packs_of[s.la_code], s, args.year))
    plain = time.perf_counter() - t0
    plain_rate = len(sample) / plain

    # The design: one memo shared by every school, starting empty (cache fill included).
    memo = rules.Memo()
    t0 = time.perf_counter()
    events = 0
    for s in schools:
        events += len(rules.evaluate(packs_of[s.la_code], s, args.year, memo=memo))
    shared = time.perf_counter() - t0
    shared_rate = len(schools) / shared

    # Same schools again with the warm memo: what a re-evaluation after a pack change costs
    # for the schools it does not touch.
    t0 = time.perf_counter()
    for s in schools:
        rules.evaluate(packs_of[s.la_code], s, args.year, memo=memo)
    warm = time.perf_counter() - t0

    # Both loops must agree exactly.
    check = schools[:: max(1, len(schools) // 50)]
    for s in check:
        a = [e.to_json() for e in rules.evaluate(packs_of[s.la_code], s, args.year)]
        b = [e.to_json() for e in rules.evaluate(packs_of[s.la_code], s, args.year, memo=memo)]
        assert a == b, f"memo changed the result for {s.id}"

    outcomes = memo.outcomes
    print(
        f"plain loop (no sharing): {len(sample)} school-years in {plain:.2f} s = {plain_rate:,.0f} school-years/s ({plain_events / len(sample):.0f} events each)"
    )
    print(
        f"shared memo, cold:       {len(schools)} school-years in {shared:.2f} s = {shared_rate:,.0f} school-years/s ({events / len(schools):.0f} events each)"
    )
    print(
        f"shared memo, warm:       {len(schools)} school-years in {warm:.2f} s = {len(schools) / warm:,.0f} school-years/s"
    )
    print(
        f"ratio shared/plain (same run): {shared_rate / plain_rate:.1f}x; memo hits {outcomes.hits:,} misses {outcomes.misses:,}"
    )
    print(f"all 25,000 schools in England at the cold rate: {25_000 / shared_rate:.1f} s")
    print(f"peak memory (max RSS of this process): {peak_rss_mb():.0f} MB")
    print(f"results checked identical with and without the memo for {len(check)} schools")


if __name__ == "__main__":
    main()
