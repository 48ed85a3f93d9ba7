"""`/orgs` (my organizations, create one) and `/orgs/<org>` (members, roles, skills).

Everything goes through the organization API (`/api/v1/auth/orgs…`), which decides who
may see and change what and audits every change: an organization the caller is not a
member of answers 404 there, and so here, exactly as one that does not exist. The
forms are shown to the roles that may manage members at all (owners and admins, and
registry admins); finer refusals (an admin touching an owner, the last owner leaving)
come back from the API as a message on the page.
"""

from __future__ import annotations

from typing import Any, get_args

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from skreg_common.principal import org_role_at_least
from skreg_proto.auth import MemberOut, MemberSetRequest, OrgCreateRequest, OrgOut, OrgRole
from skreg_proto.catalog import SearchPage

from skreg_gateway.ui.client import ApiError, seg
from skreg_gateway.ui.context import UiContext
from skreg_gateway.ui.guards import signed_in

ORGS = "/api/v1/auth/orgs"
ROLES: tuple[str, ...] = get_args(OrgRole)
MAX_NAME = 100
SKILLS_SHOWN = 50


def org_url(org: str) -> str:
    """The UI path of an organization's page."""
    return f"/orgs/{seg(org)}"


def _text(form: Any, name: str, limit: int = MAX_NAME) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _refused(ui: UiContext, back: str, exc: ApiError) -> Response[Any]:
    """A refusal the person can act on, shown on the page they came from."""
    if exc.status in (0, 401) or exc.status >= 500:
        raise exc  # unreachable or signed out: the error page
    # A 404 too ("no user x", or "no organization y" to a non-member, which is what a
    # missing one says): the page it goes back to answers 404 itself if it is not theirs.
    ui.flash(exc.message, "error")
    return ui.redirect(back)


@get("/orgs", guards=[signed_in], include_in_schema=False)
async def orgs_page(ui: NamedDependency[UiContext]) -> Response[Any]:
    """The caller's organizations with their role (registry admins: all of them)."""
    orgs = await ui.api.get(ORGS, list[OrgOut])
    return ui.render("orgs.html", orgs=orgs)


@post("/orgs", guards=[signed_in], include_in_schema=False)
async def create_org(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Create an organization; its name becomes a namespace and the caller its owner."""
    form = await ui.request.form()
    body = OrgCreateRequest(name=_text(form, "name", 39), display_name=_text(form, "display_name"))
    try:
        created = await ui.api.call("POST", ORGS, OrgOut, body=body)
    except ApiError as exc:
        return await _refused(ui, "/orgs", exc)
    ui.flash(f"Created the organization {created.name}; you are its owner.")
    return ui.redirect(org_url(created.name))


@get("/orgs/{org:str}", guards=[signed_in], include_in_schema=False)
async def org_page(ui: NamedDependency[UiContext], org: FromPath[str]) -> Response[Any]:
    """Members with their roles, the management forms for those who manage them, and the
    skills of the organization's namespace the caller may see."""
    members = await ui.api.get(f"{ORGS}/{seg(org)}/members", list[MemberOut])  # 404: not yours
    mine = next((o for o in await ui.api.get(ORGS, list[OrgOut]) if o.name == org), None)
    role = mine.role if mine else None
    user = ui.user
    manages = (user is not None and user.is_admin) or org_role_at_least(role, "admin")
    skills = await ui.api.get(
        "/api/v1/skills", SearchPage, {"namespace": org, "sort": "name", "limit": SKILLS_SHOWN}
    )
    return ui.render(
        "org.html",
        org=mine,
        name=org,
        role=role,
        members=members,
        manages=manages,
        roles=ROLES,
        skills=skills,
        org_url=org_url(org),
    )


@post("/orgs/{org:str}/members", guards=[signed_in], include_in_schema=False)
async def add_member(ui: NamedDependency[UiContext], org: FromPath[str]) -> Response[Any]:
    """Add a member with a role (or change the role of one already in)."""
    form = await ui.request.form()
    username = _text(form, "username", 39).lower()
    return await _set_role(ui, org, username, _text(form, "role", 16), "Added {user} as {role}.")


@post("/orgs/{org:str}/members/{username:str}/role", guards=[signed_in], include_in_schema=False)
async def change_role(
    ui: NamedDependency[UiContext], org: FromPath[str], username: FromPath[str]
) -> Response[Any]:
    """Change one member's role."""
    form = await ui.request.form()
    role = _text(form, "role", 16)
    return await _set_role(ui, org, username, role, "{user} is now {role}.")


async def _set_role(ui: UiContext, org: str, username: str, role: str, done: str) -> Response[Any]:
    back = org_url(org)
    if role not in ROLES:
        ui.flash(f"Choose one of the roles: {', '.join(ROLES)}.", "error")
        return ui.redirect(back)
    if not username:
        ui.flash("Name the user to add.", "error")
        return ui.redirect(back)
    path = f"{ORGS}/{seg(org)}/members/{seg(username)}"
    body = MemberSetRequest(role=role)  # type: ignore[arg-type]  # checked against ROLES
    try:
        member = await ui.api.call("PUT", path, MemberOut, body=body)
    except ApiError as exc:
        return await _refused(ui, back, exc)
    ui.flash(done.format(user=member.username, role=member.role))
    return ui.redirect(back)


@post("/orgs/{org:str}/members/{username:str}/remove", guards=[signed_in], include_in_schema=False)
async def remove_member(
    ui: NamedDependency[UiContext], org: FromPath[str], username: FromPath[str]
) -> Response[Any]:
    """Remove a member (or leave, when it is oneself)."""
    back = org_url(org)
    try:
        await ui.api.send("DELETE", f"{ORGS}/{seg(org)}/members/{seg(username)}")
    except ApiError as exc:
        return await _refused(ui, back, exc)
    user = ui.user
    if user is not None and user.username == username:
        ui.flash(f"You left {org}.")
        return ui.redirect("/orgs")
    ui.flash(f"Removed {username} from {org}.")
    return ui.redirect(back)


HANDLERS = [orgs_page, create_org, org_page, add_member, change_role, remove_member]
