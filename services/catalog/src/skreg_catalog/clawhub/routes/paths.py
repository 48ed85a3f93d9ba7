"""Where the ClawHub API lives, and what its handlers share for reading requests."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from skreg_common.errors import BadRequest

from skreg_catalog.publishing.upload import read_limited

BASE = "/clawhub"
API = "/api/v1"
SKILL = API + "/skills/{slug:str}"


def api_base(request: Request[Any, Any, Any]) -> str:
    """This registry's ClawHub API base, absolute (the CLI needs one to join paths onto)."""
    return str(request.base_url).rstrip("/") + BASE


async def decode_body(request: Request[Any, Any, Any], limit: int, shape: type[Any]) -> Any:
    """The JSON body as `shape`, at most `limit` bytes (413 past it, 400 if malformed)."""
    body = await read_limited(request, limit)
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError:
        raise BadRequest("the request body is not JSON") from None
