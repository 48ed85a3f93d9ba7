"""`clawhub publish`: stage each uploaded file, then publish them through the catalog.

The last step packs the staged files into a bundle and hands it to the catalog's
own publish path (`checked_skill`, then `PublishService.publish`), so a ClawHub
publish meets every rule, limit, quota and permission a `skreg publish` does:
the API key needs the `publish` scope, the publish rate is spent first, the
namespace (ClawHub's owner handle, by default the caller's username) must be
the caller's, and versions stay immutable.

What ClawHub sends that has no place here is ignored: the display name, the
changelog and dist-tags. ClawHub uploads carry no file modes, so every file
is published as a regular, non-executable file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from skreg_common.errors import BadRequest, Invalid, TooLarge
from skreg_common.principal import Principal
from skreg_common.runtime import Runtime
from skreg_proto.bundle import pack_files
from skreg_proto.problems import FieldProblem
from skreg_proto.skillmd import ParseMode

from skreg_catalog.clawhub.service import sha256_or_400
from skreg_catalog.clawhub.shapes import Published, PublishFile, PublishRequest, UploadUrlRequest
from skreg_catalog.clawhub.staging import TTL, UploadStaging
from skreg_catalog.context import CatalogContext
from skreg_catalog.publishing.limits import spend_publish
from skreg_catalog.publishing.routes import checked_skill, with_rendered_body
from skreg_catalog.publishing.service import PublishService

MAX_PATH = 1024


def check_planned_upload(planned: UploadUrlRequest, catalog: CatalogContext) -> str:
    """The sha256 of a file the CLI is about to upload, once its size and name are allowed."""
    sha = sha256_or_400(planned.sha256.lower(), "sha256")
    if not planned.path or len(planned.path) > MAX_PATH:
        raise BadRequest(f"the file path must be 1 to {MAX_PATH} characters")
    limit = catalog.limits.max_file_bytes
    if planned.size < 0:
        raise BadRequest("the file size cannot be negative")
    if planned.size > limit:
        raise TooLarge(f"{planned.path} is {planned.size} bytes; files may be at most {limit}")
    return sha


async def stage_upload(
    staging: UploadStaging, principal: Principal, sha256: str, size: int, data: bytes
) -> str:
    """Hold one uploaded file; it must be the bytes the upload URL was asked for."""
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise BadRequest("the uploaded bytes do not match the size and sha256 announced for them")
    assert principal.id is not None
    await staging.put(principal.id, sha256, data)
    return sha256


def _check_files(files: Sequence[PublishFile], catalog: CatalogContext) -> list[str]:
    if not files:
        raise BadRequest("a publish must name at least one uploaded file")
    if len(files) > catalog.limits.max_files:
        raise TooLarge(f"a skill may have at most {catalog.limits.max_files} files")
    paths = [file.path for file in files]
    if len(set(paths)) != len(paths):
        raise BadRequest("the same path is named twice")
    return [sha256_or_400(file.storage_id.lower(), "storageId") for file in files]


async def publish(
    request: PublishRequest,
    principal: Principal,
    catalog: CatalogContext,
    staging: UploadStaging,
    runtime: Runtime,
) -> Published:
    """Publish the staged files as `<ownerHandle or username>/<slug>@<version>`."""
    assert principal.id is not None
    shas = _check_files(request.files, catalog)
    await spend_publish(catalog.settings, catalog.publish_rate(runtime), principal)
    held = await staging.take(principal.id, shas)
    missing = [file.path for file, sha in zip(request.files, shas, strict=True) if sha not in held]
    if missing:
        raise BadRequest(
            f"not uploaded, or expired ({TTL // 60} minutes after upload): "
            f"{', '.join(missing[:5])}; run `clawhub publish` again"
        )
    files = {file.path: (held[sha], False) for file, sha in zip(request.files, shas, strict=True)}
    data = pack_files(files, catalog.limits)  # our bundle rules; FormatError lists problems
    namespace = (request.owner_handle or principal.username or "").strip().lstrip("@").lower()
    checked = await checked_skill(
        data,
        limits=catalog.limits,
        mode=ParseMode.STRICT,
        namespace=namespace,
        version=request.version.strip(),
        version_required=True,
    )
    if checked.document.name != request.slug:
        raise Invalid(
            f"the slug {request.slug!r} is not the name in SKILL.md ({checked.document.name!r}); "
            f"a skill here is named by SKILL.md: publish with --slug {checked.document.name}",
            errors=[FieldProblem("slug", "must equal the name in SKILL.md")],
        )
    checked = await with_rendered_body(catalog, checked)
    async with catalog.writer(runtime).transaction() as session:
        result = await PublishService(session, catalog).publish(checked, principal, dry_run=False)
    await staging.drop(principal.id, shas)
    full = f"{result.namespace}/{result.name}"
    return Published(
        skill_id=full,
        version_id=f"{full}@{result.version}",
        slug=result.name,
        version=result.version,
    )
