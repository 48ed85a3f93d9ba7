"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from skreg_cli.context import AppContext

F = TypeVar("F", bound=Callable[..., Any])


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.output.json_mode = True


def json_option(func: F) -> F:
    """`--json` on a command (the same as the global `skreg --json`)."""
    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print the result as JSON (for scripts).",
    )(func)


def scope_options(func: F) -> F:
    """`--global` / `--project`: user-level skills dirs, or the project's (the default)."""
    return click.option(
        "--global/--project",
        "global_",
        default=False,
        help="Use the user-level skills directories (~/…) instead of the project's.",
    )(func)
