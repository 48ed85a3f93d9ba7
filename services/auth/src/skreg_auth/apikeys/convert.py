"""API keys as the API shows them."""

from __future__ import annotations

from skreg_proto.auth import ApiKeyOut

from skreg_auth.apikeys.models import KEY_PREFIX, ApiKey


def to_key(key: ApiKey) -> ApiKeyOut:
    """The API shape of a key (never its secret)."""
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        scopes=key.scope_list,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        prefix=f"{KEY_PREFIX}{key.id}",
        parent_id=key.parent_id,
        namespaces=key.namespace_list,
    )
