"""Each audience reads its own calendar (issue 8, section 1; DESIGN.md "Audiences / feeds")."""

from __future__ import annotations

import pytest

import rules
from feedserver import catalog
from feedserver.ics import FeedMeta, render
from rules.audiences import for_audience
from rules.errors import PackRejected
from tests.rules.helpers import make_pack

READERS = ("slt", "governors", "ta", "staff")


@pytest.fixture(scope="module", params=["demo-primary", "demo-secondary"])
def school_events(request):
    profile = catalog.demo_school(request.param)
    return rules.evaluate(catalog.packs_for(profile), profile, 2026)


@pytest.mark.parametrize("reader", READERS)
def test_other_feeds_hold_no_senco_task_and_no_effort_text(school_events, reader):
    senco_view = {e.uid: e.body for e in school_events}
    view = for_audience(school_events, reader)
    assert view
    for event in view:
        assert event.body.effort_hours is None, event.uid
        if event.body.kind.value == "task":
            # a task reaches another reader only in words written for them
            written = {r.audience.value for r in senco_view[event.uid].wording}
            assert reader in written, event.uid
            assert event.body.title != senco_view[event.uid].title
    feed = render(view, FeedMeta(name="x"), dt_stamp()).decode("utf-8")
    assert "Time to allow" not in feed
    for words in ("Prepare ", "Brief staff", "Send the SEND update", "Getting ready for"):
        assert words not in feed, words


def test_the_governors_feed_says_send_update_at_the_board_meeting(school_events):
    titles = {e.body.title for e in for_audience(school_events, "governors")}
    assert "SEND update at the governing board meeting" in titles
    assert "Send the SEND update for the head's report to governors" not in titles
    assert "Prepare a SEND pupil progress summary for governors" not in titles


def test_staff_see_the_briefing_from_the_senco_not_the_senco_to_do(school_events):
    titles = {e.body.title for e in for_audience(school_events, "staff")}
    assert "SEND briefing from the SENCO" in titles
    assert "Brief staff on the needs of pupils with SEND" not in titles
    assert "Share confidential SEND information with the staff who need it" not in titles


def test_preparation_reaches_only_the_senco_unless_the_prep_names_its_readers(school_events):
    for reader in READERS:
        for event in for_audience(school_events, reader):
            if event.body.prep is not None and event.body.prep != "find-date":
                assert event.body.wording == ()  # a reader's view carries no other words
                assert event.uid.endswith("/prep:brief-staff"), event.uid


def test_a_task_for_another_audience_without_its_wording_is_refused():
    with pytest.raises(PackRejected) as caught:
        make_pack([{"id": "brief", "kind": "task", "audience": ["senco", "staff"],
                    "when": {"month": "october", "day": 1}}])  # fmt: skip
    [problem] = caught.value.problems
    assert problem.field == "audience" and "all staff need words of their own" in problem.message


def test_wording_for_an_audience_that_does_not_get_the_entry_is_refused():
    with pytest.raises(PackRejected) as caught:
        make_pack([{"id": "m", "kind": "meeting", "audience": ["senco"],
                    "wording": {"governors": {"title": "Board meeting"}},
                    "when": {"month": "october", "day": 1}}])  # fmt: skip
    [problem] = caught.value.problems
    assert problem.field == "wording.governors"


def test_each_reader_gets_their_own_words_and_the_senco_keeps_theirs():
    pack = make_pack(
        [
            {
                "id": "brief",
                "title": "Brief staff on pupils' needs",
                "description": "Run the briefing.",
                "kind": "task",
                "audience": ["senco", "staff", "ta"],
                "effort_hours": 2,
                "wording": {
                    "staff": {"title": "SEND briefing", "description": "For teachers."},
                    "ta": {"title": "SEND briefing for TAs"},
                },
                "when": {"month": "october", "day": 1},
            }
        ]
    )
    profile = catalog.demo_school("demo-primary")
    events = rules.evaluate([pack, catalog.demo_pack("la-example")], profile, 2026)
    events = [e for e in events if e.body.pack == "test-pack"]
    [senco] = for_audience(events, "senco")
    [staff] = for_audience(events, "staff")
    [ta] = for_audience(events, "ta")
    assert (senco.body.title, senco.body.effort_hours) == ("Brief staff on pupils' needs", 2)
    assert (staff.body.title, staff.body.description) == ("SEND briefing", "For teachers.")
    assert ta.body.title == "SEND briefing for TAs" and ta.body.effort_hours is None
    assert senco.uid == staff.uid == ta.uid  # one event, worded per reader
    assert for_audience(events, "governors") == []


def dt_stamp():
    import datetime as dt

    return dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
