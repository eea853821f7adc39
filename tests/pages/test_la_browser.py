"""An LA officer in a real browser: upload, fix a problem, dry run, publish, history; axe-core."""

from __future__ import annotations

from feedserver import catalog
from feedserver.storage import accounts, las
from tests.pages.conftest import LiveServer
from tests.pages.test_pages_browser import sign_in_with_key

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")
BROKEN = LA.replace("    kind: deadline\n", "    kind: dealine\n", 1)


def officer_link(live_server: LiveServer) -> str:
    svc = live_server.services
    with svc.db.session() as s:
        las.create(s, "999", "Example Borough Council", "admin:test", svc.clock.now())
        user = accounts.create_user(s, "Lee Officer", "", "la", None, "admin:test",
                                    svc.clock.now(), la_code="999")  # fmt: skip
        return accounts.new_link(s, user, "admin:test", svc.clock.now())


def choose(page, label: str, name: str, text: str) -> None:
    page.get_by_label(label).set_input_files(
        {"name": name, "mimeType": "application/yaml", "buffer": text.encode()}
    )


def test_an_officer_fixes_a_problem_sees_the_effect_and_publishes(
    page, live_server, axe, reflow, shoot
):
    refused: list[str] = []
    page.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    page.goto(live_server.url(f"/sign-in/{officer_link(live_server)}"))
    page.get_by_role("button", name="Continue and sign in").click()
    page.wait_for_url("**/la/999")
    assert page.get_by_role("heading", name="Example Borough Council", level=1).count() == 1
    axe(page)
    reflow(page)
    shoot(page, "la-home")

    choose(page, "Pack file (YAML)", "la-example.yaml", BROKEN)
    page.get_by_role("button", name="Check the pack").click()
    alert = page.get_by_role("alert")
    assert "1 problem to fix" in alert.inner_text()
    alert.get_by_role("link", name="Line").first.click()
    assert page.evaluate("location.hash").startswith("#line-")
    assert "Problem:" in page.locator("li.has-problem").inner_text()
    axe(page)
    reflow(page)
    shoot(page, "la-check-problem")

    page.goto(live_server.url("/la/999"))
    choose(page, "Pack file (YAML)", "la-example.yaml", MOVED)
    page.get_by_role("button", name="Check the pack").click()
    assert "No problems found" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="See what it would change").click()
    page.get_by_role("heading", name="Publish").wait_for()
    assert "2 of 2 schools would see changes" in page.inner_text("main")
    assert "moves from Fri 5 Feb 2027 to Fri 12 Feb 2027" in page.inner_text("main")
    axe(page)
    reflow(page)
    shoot(page, "la-dry-run")

    page.get_by_label("Note for schools (optional)").fill("The spring panel meets a week later.")
    page.get_by_role("button", name="Publish to 2 schools").click()
    page.get_by_role("heading", name="Publishing").wait_for()
    live_server.services.jobs.wait()
    page.reload()
    assert "All 2 of your schools have it." in page.get_by_role("status").inner_text()
    axe(page)
    shoot(page, "la-progress")

    page.get_by_role("link", name="Every version of this pack").click()
    assert page.get_by_role("button", name="Go back to this version").count() == 1
    axe(page)
    reflow(page)
    shoot(page, "la-history")

    page.get_by_role("link", name="People and keys").click()
    page.get_by_label("Name").fill("Sam Patel")
    page.get_by_role("button", name="Add and make their sign-in link").click()
    assert "Sign-in link for Sam Patel" in page.inner_text("main")
    axe(page)
    reflow(page)
    shoot(page, "la-people")

    page.get_by_role("link", name="Schools and packs").click()
    page.get_by_role("link", name="Example Road Primary School (demo)").click()
    assert "Fri 12 Feb 2027" in page.inner_text("main")
    axe(page)
    reflow(page)
    shoot(page, "la-school")
    assert refused == []


def test_the_admin_adds_an_la_on_an_accessible_page(page, live_server, axe, reflow, shoot):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.wait_for_url("**/admin")
    page.get_by_role("link", name="Local authorities").click()
    page.get_by_label("LA number").fill("330")
    page.get_by_label("Name", exact=True).fill("Birmingham City Council")
    page.get_by_label("First officer's name").fill("Ada Officer")
    page.get_by_role("button", name="Add the LA and make the officer's sign-in link").click()
    assert "Birmingham City Council is added" in page.inner_text("main")
    axe(page)
    reflow(page)
    shoot(page, "admin-las")
