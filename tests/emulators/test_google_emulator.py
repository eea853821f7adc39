"""The Google Calendar emulator, driven by the real google-api-python-client and google-auth."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import id_token, service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.emulators import Fault, GoogleCalendarEmulator

SCOPES = ["https://www.googleapis.com/auth/calendar"]
DOMAIN = "school.example"
SENCO = f"senco@{DOMAIN}"
HEAD = f"head@{DOMAIN}"


OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """httplib2 and requests keep connections open; close them (filterwarnings=error)."""
    yield
    while OPEN:
        OPEN.pop().close()


@pytest.fixture
def emu() -> Iterator[GoogleCalendarEmulator]:
    with GoogleCalendarEmulator() as emulator:
        emulator.add_user(SENCO)
        emulator.add_user(HEAD)
        yield emulator


def delegated(emu: GoogleCalendarEmulator, user: str = SENCO, scopes: list[str] = SCOPES) -> Any:
    info = emu.add_service_account(DOMAIN)
    emu.grant_delegation(info["client_id"], scopes)
    return service_account.Credentials.from_service_account_info(info, scopes=scopes).with_subject(
        user
    )


def service(emu: GoogleCalendarEmulator, creds: Any, timeout: float | None = 5) -> Any:
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout))
    OPEN.append(http)
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": emu.base_url},
    )


@pytest.fixture
def cal(emu: GoogleCalendarEmulator) -> Any:
    """The SENCO's calendar API, its token already fetched (so faults hit API calls)."""
    creds = delegated(emu)
    creds.refresh(AuthRequest(session=_session()))
    return service(emu, creds)


def event(event_id: str | None = None, day: str = "2026-10-01", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": "Annual review: Year 6",
        "start": {"date": day},
        "end": {"date": day[:-2] + f"{int(day[-2:]) + 1:02d}"},
        "extendedProperties": {"private": {"sencocal": "1"}},
        **extra,
    }
    if event_id is not None:
        body["id"] = event_id
    return body


def status_of(call: Any) -> tuple[int, str]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.resp.status, caught.value.error_details[0]["reason"]


# --- auth ------------------------------------------------------------------------------------


def test_delegated_service_account_gets_a_token_and_writes_the_users_calendar(emu, cal):
    created = cal.events().insert(calendarId="primary", body=event("abcde00001")).execute()
    assert created["organizer"]["email"] == SENCO
    assert [e["id"] for e in emu.events(SENCO)] == ["abcde00001"]
    assert emu.stats.by_kind["token"] == 1


def test_scopes_not_delegated_are_refused_as_unauthorized_client(emu):
    info = emu.add_service_account(DOMAIN)
    emu.grant_delegation(info["client_id"], [SCOPES[0] + ".readonly"])
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    with pytest.raises(RefreshError, match="unauthorized_client"):
        creds.with_subject(SENCO).refresh(AuthRequest(session=_session()))


def test_subject_outside_the_domain_or_unknown_is_invalid_grant(emu):
    creds = delegated(emu)
    for user in ("someone@other.example", f"nobody@{DOMAIN}"):
        with pytest.raises(RefreshError, match="invalid_grant"):
            creds.with_subject(user).refresh(AuthRequest(session=_session()))


def test_assertion_signed_with_another_key_is_invalid_grant(emu):
    info = emu.add_service_account(DOMAIN)
    other = emu.add_service_account(DOMAIN)
    emu.grant_delegation(info["client_id"], SCOPES)
    forged = dict(info, private_key=other["private_key"])
    creds = service_account.Credentials.from_service_account_info(forged, scopes=SCOPES)
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        creds.with_subject(SENCO).refresh(AuthRequest(session=_session()))


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    OPEN.append(session)
    return session


def web_flow(emu: GoogleCalendarEmulator, user: str, scopes: list[str] = SCOPES) -> dict[str, Any]:
    redirect = "http://127.0.0.1:9/oauth/google/callback"
    emu.add_oauth_client("web-client", "s3cret", [redirect])
    emu.consent_as(user)
    query = urllib.parse.urlencode(
        {
            "client_id": "web-client",
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": "xyz",
            "access_type": "offline",
        }
    )
    consent = _session().get(f"{emu.auth_uri}?{query}", allow_redirects=False)
    assert consent.status_code == 302
    location = consent.headers["Location"]
    assert location.startswith(redirect + "?")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert params["state"] == "xyz"
    answer = _session().post(
        emu.token_uri,
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "client_id": "web-client",
            "client_secret": "s3cret",
            "redirect_uri": redirect,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def user_creds(emu: GoogleCalendarEmulator, refresh_token: str) -> user_credentials.Credentials:
    return user_credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=emu.token_uri,
        client_id="web-client",
        client_secret="s3cret",
        scopes=SCOPES,
    )


def test_web_flow_code_gives_a_refresh_token_that_the_library_refreshes(emu):
    tokens = web_flow(emu, HEAD)
    assert tokens["refresh_token"] and tokens["access_token"]
    api = service(emu, user_creds(emu, tokens["refresh_token"]))
    api.events().insert(calendarId="primary", body=event("abcde00002")).execute()
    assert [e["id"] for e in emu.events(HEAD)] == ["abcde00002"]


def test_an_auth_code_works_once(emu):
    redirect = "http://127.0.0.1:9/cb"
    emu.add_oauth_client("c", "s", [redirect])
    emu.consent_as(HEAD)
    query = urllib.parse.urlencode(
        {"client_id": "c", "redirect_uri": redirect, "response_type": "code", "scope": SCOPES[0]}
    )
    location = _session().get(f"{emu.auth_uri}?{query}", allow_redirects=False).headers["Location"]
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "c",
        "client_secret": "s",
        "redirect_uri": redirect,
    }
    first = _session().post(emu.token_uri, data=form)
    again = _session().post(emu.token_uri, data=form)
    assert (
        first.status_code == 200 and "refresh_token" not in first.json()
    )  # no access_type=offline
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_declined_consent_redirects_with_access_denied(emu):
    emu.add_oauth_client("c", "s", ["http://127.0.0.1:9/cb"])
    emu.consent_as(None)
    query = urllib.parse.urlencode(
        {
            "client_id": "c",
            "redirect_uri": "http://127.0.0.1:9/cb",
            "response_type": "code",
            "scope": SCOPES[0],
            "state": "q",
        }
    )
    location = _session().get(f"{emu.auth_uri}?{query}", allow_redirects=False).headers["Location"]
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)) == {
        "state": "q",
        "error": "access_denied",
    }


def test_id_token_from_the_web_flow_verifies_with_the_emulators_certs(emu):
    tokens = web_flow(emu, HEAD, scopes=["openid", "email", *SCOPES])
    claims = id_token.verify_token(
        tokens["id_token"],
        AuthRequest(session=_session()),
        audience="web-client",
        certs_url=emu.certs_uri,
    )
    assert claims["email"] == HEAD


def test_revoked_grant_answers_401_then_invalid_grant_on_refresh(emu):
    tokens = web_flow(emu, HEAD)
    api = service(emu, user_creds(emu, tokens["refresh_token"]))
    api.events().list(calendarId="primary").execute()
    emu.revoke_grant(HEAD)
    with pytest.raises(RefreshError, match="invalid_grant"):
        api.events().list(calendarId="primary").execute()
    assert emu.stats.by_kind["list"] == 2  # the 401, then google-auth-httplib2 tried to refresh


def test_revoking_a_service_accounts_delegation_stops_its_tokens(emu):
    creds = delegated(emu)
    api = service(emu, creds)
    api.events().list(calendarId="primary").execute()
    emu.revoke_grant(creds.service_account_email)
    with pytest.raises(RefreshError, match="unauthorized_client"):
        api.events().list(calendarId="primary").execute()


def test_revoke_endpoint_ends_the_grant(emu):
    tokens = web_flow(emu, HEAD)
    assert (
        _session().post(emu.revoke_uri, data={"token": tokens["refresh_token"]}).status_code == 200
    )
    with pytest.raises(RefreshError, match="invalid_grant"):
        user_creds(emu, tokens["refresh_token"]).refresh(AuthRequest(session=_session()))


def test_expired_access_token_is_401_and_the_client_refreshes_by_itself(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.expire_tokens()
    cal.events().list(calendarId="primary").execute()
    assert emu.stats.by_kind["token"] == 2
    assert emu.stats.by_kind["list"] == 3


def test_a_call_without_a_token_is_401_with_googles_body(emu):
    answer = _session().get(emu.base_url + f"calendars/{SENCO}/events")
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "authError"


def test_token_lifetime_is_what_the_token_endpoint_announces(emu):
    emu.token_lifetime = 120
    creds = delegated(emu)
    creds.refresh(AuthRequest(session=_session()))
    assert 100 < (creds.expiry - creds.expiry.now().replace(tzinfo=None)).total_seconds() <= 120


# --- rights, calendars, access rules ---------------------------------------------------------


def test_another_users_calendar_is_404_until_shared_then_reader_cannot_write(emu, cal):
    head = service(emu, delegated(emu, HEAD))
    assert status_of(head.events().list(calendarId=SENCO)) == (404, "notFound")
    cal.acl().insert(
        calendarId="primary", body={"role": "reader", "scope": {"type": "user", "value": HEAD}}
    ).execute()
    head.events().list(calendarId=SENCO).execute()
    assert status_of(head.events().insert(calendarId=SENCO, body=event())) == (
        403,
        "requiredAccessLevel",
    )


def test_group_rule_gives_its_members_the_role(emu, cal):
    emu.add_group(f"slt@{DOMAIN}", [HEAD])
    made = (
        cal.calendars()
        .insert(body={"summary": "SLT SEND overlay", "timeZone": "Europe/London"})
        .execute()
    )
    cal.acl().insert(
        calendarId=made["id"],
        body={"role": "writer", "scope": {"type": "group", "value": f"slt@{DOMAIN}"}},
    ).execute()
    head = service(emu, delegated(emu, HEAD))
    head.events().insert(calendarId=made["id"], body=event("abcde00003")).execute()
    rules = cal.acl().list(calendarId=made["id"]).execute()["items"]
    assert {r["id"]: r["role"] for r in rules} == {
        f"user:{SENCO}": "owner",
        f"group:slt@{DOMAIN}": "writer",
    }


def test_secondary_calendar_insert_get_delete(emu, cal):
    made = cal.calendars().insert(body={"summary": "SENCO calendar"}).execute()
    assert made["id"].endswith("@group.calendar.google.com") and made["timeZone"] == "Europe/London"
    assert cal.calendars().get(calendarId=made["id"]).execute()["summary"] == "SENCO calendar"
    assert emu.calendars_owned_by(SENCO) == [SENCO, made["id"]]
    cal.calendars().delete(calendarId=made["id"]).execute()
    assert status_of(cal.calendars().get(calendarId=made["id"])) == (404, "notFound")


def test_a_calendar_deleted_by_a_person_answers_404(emu, cal):
    made = cal.calendars().insert(body={"summary": "SENCO calendar"}).execute()
    emu.delete_calendar(made["id"])
    assert status_of(cal.events().insert(calendarId=made["id"], body=event())) == (404, "notFound")


def test_read_only_scope_cannot_write(emu):
    api = service(emu, delegated(emu, scopes=[SCOPES[0] + ".readonly"]))
    api.events().list(calendarId="primary").execute()
    assert status_of(api.events().insert(calendarId="primary", body=event())) == (
        403,
        "insufficientPermissions",
    )


def test_app_created_scope_reaches_only_the_calendars_the_app_made(emu):
    api = service(
        emu, delegated(emu, scopes=["https://www.googleapis.com/auth/calendar.app.created"])
    )
    made = api.calendars().insert(body={"summary": "SEND deadlines"}).execute()
    api.events().insert(calendarId=made["id"], body=event()).execute()
    assert status_of(api.events().list(calendarId="primary")) == (403, "insufficientPermissions")


# --- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["ABCDE12345", "abc", "wxyz12345", "abcde-1234", "a" * 1025])
def test_client_chosen_ids_must_be_base32hex_of_5_to_1024(cal, bad):
    assert status_of(cal.events().insert(calendarId="primary", body=event(bad))) == (400, "invalid")


def test_an_id_in_use_even_cancelled_answers_409_duplicate(emu, cal):
    cal.events().insert(calendarId="primary", body=event("abcde00004")).execute()
    cal.events().delete(calendarId="primary", eventId="abcde00004").execute()
    with pytest.raises(HttpError) as caught:
        cal.events().insert(calendarId="primary", body=event("abcde00004")).execute()
    assert caught.value.resp.status == 409
    assert caught.value.error_details[0] == {
        "domain": "global",
        "reason": "duplicate",
        "message": "The requested identifier already exists.",
    }


def test_delete_cancels_and_keeps_the_id_a_second_delete_is_410(emu, cal):
    cal.events().insert(calendarId="primary", body=event("abcde00005")).execute()
    cal.events().delete(calendarId="primary", eventId="abcde00005").execute()
    assert (
        cal.events().get(calendarId="primary", eventId="abcde00005").execute()["status"]
        == "cancelled"
    )
    assert status_of(cal.events().delete(calendarId="primary", eventId="abcde00005")) == (
        410,
        "deleted",
    )
    assert cal.events().list(calendarId="primary").execute()["items"] == []
    shown = cal.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert [(e["id"], e["status"]) for e in shown] == [("abcde00005", "cancelled")]
    assert emu.events(SENCO) == [] and len(emu.events(SENCO, include_cancelled=True)) == 1


def test_update_with_status_confirmed_revives_a_cancelled_event(emu, cal):
    cal.events().insert(calendarId="primary", body=event("abcde00006")).execute()
    cal.events().delete(calendarId="primary", eventId="abcde00006").execute()
    revived = (
        cal.events()
        .update(
            calendarId="primary",
            eventId="abcde00006",
            body=event(status="confirmed", summary="Back"),
        )
        .execute()
    )
    assert revived["status"] == "confirmed" and revived["summary"] == "Back"
    assert [e["summary"] for e in emu.events(SENCO)] == ["Back"]


def test_update_without_status_leaves_a_cancelled_event_cancelled(emu, cal):
    cal.events().insert(calendarId="primary", body=event("abcde00016")).execute()
    cal.events().delete(calendarId="primary", eventId="abcde00016").execute()
    cal.events().update(calendarId="primary", eventId="abcde00016", body=event()).execute()
    assert emu.events(SENCO) == []


def test_patch_merges_extended_properties_and_bumps_etag_and_sequence_on_a_time_change(cal):
    made = (
        cal.events()
        .insert(calendarId="primary", body=event("abcde00007", location="Room 4"))
        .execute()
    )
    patched = (
        cal.events()
        .patch(
            calendarId="primary",
            eventId="abcde00007",
            body={
                "extendedProperties": {"private": {"hash": "h2"}},
                "start": {"date": "2026-10-05"},
                "end": {"date": "2026-10-06"},
            },
        )
        .execute()
    )
    assert patched["extendedProperties"]["private"] == {"sencocal": "1", "hash": "h2"}
    assert patched["location"] == "Room 4"
    assert patched["etag"] != made["etag"] and patched["sequence"] == 1
    assert patched["updated"] >= made["updated"] and patched["created"] == made["created"]
    unchanged_time = (
        cal.events()
        .patch(calendarId="primary", eventId="abcde00007", body={"summary": "New"})
        .execute()
    )
    assert unchanged_time["sequence"] == 1


def test_update_replaces_fields_it_does_not_send(cal):
    cal.events().insert(calendarId="primary", body=event("abcde00008", location="Room 4")).execute()
    replaced = (
        cal.events().update(calendarId="primary", eventId="abcde00008", body=event()).execute()
    )
    assert "location" not in replaced and replaced["iCalUID"] == "abcde00008@google.com"


def test_if_match_with_a_stale_etag_is_412(cal):
    made = cal.events().insert(calendarId="primary", body=event("abcde00009")).execute()
    cal.events().patch(
        calendarId="primary", eventId="abcde00009", body={"summary": "changed"}
    ).execute()
    stale = cal.events().patch(calendarId="primary", eventId="abcde00009", body={"summary": "mine"})
    stale.headers["If-Match"] = made["etag"]
    assert status_of(stale) == (412, "conditionNotMet")
    fresh = cal.events().get(calendarId="primary", eventId="abcde00009").execute()
    ok = cal.events().delete(calendarId="primary", eventId="abcde00009")
    ok.headers["If-Match"] = fresh["etag"]
    ok.execute()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (event(day="2026-10-01") | {"end": {"date": "2026-09-30"}}, "timeRangeEmpty"),
        (event() | {"end": {"date": "2026-10-01"}}, "timeRangeEmpty"),
        (
            {
                "summary": "x",
                "start": {"dateTime": "2026-10-01T10:00:00+01:00"},
                "end": {"dateTime": "2026-10-01T09:00:00+01:00"},
            },
            "timeRangeEmpty",
        ),
        (
            {
                "summary": "x",
                "start": {"dateTime": "2026-10-01T10:00:00"},
                "end": {"dateTime": "2026-10-01T11:00:00"},
            },
            "required",
        ),
        ({"summary": "x", "start": {"date": "2026-10-01"}}, "required"),
        (
            event()
            | {
                "reminders": {
                    "useDefault": False,
                    "overrides": [{"method": "popup", "minutes": 10}] * 6,
                }
            },
            "tooManyReminders",
        ),
        (
            event()
            | {
                "reminders": {
                    "useDefault": False,
                    "overrides": [{"method": "popup", "minutes": 40321}],
                }
            },
            "invalid",
        ),
        (
            event()
            | {
                "reminders": {"useDefault": True, "overrides": [{"method": "popup", "minutes": 10}]}
            },
            "cannotUseDefaultRemindersAndSpecifyOverride",
        ),
        (event() | {"colorId": "12"}, "invalid"),
    ],
    ids=[
        "end-before-start",
        "zero-day",
        "timed-end-first",
        "no-zone",
        "no-end",
        "six-reminders",
        "minutes",
        "default-and-overrides",
        "color",
    ],
)
def test_invalid_events_are_400_as_google_answers(emu, cal, body, reason):
    assert status_of(cal.events().insert(calendarId="primary", body=body)) == (400, reason)
    assert emu.events(SENCO) == []


def test_timed_event_with_zone_and_reminders_round_trips(cal):
    body = {
        "summary": "Governors' SEND report",
        "start": {"dateTime": "2026-11-03T18:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-11-03T19:00:00", "timeZone": "Europe/London"},
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": 40320}, {"method": "email", "minutes": 0}],
        },
        "transparency": "transparent",
        "description": "Why: first Tuesday of November",
        "colorId": "5",
        "source": {"title": "sencocal", "url": "https://sencocal.example/feeds/x"},
    }
    made = cal.events().insert(calendarId="primary", body=body).execute()
    got = cal.events().get(calendarId="primary", eventId=made["id"]).execute()
    assert {k: got[k] for k in body} == body
    assert len(got["id"]) == 26 and got["htmlLink"].startswith(
        "https://www.google.com/calendar/event?eid="
    )


def test_list_filters_on_private_property_time_range_and_ical_uid(cal):
    cal.events().insert(calendarId="primary", body=event("abcde00010", day="2026-10-01")).execute()
    cal.events().insert(calendarId="primary", body=event("abcde00011", day="2026-12-01")).execute()
    cal.events().insert(
        calendarId="primary",
        body=event("abcde00012", extendedProperties={"private": {"other": "x"}}),
    ).execute()

    def ids(**kw):
        return [e["id"] for e in cal.events().list(calendarId="primary", **kw).execute()["items"]]

    assert ids(privateExtendedProperty="sencocal=1") == ["abcde00010", "abcde00011"]
    assert ids(privateExtendedProperty=["sencocal=1", "missing=y"]) == []
    assert ids(timeMin="2026-11-01T00:00:00Z") == ["abcde00011"]
    assert ids(timeMax="2026-10-01T00:00:00+01:00") == []  # 23:00 UTC the day before: exclusive
    assert ids(timeMax="2026-10-01T00:00:01+01:00") == ["abcde00010", "abcde00012"]
    assert ids(iCalUID="abcde00011@google.com") == ["abcde00011"]
    assert ids(singleEvents=True, orderBy="startTime")[-1] == "abcde00011"


def test_list_pages_through_everything_with_max_results_and_page_token(emu, cal):
    batch = BatchHttpRequest(batch_uri=emu.batch_uri)
    for n in range(23):
        batch.add(cal.events().insert(calendarId="primary", body=event(f"page{n:06d}")))
    batch.execute()
    seen, token, pages = [], None, 0
    while True:
        page = cal.events().list(calendarId="primary", maxResults=10, pageToken=token).execute()
        seen += [e["id"] for e in page["items"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and seen == [f"page{n:06d}" for n in range(23)]
    assert len(cal.events().list(calendarId="primary", maxResults=5000).execute()["items"]) == 23


def test_fields_selects_a_partial_response_as_google_does(cal):
    cal.events().insert(calendarId="primary", body=event("abcde00040")).execute()
    listed = (
        cal.events()
        .list(
            calendarId="primary",
            fields="items(id,status,start,extendedProperties/private),nextPageToken",
        )
        .execute()
    )
    assert listed == {
        "items": [
            {
                "id": "abcde00040",
                "status": "confirmed",
                "start": {"date": "2026-10-01"},
                "extendedProperties": {"private": {"sencocal": "1"}},
            }
        ]
    }
    assert cal.events().get(
        calendarId="primary", eventId="abcde00040", fields="id,end/date"
    ).execute() == {"id": "abcde00040", "end": {"date": "2026-10-02"}}
    assert cal.calendars().get(calendarId="primary", fields="id").execute() == {"id": SENCO}
    assert status_of(
        cal.events().get(calendarId="primary", eventId="abcde00040", fields="items(id")
    ) == (400, "invalidParameter")


# --- batch -----------------------------------------------------------------------------------


def test_batch_answers_each_part_under_its_content_id_and_is_one_http_call(emu, cal):
    cal.events().insert(calendarId="primary", body=event("abcde00013")).execute()
    emu.stats.reset()
    results: dict[str, Any] = {}
    batch = BatchHttpRequest(
        batch_uri=emu.batch_uri,
        callback=lambda rid, resp, exc: results.__setitem__(
            rid, exc.resp.status if exc else resp.get("id", "ok")
        ),
    )
    batch.add(cal.events().insert(calendarId="primary", body=event("abcde00014")), request_id="new")
    batch.add(
        cal.events().insert(calendarId="primary", body=event("abcde00013")), request_id="again"
    )
    batch.add(
        cal.events().patch(calendarId="primary", eventId="abcde00013", body={"summary": "x"}),
        request_id="patch",
    )
    batch.add(cal.events().delete(calendarId="primary", eventId="nosuchevent"), request_id="gone")
    batch.add(cal.events().list(calendarId="primary"), request_id="list")
    batch.execute()
    assert (
        results["new"] == "abcde00014"
        and results["again"] == 409
        and results["patch"] == "abcde00013"
        and results["gone"] == 404
    )
    assert emu.stats.http_calls == 1
    assert emu.stats.by_kind == {"batch": 1, "insert": 2, "patch": 1, "delete": 1, "list": 1}
    assert emu.stats.writes == 2


def test_batch_response_content_ids_are_response_prefixed(emu, cal):
    batch = BatchHttpRequest(batch_uri=emu.batch_uri)
    batch.add(cal.events().insert(calendarId="primary", body=event("abcde00015")))
    raw = batch._serialize_request  # keep the library's own request format
    body = (
        "--b\r\nContent-Type: application/http\r\nContent-ID: <abc + 7>\r\n\r\n"
        + raw(cal.events().list(calendarId="primary"))
        + "\r\n--b--\r\n"
    )
    answer = cal._http.request(
        emu.batch_uri, "POST", body=body, headers={"content-type": "multipart/mixed; boundary=b"}
    )
    assert answer[0].status == 200
    assert b"Content-ID: <response-abc + 7>" in answer[1]


def test_a_batch_of_more_than_1000_parts_is_400(emu, cal):
    part = "--b\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\nGET /calendars/primary/events HTTP/1.1\r\n\r\n"
    body = "".join(part.format(n=n) for n in range(1001)) + "--b--\r\n"
    resp, content = cal._http.request(
        emu.batch_uri, "POST", body=body, headers={"content-type": "multipart/mixed; boundary=b"}
    )
    assert resp.status == 400 and b"batchSizeTooLarge" in content


# --- faults ----------------------------------------------------------------------------------


def test_status_fault_answers_googles_error_with_retry_after_and_commits_nothing(emu, cal):
    emu.faults.on_request(1, Fault("status", status=429, retry_after=7))
    with pytest.raises(HttpError) as caught:
        cal.events().insert(calendarId="primary", body=event("abcde00020")).execute()
    assert caught.value.resp.status == 429 and caught.value.resp["retry-after"] == "7"
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert emu.events(SENCO) == [] and emu.stats.writes == 0


def test_status_fault_with_a_reason_uses_it(emu, cal):
    emu.faults.on_request(1, Fault("status", status=403, reason="quotaExceeded"))
    assert status_of(cal.events().list(calendarId="primary")) == (403, "quotaExceeded")


def test_status_fault_on_a_write_inside_a_batch_fails_only_that_part(emu, cal):
    cal.events().list(calendarId="primary").execute()  # fetch the token first
    emu.faults.on_write(2, Fault("status", status=503))
    results: dict[str, Any] = {}
    batch = BatchHttpRequest(
        batch_uri=emu.batch_uri,
        callback=lambda rid, resp, exc: results.__setitem__(rid, exc.resp.status if exc else 200),
    )
    for n in range(4):
        batch.add(
            cal.events().insert(calendarId="primary", body=event(f"part{n:06d}")), request_id=str(n)
        )
    batch.execute()
    assert results == {"0": 200, "1": 503, "2": 200, "3": 200}
    assert [e["id"] for e in emu.events(SENCO)] == ["part000000", "part000002", "part000003"]


def test_drop_before_commit_is_resent_once_by_httplib2_and_then_succeeds(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.stats.reset()
    emu.faults.on_request(1, Fault("drop_before_commit"))
    cal.events().insert(calendarId="primary", body=event("abcde00021")).execute()
    assert emu.stats.http_calls == 2 and emu.stats.writes == 1
    assert len(emu.events(SENCO)) == 1


def test_two_drops_in_a_row_reach_the_caller_and_commit_nothing(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.faults.on_request(1, Fault("drop_before_commit"))
    emu.faults.on_request(2, Fault("drop_before_commit"))
    with pytest.raises(ConnectionError):
        cal.events().insert(calendarId="primary", body=event("abcde00022")).execute()
    assert emu.events(SENCO) == []


def test_drop_after_commit_comes_back_as_409_through_the_librarys_own_resend(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.faults.on_request(1, Fault("drop_after_commit"))
    assert status_of(cal.events().insert(calendarId="primary", body=event("abcde00023"))) == (
        409,
        "duplicate",
    )
    assert [e["id"] for e in emu.events(SENCO)] == ["abcde00023"]
    assert emu.stats.writes == 1


def test_drop_after_commit_on_a_write_in_a_batch_commits_the_parts_up_to_it(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.faults.on_write(2, Fault("drop_after_commit"))
    http = httplib2.Http(timeout=5)
    OPEN.append(http)
    creds = cal._http.credentials
    batch = BatchHttpRequest(batch_uri=emu.batch_uri)
    for n in range(4):
        batch.add(cal.events().insert(calendarId="primary", body=event(f"drop{n:06d}")))
    emu.faults.on_request(2, Fault("drop_before_commit"))  # refuse httplib2's silent resend
    with pytest.raises(ConnectionError):
        batch.execute(http=google_auth_httplib2.AuthorizedHttp(creds, http=http))
    assert [e["id"] for e in emu.events(SENCO)] == ["drop000000", "drop000001"]


def test_the_resent_batch_after_a_drop_answers_409_for_the_committed_parts(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.faults.on_write(2, Fault("drop_after_commit"))
    results: dict[str, Any] = {}
    batch = BatchHttpRequest(
        batch_uri=emu.batch_uri,
        callback=lambda rid, resp, exc: results.__setitem__(rid, exc.resp.status if exc else 200),
    )
    for n in range(4):
        batch.add(
            cal.events().insert(calendarId="primary", body=event(f"redo{n:06d}")), request_id=str(n)
        )
    batch.execute()
    assert results == {"0": 409, "1": 409, "2": 200, "3": 200}
    assert len(emu.events(SENCO)) == 4


def test_timeout_stalls_past_the_clients_timeout_and_commits_nothing(emu):
    api = service(emu, delegated(emu), timeout=0.3)
    api.events().list(calendarId="primary").execute()
    emu.faults.on_request(1, Fault("timeout", delay=1.0))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        api.events().insert(calendarId="primary", body=event("abcde00024")).execute()
    assert time.monotonic() - started < 0.9
    time.sleep(0.8)
    assert emu.events(SENCO) == []


def test_commit_then_hang_holds_the_connection_until_released(emu):
    api = service(emu, delegated(emu), timeout=None)
    api.events().list(calendarId="primary").execute()
    emu.faults.on_write(1, Fault("commit_then_hang"))
    outcome: list[Any] = []

    def insert() -> None:
        try:
            outcome.append(
                api.events().insert(calendarId="primary", body=event("abcde00025")).execute()
            )
        except HttpError as error:
            outcome.append(error.resp.status)

    worker = threading.Thread(target=insert)
    worker.start()
    assert emu.faults.wait_hung(5)
    assert [e["id"] for e in emu.events(SENCO)] == ["abcde00025"] and outcome == []
    emu.faults.release()
    worker.join(5)
    assert outcome == [409]  # released without an answer; httplib2 resent it once
    assert not emu.faults.wait_hung(0.05)


def test_random_faults_are_reproducible_from_the_seed(emu):
    def run(seed: int) -> list[tuple[str, int, Fault]]:
        with GoogleCalendarEmulator() as other:
            other.add_user(SENCO)
            api = service(other, delegated(other))
            api.events().list(calendarId="primary").execute()
            other.faults.at_random(
                0.3, seed, [Fault("status", status=500), Fault("status", status=429)]
            )
            batch = BatchHttpRequest(batch_uri=other.batch_uri)
            for n in range(40):
                batch.add(api.events().insert(calendarId="primary", body=event(f"rand{n:06d}")))
            batch.execute()
            assert len(other.events(SENCO)) == 40 - len(other.faults.fired)
            return other.faults.fired

    first = run(7)
    assert first == run(7) and 3 <= len(first) <= 25 and first != run(8)


def test_random_faults_on_requests_hit_every_kind_of_request(emu, cal):
    emu.faults.at_random(1.0, 1, [Fault("status", status=503)], writes_only=False)
    assert status_of(cal.events().list(calendarId="primary")) == (503, "backendError")
    emu.faults.clear()
    cal.events().list(calendarId="primary").execute()


# --- stats, latency, concurrency, hand edits -------------------------------------------------


def test_latency_is_added_to_every_request(emu, cal):
    cal.events().list(calendarId="primary").execute()
    emu.latency = 0.2
    started = time.monotonic()
    cal.events().list(calendarId="primary").execute()
    assert time.monotonic() - started >= 0.2


def test_concurrent_clients_each_write_their_own_events(emu):
    creds = delegated(emu)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            api = service(emu, creds)
            for k in range(8):
                api.events().insert(calendarId="primary", body=event(f"c{n}e{k}0000")).execute()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len({e["id"] for e in emu.events(SENCO)}) == 48 and emu.stats.writes == 48


def test_hand_edit_and_hand_delete_look_like_a_person_in_the_calendar(emu, cal):
    made = cal.events().insert(calendarId="primary", body=event("abcde00030")).execute()
    emu.hand_edit(
        SENCO,
        "abcde00030",
        start={"date": "2026-10-08"},
        end={"date": "2026-10-09"},
        location="Hall",
    )
    edited = cal.events().get(calendarId="primary", eventId="abcde00030").execute()
    assert edited["start"] == {"date": "2026-10-08"} and edited["location"] == "Hall"
    assert edited["sequence"] == 1 and edited["etag"] != made["etag"]
    assert edited["extendedProperties"] == made["extendedProperties"]
    emu.hand_delete(SENCO, "abcde00030")
    assert (
        cal.events().get(calendarId="primary", eventId="abcde00030").execute()["status"]
        == "cancelled"
    )
    assert emu.events(SENCO) == []
