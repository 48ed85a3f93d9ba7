"""Trust policies, and the exchange of a CI job's OIDC ID token for a publish token.

A policy says: ID tokens from `issuer` (one the operator listed in
TRUSTED_PUBLISHING_ISSUERS: we fetch its keys, so policy authors must not be able to
point us anywhere), for `audience`, whose claims equal `claims`, may publish to
`namespace`. The exchange verifies the token with the issuer's JWKS (signature,
issuer, expiry), picks the policy whose audience and claims match, refuses a token
already exchanged (its SHA-256 is kept until it expires), and signs a token with only
the publish scope, for only that namespace, for TRUSTED_PUBLISHING_TOKEN_TTL seconds.
Versions published with it record the issuer and the CI job's claims as provenance.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from skreg_common.db import unit_of_work, utcnow
from skreg_common.errors import Forbidden, Invalid, NotFound, Unauthorized
from skreg_common.principal import Principal, org_role_at_least
from skreg_proto.auth import CiToken, TrustPolicyCreate, TrustPolicyOut
from skreg_proto.problems import FieldProblem
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_auth.audit.service import AuditService
from skreg_auth.orgs.models import Org
from skreg_auth.orgs.service import memberships_of
from skreg_auth.settings import AuthSettings
from skreg_auth.sso.oidc import OidcProvider, TokenRejected
from skreg_auth.tokens.signing import TokenIssuer
from skreg_auth.trusted.models import TrustPolicy, UsedCiToken
from skreg_auth.users.models import User

_CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")
MAX_CLAIMS = 20
MAX_POLICIES_PER_NAMESPACE = 50
# Claims worth keeping in provenance besides those a policy requires.
PROVENANCE_CLAIMS = (
    "sub",
    "repository",
    "repository_id",
    "ref",
    "sha",
    "workflow_ref",
    "run_id",
    "run_attempt",
    "project_path",
    "project_id",
    "pipeline_id",
    "job_id",
    "ref_protected",
    "environment",
)
# Well-known CI issuers and the claim a policy for them must pin (else any project there
# could publish).
REQUIRED_CLAIM = {
    "https://token.actions.githubusercontent.com": "repository",
    "https://gitlab.com": "project_path",
}

log = structlog.get_logger(__name__)


def to_policy(policy: TrustPolicy) -> TrustPolicyOut:
    """The API shape of a policy."""
    return TrustPolicyOut(
        id=policy.id,
        namespace=policy.namespace,
        issuer=policy.issuer,
        audience=policy.audience,
        claims=dict(policy.claims),
        created_at=policy.created_at,
        created_by=policy.created_by,
    )


def _claim_text(value: object) -> str:
    """Claims compared as text: GitLab sends `ref_protected` as "true", others as true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unverified_issuer(token: str) -> str | None:
    """The `iss` the token claims, read only to choose whose keys verify it."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16 * 1024:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    return issuer.rstrip("/") if isinstance(issuer, str) else None


@dataclass
class TrustedPublishing:
    """Policies and exchanges, wired once per process."""

    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    issuer: TokenIssuer
    providers: dict[str, OidcProvider]

    def provider(self, issuer: str) -> OidcProvider:
        """The (cached) provider of a trusted issuer."""
        if issuer not in self.providers:
            self.providers[issuer] = OidcProvider(issuer, timeout=self.settings.sso_timeout_seconds)
        return self.providers[issuer]

    # --- policies -------------------------------------------------------------------

    def _may_manage(self, principal: Principal, namespace: str) -> bool:
        # User namespaces: their owner. Organization namespaces (an organization's
        # namespace bears its name): its owners and admins. Administrators: any.
        # A namespace-limited credential (trusted-publishing token, limited key) never.
        if principal.namespaces is not None or principal.kind != "user":
            return False
        if principal.is_admin or principal.username == namespace:
            return True
        return org_role_at_least(principal.org_role(namespace), "admin")

    async def create(
        self, principal: Principal, data: TrustPolicyCreate, client_ip: str | None
    ) -> TrustPolicyOut:
        """Register a policy (an administrator, or the namespace's owner)."""
        problems = self._problems(data)
        if problems:
            raise Invalid(errors=problems)
        issuer = data.issuer.rstrip("/")
        if not self._may_manage(principal, data.namespace):
            raise Forbidden(f"only the owner of '{data.namespace}' or an administrator may")
        async with unit_of_work(self.sessions) as session:
            owner = await session.scalar(select(User).where(User.username == data.namespace))
            org = await session.scalar(select(Org.id).where(Org.name == data.namespace))
            if org is not None:
                # An organization's policy publishes as the member who registered it
                # (while that member may publish there: the token carries the role).
                owner = await session.get(User, principal.id)
            if owner is None:
                raise Invalid(errors=[FieldProblem("namespace", "no user owns this namespace")])
            count = len(
                (
                    await session.scalars(
                        select(TrustPolicy.id).where(TrustPolicy.namespace == data.namespace)
                    )
                ).all()
            )
            if count >= MAX_POLICIES_PER_NAMESPACE:
                raise Invalid(errors=[FieldProblem("namespace", "has too many trust policies")])
            policy = TrustPolicy(
                id=secrets.token_hex(8),
                namespace=data.namespace,
                user_id=owner.id,
                issuer=issuer,
                audience=data.audience,
                claims={k: _claim_text(v) for k, v in data.claims.items()},
                created_by=principal.id,
                created_at=utcnow(),
            )
            session.add(policy)
            AuditService(session).record(
                "trust_policy.created",
                actor=principal,
                target_type="trust_policy",
                target_id=policy.id,
                client_ip=client_ip,
                details={
                    "namespace": policy.namespace,
                    "issuer": issuer,
                    "audience": policy.audience,
                    "claims": policy.claims,
                },
            )
            return to_policy(policy)

    def _problems(self, data: TrustPolicyCreate) -> list[FieldProblem]:
        problems = []
        issuer = data.issuer.rstrip("/")
        if not _NAMESPACE.fullmatch(data.namespace):
            problems.append(FieldProblem("namespace", "not a namespace name"))
        if issuer not in self.settings.trusted_issuers:
            trusted = ", ".join(sorted(self.settings.trusted_issuers)) or "none"
            problems.append(
                FieldProblem("issuer", f"not an issuer this registry trusts (trusted: {trusted})")
            )
        if not 0 < len(data.audience) <= 255 or not data.audience.isprintable():
            problems.append(FieldProblem("audience", "1 to 255 printable characters"))
        if not 0 < len(data.claims) <= MAX_CLAIMS:
            problems.append(
                FieldProblem("claims", f"1 to {MAX_CLAIMS} claims that the CI token must match")
            )
        for name, value in data.claims.items():
            if not _CLAIM_NAME.fullmatch(name) or name in ("iss", "aud", "exp", "iat", "nbf"):
                problems.append(FieldProblem(f"claims.{name[:64]}", "not a claim a policy pins"))
            elif len(_claim_text(value)) > 512:
                problems.append(FieldProblem(f"claims.{name}", "at most 512 characters"))
        required = REQUIRED_CLAIM.get(issuer)
        if required is not None and required not in data.claims:
            problems.append(FieldProblem("claims", f"tokens from {issuer} must pin '{required}'"))
        return problems

    async def list_policies(
        self, principal: Principal, namespace: str | None
    ) -> list[TrustPolicyOut]:
        """The policies the caller may see (administrators: all, or one namespace's)."""
        query = select(TrustPolicy).order_by(TrustPolicy.created_at, TrustPolicy.id)
        if namespace is not None:
            query = query.where(TrustPolicy.namespace == namespace)
        if not principal.is_admin:
            managed = [principal.username or ""] + [
                org for org, role in principal.orgs if org_role_at_least(role, "admin")
            ]
            query = query.where(TrustPolicy.namespace.in_(managed))
        async with self.sessions() as session:
            return [to_policy(p) for p in await session.scalars(query)]

    async def delete(self, principal: Principal, policy_id: str, client_ip: str | None) -> None:
        """Remove a policy (tokens already exchanged run out within their short life)."""
        async with unit_of_work(self.sessions) as session:
            policy = await session.get(TrustPolicy, policy_id[:32])
            if policy is None or not self._may_manage(principal, policy.namespace):
                raise NotFound("no such trust policy")
            await session.delete(policy)
            AuditService(session).record(
                "trust_policy.deleted",
                actor=principal,
                target_type="trust_policy",
                target_id=policy.id,
                client_ip=client_ip,
                details={"namespace": policy.namespace, "issuer": policy.issuer},
            )

    # --- the exchange ---------------------------------------------------------------

    async def exchange(self, token: str, client_ip: str | None) -> CiToken:
        """A CI ID token → a short-lived token that may publish to one namespace."""
        issuer = _unverified_issuer(token)
        if issuer is None:
            raise Unauthorized("the CI token is not a JWT")
        if issuer not in self.settings.trusted_issuers:
            await self._refused(client_ip, issuer, "untrusted_issuer")
            raise Unauthorized(f"tokens from '{issuer[:200]}' are not trusted by this registry")
        async with self.sessions() as session:
            policies = list(
                await session.scalars(select(TrustPolicy).where(TrustPolicy.issuer == issuer))
            )
        if not policies:
            await self._refused(client_ip, issuer, "no_policy")
            raise Forbidden(f"no trust policy accepts tokens from {issuer}")
        try:
            claims = await self.provider(issuer).verify(token, audience=None)
        except TokenRejected as exc:
            await self._refused(client_ip, issuer, f"token:{exc.detail}")
            raise
        policy = self._match(policies, claims)
        if policy is None:
            audiences = claims.get("aud")
            audience_list = audiences if isinstance(audiences, list) else [audiences]
            if not any(p.audience in audience_list for p in policies):
                reason = "the CI token is meant for another audience than any trust policy names"
            else:
                reason = "the CI token's claims match no trust policy"
            await self._refused(client_ip, issuer, reason)
            raise Forbidden(reason)
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), tz=dt.UTC)
        recorded = {
            k: _claim_text(claims[k])[:256]
            for k in (*policy.claims, *PROVENANCE_CLAIMS)
            if k in claims
        }
        async with unit_of_work(self.sessions) as session:
            await session.execute(delete(UsedCiToken).where(UsedCiToken.expires_at <= utcnow()))
        try:
            async with unit_of_work(self.sessions) as session:
                session.add(
                    UsedCiToken(
                        token_hash=hashlib.sha256(token.encode()).hexdigest(), expires_at=expires
                    )
                )
                owner = await session.get(User, policy.user_id)
                if owner is None or owner.disabled:
                    raise Forbidden("the namespace's owner account is disabled")
                memberships = await memberships_of(session, owner.id)
                role = memberships.get(policy.namespace)
                access = self.issuer.publishing_token(
                    orgs={} if role is None else {policy.namespace: role},
                    user_id=owner.id,
                    username=owner.username,
                    token_version=owner.token_version,
                    namespace=policy.namespace,
                    publisher={"iss": issuer, "policy": policy.id, "claims": recorded},
                    ttl=self.settings.trusted_publishing_token_ttl,
                )
                AuditService(session).record(
                    "trusted_publishing.exchanged",
                    actor_id=owner.id,
                    actor_name=owner.username,
                    target_type="trust_policy",
                    target_id=policy.id,
                    client_ip=client_ip,
                    details={"issuer": issuer, "namespace": policy.namespace, "claims": recorded},
                )
        except IntegrityError:
            await self._refused(client_ip, issuer, "replayed")
            raise Unauthorized(
                "this CI token was already exchanged; request a fresh one from the CI job"
            ) from None
        return CiToken(
            access_token=access,
            expires_in=self.settings.trusted_publishing_token_ttl,
            namespace=policy.namespace,
            policy_id=policy.id,
        )

    @staticmethod
    def _match(policies: Sequence[TrustPolicy], claims: dict[str, Any]) -> TrustPolicy | None:
        audiences = claims.get("aud")
        audience_list = audiences if isinstance(audiences, list) else [audiences]
        for policy in policies:
            if policy.audience not in audience_list:
                continue
            if all(
                name in claims and _claim_text(claims[name]) == expected
                for name, expected in policy.claims.items()
            ):
                return policy
        return None

    async def _refused(self, client_ip: str | None, issuer: str, reason: str) -> None:
        async with unit_of_work(self.sessions) as session:
            AuditService(session).record(
                "trusted_publishing.refused",
                outcome="failure",
                client_ip=client_ip,
                details={"issuer": issuer[:200], "reason": reason[:200]},
            )
        log.info("trusted_publishing.refused", issuer=issuer[:200], reason=reason)
