"""Rules pages: list with switches, a rule's page, the editor, delete; through Django's test
client with the portal reaching a live server's API over HTTP, then a real webhook."""

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.rule_editor import criteria_from_rows, rows_from_criteria
from st2bridge.models import Execution, Rule

from .portal_support import ESCAPED, SCRIPT, api_as, error_beside
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK_RULE = {
    "name": "on_deploy",
    "pack": "default",
    "description": "",
    "enabled": "on",
    "trigger_type": "core.st2.webhook",
    "trigger-url": "deploys",
    "criteria_key": ["trigger.body.env", ""],
    "criteria_type": ["equals", "equals"],
    "criteria_pattern": ["prod", ""],
    "action_ref": "core.local",
    "action-cmd": "echo deployed {{ trigger.body.version }}",
}


NAME_ERROR = "Use only letters (A–Z, a–z), digits, _ or -: no spaces or other signs."


def make_rule(client, name, enabled=True, **extra):
    return client.create_rule(
        {
            "name": name,
            "pack": "default",
            "enabled": enabled,
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": name}},
            "action": {"ref": "core.noop"},
            **extra,
        }
    )


def test_list_shows_rules_with_their_switch_and_filters(alice_browser):
    alice = api_as("alice")
    make_rule(alice, "first")
    make_rule(alice, "second", enabled=False)
    page = alice_browser.get("/rules").content.decode()
    assert "default.first" in page and "default.second" in page
    assert 'role="switch" aria-checked="true"' in page
    assert 'role="switch" aria-checked="false"' in page
    off = alice_browser.get("/rules?enabled=false").content.decode()
    assert "default.second" in off and "default.first" not in off


def test_list_pages(alice_browser):
    alice = api_as("alice")
    for number in range(27):
        make_rule(alice, f"r{number:02d}")
    first = alice_browser.get("/rules").content.decode()
    assert "27 rules, page 1 of 2." in first and 'rel="next" href="?page=2"' in first
    assert "default.r26" in alice_browser.get("/rules?page=2").content.decode()


def test_switch_with_htmx_answers_the_state_the_api_confirms(alice_browser):
    rule = make_rule(api_as("alice"), "flip")
    response = alice_browser.post(
        "/rules/default.flip/toggle", {"enabled": "false"}, HTTP_HX_REQUEST="true"
    )
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<form class="switch"')
    assert 'aria-checked="false"' in fragment and 'name="enabled" value="true"' in fragment
    assert Rule.objects.get(id=rule["id"]).enabled is False


def test_switch_without_javascript_goes_back_to_the_list(alice_browser):
    make_rule(api_as("alice"), "plain", enabled=False)
    response = alice_browser.post("/rules/default.plain/toggle", {"enabled": "true"})
    assert response.status_code == 302 and response["Location"] == "/rules"
    assert Rule.objects.get(ref="default.plain").enabled is True


def test_list_costs_a_fixed_number_of_api_calls(alice_browser):
    alice = api_as("alice")
    make_rule(alice, "one")
    with CaptureQueriesContext(connection) as few:
        alice_browser.get("/rules")
    for number in range(10):
        make_rule(alice, f"more{number}")
    with CaptureQueriesContext(connection) as many:
        alice_browser.get("/rules")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_create_a_webhook_rule_then_a_post_runs_it(alice_browser, portal):
    editor = alice_browser.get("/rules/new").content.decode()
    assert 'name="trigger-url"' in editor and 'name="criteria_type"' in editor
    assert '<option value="matchregex">' in editor and '<option value="search">' in editor
    with_action = alice_browser.get("/rules/new?action_ref=core.local").content.decode()
    assert 'name="action-cmd"' in with_action
    response = alice_browser.post("/rules/new", WEBHOOK_RULE)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/rules/default.on_deploy"
    rule = Rule.objects.get(ref="default.on_deploy")
    assert rule.criteria == {"trigger.body.env": {"type": "equals", "pattern": "prod"}}
    assert rule.action_parameters == {"cmd": "echo deployed {{ trigger.body.version }}"}
    token = api_as("alice").session.headers["X-Auth-Token"]
    hook = f"{portal.url}/api/v1/webhooks/deploys"
    for env in ("staging", "prod"):
        posted = requests.post(
            hook, json={"env": env, "version": "1.2"}, headers={"X-Auth-Token": token}, timeout=10
        )
        assert posted.status_code == 202
    execution = Execution.objects.get(rule_ref="default.on_deploy")
    assert run_to_completion(execution.id).result["stdout"].strip() == "deployed 1.2"
    page = alice_browser.get("/rules/default.on_deploy").content.decode()
    assert f'href="/executions/{execution.id}"' in page
    assert page.count("status-succeeded") == 1  # one enforcement: staging did not match


def test_editing_keeps_everything_and_changes_what_was_changed(alice_browser):
    alice_browser.post("/rules/new", WEBHOOK_RULE)
    form = alice_browser.get("/rules/default.on_deploy/edit").content.decode()
    assert 'value="deploys"' in form and 'value="prod"' in form
    assert "echo deployed {{ trigger.body.version }}" in form
    changed = {**WEBHOOK_RULE, "criteria_pattern": ["live", ""], "enabled": ""}
    response = alice_browser.post("/rules/default.on_deploy/edit", changed)
    assert response.status_code == 302
    rule = Rule.objects.get(ref="default.on_deploy")
    assert rule.criteria["trigger.body.env"]["pattern"] == "live" and rule.enabled is False


def test_reload_shows_the_new_actions_parameters_and_keeps_the_input(alice_browser):
    data = {**WEBHOOK_RULE, "action_ref": "core.http", "reload": "1"}
    response = alice_browser.post("/rules/new", data)
    page = response.content.decode()
    assert response.status_code == 200 and 'name="action-url"' in page
    assert 'value="on_deploy"' in page and 'value="prod"' in page
    assert not Rule.objects.exists()
    partial = alice_browser.post("/rules/new", data, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="rule-editor">')


def test_add_a_row_to_a_trigger_parameter_without_javascript_saves_nothing(
    alice_browser, admin_api
):
    tagged = {
        "name": "tagged",
        "pack": "default",
        "parameters_schema": {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
        },
    }
    assert admin_api.post("/api/v1/triggertypes", tagged, format="json").status_code == 201
    data = {**WEBHOOK_RULE, "trigger_type": "default.tagged", "trigger-tags-0": "blue"}
    response = alice_browser.post("/rules/new", {**data, "add-row": "trigger-tags"})
    page = response.content.decode()
    assert response.status_code == 200 and not Rule.objects.exists()
    assert 'name="trigger-tags-0" value="blue"' in page and 'name="trigger-tags-1"' in page
    assert "js/forms.js" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"trigger-url": ""}, "trigger-url", "This field is required."),
        (
            {"criteria_key": ["", ""], "criteria_pattern": ["prod", ""]},
            "criteria_key",
            "Every criterion needs a key, such as trigger.body.status.",
        ),
        ({"name": "has/slash"}, "name", NAME_ERROR),
        ({"action-cmd": ""}, "action-cmd", "This field is required."),
    ],
)
def test_errors_are_shown_beside_their_field_with_the_input_kept(
    alice_browser, change, field, message
):
    response = alice_browser.post("/rules/new", {**WEBHOOK_RULE, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, field) == message
    assert "echo deployed {{ trigger.body.version }}" in page or "action-cmd" in change
    assert not Rule.objects.exists()


def test_a_duplicate_name_is_refused_beside_the_name(alice_browser):
    alice_browser.post("/rules/new", WEBHOOK_RULE)
    response = alice_browser.post("/rules/new", WEBHOOK_RULE)
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Rule.objects.count() == 1


def test_delete_asks_first(alice_browser):
    make_rule(api_as("alice"), "doomed")
    assert "Delete the rule" in alice_browser.get("/rules/default.doomed/delete").content.decode()
    assert Rule.objects.filter(ref="default.doomed").exists()
    assert alice_browser.post("/rules/default.doomed/delete")["Location"] == "/rules"
    assert not Rule.objects.filter(ref="default.doomed").exists()


def test_scripts_in_rules_render_inert(alice_browser):
    make_rule(
        api_as("alice"),
        "xss",
        description=SCRIPT,
        criteria={"trigger.body.x": {"type": "equals", "pattern": SCRIPT}},
    )
    for path in ("/rules", "/rules/default.xss", "/rules/default.xss/edit"):
        page = alice_browser.get(path).content.decode()
        assert SCRIPT not in page and (ESCAPED in page or "&lt;script&gt;" in page), path


def test_unknown_rule_is_404(alice_browser):
    assert alice_browser.get("/rules/default.nope").status_code == 404
    assert alice_browser.post("/rules/default.nope/toggle", {"enabled": "true"}).status_code == 404


def test_criteria_patterns_round_trip():
    criteria = {
        "trigger.body.n": {"type": "greaterthan", "pattern": 5},
        "trigger.body.s": {"type": "equals", "pattern": "5"},
        "trigger.body.t": {"type": "equals", "pattern": "plain text"},
        "trigger.body.l": {"type": "inside", "pattern": ["a", "b"]},
    }
    rows = rows_from_criteria(criteria)
    assert criteria_from_rows(rows) == (criteria, {})
