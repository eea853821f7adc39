"""'Statutory' means the law requires it; everything else says what it is (issue 8, section 2).

Fact ids are from shared/reference/send-calendar-facts.md.
"""

from __future__ import annotations

import datetime as dt

import pytest

import rules
from feedserver import catalog
from feedserver.ics import FeedMeta, describe, render
from rules.errors import PackRejected
from tests.rules.helpers import make_pack


@pytest.fixture(scope="module")
def secondary():
    profile = catalog.demo_school("demo-secondary")
    return rules.evaluate(catalog.packs_for(profile), profile, 2026)


@pytest.fixture(scope="module")
def primary():
    profile = catalog.demo_school("demo-primary")
    return rules.evaluate(catalog.packs_for(profile), profile, 2026)


def _one(events, rule, prep=None):
    return next(e for e in events if e.body.rule == rule and e.body.prep == prep)


def test_the_census_check_is_good_practice_not_statutory(secondary):
    """census.sen_check: 'a practice suggestion, not a statutory duty'."""
    check = _one(secondary, "census-autumn", "sen-check")
    assert not check.body.statutory and check.body.basis.value == "good_practice"
    assert "Statutory" not in check.body.categories and "Good practice" in check.body.categories
    assert "Good practice: recommended, not required by law." in describe(check)
    census = _one(secondary, "census-autumn")
    assert census.body.statutory and "Statutory" in census.body.categories


def test_phase_transfer_preparation_is_not_labelled_statutory(primary):
    """cop.phase.review_window: the review's timing is 'not set in law'."""
    deadline = _one(primary, "phase-transfer-school")
    assert deadline.body.statutory  # cop.phase.school_transfer: SEND Regs reg. 18(1)(b)
    for prep in ("hold-reviews", "warning"):
        event = _one(primary, "phase-transfer-school", prep)
        assert not event.body.statutory and "Statutory" not in event.body.categories
    assert (
        "does not say when"
        in _one(primary, "phase-transfer-school", "hold-reviews").body.description
    )


def test_jcq_deadlines_say_jcq_regulations_not_statutory(secondary):
    """jcq.aao.june_deadline, jcq.booklet_published: an awarding body's rules, not law."""
    jcq = [e for e in secondary if e.body.rule.startswith("jcq-")]
    assert jcq
    for event in jcq:
        assert not event.body.statutory, event.uid
        assert "JCQ regulations" in event.body.categories, event.uid
    assert "not law" in describe(_one(secondary, "jcq-regulations"))


def test_the_review_list_is_statutory_guidance(secondary):
    """la.ar.termly_list: the Code of Practice's 'should' (9.172)."""
    event = next(e for e in secondary if e.body.rule == "review-list")
    assert not event.body.statutory and "Statutory guidance" in event.body.categories


def test_an_la_packs_rules_are_la_practice_by_default(primary):
    event = _one(primary, "topup-round-autumn")
    assert event.body.basis.value == "la_practice" and "LA practice" in event.body.categories


def test_categories_in_the_feed_say_which(primary):
    import icalendar

    feed = render(primary, FeedMeta(name="x"), dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    by_uid = {str(v["UID"]): v for v in icalendar.Calendar.from_ical(feed).walk("VEVENT")}
    check = by_uid[_one(primary, "census-autumn", "sen-check").ics_uid]
    assert "Good practice" in [str(c) for c in check["CATEGORIES"].cats]
    assert "Statutory" not in [str(c) for c in check["CATEGORIES"].cats]


def test_only_rules_with_a_legal_source_are_statutory():
    for pack in catalog.builtin_packs():
        for rule in pack.rules:
            if rule.statutory or (rule.basis and rule.basis.value == "statutory"):
                assert rule.source is not None and rule.source.url, rule.id


def test_statutory_true_with_another_basis_is_refused():
    with pytest.raises(PackRejected) as caught:
        make_pack([{"id": "x", "kind": "deadline", "statutory": True, "basis": "jcq",
                    "source": {"title": "JCQ"}, "when": {"month": "october", "day": 1}}])  # fmt: skip
    assert [p.field for p in caught.value.problems] == ["basis"]
