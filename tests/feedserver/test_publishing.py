"""Publishing a pack again: per-rule change dates, rollback, and publications that race."""

from __future__ import annotations

import datetime as dt
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


# ------------------------------------------------------------------------------ dry runs


def dry_run(server: Server, text: str) -> dict[str, Any]:
    import rules
    from feedserver.clock import today
    from feedserver.pipeline import dryrun

    svc = server.services
    with svc.db.session() as s:
        pack = rules.load_pack(text, "la-example.yaml")
        effects = dryrun.check(s, pack, dryrun.school_ids(s, "999"), today(svc.clock), svc.memo)
    return {e.school_id: e for e in effects}


def test_a_dry_run_shows_each_schools_moved_entries_with_old_and_new_dates(demo_server: Server):
    from feedserver.pipeline.dryrun import Change

    effects = dry_run(demo_server, MOVED)
    assert set(effects) == {"demo-primary", "demo-secondary"}
    for effect in effects.values():
        assert (effect.added, effect.moved, effect.reworded, effect.removed) == (0, 2, 0, 0)
        assert effect.examples == [
            Change(
                "moved",
                "Gather evidence for spring top-up applications",
                "2027-01-15",
                "2027-01-22",
            ),
            Change(
                "moved",
                "Top-up funding (element 3) applications close, spring round",
                "2027-02-05",
                "2027-02-12",
            ),
        ]
    with demo_server.services.db.session() as s:
        assert packstore.live(s, "la-example").revision == 1  # nothing was published


def test_a_dry_run_counts_added_and_removed_rules_and_the_school_dates_they_need(
    demo_server: Server,
):
    import yaml

    data = yaml.safe_load(LA)
    data["rules"] = [r for r in data["rules"] if r["id"] != "topup-training"]
    data["rules"].append(
        {
            "id": "send-conference",
            "title": "Example Borough SEND conference",
            "kind": "event",
            "audience": ["senco"],
            "category": "training",
            "when": {"school_date": "send_conference_day"},
        }
    )
    data["rules"].append(
        {
            "id": "panel-dates",
            "title": "High-needs panel",
            "kind": "meeting",
            "audience": ["senco"],
            "category": "funding",
            "when": {"month": "march", "day": 3},
        }
    )
    effects = dry_run(demo_server, yaml.safe_dump(data, sort_keys=False))
    training = {
        school: [
            r for u, r in rows(demo_server, school).items()
            if "/topup-training/" in u and r.last_day >= dt.date(2026, 11, 23)
        ]
        for school in effects
    }  # fmt: skip
    for school, effect in effects.items():
        assert effect.added == 2  # the panel in 2026/27 and 2027/28
        assert effect.removed == len(training[school]) > 0
        assert effect.missing_dates == ["send_conference_day"]
        assert [c.kind for c in effect.examples if c.kind == "added"] == ["added", "added"]
        assert {c.new_start for c in effect.examples if c.kind == "added"} == {
            "2027-03-03",
            "2028-03-03",
        }


def test_a_large_las_dry_run_is_checked_by_a_job_that_carries_on_after_a_crash(
    demo_server: Server,
):
    from feedserver import runtime
    from feedserver.pipeline import dryrun
    from feedserver.storage.models import DryRun

    svc = demo_server.services
    with runtime.using(svc), svc.db.session() as s:
        run = dryrun.start(s, "999", MOVED, "la-example", "admin:test", svc.clock.now())
        run_id = run.id
    with svc.db.session() as s:  # the in-process job ran after the commit
        run = s.get(DryRun, run_id)
        assert (run.state, run.total, run.done) == ("done", 2, 2)
        assert [r["moved"] for r in run.results["schools"]] == [2, 2]
        # a crash after the first school: the rerun checks only the second
        run.state, run.done = "running", 1
        run.results = {"schools": run.results["schools"][:1]}
    with runtime.using(svc):
        assert dryrun.dry_run_pack(run_id, reason="check") == {"run": run_id, "schools": 2}
    with svc.db.session() as s:
        run = s.get(DryRun, run_id)
        assert [r["school_id"] for r in run.results["schools"]] == [
            "demo-primary",
            "demo-secondary",
        ]


# ------------------------------------------------------------------------- what changed


def test_a_republication_is_recorded_as_what_changed_at_each_school_with_old_and_new_dates(
    demo_server: Server,
):
    from feedserver.storage import changes

    svc = demo_server.services
    with svc.db.session() as s:
        assert changes.recent(s, "demo-primary") == []  # the first evaluation is not news
    demo_server.clock.advance(days=2)
    assert demo_server.publish(MOVED, "la-example.yaml").status_code == 201
    with svc.db.session() as s:
        found = [(c.kind, c.title, c.old_start, c.new_start, c.revision)
                 for c in changes.recent(s, "demo-primary")]  # fmt: skip
    moved = [f for f in found if f[0] == "moved"]
    assert sorted(moved) == [
        ("moved", "Gather evidence for spring top-up applications",
         dt.date(2027, 1, 15), dt.date(2027, 1, 22), 2),
        ("moved", "Top-up funding (element 3) applications close, spring round",
         dt.date(2027, 2, 5), dt.date(2027, 2, 12), 2),
    ]  # fmt: skip
    assert {f[0] for f in found} <= {"moved", "reworded"}  # the rule's other entries: reworded


def test_a_schools_own_change_is_not_recorded_as_news(demo_server: Server):
    from feedserver.storage import changes

    profile = demo_server.client.get(
        "/api/schools/demo-primary", headers=demo_server.headers()
    ).json["profile"]
    profile["inset_days"] = [*profile.get("inset_days", []), "2027-01-15"]
    assert (
        demo_server.client.put(
            "/api/schools/demo-primary", json=profile, headers=demo_server.headers()
        ).status_code
        == 200
    )
    with demo_server.services.db.session() as s:
        assert changes.recent(s, "demo-primary") == []


# ------------------------------------------------------------------ what an LA may see


def test_an_la_sees_its_schools_counts_and_only_its_own_packs_entries(demo_server: Server):
    from feedserver.storage import la_view

    demo_server.new_feed("demo-primary", "senco", "office")
    demo_server.new_feed("demo-primary", "slt", "slt team")
    with demo_server.services.db.session() as s:
        seen = {x.school_id: x for x in la_view.schools_of(s, "999")}
        assert set(seen) == {"demo-primary", "demo-secondary"}
        assert (
            seen["demo-primary"].subscribed_links,
            seen["demo-primary"].connected_calendars,
        ) == (2, 0)
        assert seen["demo-secondary"].subscribed_links == 0
        mine = la_view.entries(s, "999", "demo-primary")
        assert mine and {e.title for e in mine} >= {
            "Top-up funding (element 3) applications close, spring round"
        }
        national = {
            r.body["title"] for u, r in rows(demo_server).items() if "/la-example/" not in u
        }
        assert not ({e.title for e in mine} & national)  # nothing from the national packs
        assert la_view.entries(s, "888", "demo-primary") is None  # not that LA's school
        assert la_view.schools_of(s, "888") == []
