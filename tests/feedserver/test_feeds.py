"""Feeds as subscribers see them: caching headers, tokens, audiences, the window, SEQUENCE."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import time
from email.utils import format_datetime
from pathlib import Path

import icalendar
import ics as ics_lib
import pytest
import recurring_ical_events

from feedserver import create_app
from feedserver.config import Config
from feedserver.storage.subscriptions import AUDIENCES
from rules.event import ics_uid
from tests.feedserver.conftest import Server

GOLDEN = Path(__file__).parent / "golden"


def uids(data: bytes) -> set[str]:
    return {str(v["UID"]) for v in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def years_of(server: Server, found: set[str]) -> set[int]:
    """The academic years of the feed events with these ICS UIDs (from the stored identities)."""
    stored = server.client.get("/api/schools/demo-primary/events", headers=server.headers()).json
    by_uid = {ics_uid(e["uid"]): e["year"] for e in stored["events"]}
    assert found <= by_uid.keys()
    return {by_uid[uid] for uid in found}


def test_feed_is_served_with_strong_etag_last_modified_and_caching_headers(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    answer = demo_server.client.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = answer.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert answer.headers["Last-Modified"] == format_datetime(demo_server.clock.now(), usegmt=True)
    assert answer.headers["Cache-Control"] == "private, max-age=300"
    assert answer.headers["Vary"] == "Accept-Encoding"
    assert answer.data.startswith(b"BEGIN:VCALENDAR\r\n")


def test_if_none_match_gives_304_and_a_stale_etag_gives_the_feed(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    etag = demo_server.client.get(path).headers["ETag"]
    not_modified = demo_server.client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    listed = demo_server.client.get(path, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304
    stale = demo_server.client.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data


def test_if_modified_since_compares_dates_and_if_none_match_wins(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    first = demo_server.client.get(path)
    last_modified = first.headers["Last-Modified"]
    assert (
        demo_server.client.get(path, headers={"If-Modified-Since": last_modified}).status_code
        == 304
    )
    earlier = format_datetime(demo_server.clock.now() - dt.timedelta(hours=1), usegmt=True)
    assert demo_server.client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    assert (
        demo_server.client.get(path, headers={"If-Modified-Since": "not a date"}).status_code == 200
    )
    both = {"If-Modified-Since": last_modified, "If-None-Match": '"changed"'}
    assert demo_server.client.get(path, headers=both).status_code == 200


def test_gzip_when_accepted_gives_the_same_bytes(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    plain = demo_server.client.get(path)
    zipped = demo_server.client.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < len(plain.data) / 3
    assert gzip.decompress(zipped.data) == plain.data
    # two encodings, two strong validators; either one revalidates
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    for tag in (plain.headers["ETag"], zipped.headers["ETag"], "W/" + plain.headers["ETag"]):
        assert (
            demo_server.client.get(
                path, headers={"If-None-Match": tag, "Accept-Encoding": "gzip"}
            ).status_code
            == 304
        )


@pytest.mark.parametrize(
    ("header", "gzipped"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, br", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        ("br;q=1, *;q=0.1", True),
    ],
)
def test_accept_encoding_is_parsed_with_q_values(header, gzipped):
    from feedserver.web.feeds import accepts_gzip

    assert accepts_gzip(header) is gzipped


def test_head_gives_the_headers_without_a_body(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    head = demo_server.client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == demo_server.client.get(path).headers["ETag"]


def test_unknown_and_revoked_tokens_look_the_same(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "slt", token_name="slt team")
    assert demo_server.client.get(path).status_code == 200
    gone = demo_server.client.delete(
        "/api/schools/demo-primary/feeds/slt/tokens/slt team", headers=demo_server.headers()
    )
    assert gone.status_code == 204
    revoked = demo_server.client.get(path)
    unknown = demo_server.client.get("/feeds/" + "A" * 32 + ".ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.data == unknown.data
    assert dict(revoked.headers) == dict(unknown.headers)


def test_rotating_a_token_retires_the_old_address(demo_server: Server):
    old = demo_server.new_feed("demo-primary", "governors", token_name="board")
    before = demo_server.client.get(old).data
    rotated = demo_server.client.post(
        "/api/schools/demo-primary/feeds/governors/tokens/board/rotate",
        headers=demo_server.headers(),
    )
    assert rotated.status_code == 200
    new = "/" + rotated.json["url"].split("/", 3)[3]
    assert new != old
    assert demo_server.client.get(old).status_code == 404
    assert demo_server.client.get(new).data == before


def test_several_named_tokens_reach_one_feed_and_each_revokes_alone(demo_server: Server):
    first = demo_server.new_feed("demo-primary", "staff", token_name="staffroom")
    added = demo_server.client.post(
        "/api/schools/demo-primary/feeds/staff/tokens",
        json={"name": "ta team"},
        headers=demo_server.headers(),
    )
    assert added.status_code == 201
    second = "/" + added.json["url"].split("/", 3)[3]
    assert demo_server.client.get(first).data == demo_server.client.get(second).data
    demo_server.client.delete(
        "/api/schools/demo-primary/feeds/staff/tokens/staffroom", headers=demo_server.headers()
    )
    assert demo_server.client.get(first).status_code == 404
    assert demo_server.client.get(second).status_code == 200


def test_a_revoked_token_stops_working_within_the_cache_lifetime(demo_server: Server, tmp_path):
    """Two workers on one database: the other worker's cache is the worst-case delay."""
    path = demo_server.new_feed("demo-primary", "ta", token_name="tas")
    url = demo_server.services.config.database_url
    other = create_app(
        Config.from_mapping({"DATABASE_URL": url, "SENCOCAL_FEED_CACHE_SECONDS": "0.5"}, tmp_path),
        clock=demo_server.clock,
    )
    other_client = other.test_client()
    assert other_client.get(path).status_code == 200  # now cached in the other worker
    demo_server.client.delete(
        "/api/schools/demo-primary/feeds/ta/tokens/tas", headers=demo_server.headers()
    )
    assert other_client.get(path).status_code == 200  # still inside its cache lifetime
    time.sleep(0.6)
    assert other_client.get(path).status_code == 404
    other.extensions["sencocal"].db.dispose()


PUPIL_PACK = """
pack: la-999-reviews
title: Test reviews with pupil-level entries
publisher: {kind: la, code: "999"}
version: "1"
rules:
  - id: review-meeting-jb
    title: Annual review meeting for pupil JB-17
    kind: meeting
    audience: [senco, slt, governors, ta, staff]
    category: ehcp-reviews
    pupil_level: true
    when: {month: december, day: 2}
  - id: whole-school-briefing
    title: SEND briefing for all staff
    kind: meeting
    audience: [senco, slt, governors, ta, staff]
    category: training
    when: {month: december, day: 3}
"""


def test_pupil_level_events_reach_only_the_senco_feed(demo_server: Server):
    assert demo_server.publish(PUPIL_PACK, "reviews.yaml").status_code == 201
    feeds = {
        a: demo_server.client.get(demo_server.new_feed("demo-primary", a)).data for a in AUDIENCES
    }
    pupil_uid = ics_uid("demo-primary/la-999-reviews/review-meeting-jb/2026")
    briefing_uid = ics_uid("demo-primary/la-999-reviews/whole-school-briefing/2026")
    assert pupil_uid in uids(feeds["senco"])
    for audience in ("slt", "governors", "ta", "staff"):
        assert pupil_uid not in uids(feeds[audience]), audience
        assert briefing_uid in uids(feeds[audience]), audience
        assert b"JB-17" not in feeds[audience]


def test_the_window_moves_on_1_september(demo_server: Server):
    demo_server.clock.at = dt.datetime(2027, 8, 31, 12, 0, tzinfo=dt.UTC)
    path = demo_server.new_feed("demo-primary", "senco")
    before = years_of(demo_server, uids(demo_server.client.get(path).data))
    assert 2026 in before
    demo_server.clock.at = dt.datetime(2027, 9, 1, 8, 0, tzinfo=dt.UTC)
    answer = demo_server.client.post("/api/refresh", headers=demo_server.headers())
    assert answer.status_code == 202 and answer.json == {"queued": True}
    after = years_of(demo_server, uids(demo_server.client.get(path).data))
    assert after == {2027, 2028}


def test_sequence_rises_exactly_for_the_events_a_pack_change_touches(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    before = icalendar.Calendar.from_ical(demo_server.client.get(path).data)
    from feedserver import catalog

    changed = (
        catalog.demo_file("la-example")
        .decode()
        .replace("2026: 2027-02-05", "2026: 2027-02-12")  # a date still to come
        .replace('version: "2026.2"', 'version: "2026.3"')
    )
    demo_server.clock.advance(days=1)
    published = demo_server.publish(changed, "la-example.yaml")
    assert published.status_code == 201 and published.json["schools_queued"] == 2
    after = icalendar.Calendar.from_ical(demo_server.client.get(path).data)
    seq_before = {str(v["UID"]): int(v["SEQUENCE"]) for v in before.walk("VEVENT")}
    seq_after = {str(v["UID"]): int(v["SEQUENCE"]) for v in after.walk("VEVENT")}
    assert seq_before.keys() == seq_after.keys()
    risen = {uid for uid in seq_after if seq_after[uid] != seq_before[uid]}
    # the moved round and its lead task, and the rule's other events: they now say when the LA
    # last changed the rule; no other rule's events change
    assert risen == {
        ics_uid("demo-primary/la-example/topup-round-spring/2026"),
        ics_uid("demo-primary/la-example/topup-round-spring/2026/prep:gather-evidence"),
        ics_uid("demo-primary/la-example/topup-round-spring/2027/prep:find-date"),
    }
    assert all(seq_after[uid] == 1 for uid in risen)
    moved = {str(v["UID"]): v for v in after.walk("VEVENT")}[
        ics_uid("demo-primary/la-example/topup-round-spring/2026")
    ]
    assert moved["DTSTART"].dt == dt.date(2027, 2, 12)
    assert moved["LAST-MODIFIED"].dt == demo_server.clock.now()


def test_republishing_identical_content_changes_nothing(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    etag = demo_server.client.get(path).headers["ETag"]
    from feedserver import catalog

    again = demo_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    assert again.status_code == 200 and again.json["new"] is False
    assert demo_server.client.get(path).headers["ETag"] == etag


@pytest.mark.parametrize("school", ["demo-primary", "demo-secondary"])
def test_every_feed_reads_the_same_in_three_independent_parsers(demo_server: Server, school):
    for audience in AUDIENCES:
        data = demo_server.client.get(demo_server.new_feed(school, audience)).data
        cal = icalendar.Calendar.from_ical(data)
        found = {str(v["UID"]) for v in cal.walk("VEVENT")}
        expanded = recurring_ical_events.of(cal).between(dt.date(2026, 6, 1), dt.date(2028, 10, 1))
        assert {str(v["UID"]) for v in expanded} == found
        assert {e.uid for e in ics_lib.Calendar(data.decode("utf-8")).events} == found
        assert found, audience


@pytest.mark.parametrize("school", ["demo-primary", "demo-secondary"])
def test_golden_feed_bytes_for_the_demo_schools(demo_server: Server, school):
    data = demo_server.client.get(demo_server.new_feed(school, "senco")).data
    golden = GOLDEN / f"{school}-senco-2026-11-23.ics"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(data)
    assert data == golden.read_bytes(), (
        f"regenerate with UPDATE_GOLDEN=1 if the change is intended: {golden}"
    )


def test_rendering_from_a_fresh_evaluation_and_from_stored_rows_agree(demo_server: Server):
    from feedserver.clock import today
    from feedserver.pipeline import refresh
    from feedserver.pipeline.render import render_feeds
    from feedserver.storage import events
    from feedserver.storage.models import Feed, School

    path = demo_server.new_feed("demo-secondary", "governors")
    etag = demo_server.client.get(path).headers["ETag"]
    svc = demo_server.services
    years = refresh.window(today(svc.clock))
    with svc.db.session() as s:  # stored rows -> render, then fresh evaluation -> render
        school = s.get(School, "demo-secondary")
        live, revisions = events.window(s, school.id, years)
        assert render_feeds(s, school, years, svc.clock.now(), live, revisions) == []
    with svc.db.session() as s:
        result = refresh.refresh_school(
            s, "demo-secondary", today(svc.clock), svc.clock.now(), force=True
        )
        assert result.evaluated and result.diff.empty and result.feeds_rendered == ()
        assert (
            s.query(Feed).filter_by(school_id="demo-secondary", audience="governors").one().etag
            == etag
        )


def test_the_worker_cache_stays_within_its_byte_budget_and_drops_expired_entries():
    from feedserver.web.feedcache import ENTRY_BYTES, CachedFeed, FeedCache

    cache = FeedCache(seconds=5, max_bytes=1_000_000)
    for i in range(50):
        cache.put(f"k{i}", CachedFeed('"e"', 0, b"x" * 60_000, "f.ics", "d"), now=float(i) * 0.01)
    assert cache.bytes <= 1_000_000 and len(cache) == 16
    assert cache.get("k49", now=1.0)[0] and not cache.get("k0", now=1.0)[0]  # oldest evicted
    assert not cache.get("k49", now=100.0)[0]  # expired
    assert cache.bytes == 15 * (60_000 + ENTRY_BYTES)
