"""POST, PUT and DELETE /api/v1/triggers (administrators; idempotent creation, as in
StackStorm; nothing pulled from under a rule), /api/v1/ruletypes and /api/v1/timers (the timer
triggers rules use)."""

import pytest

from st2bridge.models import Trigger

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db

HOURLY = {"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours", "delta": 1}}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def timer_rule(api, name, parameters, trigger_type="core.st2.IntervalTimer"):
    body = {
        "name": name,
        "pack": "default",
        "enabled": True,
        "trigger": {"type": trigger_type, "parameters": parameters},
        "action": {"ref": "core.noop", "parameters": {}},
    }
    return ok(api.post("/api/v1/rules", body, format="json"), 201)


# --- triggers --------------------------------------------------------------------------------


def test_post_creates_a_trigger_and_again_answers_the_same(admin_api):
    first = ok(
        admin_api.post("/api/v1/triggers", {**HOURLY, "description": "x"}, format="json"), 201
    )
    assert first["type"] == "core.st2.IntervalTimer" and first["pack"] == "core"
    assert first["description"] == "x"
    again = ok(admin_api.post("/api/v1/triggers", HOURLY, format="json"), 201)
    assert again["id"] == first["id"]
    assert Trigger.objects.filter(type="core.st2.IntervalTimer").count() == 1


def test_post_of_a_type_without_parameters_answers_its_own_trigger(admin_api):
    body = {"type": "core.st2.generic.actiontrigger"}
    trigger = ok(admin_api.post("/api/v1/triggers", body, format="json"), 201)
    assert trigger["ref"] == "core.st2.generic.actiontrigger"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "nope.nope"}, 'Trigger type with reference "nope.nope" doesn\'t exist'),
        ({"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours"}}, "'delta'"),
        ({"type": "core.st2.generic.actiontrigger", "parameters": {"a": 1}}, "takes no param"),
        ({"parameters": {}}, "'type' is a required property"),
    ],
)
def test_a_bad_trigger_is_400(admin_api, body, message):
    response = admin_api.post("/api/v1/triggers", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["faultstring"]


def test_members_change_no_trigger(alice_api, admin_api):
    assert alice_api.post("/api/v1/triggers", HOURLY, format="json").status_code == 403
    trigger = ok(admin_api.post("/api/v1/triggers", HOURLY, format="json"), 201)
    path = f"/api/v1/triggers/{trigger['id']}"
    assert alice_api.put(path, trigger, format="json").status_code == 403
    assert alice_api.delete(path).status_code == 403
    assert Trigger.objects.filter(pk=trigger["id"]).exists()


def test_put_changes_the_description_and_unused_parameters(admin_api):
    trigger = ok(admin_api.post("/api/v1/triggers", HOURLY, format="json"), 201)
    path = f"/api/v1/triggers/{trigger['id']}"
    body = {**trigger, "description": "every hour", "parameters": {"unit": "hours", "delta": 2}}
    changed = ok(admin_api.put(path, body, format="json"))
    assert changed["description"] == "every hour"
    assert changed["parameters"] == {"unit": "hours", "delta": 2}
    assert changed["uid"] != trigger["uid"]  # it names the parameters' hash
    renamed = admin_api.put(path, {**body, "name": "other"}, format="json")
    assert renamed.status_code == 400 and "cannot be renamed" in renamed.json()["faultstring"]
    retyped = admin_api.put(path, {**body, "type": "core.st2.CronTimer"}, format="json")
    assert retyped.status_code == 400


def test_a_trigger_rules_use_keeps_its_parameters_and_is_not_deleted(admin_api):
    rule = timer_rule(admin_api, "hourly", HOURLY["parameters"])
    ref = rule["trigger"]["ref"]
    trigger = ok(admin_api.get(f"/api/v1/triggers/{ref}"))
    body = {**trigger, "parameters": {"unit": "hours", "delta": 5}}
    response = admin_api.put(f"/api/v1/triggers/{ref}", body, format="json")
    assert response.status_code == 400
    assert "rules use this trigger" in response.json()["faultstring"]
    deleted = admin_api.delete(f"/api/v1/triggers/{ref}")
    assert deleted.status_code == 409
    assert deleted.json()["conflict-id"] == rule["id"]
    admin_api.delete(f"/api/v1/rules/{rule['id']}")
    assert not Trigger.objects.filter(ref=ref).exists()  # released with its last rule


def test_delete_removes_an_unused_trigger_but_not_a_types_own(admin_api):
    trigger = ok(admin_api.post("/api/v1/triggers", HOURLY, format="json"), 201)
    assert admin_api.delete(f"/api/v1/triggers/{trigger['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/triggers/{trigger['id']}").status_code == 404
    own = admin_api.delete("/api/v1/triggers/core.st2.webhook")
    assert own.status_code in (400, 404)  # a webhook type has parameters: no own trigger
    shadow = admin_api.delete("/api/v1/triggers/core.st2.generic.actiontrigger")
    assert shadow.status_code == 400
    assert "delete the type instead" in shadow.json()["faultstring"]


# --- rule types --------------------------------------------------------------------------------


def test_rule_types_are_standard_and_backstop(alice_api):
    types = ok(alice_api.get("/api/v1/ruletypes"))
    assert [item["name"] for item in types] == ["standard", "backstop"]
    assert set(types[0]) == {"id", "name", "description", "enabled", "parameters"}
    assert ok(alice_api.get(f"/api/v1/ruletypes/{types[1]['id']}")) == types[1]
    assert ok(alice_api.get("/api/v1/ruletypes/standard")) == types[0]
    assert alice_api.get("/api/v1/ruletypes/nope").status_code == 404


# --- timers ----------------------------------------------------------------------------------


def test_timers_are_the_timer_triggers_rules_use(alice_api, bob_api):
    hourly = timer_rule(alice_api, "hourly", HOURLY["parameters"])
    timer_rule(bob_api, "nightly", {"minute": 0, "hour": 3}, "core.st2.CronTimer")
    hook = {
        "name": "hook",
        "pack": "default",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "x"}},
        "action": {"ref": "core.noop"},
    }
    ok(alice_api.post("/api/v1/rules", hook, format="json"), 201)
    timers = ok(alice_api.get("/api/v1/timers"))
    assert [item["type"] for item in timers] == ["core.st2.CronTimer", "core.st2.IntervalTimer"]
    interval = ok(alice_api.get("/api/v1/timers?timer_type=core.st2.IntervalTimer"))
    assert [item["ref"] for item in interval] == [hourly["trigger"]["ref"]]
    assert ok(alice_api.get(f"/api/v1/timers/{hourly['trigger']['ref']}")) == interval[0]
    assert alice_api.get("/api/v1/timers/core.st2.webhook").status_code == 404
    bad = alice_api.get("/api/v1/timers?timer_type=core.st2.webhook")
    assert bad.status_code == 400
    assert bad.json()["faultstring"].startswith(
        "Timer type core.st2.webhook not in supported types"
    )
