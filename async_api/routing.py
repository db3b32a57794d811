"""The route class of the frontend's hot read routes: the query model validated straight
from the query string, without FastAPI's per-request parameter solving (issue 13).

FastAPI solves a query model on every request by walking the model's fields and asking of
each one's annotation whether it is a sequence, which alias it answers to and whether it
came as JSON: about a tenth of such a route's CPU in the profile, for routes whose answer
is otherwise a query and a list of rows. For an endpoint of the plain shape, `request`,
one query model, optional `str` headers (the WebApp's initData) and nothing else, this
route validates the model on `dict(request.query_params)`: the values FastAPI would pass
(the last of a repeated key, absent keys left to the defaults). Everything else stays
FastAPI's:

- the OpenAPI document is built from the route's dependant, which is not touched;
- a query that does not validate is handed to FastAPI's own handler, so the 400 a client
  gets is the one FastAPI gives, word for word;
- an endpoint of any other shape (dependencies, path or body parameters, list fields,
  alias choices, an `extra` or by-name policy) gets FastAPI's handler, decided once when
  the route is built.

The endpoint must return a `Response` (the hot routes return `ContractJSON`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from types import NoneType
from typing import Any, get_args

from fastapi._compat import field_annotation_is_sequence
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class QueryModelRoute(APIRoute):
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
