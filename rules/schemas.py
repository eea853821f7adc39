"""JSON Schemas sencocal publishes: one for pack authors, one for event JSON.

The committed copies (``rules/pack.schema.json``, ``rules/event.schema.json``) are what editors
and API clients use; a test fails when they drift from these functions.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from rules.pack import Pack

SCHEMA_BASE = "https://sencocal.example/schemas/"


class _SourceJson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str | None


class _WordingJson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    description: str


class EventJson(BaseModel):
    """One event as ``sencocal preview --format json`` and the API print it."""

    model_config = ConfigDict(extra="forbid", title="sencocal event")

    uid: str = Field(
        description="Identity: <school-id>/<pack>/<rule>/<year>[/<occurrence>][/prep:<id>]"
        "[/pupil:<ref>]. Never contains a date; the ICS UID is a UUIDv5 derived from it.",
        pattern=r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9._-]*/\d{4}(/.*)?$",
    )
    title: str
    description: str
    kind: Literal["deadline", "task", "meeting", "window", "event"]
    start: str = Field(description="YYYY-MM-DD (all-day) or ISO 8601 with offset (timed).")
    end: str = Field(description="Exclusive end, like ICS DTEND; same form as start.")
    all_day: bool
    audience: list[Literal["senco", "slt", "governors", "ta", "staff"]] = Field(min_length=1)
    categories: list[str]
    involves: list[str]
    pupil_level: bool
    statutory: bool = Field(description="A statute or regulation requires it (basis statutory).")
    basis: Literal[
        "statutory",
        "statutory_guidance",
        "good_practice",
        "jcq",
        "sta",
        "la_practice",
        "information",
    ] = Field(description="What the date rests on: the law, guidance, a body's rules, practice.")
    status: Literal["confirmed", "computed", "unconfirmed"] = Field(
        description="confirmed: the date is certain; computed: from a confirmed rule but not yet "
        "published (shown as expected); unconfirmed: a 'find this year's date' task."
    )
    why: str = Field(description="How the date was worked out.")
    source: _SourceJson | None
    effort_hours: float | None
    alarms: list[int] = Field(description="Reminders, in days before the start.")
    optional: bool
    wording: dict[Literal["slt", "governors", "ta", "staff"], _WordingJson] = Field(
        description="What each other audience reads instead of title and description."
    )
    pack: str
    rule: str
    year: int = Field(description="Academic year of the anchor: 2026 means 2026/27.")
    occurrence: str | None
    prep: str | None
    pupil: str | None = Field(description="Pseudonymised pupil reference of a per-pupil event.")
    anchor: str = Field(description="Date of the rule occurrence this event belongs to.")
    content_hash: str = Field(description="Changes exactly when what a user sees changes.")


def pack_schema() -> dict[str, Any]:
    """The JSON Schema for a rule pack file."""
    schema = Pack.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_BASE + "pack.schema.json"
    schema["title"] = "sencocal rule pack"
    return schema


def event_list_schema() -> dict[str, Any]:
    """The JSON Schema for a list of events."""
    schema = TypeAdapter(list[EventJson]).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_BASE + "event.schema.json"
    schema["title"] = "sencocal events"
    return schema


def dumps(schema: dict[str, Any]) -> str:
    """Stable text for a committed schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
