"""Browser-test fixtures: the real app on a real port, Debian's Chromium, axe-core, screenshots.

- ``live_server``: the app with the demo data (example LA pack, both demo schools) served over
  HTTP on a free 127.0.0.1 port, on a fresh SQLite file, with the clock fixed at
  2026-11-23 09:00 UTC.
- ``browser`` / ``page``: headless Chromium from Debian's ``chromium`` package driven by
  Playwright (never Playwright's own browser download); a new context per test, 1280x800, en-GB.
- ``axe``: ``axe(page)`` runs axe-core (``node_modules``, from ``npm ci``) and fails the test
  with a readable report unless there are zero violations.
- ``shoot``: ``shoot(page, name)`` keeps a full-page screenshot in ``test-artifacts/screenshots``;
  every browser test also keeps one of its page's final state, named after the test.
- ``reflow``: ``reflow(page)`` checks WCAG 1.4.10: no horizontal scrolling at 200% zoom or at
  320 CSS px wide.

Without Chromium, Playwright or axe-core the browser tests skip, saying what to install (and a
skip fails the run under CI=true).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import ThreadedWSGIServer

from feedserver import catalog
from feedserver.clock import FixedClock
from tests.conftest import ROOT
from tests.feedserver.conftest import Server, _server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # The machine has no network: without these Chromium's own background connections (updates,
    # safe browsing, variations) are refused and can stall or clutter a run.
    "--disable-background-networking",
    "--disable-component-update",
]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"width": 320, "height": 640}  # WCAG 1.4.10: 320 CSS px, i.e. 1280 px at 400%


# --------------------------------------------------------------------------- live server


class _ClosingThreadedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server that can end its idle connections at shutdown.

    Werkzeug closes a connection after each response, but Chromium opens connections ahead of
    need (preconnect), and a handler thread blocks reading one that never carries a request. The
    server remembers open connections so teardown can end them, then joins every handler thread
    (no daemon threads left behind, no unclosed sockets).
    """

    daemon_threads = False
    block_on_close = True

    def __init__(self, host: str, port: int, app: Any) -> None:
        super().__init__(host, port, app)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """End open connections, close the listening socket, join the handler threads.

        Werkzeug's ``serve_forever`` calls this itself on its way out after ``shutdown()``.
        """
        with self._open_lock:
            for conn in self._open:  # each handler reads end-of-stream and finishes
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        super().server_close()


@dataclass
class LiveServer:
    """The real app answering HTTP on ``base_url``, with the demo LA and schools loaded.

    ``api`` is the feed-server tests' ``Server`` on the same app (Flask test client, admin key,
    ``publish``, ``add_demo_school``, ``new_feed``, ``school_key``) for setting up data directly.
    """

    base_url: str
    api: Server

    @property
    def app(self) -> Flask:
        return self.api.app

    @property
    def services(self) -> Any:
        return self.api.services

    @property
    def clock(self) -> FixedClock:
        return self.api.clock

    @property
    def admin_key(self) -> str:
        return self.api.admin_key

    def school_key(self, school: str = "demo-primary") -> str:
        """A new API key for one school (made through the API as the admin)."""
        return self.api.school_key(school)

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server: ``live_server.url("/sign-in")``."""
        return self.base_url + (path if path.startswith("/") else "/" + path)


@contextlib.contextmanager
def serve_wsgi(app: Any, on_port: Callable[[str], None] | None = None) -> Iterator[str]:
    """Serve a WSGI app on a free 127.0.0.1 port in a thread; yield its base URL.

    ``on_port(base_url)`` runs before the first request can arrive. On exit the server stops,
    its open connections end and every handler thread is joined.
    """
    http = _ClosingThreadedServer("127.0.0.1", 0, app)
    base_url = f"http://127.0.0.1:{http.server_port}"
    try:
        if on_port is not None:
            on_port(base_url)
        thread = threading.Thread(
            target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server"
        )
        thread.start()
        try:
            yield base_url
        finally:
            http.shutdown()
            thread.join()  # serve_forever ends with server_close(): no handler thread is left
    finally:
        http.server_close()  # again, in case the thread never started (it is idempotent)


def load_demo(api: Server) -> None:
    """The example LA pack and both demo schools, through the API as the admin."""
    answer = api.publish(catalog.demo_file("la-example").decode("utf-8"), "la-example.yaml")
    assert answer.status_code == 201, answer.json
    for name in catalog.demo_school_names():
        answer = api.add_demo_school(name)
        assert answer.status_code == 201, answer.json


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app with the demo data served on a free 127.0.0.1 port, for the browser to visit."""
    with contextlib.contextmanager(_server)(f"sqlite:///{tmp_path / 'pages.db'}", tmp_path) as api:
        load_demo(api)

        def point_links_here(base_url: str) -> None:
            # Links the pages print (subscribe, sign-in links) must lead to this server.
            svc = api.services
            svc.config = dataclasses.replace(svc.config, public_base_url=base_url)

        with serve_wsgi(api.app, point_links_here) as base_url:
            yield LiveServer(base_url, api)


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync driver, for the browser tests in this package only.

    Package-scoped on purpose: while it runs, Playwright marks its asyncio loop as running in
    the main thread, so ``asyncio.run`` in a later test elsewhere in the suite would fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium`"
        )
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (one for all the browser tests in this package)."""
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield launched
    finally:
        launched.close()


def _artifact_name(request: pytest.FixtureRequest) -> str:
    """``test_module.test_name-param`` from the test's node, safe as a file name."""
    module = Path(str(request.node.path)).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{module}.{request.node.name}").strip("-")


def _screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, timeout=30_000)  # long pages, busy machine
    return path


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh context (1280x800, en-GB); its final state is kept as a screenshot."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
        if not tab.is_closed() and tab.url != "about:blank":
            _screenshot(tab, _artifact_name(request))
    finally:
        context.close()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``shoot(page, name=None)``: full-page screenshot to test-artifacts/screenshots/<name>.png.

    Without a name the file is named after the test (``test_module.test_name``).
    """

    def take(page: Page, name: str | None = None) -> Path:
        return _screenshot(page, name or _artifact_name(request))

    return take


# --------------------------------------------------------------------------- accessibility


def axe_report(violations: list[dict[str, Any]], url: str) -> str:
    """Axe's violations as text: rule, impact, help, and each failing node's target and HTML."""
    lines = [f"axe-core found {len(violations)} accessibility violation(s) on {url}:"]
    for v in violations:
        lines.append("")
        lines.append(f"[{v.get('impact') or 'unknown'}] {v['id']}: {v['help']}")
        lines.append(f"    {v.get('helpUrl', '')}")
        for node in v.get("nodes", []):
            target = " ".join(
                json.dumps(t) if not isinstance(t, str) else t for t in node["target"]
            )
            lines.append(f"  - target: {target}")
            lines.append(f"    html:   {node.get('html', '').strip()[:300]}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", "\n            ")
            if summary:
                lines.append(f"    why:    {summary}")
    return "\n".join(lines)


def run_axe(page: Page, tags: tuple[str, ...] = AXE_TAGS) -> list[dict[str, Any]]:
    """Inject axe-core into ``page`` and return its violations (a list of axe result objects).

    Injected with ``page.evaluate`` rather than a ``<script>`` tag so a Content-Security-Policy
    on the page cannot block it.
    """
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm ci` in the repository root")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {\n" + AXE_JS.read_text(encoding="utf-8") + "\n}")
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    violations: list[dict[str, Any]] = page.evaluate(
        "async (options) => (await window.axe.run(document, options)).violations", options
    )
    return violations


@pytest.fixture
def axe() -> Callable[..., None]:
    """``axe(page)``: fail the test with a readable report unless axe finds zero violations.

    Checks the page as it is now (navigate and interact first). Tags: WCAG 2.0/2.1 A and AA,
    WCAG 2.2 AA and axe's best practices; ``axe(page, tags=(...))`` narrows them.
    """
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm ci` in the repository root")

    def check(page: Page, tags: tuple[str, ...] = AXE_TAGS) -> None:
        violations = run_axe(page, tags)
        if violations:
            pytest.fail(axe_report(violations, page.url), pytrace=False)

    return check


# --------------------------------------------------------------------------- reflow

_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) {
      let parent = el.parentElement, insideWide = false;
      while (parent && parent !== document.body) {
        const p = parent.getBoundingClientRect();
        if (p.right > width + 0.5) { insideWide = true; break; }
        parent = parent.parentElement;
      }
      if (insideWide) continue;  // name the outermost element that sticks out
      let name = el.tagName.toLowerCase();
      if (el.id) name += '#' + el.id;
      if (el.classList.length) name += '.' + Array.from(el.classList).join('.');
      wide.push(`${name} (${Math.round(box.left)}..${Math.round(box.right)} px)`);
      if (wide.length >= 5) break;
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, wide};
}"""


def check_reflow(page: Page) -> list[str]:
    """Problems with ``page`` at 200% zoom and at 320 px wide (empty when it reflows).

    200% zoom is emulated as the browser does it: the same window holds half the CSS pixels
    (1280x800 becomes 640x400, and media queries see that). The viewport is restored after.
    """
    original = page.viewport_size or VIEWPORT
    widths = {
        "200% zoom": {"width": original["width"] // 2, "height": original["height"] // 2},
        f"phone width ({PHONE['width']} px)": PHONE,
    }
    problems = []
    try:
        for label, size in widths.items():
            page.set_viewport_size(size)  # type: ignore[arg-type]
            found = page.evaluate(_OVERFLOW_JS)
            if found["scroll"] > found["inner"]:
                wide = ", ".join(found["wide"]) or "no single element found"
                problems.append(
                    f"at {label}: the page scrolls sideways "
                    f"(scrollWidth {found['scroll']} px > window {found['inner']} px); "
                    f"wider than the window: {wide}"
                )
    finally:
        page.set_viewport_size(original)  # type: ignore[arg-type]
    return problems


@pytest.fixture
def reflow() -> Callable[[Page], None]:
    """``reflow(page)``: fail unless the page has no horizontal scrolling at 200% zoom and 320 px.

    WCAG 1.4.10 (Reflow). Checks the page as it is now.
    """

    def check(page: Page) -> None:
        problems = check_reflow(page)
        if problems:
            __tracebackhide__ = True
            raise AssertionError(
                f"WCAG 1.4.10 reflow fails on {page.url}:\n  " + "\n  ".join(problems)
            )

    return check
