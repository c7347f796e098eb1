"""Attack 5 of issue 12: other users' trigger data. Anyone (even with ST2_DEFAULT_ACCESS=none)
listed every trigger instance (others' webhook bodies and headers, others' execution results
in actiontrigger payloads), every rule enforcement and every webhook, and could re_emit
someone else's instance, running their rule again.

alice owns a webhook rule (her team grants the core pack); bob posts to her webhook; charlie
is another member; all three are non-staff and ST2_DEFAULT_ACCESS is "none". admin is staff."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from st2bridge.models import Execution, Rule, RuleEnforcement, TeamAccess, TriggerInstance
from tests.catalog_support import register_bundled_packs
from tests.conftest import client_for, make_user
from tests.worker_support import run_to_completion

pytestmark = pytest.mark.django_db

HOOK = "alice-deploys"
BOB_BODY = {"release": "bob-private-body"}
BOB_HEADER = "bob-private-header"
ACTION_TRIGGER = "core.st2.generic.actiontrigger"


@pytest.fixture(autouse=True)
def no_default_access(db, settings):
    settings.ST2_DEFAULT_ACCESS = "none"
    register_bundled_packs()


@pytest.fixture
def alice_team(alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"], actions=[])
    group.user_set.add(alice)


@pytest.fixture
def charlie_api(db):
    return client_for(make_user("charlie"))


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def make_rule(api, name, trigger, criteria=None):
    body = {
        "name": name,
        "pack": "default",
        "enabled": True,
        "trigger": trigger,
        "criteria": criteria or {},
        "action": {"ref": "core.noop", "parameters": {}},
    }
    return ok(api.post("/api/v1/rules", body, format="json"), 201)


@pytest.fixture
def posted(alice_team, alice_api, bob_api):
    """alice's webhook rule, fired by bob with a body and a header of his."""
    rule = make_rule(
        alice_api, "on_deploy", {"type": "core.st2.webhook", "parameters": {"url": HOOK}}
    )
    response = bob_api.post(
        f"/api/v1/webhooks/{HOOK}", BOB_BODY, format="json", HTTP_X_RELEASE_NOTE=BOB_HEADER
    )
    assert ok(response, 202) == BOB_BODY
    instance = TriggerInstance.objects.get(trigger=rule["trigger"]["ref"])
    enforcement = RuleEnforcement.objects.get(trigger_instance_id=instance.id)
    return {"rule": rule, "instance": instance, "enforcement": enforcement}


def listed(api, path):
    response = api.get(path)
    body = ok(response)
    assert response.get("X-Total-Count", str(len(body))) == str(len(body))
    return body


def leaks(response):
    return (
        BOB_BODY["release"] in response.content.decode() or BOB_HEADER in response.content.decode()
    )


# --- a member with no part in it sees nothing --------------------------------------------------


def test_charlie_lists_no_one_elses_trigger_instances(charlie_api, posted):
    response = charlie_api.get("/api/v1/triggerinstances")
    assert ok(response) == []
    assert response["X-Total-Count"] == "0"
    assert not leaks(response)
    ref = posted["rule"]["trigger"]["ref"]
    assert listed(charlie_api, f"/api/v1/triggerinstances?trigger={ref}") == []
    assert listed(charlie_api, "/api/v1/triggerinstances?trigger_type=core.st2.webhook") == []


def test_charlie_gets_404_for_an_instance_like_a_missing_one(charlie_api, posted):
    instance_id = posted["instance"].id
    response = charlie_api.get(f"/api/v1/triggerinstances/{instance_id}")
    missing = charlie_api.get("/api/v1/triggerinstances/000000000000000000000000")
    assert response.status_code == missing.status_code == 404
    assert response.json()["faultstring"] == missing.json()["faultstring"].replace(
        "000000000000000000000000", instance_id
    )
    assert not leaks(response)


def test_charlie_lists_no_one_elses_rule_enforcements(charlie_api, posted):
    response = charlie_api.get("/api/v1/ruleenforcements")
    assert ok(response) == []
    assert response["X-Total-Count"] == "0"
    instance_id = posted["instance"].id
    assert listed(charlie_api, f"/api/v1/ruleenforcements?trigger_instance={instance_id}") == []
    enforcement_id = posted["enforcement"].id
    assert charlie_api.get(f"/api/v1/ruleenforcements/{enforcement_id}").status_code == 404


def test_charlie_sees_no_one_elses_webhooks(charlie_api, posted):
    assert listed(charlie_api, "/api/v1/webhooks") == []
    response = charlie_api.get(f"/api/v1/webhooks/{HOOK}")
    assert response.status_code == 404
    assert response.json()["faultstring"] == f"Webhook {HOOK} not registered with st2"
    ref = posted["rule"]["trigger"]["ref"]
    assert ref not in {t["ref"] for t in listed(charlie_api, "/api/v1/triggers")}
    assert listed(charlie_api, "/api/v1/triggers?type=core.st2.webhook") == []
    assert charlie_api.get(f"/api/v1/triggers/{ref}").status_code == 404


@pytest.mark.parametrize("who", ["charlie", "alice", "bob"])
def test_members_cannot_re_emit_and_nothing_runs_again(request, posted, who):
    api = request.getfixturevalue(f"{who}_api")
    executions, instances = Execution.objects.count(), TriggerInstance.objects.count()
    response = api.post(f"/api/v1/triggerinstances/{posted['instance'].id}/re_emit")
    assert response.status_code == 403
    assert "re-emit" in response.json()["faultstring"]
    assert not leaks(response)
    assert Execution.objects.count() == executions
    assert TriggerInstance.objects.count() == instances
    # A missing instance is the same 403: a member learns nothing from the id.
    missing = api.post("/api/v1/triggerinstances/000000000000000000000000/re_emit")
    assert missing.status_code == 403


# --- the parties see what is theirs -----------------------------------------------------------


def test_the_rule_owner_sees_the_instance_and_who_posted_it(alice_api, posted):
    instance = posted["instance"]
    [shown] = listed(alice_api, "/api/v1/triggerinstances")
    assert shown["id"] == instance.id
    assert shown["posted_by"] == "bob"
    assert shown["payload"]["body"] == BOB_BODY
    assert shown["payload"]["headers"]["X-Release-Note"] == BOB_HEADER
    assert ok(alice_api.get(f"/api/v1/triggerinstances/{instance.id}")) == shown
    [enforcement] = listed(alice_api, "/api/v1/ruleenforcements")
    assert enforcement["id"] == posted["enforcement"].id
    assert ok(alice_api.get(f"/api/v1/ruleenforcements/{enforcement['id']}")) == enforcement
    assert [hook["ref"] for hook in listed(alice_api, "/api/v1/webhooks")] == [
        posted["rule"]["trigger"]["ref"]
    ]
    assert ok(alice_api.get(f"/api/v1/webhooks/{HOOK}"))["parameters"] == {"url": HOOK}


def test_the_poster_sees_his_own_instance_not_the_rule_behind_it(bob_api, posted):
    instance = posted["instance"]
    [shown] = listed(bob_api, "/api/v1/triggerinstances")
    assert (shown["id"], shown["posted_by"]) == (instance.id, "bob")
    assert shown["payload"]["body"] == BOB_BODY
    assert ok(bob_api.get(f"/api/v1/triggerinstances/{instance.id}"))["id"] == instance.id
    assert listed(bob_api, "/api/v1/ruleenforcements") == []
    assert bob_api.get(f"/api/v1/ruleenforcements/{posted['enforcement'].id}").status_code == 404
    assert listed(bob_api, "/api/v1/webhooks") == []
    # Posting stays open to any user (as in StackStorm): the 202 echoes the poster's own body,
    # nothing of the rule behind it, and the poster sees that instance too.
    response = bob_api.post(f"/api/v1/webhooks/{HOOK}", {"n": 1}, format="json")
    assert ok(response, 202) == {"n": 1}
    assert posted["rule"]["ref"] not in response.content.decode()
    assert len(listed(bob_api, "/api/v1/triggerinstances")) == 2


@pytest.mark.django_db(transaction=True)  # the worker runs core.local in a thread of its own
def test_an_actiontrigger_with_alices_result_is_hidden_from_bob(
    alice_team, alice_api, bob, bob_api
):
    # bob's own rule on the action trigger with the same criteria: it must neither show him
    # alice's instance (it carries her result) nor fire on it and copy her result into an
    # execution of his.
    devs = Group.objects.create(name="devs")
    TeamAccess.objects.create(group=devs, packs=[], actions=["core.noop"])
    devs.user_set.add(bob)
    after_local = {"trigger.action_ref": {"type": "equals", "pattern": "core.local"}}
    make_rule(alice_api, "after_local", {"type": ACTION_TRIGGER}, criteria=after_local)
    bobs = make_rule(bob_api, "bob_after_local", {"type": ACTION_TRIGGER}, criteria=after_local)
    launched = alice_api.post(
        "/api/v1/executions",
        {"action": "core.local", "parameters": {"cmd": "echo alice-private-result"}},
        format="json",
    )
    execution = run_to_completion(ok(launched, 201)["id"])
    assert "alice-private-result" in execution.result["stdout"]
    instance = TriggerInstance.objects.get(
        trigger=ACTION_TRIGGER, payload__execution_id=execution.id
    )
    enforced = RuleEnforcement.objects.filter(trigger_instance_id=instance.id)
    assert [e.rule_owner for e in enforced] == ["alice"]
    assert not Execution.objects.filter(user="bob").exists()

    for path in ("/api/v1/triggerinstances", f"/api/v1/triggerinstances?trigger={ACTION_TRIGGER}"):
        response = bob_api.get(path)
        assert instance.id not in {shown["id"] for shown in ok(response)}
        assert "alice-private-result" not in response.content.decode()
    response = bob_api.get(f"/api/v1/triggerinstances/{instance.id}")
    assert response.status_code == 404
    assert "alice-private-result" not in response.content.decode()
    alices = RuleEnforcement.objects.get(trigger_instance_id=instance.id, rule_owner="alice")
    assert alices.id not in {e["id"] for e in listed(bob_api, "/api/v1/ruleenforcements")}
    assert listed(bob_api, "/api/v1/ruleenforcements") == []
    assert bobs["ref"] != alices.rule_ref

    shown = ok(alice_api.get(f"/api/v1/triggerinstances/{instance.id}"))
    assert shown["posted_by"] == "alice"
    assert "alice-private-result" in shown["payload"]["result"]["stdout"]


def test_admin_sees_everything_and_re_emits_as_himself(admin_api, posted):
    instance, rule = posted["instance"], posted["rule"]
    assert [i["id"] for i in listed(admin_api, "/api/v1/triggerinstances")] == [instance.id]
    assert ok(admin_api.get(f"/api/v1/triggerinstances/{instance.id}"))["posted_by"] == "bob"
    assert [e["id"] for e in listed(admin_api, "/api/v1/ruleenforcements")] == [
        posted["enforcement"].id
    ]
    assert [h["ref"] for h in listed(admin_api, "/api/v1/webhooks")] == [rule["trigger"]["ref"]]

    ok(admin_api.post(f"/api/v1/triggerinstances/{instance.id}/re_emit"))
    copy = TriggerInstance.objects.exclude(pk=instance.id).get()
    assert copy.posted_by == "admin"
    assert copy.payload["__context"] == {"original_id": instance.id}
    assert Execution.objects.filter(rule_ref=rule["ref"]).count() == 2
    assert ok(admin_api.get(f"/api/v1/triggerinstances/{copy.id}"))["posted_by"] == "admin"


# --- rows written before the boundary ---------------------------------------------------------


@pytest.fixture
def before_the_boundary(transactional_db):
    """The database as migration 0006 left it; the latest migrations again afterwards."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([("st2bridge", "0006_fewer_write_indexes")])
    yield
    MigrationExecutor(connection).migrate(latest)


def test_migration_gives_existing_rows_their_owner_and_poster(before_the_boundary):
    before, after = [("st2bridge", "0006_fewer_write_indexes")], [("st2bridge", "0007_boundary")]
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state(before).apps
    Rule = old.get_model("st2bridge", "Rule")
    Execution = old.get_model("st2bridge", "Execution")
    Instance = old.get_model("st2bridge", "TriggerInstance")
    Enforcement = old.get_model("st2bridge", "RuleEnforcement")
    now = "2026-01-01T00:00:00Z"

    mine = Rule.objects.create(ref="default.mine", pack="default", name="mine", created_by="alice")
    packed = Rule.objects.create(ref="default.packed", pack="default", name="packed")
    run = Execution.objects.create(action_ref="core.noop", user="carol", start_timestamp=now)
    hook = Instance.objects.create(trigger="core.x", context={"user": "bob"}, occurrence_time=now)
    action = Instance.objects.create(
        trigger=ACTION_TRIGGER,
        trigger_type=ACTION_TRIGGER,
        context={"rule_depth": 0, "execution_id": run.id},
        occurrence_time=now,
    )
    timer = Instance.objects.create(trigger="core.t", context={}, occurrence_time=now)
    enforced = {
        name: Enforcement.objects.create(
            rule_id=rule_id, rule_ref=name, trigger_instance_id=hook.id, enforced_at=now, **extra
        ).id
        for name, rule_id, extra in (
            ("mine", mine.id, {}),
            ("packed", packed.id, {}),
            ("gone", "0" * 24, {"execution_id": run.id}),
            ("lost", "1" * 24, {}),
        )
    }

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    posters = dict(TriggerInstance.objects.values_list("id", "posted_by"))
    assert (posters[hook.id], posters[action.id], posters[timer.id]) == ("bob", "carol", "")
    owners = dict(RuleEnforcement.objects.values_list("rule_ref", "rule_owner"))
    assert owners == {"mine": "alice", "packed": "stanley", "gone": "carol", "lost": ""}
    assert set(enforced.values()) == set(RuleEnforcement.objects.values_list("id", flat=True))


@pytest.mark.parametrize("spelling", [HOOK, f"/{HOOK}", f"{HOOK}/", f"/{HOOK}/"])
def test_a_member_cannot_hook_a_rule_onto_someone_elses_webhook_url(posted, spelling):
    """Posts reach every rule of a url, whatever its spelling: dave's rule there would receive
    the body and headers of every post made to alice's webhook, so it is refused."""
    dave = make_user("dave")
    Group.objects.get(name="ops").user_set.add(dave)
    trigger = {"type": "core.st2.webhook", "parameters": {"url": spelling}}
    body = {
        "name": "eavesdrop",
        "pack": "default",
        "enabled": True,
        "trigger": trigger,
        "criteria": {},
        "action": {"ref": "core.noop", "parameters": {}},
    }
    response = client_for(dave).post("/api/v1/rules", body, format="json")
    assert response.status_code == 403, response.content
    assert "is used by another user's rule" in response.json()["faultstring"]
    assert not Rule.objects.filter(created_by="dave").exists()


def test_staff_and_the_owner_may_add_rules_to_a_webhook_url(admin_api, alice_api, posted):
    hook = {"type": "core.st2.webhook", "parameters": {"url": HOOK}}
    make_rule(alice_api, "on_deploy_too", hook)
    make_rule(admin_api, "audit_deploys", hook)
