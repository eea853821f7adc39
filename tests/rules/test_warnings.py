"""Evaluation warnings are typed records: a kind, the year, a subject, refs and details.

Presenters word them; these tests pin the facts each kind carries and the JSON round trip the
feed server stores them through.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

import rules
from rules.warning import EvalWarning, WarningKind
from tests.conftest import load_calendar
from tests.rules.helpers import evaluate_rule, make_pack, with_changes

D = dt.date


@pytest.fixture(scope="module")
def typical() -> rules.SchoolProfile:
    return load_calendar("england-typical")


def facts(result: rules.Evaluation) -> list[tuple[WarningKind, int, str, tuple[str, ...], dict]]:
    return [(w.kind, w.year, w.subject, w.refs, dict(w.details)) for w in result.warnings]


# --------------------------------------------------------------------- the record


EXAMPLES = [
    EvalWarning(WarningKind.TERM_DATES, 2026, "2027", ("b:y", "a:x")),
    EvalWarning(
        WarningKind.END_BEFORE_START,
        2026,
        "p:r",
        ("p:r",),
        (("start", "2027-01-04"), ("end", "2026-12-18")),
    ),
    EvalWarning(
        WarningKind.REFERENCE_UNRESOLVED,
        2025,
        "england-statutory:ks2-tests",
        ("p:a", "p:b"),
        (("cause", "term_dates"), ("cause_subject", "2025")),
    ),
]


@pytest.mark.parametrize("warning", EXAMPLES, ids=lambda w: w.kind.value)
def test_a_warning_round_trips_through_json_exactly(warning):
    stored = json.loads(json.dumps(warning.to_json()))
    assert EvalWarning.from_json(stored) == warning
    assert EvalWarning.from_json(stored).to_json() == warning.to_json()
    reordered = {k: stored[k] for k in reversed(stored)}  # JSONB keeps no key order
    reordered["details"] = dict(reversed(stored["details"].items()))
    assert EvalWarning.from_json(reordered) == warning


def test_refs_and_details_are_kept_sorted():
    warning = EXAMPLES[1]
    assert EXAMPLES[0].refs == ("a:x", "b:y")
    assert warning.details == (("end", "2026-12-18"), ("start", "2027-01-04"))
    assert warning.detail("start") == "2027-01-04" and warning.detail("cause") is None
    assert warning.to_json() == {
        "kind": "end_before_start",
        "year": 2026,
        "subject": "p:r",
        "refs": ["p:r"],
        "details": {"end": "2026-12-18", "start": "2027-01-04"},
    }


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "date", "year": 2026, "subject": "p:r", "refs": [], "details": {}},
        {"kind": "term_dates", "year": "2026", "subject": "2027", "refs": [], "details": {}},
        {"kind": "term_dates", "year": 2026, "subject": "2027", "refs": "p:r", "details": {}},
        {"kind": "term_dates", "year": 2026, "subject": "2027", "refs": [], "details": {"a": 1}},
        {"kind": "term_dates", "year": 2026, "subject": "2027", "refs": []},
        {"kind": "term_dates", "year": True, "subject": "2027", "refs": [], "details": {}},
        ["term_dates"],
    ],
)
def test_from_json_refuses_what_is_not_a_warning(data):
    with pytest.raises(ValueError):
        EvalWarning.from_json(data)


def test_a_detail_is_named_once():
    with pytest.raises(ValueError):
        EvalWarning(WarningKind.DATE_OUTSIDE_YEAR, 2026, "p:r", (), (("date", "a"), ("date", "b")))


# --------------------------------------------------------------------- what evaluation reports


def test_a_rule_working_out_outside_its_year_names_the_date(typical):
    rule = {"id": "late", "kind": "event", "when": {"month": "august", "day": 30, "days": 5}}
    bodies, result = evaluate_rule(rule, typical, 2026)
    assert bodies == []
    assert facts(result) == [
        (
            WarningKind.DATE_OUTSIDE_YEAR,
            2026,
            "test-pack:late",
            ("test-pack:late",),
            {"date": "2027-09-04"},
        )
    ]


def test_a_span_ending_before_it_starts_names_both_dates(typical):
    rule = {
        "id": "backwards",
        "kind": "window",
        "when": {"half": "spring1", "at": "start"},
        "span": {"until": {"half": "autumn2", "at": "end"}},
    }
    bodies, result = evaluate_rule(rule, typical, 2026)
    assert bodies == []
    assert facts(result) == [
        (
            WarningKind.END_BEFORE_START,
            2026,
            "test-pack:backwards",
            ("test-pack:backwards",),
            {
                "start": "2027-01-04",
                "end": "2026-12-18",
            },
        )
    ]


def test_a_reference_to_a_repeating_rule_says_it_has_several_dates(typical):
    repeating = {"id": "weekly", "repeat": {"every": "half_term"}, "when": {"half": "this"}}
    rule = {"id": "x", "when": {"after": "other:weekly"}}
    other = make_pack([repeating], slug="other")
    bodies, result = evaluate_rule(rule, typical, 2026, packs=[other])
    assert bodies == []
    assert facts(result) == [
        (WarningKind.REFERENCE_SEVERAL_DATES, 2026, "other:weekly", ("test-pack:x",), {})
    ]


def test_a_reference_to_an_undated_rule_carries_the_first_cause(typical):
    others = [
        {"id": "middle", "when": {"after": "nowhere:rule"}},
        {"id": "top", "when": {"after": "middle"}},
    ]
    _, result = evaluate_rule({"id": "x", "when": {"after": "top"}}, typical, 2026, others=others)
    missing = {"cause": "reference_missing", "cause_subject": "nowhere:rule"}
    assert facts(result) == [
        (WarningKind.REFERENCE_MISSING, 2026, "nowhere:rule", ("test-pack:middle",), {}),
        (WarningKind.REFERENCE_UNRESOLVED, 2026, "test-pack:middle", ("test-pack:top",), missing),
        (WarningKind.REFERENCE_UNRESOLVED, 2026, "test-pack:top", ("test-pack:x",), missing),
    ]


def test_an_unpublished_date_warns_and_so_does_a_rule_dated_from_it(typical):
    published = {
        "id": "national",
        "kind": "deadline",
        "when": {
            "published": {2025: D(2026, 5, 11)},
            "fallback": {"month": "may", "day": 10},
            "status": "unconfirmed",
        },
    }
    rule = {"id": "x", "when": {"after": "national", "weeks": -2}}
    _, result = evaluate_rule(rule, typical, 2026, others=[published])
    unpublished = {"cause": "unpublished", "cause_subject": "test-pack:national"}
    assert facts(result) == [
        (
            WarningKind.REFERENCE_UNRESOLVED,
            2026,
            "test-pack:national",
            ("test-pack:x",),
            unpublished,
        ),
        (WarningKind.UNPUBLISHED, 2026, "test-pack:national", ("test-pack:national",), {}),
    ]


def test_missing_term_dates_name_the_year_they_are_for(typical):
    rule = {"id": "t", "when": {"half": "spring1", "at": "start"}}
    _, result = evaluate_rule(rule, typical, 2028)
    assert facts(result) == [(WarningKind.TERM_DATES, 2028, "2028", ("test-pack:t",), {})]


def test_warnings_carry_no_sentences(builtin_packs, la_example, typical):
    school = with_changes(typical, named_dates={}, term_dates={})
    for year in (2025, 2026, 2029):
        result = rules.evaluate_full([*builtin_packs, la_example], school, year)
        assert result.warnings
        for warning in result.warnings:
            words = [warning.subject, *warning.refs, *(v for _, v in warning.details)]
            assert not [w for w in words if " " in w], warning
