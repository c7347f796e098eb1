"""Teams in the embedded API (issue 5, item 7): a team member sees and runs only what their
teams grant, with a token or an API key alike; users in no team get ST2_DEFAULT_ACCESS; admins
see and run everything; a rule fired for an owner who lost access fails its enforcement.

Users: alice (in the "ops" team), bob (in no team unless a test says so), admin (staff)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from st2bridge import teams
from st2bridge.models import Action, Execution, RuleEnforcement, TeamAccess

from .catalog_support import register_bundled_packs
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db

GREET = {"name": "team"}
DEPLOY = {"environment": "staging", "version": "1.0.0"}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def team(name, *users, packs=(), actions=()):
    group = Group.objects.create(name=name)
    TeamAccess.objects.create(group=group, packs=list(packs), actions=list(actions))
    group.user_set.add(*users)
    return group


@pytest.fixture
def ops(alice):
    """alice's team: the whole core pack, and demo.greet alone."""
    return team("ops", alice, packs=["core"], actions=["demo.greet"])


@pytest.fixture
def alice_key_api(alice_api, ops):
    response = alice_api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}}, format="json")
    assert response.status_code == 201, response.json()
    client = APIClient()
    client.credentials(HTTP_ST2_API_KEY=response.json()["key"])
    return client


@pytest.fixture(params=["token", "api key"])
def member_api(request, ops, alice_api):
    """alice's API client, with her token or with one of her API keys."""
    if request.param == "token":
        return alice_api
    return request.getfixturevalue("alice_key_api")


def action_refs(api, path="/api/v1/actions", **query):
    response = api.get(path, query)
    assert response.status_code == 200, response.json()
    return {action["ref"] for action in response.json()}


def pack_refs(api):
    response = api.get("/api/v1/packs")
    assert response.status_code == 200, response.json()
    return {pack["ref"] for pack in response.json()}


def all_action_refs():
    return set(Action.objects.values_list("ref", flat=True))


def launch(api, ref, parameters=None):
    return api.post(
        "/api/v1/executions", {"action": ref, "parameters": parameters or {}}, format="json"
    )


def make_rule(api, action, parameters=None, name="on_hook", enabled=True):
    body = {
        "name": name,
        "pack": "default",
        "enabled": enabled,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": f"teams-{name}"}},
        "action": {"ref": action, "parameters": parameters or {}},
    }
    return api.post("/api/v1/rules", body, format="json")


# --- seeing ---------------------------------------------------------------------------------


def test_member_sees_only_granted_actions_and_packs(member_api):
    core = {ref for ref in all_action_refs() if ref.startswith("core.")}
    assert action_refs(member_api) == core | {"demo.greet"}
    assert action_refs(member_api, "/api/v1/actions/views/overview") == core | {"demo.greet"}
    assert action_refs(member_api, pack="demo") == {"demo.greet"}
    # Packs where something is visible: core (granted whole) and demo (for demo.greet).
    assert pack_refs(member_api) == {"core", "demo"}
    response = member_api.get("/api/v1/actions")
    assert response["X-Total-Count"] == str(len(core) + 1)


def test_hidden_action_is_not_found_like_a_missing_one(member_api):
    hidden = Action.objects.get(ref="demo.deploy")
    missing_id = "0" * 24
    for path in (
        "/api/v1/actions/{}",
        "/api/v1/actions/views/overview/{}",
        "/api/v1/actions/views/parameters/{}",
    ):
        for shown, missing in (("demo.deploy", "demo.nothing"), (hidden.id, missing_id)):
            response = member_api.get(path.format(shown))
            expected = member_api.get(path.format(missing))
            assert response.status_code == expected.status_code == 404, path
            answer = response.json()["faultstring"].replace(shown, missing)
            assert answer == expected.json()["faultstring"], path
    assert member_api.get("/api/v1/actions", {"id": hidden.id}).json() == []
    assert member_api.get("/api/v1/actions/demo.greet").status_code == 200
    assert member_api.get("/api/v1/actions/views/parameters/demo.greet").status_code == 200


def test_hidden_pack_is_not_found(member_api):
    response = member_api.get("/api/v1/packs/default")
    assert response.status_code == 404
    assert response.json() == {"faultstring": 'Resource with a ref or id "default" not found'}
    assert member_api.get("/api/v1/packs/demo").status_code == 200


def test_union_of_two_teams(alice, ops, alice_api):
    team("release", alice, actions=["demo.deploy", "demo.notes"])
    core = {ref for ref in all_action_refs() if ref.startswith("core.")}
    assert action_refs(alice_api) == core | {"demo.greet", "demo.deploy", "demo.notes"}
    assert launch(alice_api, "demo.notes").status_code == 201


def test_a_team_without_grants_grants_nothing(alice, alice_api):
    Group.objects.create(name="new team").user_set.add(alice)  # no TeamAccess row
    assert action_refs(alice_api) == set()
    assert pack_refs(alice_api) == set()
    assert launch(alice_api, "core.noop").status_code == 403


@pytest.mark.parametrize("default", ["all", "none"])
def test_user_in_no_team_gets_the_default_access(settings, bob_api, default):
    settings.ST2_DEFAULT_ACCESS = default
    if default == "all":
        assert action_refs(bob_api) == all_action_refs()
        assert pack_refs(bob_api) == {"core", "default", "demo"}
        assert launch(bob_api, "core.noop").status_code == 201
        return
    response = bob_api.get("/api/v1/actions")
    assert response.json() == [] and response["X-Total-Count"] == "0"
    assert pack_refs(bob_api) == set()
    assert bob_api.get("/api/v1/actions/core.noop").status_code == 404
    refused = launch(bob_api, "core.noop")
    assert refused.status_code == 403
    assert refused.json() == {
        "faultstring": 'User "bob" may not run action "core.noop": they are in no team.'
    }


def test_admin_sees_and_runs_everything_even_in_a_team(settings, admin_user, admin_api):
    settings.ST2_DEFAULT_ACCESS = "none"
    team("admins too", admin_user, actions=["demo.greet"])
    assert action_refs(admin_api) == all_action_refs()
    assert pack_refs(admin_api) == {"core", "default", "demo"}
    assert launch(admin_api, "demo.deploy", DEPLOY).status_code == 201


def test_listing_costs_one_query_more_than_for_an_admin(ops, alice_api, admin_api):
    """The scope is read once per request (no query per action)."""
    counts = []
    for api in (admin_api, alice_api):
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/actions/views/overview").status_code == 200
        counts.append(len(queries))
    assert counts[1] <= counts[0] + 1, counts


# --- running --------------------------------------------------------------------------------


def test_member_launches_granted_actions_and_is_refused_others(member_api):
    assert launch(member_api, "demo.greet", GREET).status_code == 201
    assert launch(member_api, "core.noop").status_code == 201
    refused = launch(member_api, "demo.deploy", DEPLOY)
    assert refused.status_code == 403
    assert refused.json() == {
        "faultstring": 'User "alice" may not run action "demo.deploy": no team of theirs grants it.'
    }
    # Decided from the ref alone: a missing action outside the scope is refused the same way.
    assert launch(member_api, "demo.nothing").status_code == 403
    assert not Execution.objects.filter(action_ref="demo.deploy").exists()


@pytest.mark.django_db(transaction=True)
def test_rerun_is_refused_once_access_is_gone(alice_api, ops):
    execution = launch(alice_api, "demo.greet", GREET).json()
    assert run_to_completion(execution["id"]).status == "succeeded"
    again = alice_api.post(f"/api/v1/executions/{execution['id']}/re_run", {}, format="json")
    assert again.status_code == 201

    TeamAccess.objects.filter(group=ops).update(actions=[])
    refused = alice_api.post(f"/api/v1/executions/{execution['id']}/re_run", {}, format="json")
    assert refused.status_code == 403
    assert '"demo.greet"' in refused.json()["faultstring"]
    # Her past executions stay hers to read.
    assert alice_api.get(f"/api/v1/executions/{execution['id']}").status_code == 200


def test_rule_naming_a_restricted_action_is_refused(member_api):
    refused = make_rule(member_api, "demo.deploy", DEPLOY)
    assert refused.status_code == 403
    assert '"demo.deploy"' in refused.json()["faultstring"]
    assert make_rule(member_api, "demo.nothing").status_code == 403  # missing: same answer

    rule = make_rule(member_api, "core.local", {"cmd": "true"}, name="allowed")
    assert rule.status_code == 201, rule.json()
    body = {**rule.json(), "action": {"ref": "demo.deploy", "parameters": {}}}
    updated = member_api.put(f"/api/v1/rules/{body['ref']}", body, format="json")
    assert updated.status_code == 403


def test_rule_whose_action_was_revoked_can_be_switched_off_not_on(alice_api, ops):
    rule = make_rule(alice_api, "demo.greet", GREET).json()
    TeamAccess.objects.filter(group=ops).update(actions=[])
    off = alice_api.put(f"/api/v1/rules/{rule['ref']}", {**rule, "enabled": False}, format="json")
    assert off.status_code == 200 and off.json()["enabled"] is False
    on = alice_api.put(f"/api/v1/rules/{rule['ref']}", {**rule, "enabled": True}, format="json")
    assert on.status_code == 403
    assert alice_api.delete(f"/api/v1/rules/{rule['ref']}").status_code == 204


def test_rule_fired_for_an_owner_who_lost_access_fails_its_enforcement(alice_api, ops):
    rule = make_rule(alice_api, "demo.greet", GREET, name="greeter").json()
    hook = "/api/v1/webhooks/teams-greeter"
    assert alice_api.post(hook, {}, format="json").status_code == 202
    [first] = RuleEnforcement.objects.filter(rule_ref=rule["ref"])
    assert first.status == "succeeded" and first.execution_id

    TeamAccess.objects.filter(group=ops).update(actions=[])
    assert alice_api.post(hook, {}, format="json").status_code == 202
    failed = RuleEnforcement.objects.filter(rule_ref=rule["ref"], status="failed").get()
    assert failed.execution_id == ""
    assert failed.failure_reason == (
        'User "alice" may not run action "demo.greet": no team of theirs grants it.'
    )
    assert Execution.objects.filter(rule_ref=rule["ref"]).count() == 1


def test_others_rules_naming_a_hidden_action_are_not_there(alice_api, bob_api, ops):
    hidden = make_rule(bob_api, "demo.deploy", DEPLOY, name="deployer").json()
    shared = make_rule(bob_api, "core.noop", name="nooper").json()
    refs = {rule["ref"] for rule in alice_api.get("/api/v1/rules").json()}
    assert refs == {shared["ref"]}
    for method in (alice_api.get, alice_api.delete):
        response = method(f"/api/v1/rules/{hidden['ref']}")
        assert response.status_code == 404
        assert response.json()["faultstring"] == (
            f'Resource with a reference or id "{hidden["ref"]}" not found'
        )
    assert len(bob_api.get("/api/v1/rules").json()) == 2


def test_pack_rules_of_the_system_user_keep_running(settings):
    settings.ST2_DEFAULT_ACCESS = "none"
    scopes = teams.scopes_by_username({"stanley", "ghost"})
    assert scopes["stanley"] == teams.ALL
    assert not scopes["ghost"].allows("core.noop")


# --- the decision itself --------------------------------------------------------------------


def test_scope_from_grants():
    grants = [(["core"], ["demo.greet"]), (None, None), (["demo"], "not a list")]
    scope = teams.scope_from_grants(False, grants, "none")
    assert scope.packs == {"core", "demo"} and scope.actions == {"demo.greet"}
    assert scope.allows("demo.deploy") and scope.allows("core.local")
    assert not scope.allows("default.thing")
    assert teams.scope_from_grants(True, [], "none") == teams.ALL
    assert teams.scope_from_grants(False, [], "all") == teams.ALL
    nothing = teams.scope_from_grants(False, [], "none")
    assert not nothing.allows("core.noop") and not nothing.in_team
    # An action ref splits on its first dot: names may hold dots, packs may not.
    assert teams.Scope(frozenset({"a"}), frozenset()).allows("a.b.c")
    assert teams.Scope(frozenset(), frozenset({"x.y"})).pack_refs() == {"x"}


def test_default_access_setting_is_validated(tmp_path):
    from .test_settings_database import run_python

    result = run_python(
        "from django.conf import settings; print(settings.ST2_DEFAULT_ACCESS)",
        ST2_DEFAULT_ACCESS="some",
        PORTAL_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "ST2_DEFAULT_ACCESS='some': use all or none" in result.stderr
    result = run_python(
        "from django.conf import settings; print(settings.ST2_DEFAULT_ACCESS)",
        ST2_DEFAULT_ACCESS=" None ",
        PORTAL_DATA_DIR=str(tmp_path),
    )
    assert result.stdout.strip() == "none", result.stderr
