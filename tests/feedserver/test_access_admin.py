"""Access the admin can grant, see and take back: keys, people, sign-in links, feed links.

Each action is done on the admin's pages, through the API and (for keys) the command line, and
each must end up in the audit log in words.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from feedserver.storage.models import ApiKey, AuditEntry, FeedToken, User
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf, sign_in


def admin_post(server: Server, page: str, path: str, **fields: str):
    """Post a form from the admin page ``page`` as the signed-in admin."""
    token = csrf(server.client.get(page).text)
    return server.client.post(path, data={"csrf_token": token, **fields})


def browser(server: Server, key: str):
    """Another browser, signed in with ``key``."""
    other = server.app.test_client()
    token = csrf(other.get("/sign-in").text)
    answer = other.post("/sign-in", data={"csrf_token": token, "key": key})
    assert answer.status_code == 302
    return other


def audit_actions(server: Server) -> list[tuple[str, dict]]:
    with server.services.db.session() as s:
        return [
            (e.action, e.details) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def key_number(server: Server, label: str) -> int:
    with server.services.db.session() as s:
        return s.scalars(select(ApiKey).where(ApiKey.label == label)).one().id


# ---------------------------------------------------------------------------- keys


def test_revoking_a_key_on_the_keys_page_stops_the_api_and_ends_its_sessions(
    demo_server: Server,
):
    key = demo_server.school_key("demo-primary")
    other = browser(demo_server, key)
    assert other.get("/schools/demo-primary").status_code == 200
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin/keys").text
    assert (
        "Example Road Primary School (demo)" in page
        and "signed in to the pages now (1 session)" in page
    )
    number = key_number(demo_server, "test")
    answer = admin_post(demo_server, "/admin/keys", f"/admin/keys/{number}/revoke")
    assert answer.status_code == 302
    page = demo_server.client.get("/admin/keys").text
    assert f"Key {number} “test” is revoked" in page and "Revoked on 23 Nov 2026" in page
    assert (
        demo_server.client.get(
            "/api/schools/demo-primary", headers=demo_server.headers(key)
        ).status_code
        == 401
    )
    assert other.get("/schools/demo-primary").status_code == 302
    assert (
        "key.revoke.school",
        {"key": number, "label": "test", "sessions_ended": 1},
    ) in audit_actions(demo_server)


def test_a_school_key_made_on_the_keys_page_is_shown_once_and_reaches_only_its_school(
    demo_server: Server,
):
    sign_in(demo_server, demo_server.admin_key)
    made = admin_post(
        demo_server, "/admin/keys", "/admin/keys", school_id="demo-secondary", label="MIS export"
    )
    assert made.status_code == 200
    key = re.search(
        r'id="made-key" class="copy" type="text" readonly value="([^"]+)"', made.text
    ).group(1)
    assert (
        demo_server.client.get(
            "/api/schools/demo-secondary", headers=demo_server.headers(key)
        ).status_code
        == 200
    )
    assert (
        demo_server.client.get(
            "/api/schools/demo-primary", headers=demo_server.headers(key)
        ).status_code
        == 404
    )
    assert key not in demo_server.client.get("/admin/keys").text
    refused = admin_post(demo_server, "/admin/keys", "/admin/keys", school_id="nowhere", label="x")
    assert refused.status_code == 422 and "Choose a school." in refused.text


def test_a_keys_last_use_is_recorded_at_most_every_ten_minutes(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    number = key_number(demo_server, "test")

    def last_used():
        with demo_server.services.db.session() as s:
            return s.get(ApiKey, number).last_used_at

    assert last_used() is None
    demo_server.client.get("/api/schools/demo-primary", headers=demo_server.headers(key))
    first = last_used()
    assert first == demo_server.clock.now()
    demo_server.clock.advance(minutes=9)
    demo_server.client.get("/api/schools/demo-primary", headers=demo_server.headers(key))
    assert last_used() == first
    demo_server.clock.advance(minutes=2)
    demo_server.client.get("/api/schools/demo-primary", headers=demo_server.headers(key))
    assert last_used() == demo_server.clock.now()


def test_keys_are_listed_and_revoked_through_the_api(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    number = key_number(demo_server, "test")
    listed = demo_server.client.get("/api/keys", headers=demo_server.headers()).json["keys"]
    assert {(k["id"], k["role"], k["school_id"], k["revoked_at"]) for k in listed} >= {
        (number, "school", "demo-primary", None)
    }
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert (
        demo_server.client.delete(
            f"/api/keys/{number}", headers=demo_server.headers(key)
        ).status_code
        == 403
    )
    assert (
        demo_server.client.delete(f"/api/keys/{number}", headers=demo_server.headers()).status_code
        == 204
    )
    assert (
        demo_server.client.delete(f"/api/keys/{number}", headers=demo_server.headers()).status_code
        == 204
    )
    assert (
        demo_server.client.get(
            "/api/schools/demo-primary", headers=demo_server.headers(key)
        ).status_code
        == 401
    )
    assert (
        demo_server.client.delete("/api/keys/9999", headers=demo_server.headers()).status_code
        == 404
    )
    assert (
        demo_server.client.delete("/api/keys/x", headers=demo_server.headers()).status_code == 404
    )
    revokes = [a for a, _ in audit_actions(demo_server) if a == "key.revoke.school"]
    assert revokes == ["key.revoke.school"]  # revoking twice is recorded once


def test_the_command_line_lists_and_revokes_keys(demo_server: Server, monkeypatch):
    from feedserver.cli import main

    key = demo_server.school_key("demo-primary")
    number = key_number(demo_server, "test")
    monkeypatch.setenv("DATABASE_URL", demo_server.services.config.database_url)
    listed = CliRunner().invoke(main, ["admin", "list-keys"])
    assert listed.exit_code == 0 and re.search(
        rf"^\s+{number}\s+school demo-primary\s", listed.output, re.M
    )
    assert key not in listed.output
    done = CliRunner().invoke(main, ["admin", "revoke-key", str(number)])
    assert done.exit_code == 0 and f"key {number} “test” is revoked" in done.output
    assert (
        demo_server.client.get(
            "/api/schools/demo-primary", headers=demo_server.headers(key)
        ).status_code
        == 401
    )
    missing = CliRunner().invoke(main, ["admin", "revoke-key", "9999"])
    assert missing.exit_code == 1 and "there is no API key number 9999" in missing.output
    leaked = demo_server.school_key("demo-secondary")
    by_secret = CliRunner().invoke(
        main, ["admin", "revoke-key", "--secret-from-stdin"], input=leaked + "\n"
    )
    assert by_secret.exit_code == 0, by_secret.output
    assert (
        demo_server.client.get(
            "/api/schools/demo-secondary", headers=demo_server.headers(leaked)
        ).status_code
        == 401
    )


# ---------------------------------------------------------------------------- people and links


def add_person(server: Server, name: str = "Sam Senco", school: str = "demo-primary") -> str:
    answer = admin_post(server, "/admin/people", "/admin/people", school_id=school, name=name)
    assert answer.status_code == 200, answer.text
    return (
        "/" + re.search(r'value="(http[^"]+/sign-in/[^"]+)"', answer.text).group(1).split("/", 3)[3]
    )


def use_link(client, path: str):
    return client.post(path, data={"csrf_token": csrf(client.get(path).text)})


def person_id(server: Server, name: str) -> int:
    with server.services.db.session() as s:
        return s.scalars(select(User).where(User.name == name)).one().id


def test_disabling_someone_ends_their_sessions_and_cancels_their_links(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    first = add_person(demo_server)
    other = demo_server.app.test_client()
    assert use_link(other, first).status_code == 302
    unused = admin_post(
        demo_server, "/admin/people", f"/admin/people/{person_id(demo_server, 'Sam Senco')}/link"
    )
    spare = (
        "/" + re.search(r'value="(http[^"]+/sign-in/[^"]+)"', unused.text).group(1).split("/", 3)[3]
    )
    page = demo_server.client.get("/admin/people").text
    assert "signed in now (1 session)" in page and "Sign-in links not used yet" in page
    number = person_id(demo_server, "Sam Senco")
    done = admin_post(demo_server, "/admin/people", f"/admin/people/{number}/disable")
    assert done.status_code == 302
    page = demo_server.client.get("/admin/people").text
    assert "Sam Senco can no longer sign in" in page and "Disabled on 23 Nov 2026" in page
    assert other.get("/schools/demo-primary").status_code == 302
    assert use_link(demo_server.app.test_client(), spare).status_code == 410
    refused = admin_post(demo_server, "/admin/people", f"/admin/people/{number}/link")
    assert refused.status_code == 422 and "enable them before making a link" in refused.text
    admin_post(demo_server, "/admin/people", f"/admin/people/{number}/enable")
    assert use_link(demo_server.app.test_client(), spare).status_code == 410  # still cancelled
    again = admin_post(demo_server, "/admin/people", f"/admin/people/{number}/link")
    fresh = (
        "/" + re.search(r'value="(http[^"]+/sign-in/[^"]+)"', again.text).group(1).split("/", 3)[3]
    )
    assert use_link(demo_server.app.test_client(), fresh).status_code == 302
    actions = [a for a, _ in audit_actions(demo_server)]
    assert [
        "user.create",
        "user.link",
        "user.sign_in",
        "user.link",
        "user.disable",
        "user.enable",
        "user.link",
        "user.sign_in",
    ] == [a for a in actions if a.startswith("user.")]


def test_a_cancelled_sign_in_link_no_longer_works(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    path = add_person(demo_server)
    page = demo_server.client.get("/admin/people").text
    link_id = re.search(r'action="/admin/links/(\d+)/cancel"', page).group(1)
    done = admin_post(demo_server, "/admin/people", f"/admin/links/{link_id}/cancel")
    assert done.status_code == 302
    assert (
        "The sign-in link for Sam Senco was cancelled"
        in demo_server.client.get("/admin/people").text
    )
    assert use_link(demo_server.app.test_client(), path).status_code == 410
    again = admin_post(demo_server, "/admin/people", f"/admin/links/{link_id}/cancel")
    assert again.status_code == 404


def test_adding_a_person_names_what_is_wrong(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    for fields, words in (
        ({"school_id": "demo-primary", "name": "  "}, "Give the person&#39;s name"),
        ({"school_id": "nowhere", "name": "Sam"}, "Choose a school that exists."),
        (
            {"school_id": "demo-primary", "name": "Sam", "email": "a b@c"},
            "That email address is not valid",
        ),
    ):
        answer = admin_post(demo_server, "/admin/people", "/admin/people", **fields)
        assert answer.status_code == 422 and words in answer.text, answer.text
    with demo_server.services.db.session() as s:
        assert s.scalars(select(User)).all() == []


def test_people_and_links_are_managed_through_the_api(demo_server: Server):
    h = demo_server.headers()
    made = demo_server.client.post(
        "/api/users", json={"name": "Pat Park", "school_id": "demo-secondary"}, headers=h
    )
    assert made.status_code == 201 and "/sign-in/" in made.json["sign_in_link"]
    user_id = made.json["user"]["id"]
    links = demo_server.client.get("/api/sign-in-links", headers=h).json["sign_in_links"]
    assert [(x["user_id"], x["school_id"]) for x in links] == [(user_id, "demo-secondary")]
    assert (
        demo_server.client.delete(f"/api/sign-in-links/{links[0]['id']}", headers=h).status_code
        == 204
    )
    assert (
        demo_server.client.delete(f"/api/sign-in-links/{links[0]['id']}", headers=h).status_code
        == 404
    )
    assert demo_server.client.get("/api/sign-in-links", headers=h).json["sign_in_links"] == []
    path = (
        "/"
        + demo_server.client.post(f"/api/users/{user_id}/sign-in-links", headers=h)
        .json["sign_in_link"]
        .split("/", 3)[3]
    )
    other = demo_server.app.test_client()
    assert use_link(other, path).status_code == 302
    disabled = demo_server.client.post(f"/api/users/{user_id}/disable", headers=h)
    assert disabled.status_code == 200 and disabled.json["user"]["disabled_at"]
    assert other.get("/schools/demo-secondary").status_code == 302
    assert (
        demo_server.client.post(f"/api/users/{user_id}/sign-in-links", headers=h).status_code == 422
    )
    assert (
        demo_server.client.post(f"/api/users/{user_id}/enable", headers=h).json["user"][
            "disabled_at"
        ]
        is None
    )
    assert demo_server.client.post("/api/users/999/disable", headers=h).status_code == 404
    bad = demo_server.client.post(
        "/api/users", json={"name": "X", "school_id": "nowhere"}, headers=h
    )
    assert bad.status_code == 422 and "Choose a school" in bad.json["error"]
    assert [u["name"] for u in demo_server.client.get("/api/users", headers=h).json["users"]] == [
        "Pat Park"
    ]


# ---------------------------------------------------------------------------- feed links


def test_the_feed_links_page_shows_every_working_link_with_its_last_use(demo_server: Server):
    feed = demo_server.new_feed("demo-primary", "senco", token_name="office")
    demo_server.new_feed("demo-secondary", "slt", token_name="slt team")
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin/feeds").text
    assert page.count("<td>never</td>") == 2
    demo_server.clock.advance(minutes=30)
    assert demo_server.client.get(feed).status_code == 200
    page = demo_server.client.get("/admin/feeds").text
    assert "<td>23 Nov 2026, 09:30 UTC</td>" in page and page.count("<td>never</td>") == 1
    token_id = re.search(
        r'action="/admin/feeds/(\d+)/revoke"[^>]*>\s*<input[^>]*>\s*<button[^>]*>Revoke<span class="visually-hidden"> the link “office”',
        page,
    )
    assert token_id, page
    done = admin_post(demo_server, "/admin/feeds", f"/admin/feeds/{token_id.group(1)}/revoke")
    assert done.status_code == 302
    assert (
        "The link “office” of Example Road Primary School (demo)"
        in demo_server.client.get("/admin/feeds").text
    )
    assert demo_server.client.get(feed).status_code == 404


def test_feed_links_are_listed_and_revoked_through_the_api(demo_server: Server):
    feed = demo_server.new_feed("demo-primary", "governors", token_name="board")
    h = demo_server.headers()
    demo_server.client.get(feed)
    links = demo_server.client.get("/api/feed-links", headers=h).json["feed_links"]
    assert [(x["school_id"], x["audience"], x["name"], x["last_used_at"]) for x in links] == [
        ("demo-primary", "governors", "board", "2026-11-23T09:00:00+00:00")
    ]
    assert (
        demo_server.client.delete(f"/api/feed-links/{links[0]['id']}", headers=h).status_code == 204
    )
    assert demo_server.client.get(feed).status_code == 404
    assert (
        demo_server.client.delete(f"/api/feed-links/{links[0]['id']}", headers=h).status_code == 404
    )


def test_a_feeds_last_use_is_written_at_most_every_ten_minutes(demo_server: Server):
    feed = demo_server.new_feed("demo-primary", "senco")

    def last_used():
        with demo_server.services.db.session() as s:
            return s.scalars(select(FeedToken)).one().last_used_at

    demo_server.client.get(feed)
    first = last_used()
    demo_server.clock.advance(minutes=9, seconds=59)
    demo_server.client.get(feed)
    assert last_used() == first
    demo_server.clock.advance(seconds=1)
    demo_server.client.get(feed)
    assert last_used() == demo_server.clock.now()


# ---------------------------------------------------------------------------- schools


def test_the_admin_adds_a_school_on_the_schools_page(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/admin").text)
    fields = {"csrf_token": token, "name": "Oak Hill Primary", "id": "oak-hill", "la_code": "999",
              "type": "academy", "phases": ["primary"]}  # fmt: skip
    added = demo_server.client.post("/admin/schools", data=fields)
    assert added.status_code == 302
    page = demo_server.client.get(added.headers["Location"]).text
    assert "Oak Hill Primary was added" in page
    answer = demo_server.client.get("/api/schools/oak-hill", headers=demo_server.headers()).json
    assert answer["profile"]["type"] == "academy" and answer["status"]["up_to_date"]
    again = demo_server.client.post("/admin/schools", data=fields)
    assert again.status_code == 409 and "exists already" in again.text
    bad = demo_server.client.post(
        "/admin/schools", data={**fields, "id": "Oak Hill", "la_code": "99", "phases": []}
    )
    assert bad.status_code == 422
    for field in ("Id", "LA code", "Phases"):
        assert f"<strong>{field}</strong>" in bad.text
    assert 'value="Oak Hill Primary"' in bad.text  # what was typed is kept


# ---------------------------------------------------------------------------- the audit log


def test_the_audit_log_page_says_who_did_what_in_words(demo_server: Server):
    demo_server.new_feed("demo-primary", "slt", token_name="slt team")
    key = demo_server.school_key("demo-secondary")
    demo_server.client.delete(
        f"/api/keys/{key_number(demo_server, 'test')}", headers=demo_server.headers()
    )
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin/audit").text
    for words in (
        "Revoked the school key",
        "Made the school key",
        "Made the feed link “slt team” (Senior leaders)",
        "Started the calendar for Senior leaders",
        "Published the pack “la-example” (revision 1)",
        "Added the school",
        "Signed in to the pages with key 1 “test admin”",
        "test admin (instance admin)",
    ):
        assert words in page, words
    assert key not in page and demo_server.admin_key not in page
    only = demo_server.client.get("/admin/audit?school=demo-secondary").text
    assert "Made the school key" in only and "slt team" not in only


def test_the_audit_log_pages_back_through_older_entries(demo_server: Server):
    for i in range(60):
        demo_server.new_feed(
            "demo-primary", "staff", token_name=f"team {i}"
        ) if i == 0 else demo_server.client.post(
            "/api/schools/demo-primary/feeds/staff/tokens",
            json={"name": f"team {i}"},
            headers=demo_server.headers(),
        )
    sign_in(demo_server, demo_server.admin_key)
    first = demo_server.client.get("/admin/audit").text
    older = (
        re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first)
        .group(1)
        .replace("&amp;", "&")
    )
    second = demo_server.client.get(older).text
    assert "“team 59”" in first and "“team 59”" not in second
    assert "“team 0”" in second and "“team 0”" not in first


def test_the_audit_log_is_readable_through_the_api(demo_server: Server):
    entries = demo_server.client.get(
        "/api/audit?school=demo-primary", headers=demo_server.headers()
    ).json["entries"]
    assert entries and {e["school_id"] for e in entries} == {"demo-primary"}
    assert entries == sorted(entries, key=lambda e: -e["id"])


# ---------------------------------------------------------------------------- only the admin


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/people", "/admin/keys", "/admin/feeds", "/admin/audit"]
)
def test_a_school_admin_never_sees_the_admins_pages(demo_server: Server, path: str):
    sign_in(demo_server, demo_server.school_key("demo-primary"))
    answer = demo_server.client.get(path)
    assert answer.status_code == 403 and "Only the sencocal admin" in answer.text


def test_every_admin_page_shows_the_same_navigation(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    for path, current in (("/admin", "Schools"), ("/admin/people", "People"), ("/admin/keys", "API keys"),
                          ("/admin/feeds", "Feed links"), ("/admin/audit", "Audit log"),
                          ("/admin/las", "Local authorities")):  # fmt: skip
        page = demo_server.client.get(path).text
        nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
        assert re.findall(r">([^<>]+)</a></li>", nav) == [
            "Schools",
            "People",
            "Local authorities",
            "API keys",
            "Feed links",
            "Audit log",
        ]
        assert f'aria-current="page">{current}</a>' in nav


# ---------------------------------------------------------------------------- deleting a school


def everything_stored(server: Server) -> str:
    """Every row of every table, as text."""
    from sqlalchemy import text

    from feedserver.storage.models import Base

    with server.services.db.engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"'))
        )


def test_deleting_a_school_leaves_nothing_of_it(any_server: Server, monkeypatch):
    from feedserver import catalog
    from feedserver.cli import main

    server = any_server
    server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    for name in ("demo-primary", "demo-secondary"):
        server.add_demo_school(name)
    server.new_feed("demo-primary", "senco", token_name="office")
    key = server.school_key("demo-primary")
    sign_in(server, server.admin_key)
    add_person(server)
    other = browser(server, key)
    assert "demo-primary" in everything_stored(server)
    refused = CliRunner().invoke(main, ["admin", "delete-school", "demo-primary"])
    assert refused.exit_code != 0 and "add --yes" in refused.output
    answer = server.client.delete("/api/schools/demo-primary", headers=server.headers())
    assert answer.status_code == 200, answer.json
    rows = answer.json["rows"]
    assert rows["people"] == 1 and rows["api keys"] == 1 and rows["feed tokens"] == 1
    assert rows["events"] > 100 and rows["sessions"] == 1 and rows["audit entries"] > 3
    stored = everything_stored(server)
    assert "Example Road" not in stored and "Sam Senco" not in stored
    assert stored.count("demo-primary") == 1  # the instance's own record that it was deleted
    assert "Example Park Academy" in stored  # the other school is untouched
    assert other.get("/schools/demo-primary").status_code == 302
    assert (
        server.client.get("/api/schools/demo-primary", headers=server.headers(key)).status_code
        == 401
    )
    assert (
        server.client.delete("/api/schools/demo-primary", headers=server.headers()).status_code
        == 404
    )
    if server.services.config.database_url.startswith("sqlite"):
        # (the command keeps its process's database engine open for good: on SQLite only,
        # so that no PostgreSQL connection outlives the test)
        monkeypatch.setenv("DATABASE_URL", server.services.config.database_url)
        done = CliRunner().invoke(main, ["admin", "delete-school", "demo-secondary", "--yes"])
        assert done.exit_code == 0 and "demo-secondary is deleted" in done.output
