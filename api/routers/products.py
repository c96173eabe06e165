"""Products a stage yields (a review, prototypes, documented results): with a link, or with a
file uploaded as multipart/form-data, and downloaded again by whoever reaches the cycle.

A partner adds products only on stages its organisation takes part in, and as its own
organisation's work (the default author); others name the organisation. The engine decides,
for the API and the dashboard alike (`alliances.reach`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KINDS
from cycle_engine.api.cycle_commands import CycleCommands, CycleCommandsDep, IfMatch
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.fields import KEY_PATTERN, MAX_ID, TEXT_PATTERN
from cycle_engine.api.idempotency import IdempotencyKey
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import ProductCreate, ProductPublic
from cycle_engine.spec.validate import SNAKE_NAME

router = APIRouter(tags=["products"])
FormText = Annotated[str, Form(min_length=1, max_length=300, pattern=TEXT_PATTERN)]
FormStage = Annotated[str | None, Form(max_length=100, pattern=SNAKE_NAME.pattern)]


@router.get("/cycles/{cycle_id}/products", summary="The cycle's products")
def list_products(
    cycle_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    kind: Annotated[str | None, Query(max_length=40, pattern=KEY_PATTERN)] = None,
) -> Page[ProductPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.work.cycle_products(cycle_id, kind)[page.offset : page.offset + page.limit + 1]
    return page_of([ProductPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "/cycles/{cycle_id}/products",
    summary="Add a product (with a link)",
    status_code=201,
    response_model=ProductPublic,
)
def add_product(
    cycle_id: IdPath,
    payload: ProductCreate,
    commands: CycleCommandsDep,
) -> JSONResponse:
    return commands.run(
        cycle_id,
        payload=payload,
        action="products",
        command=lambda: ProductPublic.model_validate(
            commands.engine.work.add_product(
                cycle_id,
                payload.kind,
                payload.title,
                payload.author_organisation_id,
                stage=payload.stage,
                link=payload.link,
                form=payload.form,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )


@router.post(
    "/cycles/{cycle_id}/products/files",
    summary="Add a product with a file",
    status_code=201,
    response_model=ProductPublic,
)
def upload_product(
    cycle_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    file: Annotated[UploadFile, File(description="The product's file.")],
    kind: Annotated[str, Form(json_schema_extra={"enum": list(PRODUCT_KINDS)})],
    title: FormText,
    author_organisation_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    stage: FormStage = None,
    form: Annotated[str | None, Form(json_schema_extra={"enum": list(PRODUCT_FORMS)})] = None,
    link: Annotated[str | None, Form(max_length=1000, pattern=r"^https?://[^\x00-\x20]+$")] = None,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Multipart upload; the file's content must match its type (checked by the engine). A
    retry with the same Idempotency-Key and the same fields and file replays the first answer
    (no second file)."""
    content = file.file.read()
    name = file.filename or "upload"
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name) > 255:
        raise ApiProblem(
            422, "the file name must be at most 255 characters, none a control", field="file"
        )
    commands = CycleCommands(
        engine=engine, key=key, if_match=if_match, idempotency_key=idempotency_key
    )
    fields = [kind, title, author_organisation_id, stage, form, link, name]
    request = json.dumps(fields).encode() + b"\n" + hashlib.sha256(content).hexdigest().encode()
    return commands.run(
        cycle_id,
        payload=request,
        action="products/files",
        command=lambda: ProductPublic.model_validate(
            engine.work.add_product(
                cycle_id,
                kind,
                title,
                author_organisation_id,
                stage=stage,
                link=link,
                form=form,
                file_name=name,
                content=content,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )


@router.get("/products/{product_id}", summary="One product")
def get_product(product_id: IdPath, engine: EngineDep, key: CurrentKey) -> ProductPublic:
    """Another alliance's product is not found, never "forbidden"."""
    return ProductPublic.model_validate(engine.work.product(product_id, reach=key.reach))


@router.get(
    "/products/{product_id}/file",
    summary="Download a product's file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def product_file(product_id: IdPath, engine: EngineDep, key: CurrentKey) -> FileResponse:
    product = engine.work.product(product_id, reach=key.reach)
    path = engine.work.product_file(product_id)
    return FileResponse(
        path,
        media_type=product.content_type or "application/octet-stream",
        filename=product.file_name or path.name,
    )
