"""The Microsoft Graph emulator, driven by the real msal and requests over HTTPS."""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests

from tests.emulators import Fault, GraphEmulator

TENANT = "11111111-2222-3333-4444-555555555555"
SENCO = "senco@school.example"
HEAD = "head@school.example"
SLT = "slt-calendar@school.example"
PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name sencocal"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
REDIRECT = "https://127.0.0.1:9/oauth/microsoft/callback"

OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def session(emu: GraphEmulator) -> requests.Session:
    s = requests.Session()
    s.verify = emu.ca_file
    s.trust_env = False  # this machine sets REQUESTS_CA_BUNDLE, which would override verify
    OPEN.append(s)
    return s


@pytest.fixture
def emu() -> Iterator[GraphEmulator]:
    with GraphEmulator() as emulator:
        emulator.add_tenant(TENANT)
        emulator.add_app(TENANT, "sync-app", "app-secret", redirect_uris=[REDIRECT])
        emulator.add_user(TENANT, SENCO)
        emulator.add_user(TENANT, HEAD)
        emulator.add_user(TENANT, SLT, kind="shared_mailbox")
        yield emulator


def confidential(
    emu: GraphEmulator, client_id: str = "sync-app", secret: str = "app-secret"
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=emu.authority(TENANT),
        instance_discovery=False,
        http_client=session(emu),
    )


class Graph:
    """A bearer-token requests session on the emulator's Graph URL."""

    def __init__(self, emu: GraphEmulator, token: str) -> None:
        self.emu, self.http = emu, session(emu)
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = path if path.startswith("https://") else self.emu.graph_url + path
        return self.http.request(method, url, timeout=5, **kw)


@pytest.fixture
def graph(emu: GraphEmulator) -> Graph:
    token = confidential(emu).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    return Graph(emu, token["access_token"])


def all_day(day: str = "2026-10-01", until: str = "2026-10-02", **extra: Any) -> dict[str, Any]:
    return {
        "subject": "EHC plan annual review",
        "isAllDay": True,
        "start": {"dateTime": f"{day}T00:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": f"{until}T00:00:00", "timeZone": "Europe/London"},
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 1440,
        "singleValueExtendedProperties": [{"id": PROP, "value": "key-1"}],
        **extra,
    }


def events_url(mailbox: str = SENCO) -> str:
    return f"/users/{mailbox}/calendar/events"


def error_of(answer: requests.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


# --- identity --------------------------------------------------------------------------------


def test_client_credentials_token_is_a_jwt_with_the_apps_roles(emu, graph):
    answer = graph("GET", f"/users/{SENCO}/calendar")
    assert answer.status_code == 200 and answer.json()["isDefaultCalendar"] is True
    token = graph.http.headers["Authorization"].split()[1]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert (
        claims["roles"] == ["Calendars.ReadWrite"]
        and claims["tid"] == TENANT
        and claims["aud"] == "https://graph.microsoft.com"
    )


def test_msal_serves_the_app_token_from_its_cache(emu):
    app = confidential(emu)
    first = app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    second = app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert first["access_token"] == second["access_token"] and second["token_source"] == "cache"
    assert emu.stats.by_kind["token"] == 1


def test_a_wrong_secret_is_invalid_client_with_its_aadsts_code(emu):
    result = confidential(emu, secret="wrong").acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")


def test_client_credentials_need_the_default_scope(emu):
    result = confidential(emu).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/Calendars.ReadWrite"]
    )
    assert result["error"] == "invalid_scope" and result["error_codes"] == [1002012]


def test_an_unknown_tenant_is_refused(emu):
    with pytest.raises(ValueError):
        msal.ConfidentialClientApplication(
            "sync-app",
            client_credential="app-secret",
            authority=emu.authority("no-such-tenant"),
            instance_discovery=False,
            http_client=session(emu),
        )


def sign_in(emu: GraphEmulator, flow: dict[str, Any]) -> dict[str, str]:
    """What the browser posts back to the redirect URI (response_mode=form_post)."""
    page = session(emu).get(flow["auth_uri"], allow_redirects=False)
    assert page.status_code == 200 and f'action="{REDIRECT}"' in page.text
    return {
        k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)
    }


def start_flow(app: msal.ConfidentialClientApplication, scopes: list[str]) -> dict[str, Any]:
    return app.initiate_auth_code_flow(
        scopes=scopes, redirect_uri=REDIRECT, response_mode="form_post"
    )


def delegated(
    emu: GraphEmulator, upn: str, scopes: list[str]
) -> tuple[msal.ConfidentialClientApplication, dict[str, Any]]:
    app = confidential(emu)
    flow = start_flow(app, scopes)
    emu.consent_as(upn)
    result = app.acquire_token_by_auth_code_flow(flow, sign_in(emu, flow))
    return app, result


def test_delegated_auth_code_flow_with_pkce_gives_tokens_msal_accepts(emu):
    app, result = delegated(emu, HEAD, ["Calendars.ReadWrite"])
    assert "access_token" in result, result
    assert result["refresh_token"] and result["id_token_claims"]["preferred_username"] == HEAD
    assert [a["username"] for a in app.get_accounts()] == [HEAD]
    refreshed = app.acquire_token_by_refresh_token(
        result["refresh_token"], scopes=["Calendars.ReadWrite"]
    )
    assert refreshed["access_token"] != result["access_token"]
    mine = Graph(emu, refreshed["access_token"])("POST", events_url(HEAD), json=all_day())
    assert mine.status_code == 201


def test_declined_consent_posts_back_access_denied(emu):
    app = confidential(emu)
    flow = start_flow(app, ["Calendars.ReadWrite"])
    emu.consent_as(None)
    assert sign_in(emu, flow)["error"] == "access_denied"


def test_without_form_post_the_code_comes_back_in_a_302(emu):
    query = urllib.parse.urlencode(
        {
            "client_id": "sync-app",
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "Calendars.ReadWrite",
            "state": "s1",
        }
    )
    emu.consent_as(HEAD)
    answer = session(emu).get(
        f"{emu.authority(TENANT)}/oauth2/v2.0/authorize?{query}", allow_redirects=False
    )
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    assert answer.status_code == 302 and params["state"] == "s1" and params["code"]


def test_a_wrong_pkce_verifier_is_invalid_grant(emu):
    app = confidential(emu)
    flow = start_flow(app, ["Calendars.ReadWrite"])
    emu.consent_as(HEAD)
    response = sign_in(emu, flow)
    flow["code_verifier"] = "not-the-verifier"
    assert app.acquire_token_by_auth_code_flow(flow, response)["error"] == "invalid_grant"


def test_revoked_consent_is_401_on_calls_and_invalid_grant_on_refresh(emu):
    app, result = delegated(emu, HEAD, ["Calendars.ReadWrite"])
    api = Graph(emu, result["access_token"])
    assert api("GET", events_url(HEAD)).status_code == 200
    emu.revoke_consent(HEAD)
    assert error_of(api("GET", events_url(HEAD))) == (401, "InvalidAuthenticationToken")
    again = app.acquire_token_by_refresh_token(
        result["refresh_token"], scopes=["Calendars.ReadWrite"]
    )
    assert again["error"] == "invalid_grant" and again["error_codes"] == [50173]


def test_a_revoked_app_gets_no_app_token_and_its_tokens_stop(emu, graph):
    emu.revoke_consent("sync-app")
    assert error_of(graph("GET", events_url())) == (401, "InvalidAuthenticationToken")
    result = confidential(emu).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [7000112]


def test_expired_token_is_401_lifetime_validation_failed(emu, graph):
    emu.expire_tokens()
    answer = graph("GET", events_url())
    assert (
        error_of(answer) == (401, "InvalidAuthenticationToken")
        and "expired" in answer.json()["error"]["message"]
    )


# --- who may reach which mailbox -------------------------------------------------------------


def test_app_only_reaches_any_mailbox_until_restricted_by_rbac(emu, graph):
    assert graph("POST", events_url(SLT), json=all_day()).status_code == 201
    emu.restrict_app("sync-app", [SLT])
    assert graph("GET", events_url(SLT)).status_code == 200
    assert error_of(graph("GET", events_url(SENCO))) == (403, "ErrorAccessDenied")


def test_a_read_only_app_cannot_write(emu):
    emu.add_app(TENANT, "reader-app", "s", roles=["Calendars.Read"])
    api = Graph(
        emu,
        confidential(emu, "reader-app", "s").acquire_token_for_client(scopes=GRAPH_DEFAULT)[
            "access_token"
        ],
    )
    assert api("GET", events_url()).status_code == 200
    assert error_of(api("POST", events_url(), json=all_day())) == (403, "ErrorAccessDenied")


def test_group_calendars_refuse_app_only_and_accept_a_member_with_group_scope(emu, graph):
    emu.add_group(TENANT, "slt-group", members=[HEAD])
    assert error_of(graph("POST", "/groups/slt-group/calendar/events", json=all_day())) == (
        403,
        "ErrorAccessDenied",
    )
    _, result = delegated(emu, HEAD, ["Group.ReadWrite.All"])
    made = Graph(emu, result["access_token"])(
        "POST", "/groups/slt-group/calendar/events", json=all_day()
    )
    assert made.status_code == 201
    assert [e["subject"] for e in emu.events("slt-group")] == ["EHC plan annual review"]
    _, other = delegated(emu, SENCO, ["Group.ReadWrite.All"])
    assert error_of(
        Graph(emu, other["access_token"])("GET", "/groups/slt-group/calendar/events")
    ) == (403, "ErrorAccessDenied")


def test_delegated_access_to_another_mailbox_needs_sharing_and_the_shared_scope(emu):
    _, result = delegated(emu, HEAD, ["Calendars.ReadWrite", "Calendars.ReadWrite.Shared"])
    api = Graph(emu, result["access_token"])
    assert error_of(api("GET", events_url(SLT))) == (403, "ErrorAccessDenied")
    emu.grant_mailbox_access(SLT, HEAD)
    assert api("POST", events_url(SLT), json=all_day()).status_code == 201


def test_an_unknown_user_is_404_error_invalid_user(graph):
    assert error_of(graph("GET", events_url("nobody@school.example"))) == (404, "ErrorInvalidUser")


# --- calendars -------------------------------------------------------------------------------


def test_calendars_list_create_and_events_in_a_secondary_calendar(emu, graph):
    made = graph("POST", f"/users/{SENCO}/calendars", json={"name": "SENCO deadlines"})
    assert made.status_code == 201 and made.json()["isDefaultCalendar"] is False
    assert error_of(
        graph("POST", f"/users/{SENCO}/calendars", json={"name": "senco deadlines"})
    ) == (409, "ErrorFolderExists")
    names = [c["name"] for c in graph("GET", f"/users/{SENCO}/calendars").json()["value"]]
    assert names == ["Calendar", "SENCO deadlines"]
    cal_id = made.json()["id"]
    event = graph("POST", f"/users/{SENCO}/calendars/{cal_id}/events", json=all_day()).json()
    assert [e["id"] for e in emu.events(SENCO, cal_id)] == [event["id"]] and emu.events(SENCO) == []
    assert graph("GET", f"/users/{SENCO}/events/{event['id']}").status_code == 200
    assert error_of(graph("GET", f"/users/{SENCO}/calendar/events/{event['id']}")) == (
        404,
        "ErrorItemNotFound",
    )


# --- events ----------------------------------------------------------------------------------


def test_a_second_post_with_one_transaction_id_answers_the_existing_event(emu, graph):
    first = graph("POST", events_url(), json=all_day(transactionId="conn1-evt1"))
    second = graph("POST", events_url(), json=all_day(transactionId="conn1-evt1"))
    assert first.status_code == second.status_code == 201
    assert (
        first.json()["id"] == second.json()["id"] and first.json()["transactionId"] == "conn1-evt1"
    )
    assert len(emu.events(SENCO)) == 1 and emu.stats.writes == 1


def test_transaction_id_is_returned_only_when_set_and_cannot_change(graph):
    plain = graph("POST", events_url(), json=all_day()).json()
    assert "transactionId" not in plain
    tagged = graph("POST", events_url(), json=all_day(transactionId="t-2")).json()
    assert error_of(
        graph("PATCH", f"/users/{SENCO}/events/{tagged['id']}", json={"transactionId": "t-3"})
    ) == (400, "ErrorInvalidRequest")


def test_ical_uid_is_read_only(graph):
    made = graph("POST", events_url(), json=all_day(iCalUId="mine@sencocal")).json()
    assert made["iCalUId"] != "mine@sencocal" and made["iCalUId"].startswith(
        "040000008200E00074C5B7101A82E008"
    )


@pytest.mark.parametrize(
    "body",
    [
        all_day() | {"start": {"dateTime": "2026-10-01T09:00:00", "timeZone": "Europe/London"}},
        all_day(until="2026-10-01"),
        all_day()
        | {
            "isAllDay": False,
            "end": {"dateTime": "2026-09-30T00:00:00", "timeZone": "Europe/London"},
        },
        all_day() | {"start": {"dateTime": "2026-10-01T00:00:00", "timeZone": "Mars/Olympus"}},
    ],
    ids=["all-day-not-midnight", "all-day-zero-length", "end-before-start", "bad-zone"],
)
def test_invalid_events_are_400(emu, graph, body):
    assert graph("POST", events_url(), json=body).status_code == 400
    assert emu.events(SENCO) == []


def test_event_fields_round_trip_and_extended_properties_only_with_expand(graph):
    body = {
        "subject": "Governors' SEND report",
        "body": {"contentType": "text", "content": "Why: first Tuesday of November"},
        "start": {"dateTime": "2026-11-03T18:00:00", "timeZone": "GMT Standard Time"},
        "end": {"dateTime": "2026-11-03T19:00:00", "timeZone": "GMT Standard Time"},
        "location": {"displayName": "Library"},
        "categories": ["SEND"],
        "showAs": "free",
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 10080,
        "singleValueExtendedProperties": [{"id": PROP, "value": "key-9"}],
    }
    made = graph("POST", events_url(), json=body).json()
    got = graph("GET", f"/users/{SENCO}/events/{made['id']}").json()
    assert "singleValueExtendedProperties" not in got
    assert got["start"] == {
        "dateTime": "2026-11-03T18:00:00.0000000",
        "timeZone": "UTC",
    }  # November: GMT
    assert (
        got["categories"],
        got["showAs"],
        got["reminderMinutesBeforeStart"],
        got["location"]["displayName"],
    ) == (["SEND"], "free", 10080, "Library")
    assert (
        got["bodyPreview"] == "Why: first Tuesday of November"
        and got["changeKey"]
        and got["lastModifiedDateTime"]
    )
    expanded = graph(
        "GET",
        f"/users/{SENCO}/events/{made['id']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')"},
    ).json()
    assert expanded["singleValueExtendedProperties"] == [{"id": PROP, "value": "key-9"}]


def test_prefer_outlook_timezone_shows_times_in_that_zone(graph):
    body = all_day() | {
        "isAllDay": False,
        "start": {"dateTime": "2026-06-01T09:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-06-01T10:00:00", "timeZone": "Europe/London"},
    }
    made = graph("POST", events_url(), json=body).json()
    assert made["start"]["dateTime"] == "2026-06-01T08:00:00.0000000"
    local = graph(
        "GET",
        f"/users/{SENCO}/events/{made['id']}",
        headers={"Prefer": 'outlook.timezone="Europe/London"'},
    ).json()
    assert local["start"] == {
        "dateTime": "2026-06-01T09:00:00.0000000",
        "timeZone": "Europe/London",
    }


def test_filter_on_the_extended_property_name_is_case_sensitive_value_is_not(graph):
    graph("POST", events_url(), json=all_day())
    graph(
        "POST",
        events_url(),
        json=all_day(singleValueExtendedProperties=[{"id": PROP, "value": "key-2"}]),
    )
    graph("POST", events_url(), json=all_day(singleValueExtendedProperties=[]))

    def found(prop_id: str, value: str) -> list[str]:
        query = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '{value}')"
        )
        answer = graph(
            "GET",
            events_url(),
            params={
                "$filter": query,
                "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')",
            },
        )
        return [e["singleValueExtendedProperties"][0]["value"] for e in answer.json()["value"]]

    assert found(PROP, "KEY-1") == ["key-1"]
    assert found(PROP.replace("sencocal", "SENCOCAL"), "key-1") == []


def test_malformed_extended_property_ids_are_400(graph):
    answer = graph(
        "POST",
        events_url(),
        json=all_day(singleValueExtendedProperties=[{"id": "sencocal", "value": "x"}]),
    )
    assert error_of(answer) == (400, "ErrorInvalidProperty")


def test_list_pages_by_top_with_an_absolute_next_link_and_select(emu, graph):
    for n in range(23):
        graph("POST", events_url(), json=all_day(subject=f"event {n}"))
    assert len(graph("GET", events_url()).json()["value"]) == 10  # Graph's default page size
    seen, url, pages = [], events_url() + "?$top=9&$select=subject", 0
    while url:
        page = graph("GET", url).json()
        seen += [e["subject"] for e in page["value"]]
        assert all(set(e) == {"id", "@odata.etag", "subject"} for e in page["value"])
        url = page.get("@odata.nextLink")
        pages += 1
        assert url is None or url.startswith(emu.graph_url)
    assert pages == 3 and seen == [f"event {n}" for n in range(23)]


def test_patch_merges_properties_changes_the_change_key_and_if_match_is_412(graph):
    made = graph("POST", events_url(), json=all_day()).json()
    other = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name hash"
    patched = graph(
        "PATCH",
        f"/users/{SENCO}/events/{made['id']}",
        json={
            "location": {"displayName": "Hall"},
            "singleValueExtendedProperties": [{"id": other, "value": "h2"}],
        },
    ).json()
    assert (
        patched["changeKey"] != made["changeKey"] and patched["location"]["displayName"] == "Hall"
    )
    expand = f"singleValueExtendedProperties($filter=id eq '{PROP}' or id eq '{other}')"
    props = graph("GET", f"/users/{SENCO}/events/{made['id']}", params={"$expand": expand}).json()
    assert {p["id"] for p in props["singleValueExtendedProperties"]} == {PROP, other}
    stale = graph(
        "PATCH",
        f"/users/{SENCO}/events/{made['id']}",
        json={"subject": "x"},
        headers={"If-Match": made["@odata.etag"]},
    )
    assert error_of(stale) == (412, "ErrorIrresolvableConflict")


def test_delete_removes_the_event_for_good(emu, graph):
    made = graph("POST", events_url(), json=all_day()).json()
    assert graph("DELETE", f"/users/{SENCO}/events/{made['id']}").status_code == 204
    assert error_of(graph("GET", f"/users/{SENCO}/events/{made['id']}")) == (
        404,
        "ErrorItemNotFound",
    )
    assert error_of(graph("DELETE", f"/users/{SENCO}/events/{made['id']}")) == (
        404,
        "ErrorItemNotFound",
    )


# --- $batch ----------------------------------------------------------------------------------


def batch_post(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(n),
        "method": "POST",
        "url": events_url(),
        "headers": {"Content-Type": "application/json"},
        "body": all_day(subject=f"b{n}"),
        **extra,
    }


def test_batch_runs_its_parts_as_one_http_call(emu, graph):
    emu.stats.reset()
    answer = graph(
        "POST",
        "/$batch",
        json={
            "requests": [
                batch_post(1),
                batch_post(2),
                {"id": "3", "method": "GET", "url": events_url(), "dependsOn": ["2"]},
            ]
        },
    )
    assert answer.status_code == 200
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"1": 201, "2": 201, "3": 200}
    assert [
        e["subject"]
        for e in next(r for r in answer.json()["responses"] if r["id"] == "3")["body"]["value"]
    ] == ["b1", "b2"]
    assert (
        emu.stats.http_calls == 1
        and emu.stats.by_kind == {"batch": 1, "insert": 2, "list": 1}
        and emu.stats.writes == 2
    )


def test_batch_of_more_than_20_is_400(graph):
    answer = graph("POST", "/$batch", json={"requests": [batch_post(n) for n in range(21)]})
    assert answer.status_code == 400


def test_a_failed_dependency_answers_424_and_a_body_needs_a_content_type(graph):
    bad = {
        "id": "1",
        "method": "POST",
        "url": events_url(),
        "headers": {"Content-Type": "application/json"},
        "body": all_day(until="2026-10-01"),
    }
    no_type = {"id": "3", "method": "POST", "url": events_url(), "body": all_day()}
    answer = graph(
        "POST", "/$batch", json={"requests": [bad, batch_post(2, dependsOn=["1"]), no_type]}
    )
    assert {r["id"]: r["status"] for r in answer.json()["responses"]} == {
        "1": 400,
        "2": 424,
        "3": 400,
    }


# --- throttling and faults -------------------------------------------------------------------


def test_more_than_four_concurrent_requests_to_one_mailbox_are_429_mailbox_concurrency(emu, graph):
    emu.latency = 0.4
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def call(mailbox: str) -> None:
        answer = Graph(emu, graph.http.headers["Authorization"].split()[1])(
            "GET", events_url(mailbox)
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=call, args=(SENCO,)) for _ in range(6)] + [
        threading.Thread(target=call, args=(HEAD,))
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(5)
    throttled = [a for a in answers if a.status_code == 429]
    assert len(throttled) == 2 and sum(a.status_code == 200 for a in answers) == 5
    assert (
        throttled[0].json()["error"]["code"] == "ApplicationThrottled"
        and throttled[0].headers["Retry-After"] == "1"
    )
    assert "MailboxConcurrency" in throttled[0].json()["error"]["message"]


def test_status_fault_answers_graphs_error_with_retry_after(emu, graph):
    emu.faults.on_request(1, Fault("status", status=503, retry_after=4))
    answer = graph("POST", events_url(), json=all_day())
    assert error_of(answer) == (503, "ServiceUnavailable") and answer.headers["Retry-After"] == "4"
    assert emu.events(SENCO) == []


def test_status_fault_on_a_write_in_a_batch_fails_only_that_part(emu, graph):
    emu.faults.on_write(
        2, Fault("status", status=429, reason="ApplicationThrottled", retry_after=2)
    )
    answer = graph("POST", "/$batch", json={"requests": [batch_post(n) for n in range(3)]})
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"0": 201, "1": 429, "2": 201}
    failed = next(r for r in answer.json()["responses"] if r["id"] == "1")
    assert (
        failed["headers"]["Retry-After"] == "2"
        and failed["body"]["error"]["code"] == "ApplicationThrottled"
    )


def test_drop_after_commit_then_a_retry_with_the_transaction_id_makes_no_duplicate(emu, graph):
    emu.faults.on_request(1, Fault("drop_after_commit"))
    with pytest.raises(requests.ConnectionError):  # requests does not resend a POST
        graph("POST", events_url(), json=all_day(transactionId="t-drop"))
    assert len(emu.events(SENCO)) == 1
    again = graph("POST", events_url(), json=all_day(transactionId="t-drop"))
    assert again.status_code == 201 and len(emu.events(SENCO)) == 1


def test_drop_before_commit_commits_nothing(emu, graph):
    emu.faults.on_request(1, Fault("drop_before_commit"))
    with pytest.raises(requests.ConnectionError):
        graph("POST", events_url(), json=all_day())
    assert emu.events(SENCO) == []


def test_drop_after_commit_in_a_batch_commits_the_parts_up_to_it(emu, graph):
    emu.faults.on_write(2, Fault("drop_after_commit"))
    with pytest.raises(requests.ConnectionError):
        graph("POST", "/$batch", json={"requests": [batch_post(n) for n in range(4)]})
    assert [e["subject"] for e in emu.events(SENCO)] == ["b0", "b1"]


def test_timeout_fault_outlasts_the_clients_timeout(emu, graph):
    emu.faults.on_request(1, Fault("timeout", delay=1.0))
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        graph.http.post(emu.graph_url + events_url(), json=all_day(), timeout=0.3)
    assert time.monotonic() - started < 0.9 and emu.events(SENCO) == []


def test_commit_then_hang_until_released(emu, graph):
    emu.faults.on_write(1, Fault("commit_then_hang"))
    outcome: list[Any] = []

    def post() -> None:
        try:
            graph.http.post(emu.graph_url + events_url(), json=all_day(), timeout=10)
        except requests.ConnectionError as error:
            outcome.append(type(error))

    worker = threading.Thread(target=post)
    worker.start()
    assert emu.faults.wait_hung(5)
    assert len(emu.events(SENCO)) == 1 and outcome == []
    emu.faults.release()
    worker.join(5)
    assert outcome == [requests.ConnectionError]


def test_msal_holds_back_a_throttled_token_request_for_its_retry_after(emu):
    emu.faults.on_request(2, Fault("status", status=503, retry_after=30))  # 1 is the discovery GET
    app = confidential(emu)
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):  # 5xx raises; 4xx is a dict
        app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    calls = emu.stats.http_calls
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert emu.stats.http_calls == calls  # answered from msal's own throttle cache


def test_msal_returns_a_429_from_the_token_endpoint_as_an_error_dict(emu):
    emu.faults.on_request(2, Fault("status", status=429, retry_after=1))
    result = confidential(emu).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_request" and "AADSTS50196" in result["error_description"]


# --- people editing by hand ------------------------------------------------------------------


def test_hand_edit_and_hand_delete(emu, graph):
    made = graph("POST", events_url(), json=all_day()).json()
    emu.hand_edit(SENCO, made["id"], location={"displayName": "Room 2"})
    got = graph("GET", f"/users/{SENCO}/events/{made['id']}").json()
    assert got["location"]["displayName"] == "Room 2" and got["changeKey"] != made["changeKey"]
    assert emu.events(SENCO)[0]["singleValueExtendedProperties"] == [{"id": PROP, "value": "key-1"}]
    emu.hand_delete(SENCO, made["id"])
    assert (
        emu.events(SENCO) == []
        and graph("GET", f"/users/{SENCO}/events/{made['id']}").status_code == 404
    )
