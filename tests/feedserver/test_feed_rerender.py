"""A pack's new version re-renders only the feeds its changed entries reach; the rest keep bytes."""

from __future__ import annotations

from sqlalchemy import select

from feedserver import catalog, runtime
from feedserver.clock import today
from feedserver.pipeline import refresh
from feedserver.storage.models import Feed
from tests.feedserver.conftest import Server

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")  # reaches senco and slt only


def feeds(server: Server, school: str = "demo-primary") -> dict[str, tuple[str, object]]:
    with server.services.db.session() as s:
        rows = s.scalars(select(Feed).where(Feed.school_id == school)).all()
        return {f.audience: (f.etag, f.content_changed_at) for f in rows}


def with_every_feed(server: Server) -> None:
    for audience in ("senco", "slt", "governors", "ta", "staff"):
        server.new_feed("demo-primary", audience, "office")


def test_a_publication_renders_only_the_feeds_whose_entries_it_changed(demo_server: Server):
    with_every_feed(demo_server)
    before = feeds(demo_server)
    demo_server.clock.advance(hours=1)
    assert demo_server.publish(MOVED, "la-example.yaml").status_code == 201
    after = feeds(demo_server)
    changed = {a for a in after if after[a] != before[a]}
    assert changed == {"senco", "slt"}


def test_the_feeds_left_alone_are_byte_for_byte_what_a_full_render_gives(demo_server: Server):
    with_every_feed(demo_server)
    demo_server.clock.advance(hours=1)
    demo_server.publish(MOVED, "la-example.yaml")
    kept = feeds(demo_server)
    svc = demo_server.services
    with runtime.using(svc), svc.db.session() as s:
        result = refresh.refresh_school(
            s, "demo-primary", today(svc.clock), svc.clock.now(), memo=svc.memo, force=True
        )
    assert result.feeds_rendered == ()  # every feed rendered again: nothing new to store
    assert feeds(demo_server) == kept


def test_a_change_of_the_schools_own_profile_still_renders_every_feed(demo_server: Server):
    with_every_feed(demo_server)
    before = feeds(demo_server)
    profile = demo_server.client.get(
        "/api/schools/demo-primary", headers=demo_server.headers()
    ).json["profile"]
    profile["name"] = "Example Road Primary School (renamed)"
    demo_server.clock.advance(hours=1)
    answer = demo_server.client.put(
        "/api/schools/demo-primary", json=profile, headers=demo_server.headers()
    )
    assert answer.status_code == 200
    after = feeds(demo_server)
    assert {a for a in after if after[a][0] != before[a][0]} == set(before)  # the name is in each


def test_with_a_roster_the_weekly_counts_feeds_still_match_a_full_render(demo_server: Server):
    from tests.feedserver.test_roster_refresh import import_roster, roster_csv

    with_every_feed(demo_server)
    import_roster(demo_server, demo_server.school_key("demo-primary"), roster_csv(12))
    demo_server.clock.advance(hours=1)
    assert demo_server.publish(MOVED, "la-example.yaml").status_code == 201
    kept = feeds(demo_server)
    svc = demo_server.services
    with runtime.using(svc), svc.db.session() as s:
        result = refresh.refresh_school(
            s, "demo-primary", today(svc.clock), svc.clock.now(), memo=svc.memo, force=True
        )
    assert result.feeds_rendered == ()
    assert feeds(demo_server) == kept
