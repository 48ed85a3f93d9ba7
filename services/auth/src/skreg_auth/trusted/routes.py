"""`/api/v1/auth/trust-policies[/{id}]` and `/api/v1/auth/trusted-publishing/exchange`."""

from __future__ import annotations

from litestar import delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from skreg_common.principal import Principal, requires_user
from skreg_proto.auth import CiToken, CiTokenExchange, TrustPolicyCreate, TrustPolicyOut

from skreg_auth.context import AuthContext


@get("/trust-policies", guards=[requires_user()])
async def list_policies(
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    namespace: str | None = Parameter(default=None, max_length=64),
) -> list[TrustPolicyOut]:
    """The trust policies of the caller's namespace (administrators: every namespace)."""
    return await auth.trusted.list_policies(principal, namespace)


@post("/trust-policies", guards=[requires_user()], status_code=201)
async def create_policy(
    data: JSONBody[TrustPolicyCreate],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> TrustPolicyOut:
    """Let CI jobs whose ID tokens match publish to a namespace (its owner, or an admin)."""
    return await auth.trusted.create(principal, data, client_ip)


@delete("/trust-policies/{policy_id:str}", guards=[requires_user()], status_code=204)
async def delete_policy(
    policy_id: FromPath[str],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> None:
    """Remove a trust policy."""
    await auth.trusted.delete(principal, policy_id, client_ip)


@post(
    "/trusted-publishing/exchange",
    status_code=200,
    cache_control=CacheControlHeader(no_store=True),
)
async def exchange(
    data: JSONBody[CiTokenExchange],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> CiToken:
    """A CI job's OIDC ID token (once) → a short-lived token that publishes to one namespace."""
    return await auth.trusted.exchange(data.token, client_ip)


HANDLERS = [list_policies, create_policy, delete_policy, exchange]
