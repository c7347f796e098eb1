"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by
scripts/ensure-chromium) against the portal on a live server, with a real worker process.

Playwright's sync API runs an event loop in this thread, so Django would refuse database
access from test code ("SynchronousOnlyOperation"); the tests only read and set up data
between browser steps, never concurrently with a request, so that check is switched off here.
When a test fails, a screenshot of its page is saved in test-artifacts/screenshots/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD
from tests.worker_support import start_worker_process, stop_worker_process

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture(scope="package", autouse=True)
def allow_database_access_beside_playwright():
    """For the browser tests only: other tests' subprocesses (check --deploy) must not
    inherit it, so it is removed again after this package."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def chromium(allow_database_access_beside_playwright):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(request, chromium, portal):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.portal_url = portal.url
    yield page
    if getattr(request.node, "call_failed", False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def worker(portal):
    process = start_worker_process()
    yield process
    stop_worker_process(process)


def sign_in(page, username, password=PASSWORD):
    page.goto(f"{page.portal_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Signed in: the navigation holds the Log out button (behind the menu at phone width).
    expect(page.locator("form.signout button")).to_have_text("Log out")


@pytest.fixture
def alice_page(page, alice):
    sign_in(page, "alice")
    return page


@pytest.fixture
def admin_page(page, admin_user):
    sign_in(page, admin_user.username)
    return page
