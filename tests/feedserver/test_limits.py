"""Rate limits on failures: keys, sign-ins, sign-in links, unknown feeds (finding 9).

Counts are per client address, in memory here and in Redis when REDIS_URL is set (shared by
every worker: tested with two apps on one Redis).
"""

from __future__ import annotations

import contextlib
from typing import Any

from feedserver import create_app
from feedserver.config import Config
from tests.feedserver.conftest import Server, _server
from tests.feedserver.test_pages import csrf

BAD = {"Authorization": "Bearer not-a-real-key"}


def from_address(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_three_hundred_wrong_keys_meet_429_after_twenty(demo_server: Server):
    codes = [demo_server.client.get("/api/schools", headers=BAD).status_code for _ in range(300)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    refused = demo_server.client.get("/api/schools", headers=BAD)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many requests without a valid API key" in refused.json["error"]
    assert "Wait" in refused.json["error"]
    # the right key from that address is not even looked at until the minute is over ...
    assert demo_server.client.get("/api/schools", headers=demo_server.headers()).status_code == 429
    # ... while everyone else carries on
    other = demo_server.client.get(
        "/api/schools", headers=demo_server.headers(), **from_address("10.0.0.9")
    )
    assert other.status_code == 200


def test_right_keys_are_never_limited(demo_server: Server):
    for _ in range(100):
        assert (
            demo_server.client.get("/api/schools", headers=demo_server.headers()).status_code == 200
        )


def sign_in_with(server: Server, key: str, **kwargs: Any):
    token = csrf(server.client.get("/sign-in", **kwargs).text)
    return server.client.post("/sign-in", data={"csrf_token": token, "key": key}, **kwargs)


def test_ten_failed_sign_ins_then_even_the_right_key_waits(demo_server: Server):
    assert [sign_in_with(demo_server, "wrong").status_code for _ in range(10)] == [401] * 10
    refused = sign_in_with(demo_server, demo_server.admin_key)
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert "too many failed sign-ins from your address" in refused.text
    assert refused.headers["Retry-After"].isdigit()
    assert (
        sign_in_with(demo_server, demo_server.admin_key, **from_address("10.0.0.8")).status_code
        == 302
    )


def test_sign_in_links_that_do_not_work_are_limited(demo_server: Server):
    page = demo_server.client.get("/sign-in/nope")
    codes = [
        demo_server.client.post(
            f"/sign-in/guess-{i}", data={"csrf_token": csrf(page.text)}
        ).status_code
        for i in range(12)
    ]
    assert codes == [410] * 10 + [429] * 2


def test_guessing_feed_addresses_meets_429_but_real_feeds_keep_being_served(demo_server: Server):
    feed = demo_server.new_feed("demo-primary", "senco")
    codes = [demo_server.client.get(f"/feeds/guess-{i}.ics").status_code for i in range(70)]
    assert codes[:60] == [404] * 60 and set(codes[60:]) == {429}
    assert demo_server.client.get("/feeds/guess-x.ics").headers["Retry-After"].isdigit()
    assert demo_server.client.get(feed).status_code == 200
    subscribe = demo_server.client.get("/subscribe/guess-y")
    assert subscribe.status_code == 429 and "Too many attempts" in subscribe.text


def test_a_forged_forwarded_for_header_is_ignored_unless_a_proxy_is_trusted(tmp_path):
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    for trusted, expected in (("0", [401] * 20 + [429] * 5), ("1", [401] * 25)):
        app = create_app(Config.from_mapping({**settings, "SENCOCAL_TRUSTED_PROXIES": trusted}))
        app.extensions["sencocal"].db.upgrade()
        client = app.test_client()
        codes = [
            client.get(
                "/api/schools", headers={**BAD, "X-Forwarded-For": f"10.2.0.{i}"}
            ).status_code
            for i in range(25)
        ]
        assert codes == expected, trusted
        app.extensions["sencocal"].close()


def test_two_workers_on_one_redis_share_the_counts(tmp_path, redis_url, redis_db):
    with contextlib.contextmanager(_server)(
        f"sqlite:///{tmp_path / 'r.db'}", tmp_path, redis_url
    ) as one:
        other = create_app(one.services.config)
        try:
            for i in range(20):
                client = one.client if i % 2 else other.test_client()
                assert client.get("/api/schools", headers=BAD).status_code == 401
            assert one.client.get("/api/schools", headers=BAD).status_code == 429
            assert other.test_client().get("/api/schools", headers=BAD).status_code == 429
            assert any(b"sencocal" in k for k in redis_db.keys("*"))
        finally:
            other.extensions["sencocal"].close()


def test_when_the_counts_cannot_be_reached_requests_are_still_answered(tmp_path):
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    app = create_app(Config.from_mapping(settings))
    app.extensions["sencocal"].db.upgrade()
    try:
        for _ in range(3):
            assert app.test_client().get("/api/schools", headers=BAD).status_code == 401
    finally:
        app.extensions["sencocal"].close()
