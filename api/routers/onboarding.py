"""Bulk onboarding: `POST /alliances/{id}/import` with a CSV (`text/csv`) or JSON partner list
(`engine.alliances.onboarding`). The whole file is checked first; any problem answers 422 with
one entry per row and column (`errors[].row`, `errors[].column`) and writes nothing. `dry_run`
checks without writing. Importing the same file again changes nothing; an Idempotency-Key
replays the first answer. Coordinators of the alliance and admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cycle_engine.alliances.onboarding_files import (
    ORGANISATION_FIELDS,
    PERSON_FIELDS,
    ImportRejected,
)
from cycle_engine.api.access import COORDINATOR
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.routers.alliance_reach import require_alliance_role

router = APIRouter(prefix="/alliances", tags=["alliances"])
MEDIA_TYPES = ("text/csv", "application/json")


def _record(fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: {"type": "string", "maxLength": 300} for name in fields},
    }


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The partner list: a CSV sheet (a `record` column saying organisation or "
        "person, then the fields) or a JSON document with the same fields.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "organisations": {"type": "array", "items": _record(ORGANISATION_FIELDS)},
                        "people": {"type": "array", "items": _record(PERSON_FIELDS)},
                    },
                }
            },
        },
    }
}


class ImportPublic(BaseModel):
    dry_run: bool
    organisations_created: int
    organisations_seated: int
    links_set: int
    people_created: int
    roles_granted: int
    unchanged: int
    organisation_ids: dict[str, int] = Field(description="Organisation name -> id.")
    person_ids: dict[str, int] = Field(description="Email -> person id.")


async def _import_file(request: Request) -> tuple[bytes, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise ApiProblem(
            415, f"send the list as text/csv or application/json, not {media or 'nothing'}"
        )
    return await request.body(), media


ImportFile = Annotated[tuple[bytes, str], Depends(_import_file)]


@router.post(
    "/{alliance_id}/import",
    summary="Import organisations, agency links and people (CSV or JSON), all or nothing",
    status_code=201,
    response_model=ImportPublic,
    openapi_extra=_BODY_DOC,
)
def import_partners(
    alliance_id: IdPath,
    upload: ImportFile,
    engine: EngineDep,
    key: CurrentKey,
    dry_run: Annotated[bool, Query(description="Check only; write nothing.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_alliance_role(engine, key, alliance_id, COORDINATOR)
    content, media = upload

    def command() -> ImportPublic:
        try:
            result = engine.alliances.onboarding.import_file(
                alliance_id,
                content,
                media,
                actor=key.actor(alliance_id),
                reach=key.reach,
                dry_run=dry_run,
            )
        except ImportRejected as rejected:
            raise ApiProblem(
                422,
                str(rejected),
                type_="invalid-input",
                field="body",
                errors=[
                    {
                        "field": f"row {e.row}: {e.column}",
                        "row": e.row,
                        "column": e.column,
                        "message": e.message,
                    }
                    for e in rejected.errors
                ],
            ) from None
        return ImportPublic(dry_run=dry_run, **vars(result))

    request_print = f"{media}\n{dry_run}\n".encode() + content
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/alliances/{alliance_id}/import", request_print),
        201,
        command,
    )
