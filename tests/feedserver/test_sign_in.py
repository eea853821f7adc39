"""Signing in: where a sign-in may send the browser next, and how an API key is read."""

from __future__ import annotations

import pytest

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
    page = demo_server.client.get("/sign-in", query_string={"next": "/\t/evil.example"})
    assert page.status_code == 200 and 'name="next"' not in page.text
    page = demo_server.client.get("/sign-in", query_string={"next": "/a\nb"})
    assert page.status_code == 200 and 'name="next"' not in page.text


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
