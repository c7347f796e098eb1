"""What a StackStorm without workflows answers, this server answers: no inquiries, no traces,
pausing and resuming refused for non-workflow executions (PUT /executions/{id}); canceling
through PUT as through DELETE; other statuses set by administrators only. Also the service
registry, action cloning and the SSO flag."""

import pytest

from st2bridge import service_registry
from st2bridge.models import Action, Execution, ServiceProcess
from st2bridge.worker import Worker

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def launch(api, action="core.local", **parameters):
    body = {"action": action, "parameters": parameters or {"cmd": "true"}}
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- inquiries and traces ----------------------------------------------------------------------


def test_inquiries_and_traces_are_empty_lists(alice_api):
    launch(alice_api)
    for path, limit in (("/api/v1/inquiries", "20"), ("/api/v1/traces", "100")):
        response = alice_api.get(path)
        assert response.status_code == 200, path
        assert response.json() == []
        assert response["X-Total-Count"] == "0" and response["X-Limit"] == limit


def test_an_execution_is_not_an_inquiry_and_no_trace_exists(alice_api):
    execution = launch(alice_api)
    response = alice_api.get(f"/api/v1/inquiries/{execution['id']}")
    assert response.status_code == 400
    assert (
        response.json()["faultstring"] == f'Action execution "{execution["id"]}" is not an inquiry.'
    )
    answer = {"id": execution["id"], "response": {"continue": True}}
    put = alice_api.put(f"/api/v1/inquiries/{execution['id']}", answer, format="json")
    assert put.status_code == 400
    assert alice_api.get("/api/v1/inquiries/" + "a" * 24).status_code == 404
    assert alice_api.get("/api/v1/traces/" + "a" * 24).status_code == 404


def test_inquiries_list_checks_its_limit(alice_api):
    assert alice_api.get("/api/v1/inquiries?limit=0").status_code == 400


# --- PUT /executions/{id} ----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "verb"), [("pausing", "pause"), ("resuming", "resume")])
def test_pause_and_resume_are_refused_for_a_non_workflow(alice_api, status, verb):
    execution = launch(alice_api)
    response = alice_api.put(
        f"/api/v1/executions/{execution['id']}", {"status": status}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["faultstring"] == (
        f'Failed updating execution. Unable to {verb} liveaction "{execution["id"]}" because '
        'it is not supported by the "local-shell-cmd" runner.'
    )
    assert Execution.objects.get(pk=execution["id"]).status == "requested"


def test_put_canceling_cancels_as_delete_does(alice_api):
    execution = launch(alice_api)
    path = f"/api/v1/executions/{execution['id']}"
    response = alice_api.put(path, {"status": "canceling"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    again = alice_api.put(path, {"status": "canceled"}, format="json")
    assert again.status_code == 400
    assert again.json()["faultstring"] == "Execution is already in completed state."


def test_setting_another_status_is_for_administrators(alice_api, admin_api):
    execution = launch(alice_api)
    path = f"/api/v1/executions/{execution['id']}"
    body = {"status": "succeeded", "result": {"done": True}}
    assert alice_api.put(path, body, format="json").status_code == 403
    response = admin_api.put(path, body, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"] == {"done": True}
    refused = admin_api.put(path, {"status": "married"}, format="json")
    assert refused.status_code == 400 and "'married' is not one of" in refused.json()["faultstring"]


def test_others_executions_cannot_be_changed(alice_api, bob_api):
    execution = launch(bob_api)
    path = f"/api/v1/executions/{execution['id']}"
    assert alice_api.put(path, {"status": "canceling"}, format="json").status_code == 404


# --- service registry ------------------------------------------------------------------------


def test_the_service_registry_lists_this_server_s_processes(admin_api):
    worker = Worker(concurrency=1, name="host-1:42:abc")
    worker.tick()  # its first heartbeat
    groups = admin_api.get("/api/v1/service_registry/groups")
    assert groups.status_code == 200
    assert groups.json() == {"groups": ["api", "worker"]}
    members = admin_api.get("/api/v1/service_registry/groups/worker/members").json()["members"]
    assert [(m["group_id"], m["member_id"]) for m in members] == [("worker", "host-1:42:abc")]
    assert {"hostname", "pid", "started_at", "heartbeat_at"} <= set(members[0]["capabilities"])
    api = admin_api.get("/api/v1/service_registry/groups/api/members").json()["members"]
    assert len(api) == 1 and api[0]["capabilities"]["name"] == "api"
    service_registry.leave(worker.name)
    assert admin_api.get("/api/v1/service_registry/groups").json() == {"groups": ["api"]}
    missing = admin_api.get("/api/v1/service_registry/groups/worker/members")
    assert missing.status_code == 404
    assert missing.json()["faultstring"] == 'Group with ID "worker" not found.'


def test_a_silent_worker_is_gone_from_the_registry(admin_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    Worker(concurrency=1, name="gone").tick()
    long_ago = timezone.now() - timedelta(seconds=settings.ST2_HEARTBEAT_STALE_AFTER + 1)
    ServiceProcess.objects.update(heartbeat_at=long_ago)
    assert admin_api.get("/api/v1/service_registry/groups").json() == {"groups": ["api"]}


def test_the_service_registry_is_for_administrators(alice_api):
    assert alice_api.get("/api/v1/service_registry/groups").status_code == 403
    path = "/api/v1/service_registry/groups/api/members"
    assert alice_api.get(path).status_code == 403


# --- clone -----------------------------------------------------------------------------------


def test_an_administrator_clones_an_action(admin_api):
    body = {"dest_pack": "default", "dest_action": "my_local"}
    response = admin_api.post("/api/v1/actions/core.local/clone", body, format="json")
    assert response.status_code == 201, response.json()
    clone = response.json()
    source = admin_api.get("/api/v1/actions/core.local").json()
    assert clone["ref"] == "default.my_local" and clone["id"] != source["id"]
    for field in ("runner_type", "parameters", "description", "entry_point"):
        assert clone[field] == source[field]
    assert "metadata_file" not in clone
    again = admin_api.post("/api/v1/actions/core.local/clone", body, format="json")
    assert again.status_code == 400
    assert again.json()["faultstring"] == "The requested destination action already exists"
    body["overwrite"] = True
    replaced = admin_api.post("/api/v1/actions/core.echo/clone", body, format="json")
    assert replaced.status_code == 201 and replaced.json()["id"] == clone["id"]
    assert Action.objects.get(ref="default.my_local").description == (
        Action.objects.get(ref="core.echo").description
    )


@pytest.mark.parametrize(
    ("source", "body", "status", "message"),
    [
        ("core.nope", {"dest_pack": "default", "dest_action": "x"}, 404,
         'Resource with a reference or id "core.nope" not found'),
        ("core.local", {"dest_pack": "clonepack", "dest_action": "x"}, 400,
         "Destination pack 'clonepack' doesn't exist"),
        ("core.local", {"dest_pack": "core", "dest_action": "x"}, 400, "system level packs"),
        ("demo.deploy", {"dest_pack": "default", "dest_action": "x"}, 400,
         "files are not copied through the API"),
        ("core.local", {"dest_pack": "default"}, 400, "'dest_action' is a required property"),
    ],
)  # fmt: skip
def test_clone_refusals(admin_api, source, body, status, message):
    response = admin_api.post(f"/api/v1/actions/{source}/clone", body, format="json")
    assert response.status_code == status
    assert message in response.json()["faultstring"]


def test_an_action_with_an_entry_point_clones_within_its_pack(admin_api):
    body = {"dest_pack": "demo", "dest_action": "deploy_copy"}
    response = admin_api.post("/api/v1/actions/demo.deploy/clone", body, format="json")
    assert response.status_code == 201
    assert response.json()["entry_point"] == "deploy.sh"


def test_members_may_not_clone(alice_api):
    body = {"dest_pack": "default", "dest_action": "mine"}
    assert (
        alice_api.post("/api/v1/actions/core.local/clone", body, format="json").status_code == 403
    )


# --- SSO ---------------------------------------------------------------------------------------


def test_sso_is_reported_off_to_anyone(anon_api):
    response = anon_api.get("/auth/v1/sso")
    assert response.status_code == 200
    assert response.json() == {"enabled": False}
