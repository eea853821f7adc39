"""The Microsoft 365 remote's own promises, against the Graph emulator (beyond the contract)."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator

import pytest
import requests

from connectors import sync as engine
from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError
from connectors.microsoft import (
    Delegated,
    GraphEndpoints,
    MicrosoftApp,
    MicrosoftRemote,
    MicrosoftTarget,
)
from connectors.microsoft.auth import SCOPES_GROUP
from connectors.plan import Create
from tests.connectors.contract import FAST, TODAY, desired_events
from tests.connectors.kits import GraphKit
from tests.emulators.faults import Fault
from tests.emulators.graph import GraphEmulator

GROUP = "0b7f2c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
REDIRECT = "https://sencocal.example/calendars/microsoft/done"


class MemoryLedger:
    """A ledger in a dict (the contract suite uses the real one; here only the remote matters)."""

    def __init__(self) -> None:
        self.rows: dict = {}

    def entries(self):
        return dict(self.rows)

    def store(self, entries, forget) -> None:
        for key in forget:
            self.rows.pop(key, None)
        self.rows.update({e.key: e for e in entries})


@pytest.fixture
def kit() -> Iterator[GraphKit]:
    with GraphEmulator() as emulator:
        yield GraphKit(emulator, redirect_uris=(REDIRECT,))


def test_no_batch_holds_more_than_20_and_all_day_events_run_midnight_to_midnight(kit):
    remote = kit.remote()
    remote.open()
    items = desired_events(45)
    assert len(remote.write([Create(i) for i in items[:20]])) == 20
    with pytest.raises(ValueError):
        remote.write([Create(i) for i in items[20:45]])
    remote.close()
    for event in kit.emulator.events(kit.mailbox, kit.calendar_id):
        if event["isAllDay"]:
            assert event["start"]["dateTime"].endswith("T00:00:00.0000000")
            assert event["end"]["dateTime"].endswith("T00:00:00.0000000")
        assert event["isReminderOn"] and event["reminderMinutesBeforeStart"] > 0
        assert event["transactionId"]


def test_eight_syncs_into_one_mailbox_keep_to_four_requests_at_a_time(kit):
    kit.emulator.latency = 0.05  # each request in flight a while: the limit would be met
    remotes = []
    for _ in range(8):
        kit.reset()
        remotes.append((kit.remote(), kit.tag))
    failures: list[BaseException] = []

    def run(remote: MicrosoftRemote) -> None:
        try:
            engine.sync(remote, desired_events(60), MemoryLedger(), TODAY, backoff=FAST,
                        max_rounds=1)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r, _ in remotes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []  # a 429 ApplicationThrottled would have left a round unfinished


def test_a_throttled_batch_waits_as_long_as_graph_asks(kit):
    remote = kit.remote()
    remote.endpoints = GraphEndpoints(kit.emulator.graph_url, kit.emulator.ca_file, timeout=10)
    remote.open()  # no request: the token is cached and the calendar known
    kit.emulator.faults.on_request(1, Fault("status", status=429, retry_after=7))
    try:
        with pytest.raises(TransientRemoteError) as caught:
            remote.write([Create(i) for i in desired_events(5)])
    finally:
        remote.close()
    assert caught.value.retry_after == 7


def test_revoked_consent_stops_with_a_message_for_the_it_admin(kit):
    engine.sync(kit.remote(), desired_events(5), ledger := MemoryLedger(), TODAY, backoff=FAST)
    kit.emulator.revoke_consent(kit.client_id)
    with pytest.raises(PermanentRemoteError) as caught:
        engine.sync(kit.remote(), desired_events(5, changed_rule=1), ledger, TODAY, backoff=FAST)
    assert caught.value.kind == StopReason.GRANT_REVOKED
    assert "IT admin" in str(caught.value)


def test_a_mailbox_outside_the_apps_access_policy_stops_with_no_access(kit):
    kit.emulator.add_user(kit.tenant, "slt@school.example", kind="shared_mailbox")
    kit.emulator.restrict_app(kit.client_id, ["slt@school.example"])
    with pytest.raises(PermanentRemoteError) as caught:
        engine.sync(kit.remote(), desired_events(5), MemoryLedger(), TODAY, backoff=FAST)
    assert caught.value.kind == StopReason.NO_ACCESS
    assert "application access policy" in str(caught.value)


def delegated_token(kit: GraphKit, upn: str, scopes: list[str]) -> Delegated:
    """The auth-code flow as the page runs it: consent, Microsoft's form, the refresh token."""
    app = MicrosoftApp(kit.client_id, kit.secret, kit.emulator.base_url, kit.emulator.ca_file)
    flow = app.consent_flow(kit.tenant, scopes, REDIRECT)
    kit.emulator.consent_as(upn)
    with requests.Session() as browser:
        browser.verify, browser.trust_env = kit.emulator.ca_file, False
        page = browser.get(flow["auth_uri"], timeout=5).text
    form = {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
    refresh, who = app.finish_consent(kit.tenant, flow, form)
    assert who == upn
    return Delegated(app, kit.tenant, refresh, scopes)


def group_remote(kit: GraphKit, tokens) -> MicrosoftRemote:
    endpoints = GraphEndpoints(kit.emulator.graph_url, kit.emulator.ca_file, timeout=2)
    return MicrosoftRemote(MicrosoftTarget(tag=kit.tag, mailbox=GROUP, group=True), tokens,
                           endpoints)  # fmt: skip


def test_a_group_calendar_is_written_with_a_members_delegated_consent(kit):
    kit.emulator.add_group(kit.tenant, GROUP, [kit.mailbox])
    tokens = delegated_token(kit, kit.mailbox, list(SCOPES_GROUP))
    report = engine.sync(group_remote(kit, tokens), desired_events(30), MemoryLedger(), TODAY,
                         backoff=FAST)  # fmt: skip
    assert report.created == 30 and len(kit.emulator.events(GROUP)) == 30


def test_a_group_calendar_refuses_the_app_on_its_own(kit):
    kit.emulator.add_group(kit.tenant, GROUP, [kit.mailbox])
    from connectors.microsoft import AppOnly

    app = MicrosoftApp(kit.client_id, kit.secret, kit.emulator.base_url, kit.emulator.ca_file)
    with pytest.raises(PermanentRemoteError) as caught:
        engine.sync(group_remote(kit, AppOnly(app, kit.tenant)), desired_events(5),
                    MemoryLedger(), TODAY, backoff=FAST)  # fmt: skip
    assert caught.value.kind == StopReason.NO_ACCESS
