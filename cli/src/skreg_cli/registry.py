"""The catalog calls the CLI makes (API.md, catalog section), returning tolerant views."""

from __future__ import annotations

from skreg_proto.semver import Version, best_match, parse_version
from skreg_proto.semver import latest as latest_of

from skreg_cli.client import ApiClient, path_of
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.refs import SkillRef
from skreg_cli.views import PageView, SkillView, VersionView

PAGE_LIMIT = 100
MAX_PAGES = 200  # 20,000 versions: far past any real skill, short of looping forever


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


def _parsed(versions: list[VersionView]) -> dict[Version, VersionView]:
    parsed: dict[Version, VersionView] = {}
    for view in versions:
        try:
            parsed[parse_version(view.version)] = view
        except ValueError:
            continue  # not semver: never selectable by a range
    return parsed


def select(ref: SkillRef, versions: list[VersionView]) -> VersionView:
    """The newest non-yanked version in the ref's range (an exact pin may be yanked)."""
    parsed = _parsed(versions)
    best = best_match(ref.range, [(v, view.yanked) for v, view in parsed.items()])
    if best is None:
        shown = ", ".join(str(v) for v in sorted(parsed, reverse=True)[:8]) or "none"
        raise CliError(
            f"no version of {ref.full_name} matches {ref.spec or 'latest'}",
            hint=f"available versions: {shown}",
            code=ExitCode.NOT_FOUND,
        )
    return parsed[best]


def latest(versions: list[VersionView]) -> str | None:
    """The highest non-prerelease, non-yanked version, as the registry spells it."""
    parsed = _parsed(versions)
    best = latest_of((v, view.yanked) for v, view in parsed.items())
    return None if best is None else parsed[best].version
