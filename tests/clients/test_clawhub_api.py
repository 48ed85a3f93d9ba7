"""The ClawHub-compatible API's shapes, limits and hostile input, over HTTP, on both backends.

The CLI tests (test_clawhub_cli.py) prove the real client works; these pin down what it
depends on and what it never exercises: exact shapes, determinism of the ZIP, the
fingerprint, ambiguity, the upload bounds, and clear 4xx answers to hostile input.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from typing import Any

import httpx
import pytest
from skreg_catalog.clawhub.fingerprint import fingerprint

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, register, unique, yank
from tests.clients.clawhub_support import files_of, publish_bundle
from tests.support.node_clients import CLAWHUB_VERSION, NODE, install_client


@pytest.fixture(scope="session")
def owner(client_registry: RegistryServer) -> User:
    """A publisher for the API tests."""
    return register(client_registry.url)


@pytest.fixture
def api(client_registry: RegistryServer) -> httpx.Client:
    """A client on the ClawHub API base."""
    with httpx.Client(base_url=f"{client_registry.url}/clawhub/api/v1", timeout=30) as client:
        yield client  # type: ignore[misc]


def _auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.key}"}


def _plain_4xx(response: httpx.Response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return response.text


def cli_fingerprint(files: list[tuple[str, str]]) -> str:
    """The fingerprint as the real CLI computes it (its own `buildSkillFingerprint`)."""
    module = install_client("clawhub", CLAWHUB_VERSION).entry.parent.parent / "dist" / "skills.js"
    script = (
        f"import({json.dumps(module.as_uri())}).then((m) => {{"
        "let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => "
        "console.log(m.buildSkillFingerprint(JSON.parse(s))));})"
    )
    payload = json.dumps([{"path": p, "sha256": sha} for p, sha in files])
    done = subprocess.run(
        [str(NODE), "-e", script], input=payload, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_fingerprint_sorts_paths_as_the_cli_does() -> None:
    paths = [
        "SKILL.md", "scripts/run.sh", "Scripts/b.sh", "a_b", "a-b", "a.b", "a/b", "A1", "a10",
        "a2", "_x", "Zeta", "zeta", "émile.md", "eve.md", "日本.txt", "x y", "x~y", "README",
        "readme.txt", "ab", "aB", "Ab",
    ]  # fmt: skip
    files = [(path, hashlib.sha256(path.encode()).hexdigest()) for path in paths]
    assert sorted(paths) != paths  # byte order would be a different answer
    assert fingerprint(files) == cli_fingerprint(files)


def test_discovery_points_at_the_api(client_registry: RegistryServer) -> None:
    for path in ("/.well-known/clawhub.json", "/.well-known/clawdhub.json"):
        response = httpx.get(client_registry.url + path)
        assert response.status_code == 200
        assert response.json() == {"apiBase": f"{client_registry.url}/clawhub"}


def test_whoami_needs_a_valid_key(api: httpx.Client, owner: User) -> None:
    assert "API key" in _plain_4xx(api.get("/whoami"))
    assert api.get("/whoami", headers={"Authorization": "Bearer sr_nope"}).status_code == 401
    me = api.get("/whoami", headers=_auth(owner))
    assert me.json()["user"]["handle"] == owner.username


def test_skill_versions_and_files_have_the_clis_shapes(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("shape")
    publish_bundle(client_registry, owner, name, "1.0.0")
    bundle = publish_bundle(client_registry, owner, name, "1.2.0")
    scoped = {"ownerHandle": owner.username}

    skill = api.get(f"/skills/{name}", params=scoped).json()
    assert skill["skill"]["slug"] == name
    assert skill["skill"]["tags"] == {"latest": "1.2.0"}
    assert skill["skill"]["stats"]["versions"] == 2
    assert isinstance(skill["skill"]["createdAt"], int)
    assert skill["latestVersion"]["version"] == "1.2.0"
    assert skill["latestVersion"]["license"] is None
    assert skill["owner"]["handle"] == owner.username
    assert api.get(f"/skills/{name}").json() == skill  # a bare slug, unique: the same skill

    versions = api.get(f"/skills/{name}/versions", params={**scoped, "limit": 1}).json()
    assert [v["version"] for v in versions["items"]] == ["1.2.0"]
    rest = api.get(
        f"/skills/{name}/versions", params={**scoped, "cursor": versions["nextCursor"]}
    ).json()
    assert [v["version"] for v in rest["items"]] == ["1.0.0"]
    assert rest["nextCursor"] is None

    detail = api.get(f"/skills/{name}/versions/1.2.0", params=scoped).json()
    files = files_of(bundle)
    assert {f["path"]: (f["size"], f["sha256"]) for f in detail["version"]["files"]} == {
        path: (len(content), hashlib.sha256(content).hexdigest()) for path, content in files.items()
    }
    assert detail["skill"] == {"slug": name, "displayName": name}

    for path, content in files.items():
        served = api.get(f"/skills/{name}/file", params={**scoped, "path": path})
        assert served.content == content
        assert served.headers["x-content-type-options"] == "nosniff"
    old = api.get(f"/skills/{name}/file", params={"path": "SKILL.md", "version": "1.0.0"})
    assert b"v1.0.0" in old.content


def test_the_zip_is_deterministic_and_holds_the_bundle(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("zip")
    bundle = publish_bundle(client_registry, owner, name, "2.0.0")
    params = {"slug": name, "ownerHandle": owner.username, "version": "2.0.0"}
    first, second = api.get("/download", params=params), api.get("/download", params=params)
    assert first.headers["content-type"] == "application/zip"
    assert first.content == second.content
    latest = api.get("/download", params={"slug": name})  # no version: the latest
    assert latest.content == first.content
    archive = zipfile.ZipFile(io.BytesIO(first.content))
    names = archive.namelist()
    assert names == sorted(names)
    assert {n: archive.read(n) for n in names} == files_of(bundle)
    assert archive.getinfo("scripts/run.sh").external_attr >> 16 & 0o111
    assert not archive.getinfo("SKILL.md").external_attr >> 16 & 0o111


def test_resolve_finds_the_version_by_the_clis_fingerprint(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("resolve")
    old = publish_bundle(client_registry, owner, name, "1.0.0")
    publish_bundle(client_registry, owner, name, "1.1.0")
    files = [(p, hashlib.sha256(c).hexdigest()) for p, c in files_of(old).items()]
    params = {"slug": name, "ownerHandle": owner.username, "hash": cli_fingerprint(files)}
    assert api.get("/resolve", params=params).json() == {
        "match": {"version": "1.0.0"},
        "latestVersion": {"version": "1.1.0"},
    }
    other = api.get("/resolve", params={**params, "hash": "0" * 64}).json()
    assert other == {"match": None, "latestVersion": {"version": "1.1.0"}}
    assert "sha256" in _plain_4xx(api.get("/resolve", params={**params, "hash": "nope"}))


def test_a_bare_slug_several_namespaces_use_lists_the_choices(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("twin")
    second = register(client_registry.url)
    publish_bundle(client_registry, owner, name, "1.0.0")
    publish_bundle(client_registry, second, name, "1.0.0")
    ambiguous = api.get(f"/skills/{name}")
    assert ambiguous.status_code == 409
    body = ambiguous.json()
    assert body["code"] == "AMBIGUOUS_SKILL_SLUG"
    assert sorted(m["ref"] for m in body["matches"]) == sorted(
        f"{user.username}/{name}" for user in (owner, second)
    )
    one = api.get(f"/skills/{name}", params={"ownerHandle": second.username})
    assert one.json()["owner"]["handle"] == second.username


def test_nothing_installable_is_refused_with_a_reason(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("yanked")
    publish_bundle(client_registry, owner, name, "1.0.0")
    assert api.get(f"/skills/{name}/install").json()["archive"]["version"] == "1.0.0"
    yank(client_registry.url, owner, f"{owner.username}/{name}", "1.0.0")
    refused = api.get(f"/skills/{name}/install")
    assert refused.status_code == 410
    assert refused.json()["ok"] is False
    assert "no installable version" in refused.json()["message"]
    assert api.get(f"/skills/{name}").json()["latestVersion"] is None


def test_search_and_listing_by_prefix(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    stem = unique("listing")
    for suffix in ("a", "b", "c"):
        publish_bundle(client_registry, owner, f"{stem}-{suffix}", "1.0.0")
    found = api.get("/search", params={"q": stem, "limit": 10}).json()["results"]
    # With hybrid search (the API's ranking) skills close in meaning are found too, and
    # may rank among the three just published (lexical only until they are embedded).
    ours = [r for r in found if r["slug"].startswith(stem)]
    assert {r["slug"] for r in ours} == {f"{stem}-{s}" for s in "abc"}
    assert all(r["ownerHandle"] == owner.username and r["version"] == "1.0.0" for r in ours)
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)
    exact = api.get("/search", params={"q": f"{stem}-b", "mode": "exact"}).json()["results"]
    assert [r["slug"] for r in exact] == [f"{stem}-b"]

    page = api.get("/skills", params={"prefix": stem, "limit": 2}).json()
    assert [i["slug"] for i in page["items"]] == [f"{stem}-a", f"{stem}-b"]
    assert page["items"][0]["latestVersion"]["version"] == "1.0.0"
    rest = api.get("/skills", params={"prefix": stem, "cursor": page["nextCursor"]}).json()
    assert [i["slug"] for i in rest["items"]] == [f"{stem}-c"]
    newest = api.get("/skills", params={"limit": 1}).json()
    assert len(newest["items"]) == 1


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("/skills/..%2F..%2Fetc", {}),
    ("/skills/NOT_A_NAME", {"ownerHandle": "../../x"}),
    ("/skills/x/versions/" + "9" * 400, {}),
    ("/skills/x/file", {"path": "../../etc/passwd"}),
    ("/skills/x/versions", {"cursor": "garbage!!"}),
    ("/skills/x/versions", {"limit": "abc"}),
    ("/skills", {"cursor": "Zm9v"}),
    ("/skills", {"prefix": "p" * 300}),
    ("/search", {"q": ""}),
    ("/search", {"q": "x" * 500}),
    ("/search", {"q": "a\x00b"}),
    ("/download", {"slug": "x", "tag": "beta"}),
    ("/download", {}),
    ("/resolve", {"slug": "x", "hash": "z" * 64}),
]


@pytest.mark.parametrize(("path", "params"), HOSTILE)
def test_hostile_reads_get_a_clear_4xx(
    api: httpx.Client, owner: User, path: str, params: dict[str, Any]
) -> None:
    response = api.get(path.replace("/x", f"/{unique('none')}"), params=params)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.text.strip()


def _upload(api: httpx.Client, user: User, path: str, content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    planned = api.post(
        "/skills/-/upload-url",
        json={"path": path, "size": len(content), "sha256": sha},
        headers=_auth(user),
    )
    assert planned.status_code == 200, planned.text
    uploaded = httpx.post(planned.json()["uploadUrl"], content=content, headers=_auth(user))
    assert uploaded.status_code == 200, uploaded.text
    return str(uploaded.json()["storageId"])


def _publish(api: httpx.Client, user: User, slug: str, files: dict[str, bytes]) -> httpx.Response:
    named = [
        {"path": p, "size": len(c), "sha256": hashlib.sha256(c).hexdigest(),
         "storageId": hashlib.sha256(c).hexdigest()}
        for p, c in files.items()
    ]  # fmt: skip
    body = {"slug": slug, "displayName": slug, "version": "1.0.0", "changelog": "", "files": named}
    return api.post("/skills", json=body, headers=_auth(user))


def test_publishing_checks_every_step(
    api: httpx.Client, client_registry: RegistryServer, owner: User
) -> None:
    name = unique("steps")
    skill_md = f"---\nname: {name}\ndescription: Published in steps.\n---\nBody.\n".encode()
    # The upload step: a publish key, an allowed size, the announced bytes and no more.
    sha = hashlib.sha256(skill_md).hexdigest()
    planned = {"path": "SKILL.md", "size": len(skill_md), "sha256": sha}
    assert api.post("/skills/-/upload-url", json=planned).status_code == 401
    too_big = {**planned, "size": 6 * 1024**2}
    assert "at most" in _plain_4xx(
        api.post("/skills/-/upload-url", json=too_big, headers=_auth(owner))
    )
    url = api.post("/skills/-/upload-url", json=planned, headers=_auth(owner)).json()["uploadUrl"]
    assert httpx.post(url, content=b"x" + skill_md, headers=_auth(owner)).status_code == 413
    wrong = httpx.post(url, content=skill_md.upper(), headers=_auth(owner))
    assert "do not match" in _plain_4xx(wrong)
    # Publishing names uploads; one never uploaded is named in the refusal.
    missing = _publish(api, owner, name, {"SKILL.md": skill_md, "extra.txt": b"never sent"})
    assert "extra.txt" in _plain_4xx(missing)
    _upload(api, owner, "SKILL.md", skill_md)
    mismatch = _publish(api, owner, f"{name}-other", {"SKILL.md": skill_md})
    assert "is not the name in SKILL.md" in _plain_4xx(mismatch)
    done = _publish(api, owner, name, {"SKILL.md": skill_md})
    assert done.status_code == 200, done.text
    assert done.json()["versionId"] == f"{owner.username}/{name}@1.0.0"
    assert done.json()["publicationStatus"] == "published"
    stored = httpx.get(
        f"{client_registry.url}/api/v1/skills/{owner.username}/{name}/versions/1.0.0"
    )
    assert stored.json()["body"] == "Body.\n"
    # The uploads were used up: naming them again publishes nothing.
    assert "not uploaded" in _plain_4xx(_publish(api, owner, name, {"SKILL.md": skill_md}))


def test_a_read_only_key_cannot_upload_or_publish(
    api: httpx.Client, client_registry: RegistryServer
) -> None:
    reader = register(client_registry.url)
    login = httpx.post(
        f"{client_registry.url}/api/v1/auth/login",
        json={"username": reader.username, "password": reader.password},
    ).json()["access_token"]
    key = httpx.post(
        f"{client_registry.url}/api/v1/auth/keys",
        json={"name": "read", "scopes": ["read"]},
        headers={"Authorization": f"Bearer {login}"},
    ).json()["key"]
    read_only = User(reader.username, reader.password, key)
    planned = {"path": "SKILL.md", "size": 1, "sha256": "0" * 64}
    refused = api.post("/skills/-/upload-url", json=planned, headers=_auth(read_only))
    assert refused.status_code == 403
    assert "publish" in refused.text
    assert _publish(api, read_only, "x", {"SKILL.md": b"x"}).status_code == 403
