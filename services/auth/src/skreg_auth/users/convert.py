"""Users as the API shows them."""

from __future__ import annotations

from skreg_proto.auth import UserOut

from skreg_auth.users.models import User


def to_user(user: User) -> UserOut:
    """The API shape of a user (never the password hash)."""
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        role=user.role,
        disabled=user.disabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
