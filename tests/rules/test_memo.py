"""A long-lived shared memo never changes what evaluation returns, however many packs pass.

The feed server keeps one :class:`rules.Memo` for its whole life while LAs publish new pack
versions. Every cache in it must stay bounded and keyed by what the cached value depends on, so
that after hundreds of publications (and every bound crossed) a memo-shared evaluation is still
exactly the memo-free one.
"""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import rules
from feedserver import catalog
from tests.rules.helpers import NoAliasDumper

LA_EXAMPLE = catalog.demo_pack("la-example")  # also the term dates of the demo schools' LA
PRIMARY = catalog.demo_school("demo-primary")
SECONDARY = catalog.demo_school("demo-secondary")
YEARS = (2025, 2026, 2027)
STEPS = 600  # steps of the property test: hundreds of pack versions


def snapshot(result: rules.Evaluation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything an evaluation returns, as plain JSON values."""
    return [e.to_json() for e in result.events], [w.to_json() for w in result.warnings]


class FastDumper(getattr(yaml, "CSafeDumper", NoAliasDumper)):  # type: ignore[misc]
    """NoAliasDumper's text, written by libyaml when it is there (thousands of packs here)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def pack_text(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=FastDumper, sort_keys=False, allow_unicode=True)


# A small national pack: with the built-in ones, thousands of memo-free evaluations are slow.
NATIONAL = rules.load_pack(
    pack_text(
        {
            "pack": "national",
            "title": "National dates",
            "publisher": {"kind": "national"},
            "version": "1",
            "rules": [
                {
                    "id": "census",
                    "title": "Autumn census",
                    "kind": "deadline",
                    "audience": ["senco"],
                    "category": "data",
                    "when": {"nth": 1, "weekday": "thursday", "month": "october"},
                },
                {
                    "id": "ks2-tests",
                    "title": "KS2 tests",
                    "kind": "event",
                    "audience": ["senco", "staff"],
                    "category": "assessment",
                    "when": {"nth": 2, "weekday": "monday", "month": "may"},
                    "applies_if": {"phases": ["primary"]},
                },
            ],
        }
    ),
    "national.yaml",
)


# --------------------------------------------------------------------- the reported bug

NEWS_RULES = (
    ("topup-round", "Top-up funding round", {"month": "october", "day": 9}),
    ("ar-return", "Annual review returns", {"half": "spring1", "at": "start", "weeks": 2}),
    ("panel", "SEN panel", {"after": "topup-round", "weeks": 3}),
    ("phase-forms", "Phase transfer forms", {"month": "january", "day": 15}),
    ("training", "Top-up training", {"half": "autumn2", "at": "start", "days": 2}),
)


def la_news_text(version: int, renamed: str) -> str:
    """One publication of the LA's pack: ``renamed`` carries a new title in this version."""
    rule_list = [
        {
            "id": rule_id,
            "title": f"Renamed in version {version}" if rule_id == renamed else title,
            "kind": "deadline",
            "audience": ["senco"],
            "category": "funding",
            "when": when,
            "prep": [{"id": "ready", "title": f"Get ready: {title}", "before": {"weeks": 2}}],
        }
        for rule_id, title, when in NEWS_RULES
    ]
    doc = {
        "pack": "la-news",
        "title": "Example Borough news",
        "publisher": {"kind": "la", "code": "999"},
        "version": f"2026.{version}",
        "rules": rule_list,
    }
    return pack_text(doc)


def test_hundreds_of_publications_of_one_la_pack_through_one_memo_stay_right():
    """Each version renames a rule: the titles are the new ones and no UID is doubled.

    As reported: past the 512th pack through one memo, rules' results were found under the
    ``id`` of freed compiled rules, giving duplicate UIDs and a rule titled after another.
    """
    memo = rules.Memo()
    for n in range(600):
        renamed = NEWS_RULES[n % len(NEWS_RULES)][0]
        pack = rules.load_pack(la_news_text(n, renamed), "la-news.yaml")
        packs = [NATIONAL, LA_EXAMPLE, pack]
        result = rules.evaluate_full(packs, PRIMARY, 2026, memo=memo)
        uids = [e.uid for e in result.events]
        assert len(uids) == len(set(uids)), f"version {n}: duplicate UIDs"
        titles = {r.id: r.title for r in pack.rules}
        news = [e.body for e in result.events if e.body.pack == "la-news" and e.body.prep is None]
        assert sorted(b.rule for b in news) == sorted(titles), f"version {n}"
        for body in news:
            assert body.title == titles[body.rule], f"version {n}: {body.rule} {body.title!r}"
        if n % 25 == 0 or n > 500:
            alone = rules.evaluate_full(packs, PRIMARY, 2026)
            assert snapshot(result) == snapshot(alone), f"version {n}"
    assert memo.overflows["packs"] >= 1  # the default bound was crossed


# --------------------------------------------------------------------- generated publications

RULE_IDS = ("review", "census", "meeting", "visit", "report")
WORDS = ("Annual", "Top-up", "Return", "Panel", "Review", "Census", "Évaluation", "SEN")
KINDS = ("task", "deadline", "meeting", "event", "window")
HALVES = ("autumn1", "autumn2", "spring1", "spring2", "summer1", "summer2")
ELSEWHERE = (
    "national:census",  # dated
    "national:ks2-tests",  # applies to primaries only
    "la-example:topup-round-autumn",  # published dates, or a find-the-date task
    "nowhere:rule",  # not in any pack
    "la-gen:review",  # across the generated packs: missing, repeating, in a circle or dated
    "own-gen:review",
)


def la_periods(year: int, shift: int) -> list[dict[str, Any]]:
    """The example LA's term dates for ``year``, autumn moved ``shift`` days (a new calendar)."""
    assert LA_EXAMPLE.term_dates is not None
    rows = [p.model_dump(mode="json") for p in LA_EXAMPLE.term_dates[year]]
    rows[0]["start"] = (dt.date.fromisoformat(rows[0]["start"]) + dt.timedelta(shift)).isoformat()
    return rows


def variant(school: rules.SchoolProfile, **changes: Any) -> rules.SchoolProfile:
    return rules.SchoolProfile.model_validate({**school.model_dump(), **changes})


SCHOOLS = (
    PRIMARY,
    SECONDARY,
    variant(PRIMARY, id="closed-a-day", closure_days=[dt.date(2026, 11, 16)]),
    variant(
        SECONDARY,
        id="own-terms",
        term_dates={2026: la_periods(2026, 1)},
        date_overrides={
            "national:census": {2026: dt.date(2026, 10, 8)},
            "la-gen:review": {2026: dt.date(2026, 11, 10)},  # a warning when it repeats
        },
    ),
)


@st.composite
def rule_shapes(draw: st.DrawFn) -> dict[str, Any]:
    """How one generated rule is dated and what it carries; titles and ids vary per version."""
    kind = draw(st.sampled_from(KINDS))
    form = draw(st.sampled_from(["day", "half", "after", "elsewhere", "school_date", "repeat"]))
    return {
        "kind": kind,
        "form": form,
        "word": draw(st.sampled_from(WORDS)),
        "audience": draw(st.sampled_from([["senco"], ["senco", "slt"], ["governors"]])),
        "category": draw(st.sampled_from(["reviews", "funding"])),
        "month": draw(st.sampled_from(["october", "january", "march", "june", "august"])),
        "half": draw(st.sampled_from(HALVES)),
        "elsewhere": draw(st.sampled_from(ELSEWHERE)),
        "key": draw(st.sampled_from(["parents_evening", "fire_drill", "annual_review_panel"])),
        "adjust": kind in ("task", "meeting") and draw(st.booleans()),
        "span": kind in ("window", "event") and form in ("day", "half") and draw(st.booleans()),
        "prep": draw(st.booleans()),
        "phase": draw(st.sampled_from([None, None, None, "primary", "secondary"])),
    }


def render_rule(
    shape: dict[str, Any], slug: str, rule_id: str, n: int, rng: Random, single: list[str]
) -> dict[str, Any]:
    """Version ``n`` of a rule of this shape (``single``: earlier single-date rules' ids)."""
    rule: dict[str, Any] = {
        "id": rule_id,
        "title": f"{shape['word']} {rule_id} v{n}",
        "kind": shape["kind"],
        "audience": shape["audience"],
        "category": shape["category"],
    }
    readers = [a for a in shape["audience"] if a != "senco"]
    if readers and (shape["kind"] == "task" or n % 2):
        rule["wording"] = {a: {"title": f"{rule['title']} for {a}"} for a in readers}
    form = shape["form"]
    if form == "day":
        rule["when"] = {"month": shape["month"], "day": rng.randint(1, 28)}
    elif form == "half" or (form == "after" and not single):
        rule["when"] = {"half": shape["half"], "at": "start", "days": rng.randint(-10, 20)}
    elif form == "after":
        rule["when"] = {"after": rng.choice(single), "weeks": rng.randint(-3, 3)}
    elif form == "elsewhere":
        other = shape["elsewhere"].replace(
            f"{slug}:", "la-gen:" if slug != "la-gen" else "own-gen:"
        )
        rule["when"] = {"after": other, "days": rng.randint(-9, 9)}
    elif form == "school_date":
        rule["when"] = {"school_date": shape["key"], "days": -rng.randint(0, 9)}
    else:
        rule["when"] = {"half": "this", "at": "start", "days": rng.randint(0, 5)}
        rule["repeat"] = {"every": "half_term"}
    if shape["adjust"]:
        rule["when"]["adjust"] = "next_staff_day"
    if shape["span"]:
        rule["span"] = {"until": {"half": shape["half"], "at": "end"}}
    if shape["prep"]:
        rule["prep"] = [{"id": "ready", "title": f"Get ready v{n}", "before": {"weeks": 2}}]
    if shape["phase"] is not None:
        rule["applies_if"] = {"phases": [shape["phase"]]}
    return rule


def render_pack(slug: str, shapes: list[dict[str, Any]], n: int, rng: Random) -> str:
    """Version ``n`` of pack ``slug``: some of its shapes under shuffled ids, new titles."""
    count = rng.randint(1, min(4, len(shapes)))
    rule_list: list[dict[str, Any]] = []
    for shape, rule_id in zip(rng.sample(shapes, count), rng.sample(RULE_IDS, count), strict=True):
        single = [
            r["id"] for r in rule_list if "repeat" not in r and "school_date" not in r["when"]
        ]
        rule_list.append(render_rule(shape, slug, rule_id, n, rng, single))
    doc: dict[str, Any] = {
        "pack": slug,
        "title": f"{slug} {n}",
        "publisher": {"kind": "la", "code": "999"} if slug == "la-gen" else {"kind": "school"},
        "version": str(n),
        "rules": rule_list,
    }
    if slug == "la-gen" and rng.random() < 0.25:  # the LA moves a year's term dates
        year = rng.choice(YEARS)
        doc["term_dates"] = {year: la_periods(year, rng.randint(0, 3))}
    return pack_text(doc)


SLOW = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    phases=[
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    ],  # hundreds of steps do not shrink usefully
)
SHAPES = st.lists(rule_shapes(), min_size=1, max_size=8)
# One small bound at a time, so each cache fills (and empties the others) many times, at its
# own point in an evaluation; then every bound at its default, crossed by the pack count.
SMALL = {"packs": 6, "applicable": 8, "calendars": 4, "outcomes": 60}


@pytest.mark.slow
@pytest.mark.parametrize("small", [*SMALL, None], ids=[*(f"small-{c}" for c in SMALL), "defaults"])
@SLOW
@given(la_shapes=SHAPES, own_shapes=SHAPES, rng=st.randoms(use_true_random=True))
def test_a_shared_memo_gives_memo_free_results_across_hundreds_of_pack_versions(
    small, la_shapes, own_shapes, rng
):
    """Publish, re-parse or bring back a pack version, then evaluate a school-year; repeat."""
    memo = rules.Memo(**({f"max_{small}": SMALL[small]} if small else {}))
    shapes = {"la-gen": la_shapes, "own-gen": own_shapes}
    latest: dict[str, rules.Pack | None] = {"la-gen": None, "own-gen": None}
    texts: dict[str, list[str]] = {"la-gen": [], "own-gen": []}
    recent: list[rules.Pack] = []
    # With the defaults, more steps: more new pack objects than the default bound holds.
    for n in range(STEPS if small else 750):
        slug = rng.choice(sorted(latest))
        action = rng.choice(["publish", "publish", "publish", "reparse", "again"])
        if action == "reparse" and texts[slug]:  # an equal pack as a new object
            latest[slug] = rules.load_pack(rng.choice(texts[slug]), f"{slug}.yaml")
        elif action == "again" and recent:  # a version still held elsewhere comes back
            back = rng.choice(recent)
            latest[back.pack] = back
        else:
            text = render_pack(slug, shapes[slug], n, rng)
            texts[slug] = [*texts[slug][-20:], text]
            latest[slug] = rules.load_pack(text, f"{slug}.yaml")
        recent = [p for p in (*recent[-3:], *latest.values()) if p is not None]
        if rng.random() < 0.1:
            latest[rng.choice(sorted(latest))] = None  # withdrawn
        packs = [NATIONAL, LA_EXAMPLE, *(p for p in latest.values() if p is not None)]
        school = rng.choice(SCHOOLS)
        year = rng.choice(YEARS)
        shared = rules.evaluate_full(packs, school, year, memo=memo)
        alone = rules.evaluate_full(packs, school, year)
        assert snapshot(shared) == snapshot(alone), f"step {n}: {school.id} {year}"
    # The small cache filled (and emptied every cache); with the defaults, more pack objects
    # passed than the default bound holds: the reported failure's path.
    assert memo.overflows[small or "packs"] >= 1, memo.overflows
