"""Security headers on every page, API answer and feed (finding 8)."""

from __future__ import annotations

import re

import pytest

from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf, sign_in

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def assert_page_headers(answer) -> None:
    for name, value in PAGE_HEADERS.items():
        assert answer.headers.get(name) == value, (answer.request.path, name)
    policy = answer.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy  # the pages run no script at all


def test_every_page_an_admin_can_open_carries_the_security_headers(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    sign_in(demo_server, demo_server.admin_key)
    routes = [
        rule.rule.replace("<school_id>", "demo-primary")
        for rule in demo_server.app.url_map.iter_rules()
        if rule.endpoint.startswith("pages.") and "GET" in rule.methods
        and not {"token", "audience", "name", "section"} & set(rule.arguments)
    ]  # fmt: skip
    assert len(routes) >= 9
    for route in routes:
        assert_page_headers(demo_server.client.get(route))
    token = path.removeprefix("/feeds/").removesuffix(".ics")
    assert_page_headers(demo_server.client.get(f"/subscribe/{token}"))  # shows a secret
    assert_page_headers(demo_server.client.get("/sign-in/not-a-link"))
    assert_page_headers(demo_server.client.get("/no-such-page"))  # error pages too


def test_pages_that_show_a_secret_once_are_never_stored(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/admin/people").text)
    link = demo_server.client.post(
        "/admin/people", data={"csrf_token": token, "school_id": "demo-primary", "name": "Sam"}
    )
    made = demo_server.client.post(
        "/schools/demo-primary/feeds", data={"csrf_token": token, "audience": "slt", "name": "x"}
    )
    key = demo_server.client.post(
        "/admin/keys", data={"csrf_token": token, "school_id": "demo-primary", "label": "k"}
    )
    for answer, shown in ((link, "Sign-in link"), (made, "Subscribe page"), (key, "API key")):
        assert answer.status_code == 200 and shown in answer.text
        assert answer.headers["Cache-Control"] == "no-store"


def test_feeds_are_private_to_the_calendar_app(demo_server: Server):
    answer = demo_server.client.get(demo_server.new_feed("demo-primary", "slt"))
    assert answer.headers["Cache-Control"] == "private, max-age=300"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/api/schools", "/api/openapi.json", "/api/nothing", "/healthz"])
def test_api_answers_are_never_stored_or_sniffed(demo_server: Server, path: str):
    answer = demo_server.client.get(path, headers=demo_server.headers())
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_a_new_feed_link_answer_from_the_api_is_never_stored(demo_server: Server):
    answer = demo_server.client.post(
        "/api/schools/demo-primary/feeds", json={"audience": "staff"}, headers=demo_server.headers()
    )
    assert answer.status_code == 201 and re.search(r"/feeds/\S+\.ics", answer.json["url"])
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_stylesheet_is_not_sniffed(demo_server: Server):
    answer = demo_server.client.get("/static/style.css")
    try:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.mimetype == "text/css"
    finally:
        answer.close()


def test_forms_may_lead_only_here_and_to_the_consent_pages_of_the_calendar_services(
    demo_server: Server,
):
    policy = demo_server.client.get("/sign-in").headers["Content-Security-Policy"]
    assert (
        "form-action 'self' https://accounts.google.com https://login.microsoftonline.com;"
        in policy
    )
