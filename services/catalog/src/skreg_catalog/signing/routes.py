"""A version's signed attestation, and the registry's public keys at a well-known URL."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from skreg_proto.attestation import KEYS_PATH, DsseEnvelope, KeySet
from skreg_proto.codec import to_json

from skreg_catalog.context import CatalogContext
from skreg_catalog.etags import cached_by_etag, etag_matches
from skreg_catalog.review.visibility import PRIVATE_CACHING
from skreg_catalog.signing.service import attestation_for, key_set, stored_envelope
from skreg_catalog.skills.routes import VERSION, located_for
from skreg_catalog.writer import CatalogWriter

# Keys are added on rotation and never removed: a few minutes' staleness only delays
# trusting a new key, which clients fetch again when they meet an unknown key id.
KEYS_CACHING = "public, max-age=300"


@get(VERSION + "/attestation", summary="The version's signed attestation", tags=["catalog"])
async def get_attestation(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
) -> Response[DsseEnvelope]:
    """A DSSE envelope (Ed25519) around an in-toto Statement v1 about this version.

    The statement's subject is `namespace/name@version` with the sha256 of the bundle
    digest; its predicate (`https://skills-registry.dev/attestation/skill-version/v1`)
    repeats namespace, name, version and digest and adds the publish time and, for
    imports, the Git provenance. Verify it with the key of the envelope's `keyid` from
    `/.well-known/skills-registry/keys.json`. Signed once, so an exact version is
    cached immutably like its download; `latest` is revalidated.
    """
    runtime = request.app.state.runtime
    # A withheld version's attestation is served to those who may see the version.
    # A skill the caller may not see is 404 here too (`skreg_catalog.visibility`).
    found, withheld, shared = await located_for(request, catalog, namespace, name, version)

    async def load() -> bytes:
        async with catalog.reading(runtime) as session:
            envelope = await stored_envelope(session, found.version_id)
        if envelope is None:  # from before signing, and the background pass is not there yet
            async with writer.transaction() as session:
                envelope = await attestation_for(session, catalog.signer, found.version_id)
        return envelope

    body = await catalog.reads.get_or_load(("attestation", found.version_id), load)
    etag = "a-" + hashlib.blake2b(body, digest_size=16).hexdigest()
    headers, unchanged = cached_by_etag(request, version, etag, shared=shared)
    if unchanged is not None:
        return cast("Response[DsseEnvelope]", unchanged)
    if withheld:
        headers["Cache-Control"] = PRIVATE_CACHING
    content = cast(DsseEnvelope, body)  # already JSON; the annotation documents the schema
    return Response(content, media_type=MediaType.JSON, headers=headers)


@get(KEYS_PATH, summary="The registry's signing keys", tags=["well-known"])
async def get_keys(
    request: Request[Any, Any, Any], catalog: NamedDependency[CatalogContext]
) -> Response[KeySet]:
    """Every public key the registry has signed versions with, by securesystemslib key id.

    `status` is `active` for the key new versions are signed with and `retired` for
    keys replaced by a rotation; retired keys stay listed so that the versions they
    signed stay verifiable.
    """

    async def load(session: Any) -> bytes:
        return to_json(await key_set(session))

    body = await catalog.read(request, ("signing-keys",), load)
    etag = '"k-' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": KEYS_CACHING}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return cast("Response[KeySet]", Response(b"", status_code=304, headers=headers))
    return Response(cast(KeySet, body), media_type=MediaType.JSON, headers=headers)


HANDLERS = [get_attestation, get_keys]
