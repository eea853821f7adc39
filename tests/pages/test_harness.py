"""The browser-test harness itself: Chromium, axe, reflow, screenshots and the live server.

These pin the fixtures in conftest.py on small documents of their own, independent of the app's
pages, so a broken harness cannot pass a page by accident.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.pages.conftest import PHONE, VIEWPORT, LiveServer, run_axe, serve_wsgi

WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

ACCESSIBLE = """<!doctype html>
<html lang="en-GB">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Accessible page</title>
<style>body { font-family: sans-serif; color: #0b0c0c; background: #fff; margin: 1rem; }
a { color: #1d70b8; } img { max-width: 100%; }</style></head>
<body>
<header><p><a href="/">Home</a></p></header>
<main>
<h1>Term dates</h1>
<p>The next INSET day is on Monday 5 January 2026.</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="" width="1" height="1">
<form action="/" method="get">
  <label for="school">School name</label>
  <input id="school" name="school" type="text" autocomplete="organization">
  <button type="submit">Search</button>
</form>
</main>
<footer><p>sencocal</p></footer>
</body>
</html>
"""

INACCESSIBLE = """<!doctype html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>Broken page</title></head>
<body>
<main>
<h1>Broken page</h1>
<img id="logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="20" height="20">
<form action="/" method="get"><input id="nolabel" type="text" name="q"></form>
<p id="faint" style="color: #aaa; background: #fff">This text is too faint to read.</p>
</main>
</body>
</html>
"""

WIDE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Wide</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Wide</h1><div id="wide" class="banner" style="width: 2000px">Too wide</div></main>
</body></html>
"""

FLUID = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Fluid</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Fluid</h1><div style="max-width: 60rem">A column that narrows with the window,
with long words like supercalifragilisticexpialidocious wrapping too.</div>
<img alt="" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" style="width: 100%; max-width: 900px">
</main></body></html>
"""

# Passes every WCAG rule but not axe's best practices (no main landmark, no level-one heading).
UNSTRUCTURED = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Unstructured</title></head>
<body><p>Text with no landmarks and no heading.</p></body></html>
"""

DOCUMENTS = {
    "/accessible": ACCESSIBLE,
    "/inaccessible": INACCESSIBLE,
    "/unstructured": UNSTRUCTURED,
    "/wide": WIDE,
    "/fluid": FLUID,
}


def _static_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = DOCUMENTS.get(environ["PATH_INFO"])
    if body is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    data = body.encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


@pytest.fixture
def site() -> Iterator[str]:
    """The documents above on a tiny WSGI app of their own."""
    with serve_wsgi(_static_app) as base_url:
        yield base_url


def test_page_is_debian_chromium_at_1280_by_800_in_british_english(page: Any, site: str) -> None:
    page.goto(f"{site}/accessible")
    assert page.title() == "Accessible page"
    assert page.evaluate("() => [innerWidth, innerHeight]") == [
        VIEWPORT["width"],
        VIEWPORT["height"],
    ]
    assert page.evaluate("() => navigator.language") == "en-GB"
    assert "HeadlessChrome" in page.evaluate("() => navigator.userAgent")


def test_accessible_page_has_no_axe_violations(page: Any, site: str, axe: Any) -> None:
    page.goto(f"{site}/accessible")
    axe(page)


def test_axe_fails_naming_each_rule_and_node(page: Any, site: str, axe: Any) -> None:
    page.goto(f"{site}/inaccessible")
    with pytest.raises(pytest.fail.Exception) as failed:
        axe(page)
    report = str(failed.value)
    for rule in ("image-alt", "label", "color-contrast"):
        assert f" {rule}: " in report, report
    assert "[critical] image-alt: Images must have alternative text" in report
    assert "target: #logo" in report
    assert '<img id="logo"' in report
    assert "target: #nolabel" in report
    assert "target: #faint" in report
    assert "contrast of 2.32" in report  # axe's own explanation of the failure is kept
    assert f"{site}/inaccessible" in report


def test_run_axe_returns_the_violations(page: Any, site: str) -> None:
    page.goto(f"{site}/inaccessible")
    found = {v["id"] for v in run_axe(page)}
    assert {"image-alt", "label", "color-contrast"} <= found
    page.goto(f"{site}/accessible")
    assert run_axe(page) == []


def test_axe_checks_best_practices_too(page: Any, site: str) -> None:
    page.goto(f"{site}/unstructured")
    assert run_axe(page, WCAG_TAGS) == []
    found = {v["id"] for v in run_axe(page)}
    assert {"landmark-one-main", "page-has-heading-one", "region"} <= found


def test_reflow_catches_a_wide_element(page: Any, site: str, reflow: Any) -> None:
    page.goto(f"{site}/wide")
    with pytest.raises(AssertionError) as failed:
        reflow(page)
    message = str(failed.value)
    assert "WCAG 1.4.10" in message
    assert f"phone width ({PHONE['width']} px)" in message
    assert "200% zoom" in message
    assert "div#wide.banner" in message
    # The page is left as the test had it.
    assert page.viewport_size == VIEWPORT


def test_reflow_passes_a_fluid_page(page: Any, site: str, reflow: Any) -> None:
    page.goto(f"{site}/fluid")
    reflow(page)
    assert page.viewport_size == VIEWPORT


def test_shoot_writes_a_png_named_after_the_test(page: Any, site: str, shoot: Any) -> None:
    page.goto(f"{site}/accessible")
    named = shoot(page, "harness-accessible")
    assert named.name == "harness-accessible.png"
    assert named.parent.parts[-2:] == ("test-artifacts", "screenshots")
    default = shoot(page)
    assert default.name == "test_harness.test_shoot_writes_a_png_named_after_the_test.png"
    for path in (named, default):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 1000


def test_live_server_answers_healthz_in_the_browser(page: Any, live_server: LiveServer) -> None:
    answer = page.goto(live_server.url("/healthz"))
    assert answer is not None and answer.status == 200
    assert answer.json() == {"ok": True, "database": "ok"}


def test_live_server_has_the_demo_and_makes_keys(page: Any, live_server: LiveServer) -> None:
    assert live_server.base_url.startswith("http://127.0.0.1:")
    assert live_server.services.config.public_base_url == live_server.base_url
    assert live_server.clock.now().isoformat() == "2026-11-23T09:00:00+00:00"
    admin = {"Authorization": f"Bearer {live_server.admin_key}"}
    listed = page.request.get(live_server.url("/api/schools"), headers=admin)
    assert listed.status == 200, listed.text()
    assert {"demo-primary", "demo-secondary"} <= {s["id"] for s in listed.json()["schools"]}
    school = {"Authorization": f"Bearer {live_server.school_key('demo-primary')}"}
    mine = page.request.get(live_server.url("/api/schools/demo-primary"), headers=school)
    assert mine.status == 200, mine.text()
    other = page.request.get(live_server.url("/api/schools/demo-secondary"), headers=school)
    assert other.status == 404


def test_server_shutdown_ends_idle_connections() -> None:
    """Chromium opens connections ahead of need; one that never sends a request must not hang."""
    before = set(threading.enumerate())
    with serve_wsgi(_static_app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        idle = socket.create_connection((host, int(port)), timeout=5)
        deadline = time.monotonic() + 5
        while not any("process_request" in t.name for t in set(threading.enumerate()) - before):
            assert time.monotonic() < deadline, "the server never took the connection"
            time.sleep(0.01)
        started = set(threading.enumerate()) - before
    try:
        assert not [t for t in started if t.is_alive()]
        assert idle.recv(1) == b""  # the server ended it
    finally:
        idle.close()
