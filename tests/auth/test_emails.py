"""Email uniqueness under full Unicode case folding and NFKC (issue 14, item 14)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.schema import MIGRATIONS as AUTH_MIGRATIONS
from skreg_auth.users.models import email_key
from skreg_common.db import UTCDateTime
from skreg_common.migrations import upgrade
from sqlalchemy import Boolean, Integer, String, column, insert, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import TableClause

from tests.auth.conftest import AUTH, PASSWORD, login, register
from tests.common.test_database import blank_engine  # noqa: F401 - fixture

Client = AsyncTestClient[Litestar]
BEFORE_EMAIL_KEY = "9d41b6e2c7a0"
EMAIL_KEY = "3c8e5a7f1b24"  # the revision under test (later ones renamed the table)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Älice@example.com", "älice@example.com"),  # non-ASCII case: lower() missed it
        ("straße@example.com", "STRASSE@example.com"),  # full case folding
        ("ａlice@example.com", "alice@EXAMPLE.com"),  # fullwidth: NFKC
        ("Ǆemal@example.com", "ǆemal@example.com"),
    ],
)
async def test_emails_equal_under_case_folding_register_once(
    client: Client, first: str, second: str
) -> None:
    await register(client, "first", email=first)
    again = await client.post(
        f"{AUTH}/register",
        json={"username": "second", "email": second, "password": PASSWORD},
    )
    assert again.status_code == 409
    assert [e["path"] for e in again.json()["errors"]] == ["email"]
    # Sign-in by either spelling finds the one account; the stored email is as given.
    tokens = await login(client, second)
    assert tokens["user"]["username"] == "first"
    assert tokens["user"]["email"] == first


def test_email_key_is_stable() -> None:
    for value in ("Älice@X", "ＡＬＩＣＥ@x", "ß@x", "ﬁ@x", "ǅ@x"):
        assert email_key(email_key(value)) == email_key(value)


def _users(*extra: str) -> TableClause:
    """The users table as the migration before email_key left it (plus `extra` columns)."""
    plain = ("id", "username", "email", "password_hash", "role", *extra)
    return table(
        "users",
        *(column(name, String) for name in plain),
        column("disabled", Boolean),
        column("token_version", Integer),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )


def _row(user_id: str, name: str, email: str, at: dt.datetime, **extra: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "email": email,
        "password_hash": "x",
        "role": "user",
        "disabled": False,
        "token_version": 0,
        "created_at": at,
        "updated_at": at,
        **extra,
    }


async def test_migration_backfills_keys_and_reports_collisions(
    blank_engine: AsyncEngine,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    await upgrade(blank_engine, [AUTH_MIGRATIONS], BEFORE_EMAIL_KEY)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # Distinct under lower() on both databases (so the old index let them in), one key.
    emails = ["Straße@example.com", "bob@example.com", "STRASSE@example.com"]
    ids = [str(uuid.uuid4()) for _ in emails]
    async with blank_engine.begin() as conn:
        for n, (user_id, email) in enumerate(zip(ids, emails, strict=True)):
            at = start + dt.timedelta(minutes=n)
            await conn.execute(insert(_users()).values(_row(user_id, f"user{n}", email, at)))
    await upgrade(blank_engine, [AUTH_MIGRATIONS], EMAIL_KEY)
    async with blank_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, email, email_key FROM users"))).all()
    keys = {row.id: row.email_key for row in rows}
    assert keys[ids[0]] == "strasse@example.com"  # the first keeps the address
    assert keys[ids[1]] == "bob@example.com"
    assert keys[ids[2]] == f"duplicate {ids[2]}"  # the later one is reported, not lost
    assert {row.id: row.email for row in rows}[ids[2]] == "STRASSE@example.com"
    assert ids[2] in caplog.text
    clash = _row("n", "n", "strasse@example.com", start, email_key="strasse@example.com")
    with pytest.raises(IntegrityError):
        async with blank_engine.begin() as conn:
            await conn.execute(insert(_users("email_key")).values(clash))
