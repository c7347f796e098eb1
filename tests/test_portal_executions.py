"""The history page, live output, cancel, large output and its download, and "Run again",
through Django's test client with the portal reaching a live server's API over HTTP."""

import json
import re
import time

import pytest

from st2bridge import datastore
from st2bridge.models import Execution

from .portal_support import ESCAPED, SCRIPT, api_as, browser
from .worker_support import run_to_completion, start_worker_process, stop_worker_process

pytestmark = pytest.mark.django_db(transaction=True)


def execution_id_of(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rsplit("/", 1)[1]


def listed_ids(page):
    return re.findall(r'href="/executions/([0-9a-f]{24})"><code>', page)


# --- history -------------------------------------------------------------------------------


def test_history_pages_through_the_users_executions_newest_first(alice_browser, bob):
    alice = api_as("alice")
    mine = [alice.launch("core.noop")["id"] for _ in range(30)]
    api_as("bob").launch("core.noop")
    first = alice_browser.get("/executions").content.decode()
    assert listed_ids(first) == mine[::-1][:25]
    assert "30 executions, page 1 of 2." in first
    assert 'rel="next" href="?page=2"' in first
    second = alice_browser.get("/executions?page=2").content.decode()
    assert listed_ids(second) == mine[::-1][25:]
    assert 'rel="prev" href="?page=1"' in second


def test_history_filters_are_kept_in_the_url_and_in_the_form(alice_browser):
    alice = api_as("alice")
    local = alice.launch("core.local", {"cmd": "true"})["id"]
    alice.launch("core.noop")
    Execution.objects.filter(id=local).update(status="failed")
    page = alice_browser.get("/executions?action=core.local&status=failed").content.decode()
    assert listed_ids(page) == [local]
    assert 'id="f-action" name="action" value="core.local"' in page
    assert '<option value="failed" selected>' in page
    assert listed_ids(alice_browser.get("/executions?status=succeeded").content.decode()) == []


def test_history_date_range(alice_browser):
    alice = api_as("alice")
    old = alice.launch("core.noop")["id"]
    new = alice.launch("core.noop")["id"]
    Execution.objects.filter(id=old).update(start_timestamp="2020-01-02T10:00:00Z")
    page = alice_browser.get("/executions?since=2020-01-01&until=2020-01-02").content.decode()
    assert listed_ids(page) == [old]
    page = alice_browser.get("/executions?since=2020-01-03").content.decode()
    assert listed_ids(page) == [new]


def test_history_bad_filters_are_shown_beside_their_fields(alice_browser):
    response = alice_browser.get("/executions?since=yesterday&status=nonsense")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a date as YYYY-MM-DD." in page and "Pick a status from the list." in page
    assert 'value="yesterday"' in page


def test_an_admin_filters_by_user(admin_browser, alice, bob):
    api_as("alice").launch("core.noop")
    bobs = api_as("bob").launch("core.noop")["id"]
    page = admin_browser.get("/executions?user=bob").content.decode()
    assert listed_ids(page) == [bobs]
    assert 'id="f-user"' in page


# --- one execution ---------------------------------------------------------------------------


def test_output_appears_while_it_runs(alice_browser):
    cmd = "echo first; sleep 1.5; echo second"
    execution_id = execution_id_of(alice_browser.post("/actions/core.local", {"cmd": cmd}))
    worker = start_worker_process()
    try:
        partial = ""
        deadline = time.monotonic() + 30
        while "first" not in partial and time.monotonic() < deadline:
            partial = alice_browser.get(f"/executions/{execution_id}/status").content.decode()
            time.sleep(0.1)
        assert 'data-running="true"' in partial and "Output so far" in partial
        so_far = re.search(r'id="output-so-far">(.*?)</pre>', partial, re.S)[1]
        assert "first" in so_far and "second" not in so_far
        while 'data-running="false"' not in partial and time.monotonic() < deadline:
            partial = alice_browser.get(f"/executions/{execution_id}/status").content.decode()
            time.sleep(0.2)
        assert "first\nsecond" in partial and "succeeded" in partial
    finally:
        stop_worker_process(worker)


def test_cancel_a_requested_execution(alice_browser):
    execution_id = execution_id_of(alice_browser.post("/actions/core.local", {"cmd": "sleep 30"}))
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert f'action="/executions/{execution_id}/cancel"' in page
    response = alice_browser.post(f"/executions/{execution_id}/cancel")
    assert response.status_code == 302
    assert Execution.objects.get(id=execution_id).status == "canceled"
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert "status-canceled" in page and "/cancel" not in page
    assert alice_browser.get(f"/executions/{execution_id}/cancel").status_code == 405


def test_large_output_is_folded_with_a_download(alice_browser):
    cmd = f"seq 1 20000; echo '{SCRIPT}'"
    execution_id = execution_id_of(alice_browser.post("/actions/core.local", {"cmd": cmd}))
    assert run_to_completion(execution_id).status == "succeeded"
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert "<details><summary>stdout (" in page
    assert f'href="/executions/{execution_id}/output.txt" download' in page
    assert ESCAPED in page and SCRIPT not in page
    download = alice_browser.get(f"/executions/{execution_id}/output.txt")
    assert download["Content-Disposition"] == (
        f'attachment; filename="execution-{execution_id}.txt"'
    )
    assert download["Content-Type"].startswith("text/plain")
    assert b"\n19999\n20000\n" in download.content


def test_small_output_is_not_folded(alice_browser):
    execution_id = execution_id_of(alice_browser.post("/actions/core.local", {"cmd": "echo hi"}))
    run_to_completion(execution_id)
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert "<details>" not in page and '<pre class="output" id="stdout">hi</pre>' in page


def test_another_users_execution_is_404_everywhere(alice_browser, bob):
    bobs = api_as("bob").launch("core.noop")["id"]
    for path in (
        f"/executions/{bobs}",
        f"/executions/{bobs}/status",
        f"/executions/{bobs}/output.txt",
        f"/actions/core.noop?rerun={bobs}",
    ):
        assert alice_browser.get(path).status_code == 404, path
    assert alice_browser.post(f"/executions/{bobs}/cancel").status_code == 404
    assert Execution.objects.get(id=bobs).status == "requested"
    assert bobs not in alice_browser.get("/executions").content.decode()


# --- run again -----------------------------------------------------------------------------


DEPLOY = {"environment": "staging", "version": "1.4.2", "replicas": "3", "services": '["web"]'}
SECRET = "original-secret-value-42"


def test_run_again_prefills_everything_but_secrets(alice_browser):
    first = alice_browser.post("/actions/demo.deploy", {**DEPLOY, "api_token": SECRET})
    execution_id = execution_id_of(first)
    run_to_completion(execution_id)
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert f'href="/actions/demo.deploy?rerun={execution_id}"' in page
    form = alice_browser.get(f"/actions/demo.deploy?rerun={execution_id}").content.decode()
    assert f'name="rerun_of" value="{execution_id}"' in form
    assert 'value="1.4.2"' in form and 'value="3"' in form
    assert '<option value="staging" selected>' in form
    assert SECRET not in form
    secret_input = re.search(r'<input type="password" name="api_token"[^>]*>', form)[0]
    assert "value=" not in secret_input
    assert "Leave blank to reuse the value of the original run." in form


def test_run_again_with_a_blank_secret_reuses_it_on_the_server_only(alice_browser):
    first = execution_id_of(
        alice_browser.post("/actions/demo.deploy", {**DEPLOY, "api_token": SECRET})
    )
    run_to_completion(first)
    again = {**DEPLOY, "version": "1.4.3", "api_token": "", "rerun_of": first}
    response = alice_browser.post("/actions/demo.deploy", again)
    second = execution_id_of(response)
    assert second != first
    stored = Execution.objects.get(id=second)
    assert stored.parameters["version"] == "1.4.3"
    assert stored.parameters["api_token"] == "********"
    assert json.loads(datastore.decrypt(stored.secret_parameters)) == {"api_token": SECRET}
    assert stored.context["re-run"] == {"ref": first}
    page = alice_browser.get(f"/executions/{second}").content.decode()
    assert SECRET not in page and SECRET not in response.content.decode()


def test_run_again_with_a_new_secret_uses_the_new_one(alice_browser):
    first = execution_id_of(
        alice_browser.post("/actions/demo.deploy", {**DEPLOY, "api_token": SECRET})
    )
    again = {**DEPLOY, "api_token": "brand-new", "rerun_of": first}
    second = execution_id_of(alice_browser.post("/actions/demo.deploy", again))
    stored = Execution.objects.get(id=second)
    assert json.loads(datastore.decrypt(stored.secret_parameters)) == {"api_token": "brand-new"}


def test_a_malformed_rerun_id_is_404(alice_browser):
    assert alice_browser.get("/actions/core.noop?rerun=../../x").status_code == 404
    response = alice_browser.post("/actions/core.noop", {"rerun_of": "a/b"})
    assert response.status_code == 404


def test_a_fresh_launch_still_requires_the_secret_when_required(portal, alice):
    # demo.deploy's api_token is optional; the rule that blanks are allowed is for re-runs only.
    signed_in = browser("alice")
    form = signed_in.get("/actions/demo.deploy").content.decode()
    assert "Leave blank to reuse" not in form
