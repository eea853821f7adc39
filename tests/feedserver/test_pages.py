"""The pages without a browser: sign-in, sessions, CSRF, isolation, the change preview."""

from __future__ import annotations

import re

import icalendar
import pytest
from sqlalchemy import select

from feedserver import create_app
from feedserver.config import Config
from feedserver.storage.models import ApiKey, School, User
from rules.event import ics_uid
from rules.vocabulary import HALF_LABELS
from tests.feedserver.conftest import Server


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(server: Server, key: str):
    token = csrf(server.client.get("/sign-in").text)
    return server.client.post("/sign-in", data={"csrf_token": token, "key": key})


def add_school_admin(server: Server, school: str = "demo-primary", name: str = "Sam Senco") -> str:
    sign_in(server, server.admin_key)
    page = server.client.get("/admin/people")
    answer = server.client.post(
        "/admin/people",
        data={"csrf_token": csrf(page.text), "school_id": school, "name": name},
    )
    assert answer.status_code == 200
    link = re.search(r'value="(http[^"]+/sign-in/[^"]+)"', answer.text).group(1)
    server.client.post("/sign-out", data={"csrf_token": csrf(answer.text)})
    return "/" + link.split("/", 3)[3]


def use_link(server: Server, path: str):
    page = server.client.get(path)
    return server.client.post(path, data={"csrf_token": csrf(page.text)})


# ---------------------------------------------------------------------------- signing in


def test_signing_in_with_a_key_sets_a_safe_session_cookie(demo_server: Server):
    answer = sign_in(demo_server, demo_server.admin_key)
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # development; see the production test


def test_production_cookies_are_secure(tmp_path):
    from cryptography.fernet import Fernet

    env = {"SENCOCAL_PRODUCTION": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PUBLIC_BASE_URL": "https://c.example.org",
           "SECRET_KEY": "s" * 40, "SENCOCAL_ENCRYPTION_KEYS": Fernet.generate_key().decode()}  # fmt: skip
    app = create_app(Config.from_mapping(env))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["sencocal"].db.dispose()


def test_a_wrong_key_is_refused_with_an_explanation(demo_server: Server):
    answer = sign_in(demo_server, "not-a-key")
    assert answer.status_code == 401 and "That key was not recognised" in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_a_personal_link_signs_in_once_and_expires(demo_server: Server):
    path = add_school_admin(demo_server)
    first = use_link(demo_server, path)
    assert first.status_code == 302 and first.headers["Location"] == "/schools/demo-primary"
    demo_server.client.delete_cookie("sencocal_session")
    again = use_link(demo_server, path)
    assert again.status_code == 410 and "used or has expired" in again.text
    later = add_school_admin(demo_server, name="Alex")
    demo_server.clock.advance(hours=73)
    assert use_link(demo_server, later).status_code == 410


def test_sessions_expire_and_end_when_the_key_is_revoked_or_the_user_disabled(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    assert demo_server.client.get("/admin").status_code == 200
    demo_server.clock.advance(hours=9)
    assert demo_server.client.get("/admin").headers["Location"].startswith("/sign-in")
    key = demo_server.school_key("demo-secondary")
    sign_in(demo_server, key)
    assert demo_server.client.get("/schools/demo-secondary").status_code == 200
    with demo_server.services.db.session() as s:
        s.scalars(
            select(ApiKey).where(ApiKey.role == "school")
        ).one().revoked_at = demo_server.clock.now()
    assert demo_server.client.get("/schools/demo-secondary").status_code == 302
    path = add_school_admin(demo_server)
    use_link(demo_server, path)
    assert demo_server.client.get("/schools/demo-primary").status_code == 200
    with demo_server.services.db.session() as s:
        s.scalars(select(User)).one().disabled_at = demo_server.clock.now()
    assert demo_server.client.get("/schools/demo-primary").status_code == 302


def test_signing_out_ends_the_session(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin")
    assert (
        demo_server.client.post("/sign-out", data={"csrf_token": csrf(page.text)}).status_code
        == 302
    )
    assert demo_server.client.get("/admin").status_code == 302


def test_only_local_next_addresses_are_followed(demo_server: Server):
    token = csrf(demo_server.client.get("/sign-in").text)
    answer = demo_server.client.post(
        "/sign-in",
        data={"csrf_token": token, "key": demo_server.admin_key, "next": "//evil.example/x"},
    )
    assert answer.headers["Location"] == "/admin"


# ---------------------------------------------------------------------------- isolation, CSRF


def page_routes(app) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("pages.") and "school_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = rule.rule.replace("<school_id>", "demo-secondary").replace(
                    "<section>", "inset"
                )
                path = path.replace("<audience>", "senco").replace("<name>", "default")
                path = path.replace("<int:connection_id>", "1")
                out.append((method, path))
    return out


def test_a_school_admin_never_sees_another_schools_pages(demo_server: Server):
    demo_server.new_feed("demo-secondary", "senco")
    use_link(demo_server, add_school_admin(demo_server))
    token = csrf(demo_server.client.get("/schools/demo-primary").text)
    routes = page_routes(demo_server.app)
    assert len(routes) >= 8
    with demo_server.services.db.session() as s:
        before = s.get(School, "demo-secondary").profile_hash
    for method, path in routes:
        answer = demo_server.client.open(
            path,
            method=method,
            data={"csrf_token": token, "inset_days": "", "audience": "slt", "name": "x"},
        )
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert "Example Park Academy" not in answer.text
    assert demo_server.client.get("/admin").status_code == 403
    with demo_server.services.db.session() as s:
        assert s.get(School, "demo-secondary").profile_hash == before


def admin_posts(app) -> list[str]:
    """Every POST page route that is not a school's, its numbers filled with 1."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("pages.") and "POST" in rule.methods:
            if "school_id" not in rule.arguments and "token" not in rule.arguments:
                out.append(re.sub(r"<int:\w+>", "1", rule.rule))
    return out


def test_every_form_post_needs_the_sessions_csrf_token(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    posts = [p for m, p in page_routes(demo_server.app) if m == "POST"]
    posts = [p.replace("demo-secondary", "demo-primary") for p in posts] + admin_posts(
        demo_server.app
    )
    assert {"/admin/people", "/admin/keys/1/revoke", "/sign-out", "/sign-in"} <= set(posts)
    # Microsoft's sign-in page posts its answer back cross-site, with no session or CSRF token:
    # there the sealed, ten-minute state is the proof (test_calendars_microsoft.py refuses an
    # altered one).
    posts = [p for p in posts if p != "/calendars/microsoft/done"]
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            answer = demo_server.client.post(path, data=data)
            assert answer.status_code == 400, path
            assert "did not come from sencocal" in answer.text


def test_feeds_and_the_api_never_set_a_cookie(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco")
    assert "Set-Cookie" not in demo_server.client.get(path).headers
    assert (
        "Set-Cookie"
        not in demo_server.client.get("/api/schools", headers=demo_server.headers()).headers
    )


# ---------------------------------------------------------------------------- changes


def propose(server: Server, section: str, **fields):
    page = server.client.get("/schools/demo-primary/settings")
    return server.client.post(
        f"/schools/demo-primary/settings/{section}", data={"csrf_token": csrf(page.text), **fields}
    )


def test_a_change_shows_its_effect_first_and_is_saved_only_when_confirmed(demo_server: Server):
    feed = demo_server.new_feed("demo-primary", "senco")
    etag = demo_server.client.get(feed).headers["ETag"]
    sign_in(demo_server, demo_server.admin_key)
    preview = propose(demo_server, "rules", year="2026", rule="senco-annual-cycle:slt-send-meeting")
    assert preview.status_code == 200
    counts = dict(
        (k, int(v)) for v, k in re.findall(r"<li><strong>(\d+)</strong> (\w+)", preview.text)
    )
    assert counts == {
        "added": 0,
        "removed": 11,
        "moved": 0,
        "reworded": 0,
    }  # 6 half terms x 2 years, less the autumn 1 meeting that has happened
    assert "1 past entry stays as it happened." in preview.text
    assert "“SENCO and SLT meeting with SEND as the main item” turned off" in preview.text
    assert "SENCO and SLT meeting with SEND as the main item" in preview.text
    assert demo_server.client.get(feed).headers["ETag"] == etag  # nothing saved yet
    proposal = re.search(r'name="proposal" value="([^"]+)"', preview.text).group(1)
    saved = demo_server.client.post(
        "/schools/demo-primary/settings/apply",
        data={"csrf_token": csrf(preview.text), "proposal": proposal},
    )
    assert saved.status_code == 302
    assert demo_server.client.get(feed).headers["ETag"] != etag
    data = demo_server.client.get(feed).data
    meetings = {
        ics_uid(f"demo-primary/senco-annual-cycle/slt-send-meeting/2026/{half}")
        for half in HALF_LABELS
    }
    found = {str(v["UID"]) for v in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    assert found & meetings == {
        ics_uid("demo-primary/senco-annual-cycle/slt-send-meeting/2026/autumn1")
    }  # only the meeting that has already happened


def test_an_altered_proposal_is_refused(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    preview = propose(demo_server, "packs", pack_on="england-statutory")
    proposal = re.search(r'name="proposal" value="([^"]+)"', preview.text).group(1)
    forged = proposal[:-3] + ("AAA" if not proposal.endswith("AAA") else "BBB")
    answer = demo_server.client.post(
        "/schools/demo-primary/settings/apply",
        data={"csrf_token": csrf(preview.text), "proposal": forged},
    )
    assert answer.status_code == 409 and "expired or was altered" in answer.text


@pytest.mark.parametrize(
    ("section", "fields", "words"),
    [
        (
            "inset",
            {"inset_days": "2026-09-01\nnext tuesday"},
            "line 2: &#39;next tuesday&#39; is not a date",
        ),
        ("inset", {"inset_days": "2026-09-05"}, "is a weekend day"),
        (
            "term-dates",
            {"year": "2026", "autumn1_start": "2026-09-01"},
            "give a start and an end date",
        ),
        ("local-events", {"title": "Visit", "start": "soon"}, "give the date as 2026-09-01"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_saves_nothing(
    demo_server: Server, section, fields, words
):
    sign_in(demo_server, demo_server.admin_key)
    with demo_server.services.db.session() as s:
        before = s.get(School, "demo-primary").profile_hash
    answer = propose(demo_server, section, **fields)
    assert (
        answer.status_code == 422
        and words in answer.text
        and "The change was not saved" in answer.text
    )
    with demo_server.services.db.session() as s:
        assert s.get(School, "demo-primary").profile_hash == before


def test_term_dates_csv_upload_is_previewed(demo_server: Server):
    import io

    from feedserver.termcsv import TEMPLATE

    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/schools/demo-primary/settings")
    answer = demo_server.client.post(
        "/schools/demo-primary/term-dates-csv",
        data={"csrf_token": csrf(page.text), "csv": (io.BytesIO(TEMPLATE.encode()), "dates.csv")},
        content_type="multipart/form-data",
    )
    assert (
        answer.status_code == 200 and "Import term dates for 2026/27 from dates.csv" in answer.text
    )
    assert "moved to another date" in answer.text


def test_admin_page_shows_missing_term_dates_and_unconfirmed_dates(demo_server: Server):
    profile = demo_server.client.get(
        "/api/schools/demo-primary", headers=demo_server.headers()
    ).json["profile"]
    profile.update(id="no-dates", name="No Dates Primary", la_code="888")
    demo_server.client.post("/api/schools", json=profile, headers=demo_server.headers())
    sign_in(demo_server, demo_server.admin_key)
    page = demo_server.client.get("/admin").text
    row = page[page.index("No Dates Primary") :]
    assert "term dates missing for 2026/27" in row and "term dates missing for 2027/28" in row
    assert "national dates not yet confirmed" in page


def test_a_missing_school_is_a_404_on_every_page_route(demo_server: Server):
    sign_in(demo_server, demo_server.admin_key)
    token = csrf(demo_server.client.get("/admin").text)
    for method, path in page_routes(demo_server.app):
        path = path.replace("demo-secondary", "no-such-school")
        answer = demo_server.client.open(path, method=method, data={"csrf_token": token})
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert "Page not found" in answer.text
