"""The JSON API blueprint (`/api/v1`): request validation, bearer auth, errors and the OpenAPI spec.

Every endpoint is declared with `@endpoint(...)`, naming pydantic models for its query string,
body and response. The same models validate requests at run time and generate
`/api/v1/openapi.json`, so the spec cannot drift from what the code accepts.

Handlers receive the validated models as keyword arguments `query` and `body`, find the object
(the domain's `get_visible_*`: 404 when the caller may not see it), call one service (which audits),
then commit and answer: `return committed(thing_out(result))`, or `commit()` and `ok(...)` when the
answer must be read after the commit. Errors use docs/api.md's envelope (see `shop.errors`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, g, jsonify, request
from flask_babel import get_locale
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic.json_schema import models_json_schema

from shop.args import MAX_ID
from shop.auth.services import user_for_token
from shop.db import commit
from shop.errors import Forbidden, NotFound, Unauthorized, ValidationError
from shop.extensions import csrf

api = Blueprint("api", __name__, url_prefix="/api/v1")


class Schema(BaseModel):
    """Base for request bodies: unknown fields are ignored, strings are stripped.

    A JSON body is validated strictly, as JSON (`_validated(..., json_body=True)`): an `int` field takes a
    JSON whole number only, never `true`, `1.5` or `"3"`; a `bool` field `true`/`false` only. Dates, enums
    and literals are read from their JSON strings as usual. So a field is declared `int` (with its bounds),
    never `StrictInt`: the rule is the body's, for every field of every body (docs/input-validation.md).
    The text fields of a multipart upload are validated by the same model, laxly (form fields are text)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class QuerySchema(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


def model_of(cls: type, name: str, **nested: Any) -> type[BaseModel]:
    """The response model `name` of the dataclass `cls` a service returns, so that the dataclass is the one list
    of the answer's fields: its fields in their order and with their types (but a field holding other
    dataclasses, typed by their models in `nested`, e.g. `lots=list[SaleLotOut]`), each described by its
    `field(metadata={"description": ...})`, the model by the class's docstring. Answer with the model
    returned: `Model.model_validate(instance, from_attributes=True)`."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        description = f.metadata.get("description")
        fields[f.name] = (nested.get(f.name, hints[f.name]), Field(description=description) if description else ...)
    # a dataclass without a docstring is given its signature as one: that describes nothing
    generated = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    doc = cls.__doc__ if cls.__doc__ != generated else None
    return create_model(name, __doc__=doc, **fields)


@dataclass
class EndpointSpec:
    rule: str
    methods: tuple[str, ...]
    name: str
    summary: str
    #: The view's whole docstring, its paragraphs' lines joined (the spec's `description`).
    description: str
    tags: tuple[str, ...]
    auth: bool
    roles: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...] = field(default_factory=tuple)
    #: Media type of a success that is not JSON (a file download), e.g. an XLSX workbook.
    produces: str | None = None
    #: Name of the file field of a multipart/form-data upload (the request body is that file; with a
    #: `body` model, the other form fields are that model, validated like a JSON body).
    upload: str | None = None


ENDPOINTS: list[EndpointSpec] = []

#: The end of a docstring's first sentence: a full stop before a space, unless it ends "e.g." or "i.e.".
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.(?=\s)")


def _docstring_text(fn: Callable) -> str:
    """A view's docstring as the spec shows it: each paragraph's wrapped lines joined into one line,
    paragraphs apart (a summary cut at the first line break ended mid-sentence, "…: `{product_id,")."""
    doc = inspect.cleandoc(fn.__doc__ or "")
    return "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n") if p.strip())


def _first_sentence(text: str) -> str:
    """The first sentence of `text`'s first paragraph (the whole paragraph when it has one sentence)."""
    first = text.split("\n\n")[0]
    end = _SENTENCE_END.search(first)
    return first[: end.start()] if end else first.rstrip(".")


#: Deepest nesting of objects and lists a request body may have (the deepest real body has 3 levels);
#: deeper bodies are refused before anything recurses over them.
MAX_JSON_DEPTH = 16


def _fields_from(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "_body"
        fields.setdefault(loc, err["msg"])
    return fields


def _unstorable_text(value: Any, loc: str = "") -> dict[str, str]:
    """Fields holding text no database column can store: NUL characters (PostgreSQL refuses them)
    or lone UTF-16 surrogates (JSON allows `\\ud800`, UTF-8 does not). A 422, not a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            return {loc or "_body": "NUL character"}
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {loc or "_body": "invalid unicode"}
        return {}
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(_unstorable_text(item, f"{loc}.{key}" if loc else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_unstorable_text(item, f"{loc}.{index}" if loc else str(index)))
    return found


def _validated(model: type[BaseModel], data: Any, *, json_body: bool = False) -> BaseModel:
    """`data` (a query string's, a form's or a JSON body's fields) as `model`, or a 422 naming the fields.

    A query string's and a form's fields are text, so they are validated laxly ("3" is 3). A JSON body
    (`json_body`) has types of its own and is validated strictly in pydantic's JSON mode: `true` or `"3"` for an
    integer, `1` for a boolean is a 422 naming the field, not 1 or True. JSON mode, not `strict=True` on the
    parsed dict: strict Python-mode validation would refuse ISO date strings and enum values, which JSON mode
    reads as JSON carries them. The parsed body is serialised again rather than the raw request bytes read,
    so pydantic validates exactly the value the depth and text checks above saw."""
    bad = _unstorable_text(data)
    if bad:
        raise ValidationError("validation_error", fields=bad)
    try:
        if json_body:
            return model.model_validate_json(json.dumps(data), strict=True)
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError("validation_error", fields=_fields_from(exc)) from None


def _parse_query(model: type[BaseModel]) -> BaseModel:
    return _validated(model, {key: request.args.get(key) for key in request.args.keys()})


def _json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), walked without recursion."""
    depth, level = 0, [value]
    while level:
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            break
        depth += 1
        if depth > MAX_JSON_DEPTH:
            break
        level = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)]
    return depth


def _parse_form(model: type[BaseModel]) -> BaseModel:
    """The text fields of a multipart/form-data upload, validated by `model` (the file is the view's)."""
    return _validated(model, {key: request.form.get(key) for key in request.form.keys()})


def _parse_body(model: type[BaseModel]) -> BaseModel:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder recurses
        data = None
        too_deep = True
    else:
        too_deep = _json_depth(data) > MAX_JSON_DEPTH
    if too_deep:
        raise ValidationError("json_too_deep", depth=MAX_JSON_DEPTH)
    if not isinstance(data, dict):
        raise ValidationError("invalid_json")
    return _validated(model, data, json_body=True)


def api_user():
    """The authenticated caller of this API request, or None."""
    return g.get("api_user")


def bearer_token() -> str | None:
    """The token of this request's `Authorization` header: None without the header, "" for one that is
    not `Bearer <token>` (a 401 on the API)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def token_holder(_request=None):
    """The active user this API request's bearer token belongs to, else None (no or a bad token, or not
    an API request). Flask-Login's request loader (`login_manager.request_loader`): on the API a token
    caller is `current_user`, whoever asks first (the locale selector may, before the view runs,
    docs/api.md "Language"). The token is looked up once a request; g holds None while it is, so a
    lookup that failed (the database down) is not tried again by the error answer that follows."""
    if not request.path.startswith(f"{api.url_prefix}/"):
        return None
    if "api_token_holder" not in g:
        g.api_token_holder = None
        token = bearer_token()
        if token:
            g.api_token_holder = user_for_token(token)
    return g.api_token_holder


def _authenticate():
    token = bearer_token()
    if token is not None:
        if not token:
            raise Unauthorized("unauthorized")
        user = token_holder()
        if user is None:
            raise Unauthorized("invalid_token")
        return user
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
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
    produces: str | None = None,
    upload: str | None = None,
    load: Callable[..., Any] | None = None,
):
    """Register an API view with its validation and its place in the OpenAPI spec.

    `auth=True` requires a caller; `roles` further restricts to users having one of the roles
    (`User.has_role`, the role pages' rule: an admin passes, but not a host's gate). The view gets `query=`
    and `body=` keyword arguments when declared.

    `load(user, **path arguments)` returns the object the path names for this caller, or raises (404 for
    another's): called after the role check and before the query and body are read, so that another's
    object is a 404 whatever the body — a malformed body never tells that it exists (docs/api.md). The
    view gets it as `loaded=`.
    """

    def decorator(fn: Callable):
        spec = EndpointSpec(
            rule=rule,
            methods=tuple(methods),
            name=fn.__name__,
            summary=summary or _first_sentence(_docstring_text(fn)),
            description=_docstring_text(fn),
            tags=tuple(tags),
            auth=auth or bool(roles),
            roles=tuple(roles),
            query=query,
            body=body,
            response=response,
            status=status,
            errors=tuple(errors),
            produces=produces,
            upload=upload,
        )
        ENDPOINTS.append(spec)

        @wraps(fn)
        def view(**kwargs: Any):
            for value in kwargs.values():
                # no row has such an id or code; the database would overflow on it or refuse it
                if (isinstance(value, int) and not 0 < value <= MAX_ID) or _unstorable_text(value):
                    raise NotFound("not_found")
            user = _authenticate()
            g.api_user = user
            # The answer's language, chosen now while the caller's account is loaded: an error answered after
            # a rollback (which expires it) need not read the account again, nor fail when the database is down.
            get_locale()
            if spec.auth and user is None:
                raise Unauthorized("login_required")
            if spec.roles and not user.has_role(*spec.roles):
                raise Forbidden("forbidden")
            if load is not None:
                kwargs["loaded"] = load(user, **kwargs)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            if body is not None:
                kwargs["body"] = _parse_form(body) if upload is not None else _parse_body(body)
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


def committed(out: Any, status: int = 200):
    """Commit the request's work, then answer `out` as `ok` does. `out` is built by the caller, before
    the commit: the commit expires every loaded object, so building it afterwards would load each row
    again."""
    commit()
    return ok(out, status)


# --- OpenAPI -----------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _openapi_path(rule: str) -> str:
    return "/api/v1" + _CONVERTER.sub(r"{\1}", rule)


def build_openapi() -> dict:
    """The OpenAPI 3.1 document, generated from the endpoint declarations and pydantic models."""
    # Request bodies are described as pydantic validates them, responses as they are serialised
    # (aliases such as `from`/`to` differ); pydantic names the two `X-Input`/`X-Output` only when
    # they differ.
    keyed: set[tuple[type[BaseModel], str]] = {(ErrorBody, "serialization")}
    for spec in ENDPOINTS:
        if spec.body is not None:
            keyed.add((spec.body, "validation"))
        if spec.response is not None:
            keyed.add((spec.response, "serialization"))
    refs, defs = models_json_schema(
        sorted(keyed, key=lambda k: (k[0].__name__, k[1])), ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})

    def ref(model, mode: str = "serialization"):
        return refs[(model, mode)]

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
                **({"description": spec.description} if spec.description else {}),
                "tags": list(spec.tags),
                "parameters": [
                    {
                        "name": p,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                        if p in int_params
                        else {"type": "string"},
                    }
                    for p in path_params
                ],
                "responses": {},
            }
            if spec.query is not None:
                qschema = spec.query.model_json_schema(ref_template="#/components/schemas/{model}")
                required = set(qschema.get("required", []))
                for name, prop in qschema.get("properties", {}).items():
                    op["parameters"].append({"name": name, "in": "query", "required": name in required, "schema": prop})
            if spec.body is not None and spec.upload is None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(spec.body, "validation")}},
                }
            if spec.upload is not None:
                file_part = {
                    "type": "object",
                    "required": [spec.upload],
                    "properties": {spec.upload: {"type": "string", "format": "binary"}},
                }
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {"allOf": [ref(spec.body, "validation"), file_part]}
                            if spec.body is not None
                            else file_part
                        }
                    },
                }
            ok_response: dict[str, Any] = {"description": "OK"}
            if spec.produces is not None:
                ok_response["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
            elif spec.response is not None:
                ok_response["content"] = {"application/json": {"schema": ref(spec.response)}}
            op["responses"][str(spec.status)] = ok_response
            # 400: a session caller without its CSRF token; 404: an unknown id or code in the path;
            # 409: any state change can meet a conflicting one (stock, availability, state machine)
            codes = set(spec.errors) | {400, 404}
            if method not in ("GET", "HEAD"):
                codes.add(409)
            if spec.query is not None or spec.body is not None or spec.upload is not None:
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
