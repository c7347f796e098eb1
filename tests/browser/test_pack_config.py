"""An administrator edits a pack's config in a real browser: the form generated from the
pack's config schema, an error beside its field, a row added to an array, secrets typed once
and never shown again."""

import json
import re

from playwright.sync_api import expect

from st2bridge import datastore
from st2bridge.models import PackConfig
from tests.config_support import register_with, write_config_pack


def test_an_admin_configures_a_pack(admin_page, shared_tmp):
    register_with(write_config_pack(shared_tmp / "packs"))
    page = admin_page
    page.goto(f"{page.portal_url}/packs/cfg/config")
    expect(page.get_by_role("heading", name="Config of cfg")).to_be_visible()
    port = page.locator("#id_port")  # the accounts' rows have a "port" too
    expect(port).to_have_value("443")  # the schema's default
    page.get_by_label("api_token").fill("tok-typed-once")
    port.fill("8443")
    page.get_by_label("region").select_option("us")
    page.get_by_label("auth").fill('{"username": ')
    first = page.get_by_role("group", name="accounts item 1")
    first.get_by_label("name (required)").fill("first")
    first.get_by_label("password", exact=True).fill("pw-typed-once")
    page.get_by_role("button", name="Add a row to accounts").click()
    page.get_by_role("group", name="accounts item 2").get_by_label("name (required)").fill("second")
    page.get_by_role("button", name="Save the config").click()
    error = page.locator(".has-error", has=page.get_by_label("auth"))
    expect(error).to_contain_text("Not valid JSON")
    expect(page.get_by_label("region")).to_have_value("us")  # the rest is kept
    expect(
        page.get_by_role("group", name="accounts item 2").get_by_label("name (required)")
    ).to_have_value("second")
    expect(page.get_by_label("api_token")).to_have_value("")  # a secret never comes back
    expect(port).to_have_value("8443")
    page.get_by_label("api_token").fill("tok-typed-once")
    page.get_by_label("auth").fill('{"username": "svc"}')
    page.get_by_role("button", name="Save the config").click()
    expect(page.get_by_role("status")).to_contain_text("The config of cfg was saved.")
    expect(page).to_have_url(re.compile(r"/packs/cfg/config$"))
    expect(page.get_by_label("api_token")).to_have_value("")
    expect(page.get_by_text("Leave blank to keep the stored value.").first).to_be_visible()
    assert "tok-typed-once" not in page.content() and "pw-typed-once" not in page.content()
    row = PackConfig.objects.get(pack="cfg")
    assert json.loads(datastore.decrypt(row.sealed_values)) == {
        "api_url": "https://api.example",
        "api_token": "tok-typed-once",
        "port": 8443,
        "region": "us",
        "auth": {"username": "svc"},
        "accounts": [
            {"name": "first", "password": "pw-typed-once", "port": 465},
            {"name": "second", "port": 465},
        ],
    }
