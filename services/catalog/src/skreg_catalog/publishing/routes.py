"""`POST /api/v1/skills` (publish), and the importer's internal publish and deprecate."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from skreg_common.errors import BadRequest, Invalid
from skreg_common.openapi import raw_bodies
from skreg_common.principal import Principal, requires_scope, requires_service
from skreg_proto.catalog import PublishResponse, Visibility
from skreg_proto.codec import from_json
from skreg_proto.internal import (
    SERVICE_DEPRECATE_PATH,
    SERVICE_PUBLISH_PATH,
    DeprecateRequest,
    DeprecateResult,
    ServicePublishRequest,
    ServicePublishResult,
)
from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.skillmd import ParseMode

from skreg_catalog.context import CatalogContext
from skreg_catalog.publishing.imports import ImportPublisher
from skreg_catalog.publishing.limits import spend_publish
from skreg_catalog.publishing.service import PublishService
from skreg_catalog.publishing.upload import BUNDLE_FIELD, TEXT_FIELDS, read_limited, read_upload
from skreg_catalog.publishing.validate import CheckedSkill, check_skill
from skreg_catalog.rendering.stored import render_for_storage
from skreg_catalog.review.gate import scanned
from skreg_catalog.review.policy import finding_problems
from skreg_catalog.visibility import VISIBILITIES
from skreg_catalog.writer import CatalogWriter

# Checking a bundle is CPU work; past this size it moves off the event loop.
INLINE_CHECK_BYTES = 128 * 1024


async def checked_skill(data: bytes, **kwargs: Any) -> CheckedSkill:
    """`check_skill`, in a worker thread for large bundles."""
    if len(data) > INLINE_CHECK_BYTES:
        return await asyncio.to_thread(lambda: check_skill(data, **kwargs))
    return check_skill(data, **kwargs)


async def with_rendered_body(catalog: CatalogContext, checked: CheckedSkill) -> CheckedSkill:
    """`checked` with its body rendered (off the event loop, through the render pool), so
    the version is stored with its HTML and no transaction waits for the renderer."""
    rendered = await render_for_storage(
        catalog.renderer, checked.bundle.digest, checked.document.body
    )
    return dataclasses.replace(checked, rendered=rendered)


@post(
    "/api/v1/skills",
    guards=[requires_scope("publish")],
    request_max_body_size=None,  # read_upload enforces the bundle limit while streaming
    operation_class=raw_bodies(
        request=["application/gzip"], form_files={BUNDLE_FIELD: sorted(TEXT_FIELDS)}
    ),
    summary="Publish a version",
    tags=["catalog"],
)
async def create_skill_version(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
    dry_run: FromQuery[bool] = False,
    version: FromQuery[str | None] = None,
    namespace: FromQuery[str | None] = None,
    visibility: FromQuery[Visibility | None] = None,
) -> Response[PublishResponse]:
    """Publish a bundle (`application/gzip` body, or the multipart field `bundle`).

    `visibility` (query or multipart field: public, internal, private) sets who may see
    the skill; without it a new skill takes its namespace's default.
    """
    runtime = request.app.state.runtime
    await spend_publish(catalog.settings, catalog.publish_rate(runtime), principal)
    upload = await read_upload(request, catalog.limits.max_compressed_bytes)
    checked = await checked_skill(
        upload.data,
        limits=catalog.limits,
        mode=ParseMode.STRICT,
        namespace=upload.fields.get("namespace") or namespace or principal.username or "",
        version=upload.fields.get("version") or version,
        version_required=True,
    )
    checked = await scanned(catalog, checked, imported=False)
    chosen = upload.fields.get("visibility") or visibility
    if chosen is not None and chosen not in VISIBILITIES:
        raise Invalid(
            "unknown visibility",
            errors=[FieldProblem("visibility", "one of " + ", ".join(VISIBILITIES))],
        )
    if not dry_run:
        checked = await with_rendered_body(catalog, checked)
    # The bundle is checked and rendered; only now take the (SQLite) writer's turn.
    async with writer.transaction() as session:
        result = await PublishService(session, catalog).publish(
            checked, principal, dry_run=dry_run, visibility=chosen
        )
    return Response(result, status_code=201 if result.created else 200)


@post(
    SERVICE_PUBLISH_PATH,
    guards=[requires_service()],
    request_max_body_size=None,  # bounded below: the bundle limit, base64-encoded
    status_code=200,
    include_in_schema=False,
)
async def service_publish(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> ServicePublishResult:
    """Publish one imported skill; validation problems are an `invalid` result, not an error."""
    ceiling = catalog.limits.max_compressed_bytes * 4 // 3 + 64 * 1024
    body = await read_limited(request, ceiling)
    try:
        message = from_json(body, ServicePublishRequest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"invalid publish request: {exc}") from None
    if _too_long(message):
        raise BadRequest(
            "source_id, owner and provenance fields must be at most 64/2048 characters"
        )
    try:
        checked = await checked_skill(
            message.bundle,
            limits=catalog.limits,
            mode=ParseMode.LENIENT,
            namespace=message.namespace,
            version=message.version,
            version_required=False,
            declared=message.version_policy != "generated",
        )
    except FormatError as exc:
        return ServicePublishResult(
            outcome="invalid", namespace=message.namespace, problems=exc.problems
        )
    checked = await scanned(catalog, checked, imported=True)
    if checked.trust is not None and checked.trust.refuse:
        assert checked.report is not None
        return ServicePublishResult(
            outcome="rejected",
            namespace=message.namespace,
            name=checked.document.name,
            digest=checked.bundle.digest,
            problems=finding_problems(checked.report),
        )
    checked = await with_rendered_body(catalog, checked)
    async with writer.transaction() as session:
        return await ImportPublisher(session, catalog).publish_imported(message, checked, principal)


@post(
    SERVICE_DEPRECATE_PATH,
    guards=[requires_service()],
    status_code=200,
    include_in_schema=False,
)
async def service_deprecate(
    data: JSONBody[DeprecateRequest],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
) -> DeprecateResult:
    """Mark skills that vanished upstream as deprecated (never deleted)."""
    async with writer.transaction() as session:
        return await ImportPublisher(session, catalog).deprecate(data)


def _too_long(message: ServicePublishRequest) -> bool:
    provenance = message.provenance
    short = (provenance.source_id, message.owner, message.version_policy)
    long = (
        provenance.repository_url,
        provenance.ref,
        provenance.commit,
        provenance.path,
        provenance.tag,
    )
    return any(v is not None and len(v) > 64 for v in short) or any(
        v is not None and len(v) > 2048 for v in long
    )


HANDLERS = [create_skill_version, service_publish, service_deprecate]
