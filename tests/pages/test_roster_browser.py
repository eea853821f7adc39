"""The EHCP roster page in a real browser: import with problems shown by line, remove a leaver."""

from __future__ import annotations

from pathlib import Path

from rules.roster_csv import TEMPLATE
from tests.pages.test_pages_browser import sign_in_with_key

BAD = "ref,year_group,plan_issued\nP-1,4,2020-01-01\nAmy Jones,4,2020-01-01\nP-3,99,someday\n"


def test_a_school_admin_imports_the_roster_sees_its_problems_and_removes_a_leaver(
    page, live_server, axe, shoot, tmp_path: Path
):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.wait_for_url("**/schools/demo-primary")
    page.get_by_role("link", name="EHCP roster").click()
    page.get_by_role("heading", name="EHCP roster", level=1).wait_for()
    axe(page)
    bad = tmp_path / "roster.csv"
    bad.write_text(BAD)
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Import the roster").click()
    alert = page.get_by_role("alert")
    text = alert.inner_text()
    assert "Line 3, column ref" in text and "looks like a name" in text
    assert "Line 4, column year_group" in text and "Line 4, column plan_issued" in text
    axe(page)
    shoot(page, "roster-import-problems")
    good = tmp_path / "good.csv"
    good.write_text(TEMPLATE)
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Import the roster").click()
    assert "Imported 4 pupils: 4 new" in page.get_by_role("status").inner_text()
    rows = page.locator("tbody tr")
    assert rows.count() == 4
    assert "LA decision not recorded" in rows.nth(1).inner_text()
    axe(page)
    shoot(page, "roster")
    page.get_by_role("button", name="Remove P-0419").click()
    page.get_by_role("heading", name="Remove P-0419 from the roster?").wait_for()
    axe(page)
    page.get_by_role("link", name="Keep P-0419 on the roster").click()
    assert page.locator("tbody tr").count() == 4
    page.get_by_role("button", name="Remove P-0419").click()
    page.get_by_role("button", name="Remove P-0419").click()
    assert "The pupil was removed" in page.get_by_role("status").inner_text()
    assert page.locator("tbody tr").count() == 3
    assert "P-0419" not in page.inner_text("main")
    assert "P-0419" not in page.url


def test_the_instance_admin_has_no_roster_link_and_cannot_open_it(page, live_server):
    sign_in_with_key(page, live_server, live_server.admin_key)
    page.wait_for_url("**/admin")
    page.goto(live_server.url("/schools/demo-primary"))
    assert page.get_by_role("link", name="EHCP roster").count() == 0
    answer = page.goto(live_server.url("/schools/demo-primary/roster"))
    assert answer is not None and answer.status == 403


def test_an_import_that_would_remove_pupils_asks_first(
    page, live_server, axe, shoot, tmp_path: Path
):
    sign_in_with_key(page, live_server, live_server.school_key("demo-primary"))
    page.goto(live_server.url("/schools/demo-primary/roster"))
    full = tmp_path / "full.csv"
    full.write_text(TEMPLATE)
    page.get_by_label("CSV file").set_input_files(str(full))
    page.get_by_role("button", name="Import the roster").click()
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("\n".join(line for line in TEMPLATE.splitlines() if "P-0419" not in line))
    page.get_by_label("CSV file").set_input_files(str(fewer))
    page.get_by_role("button", name="Import the roster").click()
    page.get_by_role("heading", name="Check the roster import").wait_for()
    assert page.locator("main li").all_inner_texts() == ["P-0419"]
    axe(page)
    shoot(page, "roster-import-check")
    page.get_by_role("link", name="Keep the roster as it is").click()
    assert page.locator("tbody tr").count() == 4
    page.get_by_label("CSV file").set_input_files(str(fewer))
    page.get_by_role("button", name="Import the roster").click()
    page.get_by_role("button", name="Import and remove 1 pupil").click()
    assert "3 pupils: 0 new, 1 no longer on the roster" in page.get_by_role("status").inner_text()
    assert page.locator("tbody tr").count() == 3
