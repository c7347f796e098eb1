"""Rules and the self-service boundary (issue 12, attacks 1 and 2 and the rule secrets of 8),
written as the attacks: a rule may not set runner parameters its owner may not set (403 when
saved, a failed enforcement when it fires), a denied `env` variable is refused, a webhook body
holding a template is data (rendered once: the plaintext secret appears nowhere), and a rule's
secret action parameters are stored encrypted yet reach the action.

Users: bob, a member of a team granted only the `demo` pack; admin (staff); alice, in no team
(the poster of someone else's webhook)."""

import json

import pytest
from django.apps import apps
from django.db import connection

from st2bridge import executions
from st2bridge.models import (
    Execution,
    Rule,
    RuleEnforcement,
    StreamEvent,
    TriggerInstance,
)

from ..catalog_support import register_bundled_packs
from ..portal_support import error_beside

pytestmark = pytest.mark.django_db

DEPLOY = {"environment": "staging", "version": "1.0.0"}
SECRET = "pl41ntext-db-s3cret"
TEMPLATE = "{{ st2kv.system.db_password | decrypt_kv }}"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def rule_body(name="hooked", action="demo.deploy", parameters=None, url=None):
    return {
        "name": name,
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url or name}},
        "action": {"ref": action, "parameters": parameters or {}},
    }


def create(api, **body):
    return api.post("/api/v1/rules", rule_body(**body), format="json")


def fault(response, status):
    assert response.status_code == status, response.json()
    return response.json()["faultstring"]


def post_hook(api, url, body):
    response = api.post(f"/api/v1/webhooks/{url}", body, format="json")
    assert response.status_code == 202, response.json()


# --- runner parameters in rules ------------------------------------------------------------


def test_a_rule_with_env_is_403_for_a_member(member_api):
    parameters = {**DEPLOY, "env": {"BASH_ENV": "$(id >&2)"}}
    message = fault(create(member_api, parameters=parameters), 403)
    assert message == (
        'action.parameters: env: only staff may set the runner parameter "env": '
        "it sets variables in the action's process environment."
    )
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    "extra", [{"cwd": "/"}, {"content_version": "main"}, {"env": "{{ trigger.body.env }}"}]
)
def test_a_rule_setting_a_runner_parameter_is_403_for_a_member(member_api, admin_api, extra):
    [name] = extra
    message = fault(create(member_api, parameters={**DEPLOY, **extra}), 403)
    assert message.startswith(f"action.parameters: {name}: only staff")
    assert create(admin_api, parameters={**DEPLOY, **extra}).status_code == 201


def test_changing_a_rule_to_set_a_runner_parameter_is_403_for_a_member(member_api):
    rule = create(member_api, parameters=DEPLOY).json()
    rule["action"]["parameters"]["cwd"] = "/etc"
    response = member_api.put(f"/api/v1/rules/{rule['id']}", rule, format="json")
    assert fault(response, 403).startswith("action.parameters: cwd: only staff")
    assert "cwd" not in Rule.objects.get().action_parameters


def test_a_literal_denied_env_variable_in_a_rule_is_400_for_staff(admin_api):
    parameters = {**DEPLOY, "env": {"LD_PRELOAD": "/srv/evil.so"}}
    message = fault(create(admin_api, parameters=parameters), 400)
    assert message.startswith('action.parameters: env: "LD_PRELOAD" may not be set')


def test_a_members_rule_given_a_runner_parameter_by_staff_fails_its_enforcement(
    member_api, admin_api
):
    """Staff may edit anyone's rule, but the rule runs as its owner: a member's rule that
    sets a staff-only parameter fails its enforcement, naming it, and starts nothing."""
    rule = create(member_api, parameters=DEPLOY).json()
    rule["action"]["parameters"]["cwd"] = "/etc"
    assert admin_api.put(f"/api/v1/rules/{rule['id']}", rule, format="json").status_code == 200
    post_hook(member_api, "hooked", {})
    enforcement = RuleEnforcement.objects.get()
    assert enforcement.status == "failed"
    assert enforcement.failure_reason.startswith("cwd: only staff may set the runner parameter")
    assert not Execution.objects.exists()


def test_a_denied_env_variable_rendered_at_enforcement_fails_it(admin_api, alice_api):
    parameters = {**DEPLOY, "env": "{{ trigger.body.env | to_json_string }}"}
    assert create(admin_api, parameters=parameters).status_code == 201
    post_hook(alice_api, "hooked", {"env": {"BASH_ENV": "$(id >&2)"}})
    enforcement = RuleEnforcement.objects.get()
    assert enforcement.status == "failed"
    assert '"BASH_ENV" may not be set' in enforcement.failure_reason
    assert not Execution.objects.exists()


# --- templates are rendered once -----------------------------------------------------------


def test_a_template_in_a_webhook_body_is_data_not_rendered_again(admin_api, alice_api):
    """Someone posts a template to a staff member's webhook: the rule renders
    {{ trigger.body.msg }} once, and the template text it yields is the parameter's value."""
    key = {"name": "db_password", "value": SECRET, "secret": True}
    assert admin_api.put("/api/v1/keys/db_password", key, format="json").status_code == 200
    parameters = {"name": "{{ trigger.body.msg }}"}
    assert create(admin_api, action="demo.greet", parameters=parameters).status_code == 201
    post_hook(alice_api, "hooked", {"msg": TEMPLATE})

    execution = Execution.objects.get()
    assert execution.parameters == {"name": TEMPLATE}
    assert executions.runner_values(execution)["name"] == TEMPLATE
    shown = admin_api.get(f"/api/v1/executions/{execution.id}?show_secrets=true").json()
    instances = admin_api.get("/api/v1/triggerinstances").content.decode()
    events = StreamEvent.objects.values_list("data", flat=True)
    for text in (
        json.dumps(shown),
        instances,
        json.dumps(list(events)),
        json.dumps(list(TriggerInstance.objects.values_list("payload", flat=True))),
        json.dumps(executions.stored_parameters(execution)),
    ):
        assert SECRET not in text
    assert RuleEnforcement.objects.get().status == "succeeded"


def test_an_action_default_template_is_still_rendered(admin_api, alice_api):
    """The action's own template defaults are rendered, as StackStorm does (core.echo's cmd
    is built from the message) and a rule's template parameters once, with the payload."""
    parameters = {"message": "got {{ trigger.body.msg }}"}
    assert create(admin_api, action="core.echo", parameters=parameters).status_code == 201
    post_hook(alice_api, "hooked", {"msg": "{{ 7 * 6 }}"})
    values = executions.runner_values(Execution.objects.get())
    assert values["message"] == "got {{ 7 * 6 }}"
    assert values["cmd"] == "echo 'got {{ 7 * 6 }}'"


# --- rule secrets at rest ------------------------------------------------------------------


def rule_row_text(rule_id):
    """Every column of the rule's row, as the database holds it."""
    table = connection.ops.quote_name(Rule._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [rule_id])  # noqa: S608
        return json.dumps(cursor.fetchone(), default=str)


def test_a_rules_secret_parameter_is_stored_encrypted_and_still_delivered(member_api):
    canary = "canary-rule-token-4242"
    parameters = {**DEPLOY, "api_token": canary}
    rule = create(member_api, parameters=parameters).json()
    assert rule["action"]["parameters"]["api_token"] == "********"
    assert canary not in rule_row_text(rule["id"])
    assert Rule.objects.get().secret_action_parameters

    # Read back and saved again as GET shows it (masked): the secret is kept.
    rule["action"]["parameters"]["version"] = "1.0.1"
    assert member_api.put(f"/api/v1/rules/{rule['id']}", rule, format="json").status_code == 200
    assert canary not in rule_row_text(rule["id"])

    post_hook(member_api, "hooked", {})
    execution = Execution.objects.get()
    assert executions.runner_values(execution)["api_token"] == canary
    assert execution.parameters["api_token"] == "********"
    assert execution.parameters["version"] == "1.0.1"


def test_rules_stored_in_plaintext_before_keep_working_and_are_migrated(member_api):
    """A rule saved before secrets were encrypted holds the value in action_parameters: it
    still runs, and migration 0008 moves the value out, encrypted."""
    canary = "canary-legacy-token-777"
    rule = create(member_api, parameters=DEPLOY).json()
    Rule.objects.filter(pk=rule["id"]).update(
        action_parameters={**DEPLOY, "api_token": canary}, secret_action_parameters=""
    )
    post_hook(member_api, "hooked", {})
    assert executions.runner_values(Execution.objects.get())["api_token"] == canary

    migration = __import__(
        "st2bridge.migrations.0008_encrypt_rule_secrets", fromlist=["encrypt_secrets"]
    )
    migration.encrypt_secrets(apps, None)
    assert canary not in rule_row_text(rule["id"])
    post_hook(member_api, "hooked", {})
    latest = Execution.objects.order_by("-start_timestamp").first()
    assert executions.runner_values(latest)["api_token"] == canary
    migration.decrypt_secrets(apps, None)
    assert Rule.objects.get().action_parameters["api_token"] == canary


# --- the portal ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_portal_shows_the_refusal_beside_the_field_with_the_input_kept(alice_browser):
    data = {
        "name": "on_deploy",
        "pack": "default",
        "description": "",
        "enabled": "on",
        "trigger_type": "core.st2.webhook",
        "trigger-url": "deploys",
        "criteria_key": [""],
        "criteria_type": ["equals"],
        "criteria_pattern": [""],
        "action_ref": "core.local",
        "action-cmd": "echo deployed",
        "action-cwd": "/var/lib",
    }
    response = alice_browser.post("/rules/new", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "only staff may set the runner parameter" in error_beside(page, "action-cwd")
    assert 'value="/var/lib"' in page and "echo deployed" in page
    assert not Rule.objects.exists()
