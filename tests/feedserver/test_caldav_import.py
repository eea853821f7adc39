"""The demo feeds import into a real CalDAV server (Radicale) through the caldav client.

That is how Thunderbird, DAVx5 and many desktop tools store events: one resource per event,
named from its UID. Issue 8, section 5: identity-shaped UIDs (with '/' and ':') were refused.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import caldav
import icalendar
import pytest

from tests.feedserver.conftest import Server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Radicale server on a free loopback port, storing into a fresh folder."""
    root = tmp_path_factory.mktemp("radicale")
    port = _free_port()
    config = root / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = none\n"
        "[storage]\n"
        f"filesystem_folder = {root / 'collections'}\n"
        "[logging]\n"
        "level = warning\n",
        encoding="utf-8",
    )
    log = (root / "radicale.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((root / "radicale.log").read_text()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _one_event_calendars(feed: bytes) -> list[str]:
    """Split a feed into one VCALENDAR per event (with the timezone), as a CalDAV client does."""
    cal = icalendar.Calendar.from_ical(feed)
    timezones = cal.walk("VTIMEZONE")
    out = []
    for vevent in cal.walk("VEVENT"):
        single = icalendar.Calendar()
        single.add("prodid", str(cal["PRODID"]))
        single.add("version", "2.0")
        for tz in timezones:
            single.add_component(tz)
        single.add_component(vevent)
        out.append(single.to_ical().decode("utf-8"))
    return out


@pytest.mark.parametrize("school", ["demo-primary", "demo-secondary"])
def test_every_demo_event_imports_into_radicale_and_reads_back(
    demo_server: Server, radicale: str, school: str
):
    feed = demo_server.client.get(demo_server.new_feed(school, "senco")).data
    sent = {
        str(v["UID"]): str(v["SUMMARY"]) for v in icalendar.Calendar.from_ical(feed).walk("VEVENT")
    }
    assert len(sent) > 100
    with caldav.DAVClient(url=radicale, username="sencocal", password="unused") as client:
        principal = client.principal()
        calendar = principal.make_calendar(name=f"{school} SENCO", cal_id=school)
        for text in _one_event_calendars(feed):
            calendar.add_event(text)  # raises on any refusal (Radicale answered 400 before)
        back = {}
        for item in calendar.events():
            vevent = icalendar.Calendar.from_ical(item.data).walk("VEVENT")[0]
            back[str(vevent["UID"])] = str(vevent["SUMMARY"])
            assert Path(str(item.url)).name == f"{vevent['UID']}.ics"
    assert back == sent
