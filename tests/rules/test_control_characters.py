"""Control characters and Unicode line separators are refused where text arrives (issue 8, §5)."""

from __future__ import annotations

import pytest

import rules
from rules.errors import PackRejected
from rules.profile import profile_from_data

PACK = """\
pack: la-test
title: Test pack
publisher: {kind: la, code: "999"}
version: "1"
rules:
  - id: bell
    title: "Top-up round\\a closes"
    description: "First line\\u2028BEGIN:VEVENT"
    kind: deadline
    audience: [senco]
    category: funding
    when: {month: october, day: 9}
"""


def _problems(call) -> list[str]:
    with pytest.raises(PackRejected) as caught:
        call()
    return [str(p) for p in caught.value.problems]


def test_a_pack_with_control_characters_is_refused_naming_line_rule_and_field():
    problems = _problems(lambda: rules.load_pack(PACK, "la-test.yaml"))
    assert problems == [
        "la-test.yaml:7: rule bell, field title: the text holds a control character (U+0007), "
        "which calendar apps cannot show; delete it (it often comes from text pasted from "
        "another program).",
        "la-test.yaml:8: rule bell, field description: the text holds a line separator "
        "(U+2028), which calendar apps cannot show; delete it (it often comes from text pasted "
        "from another program).",
    ]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
def test_a_school_name_with_a_control_character_is_refused(char):
    data = {"id": "s", "name": f"Oak{char}Primary", "la_code": "999", "type": "maintained",
            "phases": ["primary"]}  # fmt: skip
    [problem] = _problems(lambda: profile_from_data(data, "your change"))
    assert problem.startswith("your change: field name: the text holds ")


def test_a_local_event_description_with_a_control_character_is_refused():
    data = {
        "id": "s", "name": "Oak Primary", "la_code": "999", "type": "maintained",
        "phases": ["primary"],
        "local_events": [{"id": "trip", "title": "Trip", "start": "2026-10-01",
                          "description": "Coach at 9\x0c"}],
    }  # fmt: skip
    [problem] = _problems(lambda: profile_from_data(data, "your change"))
    assert problem.startswith("your change: field local_events.0.description: the text holds")


def test_tabs_and_line_breaks_are_ordinary_text():
    data = {"id": "s", "name": "Oak\tPrimary", "la_code": "999", "type": "maintained",
            "phases": ["primary"], "local_events": [{"id": "trip", "title": "Trip",
            "start": "2026-10-01", "description": "Line one\nLine two\r\n"}]}  # fmt: skip
    assert profile_from_data(data, "x").name == "Oak\tPrimary"


def test_a_profile_file_with_a_control_character_is_refused_with_its_line():
    text = 'id: s\nname: "Oak\\x01 Primary"\nla_code: "999"\ntype: maintained\nphases: [primary]\n'
    [problem] = _problems(lambda: rules.load_profile(text, "oak.yaml"))
    assert problem.startswith("oak.yaml:2: field name: the text holds a control character (U+0001)")
