"""The auth service as a `ServiceComponent`: mounted alone (`python -m skreg_auth`) or all-in-one.

Besides its routes it supplies the principal resolver of the app it is mounted in:
tokens are checked against its own key and API keys against its own database.
"""

from __future__ import annotations

import structlog
from litestar import Router
from litestar.di import Provide
from skreg_common.app import ServiceComponent
from skreg_common.revocation import RevocationSubscriber
from skreg_common.runtime import Runtime
from skreg_common.verifier import CredentialResolver
from skreg_proto.internal import INTERNAL_PREFIX

from skreg_auth.apikeys.routes import HANDLERS as KEY_HANDLERS
from skreg_auth.audit.routes import HANDLERS as AUDIT_HANDLERS
from skreg_auth.context import AuthContext
from skreg_auth.deps import provide_client_ip
from skreg_auth.orgs.routes import HANDLERS as ORG_HANDLERS
from skreg_auth.orgs.routes import INTERNAL_HANDLERS as ORG_INTERNAL_HANDLERS
from skreg_auth.sessions.routes import HANDLERS as SESSION_HANDLERS
from skreg_auth.settings import AuthSettings
from skreg_auth.sso.routes import HANDLERS as SSO_HANDLERS
from skreg_auth.tokens.routes import HANDLERS as TOKEN_HANDLERS
from skreg_auth.tokens.routes import INTERNAL_HANDLERS
from skreg_auth.trusted.routes import HANDLERS as TRUST_HANDLERS
from skreg_auth.users.bootstrap import bootstrap_admin
from skreg_auth.users.routes import HANDLERS as USER_HANDLERS
from skreg_auth.users.routes import registration_router

PREFIX = "/api/v1/auth"
# Auth bodies are a few small JSON fields; anything bigger is refused before being read.
MAX_BODY_BYTES = 64 * 1024

log = structlog.get_logger(__name__)


def component(settings: AuthSettings, context: AuthContext | None = None) -> ServiceComponent:
    """Auth's routes under `/api/v1/auth` (+ the internal service-token endpoint), with its
    context provided to them as the `auth` dependency.

    The context is bound to the app's runtime when the app is assembled (for the
    resolver) or, at the latest, when it starts.
    """
    auth = context or AuthContext.create(settings)
    subscribers: list[RevocationSubscriber] = []

    def provide_auth() -> AuthContext:
        return auth

    def resolver_factory(runtime: Runtime) -> CredentialResolver:
        return auth.bind(runtime).resolver

    async def start(runtime: Runtime) -> None:
        auth.bind(runtime)
        outcome = await bootstrap_admin(
            runtime.sessions,
            auth.passwords,
            username=settings.admin_username,
            email=settings.admin_email,
            password=settings.admin_password,
        )
        relearned = await auth.revoker.load(runtime.sessions)
        if runtime.redis is not None:
            subscriber = RevocationSubscriber(runtime.redis, auth.revocations)
            await subscriber.start()
            subscribers.append(subscriber)
        await auth.passwords.warm_up()
        log.info(
            "auth.started",
            admin=settings.admin_username,
            admin_created=outcome == "created",
            revocations=relearned,
            registration_open=settings.registration_is_open,
        )

    async def stop(_runtime: Runtime) -> None:
        for subscriber in subscribers:
            await subscriber.stop()
        await auth.revoker.drain()
        auth.passwords.close()

    dependencies = {
        "auth": Provide(provide_auth, use_cache=True, sync_to_thread=False),
        "client_ip": Provide(provide_client_ip, sync_to_thread=False),
    }
    public = Router(
        path=PREFIX,
        route_handlers=[
            registration_router(auth),
            *USER_HANDLERS,
            *SESSION_HANDLERS,
            *KEY_HANDLERS,
            *AUDIT_HANDLERS,
            *ORG_HANDLERS,
            *TOKEN_HANDLERS,
            *SSO_HANDLERS,
            *TRUST_HANDLERS,
        ],
        dependencies=dependencies,
        request_max_body_size=MAX_BODY_BYTES,
        tags=["auth"],
    )
    internal = Router(
        path=f"{INTERNAL_PREFIX}/auth",
        route_handlers=[*INTERNAL_HANDLERS, *ORG_INTERNAL_HANDLERS],
        dependencies=dependencies,
        request_max_body_size=MAX_BODY_BYTES,
        include_in_schema=False,
    )
    return ServiceComponent(
        name="auth",
        route_handlers=[public, internal],
        on_startup=[start],
        on_shutdown=[stop],
        resolver_factory=resolver_factory,
    )
