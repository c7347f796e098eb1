"""The server's own events as triggers (issue 18; st2bridge.server_events): rules on
core.st2.api_key.expiring, core.st2.template.execution_failed and core.st2.team.grant_changed
fire end to end with a real worker, each event once, with no secret in its payload, and only
for the rules of the users it concerns (st2bridge.access.rule_may_see_instance)."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from st2bridge import executions, server_events
from st2bridge.models import ApiKey, Execution, TriggerInstance

from .catalog_support import register_bundled_packs
from .worker_support import Worker, run_until

pytestmark = pytest.mark.django_db

EXPIRING = "core.st2.api_key.expiring"
TEMPLATE_FAILED = "core.st2.template.execution_failed"
GRANT_CHANGED = "core.st2.team.grant_changed"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def rule_on(api, name, trigger_type, cmd, criteria=None):
    body = {
        "name": name,
        "pack": "events",
        "enabled": True,
        "trigger": {"type": trigger_type},
        "criteria": criteria or {},
        "action": {"ref": "core.local", "parameters": {"cmd": cmd}},
    }
    return ok(api.post("/api/v1/rules", body, format="json"), 201)


def executions_of(rule):
    return list(Execution.objects.filter(rule_ref=rule["ref"]).order_by("start_timestamp"))


def instances(trigger_type):
    return list(TriggerInstance.objects.filter(trigger_type=trigger_type))


def run_worker_until(predicate):
    """A real worker (in-process, ticked as the worker loop ticks) until predicate() holds."""
    worker = Worker(concurrency=2, poll_interval=0.05)
    try:
        run_until(predicate, worker)
    finally:
        worker.drain()


def finished(rule, count=1):
    def check():
        found = executions_of(rule)
        return len(found) >= count and all(e.status in Execution.COMPLETED for e in found)

    return check


def new_key(api, name, expires_in, **extra):
    expires = (timezone.now() + expires_in).isoformat()
    body = {"metadata": {"name": name}, "expires_at": expires, **extra}
    return ok(api.post("/api/v1/apikeys", body, format="json"), 201)


# --- the trigger types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "fields"),
    [
        (EXPIRING, {"object", "expires_in_seconds"}),
        (TEMPLATE_FAILED, {"execution_id", "status", "template", "action_ref", "user"}),
        (GRANT_CHANGED, {"team", "change", "kind", "target", "by"}),
    ],
)
def test_each_event_is_a_core_trigger_type_with_its_payload_schema(alice_api, ref, fields):
    trigger_type = ok(alice_api.get(f"/api/v1/triggertypes/{ref}"))
    assert trigger_type["pack"] == "core"
    assert fields <= set(trigger_type["payload_schema"]["properties"])
    assert not trigger_type.get("parameters_schema")
    assert ok(alice_api.get(f"/api/v1/triggers/{ref}"))["type"] == ref  # its shadow trigger


# --- keys expiring ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_rule_on_an_expiring_key_runs_once_with_the_keys_id_and_name(alice_api):
    rule = rule_on(
        alice_api,
        "key_expiring",
        EXPIRING,
        "echo {{ trigger.object.metadata.name }} {{ trigger.object.id }}",
    )
    created = new_key(alice_api, "ci", timedelta(days=3))
    run_worker_until(finished(rule))
    [execution] = executions_of(rule)
    assert execution.status == "succeeded"
    assert execution.result["stdout"] == f"ci {created['id']}"

    # Another worker, a later look: the key fired already, nothing fires again.
    assert server_events.warn_expiring_keys() == 0
    worker = Worker(concurrency=1, poll_interval=0.05)
    worker.tick()
    worker.drain()
    assert len(instances(EXPIRING)) == 1
    assert len(executions_of(rule)) == 1


def test_a_key_another_worker_claimed_meanwhile_is_not_fired_again(alice_api, monkeypatch):
    """Two workers read the same due key: the conditional UPDATE lets only one fire it."""
    new_key(alice_api, "ci", timedelta(days=1))
    find_trigger = server_events._trigger

    def other_worker_claims_first(ref):  # called after the due keys were read
        ApiKey.objects.update(expiry_warned_at=timezone.now())
        return find_trigger(ref)

    monkeypatch.setattr(server_events, "_trigger", other_worker_claims_first)
    assert server_events.warn_expiring_keys() == 0
    assert instances(EXPIRING) == []


def test_the_payload_names_the_key_and_never_holds_its_secret(alice_api):
    created = new_key(alice_api, "backup", timedelta(hours=5), enabled=True)
    assert server_events.warn_expiring_keys() == 1
    [instance] = instances(EXPIRING)
    key = ApiKey.objects.get(pk=created["id"])
    shown = json.dumps(instance.payload)
    assert created["key"] not in shown
    assert key.key_hash not in shown
    assert "key_hash" not in instance.payload["object"]
    assert instance.payload["object"]["id"] == created["id"]
    assert instance.payload["object"]["user"] == "alice"
    assert instance.payload["object"]["metadata"] == {"name": "backup"}
    assert 4 * 3600 < instance.payload["expires_in_seconds"] <= 5 * 3600
    assert instance.posted_by == "alice"


def test_only_keys_entering_the_window_fire(alice_api):
    new_key(alice_api, "later", timedelta(days=8))
    new_key(alice_api, "disabled", timedelta(days=1), enabled=False)
    new_key(alice_api, "forever", timedelta(days=1))
    ApiKey.objects.filter(metadata__name="forever").update(expires_at=None)
    assert server_events.warn_expiring_keys() == 0
    # A day on, "later" is within 7 days.
    assert server_events.warn_expiring_keys(timezone.now() + timedelta(days=1, hours=1)) == 1
    [instance] = instances(EXPIRING)
    assert instance.payload["object"]["metadata"]["name"] == "later"


def test_a_new_expiry_is_announced_again_once(alice_api):
    created = new_key(alice_api, "ci", timedelta(days=2))
    assert server_events.warn_expiring_keys() == 1
    same = {"expires_at": created["expires_at"]}
    ok(alice_api.put(f"/api/v1/apikeys/{created['id']}", same, format="json"))
    assert server_events.warn_expiring_keys() == 0
    later = {"expires_at": (timezone.now() + timedelta(days=5)).isoformat()}
    ok(alice_api.put(f"/api/v1/apikeys/{created['id']}", later, format="json"))
    assert server_events.warn_expiring_keys() == 1
    assert server_events.warn_expiring_keys() == 0
    assert len(instances(EXPIRING)) == 2


def test_another_users_rule_never_sees_my_expiring_key(alice_api, bob_api):
    bobs = rule_on(bob_api, "spy", EXPIRING, "echo {{ trigger.object.id }}")
    created = new_key(alice_api, "secret-project", timedelta(days=1))
    assert server_events.warn_expiring_keys() == 1
    assert executions_of(bobs) == []
    [instance] = instances(EXPIRING)
    # Neither the instance nor an enforcement reaches bob through the API.
    assert ok(bob_api.get("/api/v1/triggerinstances", {"trigger_type": EXPIRING})) == []
    assert bob_api.get(f"/api/v1/triggerinstances/{instance.id}").status_code == 404
    assert ok(bob_api.get("/api/v1/ruleenforcements", {"rule_ref": bobs["ref"]})) == []
    assert created["id"] not in json.dumps(ok(bob_api.get("/api/v1/executions")))
    # Alice, whose key it is, reads it.
    mine = ok(alice_api.get("/api/v1/triggerinstances", {"trigger_type": EXPIRING}))
    assert [found["id"] for found in mine] == [instance.id]


def test_staff_rules_see_every_users_expiring_key(admin_api, alice_api):
    watch = rule_on(admin_api, "all_keys", EXPIRING, "echo {{ trigger.object.user }}")
    new_key(alice_api, "ci", timedelta(days=1))
    assert server_events.warn_expiring_keys() == 1
    [execution] = executions_of(watch)
    assert execution.parameters["cmd"] == "echo alice"


def test_a_member_may_not_forge_a_server_event(alice_api, bob_api, admin_api):
    alices = rule_on(alice_api, "key_expiring", EXPIRING, "echo forged")
    forged = {
        "trigger": EXPIRING,
        "payload": {"object": {"id": "x", "user": "alice"}, "expires_in_seconds": 1},
    }
    # StackStorm's internal ones too: a forged action trigger could start a staff rule.
    internal = ("core.st2.generic.actiontrigger", "core.st2.key_value_pair.create")
    for ref in (EXPIRING, TEMPLATE_FAILED, GRANT_CHANGED, *internal):
        response = bob_api.post("/api/v1/webhooks/st2", {**forged, "trigger": ref}, format="json")
        assert response.status_code == 403, response.content
        assert "the server emits it" in response.json()["faultstring"]
    assert instances(EXPIRING) == []
    # Staff may post one (to try a rule); it concerns no member: alice's rule stays still.
    assert admin_api.post("/api/v1/webhooks/st2", forged, format="json").status_code == 202
    assert len(instances(EXPIRING)) == 1
    assert executions_of(alices) == []


def test_a_re_emitted_event_concerns_the_same_users(admin_api, alice_api, bob_api):
    alices = rule_on(alice_api, "key_expiring", EXPIRING, "echo again")
    bobs = rule_on(bob_api, "spy", EXPIRING, "echo {{ trigger.object.id }}")
    new_key(alice_api, "ci", timedelta(days=1))
    server_events.warn_expiring_keys()
    [instance] = instances(EXPIRING)
    ok(admin_api.post(f"/api/v1/triggerinstances/{instance.id}/re_emit"))
    assert len(executions_of(alices)) == 2
    assert executions_of(bobs) == []


# --- template executions failing -----------------------------------------------------------


def from_template(user, cmd, ref="ops.restart", version=3):
    """An execution as a launch template launches it (the template branch records the
    template in the context, server-side)."""
    return executions.request_execution(
        "core.local",
        {"cmd": cmd},
        user=user,
        staff=False,
        context={"template": {"ref": ref, "version": version}},
    )


@pytest.mark.django_db(transaction=True)
def test_a_rule_on_a_failed_template_execution_runs(alice, alice_api, bob_api):
    rule = rule_on(
        alice_api,
        "template_failed",
        TEMPLATE_FAILED,
        "echo {{ trigger.template.ref }} v{{ trigger.template.version }} {{ trigger.status }}",
    )
    bobs = rule_on(bob_api, "spy", TEMPLATE_FAILED, "echo {{ trigger.execution_id }}")
    failing = from_template("alice", "echo s3cr3t-output; exit 3")
    passing = from_template("alice", "echo fine")
    plain = executions.request_execution("core.local", {"cmd": "exit 1"}, user="alice", staff=False)
    run_worker_until(finished(rule))
    run_worker_until(
        lambda: all(
            Execution.objects.get(pk=e.id).status in Execution.COMPLETED
            for e in (failing, passing, plain)
        )
    )
    [instance] = instances(TEMPLATE_FAILED)  # not for the success, nor the plain failure
    assert instance.payload["execution_id"] == failing.id
    assert instance.payload["status"] == "failed"
    assert instance.payload["template"] == {"ref": "ops.restart", "version": 3}
    assert instance.payload["user"] == "alice"
    assert "s3cr3t-output" not in json.dumps(instance.payload)  # no result, no parameters
    [execution] = executions_of(rule)
    assert execution.result["stdout"] == "ops.restart v3 failed"
    assert executions_of(bobs) == []
    assert ok(bob_api.get("/api/v1/triggerinstances", {"trigger_type": TEMPLATE_FAILED})) == []


def test_a_caller_cannot_claim_a_template_in_the_context(alice_api):
    body = {
        "action": "core.noop",
        "context": {"template": {"ref": "ops.restart", "version": 1}, "mine": 1},
    }
    created = ok(alice_api.post("/api/v1/executions", body, format="json"), 201)
    context = Execution.objects.get(pk=created["id"]).context
    assert "template" not in context
    assert context["mine"] == 1


# --- team grants changing ------------------------------------------------------------------


def grant_events():
    return sorted(
        (i.payload["change"], i.payload["kind"], i.payload["target"])
        for i in instances(GRANT_CHANGED)
    )


@pytest.mark.django_db(transaction=True)
def test_a_members_rule_runs_when_their_team_gains_a_grant(admin_api, alice, alice_api):
    team = ok(
        admin_api.post(
            "/api/v1/teams", {"name": "ops", "members": ["alice"], "packs": ["core"]}, format="json"
        ),
        201,
    )
    rule = rule_on(
        alice_api,
        "grants",
        GRANT_CHANGED,
        "echo {{ trigger.team.name }} {{ trigger.change }} {{ trigger.kind }} "
        "{{ trigger.target }} by {{ trigger.by }}",
    )
    body = {"name": "ops", "actions": ["demo.deploy"]}
    ok(admin_api.put(f"/api/v1/teams/{team['id']}", body, format="json"))
    run_worker_until(finished(rule))
    [execution] = executions_of(rule)
    assert execution.result["stdout"] == "ops added action demo.deploy by admin"


def test_every_grant_change_fires_once_with_team_kind_target_and_who(admin_api, alice):
    body = {"name": "ops", "members": ["alice"], "packs": ["core", "linux"]}
    team = ok(admin_api.post("/api/v1/teams", body, format="json"), 201)
    assert grant_events() == [("added", "pack", "core"), ("added", "pack", "linux")]
    put = {"name": "ops", "packs": ["core"], "actions": ["demo.deploy"]}
    ok(admin_api.put(f"/api/v1/teams/{team['id']}", put, format="json"))
    ok(admin_api.put(f"/api/v1/teams/{team['id']}", put, format="json"))  # no change: nothing
    assert len(instances(GRANT_CHANGED)) == 4
    assert admin_api.delete(f"/api/v1/teams/{team['id']}").status_code == 204
    assert grant_events() == [
        ("added", "action", "demo.deploy"),
        ("added", "pack", "core"),
        ("added", "pack", "linux"),
        ("removed", "action", "demo.deploy"),
        ("removed", "pack", "core"),
        ("removed", "pack", "linux"),
    ]
    for instance in instances(GRANT_CHANGED):
        assert instance.payload["team"] == {"id": team["id"], "name": "ops"}
        assert instance.payload["by"] == "admin"
        assert instance.context["audience"] == ["alice"]


def test_a_grant_change_reaches_only_the_teams_members(admin_api, alice, alice_api, bob_api):
    alices = rule_on(alice_api, "grants", GRANT_CHANGED, "echo {{ trigger.target }}")
    bobs = rule_on(bob_api, "spy", GRANT_CHANGED, "echo {{ trigger.team.name }}")
    body = {"name": "secret-team", "members": ["alice"], "packs": ["core"]}
    ok(admin_api.post("/api/v1/teams", body, format="json"), 201)
    assert [e.parameters["cmd"] for e in executions_of(alices)] == ["echo core"]
    assert executions_of(bobs) == []
    assert ok(bob_api.get("/api/v1/triggerinstances", {"trigger_type": GRANT_CHANGED})) == []
    seen = ok(alice_api.get("/api/v1/triggerinstances", {"trigger_type": GRANT_CHANGED}))
    assert [found["payload"]["team"]["name"] for found in seen] == ["secret-team"]


@pytest.mark.django_db(transaction=True)
def test_grants_changed_in_the_django_admin_fire_too(admin_browser, alice):
    from .test_portal_teams import TEAMS, admin_signed_in, team_form

    admin_signed_in(admin_browser)
    made = admin_browser.post(f"{TEAMS}add/", team_form("ops", members=[alice], packs="core"))
    assert made.status_code == 302, made.content.decode()
    team = Group.objects.get(name="ops")
    change = {
        **team_form("ops", members=[alice], actions="demo.greet"),
        "access-INITIAL_FORMS": "1",
    }
    change["access-0-id"] = str(team.access.pk)
    change["access-0-group"] = str(team.pk)
    changed = admin_browser.post(f"{TEAMS}{team.pk}/change/", change)
    assert changed.status_code == 302, changed.content.decode()
    deleted = admin_browser.post(f"{TEAMS}{team.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302, deleted.content.decode()
    assert grant_events() == [
        ("added", "action", "demo.greet"),
        ("added", "pack", "core"),
        ("removed", "action", "demo.greet"),
        ("removed", "pack", "core"),
    ]
    assert {i.payload["by"] for i in instances(GRANT_CHANGED)} == {"admin"}
    assert all(i.context["audience"] == ["alice"] for i in instances(GRANT_CHANGED))
