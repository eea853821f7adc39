"""Event identities follow DESIGN.md's grammar and round-trip through text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.event import EventKey

segment = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
rule_id = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)


@given(
    school=segment, pack=segment, rule=rule_id, year=st.integers(2000, 2100),
    occurrence=st.none() | rule_id, prep=st.none() | rule_id,
    pupil=st.none() | st.from_regex(r"[A-Za-z0-9-]{1,12}", fullmatch=True),
)  # fmt: skip
def test_identity_round_trips(school, pack, rule, year, occurrence, prep, pupil):
    key = EventKey(school, pack, rule, year, occurrence, prep, pupil)
    assert EventKey.from_string(key.to_string()) == key


def test_identity_text_matches_the_grammar():
    key = EventKey(
        "demo-primary", "england-statutory", "phase-transfer-school", 2026, None, "warning"
    )
    assert (
        key.to_string() == "demo-primary/england-statutory/phase-transfer-school/2026/prep:warning"
    )
    assert EventKey("s", "p", "r", 2026, "autumn1").to_string() == "s/p/r/2026/autumn1"


@pytest.mark.parametrize(
    "text",
    [
        "s/p/r",
        "s/p/r/26",
        "s/p/r/2026/prep:x/autumn1",
        "s/p/r/2026/a/b",
        "S/p/r/2026",
        "s/p/r/2026/pupil:Jo Bloggs",
    ],
)
def test_malformed_identity_is_refused(text):
    with pytest.raises(ValueError):
        EventKey.from_string(text)
