"""Signing versions: at publish and import, in the background for older versions, on demand.

Every version the registry serves has one attestation (`Attestation`): the in-toto
statement of `skreg_proto.attestation` in a DSSE envelope, signed once by the key
active at the time and never re-signed (versions are immutable; a rotated key stays
published, so the old signature stays verifiable). The signature is written in the
publish transaction itself (`sign_version`, called by `PublishService._write`).
Versions from before signing existed are signed by `UnsignedVersions` at start-up in
bounded batches, and, should a client ask first, by the attestation route on the
spot (`attestation_for`): nothing is ever served unsigned.

Several processes may sign the same version at once: the insert is
`ON CONFLICT DO NOTHING` and the key id is set only where it is still NULL, so the
first signature wins and stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
import structlog
from skreg_common.db import insert_for, utcnow
from skreg_proto.attestation import (
    KeySet,
    PublicKey,
    SkillVersionPredicate,
    Statement,
    Subject,
    subject_digest,
    subject_name,
)
from skreg_proto.internal import Provenance
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.rendering.stored import Sessions
from skreg_catalog.signing.keys import RegistrySigner
from skreg_catalog.signing.models import Attestation, SigningKey
from skreg_catalog.skills.models import Skill, Version

log = structlog.get_logger(__name__)

# Versions signed per write transaction by the background pass: short turns on SQLite.
BATCH = 64


def statement_for(namespace: str, name: str, version: Version) -> Statement:
    """The in-toto statement for one version (its subject is the bundle digest)."""
    provenance = None
    if version.provenance is not None:
        provenance = msgspec.convert(version.provenance, Provenance)
    return Statement(
        subject=[
            Subject(
                name=subject_name(namespace, name, version.version),
                digest=subject_digest(version.digest),
            )
        ],
        predicate=SkillVersionPredicate(
            namespace=namespace,
            name=name,
            version=version.version,
            digest=version.digest,
            published_at=version.published_at.isoformat().replace("+00:00", "Z"),
            provenance=provenance,
        ),
    )


async def register_key(session: AsyncSession, signer: RegistrySigner) -> None:
    """Record the signer's public key (once) and make it the active key if it is not."""
    now = utcnow()
    insert = insert_for(session)
    await session.execute(
        insert(SigningKey)
        .values(
            keyid=signer.keyid,
            keytype=signer.public_key.keytype,
            scheme=signer.public_key.scheme,
            public=signer.public_hex,
            first_used_at=now,
            activated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[SigningKey.keyid])
    )
    newest = (await session.execute(select(func.max(SigningKey.activated_at)))).scalar_one_or_none()
    # Back to an older key (a rolled-back rotation): it is the active one again.
    await session.execute(
        update(SigningKey)
        .where(SigningKey.keyid == signer.keyid, SigningKey.activated_at < newest)
        .values(activated_at=now)
    )


async def sign_version(
    session: AsyncSession, signer: RegistrySigner, namespace: str, name: str, version: Version
) -> str:
    """Sign `version` inside the caller's write transaction unless it is signed; the key id."""
    if version.signature_keyid is not None:
        return version.signature_keyid
    await sign_rows(session, signer, [(namespace, name, version)])
    return signer.keyid


async def sign_rows(
    session: AsyncSession,
    signer: RegistrySigner,
    rows: Sequence[tuple[str, str, Version]],
) -> None:
    """Sign several versions in one write transaction (the first signature of each stays)."""
    if not rows:
        return
    if not signer.registered:  # before start-up finished: in this transaction
        await register_key(session, signer)
    now = utcnow()
    insert = insert_for(session)
    await session.execute(
        insert(Attestation)
        .values(
            [
                {
                    "version_id": version.id,
                    "keyid": signer.keyid,
                    "envelope": signer.sign(statement_for(namespace, name, version)).decode(),
                    "signed_at": now,
                }
                for namespace, name, version in rows
            ]
        )
        .on_conflict_do_nothing(index_elements=[Attestation.version_id])
    )
    ids = [version.id for _, _, version in rows]
    await session.execute(
        update(Version)
        .where(Version.id.in_(ids), Version.signature_keyid.is_(None))
        .values(signature_keyid=signer.keyid)
        .execution_options(synchronize_session=False)
    )
    for _, _, version in rows:  # the caller's objects show it too (publish responses)
        if version.signature_keyid is None:
            version.signature_keyid = signer.keyid


async def ensure_registered(signer: RegistrySigner, writing: Sessions) -> None:
    """Record the key in its own transaction (at start-up); later signing skips that step."""
    async with writing() as session:
        await register_key(session, signer)
    signer.registered = True


async def stored_envelope(session: AsyncSession, version_id: int) -> bytes | None:
    """The version's envelope JSON, None when it is not signed yet."""
    query = select(Attestation.envelope).where(Attestation.version_id == version_id)
    envelope = (await session.execute(query)).scalar_one_or_none()
    return None if envelope is None else envelope.encode()


async def attestation_for(session: AsyncSession, signer: RegistrySigner, version_id: int) -> bytes:
    """The version's envelope, signed now (in the caller's write transaction) if it had none."""
    envelope = await stored_envelope(session, version_id)
    if envelope is not None:
        return envelope
    row = (
        await session.execute(
            select(Skill.namespace, Skill.name, Version)
            .join(Skill, Skill.id == Version.skill_id)
            .where(Version.id == version_id)
        )
    ).one()
    await sign_rows(session, signer, [(row[0], row[1], row[2])])
    envelope = await stored_envelope(session, version_id)
    assert envelope is not None
    return envelope


async def key_set(session: AsyncSession) -> KeySet:
    """Every key the registry has signed with; the most recently activated is `active`."""
    rows = (
        await session.execute(
            select(SigningKey).order_by(SigningKey.activated_at.desc(), SigningKey.keyid)
        )
    ).scalars()
    keys = []
    for index, key in enumerate(rows):
        keys.append(
            PublicKey(
                keyid=key.keyid,
                keytype=key.keytype,
                scheme=key.scheme,
                keyval={"public": key.public},
                status="active" if index == 0 else "retired",
                first_used_at=key.first_used_at.isoformat().replace("+00:00", "Z"),
            )
        )
    return KeySet(keys=keys)


def _unsigned_after(last_id: int) -> Any:
    return (
        select(Skill.namespace, Skill.name, Version)
        .join(Skill, Skill.id == Version.skill_id)
        .where(Version.id > last_id, Version.signature_keyid.is_(None))
        .order_by(Version.id)
        .limit(BATCH)
    )


class UnsignedVersions:
    """Signs, in the background at start-up, every version that has no signature yet."""

    def __init__(self) -> None:
        self._task: asyncio.Task[int] | None = None
        self.signed = 0  # by the last pass (for logs and tests)

    def start(self, signer: RegistrySigner, writing: Sessions) -> None:
        """Start one pass (at start-up)."""
        if self._task is None:
            self._task = asyncio.create_task(self.sign_all(signer, writing), name="sign-unsigned")

    @property
    def done(self) -> bool:
        """The start-up pass has finished (or never started)."""
        return self._task is None or self._task.done()

    async def stop(self) -> None:
        """Stop the pass (at shutdown); the next start-up resumes it."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def sign_all(self, signer: RegistrySigner, writing: Sessions) -> int:
        """Sign every unsigned version, BATCH per write transaction; how many were signed.

        Each batch is read inside its write transaction: signing 64 versions takes a
        few milliseconds, and only then is no other writer's signature overwritten.
        """
        last_id, signed = 0, 0
        try:
            while True:
                async with writing() as session:
                    rows = (await session.execute(_unsigned_after(last_id))).all()
                    if rows:
                        batch = [(row[0], row[1], row[2]) for row in rows]
                        await sign_rows(session, signer, batch)
                if not rows:
                    break
                last_id = rows[-1][2].id
                signed += len(rows)
                self.signed = signed
        except Exception:  # the next start-up, or a client's first request, signs the rest
            log.exception("signing.backfill_failed", signed=signed)
            return signed
        if signed:
            log.info("signing.backfilled", signed=signed, keyid=signer.keyid)
        return signed
