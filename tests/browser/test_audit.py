"""The Audit page in a real browser (issue 18): an administrator opens it from the navigation,
filters by what happened, and downloads the filtered records as CSV."""

import csv
import io

from playwright.sync_api import expect

from tests.portal_support import api_as

CANARY = "canary-browser-audit-4417"


def test_an_admin_filters_the_audit_log_and_exports_it(admin_page, alice):
    page = admin_page
    api_as("alice").launch(
        "demo.deploy", {"environment": "staging", "version": "1", "api_token": CANARY}
    )
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    table = page.get_by_role("table", name="Audit records")
    expect(table).to_contain_text("auth.signin")

    page.get_by_label("What").fill("execution")
    page.get_by_label("Who").fill("alice")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-count")).to_contain_text("1 record.")
    expect(table).to_contain_text("execution.launch")
    expect(table).not_to_contain_text("auth.signin")
    table.get_by_text("3 fields").click()  # the changes (action, user, parameters), unfolded
    expect(table).to_contain_text('"api_token": "********"')
    expect(table).not_to_contain_text(CANARY)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "audit.csv"
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["user"], row["action"]) for row in rows] == [("alice", "execution.launch")]
    assert CANARY not in text
