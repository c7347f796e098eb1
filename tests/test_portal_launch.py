"""Launching from the generated form and following the execution, through Django's test
Client, the portal reaching the embedded API of a live server over HTTP with St2Client."""

import pytest

from st2bridge.models import Execution

from .portal_support import ESCAPED, SCRIPT
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)


def field_html(page, name):
    """The form's paragraph holding the field `name`."""
    start = page.index(f'<label for="id_{name}">')
    return page[start : page.index("</p>", start)]


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
    assert '<span class="status status-succeeded">succeeded</span>' in page
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
