"""The workload page in a real browser: hours in every cell, over weeks in words, accepting a move."""

from __future__ import annotations

from tests.pages.conftest import SCREENSHOTS
from tests.pages.test_pages_browser import sign_in_with_key


def test_the_senco_sees_the_year_by_hours_and_accepts_a_suggested_move(
    page, live_server, axe, shoot, reflow
):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.get_by_role("link", name="Workload", exact=True).click()
    page.get_by_role("heading", name="SENCO workload, 2026/27", level=1).wait_for()
    cells = page.locator(".heatmap li")
    assert cells.count() >= 52
    for i in range(cells.count()):
        assert " hours" in cells.nth(i).inner_text()  # the hours are written, not only shaded
    over = page.locator(".heatmap li.over")
    assert over.count() >= 1
    assert all("Over" in over.nth(i).inner_text() for i in range(over.count()))
    summary = page.locator("#over-title + ul").inner_text()
    assert "Week of Monday 14 September 2026" in summary
    axe(page)
    reflow(page)
    shoot(page, "workload")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    heatmap = page.locator(
        "section", has=page.get_by_role("heading", name="The year, week by week")
    )
    heatmap.screenshot(path=str(SCREENSHOTS / "workload-heatmap.png"))
    suggestions = page.locator("section", has=page.get_by_role("heading", name="Suggested moves"))
    title = suggestions.locator(".event-title").first.inner_text()
    count = suggestions.locator(".event").count()
    suggestions.get_by_role("button", name="Accept").first.click()
    status = page.get_by_role("status").inner_text()
    assert f"Accepted: “{title}”" in status
    assert (
        page.locator("section", has=page.get_by_role("heading", name="Suggested moves"))
        .locator(".event")
        .count()
        == count - 1
    )
    axe(page)
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Accept").first.is_visible()
    shoot(page, "workload-print")
