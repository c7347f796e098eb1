"""/api/v1/rules/views and /api/v1/ruleenforcements/views (issue 17): rules and their
enforcements as st2web lists and shows them, seen through st2bridge.access like the rest."""

import pytest
from django.contrib.auth.models import Group

from st2bridge.models import RuleEnforcement, TeamAccess, TriggerInstance

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
MASK = "********"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def team(name, *users, packs=(), actions=()):
    group = Group.objects.create(name=name)
    TeamAccess.objects.create(group=group, packs=list(packs), actions=list(actions))
    group.user_set.add(*users)
    return group


def hook_rule(api, rule_name, url, action="core.noop", enabled=True, **parameters):
    body = {
        "name": rule_name,
        "pack": "default",
        "enabled": enabled,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url}},
        "action": {"ref": action, "parameters": parameters},
    }
    response = api.post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def refs(response):
    assert response.status_code == 200, response.content
    return [item["ref"] for item in response.json()]


def test_rules_views_lists_rules_with_their_action_and_trigger_described(alice_api):
    hook_rule(
        alice_api,
        "b_deploys",
        "b",
        "demo.deploy",
        environment="staging",
        version="1",
        api_token="x1",
    )
    hook_rule(alice_api, "a_greets", "a", "demo.greet", enabled=False, name="x")
    response = alice_api.get("/api/v1/rules/views")
    assert refs(response) == ["default.a_greets", "default.b_deploys"]
    assert response["X-Total-Count"] == "2" and "X-Limit" not in response  # no default limit
    greets, deploys = response.json()
    action = alice_api.get("/api/v1/actions/demo.deploy").json()
    webhook = alice_api.get("/api/v1/triggertypes/core.st2.webhook").json()
    assert deploys["action"] == {
        "ref": "demo.deploy",
        "parameters": {"environment": "staging", "version": "1", "api_token": MASK},
        "description": action["description"],
    }
    assert deploys["trigger"]["description"] == webhook["description"]
    assert deploys["trigger"]["type"] == "core.st2.webhook"
    assert greets["enabled"] is False
    rule = alice_api.get("/api/v1/rules/default.b_deploys").json()
    assert {k: v for k, v in deploys.items() if k not in ("action", "trigger")} == {
        k: v for k, v in rule.items() if k not in ("action", "trigger")
    }


def test_rules_views_is_no_longer_read_as_a_rule_ref(alice_api):
    hook_rule(alice_api, "one", "one")
    assert refs(alice_api.get("/api/v1/rules/views/")) == ["default.one"]
    assert alice_api.get("/api/v1/rules/views").status_code == 200


def test_a_rule_view_by_ref_or_id(alice_api, bob_api):
    rule = hook_rule(
        alice_api,
        "shown",
        "shown",
        "demo.deploy",
        environment="development",
        version="1",
        api_token="s",
    )
    by_ref = alice_api.get("/api/v1/rules/views/default.shown")
    assert by_ref.status_code == 200
    assert by_ref.json()["action"]["parameters"]["api_token"] == MASK
    assert alice_api.get(f"/api/v1/rules/views/{rule['id']}").json() == by_ref.json()
    assert alice_api.get("/api/v1/rules/views/default.nope").status_code == 404


def test_rule_views_filter_and_trim(alice_api, admin_api, bob_api):
    hook_rule(alice_api, "alices", "alices")
    hook_rule(bob_api, "bobs", "bobs")
    assert refs(admin_api.get("/api/v1/rules/views?user=bob")) == ["default.bobs"]
    assert refs(admin_api.get("/api/v1/rules/views?name=alices")) == ["default.alices"]
    assert refs(admin_api.get("/api/v1/rules/views?pack=core")) == []
    trimmed = admin_api.get("/api/v1/rules/views?include_attributes=description").json()
    assert set(trimmed[0]) == {"id", "ref", "pack", "name", "trigger", "description"}
    assert admin_api.get("/api/v1/rules/views?include_attributes=nope").status_code == 400


def test_a_team_member_sees_rule_views_as_they_see_rules(alice, alice_api, bob_api):
    team("ops", alice, actions=["demo.greet"])
    hook_rule(bob_api, "greets", "greets", "demo.greet", name="x")
    hook_rule(bob_api, "deploys", "deploys", "demo.deploy", environment="development", version="1")
    assert refs(alice_api.get("/api/v1/rules/views")) == ["default.greets"]
    assert alice_api.get("/api/v1/rules/views/default.deploys").status_code == 404
    assert alice_api.get("/api/v1/rules/views/default.greets").status_code == 200


def test_an_actions_description_is_not_shown_to_who_may_not_see_the_action(alice, alice_api):
    hook_rule(alice_api, "mine", "mine", "demo.greet", name="x")
    team("none", alice)  # alice's own rule stays hers; its action is no longer granted
    [view] = alice_api.get("/api/v1/rules/views").json()
    assert view["action"]["description"] == ""


def enforce(api, url, payload=None):
    assert api.post(f"/api/v1/webhooks/{url}", payload or {}, format="json").status_code == 202


def test_enforcement_views_carry_the_trigger_instance_and_the_execution(alice_api):
    hook_rule(
        alice_api,
        "deploys",
        "deploys",
        "demo.deploy",
        environment="development",
        version="2",
        api_token="pw",
    )
    enforce(alice_api, "deploys")
    response = alice_api.get("/api/v1/ruleenforcements/views?rule_ref=default.deploys&limit=10")
    assert response.status_code == 200 and response["X-Limit"] == "10"
    [view] = response.json()
    [plain] = alice_api.get("/api/v1/ruleenforcements").json()
    assert {k: v for k, v in view.items() if k not in ("trigger_instance", "execution")} == plain
    instance = alice_api.get(f"/api/v1/triggerinstances/{plain['trigger_instance_id']}").json()
    assert view["trigger_instance"] == instance
    execution = alice_api.get(f"/api/v1/executions/{plain['execution_id']}").json()
    assert view["execution"] == {
        "id": execution["id"],
        "action": {"ref": "demo.deploy", "parameters": execution["action"]["parameters"]},
        "runner": {
            "name": "local-shell-script",
            "runner_parameters": execution["runner"]["runner_parameters"],
        },
        "parameters": {"environment": "development", "version": "2", "api_token": MASK},
        "status": "requested",
    }
    one = alice_api.get(f"/api/v1/ruleenforcements/views/{view['id']}")
    assert one.status_code == 200 and one.json() == view


def test_a_failed_enforcement_view_has_no_execution(alice_api):
    hook_rule(alice_api, "fails", "fails", "core.local", cmd="{{ trigger.body.no.such }}")
    enforce(alice_api, "fails")
    [view] = alice_api.get("/api/v1/ruleenforcements/views").json()
    assert view["status"] == "failed" and view["execution"] == {}
    assert view["trigger_instance"]["id"] == view["trigger_instance_id"]
    TriggerInstance.objects.all().delete()
    assert (
        alice_api.get(f"/api/v1/ruleenforcements/views/{view['id']}").json()["trigger_instance"]
        == {}
    )


def test_enforcement_views_are_seen_as_enforcements_are(alice_api, bob_api):
    hook_rule(bob_api, "bobs", "bobs")
    enforce(bob_api, "bobs")
    enforcement = RuleEnforcement.objects.get()
    assert alice_api.get("/api/v1/ruleenforcements/views").json() == []
    assert alice_api.get(f"/api/v1/ruleenforcements/views/{enforcement.id}").status_code == 404
    assert len(bob_api.get("/api/v1/ruleenforcements/views").json()) == 1


def test_enforcements_sort_as_asked(alice_api):
    hook_rule(alice_api, "b_rule", "sorted")
    hook_rule(alice_api, "a_rule", "sorted")
    enforce(alice_api, "sorted")
    for path in ("/api/v1/ruleenforcements", "/api/v1/ruleenforcements/views"):
        ascending = alice_api.get(f"{path}?sort=rule_ref").json()
        assert [e["rule"]["ref"] for e in ascending] == ["default.a_rule", "default.b_rule"]
        descending = alice_api.get(f"{path}?sort=-rule_ref").json()
        assert [e["rule"]["ref"] for e in descending] == ["default.b_rule", "default.a_rule"]
