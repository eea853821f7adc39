"""Signing in: where a sign-in may send the browser next, and how an API key is read."""

from __future__ import annotations

import hashlib
import json

import pytest

from feedserver.storage.models import Feed, PageSession
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf


def sign_in_next(server: Server, key: str, nxt: str):
    token = csrf(server.client.get("/sign-in").text)
    return server.client.post("/sign-in", data={"csrf_token": token, "key": key, "next": nxt})


@pytest.mark.parametrize(
    "nxt",
    [
        "/\t/evil.example",  # Werkzeug strips the tab: "//evil.example" (finding 1)
        "/\n/evil.example",
        "/\r/evil.example",
        "/ /evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "//evil.example",
        "https://evil.example/schools/demo-primary",
        "http:/schools/demo-primary",
        "javascript:alert(1)",
        "/schools/demo-primary\r\nSet-Cookie: x=1",
        "/\x00/evil.example",
        "/\u2028/evil.example",
    ],
)
def test_a_next_address_with_a_host_scheme_control_character_or_backslash_is_not_followed(
    demo_server: Server, nxt: str
):
    answer = sign_in_next(demo_server, demo_server.admin_key, nxt)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin"


def test_the_sign_in_form_never_carries_an_unsafe_next_address(demo_server: Server):
    page = demo_server.client.get("/sign-in", query_string={"next": "//evil.example"})
    assert page.status_code == 200 and 'name="next"' not in page.text
    page = demo_server.client.get("/sign-in", query_string={"next": "/\\evil.example"})
    assert page.status_code == 200 and 'name="next"' not in page.text
    for control in ("/\t/evil.example", "/a\nb"):  # no address of ours has one: a 400 page
        page = demo_server.client.get("/sign-in", query_string={"next": control})
        assert page.status_code == 400 and "not allowed" in page.text


def test_a_safe_next_address_is_followed(demo_server: Server):
    answer = sign_in_next(demo_server, demo_server.admin_key, "/schools/demo-primary/settings?x=1")
    assert answer.headers["Location"] == "/schools/demo-primary/settings?x=1"


def test_a_school_key_is_sent_next_only_to_its_own_schools_pages(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    own = sign_in_next(demo_server, key, "/schools/demo-primary/feeds")
    assert own.headers["Location"] == "/schools/demo-primary/feeds"
    for elsewhere in (
        "/schools/demo-secondary?from=/schools/demo-primary",
        "/schools/demo-primary-other",
        "/admin?x=/schools/demo-primary",
    ):
        demo_server.client.delete_cookie("sencocal_session")
        answer = sign_in_next(demo_server, key, elsewhere)
        assert answer.headers["Location"] == "/schools/demo-primary", elsewhere


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_the_authorization_scheme_is_case_insensitive(demo_server: Server, scheme: str):
    answer = demo_server.client.get(
        "/api/schools", headers={"Authorization": f"{scheme} {demo_server.admin_key}"}
    )
    assert answer.status_code == 200


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"])
def test_other_authorization_headers_are_refused(demo_server: Server, header: str):
    answer = demo_server.client.get("/api/schools", headers={"Authorization": header})
    assert answer.status_code == 401


# ---------------------------------------------------------------------------- sessions end


def copied_cookie(server: Server) -> str:
    cookie = server.client.get_cookie("sencocal_session")
    assert cookie is not None
    return cookie.value


def replay(server: Server, cookie: str) -> None:
    server.client.set_cookie("sencocal_session", cookie)


def test_a_cookie_copied_before_signing_out_no_longer_works(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": key})
    feeds = demo_server.client.get("/schools/demo-primary/feeds")
    assert feeds.status_code == 200
    cookie, form = copied_cookie(demo_server), csrf(feeds.text)
    out = demo_server.client.post("/sign-out", data={"csrf_token": form})
    assert out.status_code == 302
    replay(demo_server, cookie)
    answer = demo_server.client.get("/schools/demo-primary/feeds")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in")
    made = demo_server.client.post(
        "/schools/demo-primary/feeds",
        data={"csrf_token": form, "audience": "slt", "name": "stolen"},
    )
    assert made.status_code == 302 and made.headers["Location"].startswith("/sign-in")
    with demo_server.services.db.session() as s:
        assert s.query(Feed).filter_by(school_id="demo-primary", audience="slt").count() == 0


def test_signing_out_ends_only_that_session(demo_server: Server):
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    first = copied_cookie(demo_server)
    demo_server.client.delete_cookie("sencocal_session")
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    page = demo_server.client.get("/admin")
    demo_server.client.post("/sign-out", data={"csrf_token": csrf(page.text)})
    replay(demo_server, first)
    assert demo_server.client.get("/admin").status_code == 200


def test_a_session_lasts_eight_hours_even_with_a_cookie_that_claims_longer(demo_server: Server):
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    demo_server.clock.advance(hours=7, minutes=59)
    assert demo_server.client.get("/admin").status_code == 200
    demo_server.clock.advance(minutes=2)
    assert demo_server.client.get("/admin").status_code == 302


def test_no_session_secret_is_stored_in_clear(demo_server: Server):
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    app = demo_server.app
    data = app.session_interface.get_signing_serializer(app).loads(copied_cookie(demo_server))
    with demo_server.services.db.session() as s:
        row = s.query(PageSession).one()
        assert row.secret_hash == hashlib.sha256(data["sid"].encode()).hexdigest()
        assert data["sid"] not in json.dumps([row.secret_hash, row.end_reason])


def test_old_sessions_and_links_are_forgotten_after_thirty_days(demo_server: Server):
    from feedserver.storage.models import SignInLink
    from tests.feedserver.test_access_admin import add_person

    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    add_person(demo_server)
    demo_server.clock.advance(days=34)  # the link expired 3 days in, 31 days ago
    demo_server.client.delete_cookie("sencocal_session")
    token = csrf(demo_server.client.get("/sign-in").text)
    demo_server.client.post("/sign-in", data={"csrf_token": token, "key": demo_server.admin_key})
    add_person(demo_server, name="Alex")
    with demo_server.services.db.session() as s:
        assert s.query(PageSession).count() == 1
        assert [link.user.name for link in s.query(SignInLink)] == ["Alex"]
