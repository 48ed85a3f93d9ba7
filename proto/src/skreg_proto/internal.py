"""Service-to-service messages (never exposed through Traefik; under `/internal/v1/…`).

Evolution rules (msgspec): no `forbid_unknown_fields` anywhere here, fields added
later get defaults, nothing is ever renamed. Rolling deploys mix versions.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from skreg_proto.problems import FieldProblem

# --- auth -> everyone -------------------------------------------------------

INTERNAL_PREFIX = "/internal/v1"
SERVICE_TOKEN_PATH = f"{INTERNAL_PREFIX}/auth/service-token"
INTROSPECT_PATH = "/api/v1/auth/introspect"
SERVICE_PUBLISH_PATH = f"{INTERNAL_PREFIX}/catalog/publish"
SERVICE_DEPRECATE_PATH = f"{INTERNAL_PREFIX}/catalog/deprecate"


class ServiceTokenRequest(msgspec.Struct):
    """A service proves it holds SERVICE_SECRET and names itself (`catalog`, `importer`, …)."""

    service: str
    secret: str


class ServiceTokenResponse(msgspec.Struct):
    """A short-lived access JWT with role `service`; user credentials never carry that role."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class IntrospectRequest(msgspec.Struct):
    """Resolve an API key (`sr_…`) to its principal."""

    key: str


class IntrospectResponse(msgspec.Struct):
    """`active=False` for unknown, revoked, expired keys or disabled users (no reason leaked)."""

    active: bool
    user_id: str | None = None
    username: str | None = None
    roles: list[str] = msgspec.field(default_factory=list)
    scopes: list[str] = msgspec.field(default_factory=list)
    key_id: str | None = None
    cache_seconds: int = 30
    # The user's organization memberships (name -> role) and the key's namespace limit.
    orgs: dict[str, str] = msgspec.field(default_factory=dict)
    namespaces: list[str] | None = None


# --- importer -> catalog ----------------------------------------------------


class TrustedPublisherProvenance(msgspec.Struct, omit_defaults=True):
    """The CI job that published a version through trusted publishing."""

    issuer: str
    policy_id: str
    claims: dict[str, str] = msgspec.field(default_factory=dict)


class Provenance(msgspec.Struct, omit_defaults=True):
    """Where a version came from: an import (URLs never carry credentials) or a CI job."""

    source_id: str | None = None
    repository_url: str | None = None
    ref: str | None = None
    commit: str | None = None
    path: str | None = None
    imported_at: str | None = None
    tag: str | None = None  # the Git tag the version was taken from, if any
    trusted_publisher: TrustedPublisherProvenance | None = None


# held: published withheld for review; rejected: refused by the scan policy (not stored).
PublishOutcome = Literal[
    "created", "updated", "unchanged", "invalid", "conflict", "held", "rejected"
]


# Versions older registry releases generated for imports: pre-releases, superseded by
# the next import (SKILL_FORMAT.md, Versions).
LEGACY_GENERATED_PREFIX = "0.0.0-git."


class ServicePublishRequest(msgspec.Struct):
    """Publish one imported skill: the bundle plus provenance and lenient-mode warnings.

    `owner` is the user (id) the namespace is created for when new; `version` None
    means: `metadata.version` if declared, else a generated one that sorts after the
    previous import. Same digest as latest → `unchanged`, nothing written.
    `version_policy` is the source's (`declared`, `generate_on_conflict`, `generated`;
    a plain string, so an unknown value from a newer importer reads as `declared`).
    `visibility` is what a skill the import creates gets (None: the namespace's
    default); skills that exist keep theirs.
    """

    namespace: str
    bundle: bytes
    provenance: Provenance
    version: str | None = None
    warnings: list[FieldProblem] = msgspec.field(default_factory=list)
    owner: str | None = None
    version_policy: str = "declared"
    visibility: Literal["public", "internal", "private"] | None = None


class ServicePublishResult(msgspec.Struct):
    """What the catalog did with one imported skill."""

    outcome: PublishOutcome
    namespace: str
    name: str | None = None
    version: str | None = None
    digest: str | None = None
    problems: list[FieldProblem] = msgspec.field(default_factory=list)
    warnings: list[FieldProblem] = msgspec.field(default_factory=list)


class DeprecateRequest(msgspec.Struct):
    """Mark the skills of `source_id` in `namespace` that are not in `keep` as deprecated."""

    namespace: str
    source_id: str
    keep: list[str]
    reason: str = "removed upstream"


class DeprecateResult(msgspec.Struct):
    """The names that were newly marked deprecated."""

    deprecated: list[str]
