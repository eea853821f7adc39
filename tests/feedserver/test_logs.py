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


def test_nginx_log_maps_cover_every_secret_path():
    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text()
    for path in ("/feeds/", "/subscribe/", "/sign-in/"):
        assert conf.count(f'"~{path}') + conf.count(f'"~*{path}') == 2, path
    assert "$request " not in conf.split("log_format", 1)[1].split(";", 1)[0]


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
