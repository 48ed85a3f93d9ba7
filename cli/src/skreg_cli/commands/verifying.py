"""`skreg verify`: check installed skills against skreg.lock and the registry's signatures."""

from __future__ import annotations

import click

from skreg_cli import lockfile
from skreg_cli.commands.common import json_option, scope_options
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.lockfile import LOCK_NAME
from skreg_cli.verify import Verifier


@click.command()
@scope_options
@click.option("--offline", is_flag=True, help="Check the files only; do not ask the registry.")
@json_option
@pass_app
def verify(app: AppContext, global_: bool, offline: bool) -> None:
    """Check installed skills against skreg.lock and the registry's signatures.

    Reports every drift: a file modified, missing or added in an installed copy; a
    copy missing; a version yanked, held for review or removed since install; a
    digest or signature that no longer matches what was locked. Exits 0 when
    nothing drifted, 10 when a digest or signature no longer matches, 1 otherwise.
    """
    scope = app.scope(global_)
    lock = lockfile.read(scope.lock_path)
    if lock is None:
        raise CliError(
            f"no {LOCK_NAME} in {scope.root}",
            hint="install a skill first: `skreg install NAMESPACE/NAME`",
        )
    checks = Verifier(app, scope, offline=offline).run(lock)
    out = app.output
    out.json({"lockfile": str(scope.lock_path), "skills": [c.as_json() for c in checks]})
    for check in checks:
        label = f"{check.key}@{check.entry.version}"
        signed = f" (signed by {check.keyid[:16]}…)" if check.keyid else ""
        out.result(f"{label}: {'ok' if not check.drifts else 'DRIFT'}{signed}")
        for drift in check.drifts:
            out.result(f"  {drift.kind}: {drift.detail}")
        for note in check.notes:
            out.note(f"  {label}: {note}")
    drifted = [c for c in checks if c.drifts]
    if not drifted:
        return
    integrity = any(d.integrity for c in drifted for d in c.drifts)
    raise CliError(
        f"{len(drifted)} of {len(checks)} installed skills drifted from {LOCK_NAME}",
        hint="`skreg install --force` puts the locked files back; `skreg update` moves on "
        "from a yanked version",
        code=ExitCode.INTEGRITY if integrity else ExitCode.FAILED,
    )
