"""The catalog calls the CLI makes (API.md, catalog section), returning tolerant views."""

from __future__ import annotations

from skreg_proto.semver import parse_version

from skreg_cli.client import ApiClient, path_of
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.refs import LATEST, SkillRef
from skreg_cli.views import PageView, SkillView, VersionView

PAGE_LIMIT = 100
MAX_PAGES = 200  # 20,000 versions: far past any real skill, short of looping forever
SHOWN_VERSIONS = 8


def skill_path(namespace: str, name: str, *rest: str) -> str:
    """`/api/v1/skills/{ns}/{name}/...` with every segment encoded."""
    return path_of("skills", namespace, name, *rest)


def get_skill(client: ApiClient, namespace: str, name: str) -> SkillView:
    """The skill's detail."""
    return client.get(skill_path(namespace, name), SkillView, not_found=f"skill {namespace}/{name}")


def list_versions(client: ApiClient, namespace: str, name: str) -> list[VersionView]:
    """Every version of a skill (all pages), as the registry lists them."""
    path = skill_path(namespace, name, "versions")
    versions: list[VersionView] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, str | int | bool] = {"limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        page = client.get(
            path,
            PageView[VersionView] | list[VersionView],  # type: ignore[arg-type]
            params=params,
            not_found=f"skill {namespace}/{name}",
        )
        if isinstance(page, list):  # a plain list is one complete page
            return page
        versions.extend(page.items)
        cursor = page.next_cursor
        if not cursor or not page.items:
            break
    return versions


def get_version(client: ApiClient, namespace: str, name: str, version: str) -> VersionView:
    """One version in full: digest, manifest, frontmatter, provenance."""
    view = client.get(
        skill_path(namespace, name, "versions", version),
        VersionView,
        not_found=f"{namespace}/{name}@{version}",
    )
    expected = (namespace, name, version)
    if (view.namespace or namespace, view.name or name, view.version) != expected:
        raise CliError(
            f"asked for {namespace}/{name}@{version}, the registry answered with "
            f"{view.namespace}/{view.name}@{view.version}",
            hint="the registry is misbehaving; nothing was installed",
            code=ExitCode.INTEGRITY,
        )
    return view


def download_url(client: ApiClient, namespace: str, name: str, version: str) -> str:
    """The bundle URL of an exact version."""
    return client.url(skill_path(namespace, name, "versions", version, "download"))


def resolve(client: ApiClient, ref: SkillRef) -> VersionView:
    """The version the registry installs for `ref` (its version, range or `latest`).

    The registry is the one place `latest` and ranges are resolved (SKILL_FORMAT.md,
    Versions): the CLI never ranks versions itself, so it agrees with the web UI and
    with skills that only have pre-releases.
    """
    spec = ref.spec or LATEST
    view = _ask(client, ref.namespace, ref.name, spec)
    if view is None and _exact(spec):
        # An exact version held for review resolves for no one, but its publisher and
        # admins may read it directly (its scan then decides whether to install it).
        view = _withheld(client, ref.namespace, ref.name, spec)
    if view is None:
        raise CliError(
            f"no version of {ref.full_name} matches {spec}",
            hint=_available(client, ref.namespace, ref.name),
            code=ExitCode.NOT_FOUND,
        )
    return view


def find_latest(client: ApiClient, namespace: str, name: str) -> VersionView | None:
    """The skill's latest version, None when nothing is installable (all yanked)."""
    return _ask(client, namespace, name, LATEST)


def _ask(client: ApiClient, namespace: str, name: str, spec: str) -> VersionView | None:
    """`GET …/resolve?spec=`; None when no version matches (a missing skill raises)."""
    try:
        view = client.get(
            skill_path(namespace, name, "resolve"), VersionView, params={"spec": spec}
        )
    except CliError as exc:
        if exc.code is not ExitCode.NOT_FOUND:
            raise
        get_skill(client, namespace, name)  # "skill ns/name not found" when that is why
        return None
    if (view.namespace or namespace, view.name or name) != (namespace, name) or not _semver(view):
        raise CliError(
            f"asked for {namespace}/{name}@{spec}, the registry answered with "
            f"{view.namespace}/{view.name}@{view.version}",
            hint="the registry is misbehaving; nothing was installed",
            code=ExitCode.INTEGRITY,
        )
    return view


def _exact(spec: str) -> bool:
    try:
        parse_version(spec)
    except ValueError:
        return False
    return True


def _withheld(client: ApiClient, namespace: str, name: str, version: str) -> VersionView | None:
    try:
        view = get_version(client, namespace, name, version)
    except CliError as exc:
        if exc.code is not ExitCode.NOT_FOUND:
            raise
        return None
    return view if view.withheld else None


def _semver(view: VersionView) -> bool:
    try:
        parse_version(view.version)
    except ValueError:
        return False
    return True


def _available(client: ApiClient, namespace: str, name: str) -> str:
    """A hint listing the newest versions, as the registry orders them."""
    page = client.get(
        skill_path(namespace, name, "versions"),
        PageView[VersionView] | list[VersionView],  # type: ignore[arg-type]
        params={"limit": SHOWN_VERSIONS},
    )
    views = page if isinstance(page, list) else page.items
    shown = [f"{v.version}{' (yanked)' if v.yanked else ''}" for v in views[:SHOWN_VERSIONS]]
    return f"available versions: {', '.join(shown) or 'none'}"
