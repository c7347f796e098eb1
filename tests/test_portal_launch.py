"""Launching from the generated form and following the execution, through Django's test
Client, the portal reaching the embedded API of a live server over HTTP with St2Client."""

import re

import pytest

from st2bridge.client import St2Client
from st2bridge.models import Execution

from .portal_support import ESCAPED, SCRIPT, TARGETS, error_beside, register_action
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)


def field_html(page, name):
    """The markup of the field `name`: from its label to the next field."""
    start = page.index(f'<label class="form-label" for="id_{name}">')
    end = page.find('<div class="mb-3', start)
    return page[start : end if end != -1 else None]


def launch(client, ref, data):
    return client.post(f"/actions/{ref}", data)


def test_action_page_shows_the_form_with_csrf(alice_browser):
    page = alice_browser.get("/actions/core.local").content.decode()
    assert 'method="post" action="/actions/core.local"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<textarea name="cmd"' not in page and 'name="cmd"' in page


def test_form_post_without_csrf_token_is_refused(alice_browser):
    alice_browser.handler.enforce_csrf_checks = True  # signed in, then a forged post
    response = alice_browser.post("/actions/core.local", {"cmd": "echo hi"})
    assert response.status_code == 403
    assert not Execution.objects.exists()


def test_launch_core_local_redirects_to_the_execution_page(alice_browser):
    response = launch(alice_browser, "core.local", {"cmd": "echo hello from the form"})
    assert response.status_code == 302, response.content.decode()
    execution = Execution.objects.get()
    assert response["Location"] == f"/executions/{execution.id}"
    assert execution.action_ref == "core.local"
    assert execution.parameters == {"cmd": "echo hello from the form"}
    page = alice_browser.get(response["Location"]).content.decode()
    assert f"<code>{execution.id}</code>" in page
    assert "/static/js/execution.js" in page  # still running: the page polls
    assert '<meta http-equiv="refresh"' in page  # and refreshes itself without JavaScript
    partial = alice_browser.get(response["Location"] + "/status").content.decode()
    assert partial.startswith('<div id="execution-status" data-running="true"')
    assert "No output yet." in partial


def test_execution_page_shows_the_finished_result(alice_browser):
    response = launch(alice_browser, "core.local", {"cmd": f"echo '{SCRIPT}'; echo oops >&2"})
    execution_id = response["Location"].rsplit("/", 1)[1]
    assert run_to_completion(execution_id).status == "succeeded"
    page = alice_browser.get(response["Location"]).content.decode()
    assert 'status status-succeeded">succeeded</span>' in page
    assert f'<pre class="output" id="stdout">{ESCAPED}</pre>' in page
    assert '<pre class="output" id="stderr">oops</pre>' in page
    assert "&quot;return_code&quot;: 0" in page  # the rest of the result, pretty-printed JSON
    assert SCRIPT not in page
    assert "/static/js/execution.js" not in page and "http-equiv" not in page
    partial = alice_browser.get(response["Location"] + "/status")
    assert partial.status_code == 200 and partial["Cache-Control"] == "no-store"
    assert partial.content.decode().startswith('<div id="execution-status" data-running="false"')


def test_bad_integer_keeps_the_input_and_shows_the_error_beside_the_field(alice_browser):
    data = {"environment": "staging", "version": "1.4.2", "replicas": "lots", "services": "[]"}
    response = launch(alice_browser, "demo.deploy", data)
    assert response.status_code == 400
    page = response.content.decode()
    replicas = field_html(page, "replicas")
    assert 'value="lots"' in replicas
    assert "Enter a whole number." in replicas
    assert 'value="1.4.2"' in field_html(page, "version")
    assert '<option value="staging" selected>' in field_html(page, "environment")
    assert not Execution.objects.exists()


def test_schema_error_from_params_is_shown_beside_its_field(alice_browser):
    data = {"environment": "staging", "version": "-nope", "services": '["a", "a"]'}
    page = launch(alice_browser, "demo.deploy", data).content.decode()
    assert "version: &#x27;-nope&#x27; does not match" in field_html(page, "version")
    assert not Execution.objects.exists()


def test_a_secret_never_comes_back_in_the_html(alice_browser):
    secret = "hunter2-very-secret"
    bad = {"environment": "staging", "version": "1", "replicas": "0", "api_token": secret}
    page = launch(alice_browser, "demo.deploy", bad).content.decode()
    assert "Ensure this value is greater than or equal to 1." in field_html(page, "replicas")
    assert secret not in page
    response = launch(alice_browser, "demo.deploy", {**bad, "replicas": "1"})
    assert response.status_code == 302
    page = alice_browser.get(response["Location"]).content.decode()
    assert secret not in page
    assert "********" in page


def test_a_staff_only_runner_parameter_is_refused_beside_its_field_input_kept(alice_browser):
    """alice is not staff: the API's 403 for `cwd` (issue 12) shows on the form, not as an
    error page, and nothing runs."""
    data = {"environment": "staging", "version": "1.4.2", "cwd": "/etc"}
    response = launch(alice_browser, "demo.deploy", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "only staff may set the runner parameter" in field_html(page, "cwd")
    assert 'value="/etc"' in field_html(page, "cwd")
    assert 'value="1.4.2"' in field_html(page, "version")
    assert not Execution.objects.exists()


def test_query_string_prefills_the_form(alice_browser):
    page = alice_browser.get(f"/actions/demo.greet?name={SCRIPT}&times=3").content.decode()
    assert f'value="{ESCAPED}"' in field_html(page, "name")
    assert 'value="3"' in field_html(page, "times")
    assert SCRIPT not in page


def test_immutable_parameter_is_not_submitted(alice_browser):
    response = launch(alice_browser, "demo.notes", {"title": "T", "cmd": "rm -rf /"})
    assert response.status_code == 302
    parameters = Execution.objects.get().parameters
    assert parameters["title"] == "T"
    assert parameters["cmd"].startswith("printf")  # the action's own (rendered) command


def test_unknown_execution_is_404(alice_browser):
    assert alice_browser.get("/executions/000000000000000000000000").status_code == 404


# --- arrays as rows, the no-JavaScript "Add a row", the command preview -----------------------


def fieldset_html(page, name):
    """The fieldset holding the rows of the array parameter `name`."""
    start = page.index(f'<div class="array-rows" id="id_{name}"')
    start = page.rindex("<fieldset", 0, start)
    return page[start : page.index("</fieldset>", start)]


def shown_rows(html, name):
    html = html.split("<template", 1)[0]
    return re.findall(rf'name="{name}-\d+"(?: [^>]*?value="([^"]*)")?', html)


EVERY = {
    "text": "from the form",
    "count": "3",
    "ratio": "0.25",
    "flag": "on",
    "colour": "green",
    "names-0": "a",
    "names-5": "b",  # rows added and removed by forms.js leave gaps
    "numbers-0": "7",
    "numbers-1": "",
    "sizes-0": "small",
    "sizes-1": "large",
    "hosts-0-host": "web1",
    "hosts-0-port": "443",
    "hosts-0-tls": "true",
    "hosts-1-host": "",
    "records": '[{"any": ["thing"]}]',
    "extra": '{"k": 1}',
    "api_secret": "s3cret-value",
    "mode": "overridden",
}


def test_every_type_launches_with_array_rows_typed(alice_browser):
    response = launch(alice_browser, "demo.every_type", EVERY)
    assert response.status_code == 302, response.content.decode()
    execution = Execution.objects.get()
    assert execution.parameters == {
        "text": "from the form",
        "count": 3,
        "ratio": 0.25,
        "flag": True,
        "colour": "green",
        "names": ["a", "b"],
        "numbers": [7],
        "sizes": ["small", "large"],
        "hosts": [{"host": "web1", "port": 443, "tls": True}],
        "records": [{"any": ["thing"]}],
        "extra": {"k": 1},
        "api_secret": "********",  # masked in the record
    }
    done = run_to_completion(str(execution.id))
    assert done.status == "succeeded", done.result
    result = done.result["result"]
    assert result["api_secret"] == "given"
    assert result["received"]["mode"] == "demo"  # immutable: never submitted
    assert result["types"]["numbers"] == "array" and result["received"]["hosts"][0]["port"] == 443
    assert "s3cret-value" not in str(done.result)


def test_add_row_without_javascript_keeps_the_input(alice_browser):
    data = {**EVERY, "add-row": "names"}
    response = launch(alice_browser, "demo.every_type", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert not Execution.objects.exists()
    assert shown_rows(fieldset_html(page, "names"), "names") == ["a", "b", "", ""]
    assert 'name="hosts-0-port" value="443"' in fieldset_html(page, "hosts")
    assert 'value="from the form"' in field_html(page, "text")
    assert "invalid-feedback" not in page  # not checked yet: the user is still filling it in
    assert 'id="error-summary"' not in page
    assert "s3cret-value" not in page
    data = {**data, "names-1": "c", "names-2": "d"}
    data.pop("add-row")
    assert launch(alice_browser, "demo.every_type", data).status_code == 302
    assert Execution.objects.get().parameters["names"] == ["a", "c", "d", "b"]


def test_a_bad_row_is_shown_beside_its_field_with_the_rows_kept(alice_browser):
    data = {**EVERY, "numbers-1": "1000", "hosts-0-port": "http"}
    response = launch(alice_browser, "demo.every_type", data)
    assert response.status_code == 400
    page = response.content.decode()
    numbers = fieldset_html(page, "numbers")
    assert "Item 2: Ensure this value is less than or equal to 100." in numbers
    assert shown_rows(numbers, "numbers") == ["7", "1000", ""]
    hosts = fieldset_html(page, "hosts")
    assert "Item 1: port: Enter a whole number." in hosts
    assert 'name="hosts-0-host" value="web1"' in hosts and 'value="http"' in hosts
    assert "s3cret-value" not in page
    assert not Execution.objects.exists()


def test_duplicate_rows_are_refused_by_the_schema_beside_the_field(alice_browser):
    data = {"environment": "staging", "version": "1", "services-0": "web", "services-1": "web"}
    page = launch(alice_browser, "demo.deploy", data).content.decode()
    assert "services: [&#x27;web&#x27;, &#x27;web&#x27;] has non-unique" in fieldset_html(
        page, "services"
    )
    assert not Execution.objects.exists()


def test_action_page_previews_the_st2_and_curl_commands(alice_browser, portal):
    query = f"text=it's {SCRIPT}&count=4&names=a,b c"
    page = alice_browser.get(f"/actions/demo.every_type?{query}").content.decode()
    assert "/static/js/forms.js" in page and 'hx-post="/actions/demo.every_type/preview"' in page
    quoted = "text=&#x27;it&#x27;&quot;&#x27;&quot;&#x27;s " + ESCAPED + "&#x27;"
    names = "names=&#x27;[&quot;a&quot;, &quot;b c&quot;]&#x27;"
    expected = f"st2 run demo.every_type {quoted} count=4 {names}"
    assert '<pre class="command" id="preview-st2"' in page
    assert f"<code>{expected}</code>" in page
    # The API as the browser reaches it (the Django test client's host), not the loopback
    # URL the portal itself uses.
    assert "curl -X POST http://testserver/api/v1/executions" in page
    assert St2Client.from_settings().api_url not in page
    assert "X-Auth-Token: &lt;your token&gt;" in page
    assert SCRIPT not in page


def test_preview_endpoint_follows_the_form_and_masks_secrets(alice_browser):
    data = {"text": "hi there", "api_secret": "typed-secret", "sizes-0": "large"}
    response = alice_browser.post("/actions/demo.every_type/preview", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "st2 run demo.every_type text=&#x27;hi there&#x27; api_secret=&#x27;********&#x27;" in html
    )
    assert "typed-secret" not in html
    assert "&quot;sizes&quot;: [&quot;large&quot;]" in html
    assert alice_browser.get("/actions/demo.every_type/preview").status_code == 405
    assert not Execution.objects.exists()


def test_preview_needs_a_signed_in_user(portal, client):
    response = client.post("/actions/demo.every_type/preview", {"text": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login")


# --- issue 14: what a new user hit ----------------------------------------------------------


def test_run_untouched_with_a_required_enum_is_refused_beside_it(alice_browser):
    """Defect 1: `environment` (required, no default) preselected "development", so Run
    untouched launched it while the preview showed no value."""
    page = alice_browser.get("/actions/demo.deploy").content.decode()
    assert '<option value="" selected>Choose…</option>' in field_html(page, "environment")
    assert "environment=" not in page  # the preview agrees: nothing chosen, nothing sent
    response = launch(alice_browser, "demo.deploy", {"version": "1.4.2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "environment") == "This field is required."
    assert not Execution.objects.exists()


def test_every_error_of_the_form_at_once_with_a_summary_linking_each_field(alice_browser):
    """Defects 5 and 6: errors came one stage at a time (the pattern after the rest), and
    nothing at the top said what went wrong."""
    data = {
        "version": "-nope",  # pattern, checked by st2bridge.params
        "replicas": "0",  # minimum
        "canary_percent": "lots",  # type
        "services": '["a", "a"]',  # uniqueness, st2bridge.params
        "options": "{nope",  # JSON
        "api_token": "hunter2-very-secret",
    }
    response = launch(alice_browser, "demo.deploy", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "environment") == "This field is required."
    assert error_beside(page, "version").startswith("version: '-nope' does not match")
    assert error_beside(page, "replicas") == "Ensure this value is greater than or equal to 1."
    assert error_beside(page, "canary_percent") == "Enter a number."
    assert error_beside(page, "options").startswith("Not valid JSON")
    assert "has non-unique elements" in fieldset_html(page, "services")
    start = page.index('id="error-summary"')
    summary = page[start : page.index("</ul>", start)]
    assert 'role="alert" tabindex="-1"' in summary and "6 problems to fix" in summary
    for target in ("environment", "version", "replicas", "canary_percent", "options"):
        assert f'href="#id_{target}"' in summary, target
    assert 'href="#id_services-0"' in summary  # the first row of the rows field
    assert page.index('id="error-summary"') < page.index('id="launch-form"')
    assert "hunter2-very-secret" not in page
    assert "Not shown again, for safety: type it again." in field_html(page, "api_token")
    assert 'value="-nope"' in field_html(page, "version")  # the input is kept
    assert not Execution.objects.exists()


def test_a_boolean_without_default_left_alone_is_not_sent(alice_browser, admin_api):
    """Friction: a box with no default sent false when untouched."""
    register_action(
        admin_api, "switches", {"loud": {"type": "boolean"}, "quiet": {"type": "boolean"}}
    )
    page = alice_browser.get("/actions/default.switches").content.decode()
    assert '<select name="loud"' in page and '<option value="" selected>(not set)</option>' in page
    response = launch(alice_browser, "default.switches", {"loud": "", "quiet": "false"})
    assert response.status_code == 302, response.content.decode()
    assert Execution.objects.get().parameters == {"quiet": False}


def test_nested_defaults_of_rows_are_shown_and_sent(alice_browser, admin_api):
    """Defect 7: `port` default 22 in an array of objects was neither shown nor applied."""
    register_action(admin_api, "ports", {"targets": TARGETS})
    page = alice_browser.get("/actions/default.ports").content.decode()
    assert re.search(r'name="targets-0-port" value="22"', fieldset_html(page, "targets"))
    data = {"targets-0-host": "web", "targets-0-port": "22", "targets-1-port": "22"}
    assert launch(alice_browser, "default.ports", data).status_code == 302
    assert Execution.objects.get().parameters == {"targets": [{"host": "web", "port": 22}]}
