"""A corpus of malformed packs, each pinned to the exact problems it must report."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

import rules
from rules.errors import PackRejected

CORPUS = Path(__file__).parent / "data" / "malformed"
EXPECTED: dict[str, list[str]] = yaml.safe_load(
    (CORPUS / "expected.yml").read_text(encoding="utf-8")
)


def problems_of(data: bytes | str, name: str) -> list[str]:
    with pytest.raises(PackRejected) as caught:
        rules.load_pack(data, name)
    return [str(p) for p in caught.value.problems]


def test_corpus_has_at_least_25_malformed_packs_and_each_is_pinned():
    files = sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert len(files) >= 25
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_pack_is_rejected_with_its_pinned_messages(name):
    assert problems_of((CORPUS / name).read_bytes(), name) == EXPECTED[name]


def test_every_problem_names_its_file_and_the_line_when_there_is_one():
    for name in EXPECTED:
        with pytest.raises(PackRejected) as caught:
            rules.load_pack((CORPUS / name).read_bytes(), name)
        for problem in caught.value.problems:
            assert problem.file == name
            if name not in {"empty.yaml", "top-level-list.yaml"}:
                assert problem.line is not None, str(problem)


def test_oversized_pack_is_refused_before_parsing():
    body = (
        b'pack: big\ntitle: Big\npublisher: {kind: la, code: "999"}\nversion: "1"\ndescription: "'
    )
    data = body + b"x" * (1_048_576 - len(body) - 2) + b'"\n'
    assert len(data) == 1_048_576
    assert problems_of(data, "oversized.yaml") == [
        "oversized.yaml: file is 1,048,576 bytes; packs are limited to 1,000,000 bytes (1 MB). "
        "Split it into smaller packs."
    ]


def test_alias_bomb_is_refused_without_expanding_it():
    started = time.perf_counter()
    problems_of((CORPUS / "alias-bomb.yaml").read_bytes(), "alias-bomb.yaml")
    assert time.perf_counter() - started < 1.0


def test_text_input_is_accepted_like_bytes():
    name = "february-30.yaml"
    text = (CORPUS / name).read_text(encoding="utf-8")
    assert problems_of(text, name) == EXPECTED[name]


def test_problem_carries_rule_field_and_value_as_data():
    with pytest.raises(PackRejected) as caught:
        rules.load_pack((CORPUS / "bad-kind.yaml").read_bytes(), "bad-kind.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.rule_id, problem.field, problem.value) == (
        8,
        "a",
        "kind",
        "dedline",
    )


def test_a_bad_profile_is_reported_the_same_way():
    text = "id: x\nname: X\nla_code: '99'\ntype: maintained\nphases: [primry]\ninset_days: [2026-09-05]\n"
    with pytest.raises(PackRejected) as caught:
        rules.load_profile(text, "school.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "school.yaml:3: field la_code: '99' must be the DfE three-digit local-authority number, e.g. '330'.",
        "school.yaml:5: field phases[0]: 'primry' is not allowed here; use one of: nursery, primary, "
        "infant, junior, middle, secondary, all_through or 16_plus.",
    ]
