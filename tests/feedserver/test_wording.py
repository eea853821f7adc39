"""Every warning and problem kind has words for each reader, and no internal label leaks out."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import rules
from feedserver import wording
from feedserver.cli import main
from feedserver.storage.models import Problem
from feedserver.storage.problems import ProblemKind

REF = "senco-annual-cycle:slt-send-meeting"
EXAMPLES = {
    rules.WarningKind.TERM_DATES: ("2027", ()),
    rules.WarningKind.DATE_KEY: ("parents_evening", ()),
    rules.WarningKind.UNPUBLISHED: (REF, ()),
    rules.WarningKind.OVERRIDE_SEVERAL_DATES: (REF, ()),
    rules.WarningKind.REFERENCE_MISSING: ("nowhere:rule", ()),
    rules.WarningKind.REFERENCE_NOT_APPLICABLE: ("england-statutory:ks2-tests", ()),
    rules.WarningKind.REFERENCE_SEVERAL_DATES: (REF, ()),
    rules.WarningKind.REFERENCE_CIRCLE: (REF, ()),
    rules.WarningKind.REFERENCE_PER_PUPIL: (REF, ()),
    rules.WarningKind.REFERENCE_NO_DATE: (REF, ()),
    rules.WarningKind.REFERENCE_UNRESOLVED: (
        "england-statutory:census-autumn",
        (("cause", "term_dates"), ("cause_subject", "2028")),
    ),
    rules.WarningKind.DATE_OUTSIDE_YEAR: (REF, (("date", "2027-09-04"),)),
    rules.WarningKind.END_BEFORE_START: (REF, (("end", "2026-12-18"), ("start", "2027-01-04"))),
    rules.WarningKind.PUBLISHED_NOT_DATE: (REF, ()),
    rules.WarningKind.DEADLINE_OUT_OF_TERM: (REF, ()),
    rules.WarningKind.REVIEW_LATE: (REF, ()),
    rules.WarningKind.REVIEWS_OVER_CAP: (REF, (("cap", "3"),)),
}


def test_the_examples_cover_every_warning_kind():
    assert set(EXAMPLES) == set(rules.WarningKind)


@pytest.mark.parametrize("kind", list(rules.WarningKind), ids=str)
def test_every_warning_kind_has_a_sentence_for_the_school_and_for_the_author(kind):
    subject, details = EXAMPLES[kind]
    warning = rules.EvalWarning(kind, 2026, subject, (REF,), details)
    school = wording.warning_for_school(warning)
    author = wording.warning_for_author(warning)
    assert school.endswith(".") and school.lstrip("“")[0].isupper()
    assert REF not in school and kind.value not in school  # titles and words, never ids
    assert "SENCO and SLT meeting" in school or "dates" in school
    assert author.startswith("2026/27: " + REF + ": ")
    assert kind.value not in author.split(": ", 2)[2]


def test_an_unresolved_reference_says_what_the_rule_it_waits_on_lacks():
    subject, details = EXAMPLES[rules.WarningKind.REFERENCE_UNRESOLVED]
    warning = rules.EvalWarning(
        rules.WarningKind.REFERENCE_UNRESOLVED, 2028, subject, (REF,), details
    )
    assert wording.warning_for_author(warning).endswith(
        "depends on 'england-statutory:census-autumn', which needs term dates for 2028/29"
    )


@pytest.mark.parametrize("kind", list(ProblemKind), ids=str)
def test_every_problem_kind_has_words_for_the_admin_and_the_school(kind):
    at = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    details = {
        ProblemKind.PACK_CONFLICT: {"slug": "la-example"},
        ProblemKind.PROFILE_INVALID: {"problems": [{"field": "phases", "type": "too_short"}]},
        ProblemKind.GAVE_UP: {"attempts": 5},
        ProblemKind.UNEXPECTED: {"error": "KeyError"},
        ProblemKind.NEXT_YEAR_NOT_READY: {
            "year": 2027,
            "schools": [{"id": "x", "name": "X Primary"}],
            "unpublished": [REF],
        },
    }[kind]
    problem = Problem(
        source="evaluate_school", subject="x", school_id="x", kind=kind.value,
        details=details, attempts=2, first_at=at, last_at=at,
    )  # fmt: skip
    admin, school = wording.problem_for_admin(problem), wording.problem_for_school(problem)
    for text in (admin, school):
        assert text.endswith(".") and "_" not in text and "(s)" not in text
    assert "evaluate_school" not in school and "KeyError" not in school


def test_the_cli_preview_words_warnings_for_pack_authors():
    result = CliRunner().invoke(main, ["preview", "--school", "demo-primary", "--year", "2028"])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert (
        "warning: 2028/29: senco-annual-cycle:governors-meeting: needs the school's governors meeting dates (date key 'governors_meeting')"
        in lines
    )
    assert not any("EvalWarning" in line or "WarningKind" in line for line in lines)
