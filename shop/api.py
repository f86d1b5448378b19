"""The JSON API blueprint (`/api/v1`): request validation, bearer auth, errors and the OpenAPI spec.

Every endpoint is declared with `@endpoint(...)`, naming pydantic models for its query string,
body and response. The same models validate requests at run time and generate
`/api/v1/openapi.json`, so the spec cannot drift from what the code accepts.

Handlers receive the validated models as keyword arguments `query` and `body`, call one service,
`commit()` and return `ok(...)`. Errors use PRODUCT.md's envelope (see `shop.errors`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from pydantic.json_schema import models_json_schema

from shop.errors import Forbidden, Unauthorized, ValidationError

api = Blueprint("api", __name__, url_prefix="/api/v1")



class Schema(BaseModel):
    """Base for request bodies: unknown fields are ignored, strings are stripped."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class QuerySchema(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


@dataclass
class EndpointSpec:
    rule: str
    methods: tuple[str, ...]
    name: str
    summary: str
    tags: tuple[str, ...]
    auth: bool
    roles: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...] = field(default_factory=tuple)


ENDPOINTS: list[EndpointSpec] = []


def _fields_from(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "_body"
        fields.setdefault(loc, err["msg"])
    return fields


def _parse_query(model: type[BaseModel]) -> BaseModel:
    raw = {key: request.args.get(key) for key in request.args.keys()}
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationError("Invalid query parameters", fields=_fields_from(exc)) from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError("Invalid request body", fields=_fields_from(exc)) from None


def api_user():
    """The authenticated caller of this API request, or None."""
    return g.get("api_user")


def _authenticate():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'")
        from shop.auth.services import user_for_token

        user = user_for_token(token.strip())
        if user is None:
            raise Unauthorized("Invalid or expired token", code="invalid_token")
        return user
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            from shop.extensions import csrf

            csrf.protect()  # first-party pages call the API with their session + X-CSRFToken
        return current_user._get_current_object()
    return None


def endpoint(
    rule: str,
    methods: tuple[str, ...] | list[str] = ("GET",),
    *,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = False,
    roles: tuple[str, ...] = (),
    summary: str = "",
    tags: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
):
    """Register an API view with its validation and its place in the OpenAPI spec.

    `auth=True` requires a caller; `roles` further restricts to users having one of the roles
    (admin always passes). The view gets `query=` and `body=` keyword arguments when declared.
    """

    def decorator(fn: Callable):
        spec = EndpointSpec(
            rule=rule,
            methods=tuple(methods),
            name=fn.__name__,
            summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
            tags=tuple(tags),
            auth=auth or bool(roles),
            roles=tuple(roles),
            query=query,
            body=body,
            response=response,
            status=status,
            errors=tuple(errors),
        )
        ENDPOINTS.append(spec)

        @wraps(fn)
        def view(**kwargs: Any):
            user = _authenticate()
            g.api_user = user
            if spec.auth and user is None:
                raise Unauthorized("Authentication required")
            if spec.roles and not (user.role in spec.roles or user.role == "admin"):
                raise Forbidden("Your role cannot do this")
            if query is not None:
                kwargs["query"] = _parse_query(query)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            return fn(**kwargs)

        api.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=list(methods))
        return view

    return decorator


def ok(data: Any, status: int = 200):
    """JSON response from a dict, a pydantic model or a list of them."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    return jsonify(data), status


# --- OpenAPI -----------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _openapi_path(rule: str) -> str:
    return "/api/v1" + _CONVERTER.sub(r"{\1}", rule)


def build_openapi() -> dict:
    """The OpenAPI 3.1 document, generated from the endpoint declarations and pydantic models."""
    models: set[type[BaseModel]] = {ErrorBody}
    for spec in ENDPOINTS:
        for model in (spec.body, spec.response):
            if model is not None:
                models.add(model)
    keyed = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})

    def ref(model):
        return refs[(model, "validation")]

    error_response = {"content": {"application/json": {"schema": ref(ErrorBody)}}}
    paths: dict[str, dict] = {}
    for spec in ENDPOINTS:
        path = _openapi_path(spec.rule)
        path_params = _CONVERTER.findall(spec.rule)
        int_params = set(re.findall(r"<int:([a-zA-Z_]+)>", spec.rule))
        for method in spec.methods:
            op: dict[str, Any] = {
                "operationId": spec.name,
                "summary": spec.summary,
                "tags": list(spec.tags),
                "parameters": [
                    {
                        "name": p,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"} if p in int_params else {"type": "string"},
                    }
                    for p in path_params
                ],
                "responses": {},
            }
            if spec.query is not None:
                qschema = spec.query.model_json_schema(ref_template="#/components/schemas/{model}")
                required = set(qschema.get("required", []))
                for name, prop in qschema.get("properties", {}).items():
                    op["parameters"].append(
                        {"name": name, "in": "query", "required": name in required, "schema": prop}
                    )
            if spec.body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(spec.body)}},
                }
            ok_response: dict[str, Any] = {"description": "OK"}
            if spec.response is not None:
                ok_response["content"] = {"application/json": {"schema": ref(spec.response)}}
            op["responses"][str(spec.status)] = ok_response
            codes = set(spec.errors) | {400, 404}
            if spec.query is not None or spec.body is not None:
                codes.add(422)
            if spec.auth:
                codes |= {401, 403}
                op["security"] = [{"bearer": []}]
            for code in sorted(codes):
                op["responses"][str(code)] = {"description": "Error", **error_response}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Village e-Line API (乡村e线)", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@api.get("/openapi.json")
def openapi_json():
    """The OpenAPI document of this API."""
    return jsonify(build_openapi())
