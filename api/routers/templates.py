"""Templates: upload (YAML or JSON), validate without publishing, publish, versions, diagram,
copy into an alliance, retire, and the difference between two versions in words.

Built-in templates are shared by every alliance and only an admin key publishes them; every
other template belongs to one alliance (`alliance_id`), which only that alliance's coordinators
publish into, copy into or retire from. Keys read the built-in templates and those of the
alliances they reach; another alliance's template is not found (404). A template body is sent
raw: `application/yaml` (or text/yaml, text/plain) or `application/json` (an object, stored as
the equivalent YAML). The body is read by an async dependency; the handlers are plain `def`.
Migration plans (`template_migrations`) live under `/templates/{key}/migrations`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import StringConstraints

from cycle_engine.api.access import Access, require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, PageDep
from cycle_engine.api.fields import KEY_PATTERN
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.routers import template_migrations
from cycle_engine.api.schemas import DiagramPublic, Page, TemplateValidation, page_of
from cycle_engine.api.schemas_templates import (
    OwnedTemplatePublic,
    PublishedVersion,
    TemplateCopy,
    TemplateDiffPublic,
    TemplateVersionDetail,
)
from cycle_engine.spec import diagram_dot, diagram_mermaid
from cycle_engine.spec.validate import SNAKE_NAME

router = APIRouter(prefix="/templates", tags=["templates"])
TemplateKey = Annotated[str, Path(min_length=1, max_length=100, pattern=KEY_PATTERN)]
#: One renamed stage in a diff's `map`: `old:new`.
RenamedStage = Annotated[
    str, StringConstraints(max_length=201, pattern=r"^[a-z0-9_]{1,100}:[a-z0-9_]{1,100}$")
]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
AllianceQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**31 - 1,
        description="The alliance whose template is meant (built-in ones are everyone's).",
    ),
]
SourceName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[\w.-]+$",
        description="File name kept with the version.",
    ),
]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The template document, as YAML or as a JSON object.",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    "parameters": [
        {
            "name": "Accept-Language",
            "in": "header",
            "required": False,
            "description": (
                "The language of the problems' `message` when the template is invalid (422):"
                " en, es or fr, as in `Accept-Language: fr, es;q=0.8`; English by default."
                " Paths, sources and the problem document's structure are the same in every"
                " language."
            ),
            "schema": {"type": "string", "maxLength": 200},
        }
    ],
}


async def _template_text(request: Request) -> str:
    """The uploaded template as YAML text; 415 for other media types, 422 for undecodable."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(422, "the template is not valid UTF-8", field="body") from None
    if media == "application/json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ApiProblem(
                422,
                f"the JSON body does not parse: {error.msg} "
                f"(line {error.lineno}, column {error.colno})",
                field="body",
            ) from None
        if not isinstance(document, dict):
            raise ApiProblem(422, "a JSON template must be an object", field="body")
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if media in YAML_TYPES:
        return text
    raise ApiProblem(
        415,
        f"send the template as application/yaml or application/json, "
        f"not {media or 'no content type'}",
    )


TemplateText = Annotated[str, Depends(_template_text)]


def own_alliance(key: Access, alliance_id: int | None) -> int | None:
    """The alliance a change is meant for: the one named, else the one alliance the key
    coordinates; None (built-in) for an admin key. 403 for a key that coordinates none, 422 for
    one that coordinates several and named none."""
    if alliance_id is not None or key.is_admin:
        return alliance_id
    coordinated = sorted(a for a, role in key.alliance_roles.items() if role == "coordinator")
    if len(coordinated) == 1:
        return coordinated[0]
    require_role(key, "coordinator")
    raise ApiProblem(
        422, "you coordinate several alliances: name one with alliance_id", field="alliance_id"
    )


@router.get("", summary="List template versions")
def list_templates(
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    template_key: Annotated[
        str | None,
        Query(alias="key", max_length=100, pattern=KEY_PATTERN, description="Only this key."),
    ] = None,
    alliance_id: AllianceQuery = None,
) -> Page[OwnedTemplatePublic]:
    """The built-in templates and those of the alliances the key reaches."""
    records = engine.templates.list(template_key, alliance_id=alliance_id, reach=key.reach)
    window = records[page.offset : page.offset + page.limit + 1]
    return page_of([OwnedTemplatePublic.of(r) for r in window], page.limit, page.offset)


@router.post("/validate", summary="Validate a template without publishing", openapi_extra=_BODY_DOC)
def validate_template(
    text: TemplateText,
    engine: EngineDep,
    _key: CurrentKey,
    source_name: SourceName = "upload.yaml",
) -> TemplateValidation:
    """Check a template; 422 lists every problem with its path inside the document, each
    `message` in the language the `Accept-Language` header prefers (en, es, fr; English when
    none fits), with a did-you-mean where a name is close to a known one."""
    spec = engine.templates.validate(text, source_name)
    return TemplateValidation(
        valid=True,
        key=spec.key,
        title=spec.title,
        stages=len(spec.stages),
        transitions=len(spec.transitions),
        content_hash=spec.content_hash,
    )


@router.post(
    "",
    summary="Publish a template version",
    status_code=201,
    openapi_extra=_BODY_DOC,
    responses={200: {"model": PublishedVersion, "description": "Unchanged content"}},
)
def publish_template(
    text: TemplateText,
    engine: EngineDep,
    key: CurrentKey,
    source_name: SourceName = "upload.yaml",
    alliance_id: AllianceQuery = None,
) -> JSONResponse:
    """Publish into your alliance (or, with an admin key and no alliance, as built-in); changed
    content gets the next version (201), the same content answers 200. An invalid template
    answers 422 with its problems in the `Accept-Language` (en, es, fr; English by default)."""
    owner = own_alliance(key, alliance_id)
    require_role(key, "coordinator", alliance_id=owner)
    published = engine.templates.publish(
        text, source_name, alliance_id=owner, actor=key.actor(owner), reach=key.reach
    )
    body = PublishedVersion.of_published(engine.templates.record_of(published.id), published)
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if published.created else 200)


@router.get("/{key}", summary="The latest version of a template")
def get_template(
    key: TemplateKey, engine: EngineDep, caller: CurrentKey, alliance_id: AllianceQuery = None
) -> TemplateVersionDetail:
    record, spec = engine.templates.version(key, alliance_id=alliance_id, reach=caller.reach)
    return TemplateVersionDetail.of_record(record, spec)


@router.get("/{key}/versions", summary="Every version of a template")
def template_versions(
    key: TemplateKey,
    engine: EngineDep,
    caller: CurrentKey,
    page: PageDep,
    alliance_id: AllianceQuery = None,
) -> Page[OwnedTemplatePublic]:
    record, _ = engine.templates.version(key, alliance_id=alliance_id, reach=caller.reach)
    records = [
        r
        for r in engine.templates.list(key, alliance_id=alliance_id, reach=caller.reach)
        if r.alliance_id == record.alliance_id
    ]
    window = records[page.offset : page.offset + page.limit + 1]
    return page_of([OwnedTemplatePublic.of(r) for r in window], page.limit, page.offset)


@router.get("/{key}/versions/{version}", summary="One version of a template")
def get_template_version(
    key: TemplateKey,
    version: Version,
    engine: EngineDep,
    caller: CurrentKey,
    alliance_id: AllianceQuery = None,
) -> TemplateVersionDetail:
    record, spec = engine.templates.version(
        key, version, alliance_id=alliance_id, reach=caller.reach
    )
    return TemplateVersionDetail.of_record(record, spec)


@router.get(
    "/{key}/source",
    summary="A template version's YAML, as published",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {"schema": {}}}}},
)
def template_source(
    key: TemplateKey,
    engine: EngineDep,
    caller: CurrentKey,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    alliance_id: AllianceQuery = None,
) -> PlainTextResponse:
    """The text to edit and publish as the next version (comments kept)."""
    record, _ = engine.templates.version(key, version, alliance_id=alliance_id, reach=caller.reach)
    return PlainTextResponse(record.source_text, media_type="application/yaml")


@router.get("/{key}/diagram", summary="A template's state diagram")
def template_diagram(
    key: TemplateKey,
    engine: EngineDep,
    caller: CurrentKey,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Annotated[Literal["mermaid", "dot"], Query()] = "mermaid",
    highlight: Annotated[
        str | None,
        Query(max_length=100, pattern=SNAKE_NAME.pattern, description="Stage to mark."),
    ] = None,
    alliance_id: AllianceQuery = None,
) -> DiagramPublic:
    """Mermaid or Graphviz DOT text; `highlight` marks a stage (e.g. a cycle's current one)."""
    record, spec = engine.templates.version(
        key, version, alliance_id=alliance_id, reach=caller.reach
    )
    if highlight is not None and highlight not in {s.key for s in spec.stages}:
        raise ApiProblem(404, f"the template has no stage {highlight!r}", kind="stage")
    draw = diagram_dot if format == "dot" else diagram_mermaid
    return DiagramPublic(
        key=key, version=record.version, format=format, diagram=draw(spec, highlight=highlight)
    )


@router.get("/{key}/diff", summary="What changed between two versions, in words")
def template_diff(
    key: TemplateKey,
    engine: EngineDep,
    caller: CurrentKey,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
    from_key: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="Compare from this key."),
    ] = None,
    stage_map: Annotated[
        list[RenamedStage] | None,
        Query(alias="map", max_length=200, description="Renamed stages, as old:new."),
    ] = None,
    alliance_id: AllianceQuery = None,
) -> TemplateDiffPublic:
    """Stages added, removed and renamed (by `map`), durations, reminder, overdue and stall
    rules, transitions, guards and texts, each said in a sentence."""
    renames: dict[str, str] = {}
    for item in stage_map or []:
        old, sep, new = item.partition(":")
        if not sep or not old or not new:
            raise ApiProblem(422, f"write a renamed stage as old:new, got {item!r}", field="map")
        renames[old] = new
    found = engine.templates.diff(
        key,
        from_version,
        to_version,
        from_key=from_key,
        alliance_id=alliance_id,
        renames=renames,
        reach=caller.reach,
    )
    return TemplateDiffPublic.of(found)


@router.post("/{key}/copy", summary="Copy a template into an alliance", status_code=201)
def copy_template(
    key: TemplateKey, payload: TemplateCopy, engine: EngineDep, caller: CurrentKey
) -> PublishedVersion:
    """A copy of a template you see, as your alliance's own under a new key, to change there."""
    owner = own_alliance(caller, payload.alliance_id)
    if owner is None:
        raise ApiProblem(422, "name the alliance the copy belongs to", field="alliance_id")
    require_role(caller, "coordinator", alliance_id=owner)
    published = engine.templates.copy(
        key,
        payload.key,
        alliance_id=owner,
        version=payload.version,
        from_alliance_id=payload.from_alliance_id,
        actor=caller.actor(owner),
        reach=caller.reach,
    )
    return PublishedVersion.of_published(engine.templates.record_of(published.id), published)


@router.post("/{key}/retire", summary="Retire a template (or one version)")
def retire_template(
    key: TemplateKey,
    engine: EngineDep,
    caller: CurrentKey,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    alliance_id: AllianceQuery = None,
) -> list[OwnedTemplatePublic]:
    """No new cycle starts on a retired version and no plan moves cycles to it; cycles already
    on it run on. Returns the versions retired now."""
    record, _ = engine.templates.version(key, version, alliance_id=alliance_id, reach=caller.reach)
    owner = record.alliance_id
    require_role(caller, "coordinator", alliance_id=owner)
    retired = engine.templates.retire(
        key,
        alliance_id=owner,
        version=version,
        actor=caller.actor(owner),
        reach=caller.reach,
    )
    return [OwnedTemplatePublic.of(r) for r in retired]


router.include_router(template_migrations.router)
