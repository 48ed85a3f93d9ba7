"""Errors in the OpenAPI document as they are sent: `application/problem+json` bodies.

Litestar documents the 4xx responses it knows of (validation errors) as
`application/json` with its own error shape, and nothing else. Every error this
registry sends is an RFC 9457 problem (`skreg_common.errors`), so clients and
schema-driven tools (schemathesis flagged the mismatch) should read exactly that:
each documented 4xx/5xx becomes a `ProblemDetails` problem+json response, and every
operation gets a `default` response saying the same of any other error status.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
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
