"""Rules firing for real: webhooks (notes §6.3, checklist 86-88), matching of the enabled rules
of the incoming trigger with Jinja criteria (§5.4), parameter rendering with sandboxed Jinja
and the st2 filters (§4.6), rule-started executions that run and name their rule and trigger
instance, and chaining through core.st2.generic.actiontrigger with its guard
(settings.ST2_RULE_CHAIN_LIMIT)."""

import json

import pytest
import yaml

from st2bridge.dispatch import render_values
from st2bridge.models import Execution, RuleEnforcement, TriggerInstance

from .catalog_support import change_action, register_bundled_packs
from .worker_support import Worker, run_to_completion, run_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def make_rule(api, name, trigger, action="core.local", criteria=None, enabled=True, **params):
    body = {
        "name": name,
        "pack": "demo",
        "enabled": enabled,
        "trigger": trigger,
        "criteria": criteria or {},
        "action": {"ref": action, "parameters": params},
    }
    response = api.post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def hook_rule(api, name="on_hook", url="deploy", **extra):
    return make_rule(api, name, {"type": "core.st2.webhook", "parameters": {"url": url}}, **extra)


def post_hook(api, url, body, **headers):
    return api.post(f"/api/v1/webhooks/{url}", body, format="json", **headers)


def executions_of(rule):
    return list(Execution.objects.filter(rule_ref=rule["ref"]).order_by("start_timestamp"))


def enforcements_of(rule):
    return list(RuleEnforcement.objects.filter(rule_ref=rule["ref"]))


def rendered_cmd(api, rule, body, url="deploy"):
    """Fire the hook and return the cmd the rule's execution was requested with."""
    assert post_hook(api, url, body).status_code == 202
    [execution] = executions_of(rule)
    return execution.parameters["cmd"]


def set_key(api, name, value, **extra):
    response = api.put(
        f"/api/v1/keys/{name}", {"name": name, "value": value, **extra}, format="json"
    )
    assert response.status_code == 200, response.json()


# --- webhooks ---------------------------------------------------------------------------------


def test_custom_webhook_fires_its_rule_with_headers_and_body(alice_api):
    rule = hook_rule(alice_api, cmd="echo {{ trigger.body.name }}")
    response = post_hook(alice_api, "deploy", {"name": "st2"}, HTTP_X_CUSTOM="yes")
    assert response.status_code == 202
    assert response.json() == {"name": "st2"}

    [instance] = TriggerInstance.objects.filter(trigger=rule["trigger"]["ref"])
    assert instance.status == "processed"
    assert instance.payload["body"] == {"name": "st2"}
    assert instance.payload["headers"]["X-Custom"] == "yes"
    assert instance.payload["headers_lower"]["x-custom"] == "yes"
    assert not {"x-auth-token", "st2-api-key", "cookie"} & set(instance.payload["headers_lower"])

    [execution] = executions_of(rule)
    assert execution.status == "requested"
    assert execution.parameters["cmd"] == "echo st2"
    assert execution.context["rule"] == {"id": rule["id"], "name": rule["name"], "ref": rule["ref"]}
    assert execution.context["trigger_instance"] == {"id": instance.id, "name": None}
    shown = alice_api.get(f"/api/v1/executions/{execution.id}").json()
    assert shown["rule"]["ref"] == rule["ref"]
    assert shown["trigger_instance"]["id"] == instance.id

    [enforcement] = enforcements_of(rule)
    assert enforcement.status == "succeeded"
    assert enforcement.execution_id == execution.id


def test_webhook_with_slashes_and_array_body(alice_api):
    rule = hook_rule(alice_api, url="/with/mixed/slash/", cmd="echo hi")
    response = post_hook(alice_api, "with/mixed/slash", [1, 2])
    assert response.status_code == 202
    assert response.json() == [1, 2]
    assert len(executions_of(rule)) == 1


def test_unknown_hook_is_404_and_webhooks_need_credentials(alice_api, anon_api):
    hook_rule(alice_api, cmd="echo hi")
    response = post_hook(alice_api, "nope", {})
    assert response.status_code == 404
    assert response.json()["faultstring"] == "Webhook nope not registered with st2"
    assert post_hook(anon_api, "deploy", {}).status_code == 401
    assert anon_api.get("/api/v1/webhooks").status_code == 401
    assert not TriggerInstance.objects.exists()


def test_webhook_accepts_an_api_key(alice_api, anon_api):
    rule = hook_rule(alice_api, cmd="echo hi")
    key = alice_api.post("/api/v1/apikeys", {}, format="json").json()["key"]
    response = post_hook(anon_api, "deploy", {"a": 1}, HTTP_ST2_API_KEY=key)
    assert response.status_code == 202
    [instance] = TriggerInstance.objects.all()
    assert "st2-api-key" not in instance.payload["headers_lower"]
    assert len(executions_of(rule)) == 1


def test_list_and_get_webhooks(alice_api):
    rule = hook_rule(alice_api, cmd="echo hi")
    listed = alice_api.get("/api/v1/webhooks").json()
    assert [hook["ref"] for hook in listed] == [rule["trigger"]["ref"]]
    assert listed[0]["parameters"] == {"url": "deploy"}
    assert alice_api.get("/api/v1/webhooks/deploy").json()["ref"] == rule["trigger"]["ref"]
    assert alice_api.get("/api/v1/webhooks/other").status_code == 404


def test_webhook_bodies_form_and_bad_content(alice_api):
    hook_rule(alice_api, cmd="echo hi")
    form = alice_api.post(
        "/api/v1/webhooks/deploy", "form=test", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 202
    assert TriggerInstance.objects.get().payload["body"] == {"form": ["test"]}
    multipart = alice_api.post("/api/v1/webhooks/deploy", {"field": "value"}, format="multipart")
    assert multipart.status_code == 202
    assert TriggerInstance.objects.order_by("-occurrence_time").first().payload["body"] == {
        "field": ["value"]
    }
    bad = alice_api.post("/api/v1/webhooks/deploy", "{nope", content_type="application/json")
    assert bad.status_code == 400
    assert "Failed to parse request body" in bad.json()["faultstring"]
    odd = alice_api.post("/api/v1/webhooks/deploy", "x", content_type="foo/invalid")
    assert odd.status_code == 400
    assert "Unsupported Content-Type" in odd.json()["faultstring"]


@pytest.fixture
def custom_type(admin_api):
    # StackStorm's schema dialect: `required: true` on the property.
    body = {
        "name": "pr-merged",
        "pack": "git",
        "payload_schema": {
            "type": "object",
            "properties": {"branch": {"type": "string", "required": True}},
        },
    }
    response = admin_api.post("/api/v1/triggertypes", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["ref"]


def test_st2_webhook_fires_any_trigger_with_a_valid_payload(alice_api, custom_type):
    rule = make_rule(alice_api, "on_merge", {"type": custom_type}, cmd="echo {{ trigger.branch }}")
    body = {"trigger": custom_type, "payload": {"branch": "main"}}
    for url in ("st2", "st2/"):
        response = post_hook(alice_api, url, body)
        assert response.status_code == 202
        assert response.json() == body
    assert [e.parameters["cmd"] for e in executions_of(rule)] == ["echo main", "echo main"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"trigger": "git.pr-merged", "payload": "invalid"}, "'invalid' is not of type 'object'"),
        ({"trigger": "git.pr-merged", "payload": {"branch": 5}}, "5 is not of type 'string'"),
        ({"trigger": "git.pr-merged", "payload": {}}, "'branch' is a required property"),
        ({"payload": {}}, "Trigger not specified."),
        ([1], "Webhook body needs to be an object, got: array"),
        ({"trigger": "no.such"}, 'Trigger type with reference "no.such" doesn\'t exist'),
    ],
)
def test_st2_webhook_rejects_bad_requests(alice_api, custom_type, body, message):
    response = post_hook(alice_api, "st2", body)
    assert response.status_code == 400
    assert message in response.json()["faultstring"]
    if isinstance(body, dict) and "payload" in body and body.get("trigger"):
        assert "Trigger payload validation failed" in response.json()["faultstring"]
    assert not TriggerInstance.objects.exists()


# --- matching ---------------------------------------------------------------------------------


def test_only_enabled_rules_of_the_incoming_trigger_are_matched(alice_api):
    on = hook_rule(alice_api, "on", cmd="echo on")
    off = hook_rule(alice_api, "off", cmd="echo off", enabled=False)
    other = hook_rule(alice_api, "other", url="elsewhere", cmd="echo other")
    assert post_hook(alice_api, "deploy", {}).status_code == 202
    assert len(executions_of(on)) == 1
    assert executions_of(off) == executions_of(other) == []
    assert enforcements_of(off) == enforcements_of(other) == []

    alice_api.put(f"/api/v1/rules/{off['id']}", {**off, "enabled": True}, format="json")
    assert post_hook(alice_api, "deploy", {}).status_code == 202
    assert len(executions_of(off)) == 1


def test_backstop_rules_fire_only_when_no_standard_rule_matched(alice_api):
    standard = hook_rule(
        alice_api,
        "standard",
        cmd="echo standard",
        criteria={"trigger.body.kind": {"type": "equals", "pattern": "known"}},
    )
    backstop = hook_rule(alice_api, "backstop", cmd="echo backstop")
    alice_api.put(
        f"/api/v1/rules/{backstop['id']}",
        {**backstop, "type": {"ref": "backstop", "parameters": {}}},
        format="json",
    )
    post_hook(alice_api, "deploy", {"kind": "known"})
    assert (len(executions_of(standard)), len(executions_of(backstop))) == (1, 0)
    post_hook(alice_api, "deploy", {"kind": "other"})
    assert (len(executions_of(standard)), len(executions_of(backstop))) == (1, 1)


def test_criteria_with_jinja_patterns(alice_api, admin_api):
    set_key(admin_api, "expected_env", "prod")
    rule = hook_rule(
        alice_api,
        cmd="echo go",
        criteria={
            "trigger.body.env": {"type": "equals", "pattern": "{{ st2kv.system.expected_env }}"},
            "trigger.body.count": {"type": "greaterthan", "pattern": "{{ trigger.body.limit }}"},
        },
    )
    post_hook(alice_api, "deploy", {"env": "dev", "count": 9, "limit": 3})
    post_hook(alice_api, "deploy", {"env": "prod", "count": 2, "limit": 3})
    assert executions_of(rule) == []
    assert enforcements_of(rule) == []  # no match is not an enforcement
    post_hook(alice_api, "deploy", {"env": "prod", "count": 9, "limit": 3})
    assert len(executions_of(rule)) == 1


def test_a_criteria_type_error_is_a_failed_enforcement(alice_api):
    rule = hook_rule(
        alice_api,
        cmd="echo go",
        criteria={
            "trigger.body.count": {"type": "lessthan", "pattern": "{{ trigger.body.limit }}"}
        },
    )
    assert post_hook(alice_api, "deploy", {"count": 1, "limit": "x"}).status_code == 202
    [enforcement] = enforcements_of(rule)
    assert enforcement.status == "failed"
    assert "trigger.body.count" in enforcement.failure_reason
    assert executions_of(rule) == []


# --- rendering --------------------------------------------------------------------------------


def test_datastore_values_in_parameters(alice_api, admin_api):
    """The rule's owner (staff here: only staff decrypt system secrets) reads the datastore."""
    set_key(admin_api, "region", "eu-west")
    set_key(admin_api, "password", "s3cret", secret=True)
    set_key(admin_api, "nick", "ally", scope="user")
    rule = hook_rule(
        admin_api,
        cmd="echo {{ st2kv.system.region }} {{ st2kv.user.nick }} "
        "{{ st2kv.system.password | decrypt_kv }} [{{ st2kv.system.missing }}]",
    )
    assert rendered_cmd(alice_api, rule, {}) == "echo eu-west ally s3cret []"


def test_a_secret_without_decrypt_kv_renders_as_ciphertext(alice_api, admin_api):
    set_key(admin_api, "password", "s3cret", secret=True)
    rule = hook_rule(alice_api, cmd="echo {{ st2kv.system.password }}")
    cmd = rendered_cmd(alice_api, rule, {})
    assert cmd.startswith("echo ") and "s3cret" not in cmd and len(cmd) > 20


def test_st2_filters(alice_api):
    rule = hook_rule(
        alice_api,
        cmd="{{ trigger.body.data | to_json_string }}"
        "|{{ trigger.body.data | to_yaml_string }}"
        "|{{ trigger.body.quote | json_escape }}"
        "|{{ trigger.body.version | regex_match('^v[0-9]+') }}"
        "|{{ trigger.body.version | regex_replace('[0-9]', 'N') }}",
    )
    data = {"b": [1, 2], "a": "x"}
    body = {"data": data, "quote": 'say "hi"\n', "version": "v12.3"}
    parts = rendered_cmd(alice_api, rule, body).split("|")
    assert json.loads(parts[0]) == data
    assert yaml.safe_load(parts[1]) == data
    assert parts[2] == 'say \\"hi\\"\\n'
    assert parts[3:] == ["True", "vNN.N"]


def test_use_none_renders_a_none_value():
    # Through a rule the None then meets parameter validation (params.check_values), which
    # does not yet accept None for an optional typed parameter as StackStorm does.
    context = {"trigger": {"nothing": None, "some": "x"}}
    values = {"a": "{{ trigger.nothing | use_none }}", "b": "{{ trigger.some | use_none }}"}
    assert render_values(values, context) == {"a": None, "b": "x"}


@pytest.mark.parametrize(
    "template, reason",
    [
        ("echo {{ trigger.body.missing }}", "missing"),
        ("echo {{ trigger.body.name", "Failed to render parameter"),
        ("echo {{ 1 // 0 }}", "division"),
        ("echo {{ trigger.body.name | regex_replace('(', 'x') }}", "Failed to render parameter"),
        ("echo {{ trigger.__class__.__mro__ }}", "Failed to render parameter"),
        ("echo {{ st2kv.system.missing | decrypt_kv }}", "st2kv.system.missing"),
    ],
)
def test_a_rendering_error_fails_only_that_enforcement(alice_api, template, reason):
    broken = hook_rule(alice_api, "broken", cmd=template)
    fine = hook_rule(alice_api, "fine", cmd="echo {{ trigger.body.name }}")
    response = post_hook(alice_api, "deploy", {"name": "st2"})
    assert response.status_code == 202
    assert response.json() == {"name": "st2"}
    [failed] = enforcements_of(broken)
    assert failed.status == "failed"
    assert reason in failed.failure_reason
    assert executions_of(broken) == []
    assert [e.parameters["cmd"] for e in executions_of(fine)] == ["echo st2"]
    assert TriggerInstance.objects.get().status == "processing_failed"


def test_a_disabled_action_is_a_failed_enforcement(alice_api):
    rule = hook_rule(alice_api, cmd="echo hi")
    change_action("core.local", enabled=False)
    assert post_hook(alice_api, "deploy", {}).status_code == 202
    [failed] = enforcements_of(rule)
    assert failed.failure_reason == 'Unable to execute. Action "core.local" is disabled.'


def test_a_deactivated_owners_rules_fail_instead_of_running(alice, alice_api, bob_api):
    rule = hook_rule(alice_api, cmd="echo hi")
    alice.is_active = False
    alice.save()
    assert post_hook(bob_api, "deploy", {}).status_code == 202  # someone else posts
    [failed] = enforcements_of(rule)
    assert failed.failure_reason == (
        'User "alice" may not run action "core.local": the user is disabled.'
    )
    assert not executions_of(rule)


# --- executions started by rules run for real, and chain -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rule_started_execution_runs_and_names_rule_and_trigger_instance(alice_api):
    rule = hook_rule(alice_api, cmd="echo deploying {{ trigger.body.app }}")
    post_hook(alice_api, "deploy", {"app": "portal"})
    [execution] = executions_of(rule)
    done = run_to_completion(execution.id)
    assert done.status == "succeeded"
    assert done.result["stdout"] == "deploying portal"
    instance = TriggerInstance.objects.get(trigger=rule["trigger"]["ref"])
    assert done.context["rule"]["id"] == rule["id"]
    assert done.context["rule"]["name"] == rule["name"]
    assert done.context["trigger_instance"]["id"] == instance.id


ACTION_TRIGGER = {"type": "core.st2.generic.actiontrigger"}


def when_action(ref):
    return {"trigger.action_ref": {"type": "equals", "pattern": ref}}


@pytest.mark.django_db(transaction=True)
def test_a_finished_execution_fires_the_action_trigger(alice_api):
    follow = make_rule(
        alice_api,
        "after_local",
        ACTION_TRIGGER,
        action="core.echo",
        criteria=when_action("core.local"),
        message="{{ trigger.status }} {{ trigger.result.stdout }}",
    )
    first = alice_api.post(
        "/api/v1/executions",
        {"action": "core.local", "parameters": {"cmd": "echo one"}},
        format="json",
    ).json()
    worker = Worker(concurrency=2, poll_interval=0.05)
    try:
        run_until(lambda: executions_of(follow), worker)
        [second] = executions_of(follow)
        run_until(lambda: Execution.objects.get(pk=second.id).status == "succeeded", worker)
    finally:
        worker.drain()
    instance = TriggerInstance.objects.get(payload__execution_id=first["id"])
    assert instance.trigger == "core.st2.generic.actiontrigger"
    assert instance.payload["action_ref"] == "core.local"
    assert instance.payload["status"] == "succeeded"
    second.refresh_from_db()
    assert second.parameters["message"] == "succeeded one"
    assert second.result["stdout"] == "succeeded one"
    assert second.context["trigger_instance"]["id"] == instance.id
    # core.echo's own action trigger fails the criteria: the chain ends there.
    assert TriggerInstance.objects.filter(payload__execution_id=second.id).exists()
    assert len(executions_of(follow)) == 1


def test_a_self_triggering_rule_stops_at_the_chain_limit(alice_api, settings):
    settings.ST2_RULE_CHAIN_LIMIT = 3
    loop = make_rule(
        alice_api, "loop", ACTION_TRIGGER, action="core.noop", criteria=when_action("core.noop")
    )
    bystander = make_rule(
        alice_api, "bystander", ACTION_TRIGGER, criteria=when_action("x.y"), cmd="echo x"
    )
    alice_api.post("/api/v1/executions", {"action": "core.noop"}, format="json")
    worker = Worker(concurrency=1, poll_interval=0.01)
    run_until(lambda: RuleEnforcement.objects.filter(status="failed").exists(), worker)
    worker.drain()
    assert len(executions_of(loop)) == 3
    assert all(e.status == "succeeded" for e in executions_of(loop))
    assert [e.context["rule_depth"] for e in executions_of(loop)] == [1, 2, 3]
    [failed] = RuleEnforcement.objects.filter(status="failed")
    assert failed.rule_ref == loop["ref"]
    assert failed.failure_reason.startswith("Rule chain limit reached")
    assert "3 rules deep (ST2_RULE_CHAIN_LIMIT = 3)" in failed.failure_reason
    assert enforcements_of(bystander) == []  # rules that do not match are not stopped
    assert Execution.objects.filter(status="requested").count() == 0


def test_canceling_a_requested_execution_fires_the_action_trigger(alice_api):
    follow = make_rule(
        alice_api,
        "after_cancel",
        ACTION_TRIGGER,
        action="core.noop",
        criteria=when_action("core.local"),
    )
    launched = alice_api.post(
        "/api/v1/executions",
        {"action": "core.local", "parameters": {"cmd": "echo x"}},
        format="json",
    ).json()
    assert alice_api.delete(f"/api/v1/executions/{launched['id']}").status_code == 200
    instance = TriggerInstance.objects.get(payload__execution_id=launched["id"])
    assert instance.payload["status"] == "canceled"
    assert instance.posted_by == "alice"
    [requested] = executions_of(follow)
    assert requested.context["trigger_instance"]["id"] == instance.id
