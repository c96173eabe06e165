"""Downloads behind the signed links in a `stage_results` email (issue 12): a partner informed
of a stage downloads its products' stored files without an API key or a sign-in.

The token (`LinkSigner.product_url`) names the person and the product; the file is served only
while the person is on staff and their organisation still takes part in the product's cycle
(the engine's reach for that organisation), so a forwarded or stale link stops working when
they leave. Anything else answers a plain 404.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

from cycle_engine.alliances.reach import Reach
from cycle_engine.api.deps import EngineDep, IdPath
from cycle_engine.api.routers.email_actions import PAGE_HEADERS, LinksDep, TokenQuery
from cycle_engine.errors import CycleEngineError


def download_product(
    product_id: IdPath, t: TokenQuery, engine: EngineDep, links: LinksDep
) -> Response:
    """The product's stored file, for the person the link was signed for."""
    try:
        person_id, signed_for = links.read_person("product", t)
        if signed_for != str(product_id):
            raise LookupError("the link names another product")
        person = engine.alliances.get_person(person_id)
        if person.left_on is not None:
            raise LookupError("the person has left")
        reach = Reach(organisation_id=person.organisation_id)
        product = engine.work.product(product_id, reach=reach)
        path = engine.work.product_file(product_id)
    except (CycleEngineError, LookupError):
        return PlainTextResponse(
            "This download link is not valid.\n", status_code=404, headers=PAGE_HEADERS
        )
    return FileResponse(
        path,
        media_type=product.content_type or "application/octet-stream",
        filename=product.file_name or path.name,
    )


def email_downloads_router() -> APIRouter:
    """Include without a prefix (paths start with /email), beside `email_actions_router`."""
    router = APIRouter(prefix="/email", tags=["email links"], include_in_schema=False)
    router.add_api_route("/products/{product_id}", download_product, methods=["GET"])
    return router
