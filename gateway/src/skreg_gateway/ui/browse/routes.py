"""Public pages: home, search, a skill, a version, a file; owners' yank/unyank/delete."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from skreg_proto.catalog import SkillDetail, SkillUpdate, SkillVersion, YankRequest
from skreg_proto.trust import DisputeRequest, ReviewItem

from skreg_gateway.ui.browse import service
from skreg_gateway.ui.browse.documents import skill_body
from skreg_gateway.ui.client import ApiError, seg
from skreg_gateway.ui.context import UiContext, safe_local_path
from skreg_gateway.ui.guards import signed_in
from skreg_gateway.ui.rendering import search_terms

Text = Parameter(default=None, max_length=2048)


def skill_url(namespace: str, name: str) -> str:
    """The UI path of a skill page."""
    return f"/skills/{seg(namespace)}/{seg(name)}"


@get("/", include_in_schema=False)
async def home_page(ui: NamedDependency[UiContext]) -> Response[Any]:
    """Search box, totals, most downloaded, recently updated, tags."""
    home = await service.load_home(ui.api)
    return ui.render("home.html", home=home)


@get("/search", include_in_schema=False)
async def search_page(
    ui: NamedDependency[UiContext],
    q: str | None = Text,
    tag: str | None = Text,
    namespace: str | None = Text,
    sort: str | None = Text,
    cursor: str | None = Text,
) -> Response[Any]:
    """Results for a plain GET form: works without JavaScript."""
    form = service.SearchForm.from_query(q, tag, namespace, sort, cursor)
    page, hits = await service.search(ui.api, form)
    return ui.render(
        "search.html",
        form=form,
        page=page,
        hits=hits,
        terms=search_terms(form.q),
        sorts=service.SORTS,
    )


@get("/skills/{namespace:str}/{name:str}", include_in_schema=False)
async def skill_page(
    ui: NamedDependency[UiContext], namespace: FromPath[str], name: FromPath[str]
) -> Response[Any]:
    """A skill with its latest version."""
    view = await service.load_skill(ui.api, namespace, name, None, ui.user is not None)
    return await _render_skill(ui, view)


@get("/skills/{namespace:str}/{name:str}/versions/{version:str}", include_in_schema=False)
async def version_page(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    """A skill showing one particular version."""
    view = await service.load_skill(ui.api, namespace, name, version, ui.user is not None)
    return await _render_skill(ui, view)


async def _render_skill(ui: UiContext, view: service.SkillView) -> Response[Any]:
    shown = view.version
    return ui.render(
        "skill.html",
        view=view,
        skill=view.detail,
        shown=shown,
        tree=service.file_tree(shown.files) if shown else [],
        body_html=await skill_body(ui.state.renderer, shown) if shown else "",
        can_manage=view.can_manage,
        visibilities=service.VISIBILITIES,
        skill_url=skill_url(view.detail.namespace, view.detail.name),
        api_url=service.skill_path(view.detail.namespace, view.detail.name),
    )


@get(
    "/skills/{namespace:str}/{name:str}/versions/{version:str}/files/{path:path}",
    include_in_schema=False,
)
async def file_page(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    path: FromPath[str],
) -> Response[Any]:
    """One file of a version: Markdown rendered, code highlighted, images shown, else text.

    A file the version does not have (a broken link in its SKILL.md) gets this page
    too, saying so, with the files it does have.
    """
    relative = path.lstrip("/")
    shown, preview = await service.load_file(
        ui.api, ui.state.renderer, namespace, name, version, relative
    )
    return ui.render(
        "file.html",
        status=200 if preview else 404,
        missing=relative,
        shown=shown,
        preview=preview,
        tree=service.file_tree(shown.files),
        skill_url=skill_url(shown.namespace, shown.name),
        api_url=service.skill_path(shown.namespace, shown.name),
    )


async def _manage(ui: UiContext, back: str, done: str, action: Any) -> Response[Any]:
    """Run an owner action; a refusal is shown on the page it came from."""
    try:
        await action
    except ApiError as exc:
        if exc.status in (0, 401) or exc.status >= 500:
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(back)
    ui.flash(done)
    return ui.redirect(back)


@post(
    "/skills/{namespace:str}/{name:str}/versions/{version:str}/yank",
    guards=[signed_in],
    include_in_schema=False,
)
async def yank_version(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    """Yank a version with the reason from the form."""
    form = await ui.request.form()
    reason = str(form.get("reason") or "").strip()[:500] or "yanked from the web UI"
    path = f"{service.skill_path(namespace, name)}/versions/{seg(version)}/yank"
    call = ui.api.call("POST", path, SkillVersion, body=YankRequest(reason=reason))
    return await _manage(ui, skill_url(namespace, name), f"Yanked {version}.", call)


@post(
    "/skills/{namespace:str}/{name:str}/versions/{version:str}/unyank",
    guards=[signed_in],
    include_in_schema=False,
)
async def unyank_version(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    """Make a yanked version resolvable again."""
    path = f"{service.skill_path(namespace, name)}/versions/{seg(version)}/yank"
    call = ui.api.call("DELETE", path, SkillVersion)
    return await _manage(ui, skill_url(namespace, name), f"Restored {version}.", call)


@post(
    "/skills/{namespace:str}/{name:str}/versions/{version:str}/dispute",
    guards=[signed_in],
    include_in_schema=False,
)
async def dispute_finding(
    ui: NamedDependency[UiContext],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    """A publisher's note against a finding; admins read it in the review queue."""
    form = await ui.request.form()
    note = str(form.get("note") or "").strip()[:2000]
    rule = str(form.get("rule") or "").strip()[:200] or None
    path = f"/api/v1/review/{seg(namespace)}/{seg(name)}/{seg(version)}/disputes"
    call = ui.api.call("POST", path, ReviewItem, body=DisputeRequest(note=note, rule=rule))
    back = f"{skill_url(namespace, name)}/versions/{seg(version)}"
    return await _manage(ui, back, "Dispute sent to the registry's admins.", call)


@post("/skills/{namespace:str}/{name:str}/visibility", guards=[signed_in], include_in_schema=False)
async def change_visibility(
    ui: NamedDependency[UiContext], namespace: FromPath[str], name: FromPath[str]
) -> Response[Any]:
    """Make the skill public, internal or private (`PATCH` on the skill, its managers only).

    Made private by someone who may still see it, the page shows it again; the API
    answers 404 to anyone else exactly as for a missing skill.
    """
    form = await ui.request.form()
    wanted = str(form.get("visibility") or "")
    back = skill_url(namespace, name)
    if wanted not in service.VISIBILITIES:
        ui.flash(f"Choose one of: {', '.join(service.VISIBILITIES)}.", "error")
        return ui.redirect(back)
    body = SkillUpdate(visibility=wanted)  # type: ignore[arg-type]  # checked just above
    call = ui.api.call("PATCH", service.skill_path(namespace, name), SkillDetail, body=body)
    return await _manage(ui, back, f"{namespace}/{name} is now {wanted}.", call)


@post("/skills/{namespace:str}/{name:str}/delete", guards=[signed_in], include_in_schema=False)
async def delete_skill(
    ui: NamedDependency[UiContext], namespace: FromPath[str], name: FromPath[str]
) -> Response[Any]:
    """Soft-delete a skill (its name stays reserved)."""
    form = await ui.request.form()
    back = safe_local_path(str(form.get("next") or ""), "/")
    try:
        await ui.api.send("DELETE", service.skill_path(namespace, name))
    except ApiError as exc:
        if exc.status in (0, 401) or exc.status >= 500:
            raise
        ui.flash(exc.message, "error")
        return ui.redirect(skill_url(namespace, name))
    ui.flash(f"Deleted {namespace}/{name}.")
    return ui.redirect(back)


HANDLERS = [
    home_page,
    search_page,
    skill_page,
    version_page,
    file_page,
    yank_version,
    unyank_version,
    dispute_finding,
    change_visibility,
    delete_skill,
]
