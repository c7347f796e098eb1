"""The history and an execution's page in a real browser: times local to the viewer, the
history updating live (and only while it is seen), the keyboard, phone width, large output."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from st2bridge.models import Execution
from tests.portal_support import api_as
from tests.worker_support import run_to_completion

from .conftest import sign_in

WIDTHS = [1280, 390]


@pytest.fixture
def tokyo_page(chromium, portal, alice):
    """Alice in a browser set to English and Tokyo's time (UTC+9, no summer time)."""
    context = chromium.new_context(
        locale="en-US", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.portal_url = portal.url
    sign_in(page, "alice")
    yield page
    context.close()


def at_width(page, width):
    page.set_viewport_size({"width": width, "height": 900})


def row(page, execution_id):
    return page.locator(f"#row-{execution_id}")


def no_sideways_scroll(page):
    """The page itself never scrolls sideways (a wide table scrolls inside its box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_times_read_relative_with_the_exact_local_and_utc_time_on_hover(tokyo_page):
    page = tokyo_page
    execution_id = api_as("alice").launch("core.noop")["id"]
    started = (datetime.now(UTC) - timedelta(minutes=3, seconds=10)).replace(microsecond=0)
    Execution.objects.filter(id=execution_id).update(start_timestamp=started)
    page.goto(f"{page.portal_url}/executions")
    time = row(page, execution_id).locator("time")
    expect(time).to_have_text("3 minutes ago")
    tokyo = started + timedelta(hours=9)
    title = time.get_attribute("title")
    assert f"{tokyo:%b} {tokyo.day}, {tokyo.year}" in title
    assert f"{tokyo.hour % 12 or 12}:{tokyo:%M:%S}" in title and "GMT+9" in title
    assert f"{started:%Y-%m-%d %H:%M:%S} UTC" in title
    assert time.get_attribute("datetime") == f"{started:%Y-%m-%dT%H:%M:%S}Z"
    page.get_by_role("link", name=execution_id).click()
    expect(page.locator("#execution-status time").first).to_have_text("3 minutes ago")


@pytest.mark.parametrize("width", WIDTHS)
def test_history_updates_live_keeping_the_filter(alice_page, worker, width):
    page = alice_page
    at_width(page, width)
    alice = api_as("alice")
    first = alice.launch("core.local", {"cmd": "sleep 1"})["id"]
    page.goto(f"{page.portal_url}/executions?action=local")
    page.evaluate("window.notReloaded = true")
    second = alice.launch("core.local", {"cmd": "echo live"})["id"]
    alice.launch("core.noop")  # not what the filter asks for
    expect(row(page, second)).to_be_visible()
    expect(row(page, second).locator(".status")).to_have_text("succeeded")
    expect(row(page, first).locator(".status")).to_have_text("succeeded")
    expect(row(page, second).locator("time")).to_have_text(re.compile(r"now|seconds? ago"))
    expect(page.locator("#history-rows tr")).to_have_count(2)
    expect(page.locator("#history")).to_have_attribute("data-live", "slow")  # nothing runs
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("/executions?action=local")
    expect(page.get_by_label("Action")).to_have_value("local")
    assert no_sideways_scroll(page)


def test_a_hidden_page_asks_nothing_until_it_is_shown_again(alice_page):
    page = alice_page
    api_as("alice").launch("core.noop")  # requested: the page would ask every 3 s
    page.goto(f"{page.portal_url}/executions")
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(7000)
    assert [url for url in asked if "/executions" in url] == []
    with page.expect_request(re.compile(r"/executions$")) as shown:
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
    assert shown.value.headers["hx-target"] == "history"


def test_the_keyboard_filters_and_keeps_its_place_across_refreshes(alice_page):
    page = alice_page
    alice = api_as("alice")
    local = alice.launch("core.local", {"cmd": "true"})["id"]
    noop = alice.launch("core.noop")["id"]
    page.goto(f"{page.portal_url}/executions")
    for _ in range(30):  # Tab through the header to the action filter
        if page.evaluate("document.activeElement.id") == "f-action":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-action"
    page.keyboard.type("core.lo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"action=core\.lo"))
    expect(row(page, local)).to_be_visible()
    expect(row(page, noop)).to_have_count(0)
    for _ in range(30):  # on to the execution's link in the results
        if page.evaluate("document.activeElement.id") == f"open-{local}":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"open-{local}"
    with page.expect_response(lambda r: r.request.headers.get("hx-target") == "history"):
        pass  # a refresh swaps the results while the link has the focus
    page.wait_for_timeout(200)  # htmx settles
    assert page.evaluate("document.activeElement.id") == f"open-{local}"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/executions/{local}$"))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_huge_output_shows_its_end_with_a_notice_and_the_download(alice_page, width):
    page = alice_page
    at_width(page, width)
    cmd = "seq 1 300000"  # about 2 MB, cut by the runner at 1 MiB
    execution_id = api_as("alice").launch("core.local", {"cmd": cmd})["id"]
    run_to_completion(execution_id)
    response = page.goto(f"{page.portal_url}/executions/{execution_id}")
    assert len(response.body()) < 60_000
    notice = page.get_by_role("note")
    expect(notice).to_contain_text("stdout: output truncated: showing the last 32,768 of")
    expect(page.get_by_role("heading", name="Result", exact=True)).to_have_count(1)
    summary = page.locator("summary", has_text="stdout")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#stdout")).to_contain_text("[output truncated after 1048576 bytes]")
    link = notice.get_by_role("link", name="Download the full output (output.txt)")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"execution-{execution_id}.txt"
    assert no_sideways_scroll(page)
