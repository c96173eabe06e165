"""Templates: upload (YAML or JSON), validate without publishing, publish, versions, diagram.

Templates are shared by every alliance, so any key may read them; only admins and coordinators
publish. A template body is sent raw: `application/yaml` (or text/yaml, text/plain) or
`application/json` (an object, stored as the equivalent YAML). The body is read by an async
dependency; the handlers that validate and publish are plain `def` (the threadpool).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from cycle_engine.api.access import require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, PageDep
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.schemas import (
    DiagramPublic,
    Page,
    PublishedTemplatePublic,
    TemplateDetail,
    TemplatePublic,
    TemplateValidation,
    page_of,
)
from cycle_engine.spec import diagram_dot, diagram_mermaid

router = APIRouter(prefix="/templates", tags=["templates"])
TemplateKey = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
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
    }
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


@router.get("", summary="List template versions")
def list_templates(
    engine: EngineDep,
    _key: CurrentKey,
    page: PageDep,
    key: Annotated[str | None, Query(max_length=100, description="Only this key.")] = None,
) -> Page[TemplatePublic]:
    records = engine.templates.list(key)
    rows = [TemplatePublic.of(r) for r in records[page.offset : page.offset + page.limit + 1]]
    return page_of(rows, page.limit, page.offset)


@router.post("/validate", summary="Validate a template without publishing", openapi_extra=_BODY_DOC)
def validate_template(
    text: TemplateText,
    engine: EngineDep,
    _key: CurrentKey,
    source_name: SourceName = "upload.yaml",
) -> TemplateValidation:
    """Check a template; 422 lists every problem with its path inside the document."""
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
    responses={200: {"model": PublishedTemplatePublic, "description": "Unchanged content"}},
)
def publish_template(
    text: TemplateText,
    engine: EngineDep,
    key: CurrentKey,
    source_name: SourceName = "upload.yaml",
) -> JSONResponse:
    """Publish; changed content gets the next version (201), the same content answers 200."""
    require_role(key, "coordinator")
    published = engine.templates.publish(text, source_name)
    record = next(r for r in engine.templates.list(published.key) if r.id == published.id)
    body = PublishedTemplatePublic(
        **TemplatePublic.of(record).model_dump(), created=published.created
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if published.created else 200)


def _detail(engine: EngineDep, key: str, version: int | None) -> TemplateDetail:
    record, spec = engine.templates.version(key, version)
    return TemplateDetail.of_spec(record, spec)


@router.get("/{key}", summary="The latest version of a template")
def get_template(key: TemplateKey, engine: EngineDep, _key: CurrentKey) -> TemplateDetail:
    return _detail(engine, key, None)


@router.get("/{key}/versions", summary="Every version of a template")
def template_versions(
    key: TemplateKey, engine: EngineDep, _key: CurrentKey, page: PageDep
) -> Page[TemplatePublic]:
    records = engine.templates.list(key)
    if not records:
        _detail(engine, key, None)  # raises TemplateNotFound
    rows = [TemplatePublic.of(r) for r in records[page.offset : page.offset + page.limit + 1]]
    return page_of(rows, page.limit, page.offset)


@router.get("/{key}/versions/{version}", summary="One version of a template")
def get_template_version(
    key: TemplateKey, version: Version, engine: EngineDep, _key: CurrentKey
) -> TemplateDetail:
    return _detail(engine, key, version)


@router.get("/{key}/diagram", summary="A template's state diagram")
def template_diagram(
    key: TemplateKey,
    engine: EngineDep,
    _key: CurrentKey,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Annotated[Literal["mermaid", "dot"], Query()] = "mermaid",
    highlight: Annotated[str | None, Query(max_length=100, description="Stage to mark.")] = None,
) -> DiagramPublic:
    """Mermaid or Graphviz DOT text; `highlight` marks a stage (e.g. a cycle's current one)."""
    record, spec = engine.templates.version(key, version)
    if highlight is not None and highlight not in {s.key for s in spec.stages}:
        raise ApiProblem(422, f"the template has no stage {highlight!r}", field="highlight")
    draw = diagram_dot if format == "dot" else diagram_mermaid
    return DiagramPublic(
        key=key, version=record.version, format=format, diagram=draw(spec, highlight=highlight)
    )
