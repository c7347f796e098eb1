"""Teams in the portal (issue 5, item 7): the portal shows only what the API returns for the
signed-in user, so a restricted action is neither listed, searchable, shown nor launchable;
and admins may also manage teams in the Django admin, signing in there with the same username
and password (the portal's own Teams pages: test_portal_teams_admin.py).

alice is in the "ops" team (the core pack and demo.greet); admin is staff."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from st2bridge.models import Execution, LoginFailure, Rule, TeamAccess

from .conftest import PASSWORD, make_user
from .portal_support import browser

pytestmark = pytest.mark.django_db(transaction=True)

TEAMS = "/admin/auth/group/"


@pytest.fixture
def ops(alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"], actions=["demo.greet"])
    group.user_set.add(alice)
    return group


def listed_refs(page):
    return set(re.findall(r'<a href="/actions/([^"]+)">', page))


def admin_signed_in(client, username="admin"):
    """`client` (signed in to the portal) signed in to the Django admin as well."""
    response = client.post(
        f"/admin/login/?next={TEAMS}", {"username": username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == TEAMS
    return client


def team_form(name, members=(), packs="", actions=""):
    return {
        "name": name,
        "members": [str(user.pk) for user in members],
        "access-TOTAL_FORMS": "1",
        "access-INITIAL_FORMS": "0",
        "access-MIN_NUM_FORMS": "0",
        "access-MAX_NUM_FORMS": "1",
        "access-0-packs": packs,
        "access-0-actions": actions,
    }


# --- what a team member sees --------------------------------------------------------------------


def test_restricted_action_is_not_listed_nor_searchable(ops, alice_browser):
    listed = listed_refs(alice_browser.get("/actions").content.decode())
    assert "demo.greet" in listed and "core.local" in listed
    assert not {ref for ref in listed if ref.startswith("demo.")} - {"demo.greet"}
    found = listed_refs(alice_browser.get("/actions", {"q": "deploy"}).content.decode())
    assert "demo.deploy" not in found
    packs = alice_browser.get("/packs").content.decode()
    assert 'id="pack-core"' in packs and 'id="pack-demo"' in packs
    assert 'id="pack-default"' not in packs
    assert "demo.deploy" not in packs


def test_restricted_action_page_is_not_found_and_a_forged_launch_is_refused(ops, alice_browser):
    assert alice_browser.get("/actions/demo.deploy").status_code == 404
    forged = alice_browser.post(
        "/actions/demo.deploy", {"environment": "staging", "version": "1.0.0"}
    )
    assert forged.status_code in (403, 404)
    assert not Execution.objects.filter(action_ref="demo.deploy").exists()
    # What the team grants still works from its page.
    launched = alice_browser.post("/actions/demo.greet", {"name": "team"})
    assert launched.status_code == 302, launched.content.decode()
    assert Execution.objects.filter(action_ref="demo.greet", user="alice").exists()


def test_forged_rule_with_a_restricted_action_is_refused(ops, alice_browser):
    rule = {
        "name": "forged",
        "pack": "default",
        "description": "",
        "enabled": "on",
        "trigger_type": "core.st2.webhook",
        "trigger-url": "forged",
        "action_ref": "demo.deploy",
        "action-environment": "staging",
        "action-version": "1.0.0",
    }
    response = alice_browser.post("/rules/new", rule)
    assert response.status_code in (400, 403, 404)
    assert not Rule.objects.filter(name="forged").exists()


def test_user_in_no_team_with_default_none_sees_nothing(settings, portal, bob):
    settings.ST2_DEFAULT_ACCESS = "none"
    client = browser("bob")
    assert listed_refs(client.get("/actions").content.decode()) == set()
    assert client.get("/actions/core.noop").status_code == 404


# --- managing teams -------------------------------------------------------------------------


def test_admin_signs_in_to_the_admin_and_makes_a_team_that_applies_at_once(
    admin_browser, alice_browser, bob
):
    # The admin asks for the same password once.
    first = admin_browser.get(TEAMS)
    assert first.status_code == 302 and first["Location"].startswith("/admin/login/")
    admin_signed_in(admin_browser)
    page = admin_browser.get(f"{TEAMS}add/").content.decode()
    assert "ST2_DEFAULT_ACCESS=all" in page and "Staff users see and run everything" in page

    form = team_form("release", members=[bob], actions="demo.deploy\ndemo.notes")
    response = admin_browser.post(f"{TEAMS}add/", form)
    assert response.status_code == 302, response.content.decode()
    group = Group.objects.get(name="release")
    assert list(group.user_set.values_list("username", flat=True)) == ["bob"]
    assert (group.access.packs, group.access.actions) == ([], ["demo.deploy", "demo.notes"])
    assert "demo.deploy, demo.notes" in admin_browser.get(TEAMS).content.decode()

    bob_browser = browser("bob")
    assert listed_refs(bob_browser.get("/actions").content.decode()) == {
        "demo.deploy",
        "demo.notes",
    }
    # alice, in no team, still sees everything (ST2_DEFAULT_ACCESS=all).
    assert "core.local" in listed_refs(alice_browser.get("/actions").content.decode())


def test_refs_are_checked_as_the_api_checks_them(admin_browser):
    """By their form, beside the field with the input kept; a ref not registered yet is
    granted, as in the API (team_admin), and the admin says so."""
    admin_signed_in(admin_browser)
    form = team_form("typos", packs="dmeo", actions="demo.gret\nnot a ref!")
    response = admin_browser.post(f"{TEAMS}add/", form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "actions: &quot;not&quot; is not an action ref (pack.name)." in page
    assert "dmeo</textarea>" in page and "demo.gret\nnot a ref!</textarea>" in page
    assert not Group.objects.filter(name="typos").exists()

    saved = admin_browser.post(f"{TEAMS}add/", team_form("typos", packs="dmeo"), follow=True)
    assert "Not registered (yet): dmeo." in saved.content.decode()
    assert Group.objects.get(name="typos").access.packs == ["dmeo"]


def test_any_staff_user_manages_teams_and_plain_users_cannot(portal, alice):
    make_user("carol", is_staff=True)  # staff, no superuser, no Django permissions
    carol = admin_signed_in(browser("carol"), "carol")
    assert carol.get(TEAMS).status_code == 200
    assert carol.post(f"{TEAMS}add/", team_form("ops", packs="core")).status_code == 302
    assert Group.objects.get(name="ops").access.packs == ["core"]

    refused = Client().post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with an error
    assert "staff account" in refused.content.decode()
    assert Client().get(TEAMS).status_code == 302


def test_signing_out_of_the_portal_ends_the_admin_session(admin_browser):
    admin_signed_in(admin_browser)
    assert admin_browser.get(TEAMS).status_code == 200
    admin_browser.post("/logout")
    assert admin_browser.get(TEAMS).status_code == 302


def test_another_users_portal_sign_in_ends_the_admin_session(admin_browser, alice):
    admin_signed_in(admin_browser)
    response = admin_browser.post("/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert admin_browser.get(TEAMS).status_code == 302  # alice is not the admin
    assert "alice" in admin_browser.get("/packs").content.decode()


def test_admin_sign_in_shares_the_login_throttle(settings, portal, admin_user):
    settings.ST2_LOGIN_FAILURES_PER_USER = 3
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    assert LoginFailure.objects.filter(username="admin").count() == 3
    refused = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Too many failed attempts" in refused.content.decode()
    # The portal's own sign-in (through the API) is throttled by the same failures.
    page = Client().post("/login", {"username": "admin", "password": PASSWORD})
    assert "Too many failed attempts" in page.content.decode()
