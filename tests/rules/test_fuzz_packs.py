"""Nothing a pack author can type produces a traceback: only a rejection or events."""

from __future__ import annotations

import datetime as dt

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import rules
from feedserver import catalog
from tests.rules.helpers import NoAliasDumper

SCHOOLS = [catalog.demo_school("demo-primary"), catalog.demo_school("demo-secondary")]
LA = catalog.demo_pack("la-example")

small = st.integers(-60, 60)
months = st.sampled_from(["january", "february", "may", "june", "october", "december", 2])
weekdays = st.sampled_from(["monday", "wednesday", "friday", "sunday"])
halves = st.sampled_from(["autumn1", "autumn2", "spring1", "spring2", "summer1", "summer2"])


def published_dates() -> st.SearchStrategy[dict]:
    """Published dates inside their own academic year."""
    return st.dictionaries(st.integers(2024, 2028), st.integers(0, 364), max_size=2).map(
        lambda d: {y: dt.date(y, 9, 1) + dt.timedelta(days=n) for y, n in d.items()}
    )


bases = st.one_of(
    st.fixed_dictionaries({"month": months, "day": st.integers(1, 29)}),
    st.fixed_dictionaries(
        {"month": months, "weekday": weekdays, "nth": st.sampled_from([1, 2, 4, "last"])}
    ),
    st.fixed_dictionaries({"half": halves, "at": st.sampled_from(["start", "end"])}),
    st.fixed_dictionaries(
        {"break": st.sampled_from(["october", "christmas", "february", "easter", "may", "summer"])}
    ),
    st.fixed_dictionaries(
        {
            "term": st.sampled_from(["autumn", "spring", "summer"]),
            "at": st.sampled_from(["start", "end"]),
        }
    ),
    st.fixed_dictionaries({"academic_year": st.sampled_from(["start", "end"])}),
    st.fixed_dictionaries({"financial_year": st.just("start")}),
    st.fixed_dictionaries({"staff_day": st.sampled_from(["first", "last"])}),
    st.fixed_dictionaries(
        {
            "after": st.sampled_from(
                [
                    "r0",
                    "r1",
                    "england-statutory:census-autumn",
                    "england-statutory:ks2-tests",
                    "la-example:topup-round-autumn",
                    "nowhere:x",
                ]
            )
        }
    ),
    st.fixed_dictionaries(
        {"school_date": st.sampled_from(["parents_evening", "fire_drill", "not_supplied"])}
    ),
    st.fixed_dictionaries(
        {
            "published": published_dates(),
            "fallback": st.fixed_dictionaries({"month": months, "day": st.integers(1, 28)}),
            "status": st.sampled_from(["computed", "unconfirmed"]),
        }
    ),
)
ADJUST = {
    "deadline": ["keep", "previous_working_day", "previous_staff_day"],
    "task": ["next_staff_day", "previous_school_day"],
    "meeting": ["next_school_day", "previous_staff_day"],
    "window": ["keep", "next_working_day"],
    "event": ["keep", "previous_working_day"],
}
CORRUPTIONS = [
    ("kind", "chore"), ("audience", "senco"), ("audience", ["parents"]), ("category", "Bad Cat"),
    ("title", ""), ("extra_key", 1), ("effort_hours", "lots"), ("when", {"weeks": 2}),
    ("when", {"month": "february", "day": 30}), ("when", {"half": "autumn3"}),
    ("when", {"after": "r0"}), ("when", {"nth": 6, "weekday": "monday", "month": "may"}),
    ("span", {"days": 0}), ("repeat", {"every": "fortnight"}), ("statutory", True),
    ("applies_if", {"flags": ["has_year7"]}), ("time", {"start": "25:00", "end": "26:00"}),
]  # fmt: skip


@st.composite
def rule_dicts(draw: st.DrawFn, index: int) -> dict:
    kind = draw(st.sampled_from(sorted(ADJUST)))
    when = dict(draw(bases))
    for name in draw(
        st.lists(
            st.sampled_from(
                ["days", "weeks", "months", "school_days", "staff_days", "working_days"]
            ),
            max_size=2,
            unique=True,
        )
    ):
        when[name] = draw(small)
    if draw(st.booleans()):
        when["adjust"] = draw(st.sampled_from(ADJUST[kind]))
    rule = {
        "id": f"r{index}",
        "title": draw(st.sampled_from(["A task", "Ünïcödé ✓ task"])),
        "kind": kind,
        "audience": draw(
            st.lists(
                st.sampled_from(["senco", "slt", "ta", "governors", "staff"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        ),
        "category": "test",
        "when": when,
    }
    readers = [a for a in rule["audience"] if a != "senco"]
    if readers and kind == "task":
        rule["wording"] = {a: {"title": f"A task, as {a} read it"} for a in readers}
    repeat = draw(
        st.sampled_from(
            [
                None,
                None,
                {"every": "week", "weekday": "tuesday"},
                {"every": "half_term"},
                {"every": "term", "only": ["autumn"]},
                {"every": "month", "only": ["june", "august"]},
            ]
        )
    )
    if repeat is not None:
        rule["repeat"] = repeat
        if repeat["every"] == "week":
            del rule["when"]
        elif repeat["every"] == "half_term":
            rule["when"] = {"half": "this", "at": "start", "weeks": draw(st.integers(0, 4))}
        elif repeat["every"] == "month":
            rule["when"] = {"nth": 1, "weekday": "monday"}
    if draw(st.booleans()):
        rule["span"] = draw(
            st.sampled_from(
                [{"days": 3}, {"weeks": 2}, {"until": {"half": "summer2", "at": "end"}}]
            )
        )
    if draw(st.booleans()):
        rule["prep"] = [
            {
                "id": "p",
                "title": "Prep",
                "before": {
                    draw(st.sampled_from(["days", "weeks", "school_days", "months"])): draw(
                        st.integers(1, 20)
                    )
                },
            }
        ]
    if kind == "meeting" and draw(st.booleans()):
        rule["time"] = {"start": "15:45", "end": "16:30"}
    if draw(st.integers(0, 5)) == 0:
        field, value = draw(st.sampled_from(CORRUPTIONS))
        rule[field] = value
    return rule


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), count=st.integers(1, 4))
def test_any_pack_an_author_can_write_is_either_rejected_cleanly_or_evaluates(data, count):
    pack = {
        "pack": "fuzz",
        "title": "Fuzz",
        "publisher": {"kind": "la", "code": "999"},
        "version": "1",
        "rules": [data.draw(rule_dicts(i)) for i in range(count)],
    }
    text = yaml.dump(pack, Dumper=NoAliasDumper, allow_unicode=True)
    try:
        loaded = rules.load_pack(text, "fuzz.yaml")
    except rules.PackRejected as rejected:
        event("rejected")
        assert rejected.problems and all(str(p).startswith("fuzz.yaml") for p in rejected.problems)
        return
    event("accepted")
    for school in SCHOOLS:
        for year in (2025, 2026, 2027):
            result = rules.evaluate_full([loaded, LA, *catalog.builtin_packs()], school, year)
            for made in result.events:
                assert made.body.end > made.body.start or not made.body.all_day


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_is_never_a_traceback(text):
    try:
        rules.load_pack(text, "junk.yaml")
    except rules.PackRejected:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_never_a_traceback(data):
    try:
        rules.load_pack(data, "junk.yaml")
    except rules.PackRejected:
        pass
