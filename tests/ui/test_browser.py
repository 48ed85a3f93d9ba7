"""The web UI in a real browser (Debian's headless Chromium) against the all-in-one process."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from tests.ui.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    PHONE,
    Server,
    register,
    screenshot,
    sign_in,
)

USER_PASSWORD = "correct horse battery"


def _username() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def test_register_then_sign_out_and_in_again_with_a_wrong_password_first(
    page: Page, context: BrowserContext, ui_server: Server
) -> None:
    name = _username()
    register(page, name, USER_PASSWORD)
    expect(page.get_by_test_id("nav-profile")).to_have_text(name)

    session = next(c for c in context.cookies() if c["name"] == "skreg_session")
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["secure"] is False  # plain http on loopback; https sets Secure
    assert "skreg_session" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()

    page.goto("/login")
    page.get_by_label("Username or email").fill(name)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong username or password.")
    assert page.url.endswith("/login")
    expect(page.get_by_label("Username or email")).to_have_value(name)

    page.get_by_label("Password").fill(USER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("nav-profile")).to_have_text(name)


def test_api_key_secret_is_shown_once(page: Page) -> None:
    register(page, _username(), USER_PASSWORD)
    page.get_by_label("Key name").fill("laptop")
    page.get_by_label("publish").check()
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create key").click()

    secret = page.get_by_test_id("new-key-secret").inner_text()
    assert re.fullmatch(r"sr_[A-Za-z0-9_-]+", secret), secret
    page.get_by_test_id("new-key").get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("key-row")).to_contain_text("read, publish")

    page.goto("/profile")
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    assert secret not in page.content()
    assert page.get_by_test_id("new-key").count() == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("key-row").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Key revoked.")).to_be_visible()
    expect(page.get_by_test_id("key-row")).to_have_count(0)


def test_search_open_skill_copy_install_and_browse_files(page: Page, seeded: Server) -> None:
    page.goto("/")
    expect(page.get_by_test_id("total-skills")).to_have_text(re.compile(r"[1-9]\d*"))
    screenshot(page, "home")

    page.get_by_label("Search skills", exact=True).first.fill("pdf")
    page.get_by_role("button", name="Search").first.click()
    page.wait_for_url("**/search?q=pdf*")
    expect(page.get_by_test_id("result-count")).to_contain_text("for “pdf”")
    card = page.locator(".skill-card", has_text="pdf-tools")
    expect(card.locator("mark").first).to_have_text(re.compile("pdf", re.IGNORECASE))
    expect(card.locator(".why")).to_contain_text("name")
    screenshot(page, "search")

    card.get_by_role("link", name=re.compile("pdf-tools")).click()
    page.wait_for_url(f"**/skills/{ADMIN_USER}/pdf-tools")
    expect(page.locator(".skill-head h1")).to_contain_text("pdf-tools")
    expect(page.get_by_test_id("shown-version")).to_have_text("1.2.0")
    expect(page.locator(".facts")).to_contain_text("Apache-2.0")
    expect(page.get_by_role("link", name=re.compile(r"Download 1\.2\.0"))).to_have_attribute(
        "href", f"/api/v1/skills/{ADMIN_USER}/pdf-tools/versions/1.2.0/download"
    )
    screenshot(page, "skill")

    install = page.get_by_test_id("install-cmd")
    expect(install).to_have_text(f"skreg install {ADMIN_USER}/pdf-tools")
    page.locator(".install").get_by_role("button", name="Copy").click()
    assert (
        page.evaluate("navigator.clipboard.readText()") == f"skreg install {ADMIN_USER}/pdf-tools"
    )

    page.get_by_role("navigation", name="Files").get_by_role("link", name="extract.py").click()
    page.wait_for_url("**/files/scripts/extract.py")
    expect(page.get_by_test_id("file-text")).to_contain_text("print('<b>extract</b>')")
    assert page.locator(".file-text b").count() == 0  # shown as text, not markup

    page.get_by_role("navigation", name="Files").get_by_role("link", name="logo.bin").click()
    expect(page.get_by_text("This is a binary file.")).to_be_visible()


def test_hostile_skill_renders_inert(page: Page, seeded: Server) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"/skills/{ADMIN_USER}/evil-readme")
    expect(page.locator(".skill-head h1")).to_contain_text("evil-readme")
    expect(page.locator(".lead")).to_contain_text("<script>window.__xssDescription = 1</script>")

    readme = page.locator(".readme")
    assert readme.locator("script").count() == 0
    assert readme.locator("iframe").count() == 0
    assert readme.locator("[onerror], [onclick]").count() == 0
    assert page.locator('a[href^="javascript:" i]').count() == 0
    link = readme.get_by_text("click me")
    if link.count():
        link.click()
    raw = readme.get_by_text("raw javascript link")
    if raw.count():
        raw.click()
    page.wait_for_timeout(300)  # give any (wrongly) scheduled script a chance to run

    leaked = page.evaluate(
        "[window.__xssInline, window.__xssHandler, window.__xssDescription]"
        ".filter(v => v !== undefined).length"
    )
    assert leaked == 0
    assert dialogs == []
    page.goto("/search?q=evil")
    assert dialogs == []
    assert page.evaluate("window.__xssDescription === undefined")


def test_admin_adds_a_git_source_syncs_it_and_sees_the_results(
    page: Page, ui_server: Server, git_repo: str
) -> None:
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto("/admin/sources")
    expect(page.get_by_role("heading", name="Git sources")).to_be_visible()
    page.get_by_label("Git URL").fill(git_repo)
    page.get_by_label("Namespace").fill("imported")
    page.get_by_label("Never look under").fill("preview/**\n.claude/**")
    page.get_by_label("Versions").select_option("generate_on_conflict")
    page.get_by_role("button", name="Add source").click()
    page.wait_for_url(re.compile(r".*/admin/sources/[^/]+$"))
    expect(page.get_by_text("Source added")).to_be_visible()
    expect(page.get_by_test_id("exclude")).to_have_text("preview/**, .claude/**")
    expect(page.get_by_test_id("version-policy")).to_have_text("generate_on_conflict")
    expect(page.get_by_label("Never look under")).to_have_value("preview/**\n.claude/**")
    screenshot(page, "admin-source")

    page.get_by_test_id("sync-now").click()
    page.wait_for_url(re.compile(r".*/admin/imports/[^/]+$"))
    panel = page.get_by_test_id("run-panel")
    # The panel polls while the run is queued/running and stops once it has finished.
    # One skill was invalid: the run finished, but only partly.
    expect(panel).to_have_attribute("data-state", "partial", timeout=60_000)
    expect(panel.get_by_test_id("outcome-counts")).to_have_text("created 2 · invalid 1")
    screenshot(page, "admin-import-run")
    results = page.get_by_test_id("run-results")
    expect(results.locator("tr.outcome-created")).to_have_count(2)
    expect(results.locator("tr.outcome-invalid")).to_have_count(1)
    expect(results.locator("tr.outcome-invalid")).to_contain_text("skills/broken")
    # What the progress script fetches while a run is active: the panel alone, no layout.
    fragment = page.request.get(page.url.split("?")[0] + "/panel")
    assert fragment.status == 200
    assert 'data-testid="run-panel"' in fragment.text()
    assert "<html" not in fragment.text()

    page.goto("/admin/sources")
    expect(page.get_by_test_id("sources-table")).to_contain_text(git_repo)
    expect(page.get_by_test_id("sources-table")).to_contain_text("partial")
    expect(page.get_by_test_id("sources-table")).to_contain_text("created 2 · invalid 1")
    screenshot(page, "admin-sources")

    page.goto("/skills/imported/alpha")
    expect(page.locator(".facts")).to_contain_text("Imported from")
    expect(page.locator(".facts")).to_contain_text("skills/alpha")


def test_admin_pages_list_users_runs_skills_and_audit(page: Page, seeded: Server) -> None:
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    for path, heading in (
        ("/admin", "Admin"),
        ("/admin/users", "Users"),
        ("/admin/imports", "Import runs"),
        ("/admin/skills", "Skills"),
        ("/admin/audit", "Audit log"),
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("table")).to_contain_text("login")
    page.goto("/admin/users?q=admin")
    expect(page.get_by_test_id("user-row").first).to_contain_text(ADMIN_USER)


def test_non_admin_gets_403_on_admin_pages(page: Page) -> None:
    register(page, _username(), USER_PASSWORD)
    for path in ("/admin", "/admin/users", "/admin/sources", "/admin/audit"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_contain_text("403")
    page.context.clear_cookies()
    page.goto("/admin/sources")
    assert "/login?next=%2Fadmin%2Fsources" in page.url


def test_form_without_csrf_token_is_refused(page: Page) -> None:
    register(page, _username(), USER_PASSWORD)
    page.evaluate(
        "document.querySelectorAll('form[action=\"/profile/keys\"] input[name=csrf_token]')"
        ".forEach(e => e.remove())"
    )
    page.get_by_label("Key name").fill("sneaky")
    with page.expect_response(lambda r: r.url.endswith("/profile/keys")) as info:
        page.get_by_role("button", name="Create key").click()
    assert info.value.status == 403
    expect(page.get_by_text("security token")).to_be_visible()
    page.goto("/profile")
    expect(page.get_by_test_id("key-row")).to_have_count(0)


def test_error_pages_are_clean(page: Page) -> None:
    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    response = page.goto("/skills/nobody/nothing-here")
    assert response is not None
    assert response.status == 404
    assert "Traceback" not in page.content()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search?q=pdf",
        "/login",
        f"/skills/{ADMIN_USER}/pdf-tools",
        f"/skills/{ADMIN_USER}/pdf-tools/versions/1.2.0/files/scripts/extract.py",
    ],
)
def test_pages_fit_a_phone(browser: Browser, seeded: Server, path: str) -> None:
    ctx = browser.new_context(viewport=PHONE, base_url=seeded.url, is_mobile=True)
    try:
        page = ctx.new_page()
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        if path == "/":
            screenshot(page, "home-phone")
    finally:
        ctx.close()


def _skill_md(name: str) -> bytes:
    return f"---\nname: {name}\ndescription: A skill to yank and delete.\n---\n# {name}\n".encode()


def test_owner_yanks_unyanks_and_deletes_a_skill(page: Page, seeded: Server) -> None:
    token = seeded.api_token()
    name = f"yank-{uuid.uuid4().hex[:6]}"
    for version in ("1.0.0", "1.1.0"):
        files = {"SKILL.md": (_skill_md(name), False), "v.txt": (version.encode(), False)}
        seeded.publish(files, token, version=version)
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto(f"/skills/{ADMIN_USER}/{name}")
    expect(page.get_by_test_id("shown-version")).to_have_text("1.1.0")

    row = page.locator(".version-list li", has_text="1.1.0")
    row.get_by_label("Reason for yanking 1.1.0").fill("broken build")
    row.get_by_role("button", name="Yank").click()
    expect(page.get_by_text("Yanked 1.1.0.")).to_be_visible()
    row = page.locator(".version-list li", has_text="1.1.0")
    expect(row).to_have_class(re.compile("yanked"))
    expect(row).to_contain_text("broken build")
    expect(page.get_by_test_id("shown-version")).to_have_text("1.0.0")  # latest moved back

    row.get_by_role("button", name="Unyank").click()
    expect(page.get_by_text("Restored 1.1.0.")).to_be_visible()
    expect(page.get_by_test_id("shown-version")).to_have_text("1.1.0")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this skill").click()
    expect(page.get_by_text(f"Deleted {ADMIN_USER}/{name}.")).to_be_visible()
    response = page.goto(f"/skills/{ADMIN_USER}/{name}")
    assert response is not None
    assert response.status == 404


def test_admin_disables_and_enables_a_user(page: Page, browser: Browser, ui_server: Server) -> None:
    name = _username()
    other = browser.new_context(base_url=ui_server.url)
    try:
        register(other.new_page(), name, USER_PASSWORD)
    finally:
        other.close()
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto(f"/admin/users?q={name}")
    row = page.locator(f'[data-testid="user-row"][data-username="{name}"]')
    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_text(f"{name} is now user, disabled.")).to_be_visible()

    locked = browser.new_context(base_url=ui_server.url)
    try:
        tab = locked.new_page()
        tab.goto("/login")
        tab.get_by_label("Username or email").fill(name)
        tab.get_by_label("Password").fill(USER_PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.get_by_test_id("login-error")).to_be_visible()
    finally:
        locked.close()

    page.goto(f"/admin/users?q={name}")
    page.locator(f'[data-testid="user-row"][data-username="{name}"]').get_by_role(
        "button", name="Enable"
    ).click()
    expect(page.get_by_text(f"{name} is now user, enabled.")).to_be_visible()


def test_admin_edits_and_deletes_a_source(page: Page, ui_server: Server, git_repo: str) -> None:
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto("/admin/sources")
    page.get_by_label("Git URL").fill(git_repo)
    page.get_by_label("Namespace").fill("Not Valid!")
    page.get_by_role("button", name="Add source").click()
    expect(page.locator(".field.has-error")).to_contain_text("Lowercase letters")

    page.get_by_label("Namespace").fill("editme")
    page.get_by_role("button", name="Add source").click()
    page.wait_for_url(re.compile(r".*/admin/sources/[^/]+$"))
    source_url = page.url
    page.get_by_label("Branch, tag or commit").fill("main")
    page.get_by_label("Sync every (minutes)").fill("15")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Source saved.")).to_be_visible()
    expect(page.get_by_label("Branch, tag or commit")).to_have_value("main")
    expect(page.get_by_label("Sync every (minutes)")).to_have_value("15")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete source").click()
    expect(page.get_by_text("Source deleted.")).to_be_visible()
    response = page.goto(source_url)
    assert response is not None
    assert response.status == 404
