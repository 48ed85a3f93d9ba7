"""The ClawHub API's account and publishing steps: whoami, upload URLs, uploads, publish."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from skreg_common.errors import BadRequest
from skreg_common.principal import Principal, requires_scope, requires_user
from skreg_common.runtime import Runtime

from skreg_catalog.clawhub.publish import check_planned_upload, publish, stage_upload
from skreg_catalog.clawhub.routes.paths import API, api_base, decode_body
from skreg_catalog.clawhub.shapes import (
    Published,
    PublishRequest,
    Uploaded,
    UploadUrl,
    UploadUrlRequest,
    User,
    Whoami,
)
from skreg_catalog.clawhub.staging import UploadStaging
from skreg_catalog.context import CatalogContext
from skreg_catalog.publishing.upload import read_limited

MAX_PUBLISH_REQUEST = 2 * 1024**2  # the JSON naming up to 1000 uploaded files
MAX_SMALL_REQUEST = 16 * 1024


@get(API + "/whoami", guards=[requires_user()])
async def get_whoami(principal: NamedDependency[Principal]) -> Whoami:
    """The caller behind the API key (`clawhub login --token`): the handle is the username."""
    user = User(
        handle=principal.username,
        display_name=principal.username,
        role="admin" if principal.is_admin else "user",
    )
    return Whoami(user=user)


@post(API + "/skills/-/upload-url", guards=[requires_scope("publish")], status_code=200)
async def create_upload_url(
    request: Request[Any, Any, Any], catalog: NamedDependency[CatalogContext]
) -> UploadUrl:
    """Where to upload one file of a publish (its size is checked against the limit here)."""
    planned: UploadUrlRequest = await decode_body(request, MAX_SMALL_REQUEST, UploadUrlRequest)
    sha = check_planned_upload(planned, catalog)
    url = f"{api_base(request)}{API}/skills/-/upload?sha256={sha}&size={planned.size}"
    return UploadUrl(upload_url=url, upload_ticket=sha)


@post(
    API + "/skills/-/upload",
    guards=[requires_scope("publish")],
    status_code=200,
    request_max_body_size=None,  # bounded below by the announced size, itself bounded
)
async def upload_file(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    principal: NamedDependency[Principal],
    staging: NamedDependency[UploadStaging],
    sha256: str = Parameter(max_length=64),
    size: int = Parameter(ge=0),
) -> Uploaded:
    """One file's bytes, held (not published) until the publish request names them."""
    if size > catalog.limits.max_file_bytes:
        raise BadRequest(f"files may be at most {catalog.limits.max_file_bytes} bytes")
    data = await read_limited(request, size)
    stored = await stage_upload(staging, principal, sha256, size, data)
    return Uploaded(storage_id=stored)


@post(
    API + "/skills",
    guards=[requires_scope("publish")],
    status_code=200,
    request_max_body_size=None,  # read_limited bounds it
)
async def publish_skill(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    principal: NamedDependency[Principal],
    staging: NamedDependency[UploadStaging],
) -> Published:
    """Publish the uploaded files as one version, through the catalog's publish path."""
    body: PublishRequest = await decode_body(request, MAX_PUBLISH_REQUEST, PublishRequest)
    runtime: Runtime = request.app.state.runtime
    return await publish(body, principal, catalog, staging, runtime)


HANDLERS = [get_whoami, create_upload_url, upload_file, publish_skill]
