"""What the benchmarks share: processes they start, CPU from /proc, a database and Redis of their own.

Imported by the bench scripts (``python bench/jobs.py`` puts ``bench/`` on ``sys.path``):

* :class:`Processes`: every process a bench starts, each stopped by its own pid at the end;
  :func:`start_worker` / :func:`wait_workers` for ``python worker.py`` processes.
* :func:`cpu_ticks`, :class:`CpuGroups`, :func:`machine_ticks`: CPU seconds of named groups of
  processes over a window, against the whole machine's busy time (other work shows up).
* :func:`bench_database` / :func:`bench_redis`: a PostgreSQL database and a Redis index of the
  bench's own, dropped / flushed afterwards (also on Ctrl-C).
* :func:`la_text`, :func:`profiles`, :func:`post_pack`: the demo LA pack with its spring top-up
  round on a chosen date, copies of the demo primary school, and publishing a pack by the API.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get(
    "SENCOCAL_BENCH_POSTGRES_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_BASE = os.environ.get("SENCOCAL_BENCH_REDIS", "redis://127.0.0.1:6379").rstrip("/")
CLAIM = "sencocal-test-run"  # the tests' claim key, so a test run and the bench never share
SPRING = "2026: 2027-02-05"  # the demo LA pack's 2026 spring top-up round, as shipped


# --- processes and ports (as bench/feeds.py) -----------------------------------------------------


class Processes:
    """Every process the bench starts, stopped (by its own pid) in ``stop_all``."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.items: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own session, output to ``<logdir>/<name>.log``."""
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.items.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines a process wrote."""
        path = self.logdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop one process started here."""
        for name, p in list(self.items):
            if p is proc:
                self._stop_one(p)
                self.items.remove((name, p))

    def stop_all(self) -> None:
        """Stop every process started here, newest first."""
        while self.items:
            _, proc = self.items.pop()
            self._stop_one(proc)

    @staticmethod
    def _stop_one(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)  # gunicorn stops its workers; rq finishes its job
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(
    procs: Processes,
    name: str,
    env: dict[str, str],
    queues: tuple[str, ...] = (),
    program: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start ``python worker.py [queues]`` (or ``program``) named ``name-<random>`` in rq."""
    argv = [*(program or (sys.executable, str(ROOT / "worker.py")))]
    return procs.start(name, [*argv, "--name", f"{name}-{uuid.uuid4().hex[:6]}", *queues], env)


def wait_workers(
    procs: Processes, connection: Any, count: int, started: dict[str, subprocess.Popen[bytes]]
) -> None:
    """Wait until ``count`` rq workers are registered; stop if one of ``started`` exited."""
    from rq import Worker

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, p in started.items():
            if p.poll() is not None:
                raise SystemExit(f"{name} exited:\n{procs.log_tail(name)}")
        if Worker.count(connection=connection) >= count:
            return
        time.sleep(0.2)
    raise SystemExit("the rq workers did not register within 60 s")


# --- CPU and RSS, from /proc -------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """CPU ticks (user + system) one process has used so far, all threads; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def pids_matching(*needles: str) -> list[int]:
    """Processes whose command line contains every needle (PostgreSQL backends name their DB)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmdline for n in needles):
            out.append(int(entry.name))
    return out


def machine_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) jiffies of all cores so far, from /proc/stat.

    Stolen is time the hypervisor gave this VM's cores to someone else (guest time is already
    counted in user time, so it is left out).
    """
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    total = sum(parts)
    return total - parts[3] - parts[4] - parts[7], parts[7], total


@dataclass
class CpuGroups:
    """Named groups of pids whose CPU time is measured over a window."""

    groups: dict[str, Callable[[], list[int]]]
    start: dict[str, dict[int, int]] = field(default_factory=dict)
    machine: tuple[int, int, int] = (0, 0, 0)

    def begin(self) -> None:
        """Start the window."""
        self.start = {name: {p: cpu_ticks(p) for p in find()} for name, find in self.groups.items()}
        self.machine = machine_ticks()

    def end(self) -> tuple[dict[str, float], float, float, float]:
        """CPU seconds per group; the machine's busy and stolen seconds (all cores); wall."""
        used = {}
        for name, find in self.groups.items():
            before = self.start.get(name, {})
            used[name] = sum(cpu_ticks(p) - before.get(p, 0) for p in find()) / TICK
        busy, stolen, total = machine_ticks()
        cores = os.cpu_count() or 1
        return (
            used,
            (busy - self.machine[0]) / TICK,
            (stolen - self.machine[1]) / TICK,
            (total - self.machine[2]) / TICK / cores,
        )


# --- resources: a database and a Redis index of our own ------------------------------------------


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards (also on failure)."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(ADMIN_URL)
    name = f"sencocal_bench_{uuid.uuid4().hex[:12]}"
    conninfo = (
        f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    )
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL is not reachable at {admin.host}:{admin.port}: {exc}"
        ) from None
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


@contextmanager
def bench_redis() -> Iterator[str]:
    """A Redis database index nobody else holds (claimed with SET NX), flushed afterwards."""
    import redis

    run = f"bench-{uuid.uuid4().hex}"
    for index in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{index}", socket_connect_timeout=3)
        try:
            claimed = client.set(CLAIM, run, nx=True, ex=6 * 3600)
        except redis.ConnectionError as exc:
            raise SystemExit(f"Redis is not reachable at {REDIS_BASE}: {exc}") from None
        if claimed and client.dbsize() == 1:
            break
        if claimed:  # free of claims but holding someone's keys: leave it alone
            client.delete(CLAIM)
        client.close()
    else:
        raise SystemExit("every Redis database index 1-15 is claimed or in use")
    try:
        yield f"{REDIS_BASE}/{index}"
    finally:
        client.flushdb()
        client.close()
        print(f"flushed Redis database {index}")


# --- data ---------------------------------------------------------------------------------------


def la_text(date: str) -> str:
    """The demo LA pack with its 2026 spring top-up round on ``date``."""
    from feedserver import catalog

    text = catalog.demo_file("la-example").decode()
    if SPRING not in text:
        raise SystemExit(f"the demo LA pack no longer says '{SPRING}': update bench/jobs.py")
    return text.replace(SPRING, f"2026: {date}")


def profiles(n: int) -> list[Any]:
    """``n`` copies of the demo primary school with new ids and 24 variants of their dates."""
    import rules
    from feedserver import catalog

    base = catalog.demo_school("demo-primary").model_dump(mode="json")
    inset_swap = "2027-06-07"
    assert inset_swap in base["inset_days"], "demo-primary INSET days changed: update bench/jobs.py"
    insets = [
        "2027-06-07",
        "2027-06-08",
        "2027-05-28",
        "2027-02-22",
        "2027-04-12",
        "2027-01-05",
        "2026-11-02",
        "2027-07-20",
    ]
    evenings = ["2027-03-10", "2027-03-11", "2027-03-04"]
    for day in insets + evenings:
        assert dt.date.fromisoformat(day).weekday() < 5, day
    out = []
    for i in range(n):
        data = dict(base, id=f"bench-{i:04d}", name=f"Bench Primary {i}", urn=f"{8000000 + i}")
        inset = sorted({d for d in base["inset_days"] if d != inset_swap} | {insets[i % 8]})
        named = dict(base["named_dates"])
        named["parents_evening"] = [
            evenings[i % 3] if d == "2027-03-10" else d for d in named["parents_evening"]
        ]
        data.update(inset_days=inset, named_dates=named)
        out.append(rules.SchoolProfile.model_validate(data))
    return out


def post_pack(app: Any, key: str, text: str, filename: str = "la-example.yaml") -> dict[str, Any]:
    """``POST /api/packs`` through the app's test client; the answer's counts."""
    reply = app.test_client().post(
        f"/api/packs?filename={filename}",
        data=text.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"},
    )
    if reply.status_code != 201:
        raise SystemExit(f"POST /api/packs answered {reply.status_code}: {reply.get_data(True)}")
    answer: dict[str, Any] = reply.get_json()
    return {k: answer[k] for k in ("revision", "schools_reached", "schools_queued")}
