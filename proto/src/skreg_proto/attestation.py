"""What the registry signs for each version it serves, and where its keys are published.

The signed document is an in-toto Statement v1 (https://github.com/in-toto/attestation,
spec/v1/statement.md) in a DSSE envelope signed with Ed25519. Its one subject is the
bundle: named `namespace/name@version`, with the sha256 of the canonical bundle digest
(`skreg_proto.digest.compute_digest`, the `sha256:<hex>` every version carries). The
predicate repeats those and adds the publish time and, for imports, the Git
provenance. Signing and verifying (the DSSE pre-authentication encoding, the key ids)
are securesystemslib's; this module only names the shapes both ends agree on.

Evolution rules (msgspec): fields added later get defaults; nothing is renamed.
"""

from __future__ import annotations

import msgspec

from skreg_proto.internal import Provenance

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://skills-registry.dev/attestation/skill-version/v1"
# Where the registry publishes its public keys (the active one and every retired one).
KEYS_PATH = "/.well-known/skills-registry/keys.json"
DIGEST_PREFIX = "sha256:"


class Subject(msgspec.Struct, kw_only=True):
    """in-toto ResourceDescriptor: what the statement is about."""

    name: str
    digest: dict[str, str]


class SkillVersionPredicate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What the registry vouches for about one version."""

    namespace: str
    name: str
    version: str
    digest: str  # `sha256:<hex>`, as the API shows it
    published_at: str  # RFC 3339, UTC
    provenance: Provenance | None = None  # imports: repository, commit, path, source, tag


class Statement(msgspec.Struct, kw_only=True, rename={"type_": "_type"}):
    """in-toto Statement v1 with the skill-version predicate."""

    type_: str = STATEMENT_TYPE
    subject: list[Subject]
    predicateType: str = PREDICATE_TYPE  # noqa: N815 - the in-toto field name
    predicate: SkillVersionPredicate


class PublicKey(msgspec.Struct, kw_only=True):
    """One verification key, in securesystemslib's key shape plus its status.

    `keyid` is securesystemslib's: the sha256 of the key's canonical JSON
    (`keytype`, `scheme`, `keyval`). `status` is `active` for the key new versions
    are signed with, `retired` for keys that signed older versions (still valid
    for those).
    """

    keyid: str
    keytype: str
    scheme: str
    keyval: dict[str, str]
    status: str = "active"
    first_used_at: str | None = None


class KeySet(msgspec.Struct, kw_only=True):
    """The document at `KEYS_PATH`."""

    keys: list[PublicKey]


class DsseSignature(msgspec.Struct, kw_only=True):
    """One DSSE signature (base64 `sig`)."""

    keyid: str
    sig: str


class DsseEnvelope(msgspec.Struct, kw_only=True):
    """A DSSE envelope as JSON (`payload` base64); for OpenAPI and tolerant readers."""

    payload: str
    payloadType: str  # noqa: N815 - the DSSE field name
    signatures: list[DsseSignature]


def subject_name(namespace: str, name: str, version: str) -> str:
    """The subject name of a version: `namespace/name@version`."""
    return f"{namespace}/{name}@{version}"


def subject_digest(digest: str) -> dict[str, str]:
    """The in-toto digest set for a `sha256:<hex>` bundle digest."""
    if not digest.startswith(DIGEST_PREFIX):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return {"sha256": digest.removeprefix(DIGEST_PREFIX)}
