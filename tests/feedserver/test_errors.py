"""One presenter per surface: pages answer in HTML, the API in JSON, the CLI in one line.

A database that is down or not set up is a 503 that says so (``/healthz`` too), never a 500, and
no traceback reaches a user.
"""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import update

from feedserver import create_app
from feedserver.cli import main
from feedserver.config import Config
from feedserver.storage.models import School
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf, sign_in

DOWN = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1


def app_on(url: str, tmp_path: Any) -> Any:
    return create_app(Config.from_mapping({"DATABASE_URL": url}, tmp_path))


def test_healthz_says_when_the_database_is_down(tmp_path):
    client = app_on(DOWN, tmp_path).test_client()
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json["ok"] is False and answer.json["database"] == "unavailable"


def test_healthz_is_ok_with_a_database(server: Server):
    assert server.client.get("/healthz").json == {"ok": True, "database": "ok"}


def test_a_page_on_a_database_that_is_down_is_a_503_page_in_html(tmp_path):
    client = app_on(DOWN, tmp_path).test_client()
    token = csrf(client.get("/sign-in").text)
    page = client.post("/sign-in", data={"csrf_token": token, "key": "x" * 40})
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "<h1>sencocal is not available just now</h1>" in page.text
    assert "cannot reach its database" in page.text
    assert "Traceback" not in page.text


def test_the_api_on_an_unmigrated_database_says_what_to_run(tmp_path):
    client = app_on(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path).test_client()
    answer = client.get("/api/schools", headers={"Authorization": "Bearer " + "x" * 40})
    assert answer.status_code == 503
    assert "sencocal db upgrade" in answer.json["error"]


def test_an_unexpected_error_on_a_page_is_an_html_page_not_json(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    with demo_server.services.db.session() as s:  # stored data this version cannot read: a bug
        s.execute(update(School).where(School.id == "demo-primary").values(profile={"id": 1}))
    page = demo_server.client.get("/schools/demo-primary/settings")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "<h1>Something went wrong on our side</h1>" in page.text
    assert "ValidationError" not in page.text and "Traceback" not in page.text


def test_a_tampered_settings_form_is_a_named_problem_not_a_crash(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/schools/demo-primary/settings").text)
    page = demo_server.client.post(
        "/schools/demo-primary/settings/term-dates", data={"csrf_token": token, "year": "abc"}
    )
    assert page.status_code == 422
    assert "choose the year: 2026/27 or 2027/28" in page.text


def test_the_cli_before_db_upgrade_says_to_run_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(main, ["admin", "create-key"])
    assert result.exit_code == 1
    assert "Run `sencocal db upgrade`" in result.output
    assert "Traceback" not in result.output
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    made = CliRunner().invoke(main, ["admin", "create-key"])
    assert made.exit_code == 0 and len(made.output.splitlines()[0]) >= 32


def test_the_cli_with_the_database_down_says_so_in_one_line(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", DOWN)
    result = CliRunner().invoke(main, ["refresh"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("sencocal: sencocal cannot reach its database")
    assert len(result.output.strip().splitlines()) == 1


def test_the_cli_treats_an_unknown_school_as_input_not_a_lookup_bug():
    result = CliRunner().invoke(main, ["preview", "--school", "nowhere", "--year", "2026"])
    assert result.exit_code == 1
    assert "no school called 'nowhere'" in result.output


def test_serve_on_an_unmigrated_database_says_what_to_run_instead_of_serving_500s(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(main, ["serve", "--port", "8199"])
    assert result.exit_code == 1
    assert "Run `sencocal db upgrade`" in result.output
