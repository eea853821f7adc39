"""Publishing a pack again: per-rule change dates, rollback, and publications that race."""

from __future__ import annotations

import multiprocessing
from typing import Any

from sqlalchemy import select

from feedserver import catalog
from feedserver.storage import packstore
from feedserver.storage.models import EventRow, PackVersion
from tests.feedserver.conftest import Server

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")  # the spring top-up round moves


def rows(server: Server, school: str = "demo-primary") -> dict[str, EventRow]:
    with server.services.db.session() as s:
        return {
            r.uid: r
            for r in s.scalars(select(EventRow).where(EventRow.school_id == school))
            if r.active
        }


def la_rows(server: Server) -> dict[str, EventRow]:
    return {u: r for u, r in rows(server).items() if "/la-example/" in u}


def test_events_say_when_the_la_last_changed_their_rule(demo_server: Server):
    first = la_rows(demo_server)
    texts = [r.body["description"] for r in first.values()]
    lacking = [
        t
        for t in texts
        if "Example Borough Council (fictional) last changed this on Mon 23 Nov 2026." not in t
    ]
    assert texts and lacking == []


def test_a_republication_changes_only_the_events_of_the_rule_that_changed(demo_server: Server):
    before = la_rows(demo_server)
    demo_server.clock.advance(days=10)
    assert demo_server.publish(MOVED, "la-example.yaml").status_code == 201
    after = la_rows(demo_server)
    changed = {u for u in after if after[u].content_hash != before[u].content_hash}
    assert changed and all("/top-up" in u or "topup" in u for u in changed), changed
    for uid in changed:
        assert "last changed this on Thu 3 Dec 2026." in after[uid].body["description"]
        assert after[uid].sequence == before[uid].sequence + 1
    for uid in set(after) - changed:
        assert after[uid].sequence == before[uid].sequence  # same bytes, same SEQUENCE
        assert "last changed this on Mon 23 Nov 2026." in after[uid].body["description"]


def test_rolling_back_publishes_the_old_content_as_a_new_revision_and_sequence_rises(
    demo_server: Server,
):
    original = la_rows(demo_server)
    demo_server.clock.advance(days=1)
    demo_server.publish(MOVED, "la-example.yaml")
    moved = la_rows(demo_server)
    svc = demo_server.services
    with svc.db.session() as s:
        version, new = packstore.rollback(s, "la-example", 1, "admin:test", svc.clock.now())
        assert new and version.revision == 3 and version.rolled_back_from == 1
    from feedserver import runtime
    from feedserver.pipeline import jobs

    with runtime.using(svc):
        jobs.fan_out_pack(version.id, reason="pack")
    back = la_rows(demo_server)
    moved_back = [u for u in back if moved[u].body["start"] != original[u].body["start"]]
    assert moved_back
    for uid in moved_back:
        assert back[uid].body["start"] == original[uid].body["start"]  # moved back
        assert back[uid].sequence > moved[uid].sequence  # and calendars see it as newer
    with svc.db.session() as s:
        history = packstore.history(s, "la-example")
        assert [v.revision for v in history] == [3, 2, 1]


def test_a_pack_naming_another_la_is_refused_for_an_la_publisher(demo_server: Server):
    svc = demo_server.services
    with svc.db.session() as s:
        try:
            packstore.publish(s, LA, "la-example.yaml", "la:888", svc.clock.now(),
                              publisher_code="888")  # fmt: skip
        except packstore.PackPublishError as exc:
            assert 'code: "888"' in str(exc)
        else:
            raise AssertionError("published")


def _publish(url: str, text: str, barrier: Any) -> int:
    import datetime as dt

    from feedserver.storage.db import Database

    db = Database(url)
    barrier.wait()
    with db.session() as s:
        version, _ = packstore.publish(
            s, text, "la-example.yaml", "race", dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
        )
        revision = version.revision
    db.dispose()
    return revision


def test_two_publications_at_once_on_postgresql_both_land_one_after_the_other(any_server: Server):
    svc = any_server.services
    url = svc.db.url
    variants = [LA.replace("2026: 2027-02-05", f"2026: 2027-02-{d}") for d in (10, 11)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        results = [pool.apply_async(_publish, (url, t, barrier)) for t in variants]
        revisions = sorted(r.get(60) for r in results)
    assert revisions == [1, 2]
    with svc.db.session() as s:
        stored = s.scalars(select(PackVersion).order_by(PackVersion.revision)).all()
        assert [v.revision for v in stored] == [1, 2]
        assert packstore.live(s, "la-example").content in variants
