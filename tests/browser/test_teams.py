"""The Teams pages in a real browser (issue 14): an admin creates a team, adds a member and
grants a pack found by searching as they type; with the keyboard alone; at phone width. The
grant is then checked where it is enforced: the member's API calls."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from st2bridge.client import ApiError
from tests.portal_support import api_as

from .conftest import sign_in


@pytest.fixture
def csp_messages(page):
    """Console messages of refused scripts or styles (the policy allows no inline ones)."""
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or message.text.startswith("Refused to")
            else None
        ),
    )
    return found


def runs(username, ref, parameters=None):
    """Whether `username` may launch `ref` through the API (403 is the refusal)."""
    try:
        api_as(username).launch(ref, parameters or {})
    except ApiError as error:
        assert error.status == 403, error
        return False
    return True


def state(name):
    group = Group.objects.get(name=name)
    return sorted(group.user_set.values_list("username", flat=True)), group.access.packs


def tab_to(page, selector, limit=60):
    """Press Tab until the element matching `selector` has the focus (as a person would)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus")


def test_admin_creates_a_team_adds_a_member_and_grants_a_pack(
    settings, page, admin_user, bob, csp_messages
):
    settings.ST2_DEFAULT_ACCESS = "none"
    sign_in(page, "admin")
    page.get_by_role("link", name="Teams").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    page.get_by_label("Name").fill("release")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("release")

    page.get_by_label("Username").fill("bob")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members")).to_contain_text("bob")

    page.get_by_role("searchbox", name="Find packs and actions").fill(
        "demo"
    )  # no button: results as you type
    choice = page.get_by_role("checkbox", name=re.compile(r"^demo pack"))
    expect(choice).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=demo"))
    assert page.get_by_role("checkbox", name=re.compile(r"^core")).count() == 0
    choice.check()
    page.get_by_role("button", name="Grant selected").click()
    expect(page.get_by_text("Granted to release: demo.")).to_be_visible()
    expect(page.locator("#grants")).to_contain_text("demo")
    assert state("release") == (["bob"], ["demo"])

    assert runs("bob", "demo.greet", {"name": "x"})
    assert not runs("bob", "core.noop")
    assert not csp_messages, csp_messages


def test_keyboard_alone_creates_a_team_adds_a_member_and_grants(page, admin_user, bob):
    sign_in(page, "admin")
    page.goto(f"{page.portal_url}/teams")
    page.keyboard.press("Tab")
    tab_to(page, "#new-team-name")
    page.keyboard.type("ops")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("ops")

    tab_to(page, "#member-username")
    page.keyboard.type("bob")
    page.keyboard.press("Enter")
    expect(page.locator("#members")).to_contain_text("bob")

    tab_to(page, "#grant-q")
    page.keyboard.type("greet")
    expect(page.locator("#grant-choices input[type=checkbox]")).to_have_count(1)
    tab_to(page, "#grant-choices input[value='action:demo.greet']")
    page.keyboard.press("Space")
    tab_to(page, "#grant-submit")
    page.keyboard.press("Enter")
    expect(page.locator("#grants")).to_contain_text("demo.greet")
    members, packs = state("ops")
    assert members == ["bob"] and packs == []
    assert Group.objects.get(name="ops").access.actions == ["demo.greet"]

    # Taking it back, still by keyboard: tick the grant in the team's list, then the button.
    tab_to(page, "input[name=revoke][value='action:demo.greet']")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Take back selected"
    page.keyboard.press("Enter")
    expect(page.locator("#grants")).to_contain_text("grants no pack and no action")


def test_at_phone_width_the_team_pages_fit_and_work(chromium, portal, admin_user, bob):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.portal_url = portal.url
    try:
        sign_in(page, "admin")
        page.goto(f"{page.portal_url}/teams")
        page.get_by_label("Name").fill("mobile")
        page.get_by_role("button", name="Create team").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("mobile")
        page.get_by_label("Username").fill("bob")
        page.get_by_role("button", name="Add member").click()
        page.get_by_role("searchbox", name="Find packs and actions").fill("demo")
        choice = page.get_by_role("checkbox", name=re.compile(r"^demo pack"))
        choice.check()
        page.get_by_role("button", name="Grant selected").click()
        expect(page.locator("#grants")).to_contain_text("demo")
        assert state("mobile") == (["bob"], ["demo"])
        for path in ("/teams", page.url, "/teams/access"):
            page.goto(path if path.startswith("http") else f"{page.portal_url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
    finally:
        context.close()
