"""The design system in a real browser (issue 14): Bootstrap and htmx come from this site, as
installed from package-lock.json, and nothing from another origin; the theme switch; the
favicon; the error pages; the home page; the API key shown once (Post/Redirect/Get)."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
LOCKED = json.loads((ROOT / "package-lock.json").read_text())["packages"]
PAGES = ("/", "/packs", "/actions", "/actions/demo.deploy", "/executions", "/rules", "/apikeys")
DARK_BODY = "rgb(33, 37, 41)"  # Bootstrap's --bs-body-bg in the dark theme
LIGHT_BODY = "rgb(255, 255, 255)"


class Traffic:
    """Every request a page makes, and every answer of 400 or more."""

    def __init__(self, page):
        self.urls, self.failed = [], []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("response", self._answered)

    def _answered(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")


@pytest.fixture
def traffic(page):
    return Traffic(page)


def body_colour(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def choose_theme(page, name):
    page.get_by_role("button", name=re.compile(r"^Theme")).click()
    page.get_by_role("button", name=name, exact=True).click()


def test_pages_load_only_this_sites_files_and_the_installed_packages(page, alice, traffic):
    sign_in(page, "alice")
    for path in PAGES:
        page.goto(f"{page.portal_url}{path}")
        page.wait_for_load_state("networkidle")
    foreign = [url for url in traffic.urls if not url.startswith(page.portal_url)]
    assert foreign == []
    assert traffic.failed == []
    for asset in (
        "/static/vendor/bootstrap/css/bootstrap.min.css",
        "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
        "/static/vendor/htmx/htmx.min.js",
    ):
        assert f"{page.portal_url}{asset}" in traffic.urls, asset
    assert page.evaluate("htmx.version") == LOCKED["node_modules/htmx.org"]["version"]
    assert (
        page.evaluate("bootstrap.Collapse.VERSION") == LOCKED["node_modules/bootstrap"]["version"]
    )


def test_no_third_party_file_is_committed(portal):
    """The packages are installed, not copied into static/ (package.json lists them)."""
    assert not list((ROOT / "static").rglob("htmx*")) and not list(
        (ROOT / "static").rglob("bootstrap*")
    )
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]
    assert wanted == {name: LOCKED[f"node_modules/{name}"]["version"] for name in wanted}
    assert all(LOCKED[f"node_modules/{name}"]["integrity"].startswith("sha512-") for name in wanted)


def test_the_favicon_is_linked_and_served(page, portal, traffic):
    page.goto(f"{page.portal_url}/login")
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", "/static/favicon.svg")
    response = page.request.get(f"{page.portal_url}/static/favicon.svg")
    assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
    legacy = page.request.get(f"{page.portal_url}/favicon.ico")
    assert legacy.status == 200 and legacy.url.endswith("/static/favicon.svg")
    page.wait_for_load_state("networkidle")
    assert traffic.failed == []


def test_dark_theme_is_applied_and_kept_across_a_reload(page, portal):
    page.emulate_media(color_scheme="light")
    page.goto(f"{page.portal_url}/login")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "light"
    assert body_colour(page) == LIGHT_BODY
    choose_theme(page, "Dark")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
    assert body_colour(page) == DARK_BODY
    assert page.evaluate("localStorage.getItem('portal-theme')") == "dark"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
    assert body_colour(page) == DARK_BODY
    expect(page.get_by_role("button", name="Theme: Dark")).to_be_visible()
    expect(page.locator("[data-theme-value=dark]")).to_have_attribute("aria-pressed", "true")
    choose_theme(page, "Light")
    page.reload()
    assert body_colour(page) == LIGHT_BODY


def test_the_system_theme_follows_the_operating_system(page, portal):
    page.emulate_media(color_scheme="dark")
    page.goto(f"{page.portal_url}/login")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
    choose_theme(page, "System")
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_the_stored_theme_applies_before_the_page_is_painted(page, portal):
    """theme.js is a blocking script in <head>: when <body> arrives, the theme is set."""
    page.goto(f"{page.portal_url}/login")
    page.evaluate("localStorage.setItem('portal-theme', 'dark')")
    page.add_init_script(
        """new MutationObserver((changes, observer) => {
             if (document.body) {
               window.themeAtBody = document.documentElement.getAttribute("data-bs-theme");
               observer.disconnect();
             }
           }).observe(document, {childList: true, subtree: true});"""
    )
    page.reload()
    assert page.evaluate("window.themeAtBody") == "dark"


def test_an_unknown_action_shows_the_styled_404_with_working_navigation(page, alice):
    sign_in(page, "alice")
    response = page.goto(f"{page.portal_url}/actions/no.such")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert body_colour(page) in (LIGHT_BODY, DARK_BODY)  # Bootstrap is there
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Actions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Actions")


def test_anonymous_visitors_sign_in_on_the_home_page(page, alice):
    page.goto(f"{page.portal_url}/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.get_by_role("searchbox", name="Search actions").fill("greet")
    page.get_by_role("searchbox", name="Search actions").press("Enter")
    expect(page).to_have_url(re.compile(r"/actions\?q=greet$"))


def test_reloading_the_new_key_creates_no_second_key(page, alice):
    sign_in(page, "alice")
    page.goto(f"{page.portal_url}/apikeys")
    page.get_by_label("Name").fill("nightly")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Your new key")).to_be_visible()
    assert page.url.endswith("/apikeys#new-key")
    page.reload()
    expect(page.get_by_role("heading", name="Your new key")).to_have_count(0)
    expect(page.locator("tr[id^=key-]")).to_have_count(1)
