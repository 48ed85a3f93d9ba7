"""Admin pages. Every call goes to the API with the admin's own token; the API decides."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from skreg_proto.auth import AuditEventOut, UserOut, UserUpdateRequest
from skreg_proto.catalog import CatalogStats, SkillSummary
from skreg_proto.importer import ImportRun, Source
from skreg_proto.trust import RescanJobShape, ReviewItem, ReviewRequest

from skreg_gateway.ui.admin.service import (
    ACTIVE_STATES,
    VERSION_POLICIES,
    SourceForm,
    field_errors,
    text,
)
from skreg_gateway.ui.browse.service import get_page
from skreg_gateway.ui.client import ApiError, seg
from skreg_gateway.ui.context import UiContext
from skreg_gateway.ui.guards import admins_only

Text = Parameter(default=None, max_length=2048)


def _refused(exc: ApiError) -> bool:
    """A 4xx the admin should read on the page (not a lost session, not an outage)."""
    return exc.status not in (0, 401) and exc.status < 500


@get("/", include_in_schema=False)
async def admin_home(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Overview: totals and the latest import runs."""
    stats = await ui.api.get("/api/v1/stats", CatalogStats)
    runs = await get_page(ui.api, "/api/v1/imports", ImportRun, {"limit": 5})
    return ui.render("admin/home.html", stats=stats, runs=runs.items)


# --- users -------------------------------------------------------------------


@get("/users", include_in_schema=False)
async def users_page(
    ui: NamedDependency[UiContext], q: str | None = Text, cursor: str | None = Text
) -> Response[Any]:
    """Users, searchable, a page at a time."""
    query = (q or "").strip()[:100]
    page = await get_page(
        ui.api, "/api/v1/auth/users", UserOut, {"q": query, "cursor": cursor, "limit": 25}
    )
    return ui.render("admin/users.html", page=page, q=query)


@get("/users/{user_id:str}", include_in_schema=False)
async def user_page(ui: NamedDependency[UiContext], user_id: FromPath[str]) -> Response[Any]:
    """One user: role, status, failed sign-ins and any sign-in limit (with a way to lift it)."""
    user = await ui.api.get(f"/api/v1/auth/users/{seg(user_id)}", UserOut)
    return ui.render("admin/user.html", user=user)


@post("/users/{user_id:str}", include_in_schema=False)
async def update_user(ui: NamedDependency[UiContext], user_id: FromPath[str]) -> Response[Any]:
    """Change a role, disable or re-enable (the form says which)."""
    form = await ui.request.form()
    action = text(form, "action", 20)
    changes = {
        "make-admin": UserUpdateRequest(role="admin"),
        "make-user": UserUpdateRequest(role="user"),
        "disable": UserUpdateRequest(disabled=True),
        "enable": UserUpdateRequest(disabled=False),
    }
    change = changes.get(action)
    # The user's own page posts the same form and wants to come back to itself.
    back = f"/admin/users/{seg(user_id)}" if text(form, "back", 10) == "user" else "/admin/users"
    if change is None:
        ui.flash("Unknown action.", "error")
        return ui.redirect(back)
    try:
        user = await ui.api.call(
            "PATCH", f"/api/v1/auth/users/{seg(user_id)}", UserOut, body=change
        )
    except ApiError as exc:
        if not _refused(exc):
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(back)
    state = "disabled" if user.disabled else "enabled"
    ui.flash(f"{user.username} is now {user.role}, {state}.")
    return ui.redirect(back)


@post("/users/{user_id:str}/sign-in-lock", include_in_schema=False)
async def lift_sign_in_lock(
    ui: NamedDependency[UiContext], user_id: FromPath[str]
) -> Response[Any]:
    """Lift the limit failed sign-ins put on the account (auth audits it)."""
    back = f"/admin/users/{seg(user_id)}"
    try:
        await ui.api.send("DELETE", f"/api/v1/auth/users/{seg(user_id)}/sign-in-lock")
    except ApiError as exc:
        if not _refused(exc):
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(back if exc.status != 404 else "/admin/users")
    ui.flash("Sign-in limit lifted: failed sign-ins count from zero again.")
    return ui.redirect(back)


# --- sources -----------------------------------------------------------------


@get("/sources", include_in_schema=False)
async def sources_page(ui: NamedDependency[UiContext], cursor: str | None = Text) -> Response[Any]:
    """Sources with their last run, and the add form."""
    page = await get_page(ui.api, "/api/v1/sources", Source, {"cursor": cursor, "limit": 50})
    return ui.render(
        "admin/sources.html", page=page, form=SourceForm(), version_policies=VERSION_POLICIES
    )


@post("/sources", include_in_schema=False)
async def create_source(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Add a source; a wrong field is shown next to it."""
    form = SourceForm.from_form(await ui.request.form())
    body = form.create_request()
    if body is not None:
        try:
            source = await ui.api.call("POST", "/api/v1/sources", Source, body=body)
        except ApiError as exc:
            if not _refused(exc):
                raise
            form.errors.update(field_errors(exc.errors))
            form.errors.setdefault("form", exc.message)
        else:
            ui.flash(f"Source added: {source.url}")
            return ui.redirect(f"/admin/sources/{seg(source.id)}")
    page = await get_page(ui.api, "/api/v1/sources", Source, {"limit": 50})
    return ui.render(
        "admin/sources.html",
        status=400,
        page=page,
        form=form,
        version_policies=VERSION_POLICIES,
    )


async def _source_page(
    ui: UiContext, source_id: str, form: SourceForm | None = None, status: int = 200
) -> Response[Any]:
    source = await ui.api.get(f"/api/v1/sources/{seg(source_id)}", Source)
    runs = await get_page(
        ui.api, "/api/v1/imports", ImportRun, {"source_id": source.id, "limit": 10}
    )
    last_run = None
    if runs.items:
        last_run = await ui.api.get(f"/api/v1/imports/{seg(runs.items[0].id)}", ImportRun)
    return ui.render(
        "admin/source.html",
        status=status,
        source=source,
        form=form or SourceForm.from_source(source),
        runs=runs.items,
        run=last_run,
        active_states=ACTIVE_STATES,
        version_policies=VERSION_POLICIES,
    )


@get("/sources/{source_id:str}", include_in_schema=False)
async def source_page(ui: NamedDependency[UiContext], source_id: FromPath[str]) -> Response[Any]:
    """One source: edit form, last run state and per-skill results, recent runs."""
    return await _source_page(ui, source_id)


@post("/sources/{source_id:str}", include_in_schema=False)
async def update_source(ui: NamedDependency[UiContext], source_id: FromPath[str]) -> Response[Any]:
    """Save the edit form."""
    form = SourceForm.from_form(await ui.request.form())
    body = form.update_request()
    if body is not None:
        try:
            await ui.api.call("PATCH", f"/api/v1/sources/{seg(source_id)}", Source, body=body)
        except ApiError as exc:
            if not _refused(exc) or exc.status == 404:
                raise
            form.errors.update(field_errors(exc.errors))
            form.errors.setdefault("form", exc.message)
        else:
            ui.flash("Source saved.")
            return ui.redirect(f"/admin/sources/{seg(source_id)}")
    return await _source_page(ui, source_id, form, status=400)


@post("/sources/{source_id:str}/delete", include_in_schema=False)
async def delete_source(ui: NamedDependency[UiContext], source_id: FromPath[str]) -> Response[Any]:
    """Remove a source (the skills it imported stay in the catalog)."""
    try:
        await ui.api.send("DELETE", f"/api/v1/sources/{seg(source_id)}")
    except ApiError as exc:
        if not _refused(exc):
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(f"/admin/sources/{seg(source_id)}")
    ui.flash("Source deleted.")
    return ui.redirect("/admin/sources")


@post("/sources/{source_id:str}/sync", include_in_schema=False)
async def sync_source(ui: NamedDependency[UiContext], source_id: FromPath[str]) -> Response[Any]:
    """Enqueue a sync now and watch its run."""
    try:
        run = await ui.api.call("POST", f"/api/v1/sources/{seg(source_id)}/sync", ImportRun)
    except ApiError as exc:
        if not _refused(exc) or exc.status == 404:
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(f"/admin/sources/{seg(source_id)}")
    ui.flash("Sync queued.")
    return ui.redirect(f"/admin/imports/{seg(run.id)}")


# --- import runs -------------------------------------------------------------


@get("/imports", include_in_schema=False)
async def imports_page(
    ui: NamedDependency[UiContext], source_id: str | None = Text, cursor: str | None = Text
) -> Response[Any]:
    """Import runs, newest first."""
    page = await get_page(
        ui.api,
        "/api/v1/imports",
        ImportRun,
        {"source_id": source_id, "cursor": cursor, "limit": 25},
    )
    return ui.render("admin/imports.html", page=page, source_id=source_id or "")


@get("/imports/{run_id:str}", include_in_schema=False)
async def import_page(ui: NamedDependency[UiContext], run_id: FromPath[str]) -> Response[Any]:
    """One run: state, commit, per-skill results; updates itself while it runs."""
    run = await ui.api.get(f"/api/v1/imports/{seg(run_id)}", ImportRun)
    return ui.render("admin/import.html", run=run, active_states=ACTIVE_STATES)


@get("/imports/{run_id:str}/panel", include_in_schema=False)
async def import_panel(ui: NamedDependency[UiContext], run_id: FromPath[str]) -> Response[Any]:
    """The run's panel alone: what the progress script swaps in while the run is active."""
    run = await ui.api.get(f"/api/v1/imports/{seg(run_id)}", ImportRun)
    return ui.render("admin/_run_panel.html", partial=True, run=run, active_states=ACTIVE_STATES)


# --- skills and audit ----------------------------------------------------------


@get("/skills", include_in_schema=False)
async def skills_page(
    ui: NamedDependency[UiContext], q: str | None = Text, cursor: str | None = Text
) -> Response[Any]:
    """Every skill, searchable, with delete and a link to manage versions (yank)."""
    query = (q or "").strip()[:200]
    page = await get_page(
        ui.api,
        "/api/v1/skills",
        SkillSummary,
        {"q": query, "sort": "name" if not query else "relevance", "cursor": cursor, "limit": 50},
    )
    return ui.render("admin/skills.html", page=page, q=query)


@get("/audit", include_in_schema=False)
async def audit_page(
    ui: NamedDependency[UiContext], action: str | None = Text, cursor: str | None = Text
) -> Response[Any]:
    """The audit log, newest first."""
    chosen = (action or "").strip()[:100]
    page = await get_page(
        ui.api,
        "/api/v1/auth/audit",
        AuditEventOut,
        {"action": chosen, "cursor": cursor, "limit": 50},
    )
    return ui.render("admin/audit.html", page=page, action=chosen)


# --- review --------------------------------------------------------------------

REVIEW_STATES = ("", "held", "scan-failed", "flagged", "approved", "rejected")


@get("/review", include_in_schema=False)
async def review_page(
    ui: NamedDependency[UiContext],
    review_state: str | None = Parameter(query="state", default=None, max_length=20),
    cursor: str | None = Text,
) -> Response[Any]:
    """The review queue (awaiting a decision, or one state) and the last rescans."""
    chosen = review_state if review_state in REVIEW_STATES else ""
    page = await get_page(
        ui.api,
        "/api/v1/review",
        ReviewItem,
        {"state": chosen or None, "cursor": cursor, "limit": 20},
    )
    rescans = await ui.api.get("/api/v1/review/rescans", list[RescanJobShape])
    return ui.render(
        "admin/review.html", page=page, state=chosen, states=REVIEW_STATES, rescans=rescans[:5]
    )


@post("/review/{namespace:str}/{name:str}/{version:str}", include_in_schema=False)
async def decide_review(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    """Approve or reject a version with the reason from the form (the API audits it)."""
    form = await ui.request.form()
    action = text(form, "action", 10)
    reason = text(form, "reason", 500)
    if action not in ("approve", "reject"):
        ui.flash("Unknown action.", "error")
        return ui.redirect("/admin/review")
    path = f"/api/v1/review/{seg(namespace)}/{seg(name)}/{seg(version)}/{action}"
    try:
        await ui.api.call("POST", path, ReviewItem, body=ReviewRequest(reason=reason))
    except ApiError as exc:
        if not _refused(exc):
            raise
        ui.flash(exc.message, "error")
        return ui.redirect("/admin/review")
    done = "approved: it is published" if action == "approve" else "rejected: it stays hidden"
    ui.flash(f"{namespace}/{name}@{version} {done}.")
    return ui.redirect("/admin/review")


@post("/review/rescans", include_in_schema=False)
async def start_rescan(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Rescan every stored version with the current rules, in the background."""
    try:
        job = await ui.api.call("POST", "/api/v1/review/rescans", RescanJobShape)
    except ApiError as exc:
        if not _refused(exc):
            raise
        ui.flash(exc.message, "error")
        return ui.redirect("/admin/review")
    ui.flash(f"Rescan {job.id} started: {job.total} versions.")
    return ui.redirect("/admin/review")


def admin_router() -> Router:
    """Everything under `/admin`, for admins only."""
    return Router(
        path="/admin",
        guards=[admins_only],
        route_handlers=[
            admin_home,
            users_page,
            user_page,
            update_user,
            lift_sign_in_lock,
            sources_page,
            create_source,
            source_page,
            update_source,
            delete_source,
            sync_source,
            imports_page,
            import_page,
            import_panel,
            skills_page,
            audit_page,
            review_page,
            start_rescan,
            decide_review,
        ],
    )
