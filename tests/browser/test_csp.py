"""The Content-Security-Policy in a real browser: the portal's pages and every JavaScript feature
(htmx and static/js/) work under it, and Chromium reports no violation, neither as a
`securitypolicyviolation` event nor as a "Refused to ..." console message. What the HTML and
the header hold is tested without a browser in tests/security/test_csp.py."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .conftest import sign_in

PAGES = (
    "/",
    "/packs",
    "/actions",
    "/actions/demo.deploy",
    "/actions/demo.every_type",
    "/executions",
    "/rules",
    "/rules/new",
    "/apikeys",
)
# Reports every violation to the test, from every document the page loads. Playwright's init
# scripts are not subject to the page's policy.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile}:${event.lineNumber} on ${document.location.pathname}`
  );
});
"""


class Violations(list):
    def console(self, message):
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            self.append(f"console: {message.text}")


@pytest.fixture
def violations(page):
    found = Violations()
    page.context.expose_function("reportCspViolation", lambda text: found.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", found.console)
    return found


@pytest.fixture
def alice_page(page, alice, violations):
    """Signed in as alice, watched for violations from the sign-in page on."""
    sign_in(page, "alice")
    return page


def settle(page):
    """Let pending requests and their event reports arrive before the violations are read."""
    page.wait_for_load_state("networkidle")


def test_the_watch_sees_a_blocked_inline_script(page, portal, violations):
    """The violations fixture itself: an injected inline script is refused and reported."""
    response = page.goto(f"{page.portal_url}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.appendChild(script);
        }"""
    )
    settle(page)
    assert page.evaluate("window.injected") is None
    assert any("script-src" in violation for violation in violations), violations


def test_main_pages_load_without_a_violation(alice_page, violations):
    page = alice_page
    for path in PAGES:
        response = page.goto(f"{page.portal_url}{path}")
        assert response.status == 200, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        settle(page)
    assert violations == []


def test_search_and_the_command_preview_update_as_you_type(alice_page, violations):
    page = alice_page
    page.goto(f"{page.portal_url}/actions")
    page.get_by_role("searchbox").fill("local")
    expect(page).to_have_url(re.compile(r"q=local"))
    page.get_by_role("link", name="core.local", exact=True).click()
    page.get_by_label("cmd").fill("echo typed-in-the-form")
    expect(page.locator("#preview-st2")).to_contain_text("echo typed-in-the-form")
    settle(page)
    assert violations == []


def test_array_rows_are_added_and_removed(alice_page, violations):
    page = alice_page
    page.goto(f"{page.portal_url}/actions/demo.every_type")
    page.get_by_label("names item 1", exact=True).fill("ada")
    page.get_by_role("button", name="Add a row to names").click()
    page.get_by_label("names item 2", exact=True).fill("grace")
    expect(page.locator("#preview-st2")).to_contain_text("grace")
    page.get_by_role("button", name=re.compile(r"Remove names item 1")).click()
    expect(page.get_by_label("names item 1", exact=True)).to_have_value("grace")
    expect(page.locator("#preview-st2")).not_to_contain_text("ada")
    settle(page)
    assert violations == []


def test_a_new_api_keys_copy_button_and_metadata_rows(alice_page, violations):
    page = alice_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{page.portal_url}/apikeys")
    rows = page.locator("#metadata-rows .meta-row")
    blank = rows.count()
    page.get_by_role("button", name="Add a row").click()
    expect(rows).to_have_count(blank + 1)
    rows.last.get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(blank)
    page.get_by_label("Name").fill("nightly")
    page.get_by_role("button", name="Create key").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".copied")).to_have_text("Copied.")
    settle(page)
    assert violations == []


def test_live_execution_output(alice_page, worker, violations):
    page = alice_page
    page.goto(f"{page.portal_url}/actions/core.local")
    page.get_by_label("cmd").fill("echo first; sleep 2; echo second")
    page.get_by_role("button", name="Run core.local").click()
    expect(page.locator("#output-so-far")).to_contain_text("first")
    expect(page.locator("#stdout")).to_have_text("first\nsecond")
    settle(page)
    assert violations == []


def test_the_rule_editor_reloads_parameters_and_the_switch_flips(alice_page, violations):
    page = alice_page
    page.goto(f"{page.portal_url}/rules/new")
    page.get_by_label("Name").fill("greeter")
    page.get_by_label("url").fill("hello")
    page.get_by_label("Action").select_option("core.local")
    expect(page.get_by_label("cmd")).to_be_visible()  # htmx loaded the action's parameters
    rows = page.locator("#criteria-rows .criteria-row")
    blank = rows.count()
    page.get_by_role("button", name="Add a criterion").click()
    expect(rows).to_have_count(blank + 1)
    rows.last.get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(blank)
    page.get_by_label("cmd").fill("echo hello")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("default.greeter")
    page.goto(f"{page.portal_url}/rules")
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    settle(page)
    assert violations == []


def test_the_admin_team_editor(page, admin_user, portal, violations):
    """Django's admin, including the two-list member picker, under the same policy."""
    response = page.goto(f"{page.portal_url}/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{page.portal_url}/admin/auth/group/add/")
    page.get_by_label("Name").fill("ops")
    page.locator("#id_members_from").select_option(label=admin_user.username)
    page.locator("button.selector-add, a.selector-add").first.click()
    expect(page.locator("#id_members_to")).to_contain_text(admin_user.username)
    page.get_by_role("textbox", name="Packs:", exact=True).fill("core")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("ops"))).to_contain_text("core")
    settle(page)
    assert violations == []
