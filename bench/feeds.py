"""Benchmark: the feed endpoint under load, beside its limit, its floor and its peer, and at scale.

    python bench/feeds.py [--duration 10] [--connections 32] [--rounds 2] [--scale-schools 2500]

Builds the demo (``feedserver.demo_setup.build_demo``) in a temp dir, takes the demo primary
school's ``senco`` feed, and loads these with wrk, side by side in one run (interleaved: for each
round and each request kind, every candidate in turn, so the ratios compare like with like):

    nginx static   the feed's bytes as a static file (and its .gz via gzip_static): the limit
    bare Flask     a Flask view returning the same bytes with a fixed ETag, gunicorn 2 workers:
                   the framework floor
    Radicale       the same events PUT into a Radicale calendar collection, GET the collection:
                   the peer (it ignores If-None-Match, so its "304" runs are full 200s)
    app            the full app, ``gunicorn -c deploy/gunicorn.conf.py feedserver.wsgi:app``
    app + nginx    the app behind deploy/nginx.conf (the production front: its feed cache)

Request kinds: GET (identity), GET with ``Accept-Encoding: gzip`` (what calendar clients send) and
a conditional GET with ``If-None-Match: <the candidate's ETag>`` (what polling clients send).
Prints requests/s and p99 latency per candidate and kind (best of the rounds), the ratios the
issue sets targets for (app/bare Flask >= 0.8, app/Radicale >= 100, front/nginx static >= 0.7),
then revokes the token and times how long the front keeps serving it. Asserts nothing about
speed. Then, at scale: ``--scale-schools`` synthetic schools (copies of the demo primary school
with new ids, five feeds each) stored and refreshed with one shared ``rules.Memo``; prints the
time, database size per school, and the gunicorn workers' RSS after a sample of feeds and after
every feed once.

The nginx front is deploy/nginx.conf itself, rewritten only where a loopback bench must differ
(see ``front_config``): plain http on a free port, temp paths, the bench's gunicorn port, the
port-80 redirect server (between ``bench:skip`` markers) left out. Its ``location /feeds/`` block
is checked to be byte-for-byte the shipped one.

Everything listens on 127.0.0.1 on free high ports; every process started here is stopped at the
end and the temp dir removed. gunicorn's access log goes to /dev/null for the load runs (the
same for the app and bare Flask); the front writes its access log as shipped (to the temp dir),
and the bench checks it never holds the token.

It installs nothing. It needs (Debian 12; see bench/README.md):

    apt-get install -y nginx wrk
    python3 -m venv /tmp/radicale-venv && /tmp/radicale-venv/bin/pip install radicale

Radicale is looked for at --radicale, $SENCOCAL_BENCH_RADICALE, on PATH, then at
/tmp/radicale-venv/bin/radicale (``--no-radicale`` skips it). The machine is shared by wrk and
the servers (2 cores here), so absolute figures are the machine's; the ratios are the point.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 11, 23)
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
RADICALE_USER = "bench"
RADICALE_AUTH = "Basic YmVuY2g6YmVuY2g="  # bench:bench (Radicale runs with auth type none)
INSTALL_HINT = {
    "nginx": "apt-get install -y nginx",
    "wrk": "apt-get install -y wrk",
    "radicale": "python3 -m venv /tmp/radicale-venv && /tmp/radicale-venv/bin/pip install radicale"
    "   (or pass --radicale PATH, or --no-radicale)",
    "gunicorn": "pip install -e '.[deploy]' (gunicorn in the project venv)",
}
KINDS = ("GET", "GET gzip", "304")


# --- processes, ports, HTTP ------------------------------------------------------------------


class Processes:
    """Every process the bench starts, stopped (by its own pid) in ``stop_all``."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.items: list[tuple[str, subprocess.Popen[bytes], int]] = []

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        stop_signal: int = signal.SIGTERM,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own session, output to ``<logdir>/<name>.log``."""
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.items.append((name, proc, stop_signal))
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines a process wrote (for start-up failures)."""
        path = self.logdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop one process started here."""
        for name, p, sig in list(self.items):
            if p is proc:
                self._stop_one(p, sig)
                self.items.remove((name, p, sig))

    def stop_all(self) -> None:
        """Stop every process started here, newest first."""
        while self.items:
            _, proc, sig = self.items.pop()
            self._stop_one(proc, sig)

    @staticmethod
    def _stop_one(proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)  # gunicorn/nginx/Radicale masters stop their own workers
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


@dataclass
class Reply:
    """One HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes


def fetch(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def wait_ready(
    port: int,
    path: str,
    proc: subprocess.Popen[bytes],
    procs: Processes,
    name: str,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start-up:\n{procs.log_tail(name)}")
        try:
            if fetch(port, path, headers).status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(
        f"{name} did not answer on port {port} within {timeout:.0f} s:\n{procs.log_tail(name)}"
    )


# --- tools ------------------------------------------------------------------------------------


def find_tools(args: argparse.Namespace) -> dict[str, str]:
    """Paths of nginx, wrk and Radicale, or exit saying exactly what to install."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for tool in ("nginx", "wrk"):
        path = shutil.which(tool) or next(
            (p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.access(p, os.X_OK)), None
        )
        if path:
            found[tool] = path
        else:
            missing.append(tool)
    if not args.no_radicale:
        candidates = [
            args.radicale,
            os.environ.get("SENCOCAL_BENCH_RADICALE"),
            shutil.which("radicale"),
            "/tmp/radicale-venv/bin/radicale",
        ]
        path = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
        if path:
            found["radicale"] = path
        else:
            missing.append("radicale")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing.append("gunicorn")
    if missing:
        lines = ["bench/feeds.py needs tools that are not installed (it installs nothing):"]
        lines += [f"  {tool}: {INSTALL_HINT[tool]}" for tool in missing]
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2)
    return found


# --- wrk --------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p99_ms: float
    requests: int
    errors: int
    bad_status: int
    raw: str = field(repr=False, default="")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(
    wrk: str,
    port: int,
    path: str,
    headers: dict[str, str],
    duration: float,
    connections: int,
    threads: int,
    workdir: Path,
) -> WrkResult:
    script = workdir / "wrk-headers.lua"
    # Long brackets ([==[ ]==]) so quotes in ETags need no escaping.
    script.write_text("".join(f'wrk.headers["{k}"] = [==[{v}]==]\n' for k, v in headers.items()))
    argv = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    total = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        rps=float(rps.group(1)) if rps else 0.0,
        p99_ms=float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan"),
        requests=int(total.group(1)) if total else 0,
        errors=sum(int(g) for g in errs.groups()) if errs else 0,
        bad_status=int(bad.group(1)) if bad else 0,
        raw=out,
    )


# --- the candidates ---------------------------------------------------------------------------


@dataclass
class Candidate:
    """One server under test: where to send each kind of request."""

    name: str
    port: int
    path: str
    etag: str  # the ETag this server sends for the identity representation
    base_headers: dict[str, str] = field(default_factory=dict)
    note: str = ""
    results: dict[str, list[WrkResult]] = field(default_factory=dict)

    def headers(self, kind: str) -> dict[str, str]:
        """The request headers for one kind of request (see KINDS)."""
        h = dict(self.base_headers)
        if kind == "GET gzip":
            h["Accept-Encoding"] = "gzip"
        if kind == "304":
            h["If-None-Match"] = self.etag
        return h

    def best(self, kind: str) -> WrkResult | None:
        """The run with the most requests/s for ``kind`` (the least disturbed by noise)."""
        runs = self.results.get(kind) or []
        return max(runs, key=lambda r: r.rps) if runs else None


BARE_FLASK = '''\
"""The framework floor: a bare Flask view returning the feed's bytes (written by bench/feeds.py)."""
from pathlib import Path

from flask import Flask, Response, request

HERE = Path(__file__).parent
BODY = (HERE / "static" / "feed.ics").read_bytes()
BODY_GZIP = (HERE / "static" / "feed.ics.gz").read_bytes()
ETAG = (HERE / "etag.txt").read_text().strip()
app = Flask(__name__)


@app.route("/feeds/<token>.ics")
def feed(token):
    headers = {"ETag": ETAG, "Vary": "Accept-Encoding"}
    if request.headers.get("If-None-Match") == ETAG:
        return Response(status=304, headers=headers)
    body = BODY
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body = BODY_GZIP
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, content_type="text/calendar; charset=utf-8")
'''


def nginx_main_config(tmp: Path, http_body: str) -> str:
    """A whole nginx.conf around ``http_body``: temp paths, loopback only, Debian's http defaults."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 temp dir
    return (
        f"{user}worker_processes auto;\n"
        "daemon off;\n"
        f"pid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/logs/nginx-error.log warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    # Debian's nginx.conf http defaults (sendfile, tcp_nopush, mime types, gzip on).\n"
        "    sendfile on;\n    tcp_nopush on;\n    types_hash_max_size 2048;\n"
        "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        "    gzip on;\n"
        f"    access_log {tmp}/logs/nginx-default-access.log;\n"
        f"    client_body_temp_path {tmp}/nginx-tmp/body;\n"
        f"    proxy_temp_path {tmp}/nginx-tmp/proxy;\n"
        f"    fastcgi_temp_path {tmp}/nginx-tmp/fastcgi;\n"
        f"    uwsgi_temp_path {tmp}/nginx-tmp/uwsgi;\n"
        f"    scgi_temp_path {tmp}/nginx-tmp/scgi;\n" + textwrap.indent(http_body, "    ") + "}\n"
    )


def static_server(tmp: Path, port: int) -> str:
    """(a) the limit: the same bytes as a static file (nginx's own ETag/304; .gz via gzip_static)."""
    return textwrap.dedent(f"""\
        server {{
            listen 127.0.0.1:{port};
            access_log off;
            location /static/ {{
                root {tmp};
                types {{ }}
                default_type "text/calendar; charset=utf-8";
                gzip off;
                gzip_static on;   # feed.ics.gz: the app's own gzip bytes
            }}
        }}
        """)


def front_config(shipped: str, tmp: Path, port: int, app_port: int) -> tuple[str, list[str]]:
    """deploy/nginx.conf made runnable on loopback; returns (text, what was changed).

    Each rewrite must match the shipped file as many times as stated, so a change to the
    shipped file that this bench does not understand stops the bench instead of silently
    measuring something else.
    """
    done: list[str] = []

    def sub(
        pattern: str, repl: str, text: str, expect: int | None, what: str, flags: int = 0
    ) -> str:
        new, n = re.subn(pattern, repl, text, flags=flags)
        if (expect is not None and n != expect) or n == 0:
            raise SystemExit(
                f"deploy/nginx.conf changed shape: {what} matched {n} times "
                f"(expected {expect if expect is not None else '1+'}); "
                "update front_config in bench/feeds.py"
            )
        done.append(f"{what} ({n}x)")
        return new

    text = sub(
        r"^[ \t]*# bench:skip-begin.*?# bench:skip-end[^\n]*\n",
        "",
        shipped,
        1,
        "port-80 redirect server left out",
        re.S | re.M,
    )
    text = sub(
        r"listen 443 ssl( http2)?;",
        f"listen 127.0.0.1:{port};",
        text,
        1,
        f"listen 443 ssl -> plain http on 127.0.0.1:{port}",
    )
    text = sub(r"^[ \t]*listen \[::\]:443[^\n]*\n", "", text, 1, "IPv6 listen dropped", re.M)
    text = sub(r"^[ \t]*ssl_\w+[^\n]*\n", "", text, None, "ssl_* directives dropped", re.M)
    text = sub(
        r"proxy_cache_path /var/cache/nginx/sencocal ",
        f"proxy_cache_path {tmp}/cache ",
        text,
        1,
        "cache directory -> temp dir",
    )
    text = sub(
        r"server 127\.0\.0\.1:8000;",
        f"server 127.0.0.1:{app_port};",
        text,
        1,
        f"upstream -> the bench's gunicorn on {app_port}",
    )
    text = sub(r"/var/log/nginx/", f"{tmp}/logs/", text, None, "log files -> temp dir")
    return text, done


def feeds_location(conf: str) -> str:
    """The text of the ``location /feeds/ { ... }`` block (brace-matched, comments respected)."""
    start = conf.index("location /feeds/ {")
    depth = 0
    i = start
    in_comment = False
    while i < len(conf):
        ch = conf[i]
        if in_comment:
            in_comment = ch != "\n"
        elif ch == "#":
            in_comment = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return conf[start : i + 1]
        i += 1
    raise ValueError("unbalanced location /feeds/ block")


def radicale_config(tmp: Path, port: int) -> str:
    return textwrap.dedent(f"""\
        [server]
        hosts = 127.0.0.1:{port}
        [auth]
        # Any user name is accepted; the bench sends {RADICALE_USER}:{RADICALE_USER}.
        type = none
        [rights]
        type = authenticated
        [storage]
        filesystem_folder = {tmp}/radicale
        [web]
        type = none
        [logging]
        level = warning
        """)


# --- the demo ---------------------------------------------------------------------------------


@dataclass
class DemoFeed:
    """The demo feed under test: where it is, its bytes and validators."""

    db_url: str
    path: str  # /feeds/<token>.ics
    token: str
    school: str
    ics: bytes
    ics_gzip: bytes
    etag: str
    last_modified: str
    events: int


def build_demo_feed(tmp: Path) -> DemoFeed:
    from feedserver.demo_setup import build_demo

    app, lines = build_demo(8000, DAY, directory=tmp)
    senco = [line for line in lines if line.startswith("senco ")]
    chosen = next((line for line in senco if "Primary" in line), senco[0])
    school, url = chosen.split(None, 1)[1].rsplit(": ", 1)
    path = url[url.index("/feeds/") :]
    client = app.test_client()
    plain = client.get(path)
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    svc = app.extensions["sencocal"]
    db_url = svc.db.url
    svc.db.dispose()
    assert plain.status_code == 200 and gz.headers.get("Content-Encoding") == "gzip"
    return DemoFeed(
        db_url=db_url,
        path=path,
        token=path[len("/feeds/") : -len(".ics")],
        school=school,
        ics=plain.data,
        ics_gzip=gz.data,
        etag=plain.headers["ETag"],
        last_modified=plain.headers["Last-Modified"],
        events=plain.data.count(b"BEGIN:VEVENT"),
    )


def app_env(db_url: str, port: int, access_log: str = "/dev/null") -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SECRET_KEY=secrets.token_urlsafe(32),
        SENCOCAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        SENCOCAL_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        SENCOCAL_ACCESS_LOG=access_log,
    )
    env.pop("SENCOCAL_FEED_CACHE_SECONDS", None)  # the default (5 s), as the nginx comment says
    env.pop("SENCOCAL_PRODUCTION", None)
    return env


def gunicorn_argv(app: str, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *extra]
    from gunicorn import config

    if hasattr(config, "ControlSocketDisable"):  # gunicorn >= 24 opens ~/.gunicorn/gunicorn.ctl
        argv.append("--no-control-socket")
    return [*argv, app]


# --- CPU and RSS --------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
        return out


def cpu_seconds(session_ids: list[int]) -> float:
    """CPU time used so far by every live process in the given sessions (ours: one per start)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in session_ids:  # fields[3] is the session id
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def wait_idle(procs: Processes, limit: float = 60.0) -> float:
    """Wait until the servers stop using CPU; return the seconds waited.

    Radicale works through its queue long after wrk has gone; without this wait, one
    candidate's tail would slow the next candidate's run.
    """
    sessions = [p.pid for _, p, _ in procs.items]
    start = time.monotonic()
    before = cpu_seconds(sessions)
    while time.monotonic() - start < limit:
        time.sleep(0.25)
        now = cpu_seconds(sessions)
        if now - before < 0.025:  # under 10% of one core
            break
        before = now
    return time.monotonic() - start


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_rss(master: int) -> tuple[float, float, float]:
    """(sum of workers' RSS, max worker RSS, master RSS) in MB."""
    workers = [rss_mb(p) for p in children(master)]
    return sum(workers), max(workers, default=0.0), rss_mb(master)


# --- printing ---------------------------------------------------------------------------------


def fmt_rps(r: WrkResult | None) -> str:
    return f"{r.rps:>9,.0f}" if r else f"{'-':>9}"


def fmt_p99(r: WrkResult | None) -> str:
    return f"{r.p99_ms:>8.1f}" if r else f"{'-':>8}"


def ratio(a: WrkResult | None, b: WrkResult | None) -> float | None:
    if not a or not b or not b.rps:
        return None
    return a.rps / b.rps


def verdict(values: list[float | None], target: float) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "not measured"
    return "met" if all(v >= target for v in known) else "NOT met"


# --- the load runs ----------------------------------------------------------------------------


def load(args: argparse.Namespace, tools: dict[str, str], tmp: Path, procs: Processes) -> None:
    t0 = time.perf_counter()
    demo = build_demo_feed(tmp)
    print(
        f"demo built in {time.perf_counter() - t0:.1f} s; feed: {demo.school}, senco, "
        f"{demo.events} events, {len(demo.ics):,} bytes ({len(demo.ics_gzip):,} gzipped), "
        f"ETag {demo.etag}"
    )

    static = tmp / "static"
    static.mkdir()
    (static / "feed.ics").write_bytes(demo.ics)
    (static / "feed.ics.gz").write_bytes(demo.ics_gzip)
    (tmp / "etag.txt").write_text(demo.etag)
    (tmp / "bare_flask.py").write_text(BARE_FLASK)
    for sub in ("logs", "cache", "nginx-tmp", "radicale"):
        (tmp / sub).mkdir(exist_ok=True)

    ports = {name: free_port() for name in ("static", "flask", "radicale", "app", "front")}
    candidates: list[Candidate] = []

    # (d) the full app, and (b) bare Flask: the same gunicorn config (2 sync workers, access log
    # to /dev/null), so the only difference is the WSGI app.
    app_proc = procs.start(
        "app", gunicorn_argv("feedserver.wsgi:app"), env=app_env(demo.db_url, ports["app"])
    )
    flask_proc = procs.start(
        "flask",
        gunicorn_argv("bare_flask:app", "--pythonpath", str(tmp)),
        env=app_env(demo.db_url, ports["flask"]),
    )
    wait_ready(ports["app"], "/healthz", app_proc, procs, "app")
    wait_ready(ports["flask"], demo.path, flask_proc, procs, "flask")

    # (a) + (e): one nginx, two servers: the static file, and deploy/nginx.conf as the front.
    shipped = NGINX_CONF.read_text()
    front, changes = front_config(shipped, tmp, ports["front"], ports["app"])
    if feeds_location(front) != feeds_location(shipped).replace("/var/log/nginx/", f"{tmp}/logs/"):
        raise SystemExit("the front's location /feeds/ differs from deploy/nginx.conf's")
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_main_config(tmp, static_server(tmp, ports["static"]) + front))
    test = subprocess.run(
        [
            tools["nginx"],
            "-t",
            "-p",
            str(tmp),
            "-e",
            str(tmp / "logs/nginx-t.log"),
            "-c",
            str(conf),
        ],
        capture_output=True,
        text=True,
    )
    if test.returncode:
        raise SystemExit(f"nginx -t failed on the bench copy of deploy/nginx.conf:\n{test.stderr}")
    print(
        "nginx front: deploy/nginx.conf with: "
        + "; ".join(changes)
        + "; location /feeds/ verbatim; nginx -t ok"
    )
    nginx_proc = procs.start(
        "nginx",
        [tools["nginx"], "-p", str(tmp), "-e", str(tmp / "logs/nginx-error.log"), "-c", str(conf)],
        stop_signal=signal.SIGQUIT,
    )
    wait_ready(ports["static"], "/static/feed.ics", nginx_proc, procs, "nginx")
    wait_ready(ports["front"], "/healthz", nginx_proc, procs, "nginx")

    static_etag = fetch(ports["static"], "/static/feed.ics").headers["etag"]
    candidates.append(Candidate("nginx static", ports["static"], "/static/feed.ics", static_etag))
    candidates.append(Candidate("bare Flask", ports["flask"], demo.path, demo.etag))

    # (c) Radicale: the feed PUT as a whole calendar becomes a collection of its events.
    if "radicale" in tools:
        rport = ports["radicale"]
        (tmp / "radicale.conf").write_text(radicale_config(tmp, rport))
        rproc = procs.start("radicale", [tools["radicale"], "--config", str(tmp / "radicale.conf")])
        auth = {"Authorization": RADICALE_AUTH}
        wait_ready(rport, "/", rproc, procs, "radicale", headers=auth)
        rpath = f"/{RADICALE_USER}/feed.ics/"
        put = fetch(rport, rpath, {**auth, "Content-Type": "text/calendar"}, "PUT", demo.ics)
        got = fetch(rport, rpath, auth)
        if put.status not in (200, 201) or got.status != 200:
            raise SystemExit(
                f"Radicale PUT {put.status} / GET {got.status}: {procs.log_tail('radicale')}"
            )
        print(
            f"Radicale: PUT the feed as a collection ({put.status}); GET returns "
            f"{got.body.count(b'BEGIN:VEVENT')} events, {len(got.body):,} bytes"
        )
        candidates.append(
            Candidate(
                "Radicale", rport, rpath, got.headers.get("etag", '"none"'), base_headers=auth
            )
        )
    else:
        print("Radicale: skipped (--no-radicale)")

    candidates.append(Candidate("app", ports["app"], demo.path, demo.etag))
    candidates.append(Candidate("app + nginx", ports["front"], demo.path, demo.etag))

    check_responses(candidates)

    threads = min(2, args.connections)
    print(
        f"\nwrk: {threads} threads x {args.connections} connections, {args.duration:g} s per run, "
        f"{args.rounds} round(s) interleaved, on {os.cpu_count()} cores shared with the servers"
    )
    for cand in candidates:  # warm-up: caches filled, workers imported, nothing recorded
        for kind in KINDS:
            run_wrk(
                tools["wrk"],
                cand.port,
                cand.path,
                cand.headers(kind),
                1,
                args.connections,
                threads,
                tmp,
            )
            wait_idle(procs)
    for rnd in range(1, args.rounds + 1):
        line = [f"round {rnd}:"]
        for kind in KINDS:
            # Interleaved: every candidate in turn for this kind, the order reversed on even
            # rounds so no candidate always runs right after the same neighbour.
            order = candidates if rnd % 2 else candidates[::-1]
            for cand in order:
                res = run_wrk(
                    tools["wrk"],
                    cand.port,
                    cand.path,
                    cand.headers(kind),
                    args.duration,
                    args.connections,
                    threads,
                    tmp,
                )
                cand.results.setdefault(kind, []).append(res)
                waited = wait_idle(procs)
                if waited > 2:
                    line.append(f"[{cand.name} kept a core busy {waited:.0f} s after wrk]")
                if res.errors or res.bad_status:
                    line.append(
                        f"[{cand.name} {kind}: {res.errors} socket errors, "
                        f"{res.bad_status} non-2xx/3xx]"
                    )
            line.append(
                f"{kind}: " + " / ".join(f"{c.results[kind][-1].rps:,.0f}" for c in candidates)
            )
        print("  ".join(line[:1]) + " " + "; ".join(line[1:]) + " rps")
    print_results(candidates)
    front_log_report(tmp, demo)
    revocation(demo, ports["front"], ports["app"])


def check_responses(candidates: list[Candidate]) -> None:
    """One request of each kind per candidate, so the load runs are known to be 200s/304s."""
    print("\nresponses (status, bytes, Content-Encoding; then the conditional GET's status):")
    for cand in candidates:
        cells = []
        for kind in KINDS:
            r = fetch(cand.port, cand.path, cand.headers(kind))
            enc = r.headers.get("content-encoding", "identity")
            cells.append(
                f"{kind}: {r.status} {len(r.body):>7,} {enc:<8}"
                if kind != "304"
                else f"If-None-Match: {r.status}"
            )
            if kind == "304" and r.status != 304:
                cand.note = f"answers If-None-Match with {r.status}: its '304' runs are {r.status}s"
        print(f"  {cand.name:<13} " + "   ".join(cells))
    for cand in candidates:
        if cand.note:
            print(f"  note: {cand.name} {cand.note}")


def print_results(candidates: list[Candidate]) -> None:
    print("\nresults (best of the rounds; p99 latency from that run):")
    head = "".join(f"{kind + ' rps':>13}{'p99 ms':>9}" for kind in KINDS)
    print(f"  {'candidate':<13}{head}")
    for cand in candidates:
        cells = "".join(f"{fmt_rps(cand.best(k)):>13}{fmt_p99(cand.best(k)):>9}" for k in KINDS)
        print(f"  {cand.name:<13}{cells}")
    by = {c.name: c for c in candidates}
    print("\nratios (requests/s):")
    rows = [
        ("app / bare Flask", "app", "bare Flask", 0.8),
        ("app / Radicale", "app", "Radicale", 100.0),
        ("app + nginx / nginx static", "app + nginx", "nginx static", 0.7),
    ]
    for label, a, b, target in rows:
        if a not in by or b not in by:
            print(f"  {label:<27} not measured")
            continue
        values = [ratio(by[a].best(k), by[b].best(k)) for k in KINDS]
        cells = "  ".join(
            f"{k}: {v:>7.2f}" if v is not None else f"{k}: -"
            for k, v in zip(KINDS, values, strict=True)
        )
        print(f"  {label:<27} {cells}   target >= {target:g}: {verdict(values, target)}")
    # Per-round ratios too, so noise is visible.
    if "app" in by and "bare Flask" in by and len(by["app"].results.get("GET", [])) > 1:
        for k in KINDS:
            per = [
                a.rps / b.rps
                for a, b in zip(by["app"].results[k], by["bare Flask"].results[k], strict=True)
                if b.rps
            ]
            print(f"  app / bare Flask per round, {k}: " + ", ".join(f"{v:.2f}" for v in per))


def front_log_report(tmp: Path, demo: DemoFeed) -> None:
    """What the front's access log says it did, and whether the token ever reached a log."""
    log = tmp / "logs" / "sencocal-access.log"
    time.sleep(0.2)
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [ln for ln in text.splitlines() if "/feeds/" in ln]
    statuses = Counter(
        re.search(r'" (\d{3}) ', ln).group(1)
        for ln in lines  # type: ignore[union-attr]
        if re.search(r'" (\d{3}) ', ln)
    )
    caches = Counter(m.group(1) for ln in lines if (m := re.search(r"cache=(\S+)", ln)))
    upstream = sum(1 for ln in lines if not re.search(r"upstream=-", ln))
    print(
        f"\nfront access log: {len(lines):,} feed requests logged (the file is buffered, "
        f"the last ones may be missing); status {dict(statuses.most_common())}; "
        f"cache {dict(caches.most_common())}; {upstream:,} went to the app"
    )
    leaked = [p.name for p in (tmp / "logs").iterdir() if demo.token.encode() in p.read_bytes()]
    print(
        f"feed token in any nginx log: {'YES: ' + ', '.join(leaked) if leaked else 'no'}"
        f" (sample line: {lines[-1][:120] if lines else '-'})"
    )


def revocation(demo: DemoFeed, front_port: int, app_port: int, watch: float = 20.0) -> None:
    """Revoke the token, then poll the front and the app for ``watch`` seconds.

    The last time each still served the feed is the revocation delay actually seen
    (bound: 5 s app cache + 10 s nginx cache).
    """
    from feedserver.storage import subscriptions
    from feedserver.storage.db import Database

    for _ in range(4):  # both workers' caches and the nginx cache hold the feed right now
        fetch(front_port, demo.path)
        fetch(app_port, demo.path)
    db = Database(demo.db_url)
    with db.session() as session:
        feed = subscriptions.feed_for_token(session, demo.token)
        assert feed is not None
        subscriptions.revoke_token(session, feed, "demo", "bench", dt.datetime.now(dt.UTC))
    db.dispose()
    start = time.monotonic()
    last_200 = {"front": -1.0, "app": -1.0}
    statuses: dict[str, Counter[int]] = {"front": Counter(), "app": Counter()}
    while time.monotonic() - start < watch:
        for name, port in (("front", front_port), ("app", app_port)):
            status = fetch(port, demo.path).status
            statuses[name][status] += 1
            if status == 200:
                last_200[name] = time.monotonic() - start
        time.sleep(0.05)
    cells = [
        f"{name} last served it {t:.1f} s after ({dict(statuses[name])})"
        for name, t in last_200.items()
    ]
    print(
        f"revocation: token revoked, polled {watch:g} s: "
        + "; ".join(cells)
        + " (bound: 5 s app cache + 10 s nginx cache = 15 s)"
    )


# --- scale ------------------------------------------------------------------------------------


def scale(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    import rules
    from feedserver import catalog
    from feedserver.pipeline import refresh
    from feedserver.storage import packstore, schools, subscriptions
    from feedserver.storage.db import Database
    from feedserver.storage.subscriptions import AUDIENCES

    n = args.scale_schools
    directory = tmp / "scale"
    directory.mkdir()
    db_path = directory / "scale.db"
    url = f"sqlite:///{db_path}"
    now = dt.datetime.combine(DAY, dt.time(9, 0), dt.UTC)
    db = Database(url)
    db.upgrade()
    base = catalog.demo_school("demo-primary").model_dump(mode="json")
    tokens: list[str] = []
    print(
        f"\nscale: {n:,} synthetic schools (the demo primary with new ids), "
        f"{len(AUDIENCES)} feeds and a token each"
    )
    t0 = time.perf_counter()
    with db.session() as session:
        for name in catalog.demo_pack_names():
            packstore.publish(session, catalog.demo_file(name), f"{name}.yaml", "bench", now)
    ids = [f"synthetic-{i:05d}" for i in range(n)]
    for start in range(0, n, 250):
        with db.session() as session:
            for i in range(start, min(n, start + 250)):
                data = dict(base, id=ids[i], name=f"Synthetic School {i}", urn=f"{8000000 + i}")
                row = schools.save(session, rules.SchoolProfile.model_validate(data), "bench", now)
                for audience in AUDIENCES:
                    feed = subscriptions.ensure_feed(session, row, audience, "bench", now)
                    tokens.append(subscriptions.add_token(session, feed, "bench", "bench", now))
    t1 = time.perf_counter()
    memo = rules.Memo()
    rendered = 0
    for start in range(0, n, 50):
        with db.session() as session:
            for school_id in ids[start : start + 50]:
                result = refresh.refresh_school(session, school_id, DAY, now, memo=memo)
                rendered += len(result.feeds_rendered)
    t2 = time.perf_counter()
    with db.engine.connect() as conn:
        from sqlalchemy import text

        feed_bytes = conn.execute(text("select sum(length(ics_gzip)), count(*) from feeds")).one()
        events = conn.execute(text("select count(*) from events")).scalar_one()
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.dispose()
    size = db_path.stat().st_size + sum(
        p.stat().st_size for p in directory.glob("scale.db-*") if p.exists()
    )
    print(
        f"  stored in {t1 - t0:.1f} s, refreshed in {t2 - t1:.1f} s "
        f"({(t2 - t1) / n * 1000:.1f} ms per school, {rendered:,} feeds rendered, "
        f"{events:,} event rows)"
    )
    print(
        f"  database {size / 2**20:,.0f} MB = {size / n / 1024:,.0f} kB per school "
        f"(of which stored feeds, gzipped, {feed_bytes[0] / n / 1024:,.0f} kB per school)"
    )

    port = free_port()
    proc = procs.start("scale-app", gunicorn_argv("feedserver.wsgi:app"), env=app_env(url, port))
    wait_ready(port, "/healthz", proc, procs, "scale-app")
    total, biggest, master = worker_rss(proc.pid)
    print(
        f"  app RSS after start: workers {total:.0f} MB (max {biggest:.0f} MB), "
        f"master {master:.0f} MB"
    )

    def hit(token: str) -> int:
        enc = {"Accept-Encoding": "gzip"} if random.random() < 0.8 else {}
        return fetch(port, f"/feeds/{token}.ics", enc).status

    rng = random.Random(1)
    sample = rng.sample(tokens, min(args.scale_sample, len(tokens)))
    with ThreadPoolExecutor(4) as pool:
        t3 = time.perf_counter()
        statuses = Counter(pool.map(hit, sample))
        t4 = time.perf_counter()
    total, biggest, master = worker_rss(proc.pid)
    print(
        f"  after {len(sample):,} random feeds ({dict(statuses)}, {len(sample) / (t4 - t3):,.0f}"
        f" req/s, 80% gzip): workers {total:.0f} MB (max {biggest:.0f} MB), "
        f"target < 300 MB: {'met' if total < 300 else 'NOT met'}"
    )
    if args.scale_all:
        with ThreadPoolExecutor(4) as pool:
            t3 = time.perf_counter()
            statuses = Counter(pool.map(hit, tokens))
            t4 = time.perf_counter()
        total, biggest, master = worker_rss(proc.pid)
        print(
            f"  after every feed once ({len(tokens):,} requests in {t4 - t3:.0f} s, "
            f"{dict(statuses)}): workers {total:.0f} MB (max {biggest:.0f} MB), "
            f"target < 300 MB: {'met' if total < 300 else 'NOT met'}"
        )
        time.sleep(6)  # longer than SENCOCAL_FEED_CACHE_SECONDS (5 s): every entry has expired
        hit(tokens[0])
        total, biggest, master = worker_rss(proc.pid)
        print(
            f"  6 s later (every cached feed expired) and one more request: workers "
            f"{total:.0f} MB (max {biggest:.0f} MB)"
        )
    procs.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best is kept)")
    parser.add_argument("--scale-schools", type=int, default=2500, help="0 skips the scale part")
    parser.add_argument(
        "--scale-sample",
        type=int,
        default=500,
        help="random feeds fetched before the first RSS reading",
    )
    parser.add_argument(
        "--no-scale-all",
        dest="scale_all",
        action="store_false",
        help="skip fetching every feed once before the second RSS reading",
    )
    parser.add_argument("--radicale", help="path to the radicale executable")
    parser.add_argument("--no-radicale", action="store_true")
    parser.add_argument("--no-load", action="store_true", help="only the scale part")
    args = parser.parse_args()
    tools = find_tools(args)
    # A plain `kill` should still stop the servers and remove the temp dir (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="sencocal-bench-"))
    procs = Processes(tmp)
    print(
        f"sencocal feed benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores; work dir {tmp} (removed at the end)"
    )
    try:
        if not args.no_load:
            load(args, tools, tmp, procs)
            procs.stop_all()
        if args.scale_schools > 0:
            scale(args, tmp, procs)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
