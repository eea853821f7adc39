"""Every built-in event's text is written for its reader (issue 8, section 4)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import rules
from feedserver import catalog
from feedserver.ics import describe
from feedserver.wording import time_to_allow
from rules.audiences import for_audience
from rules.vocabulary import HALF_LABELS, duration_words

READERS = ("senco", "slt", "governors", "ta", "staff")


@pytest.fixture(scope="module", params=["demo-primary", "demo-secondary"])
def views(request):
    """Every reader's events for a demo school, in two years, with and without its own dates."""
    profile = catalog.demo_school(request.param)
    bare = profile.model_copy(update={"named_dates": {}})
    out = []
    for school in (profile, bare):
        for year in (2026, 2027):
            events = rules.evaluate(catalog.packs_for(school), school, year)
            out += [e for reader in READERS for e in for_audience(events, reader)]
    return out


def texts(event):
    body = event.body
    return [body.title, body.description, body.why, describe(event), *body.categories]


def test_no_authors_notes_or_internal_words_reach_a_reader(views):
    internal = [
        re.compile(r"\bseed\b", re.I),  # the word meant nothing to a SENCO
        re.compile(r"\b(" + "|".join(HALF_LABELS) + r")\b"),  # "half term autumn1"
        re.compile(r"\b(england-statutory|senco-annual-cycle|la-example)\b"),  # pack slugs
        re.compile(r"\bFrom the \S+ pack, rule\b"),
    ]
    for event in views:
        for text in texts(event):
            for pattern in internal:
                assert not pattern.search(text), (event.uid, pattern.pattern, text)


def test_time_to_allow_reads_naturally(views):
    seen = set()
    for event in views:
        for found in re.findall(r"Time to allow: about ([^.]+)\.", describe(event)):
            seen.add(found)
            assert re.fullmatch(r"(1 hour|\d+ hours)( \d+ minutes)?|\d+ minutes", found), found
    assert {"1 hour", "15 minutes", "2 hours"} <= seen


@pytest.mark.parametrize(
    ("hours", "words"),
    [(1, "1 hour"), (0.25, "15 minutes"), (1.5, "1 hour 30 minutes"), (2, "2 hours"),
     (1.25, "1 hour 15 minutes"), (0.5, "30 minutes")],
)  # fmt: skip
def test_durations_in_words(hours, words):
    assert duration_words(hours) == words
    assert time_to_allow(hours) == f"About {words}"


def test_the_holidays_are_for_rest_only_on_entries_in_the_holidays(views, request):
    notes = [e for e in views if "the holidays, which are for rest" in e.body.description]
    for event in views:
        if event.body.optional and "Optional" in event.body.description:
            assert "the holidays are for rest" not in event.body.description
    profile = catalog.demo_school("demo-primary")
    for event in notes:
        start = event.body.start
        day = start.date() if isinstance(start, dt.datetime) else start
        assert day not in profile.inset_days and event.body.optional, event.uid


def test_why_names_half_terms_in_words(builtin_packs, la_example, demo_primary):
    events = rules.evaluate([*builtin_packs, la_example], demo_primary, 2026)
    meeting = next(e for e in events if e.uid.endswith("slt-send-meeting/2026/autumn1"))
    assert "the first half of the autumn term" in meeting.body.why
    ret = next(e for e in events if e.uid.endswith("census-autumn-return/2026"))
    assert "27 days after 'Autumn school census day' (Thu 1 Oct 2026)" in ret.body.why
