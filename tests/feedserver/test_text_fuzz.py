"""Any text in any text field gives a feed that icalendar and ics both read (issue 8, §5).

Random text, control characters and Unicode separators included, goes in where users type it
(a school's name, a local event, a pack's titles, descriptions and per-audience words): it is
either refused with the field named, or it reaches every feed as exactly one event whose text
reads back as written. Stored text that somehow holds a control character is written without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import icalendar
import ics as ics_lib
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from feedserver import catalog
from feedserver.ics import FeedMeta, render
from rules.audiences import for_audience
from rules.errors import PackRejected
from rules.profile import profile_from_data
from rules.text import FORBIDDEN, clean

STAMP = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NASTY = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9f\u2028\u2029\r\n\t;,\\:\"'<>&é✓\U0001f600"

text = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8")),
    min_size=1,
    max_size=80,
).filter(lambda t: t.strip() != "")


def expected(value: str) -> str:
    """What a reader should see of ``value`` in a feed."""
    return clean(value).replace("\r\n", "\n").replace("\r", "")


def _parse_both(feed: bytes) -> tuple[list[icalendar.Event], list[ics_lib.Event]]:
    cal = icalendar.Calendar.from_ical(feed)
    other = ics_lib.Calendar(feed.decode("utf-8"))
    return list(cal.walk("VEVENT")), list(other.events)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=text, title=text, description=text)
def test_text_typed_into_a_school_is_refused_or_read_back_by_both_parsers(name, title, description):
    base = catalog.demo_school("demo-primary").model_dump(mode="json")
    base.update(
        name=name,
        local_events=[{"id": "trip", "title": title, "description": description,
                       "start": "2026-10-01", "audience": ["senco", "staff"]}],
    )  # fmt: skip
    bad = [f for f, v in (("name", name), ("title", title), ("description", description))
           if FORBIDDEN.search(v)]  # fmt: skip
    try:
        profile = profile_from_data(base, "your change")
    except PackRejected as rejected:
        fields = {str(p.field).rsplit(".", 1)[-1] for p in rejected.problems}
        assert bad and fields <= {"name", "title", "description"} and set(bad) <= fields
        return
    assert not bad
    events = [e for e in rules.evaluate([catalog.demo_pack("la-example")], profile, 2026)
              if e.body.rule == "trip"]  # fmt: skip
    for audience in ("senco", "staff"):
        feed = render(for_audience(events, audience), FeedMeta(name=profile.name), STAMP)
        mine, theirs = _parse_both(feed)
        assert len(mine) == len(theirs) == 1
        assert str(mine[0]["SUMMARY"]) == expected(title)
        assert str(mine[0]["DESCRIPTION"]).startswith(expected(description.strip()))
        assert theirs[0].name == expected(title)
        cal = icalendar.Calendar.from_ical(feed)
        assert str(cal["NAME"]) == " ".join(clean(name).split())  # one line


PACK_TEXT_FIELDS = ("title", "description", "wording.staff.title", "wording.staff.description",
                    "source.title")  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.tuples(*(text for _ in PACK_TEXT_FIELDS)))
def test_text_in_a_pack_is_refused_with_its_field_or_read_back_in_every_feed(values):
    given_text = dict(zip(PACK_TEXT_FIELDS, values, strict=True))
    rule = {
        "id": "briefing",
        "title": given_text["title"][:200],
        "description": given_text["description"],
        "kind": "task",
        "audience": ["senco", "staff"],
        "category": "training",
        "when": {"month": "october", "day": 7},
        "wording": {"staff": {"title": given_text["wording.staff.title"][:200],
                              "description": given_text["wording.staff.description"]}},
        "source": {"title": given_text["source.title"][:300]},
    }  # fmt: skip
    doc = {"pack": "la-fuzz", "title": "Fuzz", "publisher": {"kind": "la", "code": "999"},
           "version": "1", "rules": [rule]}  # fmt: skip
    data = yaml.safe_dump(doc, allow_unicode=True)
    arrived = yaml.safe_load(data)["rules"][0]  # YAML itself reads U+0085 as a line break

    def field(path: str) -> str:
        value = arrived
        for part in path.split("."):
            value = value[part]
        return str(value)

    bad = {f for f in PACK_TEXT_FIELDS if FORBIDDEN.search(field(f))}
    try:
        pack = rules.load_pack(data, "la-fuzz.yaml")
    except PackRejected as rejected:
        fields = {p.field for p in rejected.problems}
        assert bad, [str(p) for p in rejected.problems]
        assert bad <= fields, (bad, fields)
        return
    assert not bad
    profile = catalog.demo_school("demo-primary")
    events = [e for e in rules.evaluate([pack, catalog.demo_pack("la-example")], profile, 2026)
              if e.body.pack == "la-fuzz"]  # fmt: skip
    assert len(events) == 1
    titles = (("senco", field("title")), ("staff", field("wording.staff.title")))
    for audience, title in titles:
        feed = render(for_audience(events, audience), FeedMeta(name="Fuzz"), STAMP)
        mine, theirs = _parse_both(feed)
        assert len(mine) == len(theirs) == 1
        assert str(mine[0]["SUMMARY"]) == expected(title.strip()) == theirs[0].name


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
def test_stored_text_with_a_control_character_is_written_without_it(char):
    profile = catalog.demo_school("demo-primary")
    events = rules.evaluate(catalog.packs_for(profile), profile, 2026)[:3]
    poisoned = [
        rules.Event(e.school_id, dataclasses.replace(
            e.body, title=f"A{char}B", description=f"line{char}BEGIN:VEVENT{char}UID:x"))
        for e in events
    ]  # fmt: skip
    feed = render(poisoned, FeedMeta(name=f"Oak{char}School"), STAMP)
    assert char.encode("utf-8") not in feed
    mine, theirs = _parse_both(feed)
    assert len(mine) == len(theirs) == 3
    assert {str(v["SUMMARY"]) for v in mine} == {"AB"}
