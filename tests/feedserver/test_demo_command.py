"""`sencocal demo` really serves the feeds it prints (a real process on a real port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import icalendar
from click.testing import CliRunner

from feedserver.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_prints_every_feed_senco_first(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(
        main, ["demo", "--no-serve", "--port", "8123", "--today", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "/feeds/" in line]
    assert len(lines) == 10
    assert [line.split()[0] for line in lines[:2]] == ["senco", "senco"]
    assert all("http://127.0.0.1:8123/feeds/" in line for line in lines)
    assert "feeds for 2026/27 and 2027/28" in result.output


def test_demo_never_touches_database_url(tmp_path, monkeypatch):
    target = tmp_path / "production.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert CliRunner().invoke(main, ["demo", "--no-serve", "--port", "8124"]).exit_code == 0
    assert not target.exists()


def test_demo_serves_the_urls_it_prints(tmp_path):
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    exe = Path(sys.executable).parent / "sencocal"
    proc = subprocess.Popen(
        [str(exe), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("senco "):
                url = line.rsplit(": ", 1)[1].strip()
        assert url is not None
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    cal = icalendar.Calendar.from_ical(answer.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert len(cal.walk("VEVENT")) > 300
        time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(10)
        rest = proc.stdout.read() if proc.stdout is not None else ""
        if proc.stdout is not None:
            proc.stdout.close()
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    request_lines = [line for line in rest.splitlines() if '"GET /feeds/' in line]
    assert request_lines and all(
        "/feeds/[redacted].ics" in line and token not in line for line in request_lines
    )


def test_two_demos_never_share_a_database(tmp_path, monkeypatch):
    import tempfile

    from feedserver.demo_setup import build_demo

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _, first = build_demo(8125, None)
    _, second = build_demo(8126, None)
    where = [
        next(line for line in lines if line.startswith("Demo database: "))
        for lines in (first, second)
    ]
    paths = [Path(line.split(": ", 1)[1].split(" (")[0]) for line in where]
    assert paths[0] != paths[1] and all(p.exists() for p in paths)
    assert oct(paths[0].parent.stat().st_mode)[-3:] == "700"  # private to this user
    feeds = [next(line for line in lines if line.startswith("senco ")) for lines in (first, second)]
    assert feeds[0] != feeds[1]


def test_demo_db_option_keeps_the_database_where_asked_and_never_overwrites(tmp_path):
    target = tmp_path / "keep" / "demo.db"
    ok = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(target)])
    assert ok.exit_code == 0, ok.output
    assert target.exists() and f"Demo database: {target}" in ok.output
    again = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(target)])
    assert again.exit_code == 1
    assert "already exists" in again.output
