"""The auth service as a component: its routes, start-up (seed admin, revocations), resolver."""

from __future__ import annotations

import structlog
from litestar import Router
from litestar.di import Provide
from skreg_common.app import ServiceComponent
from skreg_common.revocation import RevocationSubscriber
from skreg_common.runtime import Runtime
from skreg_common.verifier import CredentialResolver
from skreg_proto.internal import INTERNAL_PREFIX

from skreg_auth.apikeys.routes import ROUTES as KEY_ROUTES
from skreg_auth.audit.routes import ROUTES as AUDIT_ROUTES
from skreg_auth.context import AuthContext
from skreg_auth.deps import EXTRAS_KEY, provide_auth, provide_client_ip
from skreg_auth.sessions.routes import ROUTES as SESSION_ROUTES
from skreg_auth.settings import AuthSettings
from skreg_auth.tokens.routes import INTERNAL_ROUTES, PUBLIC_ROUTES
from skreg_auth.users.routes import ROUTES as USER_ROUTES
from skreg_auth.users.service import bootstrap_admin

PREFIX = "/api/v1/auth"
# Auth bodies are a few small JSON fields; anything bigger is refused before being read.
MAX_BODY_BYTES = 64 * 1024

log = structlog.get_logger(__name__)


def context(settings: AuthSettings, runtime: Runtime) -> AuthContext:
    """The process's AuthContext for `runtime`, built on first use."""
    existing = runtime.extras.get(EXTRAS_KEY)
    if isinstance(existing, AuthContext):
        return existing
    built = AuthContext.build(settings, runtime)
    runtime.extras[EXTRAS_KEY] = built
    return built


def component(settings: AuthSettings) -> ServiceComponent:
    """Auth's routes under `/api/v1/auth` (+ the internal service-token endpoint).

    It also supplies the principal resolver of the app it is mounted in: tokens are
    checked against its own key and API keys against its own database.
    """
    subscribers: list[RevocationSubscriber] = []

    def resolver_factory(runtime: Runtime) -> CredentialResolver:
        return context(settings, runtime).resolver

    async def start(runtime: Runtime) -> None:
        ctx = context(settings, runtime)
        outcome = await bootstrap_admin(
            runtime.sessions,
            ctx.passwords,
            username=settings.admin_username,
            email=settings.admin_email,
            password=settings.admin_password,
        )
        relearned = await ctx.revoker.load(runtime.sessions)
        if runtime.redis is not None:
            subscriber = RevocationSubscriber(runtime.redis, ctx.revoker.revocations)
            await subscriber.start()
            subscribers.append(subscriber)
        await ctx.passwords.warm_up()
        log.info(
            "auth.started",
            admin=settings.admin_username,
            admin_created=outcome == "created",
            revocations=relearned,
            registration_open=settings.registration_is_open,
        )

    async def stop(runtime: Runtime) -> None:
        for subscriber in subscribers:
            await subscriber.stop()
        ctx = runtime.extras.get(EXTRAS_KEY)
        if isinstance(ctx, AuthContext):
            await ctx.revoker.drain()
            ctx.passwords.close()

    dependencies = {
        "auth": Provide(provide_auth, sync_to_thread=False),
        "client_ip": Provide(provide_client_ip, sync_to_thread=False),
    }
    public = Router(
        path=PREFIX,
        route_handlers=[
            *USER_ROUTES,
            *SESSION_ROUTES,
            *KEY_ROUTES,
            *AUDIT_ROUTES,
            *PUBLIC_ROUTES,
        ],
        dependencies=dependencies,
        request_max_body_size=MAX_BODY_BYTES,
        tags=["auth"],
    )
    internal = Router(
        path=f"{INTERNAL_PREFIX}/auth",
        route_handlers=INTERNAL_ROUTES,
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
