"""Routing of the async half on its hot path (issue 13): routes without parameters found
by one look-up (`LiteralRoutes`), and the route class of the frontend's hot read routes,
whose query model is validated without FastAPI's per-request parameter solving
(`QueryModelRoute`). Neither changes what a request gets: the OpenAPI document, every
400 and every route's answer stay FastAPI's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from types import NoneType
from typing import Any, get_args

from fastapi._compat import field_annotation_is_sequence
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, get_route_path
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class QueryModelRoute(APIRoute):
    """FastAPI solves a query model on every request by walking the model's fields and
    asking of each one's annotation whether it is a sequence, which alias it answers to and
    whether it came as JSON: about a tenth of a hot route's CPU in the profile. For an
    endpoint of the plain shape, `request`, one query model, optional `str` headers (the
    WebApp's initData) and nothing else, this route validates the model on
    `dict(request.query_params)`: the values FastAPI would pass (the last of a repeated
    key, absent keys left to the defaults). Everything else stays FastAPI's:

    - the OpenAPI document is built from the route's dependant, which is not touched;
    - a query that does not validate is handed to FastAPI's own handler, so the 400 a
      client gets is the one FastAPI gives, word for word;
    - an endpoint of any other shape (dependencies, path or body parameters, list fields,
      alias choices, an `extra` or by-name policy) gets FastAPI's handler, decided once
      when the route is built.

    The endpoint must return a `Response` (the hot routes return `ContractJSON`)."""

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        shape = _plain_shape(self)
        if shape is None:
            return standard
        endpoint, model, model_name, request_name, headers = shape

        async def handler(request: Request) -> Response:
            try:
                params = model.model_validate(dict(request.query_params))
            except ValidationError:
                return await standard(request)  # FastAPI's own 400
            kwargs: dict[str, Any] = {model_name: params}
            if request_name is not None:
                kwargs[request_name] = request
            for name, header in headers:
                kwargs[name] = request.headers.get(header)
            response = await endpoint(**kwargs)
            if not isinstance(response, Response):
                raise TypeError(f"{self.name} must return a Response under QueryModelRoute")
            return response

        return handler


def _plain_shape(
    route: APIRoute,
) -> tuple[Callable[..., Any], type[BaseModel], str, str | None, list[tuple[str, str]]] | None:
    """(endpoint, model, its parameter, the request's parameter, [(header parameter,
    header)]) for an endpoint this route can serve itself; None for any other."""
    dependant = route.dependant
    if (
        not inspect.iscoroutinefunction(route.endpoint)
        or dependant.dependencies
        or dependant.path_params
        or dependant.cookie_params
        or dependant.body_params
        or len(dependant.query_params) != 1
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.http_connection_param_name
        or dependant.websocket_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    field = dependant.query_params[0]
    model = field.field_info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    config = model.model_config
    if config.get("extra") not in (None, "ignore") or any(
        key in config for key in ("populate_by_name", "validate_by_name", "validate_by_alias")
    ):
        return None
    for info in model.model_fields.values():
        # A plain alias is looked up as itself by both; AliasChoices and AliasPath are not.
        if info.validation_alias not in (None, info.alias) or field_annotation_is_sequence(
            info.annotation
        ):
            return None
    headers = []
    for header in dependant.header_params:
        info = header.field_info
        optional_text = set(get_args(info.annotation)) == {str, NoneType}
        if not optional_text or info.default is not None or not info.alias:
            return None
        headers.append((header.name, info.alias))
    return route.endpoint, model, field.name, dependant.request_param_name, headers


class LiteralRoutes(BaseRoute):
    """The table's first entry: (method, path) -> route for the routes whose path has no
    parameters, so that a request for one of them is found by one look-up rather than by
    asking each route of the table in turn (`/webapp/api/feed` was the 95th of 100: about
    0.1 ms of regular-expression matches per request).

    It answers only what the walk would have given the same route: a (method, path) is
    indexed only when no route before it in the table matches that request in full.
    Anything else (parameters, a method no route takes, a trailing-slash redirect) is left
    to the walk. Built once the table is complete (`index_literal_routes`).
    """

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.table: dict[tuple[str, str], BaseRoute] = {}
        for position, route in enumerate(routes):
            path = getattr(route, "path_format", None)
            methods = getattr(route, "methods", None)
            if not path or "{" in path or not methods:
                continue
            for method in methods:
                probe = {
                    "type": "http",
                    "method": method,
                    "path": path,
                    "root_path": "",
                    "headers": [],
                }
                if not any(
                    earlier.matches(probe)[0] is Match.FULL for earlier in routes[:position]
                ):
                    self.table.setdefault((method, path), route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            route = self.table.get((scope["method"], get_route_path(scope)))
            if route is not None:
                return route.matches(scope)  # FULL, with the route's own child scope
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.table[(scope["method"], get_route_path(scope))]  # as `matches` found it
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)


def index_literal_routes(routes: list[BaseRoute]) -> None:
    """Put a `LiteralRoutes` index of `routes` at their head (once, after the last route
    is added)."""
    routes[:] = [route for route in routes if not isinstance(route, LiteralRoutes)]
    routes.insert(0, LiteralRoutes(routes))
