"""The connector contract: one suite every remote calendar must pass, against its emulator.

A remote's test module provides a ``kit`` fixture (a :class:`Kit`: its emulator, a way to make
remotes for one connection, and a view of what the emulator's calendar holds) and subclasses
:class:`ContractTests`. The sync engine, the ledger (``SqlLedger`` on a real database) and the
remote client are the project's own; only the far side is an emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connectors import sync as engine
from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError
from connectors.model import PushEvent
from connectors.remote import Remote
from feedserver.storage.connections import SqlLedger
from feedserver.storage.db import Database
from feedserver.storage.models import Connection, LedgerRow, School
from tests.emulators.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
RULES = 20  # desired events come in rules of 10 occurrences each
FAST = engine.Backoff(base=0.01, cap=0.05)  # waits inside the tests' syncs (Retry-After still wins)


def desired_events(
    n: int = 200, *, changed_rule: int | None = None, past: int = 0, school: str = "s1"
) -> list[PushEvent]:
    """``n`` events over 2026/27: every tenth one timed, the rest all-day.

    ``changed_rule`` rewords that rule's events; ``past`` puts the first ones before TODAY.
    """
    out = []
    for i in range(n):
        rule = i % RULES
        day = dt.date(2026, 9, 1) + dt.timedelta(days=(i * 3) % 330)
        if i < past:
            day = dt.date(2026, 9, 7) + dt.timedelta(days=i % 60)
        elif day < TODAY:
            day = TODAY + dt.timedelta(days=1 + (i % 200))
        title = f"Rule {rule} entry {i}" + (" (reworded)" if rule == changed_rule else "")
        if i % 10 == 9:
            start: dt.date = dt.datetime(day.year, day.month, day.day, 15, 45, tzinfo=LONDON)
            end: dt.date = start + dt.timedelta(hours=1, minutes=15)
        else:
            start, end = day, day + dt.timedelta(days=1)
        out.append(
            PushEvent(
                identity=f"{school}/pack/rule-{rule}/2026/{i}",
                summary=title,
                description=f"What to do for entry {i}.\n\nWhy this date: a test.",
                start=start,
                end=end,
                categories=("deadline",),
                reminders=(10080 - 540, 1440 - 540) if i % 2 else (900,),
                url="https://example.org/source" if i % 3 == 0 else None,
            )
        )
    return out


@dataclass
class Held:
    """One of our events as the emulator holds it (live)."""

    remote_id: str
    key: str
    content_hash: str | None
    summary: str
    start: str
    end: str


class Kit(Protocol):
    """What a remote's test module provides for the contract suite."""

    emulator: Any
    batch_size: int

    def remote(self) -> Remote:
        """A new client for the test's one connection (as a rerun would build it)."""

    def reset(self) -> None:
        """Start again with a new connection and an empty calendar."""

    def held(self) -> list[Held]:
        """Every live event of ours in the connection's calendar."""

    def hand_delete(self, key: str) -> None:
        """A person deletes the event with push key ``key``."""

    def hand_move(self, key: str, day: dt.date) -> None:
        """A person moves the (all-day) event with push key ``key`` to ``day``."""

    def revoke(self) -> None:
        """The school withdraws the connection's access."""

    def delete_calendar(self) -> None:
        """A person deletes the calendar."""

    def child_config(self) -> dict[str, Any]:
        """What ``sync_child.py`` needs to build the same remote in another process."""


_TEMPLATE: list[Path] = []


def ledger_database(tmp_path: Path) -> tuple[Database, int]:
    """A migrated SQLite database with one school and one connection, for a real ledger.

    Migrated once per test run, then copied (the migrations take longer than most syncs).
    """
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="sencocal-ledger-"))
        db = Database(f"sqlite:///{folder / 'ledger.db'}")
        db.upgrade()
        with db.session() as session:
            session.add(School(id="s1", name="Test school", la_code="888", profile={},
                               profile_hash="x", created_at=NOW, updated_at=NOW))  # fmt: skip
            session.flush()
            session.add(Connection(school_id="s1", provider="test", audience="senco", tag="t",
                                   auth_kind="test", account="", created_at=NOW, share_with={},
                                   waiting={}, last_result={}))  # fmt: skip
        db.dispose()
        _TEMPLATE.append(folder / "ledger.db")
    shutil.copyfile(_TEMPLATE[0], tmp_path / "ledger.db")
    db = Database(f"sqlite:///{tmp_path / 'ledger.db'}")
    with db.session() as session:
        connection_id = session.scalars(select(Connection.id)).one()
    return db, connection_id


def assert_holds_exactly(kit: Kit, desired: list[PushEvent]) -> None:
    """The calendar holds each desired event once, with our content, and nothing else of ours."""
    held = kit.held()
    keys = [h.key for h in held]
    assert len(keys) == len(set(keys)), "a duplicate event"
    by_key = {h.key: h for h in held}
    missing = [p.identity for p in desired if p.key not in by_key]
    assert missing == [], f"{len(missing)} events missing, e.g. {missing[:3]}"
    extra = set(by_key) - {p.key for p in desired}
    assert extra == set(), f"{len(extra)} stale events"
    for p in desired:
        got = by_key[p.key]
        assert (got.summary, got.content_hash) == (p.summary, p.content_hash), p.identity


class ContractTests:
    """Every remote passes these (subclass with a ``kit`` fixture)."""

    @pytest.fixture
    def ledger(self, tmp_path: Path) -> SqlLedger:
        db, connection_id = ledger_database(tmp_path)
        yield SqlLedger(db, connection_id, NOW)
        db.dispose()

    def run(self, kit: Kit, desired: list[PushEvent], ledger: SqlLedger, **options: Any) -> Any:
        options.setdefault("backoff", FAST)
        return engine.sync(kit.remote(), desired, ledger, TODAY, **options)

    def test_a_first_sync_writes_every_event_and_a_resync_writes_nothing(self, kit, ledger):
        desired = desired_events()
        report = self.run(kit, desired, ledger)
        assert report.created == len(desired) and report.writes == len(desired)
        assert_holds_exactly(kit, desired)
        writes = kit.emulator.stats.writes
        again = self.run(kit, desired, ledger)
        assert again.writes == 0 and again.unchanged == len(desired)
        assert kit.emulator.stats.writes == writes

    def test_a_one_rule_change_writes_only_that_rules_events(self, kit, ledger):
        self.run(kit, desired_events(), ledger)
        before = kit.emulator.stats.writes
        changed = desired_events(changed_rule=3)
        report = self.run(kit, changed, ledger)
        assert report.updated == 200 // RULES and report.writes == 200 // RULES
        assert kit.emulator.stats.writes - before == 200 // RULES
        assert_holds_exactly(kit, changed)

    def test_with_the_ledger_deleted_a_sync_finds_its_events_and_converges(self, kit, ledger):
        self.run(kit, desired_events(), ledger)
        wipe(ledger)
        changed = desired_events(changed_rule=5)[:190]  # one rule reworded, ten events dropped
        report = self.run(kit, changed, ledger)
        assert report.created == 0 and report.updated == 10 and report.deleted == 10
        assert_holds_exactly(kit, changed)
        assert len(ledger.entries()) == 190

    @pytest.mark.parametrize("batch", [1, 2, 3])
    def test_an_interruption_at_a_batch_boundary_converges_when_run_again(self, kit, ledger, batch):
        desired = desired_events()
        # the next batch stalls unanswered: the client's timeout ends the sync with an error
        kit.emulator.faults.on_write(batch * kit.batch_size + 1, Fault("timeout", delay=2.0))
        with pytest.raises(TransientRemoteError):
            self.run(kit, desired, ledger, max_rounds=1)
        assert len(kit.held()) == batch * kit.batch_size  # exactly the batches before it
        self.run(kit, desired, ledger)
        assert_holds_exactly(kit, desired)

    @pytest.mark.parametrize("write", sorted({1 + (i * 37) % 200 for i in range(30)}))
    def test_an_error_after_a_committed_write_inside_a_batch_converges_when_run_again(
        self, kit, ledger, write
    ):
        desired = desired_events()
        # the remote commits write n and never answers: the client times out, the sync fails
        kit.emulator.faults.on_write(write, Fault("commit_then_hang"))
        try:
            with pytest.raises(TransientRemoteError):
                self.run(kit, desired, ledger, max_rounds=1)
        finally:
            kit.emulator.faults.release()
        assert len(kit.held()) == write
        report = self.run(kit, desired, ledger)
        assert report.created == 200 - write  # nothing written twice
        assert_holds_exactly(kit, desired)

    @pytest.mark.parametrize("write", [1, 49, 50, 120])
    def test_a_connection_dropped_after_a_committed_write_settles_without_a_duplicate(
        self, kit, ledger, write
    ):
        desired = desired_events()
        kit.emulator.faults.on_write(write, Fault("drop_after_commit"))
        report = self.run(kit, desired, ledger)
        assert report.created == 200  # a create that landed before its answer was lost counts once
        assert_holds_exactly(kit, desired)

    @pytest.mark.parametrize("write", [50, 51, 100, 101, 7, 77, 133, 199])
    def test_a_worker_killed_after_a_committed_write_converges_when_run_again(
        self, kit, ledger, tmp_path, write
    ):
        desired = desired_events()
        kit.emulator.faults.on_write(write, Fault("commit_then_hang"))
        child = start_child(kit, ledger, tmp_path)
        try:
            if not kit.emulator.faults.wait_hung(60):
                pytest.fail("the child never reached the write: " + child_log(tmp_path))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            kit.emulator.faults.release()
            if child.poll() is None:
                child.kill()
        assert len(kit.held()) == write
        report = self.run(kit, desired, ledger)
        assert report.created == 200 - write
        assert_holds_exactly(kit, desired)

    def test_random_faults_and_reruns_converge(self, kit, ledger):
        run_random_faults(self, kit, ledger)

    def test_throttling_waits_as_long_as_the_remote_asks(self, kit, ledger):
        desired = desired_events(60)
        kit.emulator.faults.on_write(5, Fault("status", status=429, retry_after=1))
        started = time.monotonic()
        report = self.run(kit, desired, ledger)
        assert time.monotonic() - started >= 1.0
        assert report.created == 60
        assert_holds_exactly(kit, desired)

    def test_a_wait_longer_than_a_job_should_hold_is_handed_back_to_the_queue(self, kit, ledger):
        kit.emulator.faults.on_write(1, Fault("status", status=503, retry_after=120))
        with pytest.raises(TransientRemoteError) as caught:
            self.run(kit, desired_events(20), ledger, max_wait=30)
        assert caught.value.retry_after >= 120

    def test_an_event_deleted_by_hand_stays_deleted_until_its_content_changes(self, kit, ledger):
        desired = desired_events(40)
        self.run(kit, desired, ledger)
        gone = desired[10]
        kit.hand_delete(gone.key)
        assert self.run(kit, desired, ledger).writes == 0
        assert gone.key not in {h.key for h in kit.held()}
        changed = desired_events(40, changed_rule=10)
        report = self.run(kit, changed, ledger)
        assert report.revived + report.created == 1  # it comes back, reworded
        assert_holds_exactly(kit, changed)

    def test_an_event_moved_by_hand_keeps_its_new_date_until_our_content_changes(self, kit, ledger):
        desired = desired_events(40)
        self.run(kit, desired, ledger)
        moved = desired[12]
        kit.hand_move(moved.key, dt.date(2027, 3, 3))
        assert self.run(kit, desired, ledger).writes == 0
        assert next(h for h in kit.held() if h.key == moved.key).start.startswith("2027-03-03")
        changed = desired_events(40, changed_rule=12)
        assert self.run(kit, changed, ledger).updated == 2
        got = next(h for h in kit.held() if h.key == moved.key)
        assert got.start.startswith(changed[12].start.isoformat()[:10])

    def test_past_events_are_never_moved_or_deleted(self, kit, ledger):
        desired = desired_events(40, past=6)
        self.run(kit, desired, ledger)
        later = desired_events(40, past=6, changed_rule=1)[
            6:
        ]  # the past ones dropped, one reworded
        report = self.run(kit, later, ledger)
        assert report.deleted == 0 and report.kept_past == 6
        held = {h.key: h for h in kit.held()}
        for p in desired[:6]:
            assert held[p.key].summary == p.summary  # left exactly as it was

    def test_disconnecting_removes_every_event_of_ours_and_nothing_else(self, kit, ledger):
        self.run(kit, desired_events(70, past=5), ledger)
        kit.emulator.faults.on_write(20, Fault("drop_after_commit"))
        removed = engine.remove_all(kit.remote(), ledger, backoff=FAST)
        assert removed >= 69  # one delete's answer was lost: it may be counted once less
        assert kit.held() == []
        assert ledger.entries() == {}

    def test_a_withdrawn_grant_stops_with_a_permanent_error(self, kit, ledger):
        self.run(kit, desired_events(10), ledger)
        kit.revoke()
        with pytest.raises(PermanentRemoteError) as caught:
            self.run(kit, desired_events(10, changed_rule=1), ledger)
        assert caught.value.kind == StopReason.GRANT_REVOKED

    def test_a_deleted_calendar_stops_with_a_permanent_error(self, kit, ledger):
        self.run(kit, desired_events(10), ledger)
        kit.delete_calendar()
        with pytest.raises(PermanentRemoteError) as caught:
            self.run(kit, desired_events(10), ledger)
        assert caught.value.kind == StopReason.CALENDAR_GONE


def wipe(ledger: SqlLedger) -> None:
    """Delete the ledger's rows, as a lost or restored-from-old-backup database would."""
    from sqlalchemy import delete

    with ledger.db.session() as session:
        session.execute(delete(LedgerRow))


def start_child(kit: Kit, ledger: SqlLedger, tmp_path: Path) -> subprocess.Popen[bytes]:
    """Run a sync of ``desired_events()`` in a worker process of its own."""
    config = {**kit.child_config(), "ledger": ledger.db.url, "connection": ledger.connection_id}
    path = tmp_path / "child.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENCOCAL_")}
    env["PYTHONPATH"] = str(ROOT)
    with open(tmp_path / "child.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "connectors" / "sync_child.py"), str(path)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def child_log(tmp_path: Path) -> str:
    """What the child process printed."""
    return (tmp_path / "child.log").read_text(errors="replace")[-2000:]


FAULTS = [
    Fault("status", status=503),
    Fault("status", status=500),
    Fault("status", status=429, retry_after=0),
    Fault("drop_after_commit"),
    Fault("drop_before_commit"),
    Fault("timeout", delay=2.0),
]


def run_random_faults(suite: ContractTests, kit: Kit, ledger: SqlLedger) -> None:
    """Random faults, random reruns, the ledger sometimes lost: it always converges."""
    profile = os.environ.get("SENCOCAL_HYPOTHESIS_EXAMPLES")
    examples = int(profile) if profile else 8

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(
        seed=st.integers(0, 2**31),
        rate=st.sampled_from([0.05, 0.15, 0.3]),
        change=st.sampled_from([None, 2, 7]),
        lose_ledger=st.booleans(),
    )
    def case(seed: int, rate: float, change: int | None, lose_ledger: bool) -> None:
        kit.reset()
        wipe(ledger)
        first = desired_events(80)
        kit.emulator.faults.at_random(rate, seed, FAULTS, writes_only=False)
        for _ in range(20):
            try:
                suite.run(kit, first, ledger, max_rounds=2)
                break
            except TransientRemoteError:
                continue
        if lose_ledger:
            wipe(ledger)
        second = desired_events(80, changed_rule=change)[: 70 if change else 80]
        for _ in range(20):
            try:
                suite.run(kit, second, ledger, max_rounds=2)
                break
            except TransientRemoteError:
                continue
        kit.emulator.faults.clear()
        suite.run(kit, second, ledger)
        assert_holds_exactly(kit, second)

    case()
