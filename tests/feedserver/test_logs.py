"""Feed tokens never reach a log: the app's, werkzeug's, gunicorn's access log."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from feedserver.web.logs import RedactingFilter, redact

TOKEN = "Zq3xV9aLw0PbNcE2uYtR7sKdGh4mFj8X"


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1 - - "GET /feeds/{TOKEN}.ics HTTP/1.1" 200 1234',
        f"/feeds/{TOKEN}.ics?x=1",
        f"https://calendars.example.org/feeds/{TOKEN}.ics",
        f"GET /feeds/{TOKEN} HTTP/1.1",
    ],
)
def test_redact_removes_the_token_and_keeps_the_rest(line):
    out = redact(line)
    assert TOKEN not in out and "/feeds/[redacted].ics" in out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"GET /subscribe/{TOKEN} HTTP/1.1", "GET /subscribe/[redacted] HTTP/1.1"),
        (f"POST /sign-in/{TOKEN} HTTP/1.1", "POST /sign-in/[redacted] HTTP/1.1"),
        ("GET /sign-in?next=/admin HTTP/1.1", "GET /sign-in?next=/admin HTTP/1.1"),
        ("POST /sign-in HTTP/1.1", "POST /sign-in HTTP/1.1"),
    ],
)
def test_subscribe_pages_and_sign_in_links_are_redacted_too(line, expected):
    assert redact(line) == expected


@pytest.mark.parametrize(
    "path",
    [
        f"/%66eeds/{TOKEN}.ics",
        f"/feeds%2F{TOKEN}.ics",
        f"/feeds%2f{TOKEN}.ics",
        f"/%73ubscribe/{TOKEN}",
        f"/sign%2Din/{TOKEN}",
        f"//feeds/{TOKEN}.ics",
        f"/static/../feeds/{TOKEN}.ics",
        f"/feeds\\{TOKEN}.ics",
        f"/%2566eeds/{TOKEN}.ics",
        f"/FEEDS/{TOKEN}.ics",
        f"/sign-in?next=/subscribe/{TOKEN}",
        f"/sign-in?next=%2Fsubscribe%2F{TOKEN}",
    ],
)
def test_secrets_are_redacted_however_their_path_is_spelled(path):
    for line in (f'"GET {path} HTTP/1.1" 200', f"https://calendar.example.org{path}", path):
        out = redact(line)
        assert TOKEN not in out and "[redacted]" in out, out


@pytest.mark.parametrize(
    "line",
    [
        '"POST /api/schools/demo-primary/feeds/senco/tokens HTTP/1.1" 201',
        '"DELETE /api/schools/demo-primary/feeds/slt/tokens/office HTTP/1.1" 204',
        '"POST /api/schools/demo-primary/feeds HTTP/1.1" 201',
        '"GET /sign-in?next=/schools/demo-primary HTTP/1.1" 200',
        '"GET /admin/feeds HTTP/1.1" 200',
        '"GET /sign-in/ HTTP/1.1" 404',
    ],
)
def test_paths_without_a_secret_are_logged_as_they_are(line):
    assert redact(line) == line


def test_the_logging_filter_redacts_messages_and_arguments(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("fetched %s", f"/feeds/{TOKEN}.ics")
        logger.info(f"direct /feeds/{TOKEN}.ics")
    assert TOKEN not in caplog.text and caplog.text.count("[redacted]") == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_access_log_never_shows_a_token(tmp_path):
    """Real gunicorn, real HTTP: the demo's feed URLs fetched, then the log read."""
    from feedserver.demo_setup import build_demo

    port = free_port()
    _app, lines = build_demo(port, None, tmp_path / "demo.db")
    url = next(line.split(": ", 1)[1] for line in lines if line.startswith("senco "))
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "SECRET_KEY": "k" * 32, "SENCOCAL_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(root / "deploy/gunicorn.conf.py"), "feedserver.wsgi:app"],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        assert answer.status == 200 and answer.read().startswith(b"BEGIN:VCALENDAR")
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(url.replace(token, "nope" + token[4:]), timeout=2)
        finally:
            proc.terminate()
            proc.wait(10)
    text = log.read_text()
    assert token not in text
    assert re.search(r'"GET /feeds/\[redacted\]\.ics HTTP/1\.1" 200', text), text


def served_paths(feed: str, subscribe: str, link: str) -> dict[str, str]:
    """The secret paths a careless or hostile client might send, each spelled several ways."""
    return {
        "plain feed": f"/feeds/{feed}.ics",
        "encoded f": f"/%66eeds/{feed}.ics",
        "encoded slash": f"/feeds%2F{feed}.ics",
        "double slash": f"//feeds/{feed}.ics",
        "subscribe": f"/subscribe/{subscribe}",
        "encoded s": f"/%73ubscribe/{subscribe}",
        "sign-in link": f"/sign-in/{link}",
        "next with a link": f"/sign-in?next=/sign-in/{link}",
    }


def request_all(base_url: str, paths: dict[str, str], referer: str) -> dict[str, int]:
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    codes = {}
    for name, path in paths.items():
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        conn.request("GET", path, headers={"Referer": referer, "Accept-Encoding": "gzip"})
        codes[name] = conn.getresponse().status
        conn.close()
    return codes


def test_no_secret_reaches_a_log_behind_nginx_whatever_the_spelling_and_when_the_app_is_down(
    tmp_path,
):
    """Real nginx (deploy/nginx.conf) in front of real gunicorn, then with gunicorn stopped."""
    import datetime as dt

    from feedserver.demo_setup import build_demo
    from feedserver.storage import accounts
    from feedserver.storage.models import User
    from tests.feedserver.nginx import nginx
    from tests.feedserver.served import free_port, gunicorn

    app_port = free_port()
    app, lines = build_demo(app_port, None, tmp_path / "demo.db")
    feed = next(line for line in lines if line.startswith("senco ")).rsplit("/", 1)[1][:-4]
    svc = app.extensions["sencocal"]
    now = dt.datetime.now(dt.UTC)
    with svc.db.session() as db:
        user = User(name="Sam", role="school", school_id="demo-primary", created_at=now)
        db.add(user)
        db.flush()
        link = accounts.new_link(db, user, "test", now)
    svc.close()
    paths = served_paths(feed, feed, link)
    api_path = "/api/schools/demo-primary/feeds/senco/tokens"
    referer = f"https://calendar.example.org/subscribe/{feed}"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with nginx(tmp_path, app_port) as front:
        with gunicorn(url, tmp_path, workers=1, port=app_port) as served:
            codes = request_all(front.base_url, {**paths, "api": api_path}, referer)
            direct = request_all(served.base_url, paths, referer)
            time.sleep(0.3)
            app_log = served.log_text()
        down = request_all(front.base_url, {**paths, "api": api_path}, referer)
        time.sleep(5.5)  # the access log is flushed at least every 5 s
        front_log = front.log_text()
    for served_as in (codes, direct):
        assert served_as["encoded f"] == served_as["encoded slash"] == 200, served_as
        assert served_as["encoded s"] == served_as["subscribe"] == 200, served_as
    # the app is down: nginx answers 502 (feeds it cached a moment ago it still serves)
    assert {down[k] for k in ("subscribe", "encoded s", "sign-in link", "api")} == {502}
    for log in (app_log, front_log):
        assert feed not in log and link not in log, log
        assert api_path in log, log  # API paths are not mangled
    assert front_log.count("/feeds/[redacted].ics") >= 8
    assert "connect() failed" not in front_log  # request-level errors carry the Referer
