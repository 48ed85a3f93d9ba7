"""Every served version is signed: an in-toto statement in a DSSE envelope (Ed25519).

Verification here uses securesystemslib, as any verifier would: the envelope from
`…/attestation`, the key from `/.well-known/skills-registry/keys.json`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from skreg_catalog.context import CatalogContext
from skreg_catalog.purge.__main__ import PurgeSettings
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.signing.keys import RegistrySigner, load_signer, write_key_file
from skreg_catalog.signing.models import Attestation
from skreg_catalog.skills.models import Version
from skreg_common.db import create_engine, create_sessionmaker, unit_of_work
from skreg_common.settings import SettingsError, load_settings
from skreg_proto.attestation import KEYS_PATH, PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE
from skreg_proto.codec import to_json
from skreg_proto.internal import SERVICE_PUBLISH_PATH, Provenance, ServicePublishRequest
from sqlalchemy import delete, update

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import auth, bundle, published, user_id

VERSIONS = "/api/v1/skills/{}/{}/versions/{}"


async def _keys(client: Any) -> dict[str, SSlibKey]:
    response = await client.get(KEYS_PATH)
    assert response.status_code == 200, response.text
    return {
        key["keyid"]: SSlibKey.from_dict(
            key["keyid"], {k: key[k] for k in ("keytype", "scheme", "keyval")}
        )
        for key in response.json()["keys"]
    }


async def _verified(client: Any, namespace: str, name: str, version: str) -> dict[str, Any]:
    """The statement of a version's attestation, after checking its signature."""
    response = await client.get(VERSIONS.format(namespace, name, version) + "/attestation")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    envelope = Envelope.from_dict(response.json())
    assert envelope.payload_type == PAYLOAD_TYPE
    keys = await _keys(client)
    envelope.verify(list(keys.values()), 1)  # raises VerificationError when it does not verify
    statement: dict[str, Any] = json.loads(envelope.payload)
    statement["_keyid"] = next(iter(envelope.signatures))
    return statement


async def test_a_published_version_is_signed_and_verifies(client: httpx.AsyncClient) -> None:
    created = await published(client, "signed", "1.0.0")
    keys = await _keys(client)
    assert created["signature_keyid"] in keys
    statement = await _verified(client, "alice", "signed", "1.0.0")
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"] == [
        {
            "name": "alice/signed@1.0.0",
            "digest": {"sha256": created["digest"].removeprefix("sha256:")},
        }
    ]
    predicate = statement["predicate"]
    assert (predicate["namespace"], predicate["name"], predicate["version"]) == (
        "alice",
        "signed",
        "1.0.0",
    )
    assert predicate["digest"] == created["digest"]
    assert predicate["published_at"].startswith(created["published_at"][:19])
    assert "provenance" not in predicate
    assert statement["_keyid"] == created["signature_keyid"]
    detail = (await client.get(VERSIONS.format("alice", "signed", "1.0.0"))).json()
    assert detail["signature_keyid"] == created["signature_keyid"]


async def test_an_imported_version_carries_its_provenance(client: httpx.AsyncClient) -> None:
    provenance = Provenance(
        source_id="src-9",
        repository_url="https://git.example.com/team/skills.git",
        ref="main",
        commit="c0ffee00" * 5,
        path="skills/imported",
        tag="v2.0.0",
    )
    message = ServicePublishRequest(
        namespace="team",
        bundle=bundle("imported", version="2.0.0"),
        provenance=provenance,
        owner=user_id("alice"),
    )
    response = await client.post(
        SERVICE_PUBLISH_PATH,
        content=to_json(message),
        headers={"Content-Type": "application/json", **auth("importer")},
    )
    assert response.json()["outcome"] == "created", response.text
    predicate = (await _verified(client, "team", "imported", "2.0.0"))["predicate"]
    signed = predicate["provenance"]
    assert signed["repository_url"] == "https://git.example.com/team/skills.git"
    assert (signed["commit"], signed["path"], signed["source_id"], signed["tag"]) == (
        "c0ffee00" * 5,
        "skills/imported",
        "src-9",
        "v2.0.0",
    )
    assert signed["imported_at"]


async def test_a_changed_statement_or_an_unknown_key_does_not_verify(
    client: httpx.AsyncClient,
) -> None:
    await published(client, "forged", "1.0.0")
    response = await client.get(VERSIONS.format("alice", "forged", "1.0.0") + "/attestation")
    raw = response.json()
    keys = list((await _keys(client)).values())
    statement = json.loads(base64.b64decode(raw["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    forged = {**raw, "payload": base64.b64encode(json.dumps(statement).encode()).decode()}
    for envelope in (forged, {**raw, "signatures": [{**raw["signatures"][0], "keyid": "ab" * 32}]}):
        try:
            Envelope.from_dict(envelope).verify(keys, 1)
        except VerificationError:
            continue
        raise AssertionError("a forged envelope verified")


async def test_missing_versions_have_no_attestation(client: httpx.AsyncClient) -> None:
    response = await client.get(VERSIONS.format("alice", "nothing", "1.0.0") + "/attestation")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def _unsign(database_url: str, *version_ids: int) -> None:
    """What a version from before signing looks like: no attestation, no key id."""
    engine = create_engine(database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await session.execute(
                delete(Attestation).where(Attestation.version_id.in_(version_ids))
            )
            await session.execute(
                update(Version).where(Version.id.in_(version_ids)).values(signature_keyid=None)
            )
    finally:
        await engine.dispose()


async def _version_id(database_url: str, version: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = Version.__table__.select().where(Version.version == version)
            return int((await connection.execute(query)).one().id)
    finally:
        await engine.dispose()


async def test_rotation_keeps_old_signatures_and_signs_old_versions_in_the_background(
    catalog_settings: CatalogSettings,
) -> None:
    first = CatalogContext.create(catalog_settings)
    async with built_catalog(catalog_settings, first) as app, AsyncTestClient(app) as client:
        old = await published(client, "rotated", "1.0.0")
        legacy = await published(client, "rotated", "1.1.0")
        lazy = await published(client, "rotated", "1.2.0")
    assert old["signature_keyid"] == first.signer.keyid
    ids = [await _version_id(catalog_settings.database_url, v["version"]) for v in (legacy, lazy)]
    await _unsign(catalog_settings.database_url, *ids)

    second = CatalogContext.create(catalog_settings)
    second.signer = RegistrySigner.ephemeral()  # the rotated key
    async with built_catalog(catalog_settings, second) as app, AsyncTestClient(app) as client:
        for _ in range(250):  # the pass runs on the app's own loop: poll, at most 5 s
            if second.unsigned.done:
                break
            await asyncio.sleep(0.02)
        assert second.unsigned.signed == 2  # the start-up pass signed both
        keys = (await client.get(KEYS_PATH)).json()["keys"]
        status = {key["keyid"]: key["status"] for key in keys}
        assert status == {second.signer.keyid: "active", first.signer.keyid: "retired"}
        # The old signature stays, made by the retired key, and still verifies.
        assert (await _verified(client, "alice", "rotated", "1.0.0"))[
            "_keyid"
        ] == first.signer.keyid
        assert (await _verified(client, "alice", "rotated", "1.1.0"))[
            "_keyid"
        ] == second.signer.keyid
        new = await published(client, "rotated", "2.0.0")
        assert new["signature_keyid"] == second.signer.keyid
        assert (await _verified(client, "alice", "rotated", "2.0.0"))[
            "_keyid"
        ] == second.signer.keyid
        # A version whose signature is still missing is signed when first asked for.
        await _unsign(catalog_settings.database_url, ids[1])
        statement = await _verified(client, "alice", "rotated", "1.2.0")
        assert statement["_keyid"] == second.signer.keyid
        assert statement["subject"][0]["name"] == "alice/rotated@1.2.0"
        detail = (await client.get(VERSIONS.format("alice", "rotated", "1.2.0"))).json()
        assert detail["signature_keyid"] == second.signer.keyid


def test_the_key_command_makes_a_key_once(tmp_path: Path) -> None:
    """The README's rotation command, as written, in a scratch folder."""
    command = "python -m skreg_catalog.signing generate-key signing-key-2.pem"
    argv = [sys.executable, *command.split()[1:]]
    made = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    key_file = tmp_path / "signing-key-2.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert made.stdout.strip() == load_signer(str(key_file), None).keyid
    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert "keys are never overwritten" in again.stderr


def test_production_needs_a_usable_signing_key(tmp_path: Path) -> None:
    prod = {"ENVIRONMENT": "prod", "SECRET_KEY": "k" * 40, "SERVICE_SECRET": "s" * 40}
    with pytest.raises(SettingsError, match="SIGNING_KEY_FILE \\(or SIGNING_KEY\\) is not set"):
        load_settings(CatalogSettings, prod)
    assert load_settings(PurgeSettings, prod).signing_key_file is None  # purging signs nothing
    broken = tmp_path / "broken.pem"
    broken.write_text("not a key")
    with pytest.raises(SettingsError, match="is not an unencrypted PEM private key"):
        load_settings(CatalogSettings, {**prod, "SIGNING_KEY_FILE": str(broken)})
    with pytest.raises(SettingsError, match="cannot read SIGNING_KEY_FILE"):
        load_settings(CatalogSettings, {"SIGNING_KEY_FILE": str(tmp_path / "absent.pem")})
    key_file = tmp_path / "ok.pem"
    keyid = write_key_file(key_file).keyid
    settings = load_settings(CatalogSettings, {**prod, "SIGNING_KEY_FILE": str(key_file)})
    assert CatalogContext.create(settings).signer.keyid == keyid
