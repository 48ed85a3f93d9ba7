"""Building bundles and calling the catalog in tests."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tarfile
from html.parser import HTMLParser
from typing import Any

import httpx
from skreg_catalog.skills.models import Skill, Version
from skreg_common.db import create_engine, create_sessionmaker, unit_of_work
from sqlalchemy import select, update

from tests.support import identities
from tests.support.factories import publish_bundle, publish_skill, skill_bundle
from tests.support.factories import skill_md as skill_md

GZIP = {"Content-Type": "application/gzip"}
bundle = skill_bundle  # the catalog tests' short name for a valid bundle


def auth(who: str) -> dict[str, str]:
    """Headers presenting `who`'s credential, issued by auth (tests/support/identities.py)."""
    return identities.current().headers(who)


def user_id(who: str) -> str:
    """The id auth gave the user `who`."""
    return identities.current().user_ids[who]


def raw_targz(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A tar.gz built entry by entry, for hostile archives pack_files would refuse."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return gzip.compress(buffer.getvalue())


def entry(
    name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE, linkname: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    """One tar entry."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o644
    info.linkname = linkname
    return info, data


async def publish(
    client: httpx.AsyncClient,
    data: bytes,
    who: str = "alice",
    **params: Any,
) -> httpx.Response:
    """POST a bundle as `who` with query parameters."""
    return await publish_bundle(client, data, auth(who), **params)


async def published(
    client: httpx.AsyncClient, name: str, version: str, who: str = "alice", **fields: Any
) -> dict[str, Any]:
    """Publish `name@version` as `who` and return the response body (asserting 201)."""
    return await publish_skill(client, name, version, auth(who), **fields)


async def backdate_deletion(database_url: str, namespace: str, name: str, *, days: int) -> None:
    """Move a deleted skill's deletion (and its versions') `days` into the past."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    skill = (Skill.namespace == namespace, Skill.name == name)
    engine = create_engine(database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await session.execute(update(Skill).where(*skill).values(deleted_at=when))
            await session.execute(
                update(Version)
                .where(Version.skill_id.in_(select(Skill.id).where(*skill)))
                .values(deleted_at=when)
            )
    finally:
        await engine.dispose()


class RawRequest:
    """Drives the ASGI app directly, to send bodies a test client cannot (chunked, lying)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.pending = [
            {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
        ] + [{"type": "http.request", "body": b"", "more_body": False}]
        self.consumed = 0
        self.status = 0
        self.body = b""

    async def send_to(self, app: Any, path: str, headers: dict[str, str]) -> None:
        """Send a POST to `app` and collect the response."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            if not self.pending:
                return {"type": "http.disconnect"}
            self.consumed += 1
            return self.pending.pop(0)

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                self.body += message.get("body", b"")

        await app(scope, receive, send)


def parse_html(html: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Every tag and attribute a browser would build from `html`."""
    tags: list[str] = []
    attributes: list[tuple[str, str]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)
            attributes.extend((name.lower(), (value or "").strip()) for name, value in attrs)

    Collector().feed(html)
    return tags, attributes
