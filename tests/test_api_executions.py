"""/api/v1/executions without a worker: launch validation, casting, defaults, templates,
secrets, reading, filters, visibility, cancel and re-run (notes §4)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from st2bridge import datastore
from st2bridge.models import Execution, KeyValuePair

from .catalog_support import change_action, register_bundled_packs

pytestmark = pytest.mark.django_db
MASK = "********"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def launch(api, action, **parameters):
    return api.post(
        "/api/v1/executions", {"action": action, "parameters": parameters}, format="json"
    )


def test_launch_is_requested_and_readable_at_once(alice_api):
    response = launch(alice_api, "core.local", cmd="echo hi")
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "requested"
    assert created["parameters"] == {"cmd": "echo hi"}
    assert created["action"]["ref"] == "core.local"
    assert created["action"]["runner_type"] == "local-shell-cmd"
    assert created["runner"]["name"] == "local-shell-cmd"
    assert created["context"]["user"] == "alice"
    assert created["start_timestamp"].endswith("Z")
    assert created["log"][0]["status"] == "requested"
    assert "result" not in created  # falsy values are left out, as StackStorm does
    fetched = alice_api.get(f"/api/v1/executions/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == created["id"]


@pytest.mark.parametrize(
    "parameters, message",
    [
        (
            {"cmd": "x", "bogus": 1},
            "Additional properties are not allowed ('bogus' was unexpected)",
        ),
        ({}, "'cmd' is a required property"),
        ({"cmd": 1000}, 'cmd: Value "1000" must either be a string or None. Got "int".'),
        ({"cmd": "x", "sudo": True}, "Override of immutable parameter(s) ['sudo'] is unsupported."),
        ({"cmd": "x", "timeout": "soon"}, "timeout: 'soon' is not of type 'integer'"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(alice_api, parameters, message):
    response = launch(alice_api, "core.local", **parameters)
    assert response.status_code == 400
    assert response.json()["faultstring"] == message
    assert Execution.objects.count() == 0


def test_enum_and_range_violations(alice_api):
    response = launch(alice_api, "demo.deploy", environment="mars", version="1.0")
    assert response.status_code == 400
    assert response.json()["faultstring"].startswith("environment: 'mars' is not one of")
    response = launch(alice_api, "demo.deploy", environment="staging", version="1.0", replicas=99)
    assert response.json()["faultstring"] == "replicas: 99 is greater than the maximum of 20"


def test_unknown_or_disabled_action(alice_api):
    assert launch(alice_api, "mock.foobar").json()["faultstring"] == (
        'Action "mock.foobar" cannot be found.'
    )
    change_action("core.noop", enabled=False)
    response = launch(alice_api, "core.noop")
    assert response.json()["faultstring"] == 'Unable to execute. Action "core.noop" is disabled.'


def test_lenient_casting(alice_api):
    response = launch(
        alice_api,
        "demo.deploy",
        environment="staging",
        version="1.2.3",
        replicas="5",
        canary_percent="12.5",
        dry_run="false",
        services='["web", "api"]',
        options='{"region": "eu"}',
    )
    assert response.status_code == 201, response.json()
    shown = response.json()["parameters"]
    assert shown["replicas"] == 5
    assert shown["canary_percent"] == 12.5
    assert shown["dry_run"] is False
    assert shown["services"] == ["web", "api"]
    assert shown["options"] == {"region": "eu"}
    assert "timeout" not in shown  # plain defaults are not copied in


def test_template_defaults_rendered_from_datastore(alice_api, admin_api):
    change_action(
        "core.noop",
        parameters={
            "count": {"type": "integer", "default": "{{ st2kv.system.count | int }}"},
            "who": {"type": "string", "default": "{{ st2kv.user.nickname }}"},
        },
    )
    KeyValuePair.objects.create(scope="st2kv.system", name="count", value="7")
    KeyValuePair.objects.create(scope="st2kv.user", owner="alice", name="nickname", value="al")
    response = launch(alice_api, "core.noop")
    assert response.status_code == 201, response.json()
    assert response.json()["parameters"] == {"count": 7, "who": "al"}
    explicit = launch(alice_api, "core.noop", count=3)
    assert explicit.json()["parameters"]["count"] == 3
    missing = launch(admin_api, "core.noop")  # a missing item renders empty (notes §4.6)
    assert missing.status_code == 201
    assert missing.json()["parameters"]["who"] == ""


def test_undefined_variable_in_parameter(alice_api):
    response = launch(alice_api, "core.local", cmd="echo {{ ABSENT }}")
    assert response.status_code == 400
    assert response.json()["faultstring"] == 'Dependency unsatisfied in variable "ABSENT"'


def test_secret_parameters_masked_and_encrypted_at_rest(alice_api, admin_api):
    canary = "canary-secret-3141"
    response = launch(
        alice_api, "demo.deploy", environment="staging", version="1", api_token=canary
    )
    created = response.json()
    assert created["parameters"]["api_token"] == MASK
    assert canary not in response.content.decode()
    row = Execution.objects.get(pk=created["id"])
    assert canary not in str(row.parameters) and canary not in row.secret_parameters
    assert canary in datastore.decrypt(row.secret_parameters)
    url = f"/api/v1/executions/{created['id']}"
    assert alice_api.get(f"{url}?show_secrets=true").json()["parameters"]["api_token"] == MASK
    assert admin_api.get(f"{url}?show_secrets=true").json()["parameters"]["api_token"] == canary
    listing = alice_api.get("/api/v1/executions").content.decode()
    assert canary not in listing


def test_users_see_only_their_executions(alice_api, bob_api, admin_api):
    mine = launch(alice_api, "core.local", cmd="true").json()
    launch(bob_api, "core.local", cmd="true")
    assert [e["id"] for e in alice_api.get("/api/v1/executions").json()] == [mine["id"]]
    assert bob_api.get(f"/api/v1/executions/{mine['id']}").status_code == 404
    assert bob_api.delete(f"/api/v1/executions/{mine['id']}").status_code == 404
    assert len(admin_api.get("/api/v1/executions").json()) == 2
    only_alice = admin_api.get("/api/v1/executions?user=alice").json()
    assert [e["id"] for e in only_alice] == [mine["id"]]


def test_list_sorting_paging_and_filters(alice_api):
    ids = [launch(alice_api, "core.local", cmd=f"echo {n}").json()["id"] for n in range(3)]
    launch(alice_api, "core.noop")
    newest_first = alice_api.get("/api/v1/executions?action=core.local")
    assert [e["id"] for e in newest_first.json()] == ids[::-1]
    assert newest_first["X-Total-Count"] == "3"
    oldest_first = alice_api.get("/api/v1/executions?action=core.local&sort_asc=True")
    assert [e["id"] for e in oldest_first.json()] == ids
    page = alice_api.get("/api/v1/executions?limit=1&offset=1&action=core.local")
    assert [e["id"] for e in page.json()] == [ids[1]]
    assert page["X-Limit"] == "1"
    assert alice_api.get("/api/v1/executions?status=succeeded").json() == []
    assert len(alice_api.get("/api/v1/executions?parent=null").json()) == 4
    trimmed = alice_api.get("/api/v1/executions?include_attributes=id,status,action.ref").json()
    assert set(trimmed[0]) == {"id", "status", "action"}
    assert alice_api.get("/api/v1/executions?sort=password&user__regex=.*").status_code == 200
    assert alice_api.get("/api/v1/executions?limit=0").status_code == 400


def test_action_contains_finds_part_of_the_ref_case_insensitively(alice_api):
    local = launch(alice_api, "core.local", cmd="true").json()["id"]
    sudo = launch(alice_api, "core.local_sudo", cmd="true").json()["id"]
    launch(alice_api, "core.noop")
    for part in ("core.lo", "LOCAL", "local"):
        found = alice_api.get(f"/api/v1/executions?action_contains={part}")
        assert [e["id"] for e in found.json()] == [sudo, local], part
        assert found["X-Total-Count"] == "2"
    assert alice_api.get("/api/v1/executions?action_contains=local_s").json()[0]["id"] == sudo


def test_action_contains_wildcards_match_only_themselves(alice_api):
    launch(alice_api, "core.local", cmd="true")
    for pattern in ("core_local", "%", "core%local", "\\"):
        assert alice_api.get("/api/v1/executions", {"action_contains": pattern}).json() == []


def test_action_contains_is_bounded_and_only_sees_the_callers_executions(alice_api, bob_api):
    launch(bob_api, "core.local", cmd="true")
    assert alice_api.get("/api/v1/executions?action_contains=local").json() == []
    too_long = alice_api.get("/api/v1/executions", {"action_contains": "x" * 101})
    assert too_long.status_code == 400
    assert "action_contains" in too_long.json()["faultstring"]
    assert alice_api.get("/api/v1/executions", {"action_contains": "x" * 100}).status_code == 200


def test_action_contains_is_offered_and_documented(alice_api, anon_api):
    assert alice_api.get("/api/v1/extensions").json()["execution_action_contains"] is True
    document = anon_api.get("/api/v1/openapi.json").json()
    listing = document["paths"]["/api/v1/executions"]["get"]["parameters"]
    [documented] = [p for p in listing if p["name"] == "action_contains"]
    assert documented["schema"] == {"type": "string", "maxLength": 100}


def test_the_list_costs_the_same_queries_for_one_or_many_executions(alice_api):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = alice_api.get("/api/v1/executions?include_attributes=id,rule,parameters")
        assert response.status_code == 200
        return len(captured.captured_queries)

    launch(alice_api, "demo.deploy", environment="staging", version="1", api_token="s3cret")
    one = queries()
    for _ in range(20):
        launch(alice_api, "demo.deploy", environment="staging", version="1", api_token="s3cret")
    Execution.objects.update(rule_ref="demo.rule", trigger_instance_id="0" * 24)
    assert queries() == one


def test_a_list_without_the_result_does_not_read_it(alice_api):
    execution_id = launch(alice_api, "core.noop").json()["id"]
    Execution.objects.update(result={"stdout": "x" * 100_000})

    def read(query):
        with CaptureQueriesContext(connection) as captured:
            listed = alice_api.get(f"/api/v1/executions?{query}").json()
        [page] = [
            q["sql"]
            for q in captured.captured_queries
            if 'FROM "st2bridge_execution"' in q["sql"] and "LIMIT" in q["sql"]
        ]
        return listed[0], '"st2bridge_execution"."result"' in page

    assert read("include_attributes=id,status") == (
        {"id": execution_id, "status": "requested"},
        False,
    )
    shown, was_read = read("include_attributes=status,log")
    assert "result" not in shown and "result_size" not in shown and not was_read
    assert read("include_attributes=result_size") == (
        {"id": execution_id, "result_size": 100_014},
        True,
    )
    shown, was_read = read("exclude_attributes=status")
    assert shown["result"] == {"stdout": "x" * 100_000} and was_read
    # StackStorm lets only result, trigger_instance and status be excluded: result_size
    # stays, so the result is read for it.
    shown, was_read = read("exclude_attributes=result")
    assert "result" not in shown and shown["result_size"] == 100_014 and was_read


def test_last_and_unknown(alice_api):
    launch(alice_api, "core.local", cmd="echo 1")
    newest = launch(alice_api, "core.local", cmd="echo 2").json()
    assert alice_api.get("/api/v1/executions/last").json()["id"] == newest["id"]
    unknown = alice_api.get("/api/v1/executions/100")
    assert unknown.status_code == 404
    assert unknown.json()["faultstring"] == 'Unable to identify resource with id "100".'


def test_cancel_requested_execution(alice_api):
    created = launch(alice_api, "core.local", cmd="sleep 5").json()
    url = f"/api/v1/executions/{created['id']}"
    canceled = alice_api.delete(url)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["result"] == {"message": "Action canceled by user.", "user": "alice"}
    again = alice_api.delete(url)
    assert again.status_code == 200
    assert again.json() == {"faultstring": "Action cannot be canceled. State = canceled."}


def test_re_run_merges_overrides_and_reuses_secrets(alice_api, admin_api):
    canary = "canary-rerun-2718"
    original = launch(
        alice_api, "demo.deploy", environment="staging", version="1", api_token=canary
    ).json()
    url = f"/api/v1/executions/{original['id']}/re_run"
    response = alice_api.post(url, {"parameters": {"version": "2", "api_token": ""}}, format="json")
    assert response.status_code == 201, response.json()
    rerun = response.json()
    assert rerun["id"] != original["id"]
    assert rerun["parameters"]["version"] == "2"
    assert rerun["parameters"]["environment"] == "staging"
    assert rerun["context"]["re-run"] == {"ref": original["id"]}
    revealed = admin_api.get(f"/api/v1/executions/{rerun['id']}?show_secrets=true").json()
    assert revealed["parameters"]["api_token"] == canary
    bad = alice_api.post(url, {"parameters": {"replicas": "many"}}, format="json")
    assert bad.status_code == 400


def test_st2_context_header(alice_api):
    response = alice_api.post(
        "/api/v1/executions",
        {"action": "core.noop"},
        format="json",
        HTTP_ST2_CONTEXT='{"parent": {"user": "alice", "execution_id": "x"}, "other": 1}',
    )
    assert response.json()["context"]["other"] == 1
    bad = alice_api.post(
        "/api/v1/executions", {"action": "core.noop"}, format="json", HTTP_ST2_CONTEXT="foobar"
    )
    assert bad.status_code == 400
    assert "Unable to convert st2-context" in bad.json()["faultstring"]


def test_running_as_another_user_is_admin_only(alice_api, admin_api):
    body = {"action": "core.noop", "user": "bob"}
    assert alice_api.post("/api/v1/executions", body, format="json").status_code == 403
    assert (
        admin_api.post("/api/v1/executions", body, format="json").json()["context"]["user"] == "bob"
    )


def test_parent_context_cannot_impersonate(alice_api):
    """`parent` is a context key the server sets (issue 12): a caller's is dropped, so it
    cannot name the user to run as."""
    response = alice_api.post(
        "/api/v1/executions",
        {"action": "core.noop"},
        format="json",
        HTTP_ST2_CONTEXT='{"parent": {"user": "bob"}}',
    )
    assert response.status_code == 201, response.json()
    assert response.json()["context"]["user"] == "alice"
    assert "parent" not in response.json()["context"]


def test_time_filters_must_be_utc_timestamps(alice_api):
    launch(alice_api, "core.local", cmd="true")
    bad = alice_api.get("/api/v1/executions?timestamp_gt=yesterday")
    assert bad.status_code == 400
    assert "timestamp_gt" in bad.json()["faultstring"]
    assert len(alice_api.get("/api/v1/executions?timestamp_gt=2000-01-01T00:00:00Z").json()) == 1
    assert alice_api.get("/api/v1/executions?timestamp_lt=2000-01-01 00:00:00%2B00").json() == []
