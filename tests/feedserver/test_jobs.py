"""The change pipeline on a real Redis: enqueue after commit, rq workers, dedup, retries, records.

Workers run with ``SimpleWorker(...).work(burst=True)`` in this process for deterministic runs,
and as real ``python worker.py`` processes where a process matters (killed half-way).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select, text, update

from feedserver import catalog, runtime, wording
from feedserver.pipeline import jobs
from feedserver.pipeline.dispatch import JobCall, RqDispatcher
from feedserver.storage.models import EventRow, Feed, Problem, School
from rules.event import ics_uid
from tests.feedserver.conftest import Server, _server

ROOT = Path(__file__).resolve().parents[2]
LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")  # the spring top-up round moves


@pytest.fixture
def queued(tmp_path: Any, redis_db: Any, redis_url: str) -> Iterator[Server]:
    """The app on SQLite with jobs on this run's Redis (no worker running yet)."""
    yield from _server(f"sqlite:///{tmp_path / 'queued.db'}", tmp_path / "q", redis_url)


def work(server: Server, *queues: str) -> None:
    """Run every job waiting on ``queues`` (all of them by default) in this process."""
    svc = server.services
    assert isinstance(svc.jobs, RqDispatcher)
    names = queues or ("evaluate", "fanout", "sync")
    with runtime.using(svc):
        SimpleWorker([svc.jobs.queue(n) for n in names], connection=svc.jobs.connection).work(
            burst=True, with_scheduler=False
        )


def waiting(server: Server, name: str) -> list[str]:
    return Queue(name, connection=server.services.jobs.connection).get_job_ids()


def events_of(server: Server, school: str) -> dict[str, Any]:
    with server.services.db.session() as s:
        rows = s.scalars(select(EventRow).where(EventRow.school_id == school)).all()
        return {r.uid: (r.sequence, r.content_hash, r.active) for r in rows}


def add_school(server: Server, demo: str = "demo-primary", **changes: Any) -> Any:
    profile = catalog.demo_school(demo).model_dump(mode="json")
    profile.update(changes)
    answer = server.client.post("/api/schools", json=profile, headers=server.headers())
    assert answer.status_code == 201, answer.json
    return answer


# ------------------------------------------------------------------------------- the seam


def test_a_request_queues_its_school_and_the_worker_evaluates_it(queued: Server):
    queued.publish(LA, "la-example.yaml")
    work(queued)
    answer = add_school(queued)
    assert answer.json["status"]["up_to_date"] is False  # queued, not evaluated in the request
    assert waiting(queued, "evaluate") == ["evaluate_school__demo-primary__profile"]
    assert events_of(queued, "demo-primary") == {}
    work(queued)
    assert len(events_of(queued, "demo-primary")) > 300
    status = queued.client.get("/api/schools/demo-primary", headers=queued.headers()).json
    assert status["status"]["up_to_date"] is True


def test_a_new_feed_serves_at_once_without_waiting_for_a_worker(queued: Server):
    queued.publish(LA, "la-example.yaml")
    add_school(queued)
    work(queued)
    path = queued.new_feed("demo-primary", "governors")
    answer = queued.client.get(path)  # no worker has run since the feed was made
    assert answer.status_code == 200
    assert answer.data.count(b"BEGIN:VEVENT") > 10


def test_a_job_that_is_already_waiting_is_not_queued_twice(queued: Server):
    add_school(queued)
    for rules_off in (["senco-annual-cycle:slt-send-meeting"], []):
        answer = queued.client.patch(
            "/api/schools/demo-primary", json={"rules_off": rules_off}, headers=queued.headers()
        )
        assert answer.status_code == 200
    assert waiting(queued, "evaluate") == ["evaluate_school__demo-primary__profile"]


def test_a_running_job_gets_one_follow_up_run_queued_behind_it(queued: Server):
    dispatcher = queued.services.jobs
    call = JobCall(jobs.evaluate_school, ("demo-primary",), "profile")
    dispatcher.submit([call])
    job = Job.fetch(call.key, connection=dispatcher.connection)
    job.set_status(JobStatus.STARTED)  # as a worker does when it takes the job
    dispatcher.submit([call])
    dispatcher.submit([call])  # the follow-up is waiting now: not queued again
    assert waiting(queued, "evaluate") == [call.key, f"{call.key}__1"]


def test_nothing_is_queued_when_the_request_is_refused(queued: Server):
    answer = queued.client.post(
        "/api/schools", json={"id": "bad", "name": ""}, headers=queued.headers()
    )
    assert answer.status_code == 422
    assert waiting(queued, "evaluate") == []


def test_a_publication_fans_out_to_every_school_of_the_la_through_the_queue(queued: Server):
    queued.publish(LA, "la-example.yaml")
    for i in range(6):
        add_school(queued, id=f"school-{i}", name=f"School {i}")
    add_school(queued, id="elsewhere", name="Elsewhere", la_code="888")
    work(queued)
    paths = {f"school-{i}": queued.new_feed(f"school-{i}", "senco") for i in range(6)}
    work(queued)
    before = {k: queued.client.get(p).headers["ETag"] for k, p in paths.items()}
    changed = MOVED
    answer = queued.publish(changed, "la-example.yaml")
    assert answer.status_code == 201
    assert answer.json["schools_reached"] == answer.json["schools_queued"] == 6
    assert waiting(queued, "fanout") and not waiting(queued, "evaluate")
    work(queued, "fanout")
    assert sorted(waiting(queued, "evaluate")) == sorted(
        f"evaluate_school__school-{i}__pack" for i in range(6)
    )
    work(queued)
    after = {k: queued.client.get(p).headers["ETag"] for k, p in paths.items()}
    assert all(after[k] != before[k] for k in paths)


def test_the_in_process_and_the_queued_path_give_identical_databases_and_feeds(
    server: Server, queued: Server
):
    def run(target: Server, drain: bool) -> tuple[Any, ...]:
        def settle() -> None:  # the queued path catches up where the in-process one already is
            if drain:
                work(target, "fanout")
                work(target)

        target.publish(LA, "la-example.yaml")
        settle()
        add_school(target)
        add_school(target, "demo-secondary")
        settle()
        paths = [
            target.new_feed(s, a)
            for s in ("demo-primary", "demo-secondary")
            for a in ("senco", "governors")
        ]
        settle()
        target.client.patch(
            "/api/schools/demo-secondary",
            json={"closure_days": ["2027-05-06"]},
            headers=target.headers(),
        )
        settle()
        target.publish(MOVED, "la-example.yaml")
        settle()
        with target.services.db.session() as s:
            rows = sorted(
                (
                    r.school_id,
                    r.uid,
                    r.sequence,
                    r.content_hash,
                    r.active,
                    json.dumps(r.body, sort_keys=True),
                )
                for r in s.scalars(select(EventRow))
            )
            schools = sorted(
                (r.id, r.evaluated_fingerprint, json.dumps(r.warnings, sort_keys=True))
                for r in s.scalars(select(School))
            )
        feeds = [target.client.get(p).data for p in paths]
        return rows, schools, feeds

    inline = run(server, drain=False)
    queued_ = run(queued, drain=True)
    assert inline[0] == queued_[0]
    assert inline[1] == queued_[1]
    assert inline[2] == queued_[2]
    assert len(inline[0]) > 600


# ------------------------------------------------------------------------------- failures


def test_a_school_whose_job_fails_is_recorded_and_the_others_are_updated(queued: Server):
    queued.publish(LA, "la-example.yaml")
    add_school(queued)
    add_school(queued, "demo-secondary")
    work(queued)
    with queued.services.db.session() as s:  # a stored profile an older version accepted
        s.execute(
            update(School)
            .where(School.id == "demo-primary")
            .values(profile={**s.get(School, "demo-primary").profile, "phases": []})
        )
    queued.publish(MOVED, "la-example.yaml")
    work(queued, "fanout")
    work(queued)
    with queued.services.db.session() as s:
        problems = s.scalars(select(Problem)).all()
        assert [(p.school_id, p.kind) for p in problems] == [("demo-primary", "profile_invalid")]
        assert problems[0].details["problems"][0]["field"] == "phases"
        secondary = s.get(School, "demo-secondary")
        assert secondary.evaluated_fingerprint is not None
    moved = [
        uid
        for uid, (seq, _, _) in events_of(queued, "demo-secondary").items()
        if "topup-round-spring/2026" in uid and seq == 1
    ]
    assert moved  # demo-secondary got the new date although demo-primary failed
    page = queued.client.get("/api/schools/demo-primary", headers=queued.headers()).json
    assert "fail validation" in page["status"]["problems"][0]["message"]


def test_a_database_that_is_down_is_retried_later_not_recorded_as_a_bug(
    queued: Server, redis_url: str, tmp_path: Any
):
    from feedserver.config import Config

    down = runtime.Services.from_config(
        Config.from_mapping(
            {
                "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                "REDIS_URL": redis_url,
            },
            tmp_path,
        )
    )
    queue = down.jobs.queue("evaluate")
    down.jobs.submit([JobCall(jobs.evaluate_school, ("demo-primary",), "profile")])
    started = time.time()
    with runtime.using(down):
        SimpleWorker([queue], connection=down.jobs.connection).work(burst=True)
    scheduled = queue.scheduled_job_registry
    ids = scheduled.get_job_ids()
    assert ids == ["evaluate_school__demo-primary__profile__1"]
    job = Job.fetch(ids[0], connection=down.jobs.connection)
    assert job.kwargs == {"reason": "profile", "attempt": 1}
    when = scheduled.get_scheduled_time(ids[0]).timestamp()
    assert started + jobs.BACKOFF[0] - 1 <= when <= time.time() + jobs.BACKOFF[0] + 1
    assert queue.failed_job_registry.get_job_ids() == []
    down.close()


def test_an_unexpected_error_is_recorded_and_left_in_rqs_failed_registry(queued: Server):
    add_school(queued)
    work(queued)
    with queued.services.db.session() as s:  # a feed for an audience nobody knows: a bug
        s.add(Feed(school_id="demo-primary", audience="parents", created_at=queued.clock.now()))
    call = JobCall(jobs.evaluate_school, ("demo-primary",), "feed")
    queued.services.jobs.submit([call])
    work(queued)
    failed = queued.services.jobs.queue("evaluate").failed_job_registry.get_job_ids()
    assert failed == [call.key]
    with queued.services.db.session() as s:
        (problem,) = s.scalars(select(Problem)).all()
        assert (problem.school_id, problem.kind, problem.details) == (
            "demo-primary",
            "unexpected",
            {"error": "ValueError"},
        )


# ------------------------------------------------------------------------------- processes


class WorkerProcess:
    """``python worker.py`` in a session of its own (so its scheduler child can be found too)."""

    def __init__(self, database_url: str, redis_url: str, log: Path, *args: str) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, seconds: float) -> int:
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"worker still running; its log:\n{self.log.read_text()}"
            ) from None

    def kill_parent(self) -> None:
        """SIGKILL the worker itself (not its scheduler child), as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the scheduler child, if it outlived it
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._out.close()


@pytest.fixture
def pg_queued(postgres_url: str, redis_db: Any, redis_url: str, tmp_path: Any) -> Iterator[Server]:
    """The app on this run's PostgreSQL with jobs on this run's Redis."""
    yield from _server(postgres_url, tmp_path, redis_url)


def test_a_worker_killed_half_way_through_a_fan_out_converges_when_run_again(
    pg_queued: Server, postgres_url: str, redis_url: str, tmp_path: Path
):
    server = pg_queued
    server.publish(LA, "la-example.yaml")
    schools = [f"school-{i:02d}" for i in range(40)]
    for school in schools:
        add_school(server, id=school, name=school)
    work(server)
    server.publish(MOVED, "la-example.yaml")
    work(server, "fanout")  # 40 evaluations waiting

    def moved() -> int:
        with server.services.db.session() as s:
            return int(
                s.scalar(
                    text(
                        "SELECT count(*) FROM events WHERE uid LIKE '%/topup-round-spring/2026'"
                        " AND sequence = 1"
                    )
                )
            )

    first = WorkerProcess(postgres_url, redis_url, tmp_path / "first.log", "evaluate")
    workers = [first]
    try:
        deadline = time.time() + 60
        while moved() < 5 and time.time() < deadline:
            time.sleep(0.05)
        first.kill_parent()  # its scheduler child lives on, as an orphan would
        half = moved()
        assert 0 < half < len(schools), "the worker was not stopped half-way"
        # A new worker finishes the queue; the nightly refresh picks up the job that died.
        for args in (("evaluate", "--burst"), ("--burst",)):
            rerun = WorkerProcess(postgres_url, redis_url, tmp_path / "rerun.log", *args)
            workers.append(rerun)
            assert rerun.wait(120) == 0, rerun.log.read_text()
            with runtime.using(server.services):
                jobs.refresh_stale(reason="nightly")
    finally:
        for worker in workers:
            worker.close()
    assert moved() == len(schools)
    with server.services.db.session() as s:
        uids = s.scalars(select(EventRow.uid).where(EventRow.active.is_(True))).all()
        assert len(uids) == len(set(uids))
        fingerprints = set(s.scalars(select(School.evaluated_fingerprint)))
        assert None not in fingerprints


def _refresh_in_a_process(database_url: str, school_id: str, start_at: float) -> int:
    """Run in a separate process: refresh one school (forced) at an agreed moment."""
    from feedserver.clock import FixedClock
    from feedserver.config import Config
    from feedserver.pipeline import refresh

    services = runtime.Services.from_config(
        Config.from_mapping({"DATABASE_URL": database_url}),
        clock=FixedClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)),
    )
    time.sleep(max(0.0, start_at - time.time()))
    with services.db.session() as session:
        result = refresh.refresh_school(
            session, school_id, dt.date(2026, 11, 23), services.clock.now(), force=True
        )
    services.close()
    return len(result.diff.creates)


def test_two_processes_refreshing_one_school_at_once_on_postgresql_both_succeed(
    pg_queued: Server, postgres_url: str
):
    import concurrent.futures
    import multiprocessing

    server = pg_queued
    server.publish(LA, "la-example.yaml")
    add_school(server)
    work(server)
    with server.services.db.session() as s:
        s.execute(text("DELETE FROM events WHERE school_id = 'demo-primary'"))
    start = time.time() + 1.5
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        runs = [
            pool.submit(_refresh_in_a_process, postgres_url, "demo-primary", start)
            for _ in range(2)
        ]
        created = sorted(r.result(timeout=120) for r in runs)
    assert created[0] == 0 and created[1] > 300  # one wrote them, the other found them written
    assert len(events_of(server, "demo-primary")) == created[1]


# ------------------------------------------------------------------------------- schedules


def test_the_schedules_register_the_nightly_rollover_and_weekly_jobs(redis_db: Any):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_db)
    scheduler.load_config_from_file("feedserver.pipeline.schedules")
    found = {
        (j.name, j.func_name, j.queue_name, j.cron, j.kwargs["reason"])
        for j in scheduler.get_jobs()
    }
    assert found == {
        (
            "nightly refresh",
            "feedserver.pipeline.jobs.refresh_stale",
            "fanout",
            "15 2 * * *",
            "nightly",
        ),
        (
            "1 September rollover",
            "feedserver.pipeline.jobs.refresh_stale",
            "fanout",
            "5 0 1 9 *",
            "rollover",
        ),
        (
            "weekly readiness check",
            "feedserver.pipeline.jobs.readiness_check",
            "fanout",
            "0 6 * * 1",
            "weekly",
        ),
    }


def test_the_nightly_refresh_queues_only_schools_with_work_to_do(queued: Server):
    queued.publish(LA, "la-example.yaml")
    add_school(queued)
    add_school(queued, "demo-secondary")
    work(queued)
    with queued.services.db.session() as s:
        s.execute(
            update(School).where(School.id == "demo-secondary").values(evaluated_fingerprint="old")
        )
    with runtime.using(queued.services):
        assert jobs.refresh_stale(reason="nightly") == {"schools": 1, "calendars": 0}
    assert waiting(queued, "evaluate") == ["evaluate_school__demo-secondary__nightly"]


def test_the_rollover_moves_every_school_to_the_new_window(server: Server):
    server.publish(LA, "la-example.yaml")
    add_school(server)
    path = server.new_feed("demo-primary", "senco")
    server.clock.at = dt.datetime(2027, 9, 1, 0, 5, tzinfo=dt.UTC)
    with runtime.using(server.services):
        assert jobs.refresh_stale(reason="rollover") == {"schools": 1, "calendars": 0}
    with server.services.db.session() as s:
        feed = s.scalars(select(Feed)).one()
        assert feed.window_start == 2027
        years = set(s.scalars(select(EventRow.academic_year)))
        assert years == {2026, 2027, 2028}  # 2026 kept one more year, then pruned
        next_year = {
            ics_uid(u)
            for u in s.scalars(select(EventRow.uid).where(EventRow.academic_year == 2028))
        }
    feed_uids = icalendar.Calendar.from_ical(server.client.get(path).data).walk("VEVENT")
    assert next_year & {str(v["UID"]) for v in feed_uids}


def test_the_readiness_check_records_next_years_missing_dates_for_the_admin(server: Server):
    server.publish(LA, "la-example.yaml")
    add_school(server)
    add_school(server, id="no-dates", name="No Dates Primary", la_code="888")
    with runtime.using(server.services):
        found = jobs.readiness_check(reason="weekly")
    assert found["year"] == 2027 and found["schools"] >= 1
    with server.services.db.session() as s:
        problem = s.scalars(select(Problem).where(Problem.source == "readiness_check")).one()
        assert problem.kind == "next_year_not_ready"
        assert {"id": "no-dates", "name": "No Dates Primary"} in problem.details["schools"]
        assert "demo-primary" not in {d["id"] for d in problem.details["schools"]}
        words = wording.problem_for_admin(problem)
    assert words.startswith("Next year is not ready:")
    assert "1 school has no term dates for 2027/28 yet (No Dates Primary)" in words


def test_a_served_app_without_redis_runs_jobs_on_its_own_thread_not_in_the_request(
    tmp_path: Path, caplog: Any
):
    import logging
    import threading

    from feedserver import create_app
    from feedserver.config import Config
    from feedserver.storage import apikeys

    app = create_app(
        Config.from_mapping({"DATABASE_URL": f"sqlite:///{tmp_path / 'bg.db'}"}, tmp_path),
        background_jobs=True,
    )
    svc = app.extensions["sencocal"]
    svc.db.upgrade()
    with svc.db.session() as s:
        key = apikeys.create_key(s, "admin", svc.clock.now(), label="t")
    server = Server(app, app.test_client(), None, key)  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG, logger="feedserver.jobs")
    server.publish(LA, "la-example.yaml")
    add_school(server)
    add_school(server, "demo-secondary")
    assert svc.jobs.wait(60)
    answer = server.publish(MOVED, "la-example.yaml")
    assert answer.status_code == 201 and answer.json["schools_queued"] == 2
    assert svc.jobs.wait(60)
    ran = [r for r in caplog.records if r.getMessage().startswith("running ")]
    assert {r.getMessage().split()[1] for r in ran} >= {
        "fan_out_pack__2__publish",
        "evaluate_school__demo-primary__pack",
        "evaluate_school__demo-secondary__pack",
    }
    assert {r.threadName for r in ran} == {"sencocal-jobs"}
    assert threading.current_thread().name not in {r.threadName for r in ran}
    moved = [uid for uid, (seq, _, _) in events_of(server, "demo-primary").items()
             if "topup-round-spring/2026" in uid and seq == 1]  # fmt: skip
    assert moved
    svc.close()
