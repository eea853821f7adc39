"""Benchmark: an LA publishes a pack that moves one deadline; every affected feed, 500 schools.

    python bench/publish.py [--schools 500] [--get-rate 0] [--baseline 2] [--timeout 600]

Setup (not timed): a PostgreSQL database and a Redis index of its own (``bench/common.py``;
dropped / flushed at the end, also on Ctrl-C), the LA (code 999, "Example Borough Council", in
``local_authorities``) with an LA API key, its pack (the demo ``la-example``) published,
``--schools`` copies of the demo primary school in that LA (``common.profiles``), each with all
five feeds (senco, slt, governors, ta, staff) and a token per feed, every school evaluated
once, served by ``gunicorn -c deploy/gunicorn.conf.py`` (2 workers, feed cache off, REDIS_URL
set).

The change: the pack republished with its 2026 spring top-up round a week later
(2027-02-05 -> 2027-02-12; back in run 2), with a note for the schools. The rule reaches the
senco and slt feeds (its prep task the senco feed only), so of every school's five feeds two
must change and three must keep their bytes. Each run is timed from the publish request until
every affected feed serves its new bytes over HTTP (a poller process walks them with
``If-None-Match: <old ETag>`` until each answers 200 with a new ETag holding the new date), then
the feeds table is compared with its state before: a row whose ETag (its bytes' hash) or
``content_changed_at`` changed was re-rendered and stored (``pipeline/render.py`` writes only
those whose bytes changed).

    run 1, in-process  the publish request to an app without REDIS_URL (fixed clock
                       2026-11-23): the request runs the fan-out after its commit, in-line
    run 2, 2 workers   two ``python worker.py`` (warmed first), the publish request over HTTP
                       to gunicorn with REDIS_URL: it stores the version and queues one
                       fan-out job, the workers do the rest

The publish request is the LA's own, ``POST /api/la/999/packs?mode=publish&note=...`` with the
LA key, when the app has that route; until then the instance admin's ``POST /api/packs`` (it
says which). Its latency is the run-2 request's (the in-process one includes the whole
fan-out, printed apart). Targets (2 cores): in-process < 60 s, 2 workers < 30 s, request
< 500 ms. Asserts nothing; the last line is::

    publish to 500 schools: in-process X s, 2 workers Y s, feeds re-rendered N of M, request Z ms
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import jobs as jobs_bench
from common import CpuGroups, Processes, bench_database, bench_redis, children, la_text
from jobs import DATES, NOW, RULE, fetch, gunicorn_argv, poll_feeds, wait_ready

LA_CODE = "999"
LA_NAME = "Example Borough Council"
NOTE = "The spring panel meets a week later, so the spring round closes a week later."
LA_ROUTE = "/api/la/<la_code>/packs"
TARGET_INLINE = 60.0
TARGET_WORKERS = 30.0
TARGET_REQUEST_MS = 500.0


@dataclass
class Bench(jobs_bench.Bench):
    """What the runs share: ``jobs.Bench`` plus every feed of every school and the LA key."""

    la_key: str = ""
    feeds: dict[tuple[str, str], str] = field(default_factory=dict)  # (school, audience) -> path


def setup(bench: Bench) -> None:
    """Schema, the LA and its key, the pack, the schools with five feeds each, one evaluation."""
    from feedserver import runtime
    from feedserver.pipeline import jobs
    from feedserver.storage import apikeys, las, packstore, schools, subscriptions

    svc = bench.services
    n = bench.args.schools
    t0 = time.perf_counter()
    svc.db.upgrade()
    with svc.db.session() as session:
        las.create(session, LA_CODE, LA_NAME, "bench", NOW)
        packstore.publish(session, la_text(DATES[0]), "la-example.yaml", "bench", NOW)
        bench.admin_key = apikeys.create_key(session, "admin", NOW, label="bench")
        bench.la_key = apikeys.create_key(session, "la", NOW, la_code=LA_CODE, label="bench")
    made = common.profiles(n)
    for start in range(0, n, 100):
        with svc.db.session() as session:
            for profile in made[start : start + 100]:
                row = schools.save(session, profile, "bench", NOW)
                for audience in subscriptions.AUDIENCES:
                    feed = subscriptions.ensure_feed(session, row, audience, "bench", NOW)
                    token = subscriptions.add_token(session, feed, "bench", "bench", NOW)
                    url = subscriptions.feed_url(svc.config.public_base_url, token)
                    bench.feeds[(profile.id, audience)] = url[url.index("/feeds/") :]
                bench.ids.append(profile.id)
                bench.paths[profile.id] = bench.feeds[(profile.id, "senco")]
    t1 = time.perf_counter()
    evaluated = 0
    with runtime.using(svc):
        for school_id in bench.ids:
            result = jobs.evaluate_school(school_id, reason="setup")
            evaluated += bool(result and result.get("evaluated"))
    t2 = time.perf_counter()
    print(
        f"setup: {n} schools with {len(subscriptions.AUDIENCES)} feeds each stored in "
        f"{t1 - t0:.1f} s; evaluated {evaluated} in-process in {t2 - t1:.1f} s "
        f"({(t2 - t1) / max(n, 1) * 1000:.0f} ms per school)"
    )
    if evaluated != n:
        raise SystemExit(f"setup evaluated only {evaluated} of {n} schools")


def rule_audiences() -> set[str]:
    """The feeds the moved rule reaches: its own audience and its prep tasks' (SENCO)."""
    import rules

    pack = rules.load_pack(la_text(DATES[0]), "la-example.yaml")
    rule = next(r for r in pack.rules if r.id == RULE)
    reached = {str(getattr(a, "value", a)) for a in rule.audience}
    for prep in rule.prep:
        reached |= {str(getattr(a, "value", a)) for a in (prep.audience or ["senco"])}
    return reached


def feed_rows(bench: Bench) -> dict[tuple[str, str], tuple[str | None, Any]]:
    """(school, audience) -> (ETag, content_changed_at) of every feed, from the feeds table."""
    from sqlalchemy import text

    with bench.services.db.engine.connect() as conn:
        rows = conn.execute(text("select school_id, audience, etag, content_changed_at from feeds"))
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}


# --- the publish request ------------------------------------------------------------------------


def uses_la_route(app: Any) -> bool:
    """Whether the app has the LA's own publish endpoint (issue 10's ``api_la``) yet."""
    return any(rule.rule == LA_ROUTE for rule in app.url_map.iter_rules())


def request_of(bench: Bench, la_route: bool) -> tuple[str, dict[str, str]]:
    """The publish request's path and headers: the LA's endpoint, or the admin's until then."""
    headers = {"Content-Type": "application/yaml"}
    if la_route:
        headers["Authorization"] = f"Bearer {bench.la_key}"
        return f"/api/la/{LA_CODE}/packs?mode=publish&note={quote(NOTE)}", headers
    headers["Authorization"] = f"Bearer {bench.admin_key}"
    return "/api/packs?filename=la-example.yaml", headers


def publish_in_process(bench: Bench, date: str, la_route: bool) -> tuple[float, int, Any]:
    """The publish request through the in-process app; (seconds, status, JSON answer)."""
    path, headers = request_of(bench, la_route)
    client = bench.app_inline.test_client()
    t0 = time.perf_counter()
    reply = client.post(path, data=la_text(date).encode(), headers=headers)
    return time.perf_counter() - t0, reply.status_code, reply.get_json(silent=True)


def publish_http(bench: Bench, date: str, la_route: bool) -> tuple[float, int, Any]:
    """The publish request over HTTP to gunicorn; (seconds, status, JSON answer)."""
    import json

    path, headers = request_of(bench, la_route)
    body = la_text(date).encode()
    conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=60)
    try:
        t0 = time.perf_counter()
        conn.request("POST", path, body=body, headers={**headers, "Connection": "close"})
        resp = conn.getresponse()
        data = resp.read()
        seconds = time.perf_counter() - t0
    finally:
        conn.close()
    try:
        answer = json.loads(data)
    except ValueError:
        answer = data[:200]
    return seconds, resp.status, answer


# --- one measured run ---------------------------------------------------------------------------


@dataclass
class Run:
    """What one measured run found."""

    label: str
    seconds: float
    request_s: float
    status: int
    answer: Any
    seen: int
    expected: int
    missing: list[str]
    wrong_body: int
    rewritten: int
    bytes_changed: int
    unexpected: int
    total_feeds: int
    cpu: dict[str, float]
    busy: float
    wall: float


def measure(
    bench: Bench, label: str, date: str, publish: Any, cpu: CpuGroups, wait_idle: Any
) -> Run:
    """Publish; time until every affected feed serves new bytes; compare the feeds table."""
    reached = rule_audiences()
    before = feed_rows(bench)
    items = [
        (f"{sid}/{aud}", bench.feeds[(sid, aud)], str(before[(sid, aud)][0]))
        for sid in bench.ids
        for aud in sorted(reached)
    ]
    expect = b"DTSTART;VALUE=DATE:" + date.replace("-", "").encode()
    ctx = mp.get_context("spawn")
    go, polled = ctx.Event(), ctx.Queue()
    poller = ctx.Process(
        target=poll_feeds,
        args=(bench.port, items, expect, go, polled, bench.args.timeout),
        daemon=True,
    )
    bench.children.append(poller)
    poller.start()
    cpu.groups["poller"] = lambda: [poller.pid] if poller.pid else []
    time.sleep(bench.args.baseline)
    cpu.begin()
    t0 = time.monotonic()
    go.set()
    request_s, status, answer = publish()
    result = polled.get(timeout=bench.args.timeout + 60)
    used, busy, _stolen, wall = cpu.end()
    poller.join(10)
    found: dict[str, tuple[float, str, bool]] = result["found"]
    t_done = max((v[0] for v in found.values()), default=time.monotonic())
    wait_idle()
    after = feed_rows(bench)
    rewritten = [k for k in after if after[k] != before.get(k)]
    changed = [k for k in after if after[k][0] != before.get(k, (None, None))[0]]
    return Run(
        label=label,
        seconds=t_done - t0,
        request_s=request_s,
        status=status,
        answer=answer,
        seen=len(found),
        expected=len(items),
        missing=result["missing"],
        wrong_body=sum(1 for v in found.values() if not v[2]),
        rewritten=len(rewritten),
        bytes_changed=len(changed),
        unexpected=sum(1 for k in rewritten if k[1] not in reached),
        total_feeds=sum(1 for k in after if k[0] in set(bench.ids)),
        cpu=used,
        busy=busy,
        wall=wall,
    )


def print_run(r: Run, n: int) -> None:
    ok = r.seen == r.expected and not r.missing and not r.wrong_body
    print(
        f"  publish request answered {r.status} after {r.request_s * 1000:.0f} ms: {r.answer}\n"
        f"  every affected feed new after {r.seconds:.1f} s ({n / max(r.seconds, 1e-9):.1f} "
        f"schools/s); seen new over HTTP: {r.seen}/{r.expected}"
        + (f", never changed: {r.missing[:5]}" if r.missing else "")
        + (f", {r.wrong_body} without the new date" if r.wrong_body else "")
        + f" ({'ok' if ok else 'NOT ok'})"
    )
    print(
        f"  feeds table: {r.rewritten} of {r.total_feeds} rows re-rendered and stored "
        f"({r.bytes_changed} with new bytes; {r.unexpected} outside the rule's audiences)"
    )
    ours = sum(r.cpu.values())
    cells = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu.items())
    print(
        f"  CPU seconds over {r.wall:.1f} s: {cells}; machine busy {r.busy:.1f} "
        f"({r.busy / max(r.wall, 1e-9):.2f} of {os.cpu_count()} cores), of which not ours "
        f"{max(r.busy - ours, 0):.1f}"
    )


def postgres_pids(bench: Bench) -> list[int]:
    return common.pids_matching("postgres:", bench.db_url.rsplit("/", 1)[1])


def gunicorn_pids(bench: Bench) -> list[int]:
    return [bench.gunicorn.pid, *children(bench.gunicorn.pid)] if bench.gunicorn else []


def run_inline(bench: Bench, la_route: bool) -> Run:
    print(f"\nrun 1, in-process: the publish request runs the fan-out ({DATES[0]} -> {DATES[1]})")
    bench.clock.advance(hours=1)
    cpu = CpuGroups(
        {
            "bench (runs the jobs)": lambda: [os.getpid()],
            "postgres": lambda: postgres_pids(bench),
            "gunicorn": lambda: gunicorn_pids(bench),
        }
    )
    r = measure(
        bench,
        "in-process",
        DATES[1],
        lambda: publish_in_process(bench, DATES[1], la_route),
        cpu,
        lambda: None,
    )
    print_run(r, bench.args.schools)
    return r


def run_workers(bench: Bench, la_route: bool) -> Run:
    print(
        f"\nrun 2, 2 rq workers: the publish request over HTTP to gunicorn (REDIS_URL set) "
        f"({DATES[1]} -> {DATES[0]})"
    )
    workers = [
        common.start_worker(bench.procs, "worker1", bench.env()),
        common.start_worker(bench.procs, "worker2", bench.env()),
    ]
    jobs_bench.wait_workers(bench, 2, {"worker1": workers[0], "worker2": workers[1]})
    warm = bench.ids[: min(len(bench.ids), 40)]
    jobs_bench.force_evaluation(bench, warm)
    warm_s = jobs_bench.submit_and_wait(bench, warm, "warm", bench.args.timeout)
    print(f"  2 workers started and warmed: {len(warm)} schools re-evaluated in {warm_s:.1f} s")
    # The same content again stores nothing and queues nothing: it shows the request's cold
    # cost (a gunicorn worker's first publish parses the built-in packs) and warms both workers.
    probes = [publish_http(bench, DATES[1], la_route) for _ in range(4)]
    print(
        "  republishing the live content (nothing stored, nothing queued), 4 times: "
        + ", ".join(f"{p[1]} in {p[0] * 1000:.0f} ms" for p in probes)
    )
    cpu = CpuGroups(
        {
            "workers": lambda: [w.pid for w in workers],
            "bench": lambda: [os.getpid()],
            "postgres": lambda: postgres_pids(bench),
            "gunicorn": lambda: gunicorn_pids(bench),
            "redis": lambda: common.pids_matching("redis-server"),
        }
    )

    def idle() -> None:
        deadline = time.monotonic() + 60
        while not jobs_bench.queue_idle(bench) and time.monotonic() < deadline:
            time.sleep(0.1)

    r = measure(
        bench, "2 workers", DATES[0], lambda: publish_http(bench, DATES[0], la_route), cpu, idle
    )
    print_run(r, bench.args.schools)
    print(
        f"  rq failed registry: {jobs_bench.failed_jobs(bench)}; job problem records: "
        f"{jobs_bench.count_problems(bench)}"
    )
    for w in workers:
        bench.procs.stop(w)
    return r


def measure_all(bench: Bench) -> str:
    """Setup and the two runs; prints the figures and returns the summary line."""
    n = bench.args.schools
    setup(bench)
    bench.gunicorn = bench.procs.start(
        "gunicorn", gunicorn_argv("feedserver.wsgi:app"), bench.env()
    )
    wait_ready(bench.port, bench.gunicorn, bench.procs, "gunicorn")
    sample = fetch(bench.port, bench.paths[bench.ids[0]], {"Accept-Encoding": "gzip"})
    if sample.status != 200:
        raise SystemExit(f"a feed answered {sample.status}")
    print(
        f"gunicorn on 127.0.0.1:{bench.port} (2 workers, feed cache off, REDIS_URL set): a senco "
        f"feed is {len(gzip.decompress(sample.body)):,} bytes ({len(sample.body):,} gzipped)"
    )
    la_route = uses_la_route(bench.app_inline)
    print(
        "publish request: "
        + (
            f"POST /api/la/{LA_CODE}/packs?mode=publish&note=... with the LA's key"
            if la_route
            else "POST /api/packs with the instance admin's key (the LA's endpoint "
            "POST /api/la/<code>/packs is not in this app yet)"
        )
    )
    print(f"the moved rule ({RULE}) reaches these feeds: {', '.join(sorted(rule_audiences()))}")
    inline = run_inline(bench, la_route)
    queued = run_workers(bench, la_route)

    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print("\ntargets (2 cores):")
    print(
        f"  in-process < {TARGET_INLINE:.0f} s: {inline.seconds:.1f} s, "
        f"{verdict(inline.seconds < TARGET_INLINE)}"
    )
    print(
        f"  2 workers < {TARGET_WORKERS:.0f} s: {queued.seconds:.1f} s, "
        f"{verdict(queued.seconds < TARGET_WORKERS)}"
    )
    ms = queued.request_s * 1000
    print(
        f"  publish request (queued, over HTTP) < {TARGET_REQUEST_MS:.0f} ms: {ms:.0f} ms, "
        f"{verdict(ms < TARGET_REQUEST_MS)}"
    )
    for r in (inline, queued):
        only = r.rewritten == r.bytes_changed and r.unexpected == 0
        print(
            f"  {r.label}: only feeds whose bytes changed were re-rendered: "
            f"{r.rewritten} of {r.total_feeds}, {verdict(only)}"
        )
    return (
        f"publish to {n} schools: in-process {inline.seconds:.1f} s, "
        f"2 workers {queued.seconds:.1f} s, feeds re-rendered {queued.rewritten} of "
        f"{queued.total_feeds}, request {ms:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--baseline", type=float, default=2.0, help="idle seconds before a run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp = Path(tempfile.mkdtemp(prefix="sencocal-bench-publish-"))
    procs = Processes(tmp)
    print(
        f"sencocal LA-publishing benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; work dir {tmp} (removed at the end)"
    )
    summary = ""
    try:
        with bench_database() as db_url, bench_redis() as redis_url:
            from feedserver.clock import FixedClock

            port = common.free_port()
            clock = FixedClock(NOW)
            app_inline, app_rq = jobs_bench.make_apps(db_url, redis_url, port, clock)
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
    print(summary)


if __name__ == "__main__":
    main()
