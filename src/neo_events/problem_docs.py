"""Every operation's problem responses in the OpenAPI document (RFC 9457, `errors.Problem`):
what routes declare with `errors.problems()`, and what each kind of operation can answer."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from neo_events.errors import PROBLEM_DESCRIPTIONS, PROBLEM_HEADERS, PROBLEM_JSON, Problem


def _problem_response_doc(status: int | str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "description": PROBLEM_DESCRIPTIONS[status]
        if status in PROBLEM_DESCRIPTIONS
        else HTTPStatus(int(status)).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in PROBLEM_HEADERS:
        doc["headers"] = PROBLEM_HEADERS[status]
    return doc


def add_problem_responses(
    schema: dict[str, Any], *, unlimited_paths: frozenset[str]
) -> dict[str, Any]:
    """Every error response of every operation, as `application/problem+json` with the
    `Problem` schema, so generated clients know them: what the route declares (`problems()`),
    401 where a token is required, 404 where the path names a resource, 413 and 415 where
    there is a body, 422 where there is any input, 429 wherever rate limits apply, and a
    `default` for the rest. FastAPI's own 422 (its `HTTPValidationError`, which this API never
    sends) is replaced."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            statuses: set[int | str] = {int(s) for s in responses if s.isdigit() and s >= "400"}
            if operation.get("security"):
                statuses.add(401)
            if "{" in path:
                statuses.add(404)
            if "requestBody" in operation:
                statuses |= {413, 415}
            if "requestBody" in operation or operation.get("parameters"):
                statuses.add(422)
            if path not in unlimited_paths:
                statuses.add(429)
            for status in sorted(statuses, key=str):
                responses[str(status)] = _problem_response_doc(status)
            responses["default"] = _problem_response_doc("default")
    for unused in ("HTTPValidationError", "ValidationError"):  # in that order: one uses the other
        if f"/{unused}'" not in repr({**schema, "components": {**components, unused: None}}):
            components.pop(unused, None)
    return schema


def document_problems(app: FastAPI, *, unlimited_paths: frozenset[str]) -> None:
    """Document every operation's problem responses in the app's OpenAPI document."""
    rewrite_openapi(
        app, lambda schema: add_problem_responses(schema, unlimited_paths=unlimited_paths)
    )


def rewrite_openapi(app: FastAPI, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The app's OpenAPI document, once built, passed through `rewrite` (each call wraps the
    document the earlier ones made), and kept as FastAPI keeps it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
