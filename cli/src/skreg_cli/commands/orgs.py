"""`skreg org …`: organizations and their members, and `skreg visibility` for a skill.

Thin calls to auth's `/api/v1/auth/orgs` and the catalog's `PATCH /api/v1/skills/…`;
the registry decides who may do what and answers with a clear problem otherwise.
"""

from __future__ import annotations

from typing import Any

import click

from skreg_cli.client import path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app

ROLES = ("owner", "admin", "publisher", "reader")
VISIBILITIES = ("public", "internal", "private")


def _json(response: Any) -> Any:
    return response.json()


@click.group()
def org() -> None:
    """Organizations: create one, list yours, manage members and roles."""


@org.command(name="create")
@click.argument("name")
@json_option
@pass_app
def create(app: AppContext, name: str) -> None:
    """Create organization NAME (also its namespace); you become its owner."""
    client = app.client()
    made = _json(client.request("POST", path_of("auth", "orgs"), json={"name": name}))
    app.output.json(made)
    app.output.result(f"Created organization {made['name']}; you are its owner.")


@org.command(name="list")
@json_option
@pass_app
def list_orgs(app: AppContext) -> None:
    """Your organizations and your role in each."""
    orgs = _json(app.client().request("GET", path_of("auth", "orgs"), always_there=True))
    app.output.json(orgs)
    if not orgs:
        app.output.result("No organizations yet: create one with `skreg org create NAME`.")
        return
    rows = [[o["name"], o["role"] or "-", str(o["members"])] for o in orgs]
    app.output.table(["ORGANIZATION", "ROLE", "MEMBERS"], rows, whole=(0,))


@org.command()
@click.argument("name")
@json_option
@pass_app
def members(app: AppContext, name: str) -> None:
    """The members of organization NAME with their roles."""
    found = _json(
        app.client().request(
            "GET", path_of("auth", "orgs", name, "members"), not_found=f"organization {name}"
        )
    )
    app.output.json(found)
    rows = [[m["username"], m["role"]] for m in found]
    app.output.table(["USER", "ROLE"], rows, whole=(0,))


@org.command(name="add")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@json_option
@pass_app
def add(app: AppContext, name: str, username: str, role: str) -> None:
    """Add USERNAME to organization NAME, or change their role."""
    path = path_of("auth", "orgs", name, "members", username)
    member = _json(app.client().request("PUT", path, json={"role": role}))
    app.output.json(member)
    app.output.result(f"{member['username']} is now {member['role']} of {name}.")


@org.command(name="remove")
@click.argument("name")
@click.argument("username")
@pass_app
def remove(app: AppContext, name: str, username: str) -> None:
    """Remove USERNAME from organization NAME (or yourself: leave it)."""
    app.client().request("DELETE", path_of("auth", "orgs", name, "members", username))
    app.output.result(f"{username} is no longer a member of {name}.")


@click.command()
@click.argument("skill", metavar="NAMESPACE/NAME")
@click.argument("visibility", type=click.Choice(VISIBILITIES))
@json_option
@pass_app
def visibility(app: AppContext, skill: str, visibility: str) -> None:
    """Make a skill public, internal (signed-in users) or private (its owners)."""
    namespace, _, name = skill.partition("/")
    if not namespace or not name:
        raise click.UsageError("name the skill as NAMESPACE/NAME")
    path = path_of("skills", namespace, name)
    detail = _json(
        app.client().request("PATCH", path, json={"visibility": visibility}, not_found=skill)
    )
    app.output.json(detail)
    app.output.result(f"{skill} is now {detail['visibility']}.")
