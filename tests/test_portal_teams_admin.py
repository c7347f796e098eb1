"""The Teams pages (issue 14), through Django's test client with the portal reaching a live
server's API over HTTP: admins create, rename and delete teams, add and remove members and
grant packs and actions found by searching the catalog a page at a time; members see their own
teams read-only; every change is refused to others, here and in the API, and needs the CSRF
token. What a grant allows is then checked where it is enforced, in the API.

Users: admin (staff), alice (in "ops": the core pack and demo.greet), bob (in no team)."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from st2bridge.client import ApiError, St2Client
from st2bridge.models import TeamAccess
from st2bridge.packs import register_packs

from .portal_support import api_as, browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ops(portal, alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"], actions=["demo.greet"])
    group.user_set.add(alice)
    return group


def team_page(client, team, **query):
    response = client.get(f"/teams/{team.pk}", query)
    assert response.status_code == 200, response.content.decode()
    return response.content.decode()


def choices(page):
    """The packs and actions offered to grant: [(value, granted)]."""
    found = re.findall(r'name="grant" value="([^"]+)" id="choice-\d+"( checked disabled)?', page)
    return [(value, bool(granted)) for value, granted in found]


def launch(client, ref, parameters=None):
    """Launch through the API as `client`'s user: (status, faultstring)."""
    try:
        client.launch(ref, parameters or {})
    except ApiError as error:
        return error.status, error.faultstring
    return 201, ""


def team_state(name):
    group = Group.objects.filter(name=name).first()
    if group is None:
        return None
    members = sorted(group.user_set.values_list("username", flat=True))
    return group.name, members, group.access.packs, group.access.actions


# --- navigation -----------------------------------------------------------------------------


def test_teams_is_in_the_navigation_of_everyone_signed_in(admin_browser, alice_browser):
    for client in (admin_browser, alice_browser):
        assert 'href="/teams">Teams</a>' in client.get("/packs").content.decode()


# --- what admins do -------------------------------------------------------------------------


def test_admin_makes_a_team_whose_grant_applies_in_the_api_at_once(settings, admin_browser, bob):
    settings.ST2_DEFAULT_ACCESS = "none"
    bob_api = api_as("bob")
    assert launch(bob_api, "demo.greet", {"name": "x"})[0] == 403

    created = admin_browser.post("/teams", {"name": "release"})
    assert created.status_code == 302
    team = Group.objects.get(name="release")
    assert created["Location"] == f"/teams/{team.pk}"
    page = admin_browser.get(created["Location"]).content.decode()
    assert "Team release created" in page and "No members yet." in page

    assert admin_browser.post(f"/teams/{team.pk}/members", {"username": "bob"}).status_code == 302
    granted = admin_browser.post(f"/teams/{team.pk}/grant", {"grant": ["pack:demo"]})
    assert granted.status_code == 302
    assert team_state("release") == ("release", ["bob"], ["demo"], [])

    # bob's same token, next request: demo's actions run, nothing else does.
    assert launch(bob_api, "demo.greet", {"name": "x"})[0] == 201
    status, message = launch(bob_api, "core.noop")
    assert status == 403 and 'may not run action "core.noop"' in message
    listed = browser("bob").get("/actions").content.decode()
    assert "demo.deploy" in listed and "core.local" not in listed


def test_new_team_errors_are_shown_beside_the_name_with_the_input_kept(admin_browser, ops):
    for name, error in (
        ("42", "name: must not be digits only"),
        ("ops", "Team &quot;ops&quot; already exists."),
        ("", "name: &#x27;&#x27; should be non-empty"),
    ):
        response = admin_browser.post("/teams", {"name": name})
        assert response.status_code == 400
        page = response.content.decode()
        assert 'id="new-team-name-error"' in page and error in page, page
        assert f'id="new-team-name" name="name" value="{name}"' in page
    assert list(Group.objects.values_list("name", flat=True)) == ["ops"]


def test_rename_and_its_errors(admin_browser, ops):
    Group.objects.create(name="release")
    refused = admin_browser.post(f"/teams/{ops.pk}/rename", {"name": "release"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="team-name-error"' in page and "already exists" in page
    assert 'value="release"' in page  # what was typed, not the team's name
    assert admin_browser.post(f"/teams/{ops.pk}/rename", {"name": "operations"}).status_code == 302
    assert team_state("operations") == ("operations", ["alice"], ["core"], ["demo.greet"])


def test_an_unknown_member_is_refused_beside_the_field(admin_browser, ops):
    response = admin_browser.post(f"/teams/{ops.pk}/members", {"username": "nobody"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="member-username-error"' in page
    assert "username: user &quot;nobody&quot; does not exist." in page
    assert 'name="username" value="nobody"' in page


def test_a_removed_member_loses_access_at_once(settings, admin_browser, ops, alice_browser):
    settings.ST2_DEFAULT_ACCESS = "none"
    assert alice_browser.get("/actions/demo.greet").status_code == 200
    removed = admin_browser.post(f"/teams/{ops.pk}/members/alice/remove")
    assert removed.status_code == 302
    assert team_state("ops")[1] == []
    assert alice_browser.get("/actions/demo.greet").status_code == 404
    assert alice_browser.post("/actions/demo.greet", {"name": "x"}).status_code in (403, 404)


def test_search_the_catalog_to_grant_a_page_at_a_time(admin_browser, ops):
    page = team_page(admin_browser, ops, q="demo")
    offered = dict(choices(page))
    assert offered["pack:demo"] is False
    assert offered["action:demo.greet"] is True  # already granted: ticked and disabled
    assert "action:core.local" not in offered
    only_actions = dict(choices(team_page(admin_browser, ops, q="greet", kind="action")))
    assert list(only_actions) == ["action:demo.greet"]

    too_long = admin_browser.get(f"/teams/{ops.pk}", {"q": "x" * 201})
    assert too_long.status_code == 400
    assert "q: at most 200 characters." in too_long.content.decode()

    partial = admin_browser.get(f"/teams/{ops.pk}", {"q": "deploy"}, HTTP_HX_REQUEST="true")
    fragment = partial.content.decode()
    assert fragment.lstrip().startswith('<fieldset id="grant-choices"')
    assert "<html" not in fragment and "action:demo.deploy" in fragment


def test_a_big_catalog_is_paged_through_the_api_not_fetched(
    admin_browser, ops, tmp_path, monkeypatch
):
    big = tmp_path / "big"
    (big / "actions").mkdir(parents=True)
    (big / "pack.yaml").write_text(
        "ref: big\nname: big\nversion: 0.1.0\ndescription: Big.\nauthor: someone\n"
    )
    for number in range(300):
        (big / "actions" / f"a{number:03}.yaml").write_text(
            f"name: a{number:03}\npack: big\nrunner_type: local-shell-cmd\n"
            "parameters:\n  cmd:\n    default: 'true'\n"
        )
    assert not register_packs([big], [settings.ST2_RUNNER_TYPES_FILE]).errors

    calls = []
    real_request = St2Client._request

    def counted(client, method, url, **kwargs):
        calls.append(url)
        return real_request(client, method, url, **kwargs)

    monkeypatch.setattr(St2Client, "_request", counted)
    page = team_page(admin_browser, ops, q="big", page="3")
    offered = choices(page)
    assert len(offered) == 20
    assert offered[0] == ("action:big.a039", False)  # page 3: the pack, then a000..., 20 a page
    assert "page 3 of 16" in page
    assert not [url for url in calls if "/actions" in url]  # the catalog itself is not listed
    assert len(calls) <= 3, calls  # the team, one page of matches (and the extensions)


def test_typed_refs_are_granted_and_unregistered_ones_flagged(admin_browser, ops):
    response = admin_browser.post(
        f"/teams/{ops.pk}/grant", {"grant": ["action:demo.deploy"], "refs": "later, demo.notes"}
    )
    assert response.status_code == 302
    assert team_state("ops")[2:] == (["core", "later"], ["demo.deploy", "demo.greet", "demo.notes"])
    page = team_page(admin_browser, ops)
    assert re.search(r"<code>later</code> <span[^>]*>not registered</span>", page)
    assert not re.search(r"<code>demo.notes</code> <span[^>]*>not registered", page)


def test_bad_refs_and_empty_grants_are_refused_beside_the_field(admin_browser, ops):
    response = admin_browser.post(f"/teams/{ops.pk}/grant", {"refs": "not*a ref!"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="grant-refs-error"' in page and "is not a pack ref" in page
    assert 'name="refs" value="not*a ref!"' in page
    empty = admin_browser.post(f"/teams/{ops.pk}/grant", {})
    assert empty.status_code == 400
    assert "Choose at least one pack, action or template." in empty.content.decode()
    assert team_state("ops")[2:] == (["core"], ["demo.greet"])


def test_take_back_selected_grants(admin_browser, ops):
    response = admin_browser.post(f"/teams/{ops.pk}/revoke", {"revoke": ["action:demo.greet"]})
    assert response.status_code == 302
    assert team_state("ops")[2:] == (["core"], [])
    assert admin_browser.post(f"/teams/{ops.pk}/revoke", {}).status_code == 400


def test_delete_asks_first(admin_browser, ops):
    confirm = admin_browser.get(f"/teams/{ops.pk}/delete")
    assert confirm.status_code == 200
    assert "Delete team ops?" in confirm.content.decode()
    assert Group.objects.filter(name="ops").exists()
    deleted = admin_browser.post(f"/teams/{ops.pk}/delete")
    assert deleted.status_code == 302 and deleted["Location"] == "/teams"
    assert not Group.objects.filter(name="ops").exists()
    assert admin_browser.get(f"/teams/{ops.pk}").status_code == 404


def test_names_are_escaped(admin_browser, ops):
    name = "<img src=x onerror=alert(1)>"  # a team name may not hold "/", so not SCRIPT
    assert admin_browser.post(f"/teams/{ops.pk}/rename", {"name": name}).status_code == 302
    for path in ("/teams", f"/teams/{ops.pk}", f"/teams/{ops.pk}/delete"):
        page = admin_browser.get(path).content.decode()
        assert name not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# --- what members see -----------------------------------------------------------------------


def test_members_see_their_own_teams_read_only(ops, alice_browser, bob):
    secret = Group.objects.create(name="secret")
    secret.user_set.add(bob)
    listed = alice_browser.get("/teams").content.decode()
    assert f'href="/teams/{ops.pk}">ops<' in listed and "secret" not in listed
    assert "New team" not in listed
    page = team_page(alice_browser, ops)
    assert "alice" in page and "<code>core</code>" in page and "<code>demo.greet</code>" in page
    assert "<form" not in page.split('<main id="content"')[1]  # nothing to change
    assert alice_browser.get(f"/teams/{secret.pk}").status_code == 404


def change_posts(team):
    return [
        ("/teams", {"name": "mine"}),
        (f"/teams/{team.pk}/rename", {"name": "mine"}),
        (f"/teams/{team.pk}/members", {"username": "bob"}),
        (f"/teams/{team.pk}/members/alice/remove", {}),
        (f"/teams/{team.pk}/grant", {"grant": ["pack:demo"], "refs": "demo.deploy"}),
        (f"/teams/{team.pk}/revoke", {"revoke": ["pack:core"]}),
        (f"/teams/{team.pk}/delete", {}),
    ]


def test_forged_posts_of_a_member_are_refused_and_change_nothing(ops, alice_browser, bob):
    before = team_state("ops")
    for path, data in change_posts(ops):
        response = alice_browser.post(path, data)
        assert response.status_code == 403, path
    assert alice_browser.get(f"/teams/{ops.pk}/delete").status_code == 403
    assert team_state("ops") == before
    assert list(Group.objects.values_list("name", flat=True)) == ["ops"]


def test_every_team_form_needs_the_csrf_token(admin_browser, ops, bob):
    before = team_state("ops")
    admin_browser.handler.enforce_csrf_checks = True
    for path, data in change_posts(ops):
        assert admin_browser.post(path, data).status_code == 403, path
    assert team_state("ops") == before
    # The same post with the token from the page goes through: the refusal was the token's.
    page = team_page(admin_browser, ops)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    added = admin_browser.post(
        f"/teams/{ops.pk}/members", {"username": "bob", "csrfmiddlewaretoken": token}
    )
    assert added.status_code == 302
    assert team_state("ops")[1] == ["alice", "bob"]


# --- who can run what -----------------------------------------------------------------------


def test_who_can_run_what(admin_browser, ops, alice_browser, bob):
    page = admin_browser.get("/teams/access", {"action": "demo.greet"}).content.decode()
    rows = re.findall(r'<tr id="user-\d+">\s*<th scope="row">(\w+)', page)
    assert rows == ["admin", "alice", "bob"]  # bob: in no team, ST2_DEFAULT_ACCESS=all
    assert "3 users may run <code>demo.greet</code>" in page
    assert "what their teams grant" in page and "staff: sees and runs everything" in page

    refused = admin_browser.get("/teams/access", {"action": "nodot"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'id="f-action-error"' in body and 'value="nodot"' in body

    own = alice_browser.get("/teams/access").content.decode()
    assert "What you may run" in own
    assert re.findall(r'<tr id="user-\d+">\s*<th scope="row">(\w+)', own) == ["alice"]
    assert "<code>core</code>" in own and "<code>demo.greet</code>" in own
