"""`/docs` without the internet: Swagger UI's files come from the `swagger-ui-py` package.

FastAPI's default docs page loads Swagger UI from a CDN, so `/docs` was blank on a machine
offline (issue 14). This router serves the same page (`get_swagger_ui_html`) pointing at the
files the package ships, plus their licence, under the app's own prefix (it works when the app
is mounted under `/ce`):

    GET /docs                          the Swagger UI page for /openapi.json
    GET /docs/assets/{name}            swagger-ui-bundle.js, swagger-ui.css, the favicon
    GET /docs/assets/LICENSE           Swagger UI's licence (Apache-2.0), as the package ships it

The package ships Swagger UI 5, which reads the OpenAPI 3.1 documents FastAPI writes. Only its
`static` folder is used, found without importing the package (its integrations are not needed).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

#: The only files served, by the name the page asks for (nothing else of the folder is exposed).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def static_folder() -> Path:
    """Swagger UI's files as the `swagger-ui-py` package installs them (with their LICENSE).

    Raises:
        RuntimeError: the package is not installed (it is a declared dependency).
    """
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: pip install swagger-ui-py")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_router(openapi_url: str, title: str) -> APIRouter:
    """The docs page and its assets; `openapi_url` is the schema's path within the app."""
    router = APIRouter(include_in_schema=False)
    folder = static_folder()

    @router.get("/docs")
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        assets = f"{root}/docs/assets"
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - API documentation",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )

    @router.get("/docs/assets/LICENSE")
    def licence() -> PlainTextResponse:
        return PlainTextResponse((folder / "LICENSE").read_text(encoding="utf-8"))

    @router.get("/docs/assets/{name}")
    def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, f"no docs asset {name!r}")
        return FileResponse(
            folder / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router
