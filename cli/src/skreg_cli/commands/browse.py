"""`skreg search` and `skreg info`."""

from __future__ import annotations

import click

from skreg_cli import registry
from skreg_cli.client import path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app
from skreg_cli.output import Output
from skreg_cli.refs import parse_ref
from skreg_cli.trust import show_findings, verdict_line
from skreg_cli.views import SearchPageView, SkillView, VersionView, to_builtins

SORTS = ("relevance", "downloads", "updated", "name")
DESCRIPTION_WIDTH = 70


def _short(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command()
@click.argument("query", required=False, default="")
@click.option("--tag", help="Only skills with this tag.")
@click.option("--namespace", help="Only skills in this namespace.")
@click.option("--sort", type=click.Choice(SORTS), help="Order of results (default: relevance).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor", help="Continue from a previous page (printed after the results).")
@json_option
@pass_app
def search(
    app: AppContext,
    query: str,
    tag: str | None,
    namespace: str | None,
    sort: str | None,
    limit: int,
    cursor: str | None,
) -> None:
    """Search the registry by name, description, tags and text (no QUERY: browse)."""
    params: dict[str, str | int | bool] = {"limit": limit}
    for key, value in (("q", query), ("tag", tag), ("namespace", namespace), ("sort", sort)):
        if value:
            params[key] = value
    if cursor:
        params["cursor"] = cursor
    client = app.client()
    page = client.get(path_of("skills"), SearchPageView, params=params, always_there=True)
    out = app.output
    out.json(to_builtins(page))
    meant = f"did you mean: {', '.join(page.suggestions)}?" if page.suggestions else ""
    if not page.items:
        out.result(
            f"No skills found on {client.base_url}."
            + (f" {meant[0].upper()}{meant[1:]}" if meant else "")
        )
        return
    out.table(
        ("NAME", "LATEST", "DOWNLOADS", "DESCRIPTION"),
        [
            (s.full_name, s.latest_version or "-", str(s.downloads), _short(s.description))
            for s in page.items
        ],
    )
    about = "about " if page.total_approximate else ""
    total = f" of {about}{page.total}" if page.total is not None else ""
    out.note(f"{len(page.items)}{total} shown, from {client.base_url}")
    if meant:
        out.note(meant)
    if page.next_cursor:
        out.note(f"more: skreg search ... --cursor {page.next_cursor}")


@click.command()
@click.argument("skill")
@json_option
@pass_app
def info(app: AppContext, skill: str) -> None:
    """Show a skill: versions, digest, files and provenance (NS/NAME[@VERSION])."""
    ref = parse_ref(skill)
    client = app.client()
    detail = registry.get_skill(client, ref.namespace, ref.name)
    versions = registry.list_versions(client, ref.namespace, ref.name)
    version: VersionView | None
    if ref.spec:  # the registry resolves ranges, never the CLI
        version = registry.resolve(client, ref)
    else:  # the latest, else the newest of whatever exists (every version yanked)
        chosen = detail.latest_version or _newest(versions)
        version = registry.get_version(client, ref.namespace, ref.name, chosen) if chosen else None
    app.output.json(
        {
            "skill": to_builtins(detail),
            "version": to_builtins(version) if version else None,
            "versions": [
                {"version": v.version, "yanked": v.yanked, "published_at": v.published_at}
                for v in versions
            ],
        }
    )
    _print_info(app.output, detail, version, versions)


def _newest(versions: list[VersionView]) -> str | None:
    return versions[0].version if versions else None


def _print_info(
    out: Output, detail: SkillView, version: VersionView | None, versions: list[VersionView]
) -> None:
    out.result(f"{detail.full_name}: {detail.description}")
    out.result(f"latest: {detail.latest_version or '-'}   downloads: {detail.downloads}")
    if detail.tags:
        out.result(f"tags: {', '.join(detail.tags)}")
    if detail.deprecated:
        out.result("deprecated: this skill is no longer maintained")
    if version is not None:
        yanked = f"  YANKED: {version.yank_reason or 'no reason given'}" if version.yanked else ""
        out.result(f"\nversion {version.version} (published {version.published_at or '?'}){yanked}")
        out.result(f"digest: {version.digest}")
        out.result(verdict_line(version.scan, version.withheld))
        show_findings(out, version.scan)
        if version.provenance:
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(version.provenance.items()) if v)
            out.result(f"provenance: {shown}")
        out.result(f"files ({len(version.files)}):")
        out.table(
            ("  PATH", "SIZE", "MODE", "SHA256"),
            [(f"  {f.path}", str(f.size), f"{f.mode:o}", f.sha256[:12]) for f in version.files],
        )
    marks = [f"{v.version}{' (yanked)' if v.yanked else ''}" for v in versions]
    out.result(f"\nversions: {', '.join(marks) or '-'}")
