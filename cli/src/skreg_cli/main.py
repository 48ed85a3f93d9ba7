"""`skreg`: the command group, its global options, and the one place errors become exit codes."""

from __future__ import annotations

import traceback
from typing import Any

import click

from skreg_cli.commands.account import login, logout, register, whoami
from skreg_cli.commands.authoring import publish, validate
from skreg_cli.commands.browse import info, search
from skreg_cli.commands.installing import install, list_, remove, update
from skreg_cli.commands.orgs import org, visibility
from skreg_cli.commands.sources import source
from skreg_cli.commands.verifying import verify
from skreg_cli.context import AppContext
from skreg_cli.errors import EXIT_CODE_HELP, CliError, ExitCode
from skreg_cli.output import Output

EPILOG = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):>2}  {meaning}" for code, meaning in EXIT_CODE_HELP)
    + (
        "\n\n\bEnvironment: SKREG_URL (registry), SKREG_TOKEN (API key),\n"
        "SKREG_CONFIG_DIR (where the login is stored)."
    )
)


class SkregGroup(click.Group):
    """Turns `CliError` (and anything unexpected) into one line, a hint and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            _output(ctx).error(exc)
            ctx.exit(exc.code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            _output(ctx).note("interrupted")
            ctx.exit(130)
        except Exception as exc:
            out = _output(ctx)
            if out.verbose:
                out.note(traceback.format_exc())
            out.error(
                CliError(
                    f"unexpected error: {type(exc).__name__}: {exc}",
                    hint="run again with --verbose for the traceback, and please report it",
                )
            )
            ctx.exit(ExitCode.FAILED)
        finally:
            app = ctx.find_object(AppContext)
            if app is not None:
                app.close()


def _output(ctx: click.Context) -> Output:
    app = ctx.find_object(AppContext)
    return app.output if app is not None else Output()


@click.group(
    cls=SkregGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("--url", envvar=None, help="Registry URL (default: SKREG_URL, else the last login).")
@click.option("--token", help="API key or access token for this command (default: SKREG_TOKEN).")
@click.option("-v", "--verbose", is_flag=True, help="Show requests and error details.")
@click.option("--json", "json_mode", is_flag=True, help="Print results as JSON (for scripts).")
@click.version_option(package_name="skreg-cli", prog_name="skreg")
@click.pass_context
def cli(
    ctx: click.Context, url: str | None, token: str | None, verbose: bool, json_mode: bool
) -> None:
    """skreg: find, install and publish Agent Skills from a Skills Registry."""
    ctx.obj = AppContext(
        url_flag=url, token_flag=token, output=Output(json_mode=json_mode, verbose=verbose)
    )


for command in (register, login, logout, whoami, search, info, install, update, remove, list_):
    cli.add_command(command)
cli.add_command(verify)
cli.add_command(validate)
cli.add_command(publish)
cli.add_command(source)
cli.add_command(org)
cli.add_command(visibility)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="skreg")
