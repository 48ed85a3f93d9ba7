"""The visibility rule's two forms agree: the per-row check and the SQL predicate.

Every skill of a small catalog (user, organization and other namespaces, each visibility)
against every kind of caller, on both backends: the ids the SQL selects are exactly the
ids `Sight.allows` passes. Also what `sight_of` derives from a principal.
"""

from __future__ import annotations

import itertools

from skreg_catalog.skills.models import Namespace, Skill
from skreg_catalog.visibility import ALL, EVERYONE, NOBODY, Gate, Sight, sight_of, visible_to
from skreg_common.principal import ANONYMOUS, Principal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

NAMESPACES = {"ulla": ("u-ulla", None), "acme": (None, "acme"), "zed": ("u-zed", None)}
SIGHTS = {
    "nobody": NOBODY,
    "everyone": EVERYONE,
    "all": ALL,
    "signed-in": Sight(public=True, internal=True, everything=False, user_id="u-x"),
    "owner": Sight(public=True, internal=True, everything=False, user_id="u-ulla"),
    "member": Sight(public=True, internal=True, everything=False, user_id="u-m", orgs=("acme",)),
    "limited-member": Sight(
        public=True,
        internal=True,
        everything=False,
        user_id="u-m",
        orgs=("acme",),
        namespaces=("zed",),
    ),
    "limited-admin": Sight(
        public=True, internal=True, everything=True, user_id="u-a", namespaces=("acme",)
    ),
}


async def test_the_sql_predicate_and_the_row_check_agree(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    gates: dict[int, Gate] = {}
    async with sessions() as session, session.begin():
        for name, (owner_id, org) in NAMESPACES.items():
            namespace = Namespace(name=name, owner_id=owner_id, org=org)
            session.add(namespace)
            await session.flush()
            for visibility in ("public", "internal", "private"):
                skill = Skill(
                    namespace_id=namespace.id, namespace=name, name=visibility,
                    visibility=visibility,
                )  # fmt: skip
                session.add(skill)
                await session.flush()
                gates[skill.id] = Gate(visibility, name, owner_id, org)
    async with sessions() as session:
        for label, sight in SIGHTS.items():
            query = select(Skill.id).where(visible_to(sight.shape))
            selected = set((await session.execute(query, sight.params())).scalars())
            allowed = {skill_id for skill_id, gate in gates.items() if sight.allows(gate)}
            assert selected == allowed, label
    # And the rule itself, on a few cells that matter most.
    by_name = {(g.namespace, g.visibility): g for g in gates.values()}
    assert not NOBODY.allows(by_name[("acme", "public")])
    assert not SIGHTS["member"].allows(by_name[("zed", "private")])
    assert SIGHTS["member"].allows(by_name[("acme", "private")])
    assert not SIGHTS["limited-member"].allows(by_name[("acme", "private")])
    assert SIGHTS["limited-member"].allows(by_name[("acme", "public")])
    assert not SIGHTS["limited-admin"].allows(by_name[("zed", "internal")])


def test_sight_of_each_kind_of_caller() -> None:
    assert sight_of(ANONYMOUS, require_sign_in=False) == EVERYONE
    assert sight_of(ANONYMOUS, require_sign_in=True) == NOBODY
    service = Principal(kind="service", id="service:importer", roles=("service",))
    assert sight_of(service, require_sign_in=True) == ALL
    for admin, limited in itertools.product((False, True), (False, True)):
        user = Principal(
            kind="user",
            id="u1",
            roles=("admin",) if admin else ("user",),
            scopes=("read", "admin") if admin else ("read",),
            orgs=(("acme", "reader"),),
            namespaces=("acme/*",) if limited else None,
        )
        sight = sight_of(user, require_sign_in=True)
        assert (sight.public, sight.internal, sight.everything) == (True, True, admin)
        assert sight.orgs == ("acme",)
        assert sight.namespaces == (("acme",) if limited else None)
