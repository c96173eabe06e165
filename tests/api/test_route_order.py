"""The hot routers are matched first without changing any answer: no path of theirs overlaps a
path of another router, so whichever order they are tried in, a request finds the same route."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from cycle_engine.api.app import HOT_ROUTERS, api_routers


def _routes(router: Any, prefix: str = "") -> list[tuple[str, frozenset[str], Any]]:
    """(path, methods, endpoint) of every route under `router`, included routers walked."""
    found = []
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _routes(inner, prefix + (route.include_context.prefix or ""))
        else:
            methods = frozenset(getattr(route, "methods", None) or ())
            found.append((prefix + route.path, methods, getattr(route, "endpoint", None)))
    return found


def _api_routes() -> list[tuple[str, frozenset[str], Any]]:
    """Every route of the API, in the order the app includes its routers."""
    return [route for router in api_routers() for route in _routes(router)]


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "7", path)


def test_no_path_of_a_hot_router_overlaps_another_router() -> None:
    hot = [route for module in HOT_ROUTERS for route in _routes(module.router)]
    hot_endpoints = {endpoint for _, _, endpoint in hot}
    others = [route for route in _api_routes() if route[2] not in hot_endpoints]
    assert len(others) > 50  # the walk found the other routers' routes
    overlaps = [
        (path, other)
        for path, methods, _ in hot
        for other, other_methods, _ in others
        if methods & other_methods
        and (
            compile_path(path)[0].match(_sample(other))
            or compile_path(other)[0].match(_sample(path))
        )
    ]
    assert overlaps == []


def test_the_hot_routers_come_first() -> None:
    routes = _api_routes()
    hot = {route[2] for module in HOT_ROUTERS for route in _routes(module.router)}
    assert {endpoint for _, _, endpoint in routes[: len(hot)]} == hot
