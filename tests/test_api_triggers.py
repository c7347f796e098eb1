"""/api/v1/triggertypes, /triggers, /triggerinstances (with re_emit) and /ruleenforcements
(notes §5.5, §6.1-6.4, checklist 83-85)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from st2bridge import dispatch
from st2bridge.formats import isotime
from st2bridge.models import Execution, RuleEnforcement, Trigger, TriggerInstance, TriggerType
from st2bridge.triggers import save_trigger_type
from tests.catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
BUILTINS = {
    "core.st2.IntervalTimer",
    "core.st2.DateTimer",
    "core.st2.CronTimer",
    "core.st2.webhook",
    "core.st2.generic.actiontrigger",
}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def create_rule(api, name, url, criteria=None, action="core.noop", enabled=True):
    body = {
        "name": name,
        "pack": "demo",
        "enabled": enabled,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url}},
        "criteria": criteria or {},
        "action": {"ref": action, "parameters": {}},
    }
    return ok(api.post("/api/v1/rules", body, format="json"), 201)


def fire(trigger_ref, payload):
    return dispatch.dispatch(Trigger.objects.get(ref=trigger_ref), payload)


# --- trigger types -------------------------------------------------------------------------


def test_builtin_trigger_types_are_listed_sorted_by_ref(alice_api):
    response = alice_api.get("/api/v1/triggertypes")
    types = ok(response)
    refs = [t["ref"] for t in types]
    assert BUILTINS <= set(refs)
    assert refs == sorted(refs)
    assert response["X-Limit"] == "100"
    assert response["X-Total-Count"] == str(TriggerType.objects.count())


def test_get_trigger_type_by_ref_and_id(alice_api):
    webhook = ok(alice_api.get("/api/v1/triggertypes/core.st2.webhook"))
    assert webhook["uid"] == "trigger_type:core:st2.webhook"
    assert webhook["pack"] == "core"
    assert webhook["name"] == "st2.webhook"
    assert webhook["parameters_schema"]["properties"]["url"]["type"] == "string"
    assert "body" in webhook["payload_schema"]["properties"]
    assert ok(alice_api.get(f"/api/v1/triggertypes/{webhook['id']}")) == webhook
    interval = ok(alice_api.get("/api/v1/triggertypes/core.st2.IntervalTimer"))
    assert set(interval["parameters_schema"]["properties"]) >= {"unit", "delta", "timezone"}
    assert interval["parameters_schema"]["additionalProperties"] is False


@pytest.mark.parametrize("ref_or_id", ["core.st2.nope", "1", "000000000000000000000000"])
def test_unknown_trigger_type_is_404(alice_api, ref_or_id):
    assert alice_api.get(f"/api/v1/triggertypes/{ref_or_id}").status_code == 404


def test_trigger_type_filters(alice_api):
    save_trigger_type("demo", {"name": "deployed", "payload_schema": {"type": "object"}})
    demo = ok(alice_api.get("/api/v1/triggertypes?pack=demo"))
    assert [t["ref"] for t in demo] == ["demo.deployed"]
    assert demo[0]["parameters_schema"] == {}
    assert ok(alice_api.get("/api/v1/triggertypes?pack=doesnt-exist-invalid")) == []
    by_name = ok(alice_api.get("/api/v1/triggertypes?name=st2.webhook"))
    assert [t["ref"] for t in by_name] == ["core.st2.webhook"]
    trimmed = ok(alice_api.get("/api/v1/triggertypes?include_attributes=name&limit=2"))
    assert len(trimmed) == 2
    assert set(trimmed[0]) == {"id", "ref", "name"}


def test_pack_declared_trigger_type_gets_a_shadow_trigger(alice_api):
    save_trigger_type("demo", {"name": "deployed"})
    shadow = ok(alice_api.get("/api/v1/triggers/demo.deployed"))
    assert shadow["type"] == "demo.deployed"
    assert shadow["parameters"] == {}


# --- creating, changing and deleting trigger types (admins) --------------------------------

DEPLOYED = {
    "name": "deployed",
    "pack": "demo",
    "description": "A deploy finished.",
    "payload_schema": {
        "type": "object",
        "properties": {"service": {"type": "string", "required": True}},
    },
    "tags": [{"name": "team", "value": "ops"}],
}
SCANNED = {
    "name": "scanned",
    "pack": "demo",
    "parameters_schema": {
        "type": "object",
        "properties": {"repo": {"type": "string", "required": True}},
        "additionalProperties": False,
    },
}


def create_type(api, body, status=201):
    return ok(api.post("/api/v1/triggertypes", body, format="json"), status)


def test_admin_creates_a_trigger_type_with_its_shadow_trigger(admin_api, alice_api):
    created = create_type(admin_api, DEPLOYED)
    assert created["ref"] == "demo.deployed"
    assert created["uid"] == "trigger_type:demo:deployed"
    assert created["payload_schema"] == DEPLOYED["payload_schema"]
    assert created["parameters_schema"] == {}
    assert created["tags"] == DEPLOYED["tags"]
    assert ok(alice_api.get("/api/v1/triggertypes/demo.deployed")) == created
    assert [t["ref"] for t in ok(alice_api.get("/api/v1/triggertypes?pack=demo"))] == [
        "demo.deployed"
    ]
    shadow = ok(alice_api.get("/api/v1/triggers/demo.deployed"))
    assert (shadow["type"], shadow["parameters"]) == ("demo.deployed", {})


def test_a_trigger_type_with_parameters_has_no_shadow_and_rules_use_it(admin_api, alice_api):
    create_type(admin_api, SCANNED)
    assert alice_api.get("/api/v1/triggers/demo.scanned").status_code == 404
    rule = {
        "name": "on_scan",
        "pack": "demo",
        "trigger": {"type": "demo.scanned", "parameters": {"repo": "portal"}},
        "action": {"ref": "core.noop"},
    }
    created = ok(alice_api.post("/api/v1/rules", rule, format="json"), 201)
    trigger = ok(alice_api.get(f"/api/v1/triggers/{created['trigger']['ref']}"))
    assert trigger["parameters"] == {"repo": "portal"}
    missing = {**rule, "name": "bad", "trigger": {"type": "demo.scanned", "parameters": {}}}
    response = alice_api.post("/api/v1/rules", missing, format="json")
    assert response.status_code == 400
    assert "'repo' is a required property" in response.json()["faultstring"]


def test_only_admins_change_trigger_types(alice_api, admin_api):
    response = alice_api.post("/api/v1/triggertypes", DEPLOYED, format="json")
    assert response.status_code == 403
    assert "trigger_type_create" in response.json()["faultstring"]
    create_type(admin_api, DEPLOYED)
    for method in (alice_api.put, alice_api.delete):
        body = DEPLOYED if method == alice_api.put else None
        response = method("/api/v1/triggertypes/demo.deployed", body, format="json")
        assert response.status_code == 403
    assert ok(alice_api.get("/api/v1/triggertypes/demo.deployed"))["description"]


def test_duplicate_trigger_type_is_409_with_conflict_id(admin_api):
    created = create_type(admin_api, DEPLOYED)
    response = admin_api.post("/api/v1/triggertypes", DEPLOYED, format="json")
    assert response.status_code == 409
    assert response.json()["conflict-id"] == created["id"]
    assert "demo.deployed already exists" in response.json()["faultstring"]
    assert TriggerType.objects.filter(ref="demo.deployed").count() == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": ""}, "name: '' should be non-empty"),
        ({"pack": None}, "pack: None is not of type 'string'"),
        ({"pack": "Bad.Pack"}, "pack: 'Bad.Pack' does not match"),
        ({"ref": "demo.other"}, 'ref: "demo.other" does not match pack and name'),
        ({"color": "red"}, "Additional properties are not allowed ('color' was unexpected)"),
        ({"payload_schema": []}, "payload_schema: [] is not of type 'object'"),
        ({"payload_schema": {"type": "nope"}}, "payload_schema.type: not a valid JSON schema"),
        (
            {"payload_schema": {"properties": {"x": {"type": 5}}}},
            "payload_schema.properties.x.type: not a valid JSON schema",
        ),
        ({"parameters_schema": {"type": "string"}}, "parameters_schema.type: trigger parameters"),
        ({"parameters_schema": {"minProperties": -1}}, "parameters_schema.minProperties: not a"),
        ({"payload_schema": {"$ref": "https://example.com/s.json"}}, "$ref is not supported"),
        (
            {"payload_schema": {"properties": {"x": {"pattern": "("}}}},
            "payload_schema.properties.x.pattern: not a valid JSON schema",
        ),
        ({"payload_schema": {"patternProperties": {"(": {}}}}, "is not a regular expression"),
        ({"tags": ["x"]}, "tags.0: 'x' is not of type 'object'"),
    ],
)
def test_bad_trigger_type_bodies_are_400_naming_the_field(admin_api, change, message):
    body = {**DEPLOYED, **change}
    response = admin_api.post("/api/v1/triggertypes", body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["faultstring"]
    assert not TriggerType.objects.filter(pack="demo").exists()


def test_missing_pack_or_body_is_400(admin_api):
    no_pack = {key: value for key, value in DEPLOYED.items() if key != "pack"}
    response = admin_api.post("/api/v1/triggertypes", no_pack, format="json")
    assert response.status_code == 400
    assert "'pack' is a required property" in response.json()["faultstring"]
    response = admin_api.post("/api/v1/triggertypes", [1], format="json")
    assert response.status_code == 400


def test_system_pack_trigger_types_are_not_changed(admin_api):
    webhook = ok(admin_api.get("/api/v1/triggertypes/core.st2.webhook"))
    for response in (
        admin_api.post("/api/v1/triggertypes", {"name": "mine", "pack": "core"}, format="json"),
        admin_api.put(f"/api/v1/triggertypes/{webhook['id']}", webhook, format="json"),
        admin_api.delete("/api/v1/triggertypes/core.st2.webhook"),
    ):
        assert response.status_code == 400
        assert "system level packs" in response.json()["faultstring"]
    assert ok(admin_api.get("/api/v1/triggertypes/core.st2.webhook")) == webhook


def test_put_replaces_a_trigger_type(admin_api):
    created = create_type(admin_api, DEPLOYED)
    body = {**created, "description": "Deploys.", "payload_schema": {"type": "object"}}
    del body["tags"]
    updated = ok(admin_api.put(f"/api/v1/triggertypes/{created['id']}", body, format="json"))
    assert updated["id"] == created["id"]
    assert updated["description"] == "Deploys."
    assert updated["payload_schema"] == {"type": "object"}
    assert "tags" not in updated or updated["tags"] == []  # a full replacement
    assert ok(admin_api.get("/api/v1/triggertypes/demo.deployed")) == updated
    assert admin_api.put("/api/v1/triggertypes/demo.nope", body, format="json").status_code == 404
    renamed = {**body, "name": "shipped", "ref": "demo.shipped"}
    response = admin_api.put("/api/v1/triggertypes/demo.deployed", renamed, format="json")
    assert response.status_code == 400
    assert "cannot be renamed" in response.json()["faultstring"]


def test_put_keeps_the_rules_using_the_type_valid(admin_api, alice_api):
    created = create_type(admin_api, SCANNED)
    rule = {
        "name": "on_scan",
        "pack": "demo",
        "trigger": {"type": "demo.scanned", "parameters": {"repo": "portal"}},
        "action": {"ref": "core.noop"},
    }
    ok(alice_api.post("/api/v1/rules", rule, format="json"), 201)
    stricter = {
        **created,
        "parameters_schema": {
            "type": "object",
            "properties": {"repo": {"type": "string", "enum": ["api"]}},
        },
    }
    response = admin_api.put("/api/v1/triggertypes/demo.scanned", stricter, format="json")
    assert response.status_code == 400
    message = response.json()["faultstring"]
    assert 'rule "demo.on_scan" uses this type' in message
    assert "'portal' is not one of ['api']" in message
    without = {**created, "parameters_schema": {}}
    response = admin_api.put("/api/v1/triggertypes/demo.scanned", without, format="json")
    assert response.status_code == 400
    assert "cannot gain or lose its parameters" in response.json()["faultstring"]
    wider = {**created, "parameters_schema": {"type": "object"}}
    assert ok(admin_api.put("/api/v1/triggertypes/demo.scanned", wider, format="json"))


def test_delete_removes_the_type_and_its_shadow(admin_api, alice_api):
    created = create_type(admin_api, DEPLOYED)
    response = admin_api.delete(f"/api/v1/triggertypes/{created['id']}")
    assert response.status_code == 204
    assert alice_api.get("/api/v1/triggertypes/demo.deployed").status_code == 404
    assert alice_api.get("/api/v1/triggers/demo.deployed").status_code == 404
    assert admin_api.delete("/api/v1/triggertypes/demo.deployed").status_code == 404


def test_a_trigger_type_in_use_is_not_deleted(admin_api, alice_api):
    create_type(admin_api, DEPLOYED)
    rule = {
        "name": "on_deploy",
        "pack": "demo",
        "trigger": {"type": "demo.deployed"},
        "action": {"ref": "core.noop"},
    }
    created = ok(alice_api.post("/api/v1/rules", rule, format="json"), 201)
    response = admin_api.delete("/api/v1/triggertypes/demo.deployed")
    assert response.status_code == 409
    assert "used by rules (demo.on_deploy)" in response.json()["faultstring"]
    assert response.json()["conflict-id"] == created["id"]
    assert ok(alice_api.get("/api/v1/triggers/demo.deployed"))
    assert alice_api.delete("/api/v1/rules/demo.on_deploy").status_code == 204
    assert admin_api.delete("/api/v1/triggertypes/demo.deployed").status_code == 204


# --- triggers ------------------------------------------------------------------------------


def test_triggers_list_shadow_and_rule_triggers(alice_api):
    before = ok(alice_api.get("/api/v1/triggers"))
    refs = {t["ref"] for t in before}
    assert "core.st2.generic.actiontrigger" in refs
    assert "core.st2.webhook" not in refs  # parameterised types have no shadow trigger
    rule = create_rule(alice_api, "r", "hook")
    trigger = ok(alice_api.get(f"/api/v1/triggers/{rule['trigger']['ref']}"))
    assert trigger["type"] == "core.st2.webhook"
    assert trigger["parameters"] == {"url": "hook"}
    assert trigger["pack"] == "core"
    assert trigger["uid"].startswith(f"trigger:core:{trigger['name']}:")
    assert "ref_count" not in trigger
    assert ok(alice_api.get(f"/api/v1/triggers/{trigger['id']}")) == trigger
    webhooks = ok(alice_api.get("/api/v1/triggers?type=core.st2.webhook"))
    assert webhooks == [trigger]
    assert len(ok(alice_api.get("/api/v1/triggers"))) == len(before) + 1


def test_unknown_trigger_is_404(alice_api):
    assert alice_api.get("/api/v1/triggers/core.nope").status_code == 404
    assert alice_api.get("/api/v1/triggers/1").status_code == 404


# --- trigger instances ---------------------------------------------------------------------


@pytest.fixture
def instances(alice_api):
    first = create_rule(alice_api, "first", "one")
    second = create_rule(alice_api, "second", "two")
    older = fire(first["trigger"]["ref"], {"body": {"n": 1}})
    TriggerInstance.objects.filter(pk=older.pk).update(
        occurrence_time=timezone.now() - timedelta(hours=1)
    )
    newer = fire(second["trigger"]["ref"], {"body": {"n": 2}})
    return {
        "older": TriggerInstance.objects.get(pk=older.pk),
        "newer": TriggerInstance.objects.get(pk=newer.pk),
        "first": first,
        "second": second,
    }


def ids(response):
    return [item["id"] for item in ok(response)]


def test_trigger_instances_list_newest_first(alice_api, instances):
    response = alice_api.get("/api/v1/triggerinstances")
    listed = ok(response)
    assert [i["id"] for i in listed] == [instances["newer"].id, instances["older"].id]
    assert response["X-Limit"] == "100"
    newer = listed[0]
    assert newer["trigger"] == instances["second"]["trigger"]["ref"]
    assert newer["payload"] == {"body": {"n": 2}}
    assert newer["status"] == "processed"
    assert newer["occurrence_time"].endswith("Z")


def test_trigger_instance_filters(alice_api, instances):
    older, newer = instances["older"], instances["newer"]
    ref = instances["first"]["trigger"]["ref"]
    assert ids(alice_api.get(f"/api/v1/triggerinstances?trigger={ref}")) == [older.id]
    assert len(ids(alice_api.get("/api/v1/triggerinstances?trigger_type=core.st2.webhook"))) == 2
    assert ids(alice_api.get("/api/v1/triggerinstances?trigger_type=foo.bar.invalid")) == []
    middle = isotime(older.occurrence_time + timedelta(minutes=30))
    assert ids(alice_api.get(f"/api/v1/triggerinstances?timestamp_gt={middle}")) == [newer.id]
    assert ids(alice_api.get(f"/api/v1/triggerinstances?timestamp_lt={middle}")) == [older.id]
    assert ids(alice_api.get("/api/v1/triggerinstances?status=processed")) == [newer.id, older.id]
    assert ids(alice_api.get("/api/v1/triggerinstances?status=pending")) == []
    assert ids(alice_api.get("/api/v1/triggerinstances?limit=1")) == [newer.id]


def test_get_trigger_instance(alice_api, instances):
    older = instances["older"]
    one = ok(alice_api.get(f"/api/v1/triggerinstances/{older.id}"))
    assert one["id"] == older.id
    assert one["payload"] == {"body": {"n": 1}}
    assert one["occurrence_time"] == isotime(older.occurrence_time)
    assert alice_api.get("/api/v1/triggerinstances/000000000000000000000000").status_code == 404


def test_re_emit(admin_api, instances):
    older = instances["older"]
    response = admin_api.post(f"/api/v1/triggerinstances/{older.id}/re_emit")
    body = ok(response)
    assert body["message"] == f"Trigger instance {older.id} succesfully re-sent."
    assert body["payload"] == {"body": {"n": 1}, "__context": {"original_id": older.id}}
    copy = TriggerInstance.objects.exclude(pk__in=[older.id, instances["newer"].id]).get()
    assert copy.trigger == older.trigger
    assert copy.payload["__context"] == {"original_id": older.id}
    assert copy.posted_by == "admin"  # re-emitting is for admins (issue 12)
    # the re-emitted instance enforces the rule again
    assert RuleEnforcement.objects.filter(trigger_instance_id=copy.id).count() == 1


def test_re_emit_of_an_instance_whose_trigger_is_gone(alice_api, admin_api, instances):
    older = instances["older"]
    alice_api.delete(f"/api/v1/rules/{instances['first']['id']}")
    assert not Trigger.objects.filter(ref=older.trigger).exists()
    body = ok(admin_api.post(f"/api/v1/triggerinstances/{older.id}/re_emit"))
    assert body["payload"]["__context"] == {"original_id": older.id}


def test_re_emit_unknown_instance_is_404(admin_api):
    url = "/api/v1/triggerinstances/000000000000000000000000/re_emit"
    assert admin_api.post(url).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/triggerinstances", "/api/v1/ruleenforcements"])
def test_a_member_s_list_costs_the_same_queries_for_one_row_or_many(alice_api, path):
    rule = create_rule(alice_api, "counted", "counted")
    fire(rule["trigger"]["ref"], {"body": {}})
    with CaptureQueriesContext(connection) as one:
        assert len(ok(alice_api.get(path))) == 1
    for n in range(5):
        fire(rule["trigger"]["ref"], {"body": {"n": n}})
    with CaptureQueriesContext(connection) as six:
        assert len(ok(alice_api.get(path))) == 6
    assert len(six) == len(one)


# --- rule enforcements ---------------------------------------------------------------------


@pytest.fixture
def enforcements(alice_api):
    """One succeeded enforcement (an execution requested) and one failed (criteria error)."""
    good = create_rule(alice_api, "good", "hook")
    bad = create_rule(
        alice_api, "bad", "hook", criteria={"trigger.body.n": {"type": "lt", "pattern": 5}}
    )
    instance = fire(good["trigger"]["ref"], {"body": {"n": "text"}})
    return {
        "instance": instance,
        "good": RuleEnforcement.objects.get(rule_ref="demo.good"),
        "bad": RuleEnforcement.objects.get(rule_ref="demo.bad"),
        "rules": {"good": good, "bad": bad},
    }


def test_rule_enforcements_list_and_get(alice_api, enforcements):
    good, bad = enforcements["good"], enforcements["bad"]
    response = alice_api.get("/api/v1/ruleenforcements")
    listed = ok(response)
    assert {e["id"] for e in listed} == {good.id, bad.id}
    assert response["X-Limit"] == "50"
    assert response["X-Total-Count"] == "2"
    one = ok(alice_api.get(f"/api/v1/ruleenforcements/{good.id}"))
    rule = enforcements["rules"]["good"]
    assert one["rule"] == {"ref": "demo.good", "id": rule["id"], "uid": "rule:demo:good"}
    assert one["trigger_instance_id"] == enforcements["instance"].id
    assert one["status"] == "succeeded"
    assert Execution.objects.filter(pk=one["execution_id"]).exists()
    assert "failure_reason" not in one
    assert one["enforced_at"].endswith("Z")
    failed = ok(alice_api.get(f"/api/v1/ruleenforcements/{bad.id}"))
    assert failed["status"] == "failed"
    assert failed["failure_reason"]
    assert "execution_id" not in failed
    assert alice_api.get("/api/v1/ruleenforcements/000000000000000000000000").status_code == 404


def test_rule_enforcement_filters(alice_api, enforcements):
    good, bad = enforcements["good"], enforcements["bad"]
    base = "/api/v1/ruleenforcements/"
    assert ids(alice_api.get(f"{base}?rule_ref=demo.good")) == [good.id]
    assert ids(alice_api.get(f"{base}?rule_id={bad.rule_id}")) == [bad.id]
    assert ids(alice_api.get(f"{base}?execution={good.execution_id}")) == [good.id]
    instance = enforcements["instance"].id
    assert set(ids(alice_api.get(f"{base}?trigger_instance={instance}"))) == {good.id, bad.id}
    assert ids(alice_api.get(f"{base}?trigger_instance=000000000000000000000000")) == []
    later = isotime(timezone.now() + timedelta(minutes=1))
    assert ids(alice_api.get(f"{base}?enforced_at_gt={later}")) == []
    assert len(ids(alice_api.get(f"{base}?enforced_at_lt={later}"))) == 2
    assert len(ids(alice_api.get(f"{base}?limit=1"))) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/triggerinstances?timestamp_gt=garbage",
        "/api/v1/triggerinstances?timestamp_lt=2024-01-01T00:00:00+02:00",
        "/api/v1/ruleenforcements?enforced_at_gt=yesterday",
        "/api/v1/ruleenforcements?enforced_at_lt=2024-01-01",
    ],
)
def test_bad_timestamp_filters_are_400_naming_the_parameter(alice_api, url):
    response = alice_api.get(url)
    assert response.status_code == 400
    assert url.split("?")[1].split("=")[0] in response.json()["faultstring"]


@pytest.mark.parametrize(
    "stamp", ["2024-01-01T00:00:00Z", "2024-01-01 00:00:00.123%2B00", "2024-01-01T00:00:00%2B0000"]
)
def test_utc_timestamp_forms_are_accepted(alice_api, instances, stamp):
    found = ids(alice_api.get(f"/api/v1/triggerinstances?timestamp_gt={stamp}"))
    assert found == [instances["newer"].id, instances["older"].id]


def test_triggers_list_is_not_paginated(alice_api):
    response = alice_api.get("/api/v1/triggers")
    assert response.status_code == 200
    assert "X-Limit" not in response
