"""The coming-weeks page: each week's hours, the task's own words in view, and a print layout."""

from __future__ import annotations

import datetime as dt

from feedserver.pipeline import refresh
from feedserver.storage import events as event_store
from feedserver.web.pages import fmt
from tests.pages.test_pages_browser import sign_in_with_key


def week_hours(live_server, monday: dt.date) -> float:
    """The SENCO's hours in the week of ``monday``, from the stored events (as the page counts)."""
    with live_server.services.db.session() as s:
        events, _ = event_store.window(s, "demo-primary", refresh.window(monday))
    total = 0.0
    for e in events:
        start = e.body.start.date() if isinstance(e.body.start, dt.datetime) else e.body.start
        if monday <= start < monday + dt.timedelta(days=7):
            total += e.body.effort_hours or 0.0
    return total


def test_each_week_says_its_hours_and_shows_what_to_do(page, live_server, axe, shoot):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    monday = dt.date(2026, 11, 23)
    week = page.locator("section.week").first
    hours = week.locator(".week-hours").inner_text()
    assert hours.startswith(
        f"Time to allow this week: {fmt.hours(week_hours(live_server, monday))}"
    )
    assert "SENCO's 15 hours a week" in hours
    described = week.locator(".event", has=page.locator(".event-what")).first
    what = described.locator(".event-what")
    assert what.is_visible() and what.inner_text().strip()
    assert described.locator("details .event-what").count() == 0
    axe(page)
    page.get_by_label("Show the calendar of").select_option("governors")
    page.get_by_role("button", name="Show").click()
    assert page.locator(".week-hours").count() == 0


def test_the_coming_weeks_print_without_navigation_or_forms(page, live_server, shoot):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Main").is_visible()
    assert not page.get_by_label("Show the calendar of").is_visible()
    assert page.locator(".event-what").first.is_visible()
    assert page.locator(".week-hours").first.is_visible()
    shoot(page, "coming-weeks-print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
