"""The sencocal command line: pack check, pack schema, preview in each format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest
import yaml
from click.testing import CliRunner

from feedserver.cli import main
from rules.schemas import dumps, pack_schema

ROOT = Path(__file__).resolve().parents[2]
MALFORMED = ROOT / "tests" / "rules" / "data" / "malformed"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_pack_check_passes_valid_packs_with_exit_0():
    result = run(
        "pack",
        "check",
        str(ROOT / "rules/packs/england-statutory.yaml"),
        str(ROOT / "feedserver/demo/la-example.yaml"),
    )
    assert result.exit_code == 0
    assert "england-statutory.yaml: ok (england-statutory" in result.output


def test_pack_check_prints_every_problem_and_exits_1(tmp_path):
    expected = yaml.safe_load((MALFORMED / "expected.yml").read_text(encoding="utf-8"))
    target = tmp_path / "several-problems.yaml"
    shutil.copy(MALFORMED / "several-problems.yaml", target)
    result = CliRunner().invoke(main, ["pack", "check", str(target)])
    assert result.exit_code == 1
    prefix = str(target)
    assert result.stderr.splitlines() == [
        line.replace("several-problems.yaml", prefix, 1)
        for line in expected["several-problems.yaml"]
    ]


def test_pack_check_reports_a_missing_file_plainly(tmp_path):
    result = CliRunner().invoke(main, ["pack", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml: cannot read the file" in result.stderr
    assert "Traceback" not in result.output


def test_pack_schema_prints_the_committed_schema():
    result = run("pack", "schema")
    assert result.output == dumps(pack_schema())
    assert result.output == (ROOT / "rules" / "pack.schema.json").read_text(encoding="utf-8")


def test_preview_table_lists_the_schools_events():
    result = run("preview", "--school", "demo-primary", "--year", "2026")
    assert result.exit_code == 0
    assert result.output.startswith("Example Road Primary School (demo): 2026/27, senco calendar,")
    assert "Sun 14 Feb 2027" in result.output and "Phase transfer" in result.output
    assert "[statutory, computed]" in result.output


def test_preview_json_is_the_evaluated_events_for_the_audience():
    senco = json.loads(
        run("preview", "--school", "demo-primary", "--year", "2026", "--format", "json").stdout
    )
    slt = json.loads(
        run(
            "preview",
            "--school",
            "demo-primary",
            "--year",
            "2026",
            "--format",
            "json",
            "--audience",
            "slt",
        ).stdout
    )
    assert senco and slt and len(slt) < len(senco)
    assert all("slt" in e["audience"] and not e["pupil_level"] for e in slt)
    assert {e["uid"] for e in slt} <= {e["uid"] for e in senco}


def test_preview_picks_up_the_la_pack_through_the_la_code():
    events = json.loads(
        run("preview", "--school", "demo-secondary", "--year", "2026", "--format", "json").stdout
    )
    assert any(e["pack"] == "la-example" for e in events)


def test_preview_adds_packs_from_files(tmp_path):
    extra = tmp_path / "local.yaml"
    extra.write_text(
        'pack: local-school\ntitle: Our own\npublisher: {kind: school}\nversion: "1"\nrules:\n'
        "  - id: sports-day\n    title: Sports day support plan\n    kind: task\n    audience: [senco]\n"
        "    category: provision\n    when: {month: june, day: 20}\n"
    )
    events = json.loads(
        run(
            "preview",
            "--school",
            "demo-primary",
            "--pack",
            str(extra),
            "--year",
            "2026",
            "--format",
            "json",
        ).stdout
    )
    assert [e["start"] for e in events if e["pack"] == "local-school"] == ["2027-06-21"]


def test_preview_ics_parses_and_is_stable_for_a_fixed_stamp():
    args = (
        "preview",
        "--school",
        "demo-primary",
        "--year",
        "2026",
        "--format",
        "ics",
        "--stamp",
        "2026-11-23T00:00:00",
    )
    first, second = run(*args).stdout_bytes, run(*args).stdout_bytes
    assert first == second
    cal = icalendar.Calendar.from_ical(first)
    assert len(cal.walk("VEVENT")) == len(
        json.loads(
            run("preview", "--school", "demo-primary", "--year", "2026", "--format", "json").stdout
        )
    )


def test_preview_of_an_unknown_school_is_a_plain_error():
    result = CliRunner().invoke(main, ["preview", "--school", "nowhere", "--year", "2026"])
    assert result.exit_code == 1
    assert "no school called 'nowhere'" in result.stderr


def test_preview_of_a_bad_profile_file_lists_its_problems(tmp_path):
    bad = tmp_path / "school.yaml"
    bad.write_text("id: x\nname: X\nla_code: '330'\ntype: maintaned\nphases: [primary]\n")
    result = CliRunner().invoke(main, ["preview", "--school", str(bad), "--year", "2026"])
    assert result.exit_code == 1
    assert f"{bad}:4: field type: 'maintaned' is not allowed here" in result.stderr


@pytest.mark.parametrize("audience", ["senco", "slt", "governors", "ta", "staff"])
def test_installed_console_script_runs(audience):
    exe = Path(sys.executable).parent / "sencocal"
    out = subprocess.run([str(exe), "preview", "--school", "demo-secondary", "--year", "2026", "--audience", audience],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert f"{audience} calendar" in out.stdout


def test_pack_check_reports_problems_of_every_stage_in_one_run():
    """Issue 8: a bad date, a wrong type, a bad kind, a circle and a missing rule, at once."""
    result = run("pack", "check", str(MALFORMED / "five-stages.yaml"))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 5
    assert "February 2026 has 28 days" in lines[0] and "got a list" in lines[1]
    assert "LineList" not in result.output and "YYYY-MM-DD" not in result.output


@pytest.mark.parametrize("year", ["26", "1", "20260"])
def test_preview_refuses_a_year_that_is_not_an_academic_year(year):
    result = run("preview", "--school", "demo-primary", "--year", year)
    assert result.exit_code == 2
    assert "write the year it starts in full, e.g. 2026 for 2026/27" in result.output


def test_the_readme_documents_the_school_profile_format_and_it_works(tmp_path):
    """The profile example in the README is a file `preview --school FILE` accepts."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A school profile, by example", 1)[1]
    example = section.split("```yaml", 1)[1].split("```", 1)[0]
    profile = tmp_path / "my-school.yaml"
    profile.write_text(example, encoding="utf-8")
    result = run("preview", "--school", str(profile), "--year", "2026", "--format", "json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert any(e["title"] == "Sports day (SEND support planned)" for e in events)
