"""Benchmark: the push sync, 500 schools' pushed calendars against a remote's emulator.

    python bench/sync.py [--schools 500] [--subset 20] [--latency 0.03] [--remote google|microsoft]

Setup (not timed): a PostgreSQL database and a Redis index of the bench's own (``common.py``),
the demo LA pack, ``--schools`` copies of the demo primary school in that LA (as
``bench/jobs.py``), each evaluated once; the remote's emulator in a process of its own with
``--latency`` seconds added to every HTTP call; per school, the emulator side of a connection
(Google: a Workspace domain, its SENCO, an SLT group, a service account with domain-wide
delegation) and a connection row for the ``senco`` audience (the biggest: every event of the
two-year window) into a dedicated calendar the first sync creates and shares with the group.

The measured phases, per remote (one function per remote, ``google()`` and ``microsoft()``, with
their emulator sides in ``bench/sync_google.py`` and ``bench/sync_microsoft.py``; the driver is
shared):

    1 first sync     every connection's ``sync_connection`` job queued at once, two
                     ``python worker.py sync`` processes; wall time until every connection has
                     synced and the queue is idle; HTTP calls per school (every one the emulator
                     received for that school's domain: token, calendar, ACL, list, batches)
                     against ceil(events / batch size) + the remote's fixed calls; writes
    2 unchanged      every connection synced again with nothing changed: writes (must be 0)
                     and calls
    3 one-rule       two ``python worker.py`` (every queue); the LA pack published by
      change         ``POST /api/packs`` with one rule's date moved (the 2026 spring top-up
                     round, 2027-02-05 -> 02-12: its deadline and prep task move); the fan-out,
                     the evaluate jobs and the syncs they queue run; writes against the events
                     the change touched (computed independently here from the stored events,
                     before and after), and a check that each touched event is that rule's
    4 batching       ``--subset`` schools get two more connections (new calendars): one first
                     sync as shipped, one with the batch size set to 1 (two workers started as
                     ``python bench/sync.py worker --batch-size 1 sync``: ``worker.py`` with
                     every remote the job builds given that batch size), as ratios

Each phase prints the CPU seconds of the workers, the emulator, PostgreSQL and Redis against the
machine's busy time (other work on a shared machine shows up as "not ours"). Asserts nothing;
each remote ends with one line (targets: first sync within the bound and, for 500 schools with
2 workers at 30 ms per call, under 10 minutes; 0 writes when unchanged; a one-rule change
writes exactly that rule's touched events)::

    google: first sync C calls/school (bound B), unchanged resync W writes, one-rule change R writes for E events, 500 schools T s
    microsoft: first sync C calls/school (bound B), unchanged resync W writes, one-rule change R writes for E events, 500 schools T s

The emulator runs in a child process rather than a thread of the bench so that its CPU is
measured apart and its threads never wait on the bench's GIL (the bench polls the database
while the workers run); it is a real HTTP server either way. Needs what ``bench/jobs.py``
needs (PostgreSQL and Redis on 127.0.0.1). Every process it starts is stopped at the end, also
on Ctrl-C or SIGTERM; the database is dropped and the Redis index flushed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import sync_google
import sync_microsoft
from common import ROOT, CpuGroups, Processes, la_text, pids_matching, profiles

DATES = ("2027-02-05", "2027-02-12")  # the spring top-up round as shipped, and moved a week
RULE = "topup-round-spring"
AUDIENCE = "senco"
WORKERS = 2
TARGET_FIRST_SYNC = 600.0  # seconds, 500 schools, 2 workers, 30 ms per call
POLL = 0.25  # seconds between looks at the database while a phase runs


# --- one remote's side: what the shared driver needs to know -------------------------------------


@dataclass(frozen=True)
class Remote:
    """One remote, as the shared driver uses it.

    Attributes:
        name: the provider column and the summary line's first word.
        batch_size: writes per batch request, as the connector ships.
        fixed_calls: the HTTP calls a first sync makes besides its batches.
        fixed_what: what they are, in words.
        emulator: a module-level factory ``(latency) -> emulator`` run in the emulator process
            (``sync_google.emulator``): the remote's emulator with ``info()``,
            ``add_school(domain) -> dict`` (the connection's ``auth_kind``, ``account``,
            ``secret`` and ``share_with``), ``snapshot()`` (calls and writes, in all and by the
            domain of the school each was for) and ``census(calendar_ids)``.
        settings: the app's and workers' environment for the emulator's ``info()``.
    """

    name: str
    batch_size: int
    fixed_calls: int
    fixed_what: str
    emulator: Callable[[float], Any]
    settings: Callable[[dict[str, str]], dict[str, str]]


# --- Google -------------------------------------------------------------------------------------


def google() -> Remote:
    """Google Calendar: batches of 50; token, calendar insert, ACL insert and list besides."""
    from connectors.google import GoogleRemote

    default = GoogleRemote.__init__.__kwdefaults__["batch_size"]  # as shipped, so a change shows
    return Remote("google", default, 4, "token, calendar, ACL, list", sync_google.emulator,
                  sync_google.settings)  # fmt: skip


def microsoft() -> Remote:
    """Microsoft 365: $batch of 20; a calendar create and the identity platform's two calls.

    (The OpenID configuration and the app token, shared here by every school a worker serves.)
    """
    from connectors.microsoft.graph import MAX_BATCH

    return Remote("microsoft", MAX_BATCH, 3, "calendar create, OpenID configuration, token",
                  sync_microsoft.emulator, sync_microsoft.settings)  # fmt: skip


REMOTES: dict[str, Callable[[], Remote]] = {"google": google, "microsoft": microsoft}


def school_domain(index: int) -> str:
    """The school's own domain in the emulator: its users', and what its calls are counted by."""
    return f"bench-{index:04d}.example"


# --- the emulator's process ------------------------------------------------------------------------


def serve_emulator(factory: Callable[[float], Any], latency: float, conn: Any) -> None:
    """The emulator process: build it, then run the bench's calls ``(method, args)`` on it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops it
    emulator = factory(latency)
    conn.send(("ready", emulator.info()))
    while True:
        method, args = conn.recv()
        if method == "stop":
            emulator.stop(check=False)
            conn.send(("ok", emulator.server_errors))
            return
        try:
            if method == "add_schools":
                answer: Any = [emulator.add_school(domain) for domain in args[0]]
            else:
                answer = getattr(emulator, method)(*args)
            conn.send(("ok", answer))
        except Exception as exc:  # noqa: BLE001 - reported to the bench, which stops
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class EmulatorProcess:
    """The parent's handle on the emulator process."""

    def __init__(self, remote: Remote, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=serve_emulator, args=(remote.emulator, latency, child), daemon=True
        )
        self.process.start()
        status, self.info = self.conn.recv()
        assert status == "ready"

    @property
    def pid(self) -> int:
        """The process id."""
        return int(self.process.pid or 0)

    def send(self, method: str, *args: Any) -> None:
        """Ask for ``method(*args)`` without waiting for the answer."""
        self.conn.send((method, args))

    def receive(self) -> Any:
        """The answer to the oldest call sent; stops the bench if it failed."""
        status, answer = self.conn.recv()
        if status != "ok":
            raise SystemExit(f"the emulator failed: {answer}")
        return answer

    def call(self, method: str, *args: Any) -> Any:
        """``method(*args)`` in the emulator process; its answer."""
        self.send(method, *args)
        return self.receive()

    def stop(self) -> None:
        """Stop the emulator and its process (reporting any bug the emulator hit)."""
        if self.process.is_alive():
            errors = self.call("stop")
            if errors:
                print(f"  the emulator hit {len(errors)} bugs of its own; first:\n{errors[0]}")
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


# --- the bench's own state ---------------------------------------------------------------------


@dataclass
class School:
    """One bench school and its senco connection."""

    id: str
    index: int
    connection: int = 0
    fields: dict[str, Any] = field(default_factory=dict)  # what the emulator's add_school gave
    events: int = 0  # push events its calendar should hold


@dataclass
class Bench:
    """What the phases share."""

    args: argparse.Namespace
    tmp: Path
    procs: Processes
    db_url: str
    redis_url: str
    keys: str  # SENCOCAL_ENCRYPTION_KEYS, the same for the bench and the workers
    app: Any = None
    admin_key: str = ""
    schools: list[School] = field(default_factory=list)
    emulator_info: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Any:
        """The bench app's services (database, secret box, rq dispatcher)."""
        return self.app.extensions["sencocal"]

    def settings(self, remote_env: dict[str, str]) -> dict[str, str]:
        """The config of the bench's app and of the workers."""
        return {
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
            "SECRET_KEY": "bench-" + "x" * 32,
            "SENCOCAL_ENCRYPTION_KEYS": self.keys,
            **remote_env,
        }

    def env(self, remote_env: dict[str, str]) -> dict[str, str]:
        """The workers' environment (no SENCOCAL_* of the caller's leaks in)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENCOCAL_")}
        env.update(self.settings(remote_env))
        env["PYTHONPATH"] = str(ROOT)
        return env


def setup(bench: Bench, remote: Remote, emulator: EmulatorProcess) -> None:
    """Schema, the LA pack, the schools (evaluated once), the emulator side, the connections."""
    from feedserver import runtime
    from feedserver.pipeline import jobs
    from feedserver.storage import apikeys, packstore, schools

    svc = bench.services
    n = bench.args.schools
    now = dt.datetime.now(dt.UTC)
    emulator.send(
        "add_schools", [school_domain(i) for i in range(n)]
    )  # keys are made while the schools evaluate
    t0 = time.perf_counter()
    svc.db.upgrade()
    with svc.db.session() as session:
        packstore.publish(session, la_text(DATES[0]), "la-example.yaml", "bench", now)
        bench.admin_key = apikeys.create_key(session, "admin", now, label="bench")
    made = profiles(n)
    for start in range(0, n, 100):
        with svc.db.session() as session:
            for profile in made[start : start + 100]:
                schools.save(session, profile, "bench", now)
    bench.schools = [School(p.id, i) for i, p in enumerate(made)]
    with runtime.using(svc):
        evaluated = sum(
            bool((jobs.evaluate_school(s.id, reason="setup") or {}).get("evaluated"))
            for s in bench.schools
        )
    t1 = time.perf_counter()
    for school, fields in zip(bench.schools, emulator.receive(), strict=True):
        school.fields = fields
    t2 = time.perf_counter()
    connect(bench, remote, bench.schools)
    for school, items in zip(bench.schools, desired(bench, bench.schools), strict=True):
        school.events = len(items)
    counts = Counter(s.events for s in bench.schools)
    print(
        f"setup: {n} schools stored and evaluated in-process in {t1 - t0:.1f} s ({evaluated} "
        f"evaluated); the emulator's {n} {remote.name} accounts ready {t2 - t1:.1f} s later; "
        f"{n} connections ({AUDIENCE}, dedicated calendar shared with a group); events per "
        f"calendar: " + ", ".join(f"{k} ({v} schools)" for k, v in sorted(counts.items()))
    )
    if evaluated != n:
        raise SystemExit(f"setup evaluated only {evaluated} of {n} schools")


def connect(bench: Bench, remote: Remote, schools: Sequence[School]) -> list[int]:
    """A new connection row for each school (a new tag and calendar); their ids."""
    from feedserver.storage import connections

    svc = bench.services
    ids = []
    with svc.db.session() as session:
        for school in schools:
            row = connections.create(
                session,
                svc.secretbox,
                school_id=school.id,
                provider=remote.name,
                audience=AUDIENCE,
                auth_kind=school.fields["auth_kind"],
                account=school.fields["account"],
                secret=school.fields["secret"],
                now=dt.datetime.now(dt.UTC),
                share_with=school.fields["share_with"],
                created_by="bench",
            )
            ids.append(row.id)
    for school, cid in zip(schools, ids, strict=True):
        school.connection = school.connection or cid
    return ids


def desired(bench: Bench, schools: Sequence[School]) -> list[dict[str, str]]:
    """Per school, push key -> content hash of what its calendar should hold (as the job reads it)."""
    from feedserver.clock import today
    from feedserver.pipeline import pushed, refresh
    from feedserver.storage import events as event_store

    years = refresh.window(today(bench.services.clock))
    out = []
    with bench.services.db.session() as session:
        for school in schools:
            live, _ = event_store.window(session, school.id, years)
            out.append({p.identity: p.content_hash for p in pushed.push_events(live, AUDIENCE)})
    return out


# --- workers and waiting ---------------------------------------------------------------------------


def start_workers(
    bench: Bench, remote: Remote, queues: tuple[str, ...], batch_size: int | None = None
) -> list[Any]:
    """Two workers on ``queues`` (``worker.py``, or this script's wrapper for a batch size)."""
    program: tuple[str, ...] = ()
    label = "worker"
    if batch_size is not None:
        program = (sys.executable, str(Path(__file__).resolve()), "worker", "--batch-size",
                   str(batch_size))  # fmt: skip
        label = f"worker-batch{batch_size}"
    env = bench.env(remote.settings(bench.emulator_info))
    started = {
        f"{label}{i}-{'-'.join(queues) or 'all'}": common.start_worker(
            bench.procs, f"{label}{i}", env, queues, program
        )
        for i in range(1, WORKERS + 1)
    }
    common.wait_workers(bench.procs, bench.services.jobs.connection, WORKERS, started)
    return list(started.values())


def stop_workers(bench: Bench, workers: Iterable[Any]) -> None:
    from rq import Worker

    for w in workers:
        bench.procs.stop(w)
    deadline = time.monotonic() + 20
    while Worker.count(connection=bench.services.jobs.connection) and time.monotonic() < deadline:
        time.sleep(0.1)


def queues_idle(bench: Bench) -> bool:
    """No job waiting, running or scheduled (a retry) on any queue."""
    dispatcher = bench.services.jobs
    for name in ("fanout", "evaluate", "sync"):
        queue = dispatcher.queue(name)
        if (
            queue.count
            or queue.started_job_registry.count
            or queue.scheduled_job_registry.count
            or queue.deferred_job_registry.count
        ):
            return False
    return True


def synced_since(bench: Bench, ids: Sequence[int], since: dt.datetime) -> dict[int, Any]:
    """Each connection's (last_sync_at >= since, state, waiting, last_result)."""
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select id, last_sync_at, state, waiting, last_result, stop_reason "
                "from connections where id = any(:ids)"
            ),
            {"ids": list(ids)},
        )
        return {r[0]: (r[1] is not None and r[1] >= since, r[2], r[3], r[4], r[5]) for r in rows}


def wait_synced(bench: Bench, ids: Sequence[int], since: dt.datetime, t0: float) -> float:
    """Block until every connection in ``ids`` synced after ``since`` and rq is idle; seconds."""
    while True:
        state = synced_since(bench, ids, since)
        done = sum(1 for v in state.values() if v[0])
        stopped = [k for k, v in state.items() if v[1] != "active"]
        if stopped:
            raise SystemExit(f"connections stopped: {[(k, state[k][4]) for k in stopped[:5]]}")
        if done == len(ids) and queues_idle(bench):
            return time.monotonic() - t0
        if time.monotonic() - t0 > bench.args.timeout:
            waiting = [k for k, v in state.items() if v[2]]
            raise SystemExit(
                f"after {bench.args.timeout:.0f} s only {done} of {len(ids)} synced; waiting for "
                f"a retry: {len(waiting)}; rq failed: {failed(bench)}; worker log:\n"
                f"{bench.procs.log_tail(bench.procs.items[-1][0]) if bench.procs.items else ''}"
            )
        time.sleep(POLL)


def failed(bench: Bench) -> int:
    dispatcher = bench.services.jobs
    return sum(
        dispatcher.queue(q).failed_job_registry.count for q in ("fanout", "evaluate", "sync")
    )


def queue_syncs(bench: Bench, ids: Sequence[int], reason: str) -> None:
    from feedserver.pipeline import push
    from feedserver.pipeline.dispatch import JobCall

    bench.services.jobs.submit([JobCall(push.sync_connection, (i,), reason) for i in ids])


def count_problems(bench: Bench) -> int:
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from problems")).scalar_one())


# --- one measured phase ------------------------------------------------------------------------------


@dataclass
class Phase:
    """What the emulator and the machine saw over one phase."""

    label: str
    seconds: float
    calls: int
    writes: int
    kinds: Counter[str]
    schools: dict[str, Counter[str]]  # domain -> calls, writes and calls by kind
    cpu: dict[str, float]
    busy: float
    stolen: float
    wall: float

    def per_school(self, key: str, domains: Iterable[str]) -> list[int]:
        """One count (``calls``, ``writes``, a kind) for each school, in order."""
        return [self.schools.get(d, Counter())[key] for d in domains]


def measure(
    bench: Bench,
    emulator: EmulatorProcess,
    label: str,
    workers: list[Any],
    run: Callable[[float], float],
) -> Phase:
    """Run ``run(t0) -> seconds`` and collect the emulator's counts and the CPU over it."""
    cpu = CpuGroups(
        {
            "workers": lambda: [w.pid for w in workers],
            "emulator": lambda: [emulator.pid],
            "postgres": lambda: pids_matching("postgres:", bench.db_url.rsplit("/", 1)[1]),
            "redis": lambda: pids_matching("redis-server"),
            "bench": lambda: [os.getpid()],
        }
    )
    before = emulator.call("snapshot")
    cpu.begin()
    seconds = run(time.monotonic())
    used, busy, stolen, wall = cpu.end()
    after = emulator.call("snapshot")
    schools = {}
    for domain, counts in after["schools"].items():
        delta = Counter(counts)
        delta.subtract(before["schools"].get(domain, {}))
        schools[domain] = +delta
    kinds = Counter(after["kinds"])
    kinds.subtract(before["kinds"])
    return Phase(
        label,
        seconds,
        after["calls"] - before["calls"],
        after["writes"] - before["writes"],
        +kinds,
        schools,
        used,
        busy,
        stolen,
        wall,
    )


def print_phase(p: Phase, n: int) -> None:
    print(
        f"  {p.seconds:.1f} s ({n / p.seconds:.2f} schools/s); emulator: {p.calls:,} HTTP calls "
        f"({p.calls / n:.2f} per school), {p.writes:,} writes ({p.writes / n:.1f} per school)"
    )
    order = ("token", "calendar", "acl", "list", "batch", "insert", "update", "patch", "delete")
    kinds = [f"{k} {p.kinds[k]:,}" for k in order if p.kinds[k]]
    kinds += [f"{k} {v:,}" for k, v in p.kinds.items() if k not in order]
    print(f"  by kind (batch parts by their own kind): {', '.join(kinds)}")
    ours = sum(p.cpu.values())
    cells = ", ".join(f"{k} {v:.1f}" for k, v in p.cpu.items())
    print(
        f"  CPU seconds over {p.wall:.1f} s: {cells}; machine busy {p.busy:.1f} "
        f"({p.busy / max(p.wall, 1e-9):.2f} of {os.cpu_count()} cores), of which not ours "
        f"{max(p.busy - ours, 0):.1f}; stolen by the hypervisor {p.stolen:.1f}"
    )
    print(
        "  CPU ms per school: "
        + ", ".join(f"{k} {p.cpu[k] / n * 1000:.0f}" for k in ("workers", "emulator", "postgres"))
    )


def spread(values: Sequence[float]) -> str:
    if not values:
        return "none"
    return f"min {min(values):g}, median {statistics.median(values):g}, max {max(values):g}"


# --- the shared driver ------------------------------------------------------------------------------


def run_remote(bench: Bench, remote: Remote) -> str:
    """Set up, run the four phases for one remote, print them; the summary line."""
    n = bench.args.schools
    print(f"\n== {remote.name}: {n} schools, emulator latency {bench.args.latency * 1000:.0f} ms "
          f"per HTTP call, batches of {remote.batch_size} ==")  # fmt: skip
    emulator = EmulatorProcess(remote, bench.args.latency)
    bench.emulator_info = emulator.info
    try:
        from feedserver import create_app
        from feedserver.config import Config

        bench.app = create_app(Config.from_mapping(bench.settings(remote.settings(emulator.info))))
        setup(bench, remote, emulator)
        return phases(bench, remote, emulator)
    finally:
        emulator.stop()
        if bench.app is not None:
            bench.services.close()


def phases(bench: Bench, remote: Remote, emulator: EmulatorProcess) -> str:
    n = bench.args.schools
    schools = bench.schools
    ids = [s.connection for s in schools]
    domains = [school_domain(s.index) for s in schools]
    bounds = [math.ceil(s.events / remote.batch_size) + remote.fixed_calls for s in schools]

    # 1. first sync
    print(f"\n1. first sync of {n} calendars, {WORKERS} workers (python worker.py sync)")
    workers = start_workers(bench, remote, ("sync",))
    problems0 = count_problems(bench)

    def first(t0: float) -> float:
        since = dt.datetime.now(dt.UTC)
        queue_syncs(bench, ids, "connect")
        return wait_synced(bench, ids, since, t0)

    p1 = measure(bench, emulator, "first sync", workers, first)
    print_phase(p1, n)
    calls = p1.per_school("calls", domains)
    over = [(d, c, b) for d, c, b in zip(domains, calls, bounds, strict=True) if c > b]
    print(
        f"  calls per school: {spread(calls)}; bound ceil(events / {remote.batch_size}) + "
        f"{remote.fixed_calls} ({remote.fixed_what}): {spread(bounds)}; schools over their "
        f"bound: {len(over)}" + (f" e.g. {over[:3]}" if over else "")
    )
    writes = p1.per_school("writes", domains)
    extra = [w - s.events for w, s in zip(writes, schools, strict=True)]
    print(
        f"  writes per school: {spread(writes)} = its events + {spread(extra)} (calendar and "
        f"its sharing rule); rq failed: {failed(bench)}; job problem records: "
        f"{count_problems(bench) - problems0} new"
    )
    check_calendars(bench, emulator, schools)

    # 2. unchanged resync
    print(f"\n2. unchanged resync of {n} calendars (same workers)")

    def resync(t0: float) -> float:
        since = dt.datetime.now(dt.UTC)
        queue_syncs(bench, ids, "nightly")
        return wait_synced(bench, ids, since, t0)

    p2 = measure(bench, emulator, "unchanged", workers, resync)
    print_phase(p2, n)
    print(f"  calls per school: {spread(p2.per_school('calls', domains))}; writes: {p2.writes}")
    stop_workers(bench, workers)

    # 3. one-rule change
    print(
        f"\n3. one-rule change: the LA pack with {RULE} moved {DATES[0]} -> {DATES[1]}, "
        f"POST /api/packs; {WORKERS} workers on every queue (python worker.py)"
    )
    before = desired(bench, schools)
    workers = start_workers(bench, remote, ())
    problems0 = count_problems(bench)
    answer: dict[str, Any] = {}

    def change(t0: float) -> float:
        since = dt.datetime.now(dt.UTC)
        answer.update(common.post_pack(bench.app, bench.admin_key, la_text(DATES[1])))
        return wait_synced(bench, ids, since, t0)

    p3 = measure(bench, emulator, "one-rule change", workers, change)
    after = desired(bench, schools)
    for school, items in zip(schools, after, strict=True):
        school.events = len(items)
    touched, outside, rule_events = 0, 0, 0
    for old, new in zip(before, after, strict=True):
        for identity in old.keys() | new.keys():
            ours = f"/{RULE}/" in identity
            rule_events += ours and identity in new
            if old.get(identity) != new.get(identity):
                touched += ours
                outside += not ours
    print(f"  API said {answer}")
    print_phase(p3, n)
    print(
        f"  the rule has {rule_events:,} events in these calendars; the change touched "
        f"{touched:,} of them and {outside} events of other rules; writes {p3.writes:,} "
        f"({'exactly those' if p3.writes == touched and not outside else 'NOT exactly those'}); "
        f"calls per school: {spread(p3.per_school('calls', domains))}; writes per school: "
        f"{spread(p3.per_school('writes', domains))}; rq failed: {failed(bench)}; job problem "
        f"records: {count_problems(bench) - problems0} new"
    )
    check_calendars(bench, emulator, schools)
    stop_workers(bench, workers)

    # 4. batching on and off, a subset
    k = min(bench.args.subset, n)
    subset = schools[:k]
    sub_domains = domains[:k]
    print(f"\n4. batching: first syncs of {k} schools into new calendars, batches of "
          f"{remote.batch_size} (python worker.py sync) and of 1")  # fmt: skip
    runs: dict[int, Phase] = {}
    for size in (remote.batch_size, 1):
        new_ids = connect(bench, remote, subset)
        workers = start_workers(
            bench, remote, ("sync",), None if size == remote.batch_size else size
        )

        def sub(t0: float, new_ids: list[int] = new_ids) -> float:
            since = dt.datetime.now(dt.UTC)
            queue_syncs(bench, new_ids, "connect")
            return wait_synced(bench, new_ids, since, t0)

        runs[size] = p = measure(bench, emulator, f"batch {size}", workers, sub)
        stop_workers(bench, workers)
        per = p.per_school("calls", sub_domains)
        print(
            f"  batch size {size}: {p.seconds:.1f} s, {p.calls:,} calls ({spread(per)} per "
            f"school), {p.writes:,} writes; CPU s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in p.cpu.items())
        )
    on, off = runs[remote.batch_size], runs[1]
    print(
        f"  batching off / on: calls {off.calls:,} / {on.calls:,} = {off.calls / on.calls:.1f}x, "
        f"wall time {off.seconds:.1f} / {on.seconds:.1f} s = {off.seconds / on.seconds:.1f}x"
    )

    mean_calls = p1.calls / n  # every HTTP call of the phase, also those of no one school
    bound = max(bounds) if len(set(bounds)) == 1 else sum(bounds) / n
    print(f"\n{remote.name} targets:")
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print(f"  first sync within ceil(events / {remote.batch_size}) + {remote.fixed_calls} calls "
          f"per school: {len(over)} of {n} over, {verdict(not over)}")  # fmt: skip
    print(f"  unchanged resync 0 writes: {p2.writes}, {verdict(p2.writes == 0)}")
    print(f"  one-rule change writes only that rule's touched events: {p3.writes} for {touched}, "
          f"{verdict(p3.writes == touched and not outside)}")  # fmt: skip
    if n == 500 and bench.args.latency == 0.03:
        print(f"  500 schools' first sync with {WORKERS} workers < {TARGET_FIRST_SYNC:.0f} s: "
              f"{p1.seconds:.1f} s, {verdict(p1.seconds < TARGET_FIRST_SYNC)}")  # fmt: skip
    return (
        f"{remote.name}: first sync {mean_calls:.1f} calls/school (bound {bound:g}), unchanged "
        f"resync {p2.writes} writes, one-rule change {p3.writes} writes for {touched} events, "
        f"{n} schools {p1.seconds:.1f} s"
    )


def check_calendars(bench: Bench, emulator: EmulatorProcess, schools: Sequence[School]) -> None:
    """Each calendar holds exactly its school's events, once each (the emulator's state)."""
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        cal = dict(
            conn.execute(
                text("select id, calendar_id from connections where id = any(:ids)"),
                {"ids": [s.connection for s in schools]},
            ).all()
        )
    census = emulator.call("census", [cal[s.connection] for s in schools if cal[s.connection]])
    wrong = [
        s.id
        for s in schools
        if census.get(cal[s.connection] or "", (0, 0, 0))[:2] != (s.events, s.events)
    ]
    print(
        f"  calendars holding exactly their school's events, each once: {len(schools) - len(wrong)}"
        f" of {len(schools)}" + (f"; not: {wrong[:5]}" if wrong else "")
    )


# --- the worker wrapper (phase 4) -------------------------------------------------------------------


def run_worker(argv: list[str]) -> int:
    """``worker.py`` with every remote a job builds given ``--batch-size`` writes per request."""
    parser = argparse.ArgumentParser(prog="python bench/sync.py worker")
    parser.add_argument("--batch-size", type=int, required=True)
    args, rest = parser.parse_known_args(argv)
    sys.path.insert(0, str(ROOT))
    import worker
    from feedserver.pipeline import remotes

    built = remotes.remote_for

    def sized(*a: Any, **kw: Any) -> Any:
        remote = built(*a, **kw)
        remote.batch_size = args.batch_size
        return remote

    remotes.remote_for = sized
    return int(worker.main(rest))


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        sys.exit(run_worker(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--subset", type=int, default=20, help="schools in the batching part")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds added per call")
    parser.add_argument("--remote", choices=sorted(REMOTES), action="append")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a phase may take")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp = Path(tempfile.mkdtemp(prefix="sencocal-bench-sync-"))
    procs = Processes(tmp)
    print(
        f"sencocal push-sync benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; work dir {tmp} (removed at the end)"
    )
    summaries = []
    try:
        for name in args.remote or list(REMOTES):
            remote = REMOTES[name]()
            with common.bench_database() as db_url, common.bench_redis() as redis_url:
                from cryptography.fernet import Fernet

                bench = Bench(args, tmp, procs, db_url, redis_url, Fernet.generate_key().decode())
                print(f"database {db_url.rsplit('/', 1)[1]}, Redis {redis_url}")
                try:
                    summaries.append(run_remote(bench, remote))
                finally:
                    procs.stop_all()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    for line in summaries:  # the last lines, after the clean-up has said what it removed
        print(line)


if __name__ == "__main__":
    main()
