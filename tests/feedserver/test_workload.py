"""The SENCO workload through the API and the page: the same weeks, hours and suggestions."""

from __future__ import annotations

import re

from feedserver import catalog
from rules.roster_csv import TEMPLATE
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf, sign_in

LA = catalog.demo_file("la-example").decode("utf-8")


def school(server: Server) -> str:
    server.publish(LA, "la-example.yaml")
    assert server.add_demo_school("demo-primary").status_code == 201
    return server.school_key("demo-primary")


def test_the_workload_marks_weeks_over_the_senco_hours(server: Server):
    key = school(server)
    load = server.client.get("/api/schools/demo-primary/workload", headers=server.headers(key)).json
    assert load["year"] == 2026 and load["cap_hours"] == 15
    weeks = {w["monday"]: w for w in load["weeks"]}
    assert len(weeks) >= 52 and all(m == w["monday"] for m, w in weeks.items())
    for week in load["weeks"]:
        assert week["hours"] == round(sum(e["hours"] for e in week["entries"]), 2)
        assert week["over"] == (week["hours"] > 15)
    assert load["over_weeks"] == [w["monday"] for w in load["weeks"] if w["over"]]
    assert "2026-09-14" in load["over_weeks"]
    for s in load["suggestions"]:
        assert weeks[_monday(s["from_date"])]["over"]
        assert weeks[_monday(s["to_date"])]["hours"] + s["hours"] <= 15
        assert s["from_date"] >= "2026-11-23" and s["to_date"] >= "2026-11-23"  # none in the past
        assert s["reason"] and ":" in s["ref"]


def _monday(day: str) -> str:
    import datetime as dt

    d = dt.date.fromisoformat(day)
    return (d - dt.timedelta(days=d.weekday())).isoformat()


def test_accepting_a_suggestion_sets_the_schools_own_date_and_updates_the_calendar(
    server: Server,
):
    key = school(server)
    load = server.client.get("/api/schools/demo-primary/workload", headers=server.headers(key)).json
    first = load["suggestions"][0]
    before = next(w for w in load["weeks"] if w["monday"] == _monday(first["from_date"]))
    answer = server.client.post("/api/schools/demo-primary/workload/accept",
                                json={k: first[k] for k in ("ref", "year", "to_date")},
                                headers=server.headers(key))  # fmt: skip
    assert answer.status_code == 200, answer.json
    profile = server.client.get("/api/schools/demo-primary", headers=server.headers(key)).json
    assert profile["profile"]["date_overrides"][first["ref"]] == {"2026": first["to_date"]}
    after = server.client.get(
        "/api/schools/demo-primary/workload", headers=server.headers(key)
    ).json
    week = next(w for w in after["weeks"] if w["monday"] == before["monday"])
    assert week["hours"] == round(before["hours"] - first["hours"], 2)
    moved = next(w for w in after["weeks"] if w["monday"] == _monday(first["to_date"]))
    assert first["title"] in [e["title"] for e in moved["entries"]]
    again = server.client.post("/api/schools/demo-primary/workload/accept",
                               json={k: first[k] for k in ("ref", "year", "to_date")},
                               headers=server.headers(key))  # fmt: skip
    assert again.status_code == 409 and "no longer applies" in again.json["error"]


def test_an_unknown_suggestion_or_year_is_refused(server: Server):
    key = school(server)
    bad = server.client.post("/api/schools/demo-primary/workload/accept",
                             json={"ref": "england-statutory:census", "year": 2026,
                                   "to_date": "2026-10-01"}, headers=server.headers(key))  # fmt: skip
    assert bad.status_code == 409
    year = server.client.get("/api/schools/demo-primary/workload?year=1999",
                             headers=server.headers(key))  # fmt: skip
    assert year.status_code == 422 and year.json["problems"][0]["field"] == "year"


def test_pupil_entries_are_named_only_for_the_schools_own_admins(server: Server):
    key = school(server)
    server.client.post("/api/schools/demo-primary/roster.csv", data=TEMPLATE,
                       headers={**server.headers(key), "Content-Type": "text/csv"})  # fmt: skip
    own = server.client.get("/api/schools/demo-primary/workload?year=2026",
                            headers=server.headers(key)).get_data(as_text=True)  # fmt: skip
    admin = server.client.get("/api/schools/demo-primary/workload?year=2026",
                              headers=server.headers()).get_data(as_text=True)  # fmt: skip
    assert "P-0412" in own
    assert "P-04" not in admin and "P-06" not in admin and "A pupil's EHCP review step" in admin
    sign_in(server, server.admin_key)
    page = server.client.get("/schools/demo-primary/workload").get_data(as_text=True)
    assert "P-04" not in page and "A pupil&#39;s EHCP review step" in page


def test_the_page_shows_the_same_hours_as_the_api(server: Server):
    key = school(server)
    load = server.client.get("/api/schools/demo-primary/workload", headers=server.headers(key)).json
    sign_in(server, key)
    page = server.client.get("/schools/demo-primary/workload").get_data(as_text=True)
    cells = re.findall(r'<span class="hm-hours">([\d.]+) hours</span>', page)
    assert [float(c) for c in cells] == [round(w["hours"], 1) for w in load["weeks"]]
    assert page.count("</span>Over</span>") == len(load["over_weeks"])
    token = csrf(page)
    s = load["suggestions"][0]
    answer = server.client.post("/schools/demo-primary/workload/accept", data={
        "csrf_token": token, "ref": s["ref"], "year": s["year"], "to_date": s["to_date"]})  # fmt: skip
    assert answer.status_code == 302
    stale = server.client.post("/schools/demo-primary/workload/accept", data={
        "csrf_token": token, "ref": s["ref"], "year": s["year"], "to_date": s["to_date"]})  # fmt: skip
    assert stale.status_code == 409 and "no longer applies" in stale.get_data(as_text=True)


def test_the_instance_admin_sees_no_pupil_on_the_coming_weeks_or_in_stored_events(server: Server):
    key = school(server)
    server.client.post("/api/schools/demo-primary/roster.csv", data=TEMPLATE,
                       headers={**server.headers(key), "Content-Type": "text/csv"})  # fmt: skip
    path = "/api/schools/demo-primary/events?audience=senco"
    own = server.client.get(path, headers=server.headers(key)).get_data(as_text=True)
    admin = server.client.get(path, headers=server.headers()).get_data(as_text=True)
    assert "P-0412" in own and "P-04" not in admin and "P-06" not in admin
    sign_in(server, server.admin_key)
    page = server.client.get("/schools/demo-primary?weeks=26").get_data(as_text=True)
    assert "P-04" not in page and "shown only to the school's own admins" in page
    sign_in(server, key)
    page = server.client.get("/schools/demo-primary?weeks=26").get_data(as_text=True)
    assert "P-04" in page and "shown only to the school" not in page


def test_a_settings_check_names_pupils_only_for_the_schools_own_admins(server: Server):
    from feedserver import catalog as cat

    key = school(server)
    server.client.post("/api/schools/demo-primary/roster.csv", data=TEMPLATE,
                       headers={**server.headers(key), "Content-Type": "text/csv"})  # fmt: skip
    packs = [p.pack for p in cat.builtin_packs() if p.pack != "england-statutory"]
    pages = {}
    for who in (server.admin_key, key):
        sign_in(server, who)
        token = csrf(server.client.get("/schools/demo-primary/settings").text)
        answer = server.client.post("/schools/demo-primary/settings/packs",
                                    data={"csrf_token": token, "pack_on": packs})  # fmt: skip
        assert answer.status_code == 200
        pages[who] = answer.get_data(as_text=True)
    assert "P-0412" in pages[key]
    assert "P-04" not in pages[server.admin_key]
    assert "A pupil&#39;s EHCP review step" in pages[server.admin_key]
