"""Google's remote beyond the shared contract: the client-side work a sync does."""

from __future__ import annotations

from typing import Any

from googleapiclient import discovery

from connectors import sync as engine
from feedserver.storage.connections import SqlLedger
from tests.connectors.contract import FAST, NOW, TODAY, desired_events, ledger_database
from tests.connectors.kits import GoogleKit
from tests.emulators.google_calendar import GoogleCalendarEmulator


def test_a_sync_builds_the_events_api_once_not_once_for_each_write(tmp_path, monkeypatch):
    # Building the events collection from the discovery document costs about a millisecond of
    # CPU; built once per write it was two thirds of a first sync's CPU (bench/sync.py).
    built: list[str] = []
    construct = discovery.Resource.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        if "quickAdd" in (kwargs.get("resourceDesc") or {}).get("methods", {}):
            built.append("events")
        construct(self, *args, **kwargs)

    db, connection_id = ledger_database(tmp_path)
    with GoogleCalendarEmulator() as emulator:
        kit = GoogleKit(emulator)
        monkeypatch.setattr(discovery.Resource, "__init__", counted)
        desired = desired_events(200)
        report = engine.sync(
            kit.remote(), desired, SqlLedger(db, connection_id, NOW), TODAY, backoff=FAST
        )
    db.dispose()
    assert report.created == 200
    assert emulator.stats.by_kind["batch"] == 200 // kit.batch_size
    assert built == ["events"]
