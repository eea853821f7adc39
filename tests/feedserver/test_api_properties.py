"""Property: no request the API can be sent answers 5xx (hypothesis drives every endpoint).

Every route in the route table is called with generated path values, query strings and bodies:
JSON that is a valid profile with some fields (or nested fields) replaced by arbitrary JSON, or
arbitrary JSON outright (huge and non-finite numbers, deep nesting, control characters, lone
surrogates); CSV built from the template's grammar with arbitrary cells; YAML that is the demo
pack with lines replaced. On SQLite and on PostgreSQL (which refuses NUL and lone surrogates,
and enforces column lengths, where SQLite stores anything).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedserver import catalog
from feedserver.web.apiroutes import ENDPOINTS
from tests.feedserver.conftest import Server

PROFILE = catalog.demo_school("demo-primary").model_dump(mode="json")
PACK_LINES = catalog.demo_file("la-example").decode().splitlines()

text = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=40) | st.sampled_from(
    ["", "\x00", "a\nb", "\ud800", "senco", "slt", "2026", "0", "-1", "9" * 5000, "..", "%00"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
    | st.dates().map(str)
    | st.sampled_from(["2026-09-01", "0000-01-01", "2026-02-30", "2101-09-01", "01/09/2026"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else ``bad``: most requests should get past the first check."""
    return st.integers(0, 9).flatmap(lambda n: bad if n == 0 else good)


@st.composite
def profiles(draw: Any) -> dict[str, Any]:
    """A valid profile with some fields, or some nested fields, replaced by arbitrary JSON."""
    body = json.loads(json.dumps(PROFILE))
    for field in draw(st.lists(st.sampled_from(sorted(PROFILE)), max_size=2, unique=True)):
        body[field] = draw(json_values)
    if draw(st.booleans()):  # one text field given odd text, everything else valid
        body[draw(st.sampled_from(["name", "urn", "trust", "id", "la_code"]))] = draw(text)
    if draw(st.booleans()):
        body["id"] = draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
    if draw(st.booleans()):
        body["local_events"] = [
            {"id": draw(text), "title": draw(text), "start": draw(scalars), "end": draw(scalars),
             "kind": draw(text), "audience": draw(json_values), "description": draw(text)}
        ]  # fmt: skip
    if draw(st.booleans()):
        year = draw(st.sampled_from(["0", "2026", "99999", "-5", "x"]))
        body[draw(st.sampled_from(["date_overrides", "publishes"]))] = {
            draw(text): {year: draw(scalars)}
        }
        body["term_dates"] = {year: draw(json_values)}
    return body


json_bodies = mostly(
    profiles()
    | st.fixed_dictionaries(
        {
            "audience": st.sampled_from(["senco", "slt", "ta"]),
            "token_name": text,
            "name": text,
            "label": text,
            "school_id": st.just("demo-primary"),
        }
    ),  # fmt: skip
    st.dictionaries(text, json_values, max_size=6) | json_values,
)


@st.composite
def csv_bodies(draw: Any) -> str:
    good = st.sampled_from(["2026", "2027", "inset", "closure", "autumn1", "2026-09-01",
                            "2027-01-04", "01/09/2026", "x" * 2000])  # fmt: skip
    cell = mostly(good, text)
    rows = ["academic_year,label,start,end"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 6))):
        rows.append(",".join(draw(st.lists(cell, min_size=0, max_size=5))))
    return "\n".join(rows)


@st.composite
def yaml_bodies(draw: Any) -> str:
    lines = list(PACK_LINES)
    for _ in range(draw(st.integers(0, 4))):
        if lines:
            lines[draw(st.integers(0, len(lines) - 1))] = draw(text)
    if draw(st.booleans()):
        lines.append("  - " * draw(st.integers(0, 60)) + draw(text))
    return "\n".join(lines)


PATH_VALUES = {
    "school_id": mostly(st.sampled_from(["demo-primary", "demo-secondary"]), text),
    "audience": mostly(st.sampled_from(["senco", "slt", "staff"]), text),
    "name": mostly(st.sampled_from(["default", "office"]), text),
}


def fill(path: str, draw: Any) -> str:
    def value(match: re.Match[str]) -> str:
        strategy = PATH_VALUES.get(
            match.group(1),
            mostly(st.integers(1, 5).map(str), st.integers(-5, 10**20).map(str) | text),
        )
        return quote(str(draw(strategy)).encode("utf-8", "surrogatepass"), safe="") or "x"

    return re.sub(r"<(?:\w+:)?(\w+)>", value, path)


def run_examples(server: Server, data: Any) -> None:
    endpoints = [e for e in ENDPOINTS if e.name not in {"revoke_key", "delete_school"}]
    ep = data.draw(
        mostly(st.sampled_from([e for e in endpoints if e.body]), st.sampled_from(endpoints))
    )
    path = fill(ep.path, data.draw)
    query_value = mostly(
        st.sampled_from(["2026", "2027", "senco", "slt", "demo-primary", "3"]), text
    )
    query = data.draw(st.dictionaries(st.sampled_from(["year", "audience", "school", "before",
                                                        "filename"]), query_value, max_size=3))  # fmt: skip
    if query:  # percent-encoded by hand: a lone surrogate has no UTF-8 of its own
        path += "?" + "&".join(
            f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in query.items()
        )
    headers = server.headers()
    kwargs: dict[str, Any] = {"headers": headers}
    if ep.body == "json":
        raw = json.dumps(data.draw(json_bodies), allow_nan=True)
        kwargs["data"] = raw
        headers["Content-Type"] = "application/json"
    elif ep.body == "csv":
        kwargs["data"] = data.draw(csv_bodies()).encode("utf-8", "surrogatepass")
        headers["Content-Type"] = "text/csv"
    elif ep.body == "yaml":
        kwargs["data"] = data.draw(yaml_bodies()).encode("utf-8", "surrogatepass")
        headers["Content-Type"] = "application/yaml"
    answer = server.client.open(path, method=ep.method, **kwargs)
    assert answer.status_code < 500, (ep.method, path, kwargs.get("data"), answer.data[:500])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],  # fmt: skip
)
@given(data=st.data())
def test_no_request_to_any_endpoint_answers_5xx_on_sqlite(demo_server: Server, data: Any):
    run_examples(demo_server, data)


@pytest.fixture
def demo_postgres(postgres_url: str, tmp_path: Any):
    import contextlib

    from tests.feedserver.conftest import _server

    with contextlib.contextmanager(_server)(postgres_url, tmp_path) as server:
        la = catalog.demo_file("la-example").decode("utf-8")
        assert server.publish(la, "la-example.yaml").status_code == 201
        for name in ("demo-primary", "demo-secondary"):
            assert server.add_demo_school(name).status_code == 201
        yield server


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],  # fmt: skip
)
@given(data=st.data())
def test_no_request_to_any_endpoint_answers_5xx_on_postgresql(demo_postgres: Server, data: Any):
    run_examples(demo_postgres, data)
