"""Products a stage yields (a review, prototypes, documented results): with a link, or with a
file uploaded as multipart/form-data, and downloaded again by whoever reaches the cycle.

A partner adds products only on stages its organisation takes part in, and as its own
organisation's work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from cycle_engine.api.access import PARTNER, Access
from cycle_engine.api.cycle_commands import CycleCommands, CycleCommandsDep, IfMatch
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import ProductCreate, ProductPublic
from cycle_engine.engine import CycleEngine

router = APIRouter(tags=["products"])
FormText = Annotated[str, Form(min_length=1, max_length=300)]
FormShort = Annotated[str | None, Form(min_length=1, max_length=100)]


def _author(engine: CycleEngine, key: Access, cycle_id: int, requested: int | None) -> int:
    """The organisation a product is credited to: a partner's own; others must name one.

    A cycle out of the key's reach answers 404 before either refusal.
    """
    own = key.organisation_id if key.role == PARTNER else None
    if own is not None and requested in (None, own):
        return own
    if own is None and requested is not None:
        return requested
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    if own is not None:
        raise ApiProblem(
            403,
            "a partner key adds products of its own organisation only",
            field="author_organisation_id",
        )
    raise ApiProblem(
        422, "name the organisation that made the product", field="body.author_organisation_id"
    )


@router.get("/cycles/{cycle_id}/products", summary="The cycle's products")
def list_products(
    cycle_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
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
                _author(commands.engine, commands.key, cycle_id, payload.author_organisation_id),
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
    kind: Annotated[str, Form(min_length=1, max_length=40)],
    title: FormText,
    author_organisation_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    stage: FormShort = None,
    form: FormShort = None,
    link: Annotated[str | None, Form(max_length=1000)] = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Multipart upload; the file's content must match its type (checked by the engine)."""
    content = file.file.read()
    name = file.filename or "upload"
    commands = CycleCommands(engine=engine, key=key, if_match=if_match, idempotency_key=None)
    return commands.run(
        cycle_id,
        payload=None,
        action="products",
        command=lambda: ProductPublic.model_validate(
            engine.work.add_product(
                cycle_id,
                kind,
                title,
                _author(engine, key, cycle_id, author_organisation_id),
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
