"""The API's machinery: its blueprint, the route table, authorisation and the error answers.

Every route is declared once with :func:`route`, which also puts it in :data:`ENDPOINTS`: the
OpenAPI document and the tests that walk every route with the wrong key read that table. A
school's key reaches only its own school (other schools answer 404, exactly as a school that
does not exist). Each request runs in one transaction, committed only when everything
succeeded, so a rejected request stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

import rules
from feedserver.storage import apikeys
from feedserver.storage.db import Conflict
from feedserver.storage.models import LocalAuthority, School
from feedserver.storage.principals import Principal
from feedserver.web import limits
from feedserver.web.apidoc import Endpoint
from feedserver.web.context import services

bp = Blueprint("api", __name__, url_prefix="/api")


ENDPOINTS: list[Endpoint] = []


class ApiError(Exception):
    """An error answer: status, message and optional problems."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems or []


def route(
    method: str, path: str, summary: str, access: str, body: str | None = None
) -> Callable[..., Any]:
    """Register a handler on the blueprint and in :data:`ENDPOINTS`."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        ENDPOINTS.append(Endpoint(method, "/api" + path, summary, access, body, handler.__name__))

        def view(**kwargs: Any) -> Any:
            try:
                with _transaction() as session:
                    principal = _authorise(
                        session, access, kwargs.get("school_id"), kwargs.get("la_code")
                    )
                    answer = handler(session, principal, **kwargs)
                if isinstance(answer, Later):  # built after the commit and in-process jobs
                    with _transaction() as session:
                        return answer.build(session)
                return answer
            except ApiError as exc:
                payload: dict[str, Any] = {"error": exc.message}
                if exc.problems:
                    payload["problems"] = exc.problems
                return jsonify(payload), exc.status
            except rules.PackRejected as exc:
                return jsonify(
                    error="The request was not accepted; nothing was saved.",
                    problems=[_problem(p) for p in exc.problems],
                ), 422
            except Conflict as exc:
                return jsonify(error=str(exc)), 409
            except rules.SencocalInputError as exc:
                return jsonify(error=str(exc)), 422

        view.__name__ = handler.__name__
        bp.add_url_rule(path, handler.__name__, view, methods=[method])
        return handler

    return register


@dataclass(frozen=True)
class Later:
    """An answer built once the change is committed and its in-process jobs have run.

    With rq the jobs are only queued by then, and the answer says what is still pending.
    """

    build: Callable[[Session], Any]


@contextmanager
def _transaction() -> Iterator[Session]:
    with services().db.session() as session:
        yield session


def _authorise(
    session: Session, access: str, school_id: str | None, la_code: str | None = None
) -> Principal | None:
    if access == "public":
        return None
    limits.check(limits.API_KEY)  # over the limit: not even a right key is looked at
    principal = apikeys.principal_for(
        session, request.headers.get("Authorization"), services().clock.now()
    )
    if principal is None:
        limits.failed(limits.API_KEY)
        raise ApiError(401, "Send a valid API key as 'Authorization: Bearer <key>'.")
    if access == "admin" and principal.role != "admin":
        raise ApiError(403, "Only the instance admin may do this.")
    if access == "school":
        if (
            school_id is None
            or not principal.may_use(school_id)
            or session.get(School, school_id) is None
        ):
            raise ApiError(404, "Not found.")
    if access == "la":
        # Another LA's resources answer exactly like missing ones.
        if (
            la_code is None
            or not principal.may_publish_for(la_code)
            or session.get(LocalAuthority, la_code) is None
        ):
            raise ApiError(404, "Not found.")
    return principal


def _problem(problem: rules.PackError) -> dict[str, Any]:
    out: dict[str, Any] = {"field": problem.field or "", "message": problem.message}
    if problem.line is not None:
        out["line"] = problem.line
    if problem.rule_id:
        out["rule"] = problem.rule_id
    if problem.value is not None:
        out["value"] = str(problem.value)
    return out


MAX_DEPTH = 32  # no body this API takes nests deeper than a handful of levels


def read_body() -> bytes:
    """The request body, at most ``MAX_CONTENT_LENGTH`` bytes (413 beyond).

    A body sent in chunks has no Content-Length; Werkzeug cuts it at the limit and returns
    what it read, which would otherwise be parsed as if it were the whole body.
    """
    data = request.get_data(cache=False)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _too_deep(data: Any) -> bool:
    level = [data]
    for _ in range(MAX_DEPTH):
        level = [v for item in level if isinstance(item, (dict, list))
                 for v in (item.values() if isinstance(item, dict) else item)]  # fmt: skip
        if not level:
            return False
    return True


def json_body() -> dict[str, Any]:
    """The request's JSON object (415 without the JSON type, 400 when it is not an object)."""
    if not request.is_json:
        raise ApiError(415, "Send JSON with 'Content-Type: application/json'.")
    raw = read_body()
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = (
            f" at line {exc.lineno}, column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise ApiError(
            400, f"The body is not valid JSON{where}; check quotes and commas."
        ) from None
    except RecursionError:
        raise ApiError(
            400, f"The body is nested too deeply (at most {MAX_DEPTH} levels)."
        ) from None
    except ValueError:  # a number of more than 4,300 digits
        raise ApiError(400, "The body has a number that is too long; no field takes one.") from None
    if _too_deep(data):
        raise ApiError(400, f"The body is nested too deeply (at most {MAX_DEPTH} levels).")
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object ({...}).")
    return data
