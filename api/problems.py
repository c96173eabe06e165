"""Every error the API answers, as `application/problem+json` (RFC 9457), mapped in ONE place.

engine error                      HTTP
InputConflict, AlreadyExists      409  (conflicts with what is stored, e.g. a taken name; `field`)
InvalidTemplate / InvalidInput    422  (`problems` / `field` name what was wrong and where;
                                       a template's problems read in the Accept-Language)
request validation                422  (`errors[].field` like "body.title")
NotFound (any kind)               404  (also for objects outside the key's reach)
TransitionNotAllowed              409  (`reasons` and the `allowed` triggers)
NotPermitted                      403  (`reasons`: the caller's role or organisation may not)
ActionNotAllowed                  409  (`reasons`)
ConflictError                     409, or 412 when the request sent If-Match
SchemaTooNew                      503
database cannot serve             503  with Retry-After (refused, restarting, full, read-only)
ApiProblem                        its own status (401, 403, 412, 413, 415, 422...)
anything else                     500  (no internals in the body; logged)

Every problem's `type` is a URI naming its kind (`PROBLEM_TYPES`, listed in the OpenAPI
document's Problem schema and in the README), so a client branches on `type`, not on prose:
`urn:cycle-engine:problem:<kind>`, e.g. `urn:cycle-engine:problem:version-conflict`.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc
from starlette.exceptions import HTTPException

from cycle_engine.api.redaction import redacted_path
from cycle_engine.errors import (
    ActionNotAllowed,
    ConflictError,
    CycleEngineError,
    InputConflict,
    InvalidInput,
    InvalidTemplate,
    NotFound,
    NotPermitted,
    SchemaTooNew,
    TransitionNotAllowed,
)
from cycle_engine.i18n import accepted_language
from cycle_engine.logs import request_id
from cycle_engine.spec.messages import problem_message

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("cycle_engine.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


PROBLEM_TYPE_PREFIX = "urn:cycle-engine:problem:"
#: Every kind of problem the API answers, with what it means (the README lists the same).
PROBLEM_TYPES: dict[str, str] = {
    "bad-request": "the request cannot be read",
    "unauthenticated": "no API key, or an unknown or revoked one",
    "forbidden": "the caller's role may not do this",
    "not-found": "no such resource, or not in the caller's reach",
    "method-not-allowed": "the path does not take this method (see Allow)",
    "not-acceptable": "the Accept header asks for nothing the API sends",
    "conflict": "the request conflicts with what is stored (e.g. a taken name)",
    "transition-refused": "a guard or role blocks the trigger (`reasons`, `allowed`)",
    "action-refused": "the command is not possible in the current state (`reasons`)",
    "version-conflict": "the resource changed since the version the caller names",
    "precondition-failed": "If-Match names an older version of the resource",
    "too-large": "the request body is too large",
    "unsupported-media-type": "the request body is not of a type the route takes",
    "invalid-input": "a field is missing or wrong (`errors[].field` names it)",
    "invalid-template": "a template does not validate (`problems`)",
    "idempotency-key-reused": "the Idempotency-Key was sent before with another request",
    "precondition-required": "the route needs If-Match",
    "too-many-requests": "too many requests; wait (see Retry-After)",
    "internal-error": "the server failed; nothing about it is in the answer",
    "unavailable": "the database cannot serve now; retry after Retry-After",
}
_KIND_OF_STATUS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem_type(kind: str) -> str:
    """The `type` URI of a kind of problem (one of PROBLEM_TYPES)."""
    assert kind in PROBLEM_TYPES, kind
    return PROBLEM_TYPE_PREFIX + kind


class Problem(BaseModel):
    """An error answer; extension members carry the engine's reasons."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default=problem_type("bad-request"),
        description="The kind of problem, as a URI (see the README's list of problem types).",
        json_schema_extra={"enum": [problem_type(k) for k in PROBLEM_TYPES]},
    )
    title: str
    status: int
    detail: str | None = None


class ApiProblem(Exception):
    """An HTTP-level refusal raised by the API itself (auth, preconditions, size...)."""

    def __init__(
        self, status: int, detail: str, *, type_: str | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = type_
        self.extensions = extensions
        self.headers: dict[str, str] = {}


def problem_response(
    status: int,
    detail: str | None,
    headers: dict[str, str] | None = None,
    *,
    problem: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json answer; `problem` (one of PROBLEM_TYPES) defaults to the status's."""
    body: dict[str, Any] = {
        "type": problem_type(problem or _KIND_OF_STATUS.get(status, "bad-request")),
        "title": _TITLES.get(status, "Error"),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    if request_id() is not None:  # the id the X-Request-ID header carries (api.observability)
        body["request_id"] = request_id()
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def engine_problem(request: Request, error: CycleEngineError) -> JSONResponse:
    """The answer for an engine error (see the table in the module docstring)."""
    if isinstance(error, InvalidTemplate):
        language = accepted_language(request.headers.get("accept-language"))
        problems = [
            {"source": p.source, "path": p.path, "message": problem_message(p, language)}
            for p in error.problems
        ]
        return problem_response(
            422,
            f"template is invalid ({len(problems)} problems)",
            {"Content-Language": language, "Vary": "Accept-Language"},
            problem="invalid-template",
            problems=problems,
        )
    if isinstance(error, InvalidInput):
        return problem_response(
            409 if isinstance(error, InputConflict) else 422,
            str(error),
            field=error.field,
            errors=[{"field": error.field, "message": error.message}],
        )
    if isinstance(error, NotFound):
        return problem_response(404, f"{error.kind} {error.ident} not found", kind=error.kind)
    if isinstance(error, TransitionNotAllowed):
        return problem_response(
            409,
            str(error),
            problem="transition-refused",
            trigger=error.trigger,
            state=error.state,
            reasons=list(error.reasons),
            allowed=list(error.allowed),
        )
    if isinstance(error, NotPermitted):
        return problem_response(403, str(error), reasons=[error.reason])
    if isinstance(error, ActionNotAllowed):
        return problem_response(409, str(error), problem="action-refused", reasons=[error.reason])
    if isinstance(error, ConflictError):
        status = 412 if request.headers.get("if-match") else 409
        return problem_response(
            status,
            str(error),
            problem="precondition-failed" if status == 412 else "version-conflict",
            expected_version=error.expected,
            current_version=error.actual,
            headers={"ETag": f'"{error.actual}"'},
        )
    if isinstance(error, SchemaTooNew):
        return problem_response(503, str(error))
    return problem_response(400, str(error))


def documented_methods(request: Request) -> list[str]:
    """The methods the app's OpenAPI document lists for the request's path (what a 405's Allow
    header names); empty for paths it does not describe (the dashboard, email pages)."""
    root = str(request.scope.get("root_path", ""))
    path = request.url.path
    path = path[len(root) :] if root and path.startswith(root) else path
    for template, item in request.app.openapi().get("paths", {}).items():
        if _template_regex(template).fullmatch(path):
            methods = {m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")}
            return sorted(methods | ({"HEAD"} if "GET" in methods else set()))
    return []


@lru_cache(maxsize=256)
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def _validation_message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "this field cannot be set by a client (unknown or read-only)"
    return str(error.get("msg", "invalid value"))


#: How long a client should wait before retrying when the database cannot serve.
RETRY_AFTER_SECONDS = 5
#: Driver messages of a database that is there but cannot serve now (SQLite and PostgreSQL).
_UNAVAILABLE = (
    "disk is full",
    "disk i/o error",
    "no space left",
    "readonly database",
    "read-only transaction",
    "database is locked",
    "not currently accepting connections",
    "the database system is",  # starting up, shutting down, in recovery
    "terminating connection",
    "server closed the connection",
    "connection refused",
    "could not connect",
    "connection failed",
    "connection is closed",
)


def database_unavailable(error: exc.DBAPIError) -> bool:
    """Whether `error` means the database cannot serve now (503), not that the request is wrong:
    a lost or refused connection, a restart in progress, a full disk or a read-only database."""
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    text = str(error.orig if error.orig is not None else error).lower()
    return any(marker in text for marker in _UNAVAILABLE)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def install_problem_handlers(app: FastAPI) -> None:
    """Register the one mapping from errors to problem responses on `app`.

    Every handler but the last answers without re-raising, so the server logs nothing more and
    keeps the connection alive; only a truly unexpected error reaches the server's own log.
    """

    async def on_pool_timeout(request: Request, _error: Exception) -> JSONResponse:
        _log.warning(
            "no database connection free for %s %s", request.method, redacted_path(request.url.path)
        )
        return problem_response(
            503,
            "the server is busy; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_engine_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CycleEngineError)
        return engine_problem(request, error)

    async def on_api_problem(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiProblem)
        return problem_response(
            error.status,
            error.detail,
            headers=error.headers or None,
            problem=error.kind,
            **error.extensions,
        )

    async def on_validation(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"field": _field_name(e.get("loc", ())), "message": _validation_message(e)}
            for e in error.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            422,
            f"invalid input: {fields}",
            errors=errors,
            field=errors[0]["field"] if errors else None,
        )

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        detail = error.detail if isinstance(error.detail, str) else None
        headers = dict(error.headers or {})
        if error.status_code == 405:
            allowed = documented_methods(request)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return problem_response(error.status_code, detail, headers=headers)

    async def on_database(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, exc.DBAPIError)
        if not database_unavailable(error):
            return await on_unexpected(request, error)
        reason = _first_line(error.orig if error.orig is not None else error)
        _log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            redacted_path(request.url.path),
            reason,
        )
        return problem_response(
            503,
            "the database cannot serve this request right now; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        _log.error(
            "unhandled error on %s %s",
            request.method,
            redacted_path(request.url.path),
            exc_info=error,
        )
        return problem_response(500, "the server failed to handle this request")

    app.add_exception_handler(exc.DBAPIError, on_database)  # answered here, never re-raised
    app.add_exception_handler(exc.TimeoutError, on_pool_timeout)
    app.add_exception_handler(CycleEngineError, on_engine_error)
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
