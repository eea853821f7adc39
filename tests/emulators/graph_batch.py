"""Graph's JSON ``$batch``: at most 20 requests, ``dependsOn``, one answer per request."""

from __future__ import annotations

import json
from typing import Any

from tests.emulators.graph_store import GraphError
from tests.emulators.server import Request, Response, Stats

MAX_BATCH = 20


class GraphBatch:
    """Runs a ``$batch`` through the emulator's own request handling (a mixin)."""

    stats: Stats

    def classify(self, req: Request) -> str:
        raise NotImplementedError

    def _api(self, req: Request) -> Response:
        raise NotImplementedError

    # --- $batch ----------------------------------------------------------------------------

    def _batch(self, outer: Request) -> Response:
        try:
            items = _batch_items(outer)
        except GraphError as error:
            return error.response()
        answers: list[dict[str, Any]] = []
        statuses: dict[str, int] = {}
        for item in items:
            item_id = str(item["id"])
            failed = [d for d in item.get("dependsOn", []) if statuses.get(str(d), 200) >= 400]
            if failed:
                answer = GraphError(
                    424,
                    "FailedDependency",
                    "The request failed because it depends on a request that failed.",
                ).response()
            else:
                answer = self._part(outer, item)
            statuses[item_id] = answer.status
            entry: dict[str, Any] = {
                "id": item_id,
                "status": answer.status,
                "headers": {k: v for k, v in answer.headers},
            }
            if answer.body:
                entry["body"] = json.loads(answer.body)
            answers.append(entry)
        return Response.json(200, {"responses": answers})

    def _part(self, outer: Request, item: dict[str, Any]) -> Response:
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        body = item.get("body")
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            return GraphError(
                400, "BadRequest", "Content-Type header must be specified for requests with a body."
            ).response()
        for name in ("authorization", "prefer"):
            if outer.header(name) and not any(k.lower() == name for k in headers):
                headers[name] = outer.headers[name]
        url = str(item["url"])
        target = url if url.startswith("/") else "/" + url
        raw = json.dumps(body).encode() if body is not None else b""
        sub = Request.parse(str(item["method"]), "/v1.0" + target, headers, raw, in_batch=True)
        kind = self.classify(sub)
        self.stats.part(kind)
        if kind in {"batch", "token", "other"}:
            return GraphError(400, "BadRequest", "Invalid request URL in batch.").response()
        return self._api(sub)


def _batch_items(outer: Request) -> list[dict[str, Any]]:
    try:
        payload = outer.json()
    except ValueError:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.") from None
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(items) > MAX_BATCH:
        raise GraphError(
            400,
            "BadRequest",
            f"The number of requests in the batch exceeds the maximum of {MAX_BATCH}.",
        )
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not {"id", "method", "url"} <= set(item):
            raise GraphError(
                400,
                "BadRequest",
                "Invalid batch payload format: each request needs id, method and url.",
            )
        if str(item["id"]) in seen:
            raise GraphError(
                400, "BadRequest", f"Batch request ids must be unique: '{item['id']}'."
            )
        for dep in item.get("dependsOn", []):
            if str(dep) not in seen:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Request '{item['id']}' depends on '{dep}', which is not an earlier request in the batch.",
                )
        seen.add(str(item["id"]))
    return items
