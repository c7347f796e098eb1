"""Rules pages: list with switches, a rule's page, the editor, delete; through Django's test
client with the portal reaching a live server's API over HTTP, then a real webhook."""

import re

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.rule_editor import criteria_from_rows, rows_from_criteria
from st2bridge import rulebook
from st2bridge.models import Execution, Rule

from .portal_support import ESCAPED, SCRIPT, api_as, error_beside, register_action
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


# --- issue 14 --------------------------------------------------------------------------------


def test_a_name_its_help_text_forbids_is_refused_beside_the_name(alice_browser):
    """Defect 2: "Letters, digits, _ or -" but `bad name!` was saved as default.bad name!."""
    response = alice_browser.post("/rules/new", {**WEBHOOK_RULE, "name": "bad name!"})
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "name") == NAME_ERROR
    assert 'value="bad name!"' in page
    assert not Rule.objects.exists()
    assert (
        alice_browser.post("/rules/new", {**WEBHOOK_RULE, "name": "ok-name_2"}).status_code == 302
    )


def test_a_rule_named_otherwise_through_the_api_can_still_be_edited(alice_browser):
    """The API (like StackStorm) refuses only a slash in a name; the portal keeps such a
    rule's name when editing it."""
    make_rule(api_as("alice"), "made by api")
    edit = {**WEBHOOK_RULE, "name": "made by api", "trigger-url": "made by api"}
    response = alice_browser.post("/rules/default.made by api/edit", edit)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Rule.objects.get(ref="default.made by api").action_ref == "core.local"


HTTP_RULE = {
    **WEBHOOK_RULE,
    "action_ref": "core.http",
    "action-url": "https://example.com/{{ trigger.body.path }}",
}


def test_every_error_of_the_editor_at_once_with_a_summary(alice_browser):
    """Defect 5: the action parameters' errors (pattern, required, type) came from the API
    one at a time, after the rest of the form was right."""
    data = {
        **HTTP_RULE,
        "name": "bad name!",
        "trigger-url": "",
        "criteria_key": ["", ""],
        "criteria_pattern": ["prod", ""],
        "action-url": "",
        "action-timeout": "soon",
        "action-method": "FETCH",
        "action-headers": "{nope",
    }
    response = alice_browser.post("/rules/new", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "name") == NAME_ERROR
    assert error_beside(page, "trigger-url") == "This field is required."
    assert error_beside(page, "criteria_key").startswith("Every criterion needs a key")
    assert error_beside(page, "action-url") == "This field is required."
    assert error_beside(page, "action-timeout") == "Enter a number."
    assert error_beside(page, "action-method").startswith("Select a valid choice.")
    assert error_beside(page, "action-headers").startswith("Not valid JSON")
    start = page.index('id="error-summary"')
    summary = page[start : page.index("</ul>", start)]
    assert "7 problems to fix" in summary
    for target in (
        "id_name",
        "id_trigger-url",
        "criteria-0-key",
        "id_action-url",
        "id_action-timeout",
        "id_action-method",
        "id_action-headers",
    ):
        assert f'href="#{target}"' in summary, target
    assert not Rule.objects.exists()


def test_schema_errors_of_action_parameters_are_found_before_the_api(alice_browser, admin_api):
    """What only the schema checks (a pattern, a maximum length) shows beside every field
    at once, with the fields' own errors."""
    coded = {
        "code": {"type": "string", "pattern": "^[A-Z]+$", "required": True},
        "short": {"type": "string", "maxLength": 3},
        "count": {"type": "integer"},
    }
    register_action(admin_api, "coded", coded)
    data = {
        **WEBHOOK_RULE,
        "action_ref": "default.coded",
        "action-code": "lower",
        "action-short": "{{ trigger.body.s }}",  # Jinja: checked when it renders
        "action-count": "x",
    }
    page = alice_browser.post("/rules/new", data).content.decode()
    assert error_beside(page, "action-code") == "code: 'lower' does not match '^[A-Z]+$'"
    assert error_beside(page, "action-count") == "Enter a whole number."
    assert error_beside(page, "action-short") is None
    assert not Rule.objects.exists()


def test_action_parameters_are_typed_like_the_action_form(alice_browser):
    """Friction: the rule editor's action parameters were all plain text: a secret showed
    as a clear textarea, `timeout` was not a number."""
    page = alice_browser.get("/rules/new?action_ref=core.http").content.decode()
    assert re.search(r'<input type="password" name="action-password"', page)
    assert re.search(
        r'<input type="number" name="action-timeout" step="any"[^>]*placeholder="60"', page
    )
    assert '<select name="action-method"' in page
    assert '<select name="action-verify_ssl_cert"' in page  # three states: not set, true, false
    assert re.search(r'<textarea name="action-params"[^>]*placeholder="\{&quot;name', page)
    assert 'name="action-url_hosts_blacklist-0"' in page  # an array of strings: rows
    typed = {**HTTP_RULE, "action-timeout": "5", "action-method": "POST"}
    typed |= {"action-verify_ssl_cert": "false", "action-params": '{"a": "{{ trigger.body.a }}"}'}
    assert alice_browser.post("/rules/new", typed).status_code == 302
    assert Rule.objects.get().action_parameters == {
        "url": "https://example.com/{{ trigger.body.path }}",
        "timeout": 5,
        "method": "POST",
        "verify_ssl_cert": False,
        "params": {"a": "{{ trigger.body.a }}"},
    }


def test_a_typed_parameter_switches_to_jinja_and_back(alice_browser):
    data = {**HTTP_RULE, "action-timeout": "5"}
    switched = alice_browser.post("/rules/new", {**data, "jinja_toggle": "timeout"})
    page = switched.content.decode()
    assert switched.status_code == 200 and not Rule.objects.exists()
    assert re.search(r'<input type="text" name="action-timeout" value="5"[^>]*autofocus', page)
    assert '<input type="hidden" name="action_jinja" value="timeout">' in page
    assert "invalid-feedback" not in page  # a switch checks nothing
    jinja = {**data, "action_jinja": "timeout", "action-timeout": "{{ trigger.body.t }}"}
    assert alice_browser.post("/rules/new", jinja).status_code == 302
    assert Rule.objects.get().action_parameters["timeout"] == "{{ trigger.body.t }}"
    edit = alice_browser.get("/rules/default.on_deploy/edit").content.decode()
    assert 'name="action-timeout" value="{{ trigger.body.t }}"' in edit  # opens as Jinja
    back = {**jinja, "jinja_toggle": "timeout"}
    page = alice_browser.post("/rules/default.on_deploy/edit", back).content.decode()
    assert '<input type="number" name="action-timeout"' in page
    assert 'name="action_jinja"' not in page


def test_a_secret_of_a_rule_is_never_shown_and_kept_when_left_blank(alice_browser):
    secret = "hunter2-rule-secret"
    created = alice_browser.post("/rules/new", {**HTTP_RULE, "action-password": secret})
    assert created.status_code == 302
    page = alice_browser.get("/rules/default.on_deploy/edit").content.decode()
    assert secret not in page and "********" not in page
    assert "Leave blank to keep the rule&#x27;s value." in page
    unchanged = {**HTTP_RULE, "action-method": "PUT"}
    assert alice_browser.post("/rules/default.on_deploy/edit", unchanged).status_code == 302
    rule = Rule.objects.get()
    stored = rulebook.stored_values(rule.action_parameters, rule.secret_action_parameters)
    assert stored["password"] == secret and stored["method"] == "PUT"
    bad = alice_browser.post("/rules/default.on_deploy/edit", {**unchanged, "name": "x y"})
    assert secret not in bad.content.decode()


def test_a_webhook_rules_page_shows_the_url_to_call_and_a_curl_example(alice_browser):
    """Friction: the rule page did not show the webhook URL to call."""
    assert alice_browser.post("/rules/new", WEBHOOK_RULE).status_code == 302
    page = alice_browser.get("/rules/default.on_deploy").content.decode()
    assert '<code id="webhook-url">http://testserver/api/v1/webhooks/deploys</code>' in page
    curl = page[
        page.index('id="webhook-curl"') : page.index("</pre>", page.index('id="webhook-curl"'))
    ]
    assert "curl -X POST http://testserver/api/v1/webhooks/deploys" in curl
    assert "St2-Api-Key: &lt;your API key&gt;" in curl
    assert "{&quot;env&quot;: &quot;prod&quot;}" in curl  # meets the rule's criteria
    token = alice_browser.session["st2_token"]
    assert token and token not in page
    timer = make_rule(
        api_as("alice"),
        "ticking",
        trigger={"type": "core.st2.IntervalTimer", "parameters": {"unit": "seconds", "delta": 60}},
    )
    assert "webhook-url" not in alice_browser.get(f"/rules/{timer['ref']}").content.decode()
