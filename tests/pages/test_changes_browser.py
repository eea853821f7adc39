"""The "What changed" page in a real browser: reached from the coming weeks, axe-clean, reflows."""

from __future__ import annotations

from feedserver import catalog, runtime
from feedserver.pipeline import jobs
from feedserver.storage import las, packstore
from tests.pages.conftest import LiveServer
from tests.pages.test_pages_browser import sign_in_with_key

MOVED = catalog.demo_file("la-example").decode().replace("2026: 2027-02-05", "2026: 2027-02-12")
NOTE = "The spring panel meets a week later, so the round closes a week later."


def publish_moved(live_server: LiveServer) -> None:
    svc = live_server.services
    with svc.db.session() as s:
        las.create(s, "999", "Example Borough Council", "admin:test", svc.clock.now())
        version, _ = packstore.publish(
            s, MOVED, "la-example.yaml", "la:999:test", svc.clock.now(), note=NOTE
        )
        version_id = version.id
    with runtime.using(svc):
        jobs.fan_out_pack(version_id, reason="pack")


def test_a_school_admin_follows_the_coming_weeks_link_to_what_changed_and_it_is_accessible(
    page, live_server, axe, reflow, shoot
):
    refused = []  # the Content-Security-Policy must not block anything the page needs
    page.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    live_server.clock.advance(hours=1)
    publish_moved(live_server)
    page.reload()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="What changed (2 new)").count() == 1
    page.get_by_role(
        "link", name="What your local authority or the national dates changed (2 new)"
    ).click()
    page.get_by_role("heading", name="What changed in your calendar").wait_for()
    main = page.inner_text("main")
    assert "Moved from Friday 5 February 2027 to Friday 12 February 2027." in main
    assert NOTE in main and "Example Borough Council, Monday 23 November 2026" in main
    assert nav.get_by_role("link", name="What changed").get_attribute("aria-current") == "page"
    axe(page)
    reflow(page)
    shoot(page, "what-changed-new")
    page.reload()  # now seen: listed below, marked in words
    page.get_by_role("heading", name="Changes you have already seen").wait_for()
    assert (
        page.get_by_role(
            "heading", name="Example Borough Council, Monday 23 November 2026 (seen)"
        ).count()
        == 1
    )
    axe(page)
    reflow(page)
    shoot(page, "what-changed-seen")
    assert refused == []
