"""The OpenAPI 3.1 document, built from the API's own route table so it cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rules
from rules.schemas import EventJson


@dataclass(frozen=True)
class Endpoint:
    """One API route: method, path, who may call it, what it takes."""

    method: str
    path: str
    summary: str
    access: str  # "public" | "admin" | "school" (the school itself or the admin) | "la" (the LA)
    body: str | None = None  # "json" | "csv" | "yaml"
    name: str = ""


ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in words."},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "line": {"type": "integer"},
                    "rule": {"type": "string"},
                    "value": {"type": "string"},
                },
            },
        },
    },
}


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    """The OpenAPI document for ``endpoints``."""
    profile_schema = rules.SchoolProfile.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    event_schema = EventJson.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {"Error": ERROR}
    for schema in (profile_schema, event_schema):
        schemas.update(schema.pop("$defs", {}))
    schemas["SchoolProfile"] = profile_schema
    schemas["Event"] = event_schema
    paths: dict[str, Any] = {}
    for ep in endpoints:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.path)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", path)
        ]
        operation: dict[str, Any] = {
            "operationId": ep.name,
            "summary": ep.summary,
            "parameters": params,
            "responses": {
                "200": {"description": "Done."},
                "400": {"description": "Malformed request.", "content": _json("Error")},
                "401": {"description": "No valid API key.", "content": _json("Error")},
                "404": {"description": "Not found (or not yours).", "content": _json("Error")},
                "422": {
                    "description": "Not accepted; nothing was saved.",
                    "content": _json("Error"),
                },
            },
        }
        if ep.access != "public":
            operation["security"] = [{"bearer": []}]
        if ep.body == "json":
            ref = "SchoolProfile" if ep.name in {"create_school", "put_school"} else None
            schema = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        elif ep.body == "csv":
            operation["requestBody"] = {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        elif ep.body == "yaml":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/yaml": {"schema": {"type": "string"}}},
            }
        if ep.name in {"preview", "stored_events"}:
            operation["responses"]["200"]["content"] = {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "events": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Event"},
                            }
                        },
                    }
                }
            }
        paths.setdefault(path, {})[ep.method.lower()] = operation
    paths["/feeds/{token}.ics"] = {
        "get": {
            "operationId": "feed",
            "summary": "A subscribable ICS feed (the token is the secret).",
            "parameters": [
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "The feed.",
                    "content": {"text/calendar": {"schema": {"type": "string"}}},
                },
                "304": {"description": "Not modified (If-None-Match / If-Modified-Since)."},
                "404": {"description": "Unknown or revoked token (indistinguishable)."},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sencocal",
            "version": "1",
            "description": "Calendars for school SEND teams.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
