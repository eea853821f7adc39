"""Benchmark: the change pipeline, a pack change fanned out to every school's feed.

    python bench/jobs.py [--schools 500] [--rss-jobs 10000] [--get-rate 20] [--baseline 10]

Setup (not timed): a PostgreSQL database of its own (``sencocal_bench_<random>``, dropped at the
end), a Redis database index of its own (1-15, claimed with ``SET NX``, flushed at the end), the
demo LA pack (``la-example``) published, ``--schools`` copies of the demo primary school in that
LA (new ids, names and URNs; 24 variants of INSET days and parents' evenings, so the evaluation
memo has real branches), a ``senco`` feed and a token each, every school evaluated once, and the
app served by ``gunicorn -c deploy/gunicorn.conf.py feedserver.wsgi:app`` (2 workers, feed cache
off so every GET reads the database).

The change: the LA pack republished with its 2026 spring top-up round moved a week
(2027-02-05 -> 2027-02-12; back again in run 2), which moves two events (the deadline and its
prep task) in every school's feed. Each run times the publish until every school's feed serves
its new bytes over HTTP, as a client sees it: a poller (its own process) walks the schools in
fan-out order with ``If-None-Match: <old ETag>`` until each answers 200 with a new ETag holding
the new date. Meanwhile a sampler (another process) GETs random feeds (gzip, a new connection
each, ``--get-rate`` per second) and records latencies, first for ``--baseline`` seconds idle.

    run 1, in-process  POST /api/packs to an app with no REDIS_URL (fixed clock 2026-11-23): the
                       request runs the fan-out after its commit, in the request's thread
    run 2, 2 workers   two ``python worker.py`` processes (warmed with a few jobs first), and
                       POST /api/packs to an app with REDIS_URL: the fan-out is queued (1 fan-out
                       job + one evaluate job per school). Also counts Redis commands: INFO
                       commandstats (the whole server) and MONITOR filtered to this bench's
                       database index (exact; round trips count a MULTI..EXEC block once)
    worker RSS         one fresh ``python worker.py``; ``--rss-jobs`` evaluate_school jobs in
                       rounds of one job per school (reason ``bench-<round>``), the LA pack
                       republished between rounds (alternating the two dates) so every job
                       re-evaluates, applies a diff and re-renders; VmRSS sampled after each round

Each run also prints the CPU seconds its processes used (job runner, PostgreSQL backends of the
bench database, gunicorn, Redis) against the machine's busy time, so noise from other work on
the machine is visible. Targets (2 cores): in-process < 30 s, 2 workers < 20 s, worker RSS flat
(< 10 % growth from half-way to the end), feed GET p99 < 100 ms during the fan-out. Asserts
nothing; the last line is the summary::

    fan-out 500 schools: in-process X s, 2 workers Y s, worker RSS Z MB

Needs PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres; ``SENCOCAL_BENCH_POSTGRES_ADMIN``
to change) and Redis at 127.0.0.1:6379 (``SENCOCAL_BENCH_REDIS``). Every process it starts is
stopped at the end, also on Ctrl-C or SIGTERM; the database is dropped and the Redis index
flushed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import math
import multiprocessing as mp
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import (
    ROOT,
    TICK,
    CpuGroups,
    Processes,
    bench_database,
    bench_redis,
    children,
    cpu_ticks,
    free_port,
    la_text,
    pids_matching,
    profiles,
    rss_mb,
)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # the in-process runs' fixed clock
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
DATES = ("2027-02-05", "2027-02-12")
RULE = "topup-round-spring"
TARGET_INLINE = 30.0
TARGET_WORKERS = 20.0
TARGET_P99_MS = 100.0
TARGET_RSS_GROWTH = 0.10


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    """One GET on a new connection (gunicorn's sync workers close it after each response)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def wait_ready(port: int, proc: subprocess.Popen[bytes], procs: Processes, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start-up:\n{procs.log_tail(name)}")
        try:
            if fetch(port, "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not answer on port {port} within 30 s:\n{procs.log_tail(name)}")


def gunicorn_argv(app: str) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
    from gunicorn import config

    if hasattr(config, "ControlSocketDisable"):  # gunicorn >= 24 opens ~/.gunicorn/gunicorn.ctl
        argv.append("--no-control-socket")
    return [*argv, app]


@dataclass
class Bench:
    """What the runs share."""

    args: argparse.Namespace
    tmp: Path
    procs: Processes
    db_url: str
    redis_url: str
    port: int
    ids: list[str]
    paths: dict[str, str]  # school id -> /feeds/<token>.ics of its senco feed
    admin_key: str
    app_inline: Any
    app_rq: Any
    clock: Any
    gunicorn: subprocess.Popen[bytes] | None = None
    children: list[Any] = field(default_factory=list)  # multiprocessing children

    @property
    def services(self) -> Any:
        """The in-process app's services (its database, clock and memo)."""
        return self.app_inline.extensions["sencocal"]

    def env(self, redis: bool = True) -> dict[str, str]:
        """The environment of the workers, or of gunicorn (``redis=False``: no REDIS_URL)."""
        from cryptography.fernet import Fernet

        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}",
            SECRET_KEY=secrets.token_urlsafe(32),
            SENCOCAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            SENCOCAL_BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY="2",
            SENCOCAL_FEED_CACHE_SECONDS="0",  # every GET reads the database: no cache delay
            SENCOCAL_ACCESS_LOG="/dev/null",
        )
        env.pop("SENCOCAL_PRODUCTION", None)
        if not redis:
            env.pop("REDIS_URL")
        return env


def make_apps(db_url: str, redis_url: str, port: int, clock: Any) -> tuple[Any, Any]:
    from cryptography.fernet import Fernet

    from feedserver import create_app
    from feedserver.config import Config

    settings = {
        "DATABASE_URL": db_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SENCOCAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SENCOCAL_FEED_CACHE_SECONDS": "0",
    }
    inline = create_app(Config.from_mapping(settings), clock=clock)
    queued = create_app(Config.from_mapping({**settings, "REDIS_URL": redis_url}), clock=clock)
    return inline, queued


def setup(bench: Bench) -> None:
    """Schema, the LA pack, the schools with a feed and a token each, one evaluation each."""
    from feedserver import runtime
    from feedserver.pipeline import jobs
    from feedserver.storage import apikeys, packstore, schools, subscriptions

    svc = bench.services
    n = bench.args.schools
    t0 = time.perf_counter()
    svc.db.upgrade()
    with svc.db.session() as session:
        packstore.publish(session, la_text(DATES[0]), "la-example.yaml", "bench", NOW)
        bench.admin_key = apikeys.create_key(session, "admin", NOW, label="bench")
    made = profiles(n)
    for start in range(0, n, 100):
        with svc.db.session() as session:
            for profile in made[start : start + 100]:
                row = schools.save(session, profile, "bench", NOW)
                feed = subscriptions.ensure_feed(session, row, "senco", "bench", NOW)
                token = subscriptions.add_token(session, feed, "bench", "bench", NOW)
                url = subscriptions.feed_url(svc.config.public_base_url, token)
                bench.paths[profile.id] = url[url.index("/feeds/") :]
                bench.ids.append(profile.id)
    t1 = time.perf_counter()
    evaluated = 0
    with runtime.using(svc):
        for school_id in bench.ids:
            result = jobs.evaluate_school(school_id, reason="setup")
            evaluated += bool(result and result.get("evaluated"))
    t2 = time.perf_counter()
    with svc.db.engine.connect() as conn:
        from sqlalchemy import text

        events = conn.execute(text("select count(*) from events where active")).scalar_one()
    print(
        f"setup: {n} schools stored in {t1 - t0:.1f} s; evaluated {evaluated} in-process in "
        f"{t2 - t1:.1f} s ({(t2 - t1) / max(n, 1) * 1000:.0f} ms per school, one shared memo), "
        f"{events:,} live events ({events / max(n, 1):.0f} per school)"
    )
    if evaluated != n:
        raise SystemExit(f"setup evaluated only {evaluated} of {n} schools")


def spring_sequences(bench: Bench) -> dict[tuple[str, str], int]:
    """SEQUENCE of every live event of the 2026 spring top-up round (deadline and prep)."""
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select school_id, uid, sequence from events "
                "where academic_year = 2026 and active and uid like :rule"
            ),
            {"rule": f"%{RULE}%"},
        )
        return {(r[0], r[1]): r[2] for r in rows}


def check_sequences(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> str:
    rose = sum(1 for k, v in after.items() if k in before and v == before[k] + 1)
    schools = len({k[0] for k in after})
    return (
        f"SEQUENCE rose by one on {rose} of {len(after)} spring-round events "
        f"({schools} schools): {'yes' if rose == len(after) == len(before) > 0 else 'NO'}"
    )


def count_problems(bench: Bench) -> int:
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from problems")).scalar_one())


# --- the HTTP poller and the latency sampler (child processes, so no GIL is shared) --------------


def poll_feeds(
    port: int,
    items: list[tuple[str, str, str]],
    expect: bytes,
    go: Any,
    out: Any,
    timeout: float,
) -> None:
    """Walk the schools in fan-out order until each feed serves new bytes; report when.

    Each school is asked ``If-None-Match: <old ETag>`` until it answers 200 with another ETag,
    then the next, waiting about half the recent time between changes before asking again (so
    about two GETs per school, and the last change is seen within ~0.1 s); one that has not
    changed for 3 s goes to the back, so a failed school cannot stall the walk.
    """
    go.wait()
    start = time.monotonic()
    pending = deque(items)
    found: dict[str, tuple[float, str, bool]] = {}
    statuses: Counter[int] = Counter()
    head_since = start
    pace = 0.05  # seconds between changes seen, smoothed: wait about half of it between asks
    while pending and time.monotonic() - start < timeout:
        school_id, path, old = pending[0]
        try:
            reply = fetch(port, path, {"Accept-Encoding": "gzip", "If-None-Match": old})
        except OSError:
            statuses[0] += 1
            time.sleep(0.05)
            continue
        statuses[reply.status] += 1
        etag = reply.headers.get("etag", "")
        if reply.status == 200 and etag != old:
            seen = time.monotonic()
            found[school_id] = (seen, etag, expect in gzip.decompress(reply.body))
            pending.popleft()
            pace = 0.8 * pace + 0.2 * (seen - head_since)
            head_since = seen
            continue
        if time.monotonic() - head_since > 3.0:
            pending.rotate(-1)
            head_since = time.monotonic()
        else:
            time.sleep(min(0.1, max(0.01, pace / 2)))
    out.put({"found": found, "missing": [p[0] for p in pending], "statuses": dict(statuses)})


def sample_latency(port: int, paths: list[str], rate: float, stop: Any, out: Any) -> None:
    """GET random feeds at ``rate`` per second (gzip, new connection each) until told to stop."""
    rng = random.Random(7)
    interval = 1.0 / rate
    samples: list[tuple[float, float, int]] = []
    next_at = time.monotonic()
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            status = fetch(port, rng.choice(paths), {"Accept-Encoding": "gzip"}).status
        except OSError:
            status = 0
        t1 = time.monotonic()
        samples.append((t0, (t1 - t0) * 1000, status))
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at = time.monotonic()  # fell behind: no catch-up burst
    out.put(samples)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Latency:
    """Percentiles of feed GET latencies (ms)."""

    count: int
    p50: float
    p99: float
    max: float
    errors: int

    @classmethod
    def of(cls, samples: list[tuple[float, float, int]]) -> Latency:
        """From (start, ms, status) samples."""
        ms = [s[1] for s in samples]
        bad = sum(1 for s in samples if s[2] != 200)
        return cls(len(ms), percentile(ms, 0.5), percentile(ms, 0.99), max(ms, default=0.0), bad)

    def __str__(self) -> str:
        return (
            f"{self.count} GETs, p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, max "
            f"{self.max:.1f} ms" + (f", {self.errors} not 200" if self.errors else "")
        )


# --- Redis command counts -------------------------------------------------------------------------


def commandstats_calls(client: Any) -> int:
    """Every command the Redis server has run (INFO commandstats, all databases and clients)."""
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


class RedisMonitor:
    """MONITOR in a thread, keeping (time, client, command) of commands on one database index.

    Exact for this bench's index where INFO commandstats counts the whole server. Round trips
    count a MULTI ... EXEC block once (rq writes most state in such pipelines).
    """

    def __init__(self, redis_url: str) -> None:
        import redis

        self.index = int(redis_url.rsplit("/", 1)[1])
        self.client = redis.Redis.from_url(redis_url)
        self.seen: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start listening."""
        self._thread.start()
        time.sleep(0.2)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            for cmd in monitor.listen():
                if cmd["db"] != self.index:
                    continue
                name = cmd["command"].split(" ", 1)[0].upper()
                if self._stop.is_set() and cmd["command"] == "ECHO sencocal-bench-stop":
                    return
                client = f"{cmd['client_address']}:{cmd['client_port']}"
                self.seen.append((float(cmd["time"]), client, name))

    def stop(self) -> None:
        """Stop listening (a marker command on our index ends the loop)."""
        self._stop.set()
        self.client.echo("sencocal-bench-stop")
        self._thread.join(5)
        if self._thread.is_alive():
            print("  (warning: the MONITOR thread did not stop; it keeps reading)")
        self.client.close()

    def window(self, start: float, end: float) -> tuple[int, int, Counter[str]]:
        """(commands, round trips, commands by name) between two wall-clock times."""
        commands = 0
        trips = 0
        names: Counter[str] = Counter()
        in_multi: set[str] = set()
        for at, client, name in self.seen:
            if not start <= at <= end:
                continue
            commands += 1
            names[name] += 1
            if name == "MULTI":
                in_multi.add(client)
                trips += 1
            elif name in {"EXEC", "DISCARD"}:
                in_multi.discard(client)
            elif client not in in_multi:
                trips += 1
        return commands, trips, names


# --- one measured run ------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What one measured run found."""

    label: str
    seconds: float
    publish_seconds: float
    changed: int
    missing: list[str]
    wrong_body: int
    idle: Latency
    during: Latency
    poll_gets: int
    cpu: dict[str, float]
    busy: float
    stolen: float
    wall: float
    answer: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def measure(
    bench: Bench,
    label: str,
    before: dict[str, str],
    date: str,
    publish: Callable[[], dict[str, Any]],
    cpu: CpuGroups,
    around: tuple[Callable[[], None], Callable[[float, float], None]] | None = None,
) -> RunResult:
    """Publish with ``publish`` and time it until every feed serves new bytes (see the docstring)."""
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    polled, sampled = ctx.Queue(), ctx.Queue()
    items = [(sid, bench.paths[sid], before[sid]) for sid in bench.ids]
    expect = b"DTSTART;VALUE=DATE:" + date.replace("-", "").encode()
    poller = ctx.Process(
        target=poll_feeds,
        args=(bench.port, items, expect, go, polled, bench.args.timeout),
        daemon=True,
    )
    sampler = ctx.Process(
        target=sample_latency,
        args=(bench.port, list(bench.paths.values()), bench.args.get_rate, stop, sampled),
        daemon=True,
    )
    bench.children += [poller, sampler]
    poller.start()
    sampler.start()
    cpu.groups["poller + sampler"] = lambda: [p for p in (poller.pid, sampler.pid) if p]
    time.sleep(bench.args.baseline)  # the sampler's idle baseline (workers idle, if any)
    if around:
        around[0]()
    cpu.begin()
    wall0 = time.time()
    t0 = time.monotonic()
    go.set()
    answer = publish()
    t_published = time.monotonic()
    result = polled.get(timeout=bench.args.timeout + 60)
    t_seen = time.monotonic()
    used, busy, stolen, wall = cpu.end()
    found: dict[str, tuple[float, str, bool]] = result["found"]
    t_done = max((v[0] for v in found.values()), default=t_seen)
    if around:
        around[1](wall0, wall0 + (t_done - t0))
    stop.set()
    samples = sampled.get(timeout=60)
    poller.join(10)
    sampler.join(10)
    for etag_sid, (_, etag, _) in found.items():
        before[etag_sid] = etag  # the next run's "old" ETags
    return RunResult(
        label=label,
        seconds=t_done - t0,
        publish_seconds=t_published - t0,
        changed=len(found),
        missing=result["missing"],
        wrong_body=sum(1 for v in found.values() if not v[2]),
        idle=Latency.of([s for s in samples if s[0] < t0]),
        during=Latency.of([s for s in samples if t0 <= s[0] <= t_done]),
        poll_gets=sum(result["statuses"].values()),
        cpu=used,
        busy=busy,
        stolen=stolen,
        wall=wall,
        answer=answer,
    )


def print_run(r: RunResult, n: int, check: str, runner: str) -> None:
    print(
        f"  every feed new after {r.seconds:.1f} s ({n / r.seconds:.1f} schools/s); "
        f"publish call returned after {r.publish_seconds:.2f} s; API said {r.answer}"
    )
    ok = r.changed == n and not r.missing and not r.wrong_body
    print(
        f"  feeds seen new over HTTP: {r.changed}/{n}"
        + (
            f", never changed: {r.missing[:5]}{'...' if len(r.missing) > 5 else ''}"
            if r.missing
            else ""
        )
        + (f", {r.wrong_body} without the new date" if r.wrong_body else "")
        + f" ({'ok' if ok else 'NOT ok'}; poller made {r.poll_gets} GETs); {check}"
    )
    print(f"  feed GETs idle before:     {r.idle}")
    print(
        f"  feed GETs during fan-out:  {r.during}; p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'met' if r.during.p99 < TARGET_P99_MS else 'NOT met'}"
    )
    ours = sum(r.cpu.values())
    cells = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu.items())
    print(
        f"  CPU seconds over {r.wall:.1f} s: {cells}; machine busy {r.busy:.1f} "
        f"({r.busy / max(r.wall, 1e-9):.2f} of {os.cpu_count()} cores), of which not ours "
        f"{max(r.busy - ours, 0):.1f}; stolen by the hypervisor {r.stolen:.1f}"
    )
    per = [f"{runner} {r.cpu[runner] / n * 1000:.0f}"]
    per += [f"{k} {r.cpu[k] / n * 1000:.1f}" for k in ("postgres", "redis") if k in r.cpu]
    print(f"  CPU ms per school: {', '.join(per)}")


# --- workers ------------------------------------------------------------------------------------


def start_worker(bench: Bench, name: str) -> subprocess.Popen[bytes]:
    return common.start_worker(bench.procs, name, bench.env())


def wait_workers(bench: Bench, count: int, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    conn = bench.app_rq.extensions["sencocal"].jobs.connection
    common.wait_workers(bench.procs, conn, count, procs)


def queue_idle(bench: Bench) -> bool:
    dispatcher = bench.app_rq.extensions["sencocal"].jobs
    for name in ("evaluate", "fanout"):
        queue = dispatcher.queue(name)
        if queue.count or queue.started_job_registry.count:
            return False
    return True


def failed_jobs(bench: Bench) -> int:
    dispatcher = bench.app_rq.extensions["sencocal"].jobs
    return sum(dispatcher.queue(q).failed_job_registry.count for q in ("evaluate", "fanout"))


def evaluated_at(bench: Bench) -> dict[str, Any]:
    """When each school was last evaluated (a job that found nothing changed leaves it)."""
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(text("select id, evaluated_at from schools"))}


def submit_and_wait(bench: Bench, ids: list[str], reason: str, timeout: float) -> float:
    """Queue evaluate_school for ``ids``; wait until each was evaluated and rq is idle; seconds."""
    from feedserver.pipeline import jobs
    from feedserver.pipeline.dispatch import JobCall

    before = evaluated_at(bench)
    dispatcher = bench.app_rq.extensions["sencocal"].jobs
    t0 = time.monotonic()
    dispatcher.submit([JobCall(jobs.evaluate_school, (sid,), reason) for sid in ids])
    while time.monotonic() - t0 < timeout:
        now = evaluated_at(bench)
        if all(now[s] != before[s] for s in ids) and queue_idle(bench):
            return time.monotonic() - t0
        time.sleep(0.5)
    raise SystemExit(
        f"jobs '{reason}' not done after {timeout:.0f} s ({failed_jobs(bench)} failed in rq, "
        f"{count_problems(bench)} problem records)"
    )


def republish(bench: Bench, date: str) -> None:
    """Publish the LA pack with ``date`` and no fan-out (the caller queues the jobs itself)."""
    from feedserver.storage import packstore

    bench.clock.advance(minutes=1)
    with bench.services.db.session() as session:
        _, new = packstore.publish(
            session, la_text(date), "la-example.yaml", "bench", bench.clock.now()
        )
    assert new, "republishing should make a new version"


def force_evaluation(bench: Bench, ids: list[str]) -> None:
    from sqlalchemy import text

    with bench.services.db.engine.begin() as conn:
        conn.execute(
            text("update schools set evaluated_fingerprint = null where id = any(:ids)"),
            {"ids": ids},
        )


# --- the runs ----------------------------------------------------------------------------------


def post_pack(app: Any, key: str, date: str) -> dict[str, Any]:
    return common.post_pack(app, key, la_text(date))


def run_inline(bench: Bench, before: dict[str, str]) -> RunResult:
    n = bench.args.schools
    print(
        f"\nrun 1, in-process: POST /api/packs to an app without REDIS_URL ({DATES[0]} -> {DATES[1]})"
    )
    seqs = spring_sequences(bench)
    bench.clock.advance(hours=1)
    cpu = CpuGroups(
        {
            "bench (runs the jobs)": lambda: [os.getpid()],
            "postgres": lambda: pids_matching("postgres:", bench.db_url.rsplit("/", 1)[1]),
            "gunicorn": lambda: (
                [bench.gunicorn.pid, *children(bench.gunicorn.pid)] if bench.gunicorn else []
            ),
        }
    )
    problems0 = count_problems(bench)
    r = measure(
        bench,
        "in-process",
        before,
        DATES[1],
        lambda: post_pack(bench.app_inline, bench.admin_key, DATES[1]),
        cpu,
    )
    check = check_sequences(seqs, spring_sequences(bench))
    print_run(r, n, check, "bench (runs the jobs)")
    print(f"  job problem records: {count_problems(bench) - problems0} new")
    return r


def run_workers(
    bench: Bench, before: dict[str, str]
) -> tuple[RunResult, list[subprocess.Popen[bytes]]]:
    import redis

    n = bench.args.schools
    print(
        f"\nrun 2, 2 rq workers: POST /api/packs to an app with REDIS_URL "
        f"({DATES[1]} -> {DATES[0]}; workers use the system clock, "
        f"today {dt.date.today()}: still before the date)"
    )
    workers = [start_worker(bench, "worker1"), start_worker(bench, "worker2")]
    wait_workers(bench, 2, {"worker1": workers[0], "worker2": workers[1]})
    warm = bench.ids[: min(len(bench.ids), 40)]
    force_evaluation(bench, warm)
    warm_s = submit_and_wait(bench, warm, "warm", bench.args.timeout)
    print(
        f"  2 workers started and warmed: {len(warm)} schools re-evaluated in {warm_s:.1f} s; "
        f"RSS {', '.join(f'{rss_mb(w.pid):.0f}' for w in workers)} MB"
    )
    seqs = spring_sequences(bench)
    counter = redis.Redis.from_url(bench.redis_url)
    monitor = RedisMonitor(bench.redis_url) if not bench.args.no_monitor else None
    stats: dict[str, Any] = {}

    def begin() -> None:
        stats["calls0"] = commandstats_calls(counter)

    def end(start: float, stop: float) -> None:
        stats["calls1"] = commandstats_calls(counter)
        stats["window"] = (start, stop)

    if monitor:
        monitor.start()
    baseline_wall = time.time()
    cpu = CpuGroups(
        {
            "workers": lambda: [w.pid for w in workers],
            "bench": lambda: [os.getpid()],
            "postgres": lambda: pids_matching("postgres:", bench.db_url.rsplit("/", 1)[1]),
            "gunicorn": lambda: (
                [bench.gunicorn.pid, *children(bench.gunicorn.pid)] if bench.gunicorn else []
            ),
            "redis": lambda: pids_matching("redis-server"),
        }
    )
    problems0 = count_problems(bench)
    r = measure(
        bench,
        "2 workers",
        before,
        DATES[0],
        lambda: post_pack(bench.app_rq, bench.admin_key, DATES[0]),
        cpu,
        (begin, end),
    )
    deadline = time.monotonic() + 30
    while not queue_idle(bench) and time.monotonic() < deadline:
        time.sleep(0.1)
    if monitor:
        monitor.stop()
    counter.close()
    check = check_sequences(seqs, spring_sequences(bench))
    print_run(r, n, check, "workers")
    jobs_run = n + 1
    calls = stats["calls1"] - stats["calls0"]
    print(
        f"  jobs: {jobs_run} (1 fan-out + {n} evaluate) in {r.seconds:.1f} s = "
        f"{jobs_run / r.seconds:.1f} jobs/s; rq failed registry: {failed_jobs(bench)}; "
        f"job problem records: {count_problems(bench) - problems0} new"
    )
    print(
        f"  Redis, INFO commandstats (whole server, every client, incl. the workers' polling "
        f"and the bench's INFO): {calls:,} calls = {calls / jobs_run:.1f} per job"
    )
    r.extra["calls_per_job"] = calls / jobs_run
    if monitor:
        start, stop = stats["window"]
        idle_cmds, idle_trips, _ = monitor.window(baseline_wall + 0.5, start)
        idle_rate = idle_cmds / max(start - baseline_wall - 0.5, 1e-9)
        cmds, trips, names = monitor.window(start, stop)
        polling = idle_rate * (stop - start)
        print(
            f"  Redis, MONITOR on this bench's db only: {cmds:,} commands = {cmds / jobs_run:.1f} "
            f"per job; {trips:,} round trips (MULTI..EXEC once) = {trips / jobs_run:.1f} per job; "
            f"2 idle workers poll {idle_rate:.1f} commands/s (~{polling:.0f} of these, "
            f"{(cmds - polling) / jobs_run:.1f} per job without them)"
        )
        print("  by command: " + ", ".join(f"{k} {v:,}" for k, v in names.most_common(12)))
        r.extra["trips_per_job"] = trips / jobs_run
    return r, workers


def rss_phase(bench: Bench) -> dict[int, float]:
    """One fresh worker, ``--rss-jobs`` evaluate jobs in rounds; its VmRSS after each round."""
    n = bench.args.schools
    total = bench.args.rss_jobs
    rounds = math.ceil(total / n)
    marks = sorted({max(1, round(total * 0.1)), max(1, total // 2), total})
    print(
        f"\nworker RSS: 1 fresh worker, {total:,} evaluate_school jobs in {rounds} rounds of up to "
        f"{n} (the LA pack republished before each, alternating {DATES[1]} / {DATES[0]}, so every "
        f"job re-evaluates, writes 2 changed events and re-renders its feed)"
    )
    worker = start_worker(bench, "rss-worker")
    wait_workers(bench, 1, {"rss-worker": worker})
    time.sleep(1.0)
    samples: dict[int, float] = {0: rss_mb(worker.pid)}
    done = 0
    t0 = time.monotonic()
    busy = 0.0
    cpu0 = cpu_ticks(worker.pid)
    for rnd in range(rounds):
        batch = bench.ids[: min(n, total - done)]
        republish(bench, DATES[1] if rnd % 2 == 0 else DATES[0])
        busy += submit_and_wait(bench, batch, f"bench-{rnd}", bench.args.timeout)
        done += len(batch)
        samples[done] = rss_mb(worker.pid)
        if worker.poll() is not None:
            raise SystemExit(f"the worker died:\n{bench.procs.log_tail('rss-worker')}")
    wall = time.monotonic() - t0
    cpu_s = (cpu_ticks(worker.pid) - cpu0) / TICK
    series = ", ".join(f"{k:,}: {v:.0f}" for k, v in samples.items())
    print(f"  VmRSS MB after N jobs: {series}")
    print(
        f"  {done:,} jobs in {wall:.0f} s ({done / busy:.1f} jobs/s while working, 1 worker; "
        f"{cpu_s / done * 1000:.1f} ms worker CPU per job); rq failed registry: "
        f"{failed_jobs(bench)}; problem records: {count_problems(bench)}"
    )
    got = {}
    for mark in marks:
        at = min(k for k in samples if k >= mark)
        got[mark] = (at, samples[at])
    print(
        "  samples: "
        + "; ".join(f"after {at:,} jobs {mb:.0f} MB" for at, mb in got.values())
        + f" (at start {samples[0]:.0f} MB)"
    )
    bench.procs.stop(worker)
    return {at: mb for at, mb in got.values()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--rss-jobs", type=int, default=10_000, help="0 skips the RSS part")
    parser.add_argument("--get-rate", type=float, default=20.0, help="feed GETs per second")
    parser.add_argument("--baseline", type=float, default=10.0, help="idle seconds before each run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    parser.add_argument("--no-monitor", action="store_true", help="skip the Redis MONITOR count")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    tmp = Path(tempfile.mkdtemp(prefix="sencocal-bench-jobs-"))
    procs = Processes(tmp)
    print(
        f"sencocal change-pipeline benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; work dir {tmp} (removed at the end)"
    )
    bench: Bench | None = None
    summary = ""
    try:
        with bench_database() as db_url, bench_redis() as redis_url:
            from feedserver.clock import FixedClock

            port = free_port()
            clock = FixedClock(NOW)
            app_inline, app_rq = make_apps(db_url, redis_url, port, clock)
            bench = Bench(
                args, tmp, procs, db_url, redis_url, port, [], {}, "", app_inline, app_rq, clock
            )
            try:
                print(f"database {db_url.rsplit('/', 1)[1]}, Redis {redis_url}")
                summary = measure_all(bench)
            finally:
                for child in bench.children:
                    if child.is_alive():
                        child.terminate()
                        child.join(5)
                procs.stop_all()
                for app in (bench.app_inline, bench.app_rq):
                    app.extensions["sencocal"].close()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(summary)  # the last line, after the clean-up has said what it removed


def measure_all(bench: Bench) -> str:
    """Setup, the two runs and the RSS part; prints the figures and returns the summary line."""
    args = bench.args
    n = args.schools
    setup(bench)
    bench.gunicorn = bench.procs.start(
        "gunicorn", gunicorn_argv("feedserver.wsgi:app"), bench.env(redis=False)
    )
    wait_ready(bench.port, bench.gunicorn, bench.procs, "gunicorn")
    before: dict[str, str] = {}
    for sid in bench.ids:
        reply = fetch(bench.port, bench.paths[sid], {"Accept-Encoding": "gzip"})
        if reply.status != 200:
            raise SystemExit(f"{sid}: feed answered {reply.status}")
        before[sid] = reply.headers["etag"]
    print(
        f"gunicorn on 127.0.0.1:{bench.port} (2 workers, feed cache off): every feed answers "
        f"200, {len(gzip.decompress(reply.body)):,} bytes ({len(reply.body):,} gzipped)"
    )
    inline = run_inline(bench, before)
    queued, workers = run_workers(bench, before)
    for w in workers:
        bench.procs.stop(w)
    rss = rss_phase(bench) if args.rss_jobs > 0 else {}

    print("\ntargets (2 cores):")
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print(
        f"  in-process fan-out < {TARGET_INLINE:.0f} s: {inline.seconds:.1f} s, {verdict(inline.seconds < TARGET_INLINE)}"
    )
    print(
        f"  2 workers fan-out < {TARGET_WORKERS:.0f} s: {queued.seconds:.1f} s, {verdict(queued.seconds < TARGET_WORKERS)}"
    )
    for r in (inline, queued):
        print(
            f"  feed GET p99 < {TARGET_P99_MS:.0f} ms during the {r.label} fan-out: "
            f"{r.during.p99:.1f} ms, {verdict(r.during.p99 < TARGET_P99_MS)}"
        )
    rss_end = 0.0
    if rss:
        points = sorted(rss.items())
        half, end = points[-2] if len(points) > 1 else points[0], points[-1]
        rss_end = end[1]
        growth = (end[1] - half[1]) / half[1]
        print(
            f"  worker RSS flat ({half[0]:,} -> {end[0]:,} jobs grows < "
            f"{TARGET_RSS_GROWTH:.0%}): {half[1]:.0f} -> {end[1]:.0f} MB ({growth:+.1%}), "
            f"{verdict(growth < TARGET_RSS_GROWTH)}"
        )
    print("ratios (this run):")
    print(
        f"  fan-out time, in-process / 2 workers: {inline.seconds:.1f} / {queued.seconds:.1f} s = "
        f"{inline.seconds / queued.seconds:.2f}x"
    )
    for r in (inline, queued):
        print(
            f"  feed GET p99, during the {r.label} fan-out / idle: {r.during.p99:.1f} / "
            f"{r.idle.p99:.1f} ms = {r.during.p99 / r.idle.p99:.1f}x"
        )
    return (
        f"fan-out {n} schools: in-process {inline.seconds:.1f} s, "
        f"2 workers {queued.seconds:.1f} s, worker RSS {rss_end:.0f} MB"
    )


if __name__ == "__main__":
    main()
