"""Errors in the OpenAPI document as they are sent: `application/problem+json` bodies.

Litestar documents the 4xx responses it knows of (validation errors) as
`application/json` with its own error shape, and nothing else. Every error this
registry sends is an RFC 9457 problem (`skreg_common.errors`), so clients and
schema-driven tools (schemathesis flagged the mismatch) should read exactly that:
each documented 4xx/5xx becomes a `ProblemDetails` problem+json response, and every
operation gets a `default` response saying the same of any other error status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

PROBLEM_JSON = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_STRING = Schema(type=OpenAPIType.STRING)
_OPTIONAL_STRING = Schema(one_of=[_STRING, Schema(type=OpenAPIType.NULL)])
FIELD_PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["path", "message"],
    properties={"path": _STRING, "message": _STRING},
    description="One thing wrong with an input, located by a path.",
)
PROBLEM_DETAILS = Schema(
    type=OpenAPIType.OBJECT,
    required=["title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, default="about:blank"),
        "title": _STRING,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": _OPTIONAL_STRING,
        "instance": _OPTIONAL_STRING,
        "errors": Schema(
            type=OpenAPIType.ARRAY, items=Reference(ref="#/components/schemas/FieldProblem")
        ),
        "request_id": _OPTIONAL_STRING,
    },
    description="An RFC 9457 problem; `errors` lists every validation problem at once.",
)


def _problem_response(description: str) -> OpenAPIResponse:
    schema = Reference(ref="#/components/schemas/ProblemDetails")
    return OpenAPIResponse(
        description=description, content={PROBLEM_JSON: OpenAPIMediaType(schema=schema)}
    )


def document_problems(openapi: OpenAPI) -> None:
    """Rewrite `openapi` in place so every error response is a problem+json `ProblemDetails`."""
    components = openapi.components
    schemas = dict(components.schemas or {})
    schemas["ProblemDetails"] = PROBLEM_DETAILS
    schemas["FieldProblem"] = FIELD_PROBLEM
    components.schemas = schemas
    for item in (openapi.paths or {}).values():
        for method in METHODS:
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for code, response in responses.items():
                if code[:1] in ("4", "5") and isinstance(response, OpenAPIResponse):
                    responses[code] = _problem_response(response.description)
            responses.setdefault("default", _problem_response("An error (RFC 9457 problem)"))
            operation.responses = responses


_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def _bytes_in(media_types: Sequence[str]) -> dict[str, OpenAPIMediaType]:
    return {media_type: OpenAPIMediaType(schema=_BINARY) for media_type in media_types}


def raw_bodies(
    *,
    request: Sequence[str] = (),
    form_files: Mapping[str, Sequence[str]] | None = None,
    response: Sequence[str] = (),
) -> type[Operation]:
    """An `operation_class` for handlers that read or send raw bytes Litestar cannot see.

    `request`: media types of a raw request body; `form_files`: multipart forms as
    field name -> the other text fields; `response`: media types of the 200's body.
    Litestar would document no request body and a JSON 200; schemathesis flagged the
    200s, and could never send a bundle to fuzz the publish path.
    """

    @dataclass
    class RawBodyOperation(Operation):
        def __post_init__(self) -> None:
            if request or form_files:
                content = _bytes_in(request)
                for file_field, text_fields in (form_files or {}).items():
                    properties: dict[str, Schema | Reference] = {file_field: _BINARY}
                    properties.update(dict.fromkeys(text_fields, _STRING))
                    form = Schema(
                        type=OpenAPIType.OBJECT, required=[file_field], properties=properties
                    )
                    content["multipart/form-data"] = OpenAPIMediaType(schema=form)
                self.request_body = RequestBody(content=content, required=True)
            ok = (self.responses or {}).get("200")
            if response and isinstance(ok, OpenAPIResponse):
                ok.content = _bytes_in(response)

    return RawBodyOperation
