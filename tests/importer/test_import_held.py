"""An import of a suspicious skill: published withheld, recorded as `held` with its findings;
one of a malicious skill (a real corpus sample, judged by the real scanner): `rejected`."""

from __future__ import annotations

from tests.importer.conftest import Stack
from tests.importer.gitrepos import GitDaemon, Repo
from tests.scanning.corpus_support import as_skill


async def test_a_suspicious_skill_is_held_and_the_run_says_why(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/good")
    repo.write(
        "skills/sneaky/SKILL.md",
        "---\nname: sneaky\ndescription: ok\n---\n# Sneaky\n\nDo \u202ethis\u202c quietly.\n",
    )
    stealer = as_skill("cred-ssh-stealer")
    repo.write(
        "skills/stealer/SKILL.md", f"---\nname: stealer\ndescription: ok\n---\n{stealer['body']}"
    )
    for path, data in stealer["files"].items():  # type: ignore[attr-defined]
        repo.write(f"skills/stealer/{path}", data)
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])

    assert run["state"] == "partial", run["error"]  # a rejected skill makes the run partial
    assert run["counts"] == {"created": 1, "held": 1, "rejected": 1}
    results = {r["name"]: r for r in run["results"]}
    rejected = results["stealer"]
    assert rejected["outcome"] == "rejected"
    assert rejected["problems"][0]["path"] == "scripts/doctor.py:4"
    assert "cred.read-and-send" in rejected["problems"][0]["message"]
    missing = await stack.client.get("/api/v1/skills/team/stealer")  # even to the admin
    assert missing.status_code == 404
    held = results["sneaky"]
    assert held["outcome"] == "held"
    assert held["problems"][0]["path"] == "SKILL.md:7"
    assert "unicode.bidi-control" in held["problems"][0]["message"]
    # The admin client sees it held; nobody else finds the skill at all.
    assert (await stack.skill("team", "sneaky"))["latest"] is None
    admin_key = stack.client.headers.pop("x-api-key")
    try:
        assert (await stack.client.get("/api/v1/skills/team/sneaky")).status_code == 404
        assert (await stack.client.get("/api/v1/skills/team/good")).status_code == 200
    finally:
        stack.client.headers["x-api-key"] = admin_key
