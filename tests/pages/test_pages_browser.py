"""The pages in a real browser (Debian Chromium via Playwright): flows, axe-core, reflow, keyboard."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.pages.conftest import LiveServer


def sign_in_with_key(page, live_server: LiveServer, key: str) -> None:
    page.goto(live_server.url("/sign-in"))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def section(page, heading: str):
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def test_sign_in_change_a_setting_and_see_the_preview_change(page, live_server, axe, shoot):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.wait_for_url("**/admin")
    page.get_by_role("link", name="Example Road Primary School (demo)").click()
    assert page.get_by_text("Educational psychologist visit").count() == 0
    page.get_by_role("link", name="Settings").click()
    events = section(page, "One-off events")
    events.get_by_label("Title").fill("Educational psychologist visit")
    events.get_by_label("First day").fill("2026-12-01")
    events.get_by_label("Senior leaders").check()
    events.get_by_role("button", name="Check the change").click()
    page.get_by_role("heading", name="Check this change").wait_for()
    assert page.locator(".counts").inner_text().startswith("1 added")
    assert "Educational psychologist visit" in page.inner_text("main")
    axe(page)
    shoot(page, "check-change")
    page.get_by_role("button", name="Save this change").click()
    page.get_by_role("status").wait_for()
    assert "Saved: Change your one-off events" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Coming weeks").click()
    week = page.locator("section.week", has_text="Week of Monday 30 November 2026")
    assert week.get_by_role("heading", name="Educational psychologist visit").count() == 1
    page.get_by_label("Show the calendar of").select_option("slt")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("heading", name="Educational psychologist visit").count() == 1
    axe(page)


def test_subscribe_buttons_carry_the_right_addresses_and_the_feed_works(
    page, live_server, axe, shoot
):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.get_by_role("link", name="Feeds").click()
    page.get_by_label("Whose calendar").select_option("governors")
    page.get_by_label("Name for this link").fill("governing board")
    page.get_by_role("button", name="Make the link").click()
    subscribe = page.get_by_label("Subscribe page", exact=True).input_value()
    page.goto(subscribe)
    feed = page.get_by_label("Calendar address").input_value()
    assert re.fullmatch(re.escape(live_server.base_url) + r"/feeds/[A-Za-z0-9_-]{32}\.ics", feed)
    work = urlsplit(
        page.get_by_role("link", name="Outlook (work or school account)").get_attribute("href")
    )
    assert (work.scheme, work.netloc, work.path) == (
        "https",
        "outlook.office.com",
        "/calendar/0/addfromweb",
    )
    assert parse_qs(work.query)["url"] == [feed]
    assert parse_qs(work.query)["name"] == [
        "Example Road Primary School (demo): SEND for governors"
    ]
    personal = urlsplit(
        page.get_by_role("link", name="Outlook.com (personal account)").get_attribute("href")
    )
    assert personal.netloc == "outlook.live.com" and parse_qs(personal.query)["url"] == [feed]
    google = urlsplit(
        page.get_by_role("link", name="Google Calendar", exact=True).get_attribute("href")
    )
    assert google.netloc == "calendar.google.com" and parse_qs(google.query)["cid"] == [feed]
    apple = page.get_by_role("link", name="Apple Calendar (Mac, iPhone, iPad)").get_attribute(
        "href"
    )
    assert apple == "webcal://" + feed.split("://", 1)[1]
    assert "up to a day" in page.inner_text("main")
    axe(page)
    shoot(page, "subscribe")
    answer = page.request.get(feed)
    assert answer.status == 200 and answer.body().startswith(b"BEGIN:VCALENDAR")


def test_revoking_a_link_makes_the_feed_404(page, live_server):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.goto(live_server.url("/schools/demo-secondary/feeds"))
    page.get_by_label("Whose calendar").select_option("ta")
    page.get_by_label("Name for this link").fill("ta team")
    page.get_by_role("button", name="Make the link").click()
    page.goto(page.get_by_label("Subscribe page", exact=True).input_value())
    feed = page.get_by_label("Calendar address").input_value()
    assert page.request.get(feed).status == 200
    page.goto(live_server.url("/schools/demo-secondary/feeds"))
    page.get_by_role("button", name="Revoke the link “ta team” for Teaching assistants").click()
    assert "has been revoked" in page.get_by_role("status").inner_text()
    assert page.request.get(feed).status == 404


def test_a_school_admin_signs_in_by_personal_link_and_sees_only_their_school(
    page, live_server, axe
):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.wait_for_url("**/admin")
    page.get_by_role("link", name="People").click()
    page.get_by_label("School").select_option("demo-secondary")
    page.get_by_label("Name").fill("Pat Park")
    page.get_by_role("button", name="Add and make a sign-in link").click()
    link = page.get_by_label("Sign-in link", exact=True).input_value()
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.goto(link)
    axe(page)
    page.get_by_role("button", name="Continue and sign in").click()
    page.wait_for_url("**/schools/demo-secondary")
    page.goto(live_server.url("/schools/demo-primary"))
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    page.goto(live_server.url("/admin"))
    assert page.get_by_role("heading", level=1).inner_text() == "You cannot see this page"


def test_the_admin_grants_and_takes_back_access(page, live_server, axe, reflow, shoot):
    live_server.api.new_feed("demo-primary", "slt", token_name="slt team")
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.wait_for_url("**/admin")
    page.get_by_role("link", name="People").click()
    page.get_by_label("School").select_option("demo-primary")
    page.get_by_label("Name").fill("Sam Senco")
    page.get_by_role("button", name="Add and make a sign-in link").click()
    assert "/sign-in/" in page.get_by_label("Sign-in link", exact=True).input_value()
    axe(page)
    reflow(page)
    shoot(page, "admin-people-with-link")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("School").select_option("demo-primary")
    page.get_by_label("Label").fill("MIS export")
    page.get_by_role("button", name="Make the key").click()
    key = page.get_by_label("API key", exact=True).input_value()
    assert len(key) == 32
    axe(page)
    reflow(page)
    number = live_server.api.client.get("/api/keys", headers=live_server.api.headers()).json
    number = next(k["id"] for k in number["keys"] if k["label"] == "MIS export")
    page.get_by_role("button", name=f"Revoke key {number}").click()
    assert "is revoked" in page.get_by_role("status").inner_text()
    axe(page)
    shoot(page, "admin-keys-revoked")
    page.get_by_role("link", name="Feed links").click()
    assert page.get_by_role("row", name=re.compile("slt team")).count() == 1
    axe(page)
    reflow(page)
    page.get_by_role("link", name="Audit log").click()
    assert page.get_by_text("Revoked the school key").count() == 1
    axe(page)
    reflow(page)
    shoot(page, "admin-audit")


def test_the_skip_link_is_first_and_moves_focus_to_the_main_content(page, live_server):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.goto(live_server.url("/schools/demo-primary"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert page.evaluate("getComputedStyle(document.activeElement).left") != "-999em"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    inside_main = page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert inside_main


def test_forms_work_by_keyboard_alone(page, live_server):
    page.goto(live_server.url("/sign-in"))
    for _ in range(3):  # skip link, brand link, key field
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "key"
    page.keyboard.type(live_server.admin_key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin")


def test_focus_is_visible(page, live_server):
    page.goto(live_server.url("/sign-in"))
    page.get_by_label("API key").focus()
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    assert style[0] == "solid" and style[1] == "3px" and style[2] != "none"


PAGES = [
    ("sign-in", None, "/sign-in"),
    ("admin", "admin", "/admin"),
    ("admin-people", "admin", "/admin/people"),
    ("admin-keys", "admin", "/admin/keys"),
    ("admin-feeds", "admin", "/admin/feeds"),
    ("admin-audit", "admin", "/admin/audit"),
    ("school-coming-weeks", "school", "/schools/demo-primary"),
    ("school-coming-weeks-slt-26", "school", "/schools/demo-primary?audience=slt&weeks=26"),
    ("settings", "school", "/schools/demo-primary/settings"),
    ("feeds", "school", "/schools/demo-primary/feeds"),
    ("calendars", "school", "/schools/demo-primary/calendars"),
    ("not-found", "school", "/schools/demo-primary/nothing-here"),
    ("link-expired", None, "POST /sign-in/not-a-real-link"),
]


@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_has_no_axe_violations_and_reflows(
    page, live_server, axe, reflow, shoot, name, who, path
):
    refused = []  # the Content-Security-Policy must not block anything the pages need
    page.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    if who == "admin":
        sign_in_with_key(page, live_server, live_server.admin_key)
        page.wait_for_url("**/admin")
    elif who == "school":
        sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
        page.wait_for_url("**/schools/demo-primary")
    if path.startswith("POST "):
        page.goto(live_server.url(path.split(" ", 1)[1]))
        page.get_by_role("button", name="Continue and sign in").click()
    else:
        page.goto(live_server.url(path))
    if name == "settings":  # open the collapsed rule lists too, so axe checks them
        for summary in page.locator("details > summary").all():
            summary.click()
    axe(page)
    reflow(page)
    shoot(page, name)
    assert refused == []


def test_the_calendars_page_names_a_problem_and_shows_each_connections_state_in_words(
    page, live_server, axe, reflow, shoot
):
    from feedserver.storage import connections

    svc = live_server.services
    with svc.db.session() as db:
        for state, reason in (("active", None), ("stopped", "calendar_gone")):
            row = connections.create(
                db, svc.secretbox, school_id="demo-primary", provider="google", audience="slt",
                auth_kind="service_account", account="senco@school.example", secret={"key": {}},
                now=live_server.clock.now(), calendar_id=f"cal-{state}@group.calendar.google.com",
            )  # fmt: skip
            row.state, row.stop_reason = state, reason
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.get_by_role("link", name="Calendars").click()
    listed = page.locator("li.connection")
    assert listed.count() == 2
    assert "Waiting for its first update" in listed.nth(0).inner_text()
    assert "The calendar was deleted in Google Calendar" in listed.nth(1).inner_text()
    service_account = section(page, "Connect with a Google Workspace service account")
    service_account.get_by_label("Act as this Google Workspace account").fill(
        "senco@school.example"
    )
    service_account.get_by_role("button", name="Connect").click()
    alert = page.get_by_role("alert")
    assert "Choose the service account's key file" in alert.inner_text()
    alert.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "sa-key_file"
    axe(page)
    reflow(page)
    shoot(page, "calendars-problem")


def test_the_microsoft_365_forms_name_a_problem_and_pass_axe(page, live_server, axe, reflow, shoot):
    import dataclasses

    from feedserver.config_microsoft import MicrosoftSettings

    svc = live_server.services
    svc.config = dataclasses.replace(
        svc.config,
        microsoft=MicrosoftSettings(
            client_id="sencocal-app", client_secret="s", tenant="demo-primary.example"
        ),  # fmt: skip
    )
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.get_by_role("link", name="Calendars").click()
    app_only = section(page, "Connect Microsoft 365 with the school's app permission")
    assert app_only.get_by_label(
        "Your school's Microsoft 365 domain or tenant ID"
    ).input_value() == ("demo-primary.example")
    app_only.get_by_role("button", name="Connect Microsoft 365").click()
    alert = page.get_by_role("alert")
    assert "Enter the mailbox's address" in alert.inner_text()
    alert.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "ms-mailbox"
    assert (
        section(page, "Connect by signing in with Microsoft")
        .get_by_label("A Microsoft 365 group's calendar (for example the senior leadership team's)")
        .is_visible()
    )
    axe(page)
    reflow(page)
    shoot(page, "calendars-microsoft")
