"""The OpenAPI document, completed with every answer an operation can give besides its own.

FastAPI documents what each route returns; the answers that come from elsewhere are added here,
each as `application/problem+json`, so a client (or schemathesis) finds every status it can
meet in the document:

    every operation     413 body too large, 422 invalid input (a NUL in the path or query too),
                        500, 503 (the database cannot serve now; Retry-After)
    under /api/v1       401 no valid key, 403 the key's role may not, 404 not found or out of
                        reach
    with a body         400 the body does not parse; 415 a media type the operation does not
                        take (operations taking a document in several media types)
    changing commands   409 a conflict with the current state (a guard, a duplicate)
    with If-Match       412 the ETag is not the current one
    JSON GETs           an ETag; 304 when If-None-Match names it (`api.conditional`)

Optional parameters are described without FastAPI's `null` (a header or query value is text;
leaving it out is how it is omitted).

A 405 names, in `Allow`, the methods the document lists for the path (`problems`). The
`webhooks` section (OpenAPI 3.1) lists every event a subscription can hear (`webhook_docs`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from cycle_engine.api.problems import PROBLEM_JSON, PROBLEM_TYPES, problem_type
from cycle_engine.api.webhook_docs import webhook_routes

#: Where the REST API lives in the app (the app factory mounts it here).
API_PREFIX = "/api/v1"
_REASONS = {
    "400": "The body does not parse (malformed JSON or form data)",
    "401": "No valid API key",
    "403": "The key's role (or organisation) may not do this",
    "404": "Not found, or outside the key's reach",
    "409": "Conflict with the current state: a guard or rule refuses it now, or the name is taken",
    "412": "If-Match names an older version of the cycle",
    "413": "Request body too large",
    "415": "The body's media type is not one this operation takes",
    "422": "Invalid input (the field is named)",
    "500": "Server error",
    "503": "The database cannot serve now: retry after Retry-After seconds",
}
_CHANGING = frozenset({"post", "put", "patch", "delete"})
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "additionalProperties": True,
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "enum": [problem_type(kind) for kind in PROBLEM_TYPES],
            "description": "The kind of problem: "
            + "; ".join(f"`{problem_type(k)}` {meaning}" for k, meaning in PROBLEM_TYPES.items()),
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`: the document FastAPI builds, with the answers above added (built once)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
            webhooks=webhook_routes(),
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _complete(path, method, operation)
        for item in schema.get("webhooks", {}).values():
            for operation in item.values():
                operation["responses"] = {
                    "2XX": {"description": "Received: the delivery is done (else retried)"}
                }
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    return build


def _without_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is one that may be left out, never one sent as `null` (a header
    or query value is text): drop the `null` FastAPI adds to an optional's schema."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        kept = [option for option in options if option != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        parameter["schema"] = {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    responses = operation.setdefault("responses", {})
    codes = {"413", "422", "500", "503"}
    if path.startswith(API_PREFIX):
        codes |= {"401", "403", "404"}
    if "requestBody" in operation:
        codes.add("400")
        if len(operation["requestBody"].get("content", {})) > 1:  # a raw document: YAML or JSON
            codes.add("415")
    if method in _CHANGING:
        codes.add("409")
    for parameter in operation.get("parameters", []):
        _without_null(parameter)
    parameters = {p.get("name") for p in operation.get("parameters", [])}
    if "If-Match" in parameters:
        codes.add("412")
    if method == "get" and path.startswith(API_PREFIX) and "200" in responses:
        ok = responses["200"]
        if "application/json" in ok.get("content", {}):
            ok.setdefault("headers", {})["ETag"] = {
                "description": "Send it back in If-None-Match to get 304 while unchanged",
                "schema": {"type": "string"},
            }
            responses["304"] = {"description": "Not modified: If-None-Match names the ETag"}
    for code in sorted(codes):
        described = responses.get(code, {}).get("description", _REASONS[code])
        responses[code] = {"description": described, **problem}
    responses["503"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
    }
    for code, response in responses.items():
        if code[0] in "45" and "content" in response:
            response["content"] = problem["content"]
