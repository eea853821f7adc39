"""The committed JSON Schemas are current, and what we print conforms to them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

import rules
from rules.schemas import dumps, event_list_schema, pack_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_pack_schema_is_current():
    assert (ROOT / "rules" / "pack.schema.json").read_text(encoding="utf-8") == dumps(pack_schema())


def test_committed_event_schema_is_current():
    assert (ROOT / "rules" / "event.schema.json").read_text(encoding="utf-8") == dumps(
        event_list_schema()
    )


def test_every_bundled_pack_validates_against_the_pack_schema():
    schema = pack_schema()
    for path in [
        *(ROOT / "rules" / "packs").glob("*.yaml"),
        *(ROOT / "feedserver" / "demo").glob("la-*.yaml"),
    ]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = json.loads(json.dumps(data, default=str))  # dates as strings, like an editor sees
        for value in data.get("term_dates", {}).values():
            assert value
        jsonschema.validate(_stringify_keys(data), schema)


def test_the_pack_schema_rejects_an_unknown_key():
    schema = pack_schema()
    bad = {"pack": "x", "title": "X", "publisher": {"kind": "la"}, "version": "1", "rulez": []}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert errors and "rulez" in errors[0].message


def test_event_json_conforms_to_the_committed_event_schema(
    builtin_packs, la_example, demo_primary, demo_secondary
):
    schema = json.loads((ROOT / "rules" / "event.schema.json").read_text(encoding="utf-8"))
    for school in (demo_primary, demo_secondary):
        events = rules.evaluate([*builtin_packs, la_example], school, 2026)
        jsonschema.validate([e.to_json() for e in events], schema)


def _stringify_keys(value):
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value
