"""A route's parameters and dependencies solved by a plan made once (issue #16).

FastAPI 0.165 solves every request's dependencies generically: for each dependency it makes
a sub-response, looks up its cache key and whether it is a generator, reads the cookies and
validates four lists of parameters, most of them empty. That is 25-40 µs a dependency, and a
write route takes four or five (the claims, the session, the request's origin, an
idempotency key): a sixth of a text edit's worker time (BENCHMARKS.md).

`Plan.of(route)` walks the route's `Dependant` once and keeps, for each node, the calls and
the parameter lists it has. A request is then solved in two passes:

1. every parameter of every node, and the body, validated by FastAPI's own field validators,
   calling nothing: a parameter is read as `request_params_to_args` reads it, with what that
   works out again at every request (its aliases, whether it is a list) worked out once
   (`_Param`); the body by `request_body_to_args`;
2. if all of it is valid, the dependencies called in FastAPI's order (a dependency that more
   than one node takes, called once), then the endpoint.

Any invalid input goes, before anything was called, to FastAPI's own handler, which answers
with its canonical errors (and runs the dependencies first, as it always does: a missing
token is a 401 before an invalid body's 422). A route this does not cover has no plan and
always goes to FastAPI: a dependency that is a generator, sync, concurrency-limited or
not cached (`use_cache=False`), one that takes the response, background tasks, security
scopes or a body of its own, an endpoint that is not a coroutine or not declared to return
a `Response` (whose serialization FastAPI owns); so does any request while dependency
overrides are set. The plan is made from the route as the app includes it (`effective`).
FastAPI's telemetry spans (this app configures none) are not opened on this path; its
telemetry data is filled as FastAPI does.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import params
from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _validate_value_with_model_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.routing import APIRoute, _effective_route_context_var
from fastapi.telemetry import get_telemetry_data
from pydantic_core import PydanticUndefined
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from neo_events.encoding import is_json_type, media_type_of

Handler = Callable[[Request], Awaitable[Response]]
# 20 digits in a row: perhaps an integer past 64 bits, which orjson reads as a float where
# the standard library's `json`, FastAPI's reader, keeps it exact (a body with such a run,
# in a number or a string, goes to FastAPI).
_LONG_NUMBER = re.compile(rb"[0-9]{20}")


def effective(route: APIRoute) -> Any:
    """The route as FastAPI's handler is built for it: for a route of an included router, its
    include context (the router's prefix and dependencies, the app's dependency overrides),
    which FastAPI 0.165 passes to `get_route_handler` in a private context variable."""
    context = _effective_route_context_var.get()
    return context if context is not None and context.original_route is route else route


def _is_coroutine(call: Any) -> bool:
    if inspect.isfunction(call) or inspect.ismethod(call):
        return inspect.iscoroutinefunction(call)
    method = type(call).__call__ if callable(call) else None  # an instance, as HTTPBearer's
    return inspect.iscoroutinefunction(method)


@dataclass(frozen=True, slots=True)
class _Param:
    """A path, query, header or cookie parameter, read from its source as FastAPI 0.165's
    `request_params_to_args` reads it, with what that works out per request worked out here:
    its (validation alias, request key) pairs, whether it is a list, whether it is a model."""

    field: Any  # FastAPI's ModelField
    keys: tuple[str, ...]  # the request keys, in preference order
    where: str  # "path", "query", "header", "cookie"
    listed: bool  # read with `getlist` from a multi-dict (a list, not Json)
    sequence: bool  # an empty list is no value
    model: bool  # a parameter model: FastAPI's own reading

    @classmethod
    def of(cls, field: Any) -> _Param:
        sequence = field_annotation_is_sequence(field.field_info.annotation)
        return cls(
            field=field,
            keys=tuple(key for _, key in _get_param_aliases(field)),
            where=field.field_info.in_.value,
            listed=sequence and not _is_json_field(field),
            sequence=sequence,
            model=_get_param_model(field) is not None,
        )

    def read(self, source: Any, values: dict[str, Any]) -> bool:
        """Validate this parameter from `source` into `values`; False if it is invalid."""
        if self.model:
            found, errors = request_params_to_args([self.field], source)
            values.update(found)
            return not errors
        key = next((key for key in self.keys if key in source), self.keys[0])
        value: Any
        if self.listed and isinstance(source, (ImmutableMultiDict, Headers)):
            value = source.getlist(key)
        else:
            value = source.get(key, None)
        if value is None or (self.sequence and len(value) == 0):
            value = PydanticUndefined  # defaults apply in validation
        value, errors = _validate_value_with_model_field(
            field=self.field, value=value, values=values, loc=(self.where, key)
        )
        if errors:
            return False
        values[self.field.name] = value
        return True


@dataclass(frozen=True, slots=True)
class _Node:
    """One dependency (or the endpoint): what it takes, solved as FastAPI would."""

    name: str | None
    call: Callable[..., Awaitable[Any]]
    path: Sequence[_Param]
    query: Sequence[_Param]
    header: Sequence[_Param]
    cookie: Sequence[_Param]
    request_names: tuple[str, ...]  # the Request and HTTPConnection parameters
    children: tuple[_Node, ...]

    @classmethod
    def of(cls, dependant: Dependant, root: bool = True) -> _Node | None:
        if (
            (dependant.body_params and not root)  # a dependency's body: FastAPI's to read
            or dependant.call is None
            or not _is_coroutine(dependant.call)
            or dependant.websocket_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or dependant.concurrency is not None
            or not dependant.use_cache  # FastAPI solves its callers' dependencies again
            or dependant.own_oauth_scopes
            or dependant.parent_oauth_scopes
        ):
            return None
        children = []
        for sub in dependant.dependencies:
            child = cls.of(sub, root=False)
            if child is None:
                return None
            children.append(child)
        names = (dependant.request_param_name, dependant.http_connection_param_name)
        return cls(
            name=dependant.name,
            call=dependant.call,
            path=tuple(map(_Param.of, dependant.path_params)),
            query=tuple(map(_Param.of, dependant.query_params)),
            header=tuple(map(_Param.of, dependant.header_params)),
            cookie=tuple(map(_Param.of, dependant.cookie_params)),
            request_names=tuple(n for n in names if n),
            children=tuple(children),
        )

    def validate(self, request: Request, into: dict[int, dict[str, Any]]) -> bool:
        """This node's parameters and its children's, each node's kept by its id; False at
        the first error (nothing is called)."""
        for child in self.children:
            if not child.validate(request, into):
                return False
        values: dict[str, Any] = {}
        for fields, source in (
            (self.path, "path_params"),
            (self.query, "query_params"),
            (self.header, "headers"),
            (self.cookie, "cookies"),  # parsed only for a route that takes one
        ):
            if fields:
                found = getattr(request, source)
                kept: dict[str, Any] = {}  # each source's values apart, as FastAPI's
                if not all(param.read(found, kept) for param in fields):
                    return False
                values.update(kept)
        into[id(self)] = values
        return True

    async def solve(
        self,
        request: Request,
        validated: dict[int, dict[str, Any]],
        cache: dict[Any, Any],
    ) -> dict[str, Any]:
        """The keyword arguments of this node's call, its dependencies called."""
        values = dict(validated[id(self)])
        for child in self.children:
            if child.call in cache:  # a dependency taken more than once: called once
                solved = cache[child.call]
            else:
                arguments = await child.solve(request, validated, cache)
                solved = await child.call(**arguments)
                cache.setdefault(child.call, solved)
            if child.name is not None:
                values[child.name] = solved
        for name in self.request_names:
            values[name] = request
        return values


@dataclass(frozen=True, slots=True)
class Plan:
    """How one route's requests are solved without FastAPI's generic solver."""

    root: _Node
    body: list[Any]  # the body's fields, empty if it takes none
    embed_body: bool
    overrides: Any  # FastAPI's dependency overrides provider (the app), if any

    @classmethod
    def of(cls, route: Any) -> Plan | None:
        """The plan of `route` (an `APIRoute`, or its include context: `effective`), or None
        for a route it does not cover."""
        endpoint = route.dependant.call
        if endpoint is None:
            return None
        try:
            returns = inspect.signature(endpoint, eval_str=True).return_annotation
        except (NameError, TypeError, ValueError):
            return None
        if not (inspect.isclass(returns) and issubclass(returns, Response)):
            return None
        if route.body_field is not None and isinstance(route.body_field.field_info, params.Form):
            return None
        root = _Node.of(route.dependant)
        if root is None:
            return None
        return cls(
            root=root,
            body=list(route.dependant.body_params),
            embed_body=route._embed_body_fields,
            overrides=route.dependency_overrides_provider,
        )

    async def run(self, request: Request, fallback: Handler) -> Response:
        """The endpoint's response; FastAPI's handler (`fallback`) for any input it must
        refuse, and while dependency overrides are set."""
        if self.overrides is not None and getattr(self.overrides, "dependency_overrides", None):
            return await fallback(request)
        validated: dict[int, dict[str, Any]] = {}
        if not self.root.validate(request, validated):
            return await fallback(request)
        body: Any = None
        if self.body:
            content = await whole_body(request)
            media_type = media_type_of(request.headers.get("content-type", ""))
            if not content or not is_json_type(media_type) or _LONG_NUMBER.search(content):
                return await fallback(request)
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                return await fallback(request)  # its own JSON reader, its own answer
            found, errors = await request_body_to_args(self.body, body, self.embed_body)
            if errors:
                return await fallback(request)  # which parses the body again, its own way
            request._json = body  # as `Request.json()` keeps it for later readers
            validated[id(self.root)].update(found)
        telemetry = get_telemetry_data()
        if telemetry is not None:
            telemetry.request = request
            telemetry.body = body
        values = await self.root.solve(request, validated, {})
        if telemetry is not None:
            telemetry.values = values
            telemetry.errors = []
        response: Response = await self.root.call(**values)
        return response


async def whole_body(request: Request) -> bytes:
    """The request's body, read whole (kept on the request for later readers): the body
    limit's 413 as it is, a client gone mid-body as the app answers it (499, logged, not an
    error: `errors._client_gone`; it is read before any route's own reader), any other
    failure a 400 as FastAPI's reader gives."""
    try:
        return await request.body()
    except (HTTPException, ClientDisconnect):
        raise
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc
