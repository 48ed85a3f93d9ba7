"""Organizations in the web UI, in the real browser: an owner creates one and manages its
members; a publisher makes the organization's skill private on its page; what that
hides from visitors, outsiders and readers.

Seeding goes through the public API with plain httpx (Playwright's sync API holds the
event loop, so the async factories cannot run here).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from skreg_proto.bundle import pack_files

from tests.ui.conftest import ADMIN_PASSWORD, ADMIN_USER, Server, screenshot, sign_in
from tests.ui.test_http import HTML, csrf_of, signed_in_client

PASSWORD = "correct horse battery"


def _register(server: Server, username: str) -> None:
    body = {"username": username, "email": f"{username}@example.test", "password": PASSWORD}
    response = httpx.post(f"{server.url}/api/v1/auth/register", json=body, timeout=30)
    assert response.status_code == 201, response.text


def _publish(server: Server, token: str, namespace: str, name: str, marker: str) -> None:
    skill = f"---\nname: {name}\ndescription: Team skill {marker}.\n---\n# {name}\n\n{marker}\n"
    response = httpx.post(
        f"{server.url}/api/v1/skills",
        params={"namespace": namespace, "version": "1.0.0"},
        content=pack_files({"SKILL.md": (skill.encode(), False)}),
        headers={"authorization": f"Bearer {token}", "content-type": "application/gzip"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def new_tab(browser: Browser, ui_server: Server) -> Iterator[Callable[[], Page]]:
    """Fresh browser profiles on demand (one per person), closed afterwards."""
    opened: list[BrowserContext] = []

    def tab() -> Page:
        ctx = browser.new_context(base_url=ui_server.url)
        ctx.set_default_timeout(15_000)
        opened.append(ctx)
        return ctx.new_page()

    yield tab
    for ctx in opened:
        ctx.close()


def _member_row(page: Page, username: str) -> Locator:
    return page.locator(f'[data-testid="member-row"][data-member="{username}"]')


def test_owner_manages_members_and_a_publisher_makes_a_skill_private(
    page: Page, new_tab: Callable[[], Page], ui_server: Server
) -> None:
    suffix = uuid.uuid4().hex[:6]
    owner, pete, rita, carl, bob = (f"{p}{suffix}" for p in ("owen", "pete", "rita", "carl", "bob"))
    org = f"acme{suffix}"
    for username in (owner, pete, rita, carl, bob):
        _register(ui_server, username)

    # The owner creates the organization on /orgs; creating it revokes the owner's access
    # token (it carries memberships): the session renews it instead of signing out.
    sign_in(page, owner, PASSWORD)
    page.goto("/orgs")
    expect(page.get_by_text("You are not a member of any organization yet.")).to_be_visible()
    page.get_by_label("Organization name").fill(org)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_text(f"Created the organization {org}; you are its owner.")).to_be_visible()
    expect(page.get_by_test_id("my-role")).to_have_text("Your role: owner")
    expect(_member_row(page, owner)).to_contain_text(owner)

    for username in (pete, rita, carl):
        page.get_by_label("Username").fill(username)
        page.get_by_label("Role", exact=True).select_option("reader")
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_text(f"Added {username} as reader.")).to_be_visible()
    _member_row(page, pete).get_by_label(f"Role of {pete}").select_option("publisher")
    _member_row(page, pete).get_by_role("button", name=f"Change role of {pete}").click()
    expect(page.get_by_text(f"{pete} is now publisher.")).to_be_visible()
    expect(_member_row(page, pete).get_by_label(f"Role of {pete}")).to_have_value("publisher")
    page.once("dialog", lambda dialog: dialog.accept())
    _member_row(page, carl).get_by_role("button", name=f"Remove {carl}").click()
    expect(page.get_by_text(f"Removed {carl} from {org}.")).to_be_visible()
    expect(_member_row(page, carl)).to_have_count(0)
    # A refusal from the API is a message on the page, not an error page.
    page.get_by_label("Username").fill(f"nobody{suffix}")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text(f"no user nobody{suffix}")).to_be_visible()
    screenshot(page, "org-members")

    # Every change was audited as the API audits it, with the owner as the actor.
    admin = ui_server.api_token()
    events = httpx.get(
        f"{ui_server.url}/api/v1/auth/audit",
        params={"target_id": org, "limit": 50},
        headers={"authorization": f"Bearer {admin}"},
        timeout=30,
    ).json()["items"]
    actions = sorted((e["action"], e["actor_name"]) for e in events)
    assert actions == sorted(
        [("org.created", owner)]
        + [("org.member_added", owner)] * 3
        + [("org.member_role_changed", owner), ("org.member_removed", owner)]
    ), actions

    marker = f"zq{suffix}word"
    name = f"team-{suffix}"
    _publish(ui_server, ui_server.api_token(pete, PASSWORD), org, name, marker)

    # The publisher sees the controls of the organization's skill: yank, delete, visibility.
    publisher = new_tab()
    sign_in(publisher, pete, PASSWORD)
    publisher.goto(f"/skills/{org}/{name}")
    expect(publisher.get_by_role("button", name="Yank")).to_be_visible()
    expect(publisher.get_by_role("button", name="Delete this skill")).to_be_visible()
    expect(publisher.get_by_test_id("visibility")).to_have_text("public")
    publisher.get_by_label("private").check()
    publisher.get_by_role("button", name="Save visibility").click()
    expect(publisher.get_by_text(f"{org}/{name} is now private.")).to_be_visible()
    expect(publisher.get_by_test_id("visibility")).to_have_text("private")
    expect(publisher.get_by_test_id("visibility-badge")).to_have_text("private")

    # A reader sees the private skill but none of the controls.
    reader = new_tab()
    sign_in(reader, rita, PASSWORD)
    response = reader.goto(f"/skills/{org}/{name}")
    assert response is not None
    assert response.status == 200
    expect(reader.get_by_test_id("visibility")).to_have_text("private")
    expect(reader.get_by_role("button", name="Save visibility")).to_have_count(0)
    expect(reader.get_by_role("button", name="Yank")).to_have_count(0)
    reader.goto(f"/orgs/{org}")
    expect(_member_row(reader, pete).get_by_test_id("member-role")).to_have_text("publisher")
    expect(reader.get_by_role("button", name="Add member")).to_have_count(0)
    expect(reader.get_by_role("link", name=f"{org}/{name}")).to_have_count(1)

    # An anonymous visitor: the skill page is a 404, the search pages do not list it.
    visitor = new_tab()
    response = visitor.goto(f"/skills/{org}/{name}")
    assert response is not None
    assert response.status == 404
    for query in (f"q={marker}", f"namespace={org}"):
        visitor.goto(f"/search?{query}")
        expect(visitor.locator(".skill-card")).to_have_count(0)
        expect(visitor.get_by_text(name)).to_have_count(0)

    # A signed-in outsider: the organization's page and the skill's are 404, like absent ones.
    outsider = new_tab()
    sign_in(outsider, bob, PASSWORD)
    for path in (f"/orgs/{org}", f"/skills/{org}/{name}", f"/orgs/none{suffix}"):
        response = outsider.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(outsider.get_by_role("heading", name="Not found")).to_be_visible()
    outsider.goto("/orgs")
    expect(outsider.get_by_test_id("org-row")).to_have_count(0)

    # Made public again by the publisher: the visitor sees it.
    publisher.get_by_label("public").check()
    publisher.get_by_role("button", name="Save visibility").click()
    expect(publisher.get_by_text(f"{org}/{name} is now public.")).to_be_visible()
    response = visitor.goto(f"/skills/{org}/{name}")
    assert response is not None
    assert response.status == 200


def test_a_member_whose_role_changed_stays_signed_in(ui_server: Server) -> None:
    """A role change revokes the member's access tokens; their browser renews them."""
    suffix = uuid.uuid4().hex[:6]
    owner, member, org = f"owen{suffix}", f"mia{suffix}", f"team{suffix}"
    for username in (owner, member):
        _register(ui_server, username)
    token = ui_server.api_token(owner, PASSWORD)
    headers = {"authorization": f"Bearer {token}"}
    created = httpx.post(f"{ui_server.url}/api/v1/auth/orgs", json={"name": org}, headers=headers)
    assert created.status_code == 201, created.text
    headers = {"authorization": f"Bearer {ui_server.api_token(owner, PASSWORD)}"}
    members = f"{ui_server.url}/api/v1/auth/orgs/{org}/members/{member}"
    assert httpx.put(members, json={"role": "reader"}, headers=headers).status_code == 200
    with signed_in_client(ui_server.url, member, PASSWORD) as browser:
        assert browser.get(f"/orgs/{org}").status_code == 200
        assert httpx.put(members, json={"role": "publisher"}, headers=headers).status_code == 200
        page = browser.get(f"/orgs/{org}")
        assert page.status_code == 200, page.text
        assert re.search(rf'data-member="{member}".*?publisher', page.text, re.S)
        # Removed: the organization is gone for them, and they are still signed in.
        assert httpx.delete(members, headers=headers).status_code == 204
        assert browser.get(f"/orgs/{org}").status_code == 404
        assert browser.get("/profile").status_code == 200


def test_org_forms_need_the_csrf_token_and_a_known_role(ui_server: Server) -> None:
    with signed_in_client(ui_server.url, ADMIN_USER, ADMIN_PASSWORD) as admin:
        org = f"csrf{uuid.uuid4().hex[:6]}"
        refused = admin.post("/orgs", data={"name": org})
        assert refused.status_code == 403
        token = csrf_of(admin.get("/orgs").text)
        assert admin.post("/orgs", data={"csrf_token": token, "name": org}).status_code == 303
        assert admin.get(f"/orgs/{org}").status_code == 200
        bad_role = admin.post(
            f"/orgs/{org}/members",
            data={"csrf_token": token, "username": ADMIN_USER, "role": "emperor"},
        )
        assert bad_role.status_code == 303
        assert "Choose one of the roles" in admin.get(f"/orgs/{org}").text
    anonymous = httpx.get(f"{ui_server.url}/orgs/{org}", headers=HTML)
    assert anonymous.status_code == 303  # sign in first
    assert anonymous.headers["location"].startswith("/login?next=")
