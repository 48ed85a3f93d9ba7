"""Small pure pieces: URL policy and redaction, secrets at rest, the Redis clone slots."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from skreg_importer.crypto import SecretBox, SecretDecryptError
from skreg_importer.gitops.urls import UrlRefused, address_problem, parse_repo_url, redact
from skreg_importer.pathfilters import Glob, PathFilter, normalise_globs
from skreg_importer.queue.slots import RedisSlots
from skreg_importer.tagversions import TagVersion, version_for
from skreg_proto.problems import FieldProblem


def test_accepted_urls_and_their_display_forms() -> None:
    https = parse_repo_url(
        "https://bob:t0ken@git.example.com:8443/team/skills.git", allow_local=False
    )
    assert (https.display, https.username, https.password) == (
        "https://git.example.com:8443/team/skills.git",
        "bob",
        "t0ken",
    )
    assert https.basename == "skills"
    scp = parse_repo_url("git@github.com:org/repo.git", allow_local=False)
    assert (scp.scheme, scp.host, scp.display) == (
        "scp",
        "github.com",
        "git@github.com:org/repo.git",
    )
    assert parse_repo_url("ssh://git@host:2222/x.git", allow_local=False).port == 2222
    assert parse_repo_url("git://host/x", allow_local=False).scheme == "git"
    assert parse_repo_url("file:///srv/repo", allow_local=True).path == "/srv/repo"
    with pytest.raises(UrlRefused, match="file:// and http:// only with IMPORTER_ALLOW_LOCAL"):
        parse_repo_url("file:///srv/repo", allow_local=False)
    with pytest.raises(UrlRefused, match="remote helpers"):
        parse_repo_url("ext::sh%20-c%20id", allow_local=True)


def test_address_policy() -> None:
    assert address_problem("169.254.169.254", allow_local=True) is not None  # always refused
    assert address_problem("::ffff:169.254.169.254", allow_local=True) is not None
    assert address_problem("127.0.0.1", allow_local=False) is not None
    assert address_problem("127.0.0.1", allow_local=True) is None
    assert address_problem("10.1.2.3", allow_local=False) is None  # intranet Git servers
    assert address_problem("0.0.0.0", allow_local=True) is not None


def test_redact_strips_credentials_from_any_url_in_text() -> None:
    text = "fatal: unable to access 'https://user:hunter2@host/r.git/': 403 and https://tok@h/x"
    cleaned = redact(text, ["hunter2"])
    assert "hunter2" not in cleaned
    assert "tok@" not in cleaned
    assert "https://***@host/r.git/" in cleaned
    assert redact("ssh://git@host/x") == "ssh://git@host/x"  # a user name, not a secret


def test_secret_box_round_trip_and_tamper() -> None:
    box = SecretBox("k" * 40)
    sealed = box.seal(b"token", "purpose-a")
    assert b"token" not in sealed.encode()
    assert box.open(sealed, "purpose-a") == b"token"
    assert box.seal(b"token", "purpose-a") != sealed  # fresh nonce every time
    with pytest.raises(SecretDecryptError):
        box.open(sealed, "purpose-b")  # bound to its column
    with pytest.raises(SecretDecryptError):
        SecretBox("other" * 10).open(sealed, "purpose-a")
    with pytest.raises(SecretDecryptError):
        box.open(sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], "purpose-a")


async def test_redis_slots_cap_and_expire(redis_client: Redis) -> None:
    slots = RedisSlots(redis_client, 2, lease_seconds=0.5, key="skreg:test:slots")
    assert await slots.try_acquire("a")
    assert await slots.try_acquire("b")
    assert not await slots.try_acquire("c")
    assert await slots.renew("a")
    await asyncio.sleep(0.7)  # neither holder renewed: both leases lapse (a dead worker)
    assert not await slots.renew("b")
    assert await slots.try_acquire("c")
    assert await slots.try_acquire("d")
    assert await slots.holders() == 2

    running = 0
    peak = 0

    async def hold() -> None:
        nonlocal running, peak
        async with RedisSlots(redis_client, 3, lease_seconds=5, key="skreg:test:slots2").slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.05)
            running -= 1

    await asyncio.gather(*(hold() for _ in range(12)))
    assert peak == 3
    assert await redis_client.zcard("skreg:test:slots2") == 0  # every slot handed back


def test_versions_from_tags_prefer_the_skills_own_tag() -> None:
    tags = ["v1.4.0", "1.5.0", "alpha@2.0.0", "alpha@v2.1.0", "beta-v3.0.0", "nightly", "v1.x"]
    assert version_for("alpha", tags) == TagVersion("2.1.0", "alpha@v2.1.0")
    assert version_for("beta", tags) == TagVersion("3.0.0", "beta-v3.0.0")
    assert version_for("gamma", tags) == TagVersion("1.5.0", "1.5.0")  # the highest plain tag
    assert version_for("gamma", ["nightly", "gamma@latest"]) is None


def test_path_filters_match_folders_and_everything_below_them() -> None:
    filters = PathFilter.of(["skills/**"], ["preview/**", ".claude", "**/drafts", "x/[a-c]*"])
    assert [p for p in ("preview", ".claude", "a/b/drafts", "x/b1") if filters.excluded(p)] == [
        "preview",
        ".claude",
        "a/b/drafts",
        "x/b1",
    ]
    assert not any(filters.excluded(p) for p in ("", ".curated", "x/d1", "previews", "drafts2"))
    assert filters.included("skills/a/b")
    assert filters.included("skills")
    assert not filters.included("other/skills")
    assert Glob.of("[a-c]?[!x]*.md").matches("b1y.md")
    assert not Glob.of("[a-c]?[!x]*.md").matches("b1x.md")
    assert Glob.of("a/**/b").matches("a/b")
    assert Glob.of("a/**/b").matches("a/x/y/b")
    # Matching is linear: a glob that sends a backtracking regex into minutes answers at once.
    assert not Glob.of("*a" * 20 + "b").matches("a" * 255)
    assert not Glob.of("/".join(["**"] * 40) + "/x").matches("/".join(["a"] * 300))
    problems: list[FieldProblem] = []
    assert normalise_globs(["./a/", "a", " /abs", "b/[x", ""], "exclude", problems) == ["a"]
    assert [p.path for p in problems] == ["exclude[2]", "exclude[3]", "exclude[4]"]
