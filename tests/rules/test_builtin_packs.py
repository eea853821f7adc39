"""The built-in packs as a SENCO would judge them: complete, in their own words, well spread."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

import rules
from rules.warning import WarningKind

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
MONTHS = ["sep", "oct", "nov", "dec", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug"]


@pytest.fixture(scope="module")
def cycle(builtin_packs):
    return next(p for p in builtin_packs if p.pack == "senco-annual-cycle")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_every_built_in_rule_has_an_audience_wording_and_work_estimate(builtin_packs):
    for pack in builtin_packs:
        for rule in pack.rules:
            assert rule.audience and rule.title.strip(), rule.id
            if rule.kind.value in ("task", "meeting"):
                assert rule.effort_hours is not None and rule.effort_hours > 0, rule.id
                assert rule.description.strip(), rule.id


def test_the_cycle_covers_every_month_of_the_seed_guide(cycle):
    per_month = Counter(rule.id.split("-")[0] for rule in cycle.rules)
    for month in MONTHS:
        assert per_month[month] >= 7, month


def test_the_cycle_has_the_recurring_systems(cycle):
    repeats = {rule.id: rule.repeat.every for rule in cycle.rules if rule.repeat is not None}
    assert repeats.get("slt-send-meeting") == "half_term"
    for termly in ("pupil-progress-review", "send-register-review", "intervention-impact-check"):
        assert repeats.get(termly) == "term", termly
    ta = cycle.rule("ta-performance-review")
    assert ta is not None and ta.repeat is not None and len(ta.repeat.only or ()) == 2


@pytest.mark.skipif(not SEEDS.exists(), reason="needs ../shared/seeds beside the checkout")
def test_wording_is_our_own_not_copied_from_the_seeds(builtin_packs):
    seed_words = [
        words(p.read_text(encoding="utf-8", errors="replace")) for p in SEEDS.glob("*.txt")
    ]
    shingles = {tuple(ws[i : i + 8]) for ws in seed_words for i in range(len(ws) - 7)}
    for pack in builtin_packs:
        for rule in pack.rules:
            text = words(f"{rule.title} {rule.description}")
            copied = [
                " ".join(text[i : i + 8])
                for i in range(len(text) - 7)
                if tuple(text[i : i + 8]) in shingles
            ]
            assert not copied, f"{rule.id} copies the seeds: {copied[0]!r}"


@pytest.mark.parametrize("school", ["demo_primary", "demo_secondary"])
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_demo_schools_evaluate_with_nothing_missing(
    request, builtin_packs, la_example, school, year
):
    profile = request.getfixturevalue(school)
    result = rules.evaluate_full([*builtin_packs, la_example], profile, year)
    assert [w for w in result.warnings if w.kind is not WarningKind.UNPUBLISHED] == []
    assert not [e for e in result.events if e.body.pack == "sencocal"]


@pytest.mark.parametrize("school", ["demo_primary", "demo_secondary"])
def test_august_work_sits_in_late_july_or_on_september_inset_days(
    request, builtin_packs, la_example, school
):
    profile = request.getfixturevalue(school)
    for year in (2025, 2026, 2027):
        events = rules.evaluate([*builtin_packs, la_example], profile, year)
        august = [e.body for e in events if e.body.rule.startswith("aug-")]
        assert august
        for body in august:
            assert body.start.month in (7, 9), (body.rule, body.start)


@pytest.mark.parametrize("school", ["demo_primary", "demo_secondary"])
def test_no_day_is_overloaded_with_cycle_tasks(request, builtin_packs, la_example, school):
    profile = request.getfixturevalue(school)
    for year in (2025, 2026, 2027):
        events = rules.evaluate([*builtin_packs, la_example], profile, year)
        per_day = Counter(
            e.body.start
            for e in events
            if e.body.pack == "senco-annual-cycle" and e.body.kind.value == "task"
        )
        assert max(per_day.values()) <= 3


def test_awareness_weeks_are_optional_and_honest_about_their_dates(
    cycle, builtin_packs, la_example, demo_primary
):
    events = rules.evaluate([*builtin_packs, la_example], demo_primary, 2026)
    dyslexia = (
        [e.body for e in events if e.body.rule == "awareness-dyslexia-week"]
        if cycle.rule("awareness-dyslexia-week")
        else []
    )
    awareness = [e.body for e in events if e.body.categories and "Awareness" in e.body.categories]
    assert awareness and all(b.optional for b in awareness if b.prep is None)
    for body in dyslexia:  # 2026/27 date not published: a task to find it, never a date
        assert body.prep == "find-date"


def test_sources_are_named_for_people_not_for_our_seed_files(builtin_packs):
    for pack in builtin_packs:
        for rule in pack.rules:
            if rule.source is not None:
                assert "seed" not in rule.source.title.lower(), rule.id
