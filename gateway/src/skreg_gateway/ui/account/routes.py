"""Sign in / register / sign out, and the profile: my skills, my API keys, my password."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from skreg_proto.auth import (
    ApiKeyCreated,
    ApiKeyOut,
    KeyCreateRequest,
    LoginRequest,
    LogoutRequest,
    PasswordChangeRequest,
    RegisterRequest,
    TokenResponse,
    UserOut,
)
from skreg_proto.catalog import SkillSummary

from skreg_gateway.ui.account.sso import sso_info
from skreg_gateway.ui.browse.service import get_page
from skreg_gateway.ui.client import ApiError, seg
from skreg_gateway.ui.context import UiContext, safe_local_path
from skreg_gateway.ui.guards import signed_in

KEY_SCOPES = ("read", "publish", "yank", "keys")
ADMIN_SCOPES = (*KEY_SCOPES, "admin")
# What each scope lets a key do, next to its checkbox (auth decides; this only explains).
SCOPE_HELP = {
    "read": "download and browse skills",
    "publish": "publish new versions",
    "yank": "yank and restore versions",
    "keys": "manage API keys (list, create, revoke)",
    "admin": "administer the registry",
}
MAX_FIELD = 1024
NO_STORE = {"cache-control": "no-store"}


def _field(form: Any, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _errors_of(exc: ApiError) -> dict[str, str]:
    """Field problems by field name (`body.password` → `password`) for the form."""
    found: dict[str, str] = {}
    for problem in exc.errors:
        key = problem.path.rsplit(".", 1)[-1].strip("$[]'\"")
        found.setdefault(key, problem.message)
    return found


@get("/login", include_in_schema=False)
async def login_page(
    ui: NamedDependency[UiContext], next: str | None = Parameter(default=None, max_length=2048)
) -> Response[Any]:
    """The sign-in form (already signed in: straight on)."""
    if ui.user is not None:
        return ui.redirect(safe_local_path(next))
    return ui.render(
        "login.html", next=safe_local_path(next), username="", error=None, sso=await sso_info(ui)
    )


@post("/login", include_in_schema=False)
async def login(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Check the password with auth; a wrong one is said on the same page."""
    form = await ui.request.form()
    username, password = _field(form, "username", 320), _field(form, "password")
    next_path = safe_local_path(_field(form, "next", 2048))
    if not username or not password:
        return ui.render(
            "login.html",
            status=400,
            next=next_path,
            username=username,
            error="Enter your username (or email) and password.",
            sso=await sso_info(ui),
        )
    try:
        tokens = await ui.anonymous_api().call(
            "POST",
            "/api/v1/auth/login",
            TokenResponse,
            body=LoginRequest(username=username, password=password),
        )
    except ApiError as exc:
        if exc.status in (400, 401, 403, 422):
            error = "Wrong username or password."
        elif exc.status == 429:
            error = f"Too many attempts. Try again in {exc.retry_after or 60} seconds."
        else:
            raise
        if exc.status == 403:
            error = exc.message
        return ui.render(
            "login.html",
            status=exc.status if exc.status != 422 else 400,
            next=next_path,
            username=username,
            error=error,
            sso=await sso_info(ui),
        )
    ui.session.sign_out()  # a fresh CSRF token for the signed-in session
    ui.sign_in(tokens)
    ui.flash(f"Signed in as {tokens.user.username}.")
    return ui.redirect(next_path)


@get("/register", include_in_schema=False)
async def register_page(ui: NamedDependency[UiContext]) -> Response[Any]:
    """The registration form."""
    if ui.user is not None:
        return ui.redirect("/profile")
    return ui.render("register.html", values={}, errors={}, error=None)


@post("/register", include_in_schema=False)
async def register(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Create the account with auth, then sign straight in."""
    form = await ui.request.form()
    values = {k: _field(form, k, 320) for k in ("username", "email")}
    password, confirm = _field(form, "password"), _field(form, "password_confirm")
    if password != confirm:
        return ui.render(
            "register.html",
            status=400,
            values=values,
            errors={"password_confirm": "The two passwords differ."},
            error=None,
        )
    api = ui.anonymous_api()
    request = RegisterRequest(username=values["username"], email=values["email"], password=password)
    try:
        await api.call("POST", "/api/v1/auth/register", UserOut, body=request)
        tokens = await api.call(
            "POST",
            "/api/v1/auth/login",
            TokenResponse,
            body=LoginRequest(username=values["username"], password=password),
        )
    except ApiError as exc:
        if exc.status in (0, 401) or exc.status >= 500:
            raise
        return ui.render(
            "register.html",
            status=exc.status if exc.status < 500 else 400,
            values=values,
            errors=_errors_of(exc),
            error=exc.message,
        )
    ui.session.sign_out()
    ui.sign_in(tokens)
    ui.flash(f"Welcome, {tokens.user.username}! Your account is ready.")
    return ui.redirect("/profile")


@post("/logout", include_in_schema=False)
async def logout(ui: NamedDependency[UiContext]) -> Response[Any]:
    """End the session at auth (its refresh token stops working) and in this browser."""
    token = ui.session.refresh_token
    if ui.user is not None and token:
        try:
            await ui.api.send(
                "POST", "/api/v1/auth/logout", body=LogoutRequest(refresh_token=token)
            )
        except ApiError as exc:  # already ended elsewhere: signing out here is what matters
            if exc.status == 0 or exc.status >= 500:
                raise
    ui.sign_out()
    ui.flash("Signed out.")
    return ui.redirect("/")


async def _profile(
    ui: UiContext,
    *,
    created: ApiKeyCreated | None = None,
    status: int = 200,
    key_error: str | None = None,
    password_errors: dict[str, str] | None = None,
) -> Response[Any]:
    user = ui.user
    assert user is not None  # the signed_in guard ran
    keys = await get_page(ui.api, "/api/v1/auth/keys", ApiKeyOut)
    # The session's user has no sign-in state; /account has failed sign-ins and any limit.
    account = await ui.api.get("/api/v1/auth/account", UserOut)
    skills = await get_page(
        ui.api,
        "/api/v1/skills",
        SkillSummary,
        {"namespace": user.username, "sort": "name", "limit": 100},
    )
    return ui.render(
        "profile.html",
        status=status,
        headers=NO_STORE,
        account=account,
        keys=keys.items,
        skills=skills.items,
        created=created,
        key_error=key_error,
        password_errors=password_errors or {},
        scopes=ADMIN_SCOPES if user.is_admin else KEY_SCOPES,
        scope_help=SCOPE_HELP,
    )


@get("/profile", guards=[signed_in], include_in_schema=False)
async def profile_page(ui: NamedDependency[UiContext]) -> Response[Any]:
    """My skills, my API keys, change password."""
    return await _profile(ui)


@post("/profile/keys", guards=[signed_in], include_in_schema=False)
async def create_key(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Create an API key and show its secret this once (never stored by the UI)."""
    form = await ui.request.form()
    name = _field(form, "name", 100).strip()
    scopes = [s for s in form.getall("scopes") if isinstance(s, str) and s in ADMIN_SCOPES]
    days_raw = _field(form, "expires_in_days", 6).strip()
    if not name or not scopes:
        return await _profile(
            ui, status=400, key_error="Give the key a name and at least one scope."
        )
    if days_raw and (not days_raw.isdigit() or not 1 <= int(days_raw) <= 3650):
        return await _profile(ui, status=400, key_error="Expiry must be 1 to 3650 days, or empty.")
    request = KeyCreateRequest(
        name=name, scopes=scopes, expires_in_days=int(days_raw) if days_raw else None
    )
    try:
        created = await ui.api.call("POST", "/api/v1/auth/keys", ApiKeyCreated, body=request)
    except ApiError as exc:
        if exc.status in (0, 401) or exc.status >= 500:
            raise
        return await _profile(ui, status=exc.status, key_error=exc.message)
    return await _profile(ui, created=created)


@post("/profile/keys/{key_id:str}/revoke", guards=[signed_in], include_in_schema=False)
async def revoke_key(ui: NamedDependency[UiContext], key_id: FromPath[str]) -> Response[Any]:
    """Revoke one of my keys."""
    try:
        await ui.api.send("DELETE", f"/api/v1/auth/keys/{seg(key_id)}")
    except ApiError as exc:
        if exc.status in (0, 401) or exc.status >= 500:
            raise
        ui.flash(exc.message, "error")
        return ui.redirect("/profile")
    ui.flash("Key revoked.")
    return ui.redirect("/profile")


@post("/profile/password", guards=[signed_in], include_in_schema=False)
async def change_password(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Change my password; other sessions end, this one carries on with fresh tokens."""
    form = await ui.request.form()
    current, new = _field(form, "current_password"), _field(form, "new_password")
    if new != _field(form, "new_password_confirm"):
        return await _profile(
            ui, status=400, password_errors={"new_password_confirm": "The two passwords differ."}
        )
    request = PasswordChangeRequest(current_password=current, new_password=new)
    try:
        tokens = await ui.api.call(
            "POST", "/api/v1/auth/account/password", TokenResponse, body=request
        )
    except ApiError as exc:
        if exc.status in (0,) or exc.status >= 500:
            raise
        errors = _errors_of(exc) or {"current_password": exc.message}
        if exc.status == 401:
            errors = {"current_password": "That is not your current password."}
        return await _profile(ui, status=400, password_errors=errors)
    ui.sign_in(tokens)
    ui.flash("Password changed. Other sessions have been signed out.")
    return ui.redirect("/profile")


HANDLERS = [
    login_page,
    login,
    register_page,
    register,
    logout,
    profile_page,
    create_key,
    revoke_key,
    change_password,
]
