"""`skreg validate` and `skreg publish`."""

from __future__ import annotations

from pathlib import Path

import click

from skreg_cli import skillcheck
from skreg_cli.client import decode, path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output
from skreg_cli.trust import show_findings, verdict_line
from skreg_cli.views import VersionView, to_builtins

_DIR = click.Path(file_okay=False, path_type=Path)
# Where the rules are written down, in the registry's repository (a test checks it exists).
RULES_DOC = 'cli/README.md, section "Writing a skill", in the Skills Registry repository'


def _problems_error(checked: skillcheck.CheckedSkill, verb: str) -> CliError:
    count = len(checked.problems)
    return CliError(
        f"{checked.directory}: {count} problem{'s' if count != 1 else ''} {verb}",
        hint=f"fix every line above; the rules: {RULES_DOC}",
        code=ExitCode.FAILED,
        details=[skillcheck.describe(p) for p in checked.problems],
    )


def _summary(checked: skillcheck.CheckedSkill) -> str:
    name = checked.document.name if checked.document else "?"
    version = f"@{checked.version}" if checked.version else " (no version)"
    return f"{name}{version}: {checked.files} files, {checked.size} bytes, {checked.digest}"


@click.command()
@click.argument("directory", type=_DIR, default=Path("."))
@json_option
@pass_app
def validate(app: AppContext, directory: Path) -> None:
    """Check a skill directory with the registry's strict rules (exit 1 on problems)."""
    checked = skillcheck.check(directory)
    app.output.json(checked.as_json())
    if not checked.ok:
        raise _problems_error(checked, "found")
    app.output.result(f"valid: {_summary(checked)}")


@click.command()
@click.argument("directory", type=_DIR, default=Path("."))
@click.option("--version", "version", help="Version to publish (default: metadata.version).")
@click.option("--namespace", help="Namespace to publish into (default: your username).")
@click.option("--dry-run", is_flag=True, help="Let the registry validate it; publish nothing.")
@json_option
@pass_app
def publish(
    app: AppContext, directory: Path, version: str | None, namespace: str | None, dry_run: bool
) -> None:
    """Validate, pack and upload a skill directory; prints NS/NAME@VERSION and its digest."""
    checked = skillcheck.check(directory, version=version)
    if not checked.ok:
        raise _problems_error(checked, "to fix before publishing")
    if checked.version is None:
        raise CliError(
            "no version to publish",
            hint="pass --version 1.0.0, or set metadata.version in SKILL.md",
            code=ExitCode.USAGE,
        )
    client = app.client()
    if not client.has_token:
        raise CliError(
            f"not logged in to {client.base_url}",
            hint="run `skreg login` (or pass --token / SKREG_TOKEN)",
            code=ExitCode.UNAUTHENTICATED,
        )
    params: dict[str, str | int | bool] = {"version": checked.version}
    if namespace:
        params["namespace"] = namespace
    if dry_run:
        params["dry_run"] = True
    assert checked.bundle is not None  # ok means packed
    response = client.request(
        "POST",
        path_of("skills"),
        params=params,
        content=checked.bundle,
        headers={"Content-Type": "application/gzip"},
    )
    published = decode(response, VersionView)
    _report(app.output, published, checked, dry_run=dry_run, created=response.status_code == 201)


def _report(
    out: Output,
    published: VersionView,
    checked: skillcheck.CheckedSkill,
    *,
    dry_run: bool,
    created: bool,
) -> None:
    full = f"{published.namespace}/{published.name}@{published.version}"
    out.json(
        {
            "name": f"{published.namespace}/{published.name}",
            "version": published.version,
            "digest": published.digest,
            "dry_run": dry_run,
            "created": created and not dry_run,
            "withheld": published.withheld,
            "scan": to_builtins(published.scan) if published.scan else None,
        }
    )
    if published.digest and published.digest != checked.digest:
        out.warn(f"the registry computed {published.digest}, skreg computed {checked.digest}")
    if dry_run:
        out.result(f"would publish {full} {published.digest or checked.digest} (dry run)")
    elif created:
        out.result(f"published {full} {published.digest}")
    else:
        out.result(f"already published {full} {published.digest} (identical content)")
    if published.scan is not None and (published.withheld or published.scan.findings):
        out.warn(verdict_line(published.scan, published.withheld))
        show_findings(out, published.scan)
        if published.withheld:
            out.warn("held for review: only you and the registry's admins see it until approved")
