"""An LA officer's pages: upload, problems by line, dry run, publish with a note, history, people."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from feedserver import catalog
from feedserver.storage import accounts, las
from feedserver.storage.models import PackVersion
from tests.feedserver.conftest import Server
from tests.feedserver.test_pages import csrf, sign_in, use_link

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")
BROKEN = LA.replace("    kind: deadline\n", "    kind: dealine\n", 1)


def officer(server: Server, code: str = "999", name: str = "Example Borough Council") -> None:
    """Sign in as a new officer of ``code`` by their personal link."""
    svc = server.services
    with svc.db.session() as s:
        if las.get(s, code) is None:
            las.create(s, code, name, "admin:test", svc.clock.now())
        user = accounts.create_user(s, "Lee Officer", "", "la", None, "admin:test",
                                    svc.clock.now(), la_code=code)  # fmt: skip
        secret = accounts.new_link(s, user, "admin:test", svc.clock.now())
    use_link(server, f"/sign-in/{secret}")


def upload(server: Server, text: str, filename: str = "la-example.yaml"):
    token = csrf(server.client.get("/la/999").text)
    return server.client.post(
        "/la/999/check",
        data={"csrf_token": token, "pack": (io.BytesIO(text.encode()), filename)},
        content_type="multipart/form-data",
    )


def revisions(server: Server) -> list[int]:
    with server.services.db.session() as s:
        return sorted(
            s.scalars(select(PackVersion.revision).where(PackVersion.slug == "la-example"))
        )


def test_an_officer_signs_in_to_their_las_page_with_its_schools_and_packs(demo_server: Server):
    officer(demo_server)
    home = demo_server.client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/la/999")
    page = demo_server.client.get("/la/999").text
    assert "Example Road Primary School (demo)" in page and "Example Park Academy (demo)" in page
    assert "Example Borough Council SEND deadlines" in page  # the pack's title, not its name
    assert "demo-primary" not in page.replace("/schools/demo-primary", "")  # ids only in links


def test_a_pack_with_a_mistake_shows_the_problem_beside_its_line_and_publishes_nothing(
    demo_server: Server,
):
    officer(demo_server)
    answer = upload(demo_server, BROKEN)
    assert answer.status_code == 422
    line = BROKEN.splitlines().index("    kind: dealine") + 1
    assert f'href="#line-{line}">Line {line}</a>' in answer.text
    assert re.search(rf'<li id="line-{line}" class="has-problem">', answer.text)
    assert "Nothing was published" in answer.text
    assert revisions(demo_server) == [1]


def test_check_then_dry_run_then_publish_with_a_note(demo_server: Server):
    officer(demo_server)
    checked = upload(demo_server, MOVED)
    assert checked.status_code == 200 and "No problems found" in checked.text
    token = csrf(checked.text)
    content = re.search(r'name="content" value="([^"]*)"', checked.text)
    assert content is not None
    started = demo_server.client.post(
        "/la/999/dry-runs",
        data={"csrf_token": token, "filename": "la-example.yaml",
              "content": MOVED},
    )  # fmt: skip
    assert started.status_code == 303
    run_page = demo_server.client.get(started.headers["Location"]).text
    assert "2 of 2 schools would see changes: 0 added, 4 moved" in run_page
    assert "moves from Fri 5 Feb 2027 to Fri 12 Feb 2027" in run_page
    assert revisions(demo_server) == [1]
    action = re.search(r'action="(/la/999/dry-runs/\d+/publish)"', run_page)
    assert action is not None
    published = demo_server.client.post(
        action.group(1), data={"csrf_token": csrf(run_page), "note": "The panel meets later."}
    )
    assert published.status_code == 303
    demo_server.services.jobs.wait()
    progress = demo_server.client.get(published.headers["Location"]).text
    assert "All 2 of your schools have it." in progress
    assert "The panel meets later." in progress
    assert revisions(demo_server) == [1, 2]
    history = demo_server.client.get("/la/999/packs/la-example").text
    assert "by Lee Officer" in history and "Go back to this version" in history


def test_going_back_to_an_earlier_version_from_the_history_page(demo_server: Server):
    officer(demo_server)
    demo_server.publish(MOVED, "la-example.yaml")
    history = demo_server.client.get("/la/999/packs/la-example").text
    answer = demo_server.client.post(
        "/la/999/packs/la-example/revisions/1/rollback",
        data={"csrf_token": csrf(history), "note": "Back to the usual date."},
    )
    assert answer.status_code == 303
    assert revisions(demo_server) == [1, 2, 3]
    assert "Back to publication 1" in demo_server.client.get("/la/999/packs/la-example").text


def test_an_officer_sees_only_their_own_packs_dates_at_a_school(demo_server: Server):
    officer(demo_server)
    page = demo_server.client.get("/la/999/schools/demo-primary").text
    assert "Top-up funding (element 3) applications close, spring round" in page
    assert "Census" not in page and "census" not in page  # a national date, not the LA's


def test_another_las_officer_gets_not_found_on_every_la_page(demo_server: Server):
    with demo_server.services.db.session() as s:
        las.create(s, "999", "Example Borough Council", "admin:test", demo_server.clock.now())
    officer(demo_server, "888", "Another Council")
    token = csrf(demo_server.client.get("/la/888").text)
    for rule in demo_server.app.url_map.iter_rules():
        if not rule.rule.startswith("/la/<la_code>"):
            continue
        path = re.sub(r"<int:\w+>", "1", rule.rule).replace("<la_code>", "999")
        path = path.replace("<slug>", "la-example").replace("<sid>", "demo-primary")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            mine = demo_server.client.open(path, method=method, data={"csrf_token": token})
            missing = demo_server.client.open(
                path.replace("/la/999", "/la/777"), method=method, data={"csrf_token": token}
            )
            assert mine.status_code == missing.status_code == 404, (method, path)
    assert demo_server.client.get("/schools/demo-primary").status_code == 404
    assert demo_server.client.get("/admin").status_code == 403


def test_a_school_admin_cannot_open_their_las_pages(demo_server: Server):
    with demo_server.services.db.session() as s:
        las.create(s, "999", "Example Borough Council", "admin:test", demo_server.clock.now())
    sign_in(demo_server, demo_server.school_key("demo-primary"))
    assert demo_server.client.get("/la/999").status_code == 404
    assert demo_server.client.get("/la/999/people").status_code == 404


def test_without_signing_in_the_la_pages_ask_for_it(demo_server: Server):
    answer = demo_server.client.get("/la/999")
    assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]


def test_an_officer_adds_a_colleague_and_makes_a_key(demo_server: Server):
    officer(demo_server)
    page = demo_server.client.get("/la/999/people").text
    added = demo_server.client.post(
        "/la/999/people", data={"csrf_token": csrf(page), "name": "Sam Patel", "email": ""}
    )
    assert added.status_code == 200 and "Sign-in link for Sam Patel" in added.text
    made = demo_server.client.post(
        "/la/999/keys", data={"csrf_token": csrf(page), "label": "casework system"}
    )
    assert "It may publish for Example Borough Council only." in made.text


def test_the_admin_adds_an_la_with_its_first_officer_on_a_page(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin/las").text
    answer = demo_server.client.post(
        "/admin/las",
        data={"csrf_token": csrf(page), "code": "330", "la_name": "Birmingham City Council",
              "name": "Ada Officer", "email": "ada@example.org"},
    )  # fmt: skip
    assert answer.status_code == 200 and "Birmingham City Council is added" in answer.text
    bad = demo_server.client.post(
        "/admin/las", data={"csrf_token": csrf(page), "code": "33", "la_name": "X", "name": "Y"}
    )
    assert bad.status_code == 422 and 'href="#la-code"' in bad.text
