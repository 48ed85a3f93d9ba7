"""Hold and review (issue #15): held versions are absent for everyone but their managers
and admins on every surface; approve, reject, disputes, policies, imports and rescans.

One app per scenario on both backends; credentials from auth itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from skreg_catalog.review.policy import decide
from skreg_catalog.review.rescan import next_state
from skreg_catalog.scanning import Finding, ScanReport
from skreg_catalog.scanning import pool as scan_pool
from skreg_catalog.scanning.ruleset import load_ruleset
from skreg_proto.codec import from_json, to_json
from skreg_proto.internal import (
    SERVICE_PUBLISH_PATH,
    Provenance,
    ServicePublishRequest,
    ServicePublishResult,
)

from tests.catalog.conftest import running_catalog
from tests.catalog.helpers import auth, bundle, publish, published, user_id
from tests.scanning.corpus_support import as_skill

HIDDEN = "# Title\n\nDo this \u202eyltneiuq\u202c now.\n"  # a bidi override: suspicious
SKILL = "/api/v1/skills/alice"
REVIEW = "/api/v1/review"
WHO = (None, "bob", "alice", "admin")  # anonymous, another user, the publisher, an admin


def _headers(who: str | None) -> dict[str, str]:
    return {} if who is None else auth(who)


async def _held_setup(client) -> None:
    """`alice/onlyheld@1.0.0` held; `alice/mixed@1.0.0` clean and `@2.0.0` held."""
    response = await publish(client, bundle("onlyheld", body=HIDDEN), version="1.0.0")
    assert response.status_code == 201, response.text
    held = response.json()
    assert held["withheld"] is True
    assert held["scan"]["verdict"] == "suspicious"
    assert held["scan"]["review"]["state"] == "held"
    assert held["scan"]["findings"][0]["rule"] == "unicode.bidi-control"
    clean = await published(client, "mixed", "1.0.0")
    assert clean["withheld"] is False
    assert clean["scan"]["verdict"] == "clean"
    assert clean["scan"]["review"]["state"] == "none"
    response = await publish(client, bundle("mixed", body=HIDDEN), version="2.0.0")
    assert response.status_code == 201
    assert response.json()["withheld"] is True


# (surface, path, what a caller who may see the version gets, what everyone else gets)
SURFACES: list[tuple[str, str, int, int]] = [
    ("skill", f"{SKILL}/onlyheld", 200, 404),
    ("versions", f"{SKILL}/onlyheld/versions", 200, 404),
    ("exact", f"{SKILL}/mixed/versions/2.0.0", 200, 404),
    ("files", f"{SKILL}/mixed/versions/2.0.0/files/SKILL.md", 200, 404),
    ("download", f"{SKILL}/mixed/versions/2.0.0/download", 200, 404),
    ("resolve-range", f"{SKILL}/mixed/resolve?spec=^2", 404, 404),
    ("clawhub-skill", "/clawhub/api/v1/skills/onlyheld", 404, 404),
    ("clawhub-version", "/clawhub/api/v1/skills/mixed/versions/2.0.0", 404, 404),
    ("clawhub-download", "/clawhub/api/v1/download?slug=mixed&version=2.0.0", 404, 404),
]


async def test_held_versions_are_absent_except_to_publisher_and_admin(catalog_settings) -> None:
    async with running_catalog(catalog_settings) as client:
        await _held_setup(client)
        for who in WHO:
            allowed = who in ("alice", "admin")
            for surface, path, seen, unseen in SURFACES:
                response = await client.get(path, headers=_headers(who))
                expected = seen if allowed else unseen
                assert response.status_code == expected, (surface, who, response.text)
                if response.status_code == 404 and not surface.startswith("clawhub"):
                    assert response.headers["content-type"].startswith("application/problem+json")
                elif surface in ("exact", "download", "files"):
                    assert response.headers["cache-control"] == "private, no-store"
            versions = await client.get(f"{SKILL}/mixed/versions", headers=_headers(who))
            listed = [v["version"] for v in versions.json()["items"]]
            assert listed == (["2.0.0", "1.0.0"] if allowed else ["1.0.0"]), who
            latest = await client.get(f"{SKILL}/mixed/resolve", headers=_headers(who))
            assert latest.json()["version"] == "1.0.0"  # never latest, for anyone
        found = await client.get("/api/v1/skills", params={"q": "onlyheld"})
        assert all(item["name"] != "onlyheld" for item in found.json()["items"])
        index = (await client.get("/.well-known/agent-skills/index.json")).json()
        names = {entry["name"] for entry in index["skills"]}
        assert "onlyheld" not in names
        assert "mixed" in names
        mixed = next(e for e in index["skills"] if e["name"] == "mixed")
        assert "1.0.0" in str(mixed)
        assert "2.0.0" not in str(mixed)
        # The publisher sees the findings on the version itself.
        mine = (await client.get(f"{SKILL}/mixed/versions/2.0.0", headers=auth("alice"))).json()
        assert mine["scan"]["findings"][0]["file"] == "SKILL.md"


async def test_approve_makes_it_resolvable_and_reject_keeps_it_hidden(catalog_settings) -> None:
    async with running_catalog(catalog_settings) as client:
        await _held_setup(client)
        queue = await client.get(REVIEW, headers=auth("admin"))
        assert queue.status_code == 200, queue.text
        pending = {(i["name"], i["version"]) for i in queue.json()["items"]}
        assert pending == {("onlyheld", "1.0.0"), ("mixed", "2.0.0")}
        item = queue.json()["items"][0]
        assert item["excerpts"][0]["file"] == "SKILL.md"
        assert any("\\u202e" in line for line in item["excerpts"][0]["lines"])
        assert (await client.get(REVIEW, headers=auth("alice"))).status_code == 403
        assert (await client.get(REVIEW)).status_code == 401

        # The publisher disputes the finding; admins see the note in the queue.
        dispute = await client.post(
            f"{REVIEW}/alice/mixed/2.0.0/disputes",
            json={"note": "the override is in a quoted example", "rule": "unicode.bidi-control"},
            headers=auth("alice"),
        )
        assert dispute.status_code == 201, dispute.text
        read_only = await client.post(
            f"{REVIEW}/alice/mixed/2.0.0/disputes", json={"note": "x"}, headers=auth("alice-read")
        )
        assert read_only.status_code == 403  # a read-only key may not speak for the publisher
        bad = await client.post(
            f"{REVIEW}/alice/mixed/2.0.0/disputes",
            json={"note": "x", "rule": "no.such-rule"},
            headers=auth("alice"),
        )
        assert bad.status_code == 422
        assert (
            await client.post(
                f"{REVIEW}/alice/mixed/2.0.0/disputes", json={"note": "x"}, headers=auth("bob")
            )
        ).status_code == 404  # bob cannot see it: as if absent
        item = (await client.get(f"{REVIEW}/alice/mixed/2.0.0", headers=auth("admin"))).json()
        assert item["disputes"][0]["note"] == "the override is in a quoted example"
        assert item["disputes"][0]["by"] == "alice"

        path = f"{REVIEW}/alice/mixed/2.0.0/approve"
        assert (
            await client.post(path, json={"reason": "ok"}, headers=auth("alice"))
        ).status_code == 403
        assert (
            await client.post(path, json={"reason": " "}, headers=auth("admin"))
        ).status_code == 422
        approved = await client.post(
            path, json={"reason": "quoted, harmless"}, headers=auth("admin")
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["withheld"] is False
        again = await client.post(path, json={"reason": "twice"}, headers=auth("admin"))
        assert again.status_code == 409
        latest = await client.get(f"{SKILL}/mixed/resolve")
        assert latest.json()["version"] == "2.0.0"
        public = (await client.get(f"{SKILL}/mixed/versions/2.0.0")).json()
        review = public["scan"]["review"]
        assert (review["state"], review["decided_by"], review["reason"]) == (
            "approved",
            "admin",
            "quoted, harmless",
        )
        assert (await client.get(f"{SKILL}/mixed/versions/2.0.0/download")).status_code == 200

        rejected = await client.post(
            f"{REVIEW}/alice/onlyheld/1.0.0/reject",
            json={"reason": "hides instructions"},
            headers=auth("admin"),
        )
        assert rejected.status_code == 200
        assert rejected.json()["withheld"] is True
        assert (await client.get(f"{SKILL}/onlyheld")).status_code == 404
        mine = (await client.get(f"{SKILL}/onlyheld/versions/1.0.0", headers=auth("alice"))).json()
        assert mine["scan"]["review"]["state"] == "rejected"
        assert mine["scan"]["review"]["reason"] == "hides instructions"
        events = (await client.get(f"{REVIEW}/alice/onlyheld/1.0.0", headers=auth("alice"))).json()
        assert [e["action"] for e in events["events"]] == ["held", "rejected"]
        assert events["events"][-1]["actor"] == "admin"
        # Rejecting an approved version withdraws it: latest falls back.
        await client.post(
            f"{REVIEW}/alice/mixed/2.0.0/reject",
            json={"reason": "changed my mind"},
            headers=auth("admin"),
        )
        assert (await client.get(f"{SKILL}/mixed/resolve")).json()["version"] == "1.0.0"


@pytest.mark.parametrize("policy", ["warn", "off"])
async def test_warn_publishes_with_findings_and_off_does_not_scan(catalog_settings, policy) -> None:
    async with running_catalog(catalog_settings, scan_policy=policy) as client:
        response = await publish(client, bundle("loud", body=HIDDEN), version="1.0.0")
        assert response.status_code == 201, response.text
        assert response.json()["withheld"] is False
        shown = (await client.get(f"{SKILL}/loud/versions/1.0.0")).json()
        if policy == "warn":
            assert shown["scan"]["verdict"] == "suspicious"
            assert shown["scan"]["findings"]
        else:
            assert shown["scan"] is None


def test_policy_refuses_malicious_and_holds_suspicious() -> None:
    finding = Finding(
        rule="exec.download-pipe",
        family="download-execute",
        severity="critical",
        file="run.sh",
        line=1,
        excerpt="curl x | sh",
        message="downloads and runs code",
    )
    malicious = ScanReport(verdict="malicious", rules_version="t", findings=(finding,))
    suspicious = ScanReport(verdict="suspicious", rules_version="t")
    assert decide("hold", malicious).refuse is True
    assert decide("warn", malicious).refuse is False
    held = decide("hold", suspicious)
    assert (held.refuse, held.withheld, held.review_state) == (False, True, "held")
    assert decide("off", None).scan is None
    # Rescans: a public version turning suspicious is flagged but stays installable;
    # turning malicious withholds it; an admin's approval survives a suspicious verdict.
    assert next_state("hold", False, "none", "suspicious") == (False, "flagged")
    assert next_state("hold", False, "none", "malicious") == (True, "held")
    assert next_state("hold", False, "approved", "suspicious") == (False, "approved")
    assert next_state("hold", False, "flagged", "clean") == (False, "none")
    assert next_state("hold", True, "scan-failed", "clean") == (False, "none")
    assert next_state("warn", False, "none", "malicious") == (False, "none")


async def test_an_import_of_suspicious_content_is_held(catalog_settings) -> None:
    async with running_catalog(catalog_settings) as client:
        message = ServicePublishRequest(
            namespace="team",
            bundle=bundle("imported", version="1.0.0", body=HIDDEN),
            provenance=Provenance(
                source_id="src-1",
                repository_url="https://git.example.com/team/skills.git",
                ref="main",
                commit="ab" * 20,
                path="skills/imported",
            ),
            owner=user_id("alice"),
        )
        response = await client.post(
            SERVICE_PUBLISH_PATH,
            content=to_json(message),
            headers={"Content-Type": "application/json", **auth("importer")},
        )
        result = from_json(response.content, ServicePublishResult)
        assert result.outcome == "held", response.text
        assert result.problems
        assert "unicode.bidi-control" in result.problems[0].message
        assert (await client.get("/api/v1/skills/team/imported")).status_code == 404
        again = await client.post(
            SERVICE_PUBLISH_PATH,
            content=to_json(message),
            headers={"Content-Type": "application/json", **auth("importer")},
        )
        assert from_json(again.content, ServicePublishResult).outcome == "held"
        owner = await client.get(
            "/api/v1/skills/team/imported/versions/1.0.0", headers=auth("alice")
        )
        assert owner.status_code == 200
        assert owner.json()["withheld"] is True


async def _finished(client, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(400):
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.025)
        job = (await client.get(f"{REVIEW}/rescans/{job['id']}", headers=auth("admin"))).json()
    raise AssertionError(f"rescan still running: {job}")


async def test_rescan_reports_changes_and_flags_without_breaking_installs(catalog_settings) -> None:
    async with running_catalog(catalog_settings, scan_policy="off") as client:
        await published(client, "plain", "1.0.0")
        await published(client, "later", "1.0.0", body=HIDDEN)  # unscanned: visible
    async with running_catalog(catalog_settings) as client:
        assert (await client.post(f"{REVIEW}/rescans", headers=auth("alice"))).status_code == 403
        started = await client.post(f"{REVIEW}/rescans", headers=auth("admin"))
        assert started.status_code == 202, started.text
        job = await _finished(client, started.json())
        assert (job["state"], job["total"], job["done"], job["failed"]) == ("finished", 2, 2, 0)
        changes = {c["name"]: (c["before"], c["after"], c["review_state"]) for c in job["changes"]}
        assert changes == {
            "plain": (None, "clean", "none"),
            "later": (None, "suspicious", "flagged"),
        }
        # Flagged: still installable, findings shown, and waiting in the queue.
        assert (await client.get(f"{SKILL}/later/versions/1.0.0/download")).status_code == 200
        shown = (await client.get(f"{SKILL}/later/versions/1.0.0")).json()
        assert shown["scan"]["review"]["state"] == "flagged"
        queue = (await client.get(REVIEW, headers=auth("admin"))).json()
        assert [(i["name"], i["scan"]["review"]["state"]) for i in queue["items"]] == [
            ("later", "flagged")
        ]
        second = await _finished(
            client, (await client.post(f"{REVIEW}/rescans", headers=auth("admin"))).json()
        )
        assert second["changes"] == []  # nothing changed since
        listed = (await client.get(f"{REVIEW}/rescans", headers=auth("admin"))).json()
        assert [j["id"] for j in listed] == [second["id"], job["id"]]
        # Ids a database cannot hold are a 400, not a driver overflow (found by the fuzzer).
        for hostile in ("116570191916293100142592", "0", "-1", "2147483648"):
            got = await client.get(f"{REVIEW}/rescans/{hostile}", headers=auth("admin"))
            assert got.status_code == 400, (hostile, got.text)
            assert got.headers["content-type"].startswith("application/problem+json")
        missing = await client.get(f"{REVIEW}/rescans/2147483647", headers=auth("admin"))
        assert missing.status_code == 404


# A real sample of the corpus (an SSH-key stealer script): the real scanner decides.
STEALER = as_skill("cred-ssh-stealer")


async def test_malicious_is_refused_and_a_failed_scan_never_publishes(catalog_settings) -> None:
    async with running_catalog(catalog_settings) as client:
        refused = await publish(client, bundle("bad", **STEALER), version="1.0.0")
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert "malicious" in problem["detail"]
        assert problem["errors"][0]["path"] == "scripts/doctor.py:4"
        assert "cred.read-and-send" in problem["errors"][0]["message"]
        imported = await _service_publish(client, "bad", STEALER)
        assert imported.outcome == "rejected"
        assert "cred.read-and-send" in imported.problems[0].message

    # A byte budget smaller than the bundle: the real scanner fails (ScanFailed).
    async with running_catalog(catalog_settings, scan_max_total_bytes=64) as client:
        failed = await publish(client, bundle("bad"), version="1.0.0")
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "30"
        held = await _service_publish(client, "bad")
        assert held.outcome == "held"
        assert "scan failed" in held.problems[0].message
        assert "budget" in held.problems[0].message
        for who in (None, "alice"):  # nothing published as clean, for anyone
            response = await client.get(f"{SKILL}/bad", headers=_headers(who))
            assert response.status_code == 404
        item = await client.get(f"{REVIEW}/team/bad/1.0.0", headers=auth("admin"))
        assert item.json()["scan"]["review"]["state"] == "scan-failed"
        assert item.json()["scan"]["verdict"] is None

    # Within the default budgets, a rescan finds it clean: published, and its history
    # says why.
    async with running_catalog(catalog_settings) as client:
        job = await _finished(
            client, (await client.post(f"{REVIEW}/rescans", headers=auth("admin"))).json()
        )
        assert [
            (c["name"], c["before"], c["after"], c["review_state"]) for c in job["changes"]
        ] == [("bad", None, "clean", "none")]
        assert (await client.get("/api/v1/skills/team/bad/resolve")).json()["version"] == "1.0.0"


async def _service_publish(
    client, name: str, content: dict[str, Any] | None = None
) -> ServicePublishResult:
    message = ServicePublishRequest(
        namespace="team",
        bundle=bundle(name, version="1.0.0", **(content or {})),
        provenance=Provenance(
            source_id="src-2",
            repository_url="https://git.example.com/team/skills.git",
            ref="main",
            commit="cd" * 20,
            path=f"skills/{name}",
        ),
    )
    response = await client.post(
        SERVICE_PUBLISH_PATH,
        content=to_json(message),
        headers={"Content-Type": "application/json", **auth("importer")},
    )
    assert response.status_code == 200, response.text
    return from_json(response.content, ServicePublishResult)


async def test_start_up_loads_the_rules_before_the_first_publish(catalog_settings) -> None:
    load_ruleset.cache_clear()  # as in a new process
    on_a_thread = msgspec.structs.replace(catalog_settings, scan_workers=0)
    async with running_catalog(on_a_thread) as client:
        for _ in range(400):  # warmed in a worker thread, without any request
            if load_ruleset.cache_info().currsize:
                break
            await asyncio.sleep(0.025)
        assert load_ruleset.cache_info().currsize == 1
        assert (await client.get("/health")).status_code == 200


async def test_start_up_starts_the_scan_workers_before_the_first_publish(
    catalog_settings,
) -> None:
    scan_pool._shutdown()  # as in a new process: no pool yet
    async with running_catalog(catalog_settings) as client:
        assert catalog_settings.scan_workers == 1  # the default
        workers = scan_pool._pools[1]._processes  # started by start-up, without a request
        for _ in range(400):
            if workers:
                break
            await asyncio.sleep(0.025)
        assert len(workers) == 1
        assert (await client.get("/health")).status_code == 200


async def test_a_failed_warm_up_neither_blocks_start_up_nor_publishes_unscanned(
    catalog_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("rules unreadable")

    catalog_settings = msgspec.structs.replace(catalog_settings, scan_workers=0)
    monkeypatch.setattr("skreg_catalog.component.warm_up", broken)
    load_ruleset.cache_clear()
    async with running_catalog(catalog_settings) as client:
        assert (await client.get("/health")).status_code == 200
        # The first scan loads the rules itself and still decides.
        refused = await publish(client, bundle("bad", **STEALER), version="1.0.0")
        assert refused.status_code == 422
