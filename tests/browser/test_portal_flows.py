"""What a person does in the portal, in a real browser."""

import re

import requests
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from st2bridge.models import Execution, TeamAccess
from tests.portal_support import api_as

from .conftest import sign_in

EVERY_TYPE = {
    "name": "every_type",
    "pack": "default",
    "runner_type": "local-shell-cmd",
    "description": "Takes a parameter of every type.",
    "parameters": {
        "cmd": {"type": "string", "immutable": True, "default": "echo every type"},
        "text": {"type": "string", "required": True},
        "count": {"type": "integer", "minimum": 1, "maximum": 10, "default": 2},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean", "default": False},
        "colour": {"type": "string", "enum": ["red", "green", "blue"]},
        "names": {"type": "array", "items": {"type": "string"}},
        "hosts": {
            "type": "array",
            "items": {"type": "object", "properties": {"host": {"type": "string"}}},
        },
        "extra": {"type": "object"},
        "api_secret": {"type": "string", "secret": True},
    },
}


def test_sign_in_says_when_the_password_is_wrong(page, alice):
    page.goto(f"{page.portal_url}/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    expect(page.get_by_label("Username")).to_have_value("alice")
    sign_in(page, "alice")
    expect(page.get_by_text("Signed in as")).to_contain_text("alice")


def test_keyboard_alone_signs_in(page, alice):
    page.goto(f"{page.portal_url}/login")
    for _ in range(6):  # Tab through the skip link and the header to the username
        if page.evaluate("document.activeElement.name") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "username"
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_search_as_you_type_and_open_an_action(alice_page):
    page = alice_page
    page.goto(f"{page.portal_url}/actions")
    page.get_by_role("searchbox").fill("greet")
    expect(page.locator("#action-list a", has_text="demo.deploy")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"q=greet"))
    page.get_by_role("link", name="demo.greet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("demo.greet")


def test_launch_watch_live_and_run_again_with_one_change(alice_page, worker):
    page = alice_page
    page.goto(f"{page.portal_url}/actions/core.local")
    page.get_by_label("cmd").fill("echo first; sleep 3; echo second")
    page.get_by_role("button", name="Run core.local").click()
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#output-so-far")).to_contain_text("first")
    expect(page.locator(".status")).to_have_text("succeeded")
    expect(page.locator("#stdout")).to_have_text("first\nsecond")
    assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
    page.get_by_role("link", name="Run again").click()
    expect(page.get_by_label("cmd")).to_have_value("echo first; sleep 3; echo second")
    page.get_by_label("cmd").fill("echo changed")
    page.get_by_role("button", name="Run core.local").click()
    expect(page.locator("#stdout")).to_have_text("changed")
    assert Execution.objects.count() == 2


def test_every_parameter_type_and_a_server_side_error_beside_its_field(alice_page, admin_api):
    assert admin_api.post("/api/v1/actions", EVERY_TYPE, format="json").status_code == 201
    page = alice_page
    page.goto(f"{page.portal_url}/actions/default.every_type")
    expect(page.get_by_label("cmd")).to_be_disabled()
    text = page.get_by_role("textbox", name=re.compile(r"^text\b"))
    text.fill("hello")
    page.get_by_label("count").fill("3")
    page.get_by_label("ratio").fill("0.5")
    page.get_by_label("flag").check()
    page.get_by_label("colour").select_option("green")
    page.get_by_label("names item 1", exact=True).fill("a")  # one empty row to start
    page.get_by_role("button", name="Add a row to names").click()
    page.get_by_label("names item 2", exact=True).fill("b")
    page.get_by_role("group", name="hosts item 1").get_by_label("host", exact=True).fill("web1")
    page.get_by_label("extra").fill('{"k": 1}')
    page.get_by_label("api_secret").fill("s3cret")
    page.get_by_label("extra").fill("{not json")
    page.get_by_role("button", name="Run default.every_type").click()
    error = page.locator(".has-error", has=page.get_by_label("extra"))
    expect(error).to_contain_text("Not valid JSON")
    expect(text).to_have_value("hello")  # the rest is kept
    expect(page.get_by_label("names item 2", exact=True)).to_have_value("b")
    expect(page.get_by_label("api_secret")).to_have_value("")  # a secret never comes back
    page.get_by_label("extra").fill('{"k": 1}')
    page.get_by_label("api_secret").fill("s3cret")
    page.get_by_role("button", name="Run default.every_type").click()
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f]{24}$"))
    execution = Execution.objects.get()
    typed = {name: execution.parameters.get(name) for name in EVERY_TYPE["parameters"]}
    assert typed == {
        "cmd": None,  # immutable: never submitted
        "text": "hello",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "colour": "green",
        "names": ["a", "b"],
        "hosts": [{"host": "web1"}],
        "extra": {"k": 1},
        "api_secret": "********",
    }


def test_webhook_rule_switched_off_and_on_then_fired(alice_page, worker, alice_api):
    page = alice_page
    page.goto(f"{page.portal_url}/rules/new")
    page.get_by_label("Name").fill("greeter")
    page.get_by_label("url").fill("hello")
    page.get_by_label("Action").select_option("core.local")
    expect(page.get_by_label("cmd")).to_be_visible()  # htmx loaded the action's form
    page.get_by_label("cmd").fill("echo hello {{ trigger.body.who }}")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("default.greeter")
    page.goto(f"{page.portal_url}/rules")
    switch = page.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    token = alice_api._credentials["HTTP_X_AUTH_TOKEN"]
    posted = requests.post(
        f"{page.portal_url}/api/v1/webhooks/hello",
        json={"who": "world"},
        headers={"X-Auth-Token": token},
        timeout=10,
    )
    assert posted.status_code == 202
    page.goto(f"{page.portal_url}/rules/default.greeter")
    page.locator("a[href^='/executions/']").first.click()
    expect(page.locator("#stdout")).to_have_text("hello world")


def test_api_key_used_by_a_script_then_revoked_by_an_admin(page, alice, admin_user):
    sign_in(page, "alice")
    page.goto(f"{page.portal_url}/apikeys")
    page.get_by_label("Name").fill("nightly")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value").input_value()
    expect(page.get_by_role("alert").first).to_contain_text("will not be shown again")
    whoami = f"{page.portal_url}/api/v1/user"
    assert requests.get(whoami, headers={"St2-Api-Key": key}, timeout=10).status_code == 200
    page.get_by_role("button", name="Log out").click()
    sign_in(page, admin_user.username)
    page.goto(f"{page.portal_url}/manage/apikeys?user=alice")
    page.get_by_role("button", name=re.compile("Disable")).click()
    expect(page.get_by_text("disabled")).to_be_visible()
    assert requests.get(whoami, headers={"St2-Api-Key": key}, timeout=10).status_code == 401


MAIN_PAGES = (
    "/packs",
    "/actions",
    "/actions/demo.deploy",
    "/actions/demo.every_type",
    "/executions",
    "/rules",
    "/rules/new",
    "/apikeys",
)


def test_phone_width_has_no_sideways_scrolling(alice_page):
    page = alice_page
    page.set_viewport_size({"width": 375, "height": 800})
    for path in MAIN_PAGES:
        page.goto(f"{page.portal_url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)


def test_dark_theme_follows_the_system(alice_page):
    page = alice_page
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    page.goto(f"{page.portal_url}/packs")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")  # static/js/theme.js follows it
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    assert page.evaluate(background) != light


def test_every_input_has_a_label(alice_page):
    page = alice_page
    for path in (*MAIN_PAGES, "/rules/new"):
        page.goto(f"{page.portal_url}{path}")
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
               .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (path, unlabelled)


def test_a_user_outside_the_team_neither_sees_nor_launches_its_action(page, alice):
    # The Teams pages that make this team are walked in tests/browser/test_teams.py.
    ops = Group.objects.create(name="ops")
    ops.user_set.add(alice)
    TeamAccess.objects.create(group=ops, packs=["core"])
    sign_in(page, "alice")
    page.goto(f"{page.portal_url}/actions")
    page.get_by_role("searchbox").fill("greet")
    expect(page.locator("#action-list")).not_to_contain_text("demo.greet")
    page.get_by_role("searchbox").fill("local")
    expect(page.locator("#action-list")).to_contain_text("core.local")
    assert page.goto(f"{page.portal_url}/actions/demo.greet").status == 404
    token = api_as("alice").session.headers["X-Auth-Token"]
    launched = requests.post(
        f"{page.portal_url}/api/v1/executions",
        json={"action": "demo.greet", "parameters": {"name": "x"}},
        headers={"X-Auth-Token": token},
        timeout=10,
    )
    assert launched.status_code == 403
    assert 'may not run action "demo.greet"' in launched.json()["faultstring"]
    assert not Execution.objects.exists()
