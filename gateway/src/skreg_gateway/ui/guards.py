"""Guards for UI routes: sign-in required, admins only, and CSRF on every state change.

Why not Litestar's `CSRFConfig`: its token is a random value signed with one app-wide
secret in a cookie of its own (the double-submit pattern), bound to no session. A
token/cookie pair that an attacker fetched for themselves is valid in any browser, so
whoever can write a cookie for our host (a sibling subdomain, or a plain-HTTP answer on
a network they control: cookie tossing) can plant their pair beside the victim's
session and forge requests as the victim. It also keeps the same token across sign-in
and sign-out. Here the token lives inside the encrypted session (skreg_gateway.ui.session),
so it cannot be paired with another browser's session, and it changes when the user
signs out; a browser's Origin/Referer naming another site is refused as well.
"""

from __future__ import annotations

import hmac
from typing import Any, cast
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from skreg_gateway.ui.context import CSRF_FIELD, CSRF_HEADER, load_session, state_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler table turns this into a redirect."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


class CsrfRejected(Exception):
    """A state-changing request without this session's CSRF token (or from another site)."""


class AdminOnly(Exception):
    """A signed-in user who is not an admin asked for an admin page."""


def next_path(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Where to come back to after signing in: this page, or home after a form post."""
    if connection.scope.get("method", "GET") != "GET":
        return "/"  # a form's target cannot be reopened with GET
    query = connection.scope.get("query_string", b"").decode("latin-1")
    return connection.url.path + (f"?{query}" if query else "")


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a signed-in user, else off to the sign-in page (and back afterwards)."""
    if not load_session(connection, state_of(connection)).signed_in:
        raise SignInRequired(next_path(connection))


# Pages that answer anonymous browsers even under REQUIRE_SIGN_IN: the ways to sign in.
SIGN_IN_PAGES = frozenset({"/login", "/login/sso", "/login/sso/callback", "/register", "/logout"})


async def sign_in_wall(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every page: under REQUIRE_SIGN_IN, anonymous browsers go to sign in first
    (the API answers them 401: skreg_common.signin)."""
    state = state_of(connection)
    if not state.settings.require_sign_in or connection.url.path in SIGN_IN_PAGES:
        return
    if not load_session(connection, state).signed_in:
        raise SignInRequired(next_path(connection))


async def admins_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: an admin; anonymous users are sent to sign in, others get the 403 page.

    The API checks again on every call: this only spares users pages they cannot use.
    """
    session = load_session(connection, state_of(connection))
    if not session.signed_in or session.user is None:
        raise SignInRequired(next_path(connection))
    if not session.user.is_admin:
        raise AdminOnly()


def _same_site(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """False when the browser says the form came from another origin (or hides it as "null")."""
    origin = connection.headers.get("origin") or connection.headers.get("referer")
    if origin is None:
        return True  # no header at all (privacy settings): the token alone decides
    if origin == "null":
        return False
    host = connection.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def csrf_protect(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard on every UI route: a state-changing request must carry the session's token.

    In the form's `csrf_token` field, or (a script's or htmx's request) the `X-CSRF-Token`
    header; the page carries the token for scripts in `<meta name="csrf-token">`.
    """
    if connection.scope.get("method", "GET") not in UNSAFE_METHODS:
        return
    session = load_session(connection, state_of(connection))
    sent: object = connection.headers.get(CSRF_HEADER)
    if sent is None:
        request = cast(Request[Any, Any, Any], connection)
        try:
            form = await request.form()
        except Exception as exc:  # an unreadable body carries no token either
            raise CsrfRejected() from exc
        sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRejected()
    if not _same_site(connection):
        raise CsrfRejected()
