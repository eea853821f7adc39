"""Reading an EHCP roster from CSV and from records: every problem at once, names refused."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.errors import PackRejected
from rules.roster import roster_fingerprint
from rules.roster_csv import TEMPLATE, parse_csv, parse_records, to_record


def problems(data: str) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(PackRejected) as caught:
        parse_csv(data)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_the_readme_template_reads_as_four_pupils():
    roster = parse_csv(TEMPLATE)
    assert [p.ref for p in roster] == ["P-0412", "P-0419", "P-0533", "P-0601"]
    reception = roster[2]
    assert reception.year_group == 0 and reception.under_5
    assert roster[3].booked_meeting == dt.date(2027, 1, 12) and roster[3].transfer == "post16"
    assert roster[1].transfer == "school" and roster[1].last_review_decision is None


def test_every_problem_is_reported_at_once_with_its_line_and_field():
    found = problems(
        "ref,year_group,plan_issued,under_5,last_review_meeting\n"
        "P-1,44,2020-01-01,no,\n"
        "P-2,3,2020-13-01,maybe,\n"
        "P-3,3,01/02/2020,no,31/12/2019\n"
    )
    assert [(line, field) for line, field, _ in found] == [
        (2, "year_group"),
        (3, "under_5"),
        (3, "plan_issued"),
        (4, "last_review_meeting"),
    ]
    assert "not a date" in found[2][2] and "before the plan" in found[3][2]


def test_a_name_column_is_refused_before_any_row_is_read():
    found = problems("ref,first_name,surname,year_group,plan_issued\nP-1,Amy,Jones,4,2020-01-01\n")
    assert [(line, field) for line, field, _ in found] == [(1, "first_name"), (1, "surname")]
    assert all("keeps no pupil names" in message for _, _, message in found)


@pytest.mark.parametrize("ref", ["Amy Jones", "Jones", "amy.jones"])
def test_a_reference_that_looks_like_a_name_is_refused(ref: str):
    [(line, field, message)] = problems(f"ref,year_group,plan_issued\n{ref},4,2020-01-01\n")
    assert (line, field) == (2, "ref")
    assert "school's own code" in message


def test_a_pupil_twice_names_the_first_line():
    found = problems("ref,year_group,plan_issued\nP-1,4,2020-01-01\n\nP-1,4,2020-01-01\n")
    assert found == [(4, "ref", "'P-1' is already on line 2; each pupil once.")]


def test_an_unknown_column_and_a_missing_one_are_named():
    found = problems("ref,year,plan_issued\nP-1,4,2020-01-01\n")
    assert [(f, m.split(";")[0]) for _, f, m in found] == [
        ("year", "'year' is not a roster column"),
        ("year_group", "missing 'year_group'"),
    ]


def test_under_5_is_refused_above_reception():
    [(line, field, _)] = problems("ref,year_group,plan_issued,under_5\nP-1,2,2020-01-01,yes\n")
    assert (line, field) == (2, "under_5")


def test_records_round_trip_through_the_api_shape():
    roster = parse_csv(TEMPLATE)
    again = parse_records([to_record(p) for p in reversed(roster)])
    assert again == roster and roster_fingerprint(again) == roster_fingerprint(roster)


def test_record_problems_name_the_item_number():
    with pytest.raises(PackRejected) as caught:
        parse_records([{"ref": "P-1", "year_group": 4, "plan_issued": "2020-01-01"},
                       {"ref": "P-2", "name": "Amy", "year_group": 4, "plan_issued": "x"}])  # fmt: skip
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (2, "name")


def test_a_file_that_is_not_utf8_says_so():
    with pytest.raises(PackRejected) as caught:
        parse_csv("ref,year_group,plan_issued\nP-1,4,2020-01-01\n".encode("utf-16"))
    assert "UTF-8" in str(caught.value)
