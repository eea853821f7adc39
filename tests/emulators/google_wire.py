"""Google's wire format: error bodies, RFC 3339 times, and the multipart batch envelope."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import secrets
import zoneinfo
from dataclasses import dataclass
from http import HTTPStatus

from tests.emulators.faults import Fault
from tests.emulators.server import Request, Response

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
FAULT_REASONS = {429: "rateLimitExceeded", 403: "rateLimitExceeded"}
REASON_MESSAGES = {
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "quotaExceeded": ("usageLimits", "Calendar usage limits exceeded."),
    "backendError": ("global", "Backend Error"),
}


class ApiError(Exception):
    """An error answer in Google's JSON shape: raise it anywhere inside an API handler."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = headers or []

    def response(self) -> Response:
        """The error as Google answers it."""
        item: dict[str, str] = {
            "domain": self.domain,
            "reason": self.reason,
            "message": self.message,
        }
        if self.location:
            item["location"] = self.location
            item["locationType"] = self.location_type or "parameter"
        body = {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [item],
                "status": STATUS_NAMES.get(self.code, HTTPStatus(self.code).phrase.upper()),
            }
        }
        return Response.json(self.code, body, list(self.headers))


def fault_error(fault: Fault) -> ApiError:
    """The error a ``status`` fault answers with (Retry-After when the fault has one)."""
    reason = fault.reason or FAULT_REASONS.get(fault.status, "backendError")
    domain, message = REASON_MESSAGES.get(reason, ("global", HTTPStatus(fault.status).phrase))
    headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
    return ApiError(fault.status, reason, message, domain=domain, headers=headers)


def bad_request(message: str, reason: str = "invalid") -> ApiError:
    """A 400 with Google's ``invalid`` (or the given) reason."""
    return ApiError(400, reason, message)


def not_found() -> ApiError:
    """Google's 404."""
    return ApiError(404, "notFound", "Not Found")


# --- times -----------------------------------------------------------------------------------


def rfc3339(moment: dt.datetime) -> str:
    """A UTC timestamp as Google writes ``created``/``updated``: millisecond precision, ``Z``."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_datetime(value: object, field_name: str, zone: str | None = None) -> dt.datetime:
    """An RFC 3339 date-time; without an offset it needs ``zone`` (an IANA name)."""
    if not isinstance(value, str):
        raise bad_request(f"Invalid value for: {field_name}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid value for: {field_name}") from None
    if moment.tzinfo is None:
        if not zone:
            raise bad_request(f"Missing time zone definition for {field_name}.", "required")
        moment = moment.replace(tzinfo=zone_info(zone, field_name))
    return moment


def parse_date(value: object, field_name: str) -> dt.date:
    """A ``yyyy-mm-dd`` date."""
    if not isinstance(value, str) or len(value) != 10:
        raise bad_request(f"Invalid value for: {field_name}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid value for: {field_name}") from None


def zone_info(name: str, field_name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone, or Google's 400."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Invalid time zone definition for {field_name}.") from None


# --- batch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One request inside a batch, with the Content-ID it came with (without brackets)."""

    content_id: str
    request: Request


def parse_batch(content_type: str, body: bytes) -> list[Part]:
    """Split a ``multipart/mixed`` batch body into its ``application/http`` requests.

    Raises:
        ApiError: 400 when the body is not a multipart batch or a part is not an HTTP request.
    """
    if not content_type.lower().startswith("multipart/mixed"):
        raise bad_request("Batch requests must be multipart/mixed.")
    envelope = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(envelope)
    if not message.is_multipart():
        raise bad_request("Batch requests must be multipart/mixed.")
    parts: list[Part] = []
    for index, sub in enumerate(message.get_payload(), start=1):
        content_id = (sub.get("Content-ID") or "").strip()
        if content_id.startswith("<") and content_id.endswith(">"):
            content_id = content_id[1:-1]
        payload = sub.get_payload(decode=False)
        if isinstance(payload, list):
            raise bad_request("A batch part must be one application/http request.")
        parts.append(Part(content_id or f"item{index}", _parse_http(payload)))
    return parts


def _parse_http(text: str) -> Request:
    line, _, rest = text.lstrip("\r\n").partition("\n")
    fields = line.strip().split(" ")
    if len(fields) < 2:
        raise bad_request("A batch part must start with an HTTP request line.")
    head = email.parser.Parser(policy=email.policy.compat32).parsestr(rest)
    body = head.get_payload()
    body_bytes = body.encode("utf-8") if isinstance(body, str) else b""
    headers = {key: value for key, value in head.items()}
    return Request.parse(fields[0], fields[1], headers, body_bytes.strip(b"\r\n"), in_batch=True)


def batch_response(answers: list[tuple[str, Response]]) -> Response:
    """One ``multipart/mixed`` answer holding each part's answer with ``Content-ID: <response-ID>``."""
    boundary = "batch_" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for content_id, answer in answers:
        phrase = HTTPStatus(answer.status).phrase
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: <response-{content_id}>",
            "",
            f"HTTP/1.1 {answer.status} {phrase}",
        ]
        lines += [f"{key}: {value}" for key, value in answer.headers]
        lines += [f"Content-Length: {len(answer.body)}", "", ""]
        chunks.append("\r\n".join(lines).encode("utf-8") + answer.body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(
        200, b"".join(chunks), [("Content-Type", f"multipart/mixed; boundary={boundary}")]
    )


# --- partial responses (the ``fields`` parameter) ---------------------------------------------

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(text: str) -> FieldTree:
    """Google's ``fields`` selector: ``a,b/c,items(id,start/date)`` as a tree (None: all of it).

    Raises:
        ApiError: 400 ``invalidParameter`` for unbalanced or empty selections.
    """
    tree, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")) or not tree:
        raise ApiError(
            400, "invalidParameter", "Invalid field selection " + text, location="fields"
        )
    return tree


def _parse_list(text: str, at: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while at < len(text) and text[at] != ")":
        name_end = at
        while name_end < len(text) and text[name_end] not in ",()":
            name_end += 1
        path = text[at:name_end].split("/")
        if not all(path):
            raise ApiError(
                400, "invalidParameter", "Invalid field selection " + text, location="fields"
            )
        sub: FieldTree | None = None
        at = name_end
        if at < len(text) and text[at] == "(":
            sub, at = _parse_list(text, at + 1)
            if at >= len(text) or text[at] != ")":
                raise ApiError(
                    400, "invalidParameter", "Invalid field selection " + text, location="fields"
                )
            at += 1
        node = tree
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = sub
        if at < len(text) and text[at] == ",":
            at += 1
    return tree, at


def select_fields(value: object, tree: FieldTree | None) -> object:
    """Keep only the selected fields of a JSON value (arrays: of each element)."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select_fields(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: select_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value
