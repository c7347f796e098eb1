"""The history page, live output, cancel, large output and its download, and "Run again",
through Django's test client with the portal reaching a live server's API over HTTP."""

import json
import re
import time
from datetime import UTC, datetime

import pytest
import requests
from django.template import Context, Template

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


def test_history_rows_summarise_parameters_with_secrets_masked(alice_browser):
    alice = api_as("alice")
    alice.launch("demo.deploy", {**DEPLOY, "api_token": SECRET})
    long = alice.launch("core.local", {"cmd": "echo " + "word " * 40})["id"]
    alice.launch("core.noop")
    page = alice_browser.get("/executions").content.decode()
    summaries = re.findall(r'<td class="parameters small"><code>([^<]*)</code>', page)
    newest_first = ["core.local", "demo.deploy"]  # core.noop has none
    deploy = summaries[newest_first.index("demo.deploy")]
    assert deploy.startswith("api_token=********, environment=staging, replicas=3, services=[")
    assert SECRET not in page
    cmd = summaries[newest_first.index("core.local")]
    assert cmd.startswith("cmd=echo word word") and cmd.endswith("…") and len(cmd) == 80
    assert f'id="row-{long}"' in page
    assert page.count(">none</span>") == 1  # core.noop, given no parameters


def test_history_says_which_rule_started_an_execution(alice_browser, portal):
    alice = api_as("alice")
    alice.create_rule(
        {
            "name": "on_ping",
            "pack": "default",
            "enabled": True,
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "ping"}},
            "action": {"ref": "core.noop"},
        }
    )
    manual = alice.launch("core.noop")["id"]
    posted = requests.post(
        f"{portal.url}/api/v1/webhooks/ping",
        json={},
        headers={"X-Auth-Token": alice.session.headers["X-Auth-Token"]},
        timeout=10,
    )
    assert posted.status_code == 202
    by_rule = Execution.objects.get(rule_ref="default.on_ping").id
    page = alice_browser.get("/executions").content.decode()
    cells = dict(re.findall(r'<tr id="row-(\w+)">.*?<td class="started-by">(.*?)</td>', page, re.S))
    assert cells[by_rule].startswith(
        f'via rule <a id="rule-{by_rule}" href="/rules/default.on_ping">default.on_ping</a>'
    )
    assert cells[manual].startswith("manual")
    detail = alice_browser.get(f"/executions/{by_rule}").content.decode()
    assert 'started by rule <a href="/rules/default.on_ping">default.on_ping</a>' in detail
    Execution.objects.filter(id=manual).update(rule_ref="remote.odd/name")  # no URL holds it
    page = alice_browser.get("/executions").content.decode()
    assert "via rule remote.odd/name" in page
    assert (
        "started by rule remote.odd/name."
        in alice_browser.get(f"/executions/{manual}").content.decode()
    )


def test_the_action_filter_matches_part_of_the_ref(alice_browser):
    alice = api_as("alice")
    local = alice.launch("core.local", {"cmd": "true"})["id"]
    alice.launch("core.noop")
    for part in ("core.lo", "local", "LOCAL"):
        page = alice_browser.get(f"/executions?action={part}").content.decode()
        assert listed_ids(page) == [local], part
        assert f'name="action" value="{part}"' in page
    assert "finds core.local" in page
    assert listed_ids(alice_browser.get("/executions?action=core_local").content.decode()) == []


def test_a_too_long_action_filter_is_shown_beside_its_field(alice_browser):
    response = alice_browser.get("/executions?action=" + "x" * 101)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="f-action-error" role="alert">Enter at most 100 characters.' in page
    assert 'value="' + "x" * 101 + '"' in page


def test_htmx_gets_the_history_results_alone_with_the_filters_kept(alice_browser):
    alice = api_as("alice")
    first = alice.launch("core.local", {"cmd": "true"})["id"]
    live = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "history"}
    query = "/executions?action=local&status=requested"
    response = alice_browser.get(query, **live)
    partial = response.content.decode()
    assert partial.lstrip().startswith('<div id="history"') and "<html" not in partial
    assert f'hx-get="{query.replace("&", "&amp;")}"' in partial
    assert 'data-live="fast"' in partial  # a listed execution is waiting to run
    assert listed_ids(partial) == [first]
    assert response["Cache-Control"] == "no-store"
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]
    second = alice.launch("core.local", {"cmd": "true"})["id"]
    assert listed_ids(alice_browser.get(query, **live).content.decode()) == [second, first]
    Execution.objects.update(status="succeeded")
    done = alice_browser.get("/executions?action=local", **live).content.decode()
    assert 'data-live="slow"' in done and "status-succeeded" in done
    full = alice_browser.get(query).content.decode()
    assert "<html" in full and 'id="history"' in full and "js/history.js" in full
    wrong = alice_browser.get("/executions?since=nonsense").content.decode()
    assert 'data-live="off"' in wrong


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


def test_a_result_without_output_has_one_result_heading(alice_browser):
    execution_id = api_as("alice").launch("core.noop")["id"]
    Execution.objects.filter(id=execution_id).update(
        status="succeeded", result={"status_code": 200, "body": "ok"}
    )
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert re.findall(r"<h[23][^>]*>([^<]*)</h[23]>", page) == ["Result", "Parameters"]
    assert "&quot;status_code&quot;: 200" in page


def test_a_truncated_megabyte_of_stdout_is_not_embedded_whole(alice_browser):
    cmd = "head -c 1200000 /dev/zero | tr '\\0' x"
    execution_id = execution_id_of(alice_browser.post("/actions/core.local", {"cmd": cmd}))
    stdout = run_to_completion(execution_id).result["stdout"]
    assert len(stdout) > 1024 * 1024 and stdout.endswith("[output truncated after 1048576 bytes]")
    response = alice_browser.get(f"/executions/{execution_id}")
    page = response.content.decode()
    assert len(response.content) < 60_000
    notice = re.search(r'<p class="alert alert-warning output-notice" role="note">(.*?)</p>', page)
    assert notice[1].startswith(
        f"stdout: output truncated: showing the last 32,768 of {len(stdout):,} characters."
    )
    assert f'<a href="/executions/{execution_id}/output.txt" download>' in notice[1]
    assert "[output truncated after 1048576 bytes]" in page  # the end is what is shown
    assert len(alice_browser.get(f"/executions/{execution_id}/output.txt").content) > 1024**2


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


# --- times ---------------------------------------------------------------------------------


def test_times_are_exact_utc_to_the_second_in_time_elements(alice_browser):
    execution_id = api_as("alice").launch("core.noop")["id"]
    Execution.objects.filter(id=execution_id).update(
        start_timestamp="2021-03-04T05:06:07.891234Z",
        end_timestamp="2021-03-04T05:06:09.5Z",
        status="succeeded",
    )
    started = '<time datetime="2021-03-04T05:06:07Z">2021-03-04 05:06:07 UTC</time>'
    assert started in alice_browser.get("/executions").content.decode()
    page = alice_browser.get(f"/executions/{execution_id}").content.decode()
    assert started in page
    assert '<time datetime="2021-03-04T05:06:09Z">2021-03-04 05:06:09 UTC</time>' in page
    assert ".891234" not in page and "js/times.js" in page


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2024-05-01T12:34:56.123456Z", '2024-05-01T12:34:56Z">2024-05-01 12:34:56 UTC'),
        ("2024-05-01T14:34:56+02:00", '2024-05-01T12:34:56Z">2024-05-01 12:34:56 UTC'),
        (datetime(2024, 5, 1, 12, 34, 56, 999), '2024-05-01T12:34:56Z">2024-05-01 12:34:56 UTC'),
        (datetime(2024, 5, 1, 12, 34, tzinfo=UTC), '2024-05-01T12:34:00Z">2024-05-01 12:34:00 UTC'),
    ],
)
def test_time_tag_renders_any_moment_in_utc(value, shown):
    rendered = Template("{% load times %}{{ value|time_tag }}").render(Context({"value": value}))
    assert rendered == f'<time datetime="{shown}</time>'


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        (None, ""),
        ("", ""),
        ("soon", "soon"),
        ("<b>", "&lt;b&gt;"),
        ("2024-13-45T00:00Z", "2024-13-45T00:00Z"),
    ],
)
def test_time_tag_leaves_what_is_no_time_as_text(value, rendered):
    template = Template("{% load times %}{{ value|time_tag }}")
    assert template.render(Context({"value": value})) == rendered
