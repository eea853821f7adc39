"""Input that used to crash the service (500) or be stored without bound: each is now a clear 4xx.

Every answer names the field or the limit, and nothing is saved.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.feedserver.conftest import Server
from tests.feedserver.test_api import snapshot
from tests.feedserver.test_pages import csrf, sign_in

JSON = {"Content-Type": "application/json"}


def patch(server: Server, body, raw: bool = False):
    if raw:
        return server.client.patch(
            "/api/schools/demo-primary", data=body, headers={**server.headers(), **JSON}
        )
    return server.client.patch("/api/schools/demo-primary", json=body, headers=server.headers())


def problem_fields(answer) -> list[str]:
    return [p["field"] for p in answer.json.get("problems", [])]


# ---------------------------------------------------------------------------- 500s that were


def test_a_year_0_in_date_overrides_is_refused_naming_the_field(demo_server: Server):
    before = snapshot(demo_server)
    answer = patch(demo_server, {"date_overrides": {"england-statutory:x": {"0": "2026-10-01"}}})
    assert answer.status_code == 422, answer.json
    assert problem_fields(answer) == ["date_overrides.england-statutory:x.0"]
    assert "2000 to 2100" in answer.json["problems"][0]["message"]
    assert snapshot(demo_server) == before


@pytest.mark.parametrize("field", ["term_dates", "publishes"])
def test_years_far_outside_the_service_are_refused(demo_server: Server, field: str):
    body = (
        {"term_dates": {"0": []}}
        if field == "term_dates"
        else {"publishes": {"england-statutory:x": {"99999": "2026-10-01"}}}
    )
    answer = patch(demo_server, body)
    assert answer.status_code == 422, answer.json
    assert any(f.startswith(field) for f in problem_fields(answer)), answer.json


def test_a_list_where_an_audience_belongs_is_refused_naming_the_field(demo_server: Server):
    event = {"id": "x", "title": "Visit", "start": "2026-10-01", "audience": [["slt"]]}
    answer = patch(demo_server, {"local_events": [event]})  # found by the property test: a 500
    assert answer.status_code == 422
    assert problem_fields(answer) == ["local_events[0].audience[0]"]


def test_a_five_thousand_digit_number_is_a_400(demo_server: Server):
    answer = patch(demo_server, '{"senco_hours_per_week": ' + "9" * 5000 + "}", raw=True)
    assert answer.status_code == 400 and "number" in answer.json["error"]


def test_json_nested_a_hundred_thousand_deep_is_a_400(demo_server: Server):
    answer = patch(demo_server, "[" * 100_000 + "]" * 100_000, raw=True)
    assert answer.status_code == 400 and "nested too deeply" in answer.json["error"]


def test_a_csv_field_over_the_csv_limit_is_refused_with_its_line(demo_server: Server):
    body = "academic_year,label,start,end\n2026,inset,2026-09-01,2026-09-01\n" + "x" * 140_000
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data=body,
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422, answer.json
    assert answer.json["problems"][0]["line"] == 3
    assert "too long" in answer.json["problems"][0]["message"]


def test_a_csv_with_a_nul_byte_is_refused(demo_server: Server):
    body = "academic_year,label,start,end\n2026,inset,2026-09-01\x00,2026-09-01\n"
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data=body,
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422 and answer.json["problems"][0]["line"] == 2


def test_yaml_nested_fifty_thousand_deep_is_refused_by_the_api_and_the_command_line(
    demo_server: Server, tmp_path
):
    from click.testing import CliRunner

    from feedserver.cli import main

    deep = "a: " + "[" * 50_000 + "]" * 50_000 + "\n"
    answer = demo_server.publish(deep)
    assert answer.status_code == 422 and "nested" in answer.json["problems"][0]["message"]
    target = tmp_path / "deep.yaml"
    target.write_text(deep)
    result = CliRunner().invoke(main, ["pack", "check", str(target)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{target}:1: " in result.output and "nested" in result.output


def test_an_address_with_a_nul_or_control_character_is_a_400(demo_server: Server):
    for path in ("/api/schools/demo%00primary", "/api/audit?school=%00", "/schools/x%00y"):
        answer = demo_server.client.get(path, headers=demo_server.headers())
        assert answer.status_code == 400, (path, answer.status_code)


def test_a_nul_in_a_name_on_the_admin_pages_is_refused(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/admin/people").text)
    answer = demo_server.client.post(
        "/admin/people", data={"csrf_token": token, "school_id": "demo-primary", "name": "A\x00B"}
    )
    assert answer.status_code == 422 and "name" in answer.text
    key = demo_server.client.post(
        "/api/schools/demo-primary/keys", json={"label": "a\x00b"}, headers=demo_server.headers()
    )
    assert key.status_code == 422 and "label" in key.json["error"]


def test_a_chunked_body_over_the_limit_is_a_413_not_bad_json(tmp_path):
    """Real gunicorn (it terminates chunked bodies): 2 MB + 1 of JSON, sent in chunks."""
    import http.client

    from feedserver.storage import apikeys
    from feedserver.storage.db import Database
    from tests.feedserver.served import gunicorn

    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = Database(url)
    db.upgrade()
    with db.session() as session:
        key = apikeys.create_key(session, "admin", dt.datetime.now(dt.UTC))
    db.dispose()
    with gunicorn(url, tmp_path, workers=1) as served:
        conn = http.client.HTTPConnection("127.0.0.1", int(served.base_url.rsplit(":", 1)[1]))

        def chunks():
            yield b'{"name": "'
            for _ in range(2100):
                yield b"x" * 1000
            yield b'"}'

        conn.request("POST", "/api/schools", body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})  # fmt: skip
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        assert answer.status == 413, body


# ---------------------------------------------------------------------------- limits


def test_one_school_cannot_store_thousands_of_one_off_events(demo_server: Server):
    events = [
        {
            "id": f"e{i}",
            "title": "Visit",
            "start": (dt.date(2026, 9, 1) + dt.timedelta(i % 300)).isoformat(),
        }
        for i in range(19_500)
    ]
    before = snapshot(demo_server)
    answer = patch(demo_server, {"local_events": events})
    assert answer.status_code in (413, 422), answer.status_code
    if answer.status_code == 422:
        assert "at most 500 one-off events" in answer.json["problems"][0]["message"]
    small = patch(demo_server, {"local_events": events[:501]})
    assert small.status_code == 422
    assert small.json["problems"] == [
        {
            "field": "local_events",
            "message": "at most 500 one-off events (this has 501); remove some.",
            "value": "501",
        }
    ]
    assert snapshot(demo_server) == before


def test_the_csv_import_refuses_every_weekday_from_1990_to_2200_as_inset_days(demo_server: Server):
    rows = ["academic_year,label,start,end"] + [
        f"{y},inset,{y}-09-01,{y + 1}-08-31" for y in range(1990, 2200)
    ]
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data="\n".join(rows),
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    messages = " ".join(p["message"] for p in answer.json["problems"])
    assert "2000 to 2100" in messages and "at most 10 INSET days" in messages


def test_too_many_inset_days_in_a_year_are_refused_naming_the_limit(demo_server: Server):
    days = [
        d for d in (dt.date(2026, 9, 1) + dt.timedelta(i) for i in range(30)) if d.weekday() < 5
    ]
    answer = patch(demo_server, {"inset_days": [d.isoformat() for d in days]})
    assert answer.status_code == 422
    assert answer.json["problems"][0]["field"] == "inset_days"
    assert "at most 10 INSET days in 2026/27" in answer.json["problems"][0]["message"]


def test_a_settings_page_change_over_a_limit_is_refused_on_the_page(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/schools/demo-primary/settings").text)
    days = "\n".join(
        d.isoformat()
        for d in (dt.date(2026, 9, 1) + dt.timedelta(i) for i in range(30))
        if d.weekday() < 5
    )
    answer = demo_server.client.post(
        "/schools/demo-primary/settings/inset", data={"csrf_token": token, "inset_days": days}
    )
    assert answer.status_code == 422 and "at most 10 INSET days in 2026/27" in answer.text


def test_an_upload_over_the_limit_is_a_413_page(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/schools/demo-primary/settings").text)
    body = (
        (
            f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="csv"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * 2_100_000
        + b"\r\n--b--\r\n"
    )
    answer = demo_server.client.post(  # a bytes body: the test client keeps no temporary file
        "/schools/demo-primary/term-dates-csv",
        data=body,
        content_type="multipart/form-data; boundary=b",
    )
    assert answer.status_code == 413 and "That file is too large" in answer.text


@pytest.mark.parametrize("name", ["Oak\nHill Primary", "Oak\rHill", "Oak\x00Hill", "Oak\u2028Hill"])
def test_a_school_name_with_a_line_break_or_nul_never_breaks_its_feeds(any_server: Server, name):
    server = any_server
    server.add_demo_school("demo-primary")
    feed = server.new_feed("demo-primary", "senco")
    answer = patch(server, {"name": name})
    assert answer.status_code in (200, 422), answer.json
    if answer.status_code == 422:
        assert problem_fields(answer) == ["name"]
    served = server.client.get(feed)
    assert served.status_code == 200 and served.data.startswith(b"BEGIN:VCALENDAR")
