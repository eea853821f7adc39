"""A school's "What changed" page and its JSON twin: what the LA moved, in words, seen once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from feedserver import catalog, runtime
from feedserver.pipeline import jobs
from feedserver.storage import apikeys, las, packstore, sessions, whats_new
from feedserver.storage.models import EventChange, User
from feedserver.storage.principals import of_user
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import add_school_admin, use_link

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")  # the spring top-up round moves
NOTE = "The spring panel meets a week later this year, so the round closes a week later."
LA_NAME = "Example Borough Council"  # as the local_authorities table has it
DEADLINE = "Top-up funding (element 3) applications close, spring round"


def publish(server: Server, text: str, note: str = NOTE) -> int:
    """Publish a new version as the LA would, then run its fan-out in-process."""
    svc = server.services
    with svc.db.session() as s:
        version, new = packstore.publish(
            s, text, "la-example.yaml", "la:999:test", svc.clock.now(), note=note
        )
        assert new
        version_id, revision = version.id, version.revision
    with runtime.using(svc):
        jobs.fan_out_pack(version_id, reason="pack")
    return revision


@pytest.fixture
def la_server(demo_server: Server) -> Server:
    """The demo schools with their LA on record (its officers publish la-example)."""
    svc = demo_server.services
    with svc.db.session() as s:
        las.create(s, "999", LA_NAME, "admin:test", svc.clock.now())
    return demo_server


def signed_in_admin(server: Server, school: str = "demo-primary", name: str = "Sam Senco") -> None:
    answer = use_link(server, add_school_admin(server, school, name))
    assert answer.status_code == 302


def text_of(html: str) -> str:
    inline = re.sub(r"</?(?:strong|em|a)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline))


def nav_item(html: str) -> str:
    match = re.search(r'<a href="/schools/[^"]+/changes"[^>]*>([^<]*)</a></li>', html)
    assert match, "no What changed link in the navigation"
    return match.group(1)


def test_the_page_shows_a_moved_deadline_with_old_and_new_dates_the_las_name_and_its_note(
    la_server: Server,
):
    signed_in_admin(la_server)
    la_server.clock.advance(hours=1)
    publish(la_server, MOVED)
    page = la_server.client.get("/schools/demo-primary/changes")
    assert page.status_code == 200
    words = text_of(page.text)
    assert f"{DEADLINE}: Moved from Friday 5 February 2027 to Friday 12 February 2027." in words
    assert f"{LA_NAME}, Monday 23 November 2026" in words
    assert f"Their note: “{NOTE}”" in words
    assert "la-example" not in page.text and "(fictional)" not in words  # never a slug
    new_part = words.split("New since you last looked", 1)[1]
    assert "Moved from Friday 5 February 2027" in new_part


def test_the_unread_count_in_the_navigation_drops_to_zero_after_a_visit(la_server: Server):
    signed_in_admin(la_server)
    home = la_server.client.get("/schools/demo-primary")
    assert nav_item(home.text) == "What changed"  # the first evaluation is not news
    la_server.clock.advance(hours=1)
    publish(la_server, MOVED)
    with la_server.services.db.session() as s:
        recorded = s.scalar(
            select(EventChange.id).where(EventChange.school_id == "demo-primary").limit(1)
        )
        count = len(
            s.scalars(select(EventChange).where(EventChange.school_id == "demo-primary")).all()
        )
    assert recorded is not None and count >= 2
    home = la_server.client.get("/schools/demo-primary")
    assert nav_item(home.text) == f"What changed ({count} new)"
    assert f"national dates changed ({count} new)" in text_of(home.text)  # the coming weeks link
    la_server.client.get("/schools/demo-primary/changes")
    home = la_server.client.get("/schools/demo-primary")
    assert nav_item(home.text) == "What changed"
    with la_server.services.db.session() as s:
        user = s.scalars(select(User).where(User.school_id == "demo-primary")).one()
        assert whats_new.unread(s, "demo-primary", of_user(user)) == 0


def test_changes_seen_before_are_listed_below_the_new_ones_and_marked_seen(la_server: Server):
    signed_in_admin(la_server)
    la_server.clock.advance(hours=1)
    publish(la_server, MOVED)
    la_server.client.get("/schools/demo-primary/changes")
    la_server.clock.advance(hours=1)
    publish(la_server, MOVED.replace("2026: 2027-02-12", "2026: 2027-02-19"), note="Later again.")
    words = text_of(la_server.client.get("/schools/demo-primary/changes").text)
    new, seen = words.split("New since you last looked", 1)[1].split(
        "Changes you have already seen", 1
    )
    assert "Moved from Friday 12 February 2027 to Friday 19 February 2027." in new
    assert "Their note: “Later again.”" in new and NOTE not in new
    assert f"{LA_NAME}, Monday 23 November 2026 (seen)" in seen
    assert "Moved from Friday 5 February 2027 to Friday 12 February 2027." in seen
    assert "19 February" not in seen


def test_the_json_endpoint_gives_the_same_changes_and_marks_them_seen_for_its_key(
    la_server: Server,
):
    key = la_server.school_key("demo-primary")
    la_server.clock.advance(hours=1)
    publish(la_server, MOVED)
    first = la_server.client.get(
        "/api/schools/demo-primary/changes", headers=la_server.headers(key)
    )
    assert first.status_code == 200
    body = first.json
    assert body["tracked"] is True and body["seen"] == [] and body["new_count"] >= 2
    [pub] = body["new"]
    assert (pub["from"], pub["note"], pub["day"], pub["seen"]) == (
        LA_NAME, NOTE, "Monday 23 November 2026", False,
    )  # fmt: skip
    moved = [c for c in pub["changes"] if c["title"] == DEADLINE and c["kind"] == "moved"]
    assert moved == [
        {
            "kind": "moved",
            "title": DEADLINE,
            "old_date": "2027-02-05",
            "new_date": "2027-02-12",
            "summary": "Moved from Friday 5 February 2027 to Friday 12 February 2027.",
        }
    ]
    again = la_server.client.get(
        "/api/schools/demo-primary/changes", headers=la_server.headers(key)
    )
    assert again.json["new"] == [] and again.json["new_count"] == 0
    assert [p["seen"] for p in again.json["seen"]] == [True]
    # the key's visit marks nothing for the school's people
    signed_in_admin(la_server)
    assert nav_item(la_server.client.get("/schools/demo-primary").text).endswith(" new)")


def test_national_packs_changes_are_said_to_come_from_the_national_dates(la_server: Server):
    signed_in_admin(la_server)
    svc = la_server.services
    slug = catalog.builtin_packs()[0].pack
    with svc.db.session() as s:
        s.add(EventChange(school_id="demo-primary", at=svc.clock.now() + dt.timedelta(hours=1),
                          uid="u1", kind="added", pack=slug, revision=None,
                          title="A new national date", old_start=None,
                          new_start=dt.date(2027, 5, 10)))  # fmt: skip
    words = text_of(la_server.client.get("/schools/demo-primary/changes").text)
    assert "National dates, Monday 23 November 2026" in words
    assert "A new national date: New entry on Monday 10 May 2027." in words
    assert slug not in words


# ------------------------------------------------------------------------------ who may look


def test_another_schools_admin_gets_404_as_on_the_other_school_pages(la_server: Server):
    signed_in_admin(la_server, "demo-secondary", "Other school")
    for path in ("/schools/demo-primary/changes", "/schools/demo-primary"):
        assert la_server.client.get(path).status_code == 404
    assert la_server.client.get("/schools/no-such-school/changes").status_code == 404


def test_without_signing_in_the_page_sends_you_to_sign_in_like_the_other_school_pages(
    la_server: Server,
):
    for path in ("/schools/demo-primary/changes", "/schools/demo-primary"):
        answer = la_server.client.get(path)
        assert answer.status_code == 302
        assert answer.headers["Location"] == f"/sign-in?next={path}"


def test_an_la_officer_signed_in_to_the_pages_gets_404_like_the_other_school_pages(
    la_server: Server,
):
    svc = la_server.services
    with svc.db.session() as s:
        key = apikeys.create_key(s, "la", svc.clock.now(), la_code="999", label="officer")
        key_id = apikeys.live_key(s, key).id  # type: ignore[union-attr]
        secret = sessions.start(s, svc.clock.now(), key_id=key_id)
    with la_server.client.session_transaction() as cookie:
        cookie["sid"] = secret
    for path in ("/schools/demo-primary/changes", "/schools/demo-primary"):
        assert la_server.client.get(path).status_code == 404


def test_the_json_endpoint_answers_other_callers_like_the_schools_other_endpoints(
    la_server: Server,
):
    svc = la_server.services
    with svc.db.session() as s:
        la_key = apikeys.create_key(s, "la", svc.clock.now(), la_code="999", label="officer")
    other = la_server.school_key("demo-secondary")
    for headers, status in (
        (la_server.headers(other), 404),
        (la_server.headers(la_key), 404),
        ({}, 401),
    ):
        changes = la_server.client.get("/api/schools/demo-primary/changes", headers=headers)
        school = la_server.client.get("/api/schools/demo-primary", headers=headers)
        assert changes.status_code == school.status_code == status
        assert changes.json == school.json
    admin = la_server.client.get("/api/schools/demo-primary/changes", headers=la_server.headers())
    assert admin.status_code == 200 and admin.json["tracked"] is False
