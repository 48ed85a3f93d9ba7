"""Verifying push webhooks and turning them into syncs.

GitHub signs the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`. GitLab
sends the shared secret itself in `X-Gitlab-Token`. Both are compared in constant
time, and an unknown source or one without a secret goes through the same
comparison against a throw-away key, so timing says nothing about which it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

import structlog
from skreg_common.db import insert_for, rows_affected, unit_of_work, utcnow
from skreg_common.errors import Unauthorized
from skreg_proto.importer import WebhookAccepted
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_importer.crypto import SecretBox, SecretDecryptError
from skreg_importer.runs.service import RunRequests
from skreg_importer.sources.models import Source
from skreg_importer.sources.service import WEBHOOK_PURPOSE
from skreg_importer.webhooks.models import WebhookDelivery

log = structlog.get_logger(__name__)

_DUMMY_SECRET = secrets.token_bytes(32)
GITHUB_PUSH_EVENTS = {"push"}
GITLAB_PUSH_EVENTS = {"push hook", "tag push hook"}
# How long a signed push body is remembered (GitHub gives up redelivering far sooner).
REPLAY_WINDOW = dt.timedelta(days=1)


def github_signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes | None, headers: Mapping[str, str], body: bytes) -> str:
    """Which host signed the request ("github" or "gitlab"); raises `Unauthorized` otherwise."""
    key = secret if secret is not None else _DUMMY_SECRET
    signature = headers.get("x-hub-signature-256")
    token = headers.get("x-gitlab-token")
    if signature is not None:
        ok = hmac.compare_digest(
            github_signature(key, body).encode("ascii"),
            signature.strip().encode("utf-8", "replace"),
        )
        host = "github"
    elif token is not None:
        # Hash both sides first: compare_digest is constant-time only for equal lengths.
        ok = hmac.compare_digest(
            hashlib.sha256(key).digest(), hashlib.sha256(token.encode("utf-8", "replace")).digest()
        )
        host = "gitlab"
    else:
        raise Unauthorized("webhook signature missing (X-Hub-Signature-256 or X-Gitlab-Token)")
    if not ok or secret is None:
        raise Unauthorized("webhook signature verification failed")
    return host


def _event(host: str, headers: Mapping[str, str]) -> str:
    name = headers.get("x-github-event" if host == "github" else "x-gitlab-event", "")
    return name.strip().lower()


def _pushed_ref(body: bytes, content_type: str) -> str | None:
    if "json" not in content_type:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else None


def _matches(source_ref: str | None, pushed: str | None) -> bool:
    if source_ref is None or pushed is None:
        return True  # default branch, or a payload without a ref: sync, it is cheap
    return pushed in (source_ref, f"refs/heads/{source_ref}", f"refs/tags/{source_ref}")


class WebhookService:
    """Verifies a delivery, then asks `RunRequests` for a sync (which collapses repeats)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], box: SecretBox, requests: RunRequests
    ) -> None:
        self.sessions = sessions
        self.box = box
        self.requests = requests

    async def _seen_before(self, source_id: str, body: bytes) -> bool:
        """Remember this signed body; True if it started a sync within `REPLAY_WINDOW`.

        GitHub signs the body alone, so a captured delivery stays valid forever; every
        real push differs (commits, timestamps), so an identical body is a replay or a
        manual redelivery, and a sync can still be started by hand. GitLab sends its
        secret itself, which a captured request reveals anyway: nothing to remember.
        """
        digest = hashlib.sha256(body).hexdigest()
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.source_id == source_id,
                    WebhookDelivery.received_at < now - REPLAY_WINDOW,
                )
            )
            insert = insert_for(session)
            claimed = await session.execute(
                insert(WebhookDelivery)
                .values(source_id=source_id, body_sha256=digest, received_at=now)
                .on_conflict_do_nothing()
            )
            return rows_affected(claimed) != 1

    async def _source(self, source_id: str) -> tuple[bytes | None, str | None, bool]:
        async with unit_of_work(self.sessions) as session:
            source = await session.get(Source, source_id) if len(source_id) <= 64 else None
            if source is None or source.webhook_secret_enc is None:
                return None, None, False
            try:
                secret = self.box.open(source.webhook_secret_enc, WEBHOOK_PURPOSE)
            except SecretDecryptError:
                log.error("webhook.secret_unreadable", source_id=source_id)
                return None, None, False
            return secret, source.ref, source.enabled

    async def deliver(
        self, source_id: str, headers: Mapping[str, str], body: bytes
    ) -> WebhookAccepted:
        """Check the signature; on a push to the source's ref, enqueue a sync."""
        secret, ref, enabled = await self._source(source_id)
        host = verify(secret, headers, body)
        event = _event(host, headers)
        pushes = GITHUB_PUSH_EVENTS if host == "github" else GITLAB_PUSH_EVENTS
        if event not in pushes:
            return WebhookAccepted(
                status="ignored", reason=f"event {event or '(none)'!r} is not a push"
            )
        if not enabled:
            return WebhookAccepted(status="ignored", reason="source is disabled")
        pushed = _pushed_ref(body, headers.get("content-type", ""))
        if not _matches(ref, pushed):
            return WebhookAccepted(
                status="ignored", reason=f"push to {pushed!r}, source follows {ref!r}"
            )
        if host == "github" and await self._seen_before(source_id, body):
            return WebhookAccepted(
                status="ignored", reason="this delivery was already received (a replay)"
            )
        run, _ = await self.requests.sync_source(source_id, trigger="webhook")
        log.info("webhook.accepted", source_id=source_id, host=host, run_id=run.id)
        return WebhookAccepted(status="queued", run_id=run.id)
