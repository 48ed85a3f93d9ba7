"""`skreg source …`: the admin's Git sources: add, list, sync (optionally waiting), runs.

These talk to the importer's admin API (`/api/v1/sources`, `/api/v1/imports`)
with an admin credential: --token / SKREG_TOKEN, else the key `skreg login
--admin` stored apart from the everyday one.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, get_args

import click
from skreg_proto.importer import SourceVisibility, VersionPolicy

from skreg_cli.client import ApiClient, decode, path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output
from skreg_cli.views import PageView, RunView, SourceView, to_builtins

MAX_PAGES = 50  # 5,000 sources: far past any registry's; a bound against a looping cursor
POLL_SECONDS = (0.2, 2.0)  # first and longest pause between looks at a running sync
ADMIN_HINT = (
    "source commands need an administrator's credential: `skreg login --admin` "
    "(as an admin), or --token / SKREG_TOKEN with an admin key"
)
# Outcomes that mean a skill did not make it into the registry (shown with their problems).
REJECTED = ("invalid", "conflict", "duplicate")


def _call(client: ApiClient, method: str, *path: str, **kwargs: Any) -> Any:
    """One admin request; a missing or non-admin credential gets a hint that fits."""
    try:
        return client.request(method, path_of(*path), **kwargs)
    except CliError as exc:
        if exc.code in (ExitCode.UNAUTHENTICATED, ExitCode.FORBIDDEN):
            exc.hint = ADMIN_HINT
        raise


def _all_sources(client: ApiClient) -> list[SourceView]:
    sources: list[SourceView] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, str | int | bool] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = _call(client, "GET", "sources", params=params, always_there=True)
        page = decode(response, PageView[SourceView])
        sources.extend(page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    return sources


def _find_source(client: ApiClient, ref: str) -> SourceView:
    """A source by id, or by its Git URL when exactly one source has it."""
    if "://" not in ref and "@" not in ref:
        return decode(_call(client, "GET", "sources", ref, not_found=f"source {ref}"), SourceView)
    wanted = ref.rstrip("/")
    matches = [s for s in _all_sources(client) if s.url.rstrip("/") == wanted]
    if not matches:
        raise CliError(
            f"no source has the URL {ref}",
            hint="`skreg source list` shows every source with its id",
            code=ExitCode.NOT_FOUND,
        )
    if len(matches) > 1:
        raise CliError(
            f"{len(matches)} sources have the URL {ref}: {', '.join(s.id for s in matches)}",
            hint="name the source by its id",
            code=ExitCode.USAGE,
        )
    return matches[0]


def _counts(run: RunView) -> dict[str, int]:
    """Per-outcome counts (lists carry them; a single run has its results instead)."""
    return run.counts or dict(Counter(r.outcome for r in run.results))


def _shown_counts(run: RunView) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(_counts(run).items())) or "-"


@click.group()
def source() -> None:
    """Git sources (admin): add one, list them, sync one, show its runs."""


@source.command(name="add")
@click.argument("url")
@click.option("--namespace", required=True, help="Namespace the skills are published into.")
@click.option("--ref", help="Branch or tag to follow (default: the repository's default).")
@click.option("--subdirectory", help="Only look for skills under this folder.")
@click.option("--include", multiple=True, help="Only paths matching this glob (repeatable).")
@click.option("--exclude", multiple=True, help="Skip paths matching this glob (repeatable).")
@click.option(
    "--version-policy",
    type=click.Choice(get_args(VersionPolicy)),
    help="How versions are taken: tags, then declared, a conflict on changed content "
    "(declared, the default); generated over a conflict; always generated.",
)
@click.option(
    "--visibility",
    type=click.Choice(get_args(SourceVisibility)),
    help="Who may see the skills this source creates (default: the namespace's default).",
)
@click.option("--interval", type=int, help="Seconds between scheduled syncs.")
@json_option
@pass_app
def add(
    app: AppContext,
    url: str,
    namespace: str,
    ref: str | None,
    subdirectory: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    version_policy: str | None,
    visibility: str | None,
    interval: int | None,
) -> None:
    """Add a Git source (URL: https://, ssh://, git@host:path; file:// where allowed)."""
    body: dict[str, Any] = {"url": url, "namespace": namespace}
    optional = {
        "ref": ref,
        "subdirectory": subdirectory,
        "interval": interval,
        "include": list(include),
        "exclude": list(exclude),
        "version_policy": version_policy,
        "visibility": visibility,
    }
    body.update({name: value for name, value in optional.items() if value not in (None, [])})
    client = app.admin_client()
    created = decode(_call(client, "POST", "sources", json=body), SourceView)
    app.output.json(to_builtins(created))
    seen_by = f" ({created.visibility})" if created.visibility else ""
    app.output.result(
        f"Added source {created.id}: {created.url} -> namespace {created.namespace}{seen_by} "
        f"on {client.base_url}"
    )
    app.output.note(f"sync it: skreg source sync {created.id} --wait")


@source.command(name="list")
@json_option
@pass_app
def list_sources(app: AppContext) -> None:
    """Every source with the state of its last run."""
    client = app.admin_client()
    sources = _all_sources(client)
    app.output.json({"registry": client.base_url, "items": [to_builtins(s) for s in sources]})
    app.output.note(f"Sources on {client.base_url}:")
    if not sources:
        app.output.result("No sources yet: add one with `skreg source add URL --namespace NS`.")
        return
    headers = ["ID", "URL", "NAMESPACE", "REF", "LAST RUN", "LAST SYNC"]
    rows = [
        [
            s.id,
            s.url + (f" ({s.subdirectory})" if s.subdirectory else ""),
            s.namespace,
            s.ref or "-",
            s.last_run_state or "never run",
            s.last_synced_at or "-",
        ]
        for s in sources
    ]
    if any(_filters(s) != "-" for s in sources):  # only registries that have them
        headers.append("FILTERS")
        for row, found in zip(rows, sources, strict=True):
            row.append(_filters(found))
    app.output.table(headers, rows, whole=(0,))


def _filters(found: SourceView) -> str:
    """`+include -exclude policy=…`, or `-` when the source has none."""
    parts = [f"+{g}" for g in found.include] + [f"-{g}" for g in found.exclude]
    if found.version_policy:
        parts.append(f"versions={found.version_policy}")
    return " ".join(parts) or "-"


@source.command()
@click.argument("source_ref", metavar="SOURCE")
@click.option("--wait", is_flag=True, help="Wait for the run to finish and show its results.")
@click.option(
    "--timeout",
    type=click.IntRange(1),
    default=600,
    show_default=True,
    help="Seconds --wait waits at most.",
)
@json_option
@pass_app
def sync(app: AppContext, source_ref: str, wait: bool, timeout: int) -> None:
    """Sync a source now (SOURCE: its id or Git URL); exit 1 if a waited-for run failed."""
    client = app.admin_client()
    found = _find_source(client, source_ref)
    run = decode(_call(client, "POST", "sources", found.id, "sync"), RunView)
    app.output.note(f"Sync of {found.url} on {client.base_url}: run {run.id} {run.state}")
    if wait:
        run = _wait(client, run, timeout)
    app.output.json(to_builtins(run))
    _print_run(app.output, run)
    if wait and run.state == "failed":
        raise CliError(
            f"run {run.id} failed: {run.error or 'no reason given'}",
            hint="fix the source (`skreg source runs` shows its history) and sync again",
        )


def _wait(client: ApiClient, run: RunView, timeout: int) -> RunView:
    deadline = time.monotonic() + timeout
    pause = POLL_SECONDS[0]
    while not run.finished:
        if time.monotonic() > deadline:
            raise CliError(
                f"run {run.id} is still {run.state} after {timeout} s",
                hint="look again later with `skreg source runs SOURCE`",
            )
        time.sleep(pause)
        pause = min(pause * 2, POLL_SECONDS[1])
        run = decode(_call(client, "GET", "imports", run.id, not_found=f"run {run.id}"), RunView)
    return run


def _print_run(out: Output, run: RunView) -> None:
    commit = f" at {run.commit[:12]}" if run.commit else ""
    out.result(f"run {run.id}: {run.state}{commit} ({_shown_counts(run)})")
    if run.error:
        out.result(f"  error: {run.error}")
    for result in run.results:
        if result.outcome in REJECTED:
            out.result(f"  {result.outcome}: {result.path} ({result.name or '?'})")
            for problem in result.problems:
                out.result(f"    {problem.path or '(skill)'}: {problem.message}")


@source.command()
@click.argument("source_ref", metavar="SOURCE")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@json_option
@pass_app
def runs(app: AppContext, source_ref: str, limit: int) -> None:
    """A source's runs, newest first, with their state and counts per outcome."""
    client = app.admin_client()
    found = _find_source(client, source_ref)
    params: dict[str, str | int | bool] = {"source_id": found.id, "limit": limit}
    response = _call(client, "GET", "imports", params=params, always_there=True)
    page = decode(response, PageView[RunView])
    app.output.json({"source": to_builtins(found), "items": [to_builtins(r) for r in page.items]})
    app.output.note(f"Runs of {found.url} on {client.base_url}:")
    if not page.items:
        app.output.result(f"No runs yet: skreg source sync {found.id}")
        return
    app.output.table(
        ("RUN", "STATE", "TRIGGER", "COMMIT", "FINISHED", "COUNTS"),
        [
            (
                r.id,
                r.state,
                r.trigger or "-",
                (r.commit or "-")[:12],
                r.finished_at or "-",
                _shown_counts(r),
            )
            for r in page.items
        ],
        whole=(0,),
    )
