"""Who may see a skill: the one authorisation rule every read surface applies.

A skill is `public` (whoever reaches the registry; with `REQUIRE_SIGN_IN`, whoever
signed in), `internal` (any signed-in user) or `private` (the namespace's owning
user, or members of its owning organization, any role). Registry admins and our own
services see everything. An API key limited to namespaces (`acme/*`) sees, outside
them, only what is public.

The rule is computed once per request from the principal into a `Sight`, which
answers in two forms derived from the same fields:

- `Sight.allows(gate)`: one skill's row (single-skill reads: detail, versions,
  files, downloads), after `gate` read it; a skill the caller may not see raises
  the very NotFound an absent one does;
- `visible_to(shape)` + `Sight.params()`: a SQL predicate over `Skill` for every
  query (lists, search and totals, tags and counts, stats, the well-known index,
  ClawHub and MCP lists), built once per shape and bound per caller.

tests/catalog/test_visibility_rule.py holds the two forms to agree on every
combination, and tests/catalog/test_visibility_matrix.py walks every surface.

Caching: results that depend on the caller are cached under `Sight.cache_key`, so
one caller's private result is never served to another; gate rows are the same for
everyone and are checked per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from skreg_common.errors import NotFound
from skreg_common.principal import Principal, resolve_principal
from sqlalchemy import Boolean, Select, String, and_, bindparam, false, or_, select
from sqlalchemy.sql.expression import ColumnElement

from skreg_catalog.skills.models import Namespace, Skill

if TYPE_CHECKING:
    from litestar import Request
    from skreg_common.quickread import QuickReader

    from skreg_catalog.context import CatalogContext

Visibility = Literal["public", "internal", "private"]
VISIBILITIES: tuple[str, ...] = ("public", "internal", "private")


@dataclass(frozen=True)
class Gate:
    """What the rule needs to know about one skill."""

    visibility: str
    namespace: str
    owner_id: str | None
    org: str | None


# (knows a user, is in organizations, is limited to namespaces): what the SQL depends on.
Shape = tuple[bool, bool, bool]


@dataclass(frozen=True)
class Sight:
    """What one caller may see, derived from its principal (`sight_of`)."""

    public: bool  # public skills (everyone, unless sign-in is required)
    internal: bool  # internal skills (signed-in users)
    everything: bool  # registry admins and services
    user_id: str | None = None  # private skills of namespaces this user owns
    orgs: tuple[str, ...] = ()  # private skills of these organizations' namespaces
    namespaces: tuple[str, ...] | None = None  # a key's limit (beyond it: public only)

    def allows(self, gate: Gate) -> bool:
        """The per-row form of the rule (the SQL form is `visible_to`)."""
        if gate.visibility == "public" and self.public:
            return True
        if self.namespaces is not None and gate.namespace not in self.namespaces:
            return False
        if self.everything:
            return True
        if gate.visibility in ("public", "internal") and self.internal:
            return True
        mine = self.user_id is not None and gate.owner_id == self.user_id
        return mine or (gate.org is not None and gate.org in self.orgs)

    @property
    def shape(self) -> Shape:
        """Which optional parts the SQL predicate needs for this caller."""
        return (self.user_id is not None, bool(self.orgs), self.namespaces is not None)

    def params(self) -> dict[str, Any]:
        """The bind parameters of `visible_to(self.shape)`."""
        params: dict[str, Any] = {
            "sight_public": self.public,
            "sight_internal": self.internal,
            "sight_everything": self.everything,
        }
        if self.user_id is not None:
            params["sight_user"] = self.user_id
        if self.orgs:
            params["sight_orgs"] = list(self.orgs)
        if self.namespaces is not None:
            params["sight_namespaces"] = list(self.namespaces)
        return params

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """Callers with equal keys see exactly the same skills (so may share cached reads)."""
        if self.everything and self.namespaces is None:
            return ("all",)
        if self.user_id is None and not self.orgs:
            return ("sight", self.public, self.internal)
        return ("sight", self.public, self.internal, self.everything, self.user_id, self.orgs,
                self.namespaces)  # fmt: skip


NOBODY = Sight(public=False, internal=False, everything=False)
EVERYONE = Sight(public=True, internal=False, everything=False)
ALL = Sight(public=True, internal=True, everything=True)


def sight_of(principal: Principal, *, require_sign_in: bool) -> Sight:
    """The rule's input for one caller."""
    if principal.is_service:
        return ALL
    if principal.kind != "user":
        return NOBODY if require_sign_in else EVERYONE
    namespaces = None
    if principal.namespaces is not None:
        namespaces = tuple(sorted({p.removesuffix("/*") for p in principal.namespaces}))
    return Sight(
        public=True,
        internal=True,
        everything=principal.is_admin,
        user_id=principal.id,
        orgs=tuple(sorted(org for org, _ in principal.orgs)),
        namespaces=namespaces,
    )


@lru_cache(maxsize=16)
def visible_to(shape: Shape) -> ColumnElement[bool]:
    """The SQL form of `Sight.allows` over `Skill` (bind it with `Sight.params()`)."""
    has_user, has_orgs, limited = shape
    owned = []
    if has_user:
        owned.append(Namespace.owner_id == bindparam("sight_user", type_=String()))
    if has_orgs:
        owned.append(Namespace.org.in_(bindparam("sight_orgs", expanding=True)))
    mine = Skill.namespace_id.in_(select(Namespace.id).where(or_(*owned))) if owned else false()
    beyond_public = or_(
        bindparam("sight_everything", type_=Boolean()),
        and_(
            bindparam("sight_internal", type_=Boolean()),
            # Not IN (…): literal lists expand at execution, which the quick reader avoids.
            or_(Skill.visibility == "public", Skill.visibility == "internal"),
        ),
        mine,
    )
    if limited:
        in_limit = Skill.namespace.in_(bindparam("sight_namespaces", expanding=True))
        beyond_public = and_(in_limit, beyond_public)
    return or_(
        and_(bindparam("sight_public", type_=Boolean()), Skill.visibility == "public"),
        beyond_public,
    )


async def sight_for(request: Request[Any, Any, Any], catalog: CatalogContext) -> Sight:
    """The caller's sight for this request (remembered on the request)."""
    state = request.scope.setdefault("state", {})
    known = state.get("sight")
    if isinstance(known, Sight):
        return known
    principal = await resolve_principal(request)
    sight = sight_of(principal, require_sign_in=catalog.settings.require_sign_in)
    state["sight"] = sight
    return sight


_GATE_COLUMNS: tuple[Any, ...] = (
    Skill.visibility,
    Skill.namespace,
    Namespace.owner_id,
    Namespace.org,
)
_GATE: Select[Any] = (
    select(*_GATE_COLUMNS)
    .join(Namespace, Namespace.id == Skill.namespace_id)
    .where(
        Skill.namespace == bindparam("namespace", type_=String()),
        Skill.name == bindparam("name", type_=String()),
        Skill.deleted_at.is_(None),
    )
)


async def _load_gate(reader: QuickReader, namespace: str, name: str) -> Gate | None:
    row = await reader.first(_GATE, {"namespace": namespace, "name": name})
    if row is None:
        return None
    return Gate(row["visibility"], row["namespace"], row["owner_id"], row["org"])


async def check_visible(
    catalog: CatalogContext, reader: QuickReader, sight: Sight, namespace: str, name: str
) -> Gate:
    """Raise the NotFound of an absent skill unless `sight` may see `namespace/name`.

    Every single-skill read calls this first (through `require_visible` on HTTP). The
    gate row is the same for every caller, so it is cached under one key; the rule
    is applied per call. A hidden skill and an absent one cost the same one lookup.
    """
    gate = await catalog.reads.get_or_load(
        ("gate", namespace, name), lambda: _load_gate(reader, namespace, name)
    )
    if gate is None or not sight.allows(gate):
        raise NotFound(f"no skill {namespace}/{name}")
    return gate


async def require_visible(
    request: Request[Any, Any, Any], catalog: CatalogContext, namespace: str, name: str
) -> Gate:
    """`check_visible` for the caller of an HTTP request; returns the skill's gate row."""
    sight = await sight_for(request, catalog)
    return await check_visible(catalog, request.app.state.runtime.quick, sight, namespace, name)


def shared_caching(gate: Gate, catalog: CatalogContext) -> bool:
    """Whether shared caches (proxies) may keep responses about this skill: only when
    anyone may see it; otherwise responses are `private`."""
    return gate.visibility == "public" and not catalog.settings.require_sign_in
