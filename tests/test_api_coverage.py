"""StackStorm's API, endpoint by endpoint: each of the 121 operations of StackStorm's own
OpenAPI document (../shared/reference/st2-openapi.yaml) is called on a live API with real
objects, as an administrator (StackStorm without RBAC treats every user as one), and must
answer StackStorm's success status; or it is in NOT_COVERED with the reason, and then it must
not answer so (an entry is removed from the list the day its endpoint lands, by this test).
README, "StackStorm API coverage", lists NOT_COVERED too."""

from functools import cached_property
from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

from st2bridge.models import RuleEnforcement, TriggerInstance

from .config_support import VALUES, register_with, write_config_pack
from .conftest import PASSWORD, basic
from .pack_support import pack_yaml, write_pack

pytestmark = pytest.mark.django_db

SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "st2-openapi.yaml"
METHODS = ("get", "post", "put", "delete")

NOT_COVERED = {
    ("GET", "/api/v1/inquiries/{inquiry_id}"): (
        "no inquiry exists to answer about: inquiries are asked by workflows, and no workflow "
        "runs here (the inquirer runner is metadata only); an execution named is 404 or 400"
    ),
    ("PUT", "/api/v1/inquiries/{inquiry_id}"): "the same: there is no inquiry to answer",
    ("GET", "/api/v1/traces/{id}"): (
        "traces are not kept (enforcements and executions' rule and trigger_instance record "
        "the same chain); the list is empty and a named trace is 404"
    ),
    ("POST", "/api/v1/workflows/inspect"): (
        "inspects orquesta workflow definitions, and there is no workflow engine here"
    ),
    ("GET", "/auth/v1/sso/request"): (
        "single sign-on is not offered (GET /auth/v1/sso says enabled: false, as StackStorm "
        "without SSO); sign-in is the portal's and POST /auth/v1/tokens'"
    ),
    ("POST", "/auth/v1/sso/callback"): "the same: no single sign-on",
}


def spec_operations():
    document = yaml.safe_load(SPEC.read_text())
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                codes = sorted(code for code in item[method]["responses"] if code != "default")
                found[(method.upper(), path)] = int(codes[0])
    return found


# --- the objects the calls name ------------------------------------------------------------------


def made(response, status=201):
    assert response.status_code == status, response.content
    return response.json()


RULE = {
    "name": "cov",
    "pack": "default",
    "enabled": True,
    "trigger": {"type": "core.st2.webhook", "parameters": {"url": "cov"}},
    "action": {"ref": "core.noop", "parameters": {}},
}
POLICY = {
    "name": "cov",
    "pack": "default",
    "resource_ref": "core.noop",
    "policy_type": "action.retry",
    "parameters": {"retry_on": "failure"},
}


SENSOR = "class_name: Watcher\nentry_point: watch.py\ntrigger_types: [{name: seen}]\n"


class World:
    """The admin's client, and real objects made through the API when a call first names
    them (each test makes only what its call needs)."""

    def __init__(self, api, tmp_path):
        self.api, self.tmp_path = api, tmp_path

    def call(self, method, path, body=None, **extra):
        send = getattr(self.api, method.lower())
        if body is None:
            return send(path, **extra)
        return send(path, body, format="json", **extra)

    @cached_property
    def action(self):
        body = {"name": "cov", "pack": "default", "runner_type": "noop"}
        return made(self.call("POST", "/api/v1/actions", body))

    @cached_property
    def rule(self):
        return made(self.call("POST", "/api/v1/rules", RULE))

    @cached_property
    def execution(self):
        return made(self.call("POST", "/api/v1/executions", {"action": "core.noop"}))

    @cached_property
    def api_key(self):
        return made(self.call("POST", "/api/v1/apikeys", {}))

    @cached_property
    def alias(self):
        body = {"name": "cov", "pack": "default", "action_ref": "core.noop", "formats": ["cov"]}
        return made(self.call("POST", "/api/v1/actionalias", body))

    @cached_property
    def policy(self):
        return made(self.call("POST", "/api/v1/policies", POLICY))

    @cached_property
    def trigger(self):
        timer = {"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours", "delta": 1}}
        return made(self.call("POST", "/api/v1/triggers", timer))

    @cached_property
    def fired(self):
        """The webhook rule, fired once: (its trigger instance id, its enforcement id)."""
        assert self.rule
        made(self.call("POST", "/api/v1/webhooks/cov", {"x": 1}), 202)
        instance = TriggerInstance.objects.values_list("id", flat=True).get()
        return instance, RuleEnforcement.objects.values_list("id", flat=True).get()

    def key(self):
        made(self.call("PUT", "/api/v1/keys/cov", {"name": "cov", "value": "v"}), 200)
        return "cov"


@pytest.fixture
def world(admin_api, settings, tmp_path):
    settings.ST2_STREAM_POLL_INTERVAL = 0.01
    settings.ST2_STREAM_MAX_SECONDS = 1
    settings.ST2_PACKS_INSTALL_DIR = tmp_path / "installed"
    settings.ST2_PACK_INSTALL_ROOTS = [tmp_path / "sources"]
    (tmp_path / "installed").mkdir()
    source = tmp_path / "sources" / "hello"
    source.mkdir(parents=True)
    (source / "pack.yaml").write_text(pack_yaml(name="hello"))
    sensing = write_pack(tmp_path / "more", "sensing", sensors={"watch.yaml": SENSOR})
    register_with(sensing, write_config_pack(tmp_path / "more"))
    return World(admin_api, tmp_path)


# --- how each endpoint is called ---------------------------------------------------------------


def stream(world, path):
    """The status of an event stream, read to its end (ST2_STREAM_MAX_SECONDS is 1 here)."""
    response = world.call("GET", path)
    b"".join(response.streaming_content)
    return response


def installed(world):
    source = world.tmp_path / "sources" / "hello"
    made(world.call("POST", "/api/v1/packs/install", {"packs": [f"file://{source}"]}), 202)


def trigger_type(world):
    body = {"name": "cov", "pack": "default", "payload_schema": {"type": "object"}}
    return made(world.call("POST", "/api/v1/triggertypes", body))


def alias_run(world):
    assert world.alias
    return {"name": "cov", "format": "cov", "command": "cov", "source_channel": "cli"}


def execution_path(world, tail=""):
    return f"/api/v1/executions/{world.execution['id']}{tail}"


CALLS = {
    ("GET", "/api/v1/"): lambda w: w.call("GET", "/api/v1/"),
    ("GET", "/api/v1/user"): lambda w: w.call("GET", "/api/v1/user"),
    # actions
    ("GET", "/api/v1/actions"): lambda w: w.call("GET", "/api/v1/actions"),
    ("POST", "/api/v1/actions"): lambda w: w.call(
        "POST", "/api/v1/actions", {"name": "new", "pack": "default", "runner_type": "noop"}
    ),
    ("GET", "/api/v1/actions/{ref_or_id}"): lambda w: w.call("GET", "/api/v1/actions/core.local"),
    ("PUT", "/api/v1/actions/{ref_or_id}"): lambda w: w.call(
        "PUT", f"/api/v1/actions/{w.action['id']}", {**w.action, "description": "changed"}
    ),
    ("DELETE", "/api/v1/actions/{ref_or_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/actions/{w.action['id']}"
    ),
    ("POST", "/api/v1/actions/{ref_or_id}/clone"): lambda w: w.call(
        "POST", "/api/v1/actions/core.local/clone", {"dest_pack": "default", "dest_action": "c"}
    ),
    ("GET", "/api/v1/actions/views/parameters/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/actions/views/parameters/core.local"
    ),
    ("GET", "/api/v1/actions/views/overview"): lambda w: w.call(
        "GET", "/api/v1/actions/views/overview"
    ),
    ("GET", "/api/v1/actions/views/overview/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/actions/views/overview/core.local"
    ),
    # action aliases
    ("GET", "/api/v1/actionalias"): lambda w: w.call("GET", "/api/v1/actionalias"),
    ("POST", "/api/v1/actionalias"): lambda w: w.call(
        "POST", "/api/v1/actionalias", {"name": "new", "action_ref": "core.noop"}
    ),
    ("GET", "/api/v1/actionalias/{ref_or_id}"): lambda w: w.call(
        "GET", f"/api/v1/actionalias/{w.alias['ref']}"
    ),
    ("PUT", "/api/v1/actionalias/{ref_or_id}"): lambda w: w.call(
        "PUT", f"/api/v1/actionalias/{w.alias['id']}", w.alias
    ),
    ("DELETE", "/api/v1/actionalias/{ref_or_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/actionalias/{w.alias['id']}"
    ),
    ("POST", "/api/v1/actionalias/match"): lambda w: (
        w.alias and w.call("POST", "/api/v1/actionalias/match", {"command": "cov"})
    ),
    ("GET", "/api/v1/actionalias/help"): lambda w: w.call("GET", "/api/v1/actionalias/help"),
    ("POST", "/api/v1/aliasexecution"): lambda w: w.call(
        "POST", "/api/v1/aliasexecution", alias_run(w)
    ),
    ("POST", "/api/v1/aliasexecution/match_and_execute"): lambda w: (
        w.alias
        and w.call(
            "POST",
            "/api/v1/aliasexecution/match_and_execute",
            {"command": "cov", "source_channel": "cli", "user": "admin"},
        )
    ),
    # executions
    ("GET", "/api/v1/executions"): lambda w: w.call("GET", "/api/v1/executions"),
    ("POST", "/api/v1/executions"): lambda w: w.call(
        "POST", "/api/v1/executions", {"action": "core.noop"}
    ),
    ("GET", "/api/v1/executions/{id}"): lambda w: w.call("GET", execution_path(w)),
    ("PUT", "/api/v1/executions/{id}"): lambda w: w.call(
        "PUT", execution_path(w), {"status": "canceling"}
    ),
    ("DELETE", "/api/v1/executions/{id}"): lambda w: w.call("DELETE", execution_path(w)),
    ("GET", "/api/v1/executions/{id}/output"): lambda w: w.call(
        "GET", execution_path(w, "/output")
    ),
    ("POST", "/api/v1/executions/{id}/re_run"): lambda w: w.call(
        "POST", execution_path(w, "/re_run"), {}
    ),
    ("GET", "/api/v1/inquiries"): lambda w: w.call("GET", "/api/v1/inquiries"),
    # datastore
    ("GET", "/api/v1/keys"): lambda w: w.call("GET", "/api/v1/keys"),
    ("GET", "/api/v1/keys/{name}"): lambda w: w.call("GET", f"/api/v1/keys/{w.key()}"),
    ("PUT", "/api/v1/keys/{name}"): lambda w: w.call(
        "PUT", "/api/v1/keys/cov", {"name": "cov", "value": "w"}
    ),
    ("DELETE", "/api/v1/keys/{name}"): lambda w: w.call("DELETE", f"/api/v1/keys/{w.key()}"),
    # packs
    ("GET", "/api/v1/packs"): lambda w: w.call("GET", "/api/v1/packs"),
    ("GET", "/api/v1/packs/{ref_or_id}"): lambda w: w.call("GET", "/api/v1/packs/core"),
    ("POST", "/api/v1/packs/install"): lambda w: w.call(
        "POST", "/api/v1/packs/install", {"packs": [f"file://{w.tmp_path}/sources/hello"]}
    ),
    ("POST", "/api/v1/packs/uninstall"): lambda w: (
        installed(w),
        w.call("POST", "/api/v1/packs/uninstall", {"packs": ["hello"]}),
    )[1],
    ("POST", "/api/v1/packs/register"): lambda w: w.call(
        "POST", "/api/v1/packs/register", {"packs": ["demo"]}
    ),
    # policies
    ("GET", "/api/v1/policytypes"): lambda w: w.call("GET", "/api/v1/policytypes"),
    ("GET", "/api/v1/policytypes/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/policytypes/action.retry"
    ),
    ("GET", "/api/v1/policies"): lambda w: w.call("GET", "/api/v1/policies"),
    ("POST", "/api/v1/policies"): lambda w: w.call("POST", "/api/v1/policies", POLICY),
    ("GET", "/api/v1/policies/{ref_or_id}"): lambda w: w.call(
        "GET", f"/api/v1/policies/{w.policy['ref']}"
    ),
    ("PUT", "/api/v1/policies/{ref_or_id}"): lambda w: w.call(
        "PUT", f"/api/v1/policies/{w.policy['id']}", w.policy
    ),
    ("DELETE", "/api/v1/policies/{ref_or_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/policies/{w.policy['id']}"
    ),
    # RBAC
    ("GET", "/api/v1/rbac/permission_types"): lambda w: w.call(
        "GET", "/api/v1/rbac/permission_types"
    ),
    ("GET", "/api/v1/rbac/permission_types/{resource_type}"): lambda w: w.call(
        "GET", "/api/v1/rbac/permission_types/action"
    ),
    ("GET", "/api/v1/rbac/roles"): lambda w: w.call("GET", "/api/v1/rbac/roles"),
    ("GET", "/api/v1/rbac/roles/{name_or_id}"): lambda w: w.call("GET", "/api/v1/rbac/roles/admin"),
    ("GET", "/api/v1/rbac/role_assignments"): lambda w: w.call(
        "GET", "/api/v1/rbac/role_assignments"
    ),
    ("GET", "/api/v1/rbac/role_assignments/{id}"): lambda w: w.call(
        "GET",
        "/api/v1/rbac/role_assignments/"
        + w.call("GET", "/api/v1/rbac/role_assignments").json()[0]["id"],
    ),
    # rules
    ("GET", "/api/v1/rules"): lambda w: w.call("GET", "/api/v1/rules"),
    ("POST", "/api/v1/rules"): lambda w: w.call("POST", "/api/v1/rules", RULE),
    ("GET", "/api/v1/rules/{ref_or_id}"): lambda w: w.call("GET", f"/api/v1/rules/{w.rule['ref']}"),
    ("PUT", "/api/v1/rules/{rule_ref_or_id}"): lambda w: w.call(
        "PUT", f"/api/v1/rules/{w.rule['id']}", w.rule
    ),
    ("DELETE", "/api/v1/rules/{rule_ref_or_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/rules/{w.rule['id']}"
    ),
    ("GET", "/api/v1/ruletypes"): lambda w: w.call("GET", "/api/v1/ruletypes"),
    ("GET", "/api/v1/ruletypes/{id}"): lambda w: w.call(
        "GET", "/api/v1/ruletypes/" + w.call("GET", "/api/v1/ruletypes").json()[0]["id"]
    ),
    ("GET", "/api/v1/runnertypes"): lambda w: w.call("GET", "/api/v1/runnertypes"),
    ("GET", "/api/v1/runnertypes/{name_or_id}"): lambda w: w.call(
        "GET", "/api/v1/runnertypes/local-shell-cmd"
    ),
    ("PUT", "/api/v1/runnertypes/{name_or_id}"): lambda w: w.call(
        "PUT", "/api/v1/runnertypes/local-shell-cmd", {"enabled": True}
    ),
    # API keys
    ("GET", "/api/v1/apikeys"): lambda w: w.call("GET", "/api/v1/apikeys"),
    ("POST", "/api/v1/apikeys"): lambda w: w.call("POST", "/api/v1/apikeys", {}),
    ("GET", "/api/v1/apikeys/{api_key_id_or_key}"): lambda w: w.call(
        "GET", f"/api/v1/apikeys/{w.api_key['id']}"
    ),
    ("PUT", "/api/v1/apikeys/{api_key_id_or_key}"): lambda w: w.call(
        "PUT", f"/api/v1/apikeys/{w.api_key['id']}", {"enabled": False}
    ),
    ("DELETE", "/api/v1/apikeys/{api_key_id_or_key}"): lambda w: w.call(
        "DELETE", f"/api/v1/apikeys/{w.api_key['id']}"
    ),
    # rule enforcements, timers, traces
    ("GET", "/api/v1/ruleenforcements"): lambda w: w.call("GET", "/api/v1/ruleenforcements"),
    ("GET", "/api/v1/ruleenforcements/{id}"): lambda w: w.call(
        "GET", f"/api/v1/ruleenforcements/{w.fired[1]}"
    ),
    ("GET", "/api/v1/timers"): lambda w: w.call("GET", "/api/v1/timers"),
    ("GET", "/api/v1/timers/{ref_or_id}"): lambda w: w.call(
        "GET", f"/api/v1/timers/{w.trigger['ref']}"
    ),
    ("GET", "/api/v1/traces"): lambda w: w.call("GET", "/api/v1/traces"),
    # trigger types, triggers, trigger instances, webhooks
    ("GET", "/api/v1/triggertypes"): lambda w: w.call("GET", "/api/v1/triggertypes"),
    ("POST", "/api/v1/triggertypes"): lambda w: w.call(
        "POST", "/api/v1/triggertypes", {"name": "new", "pack": "default"}
    ),
    ("GET", "/api/v1/triggertypes/{triggertype_ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/triggertypes/core.st2.webhook"
    ),
    ("PUT", "/api/v1/triggertypes/{triggertype_ref_or_id}"): lambda w: w.call(
        "PUT", "/api/v1/triggertypes/default.cov", trigger_type(w)
    ),
    ("DELETE", "/api/v1/triggertypes/{triggertype_ref_or_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/triggertypes/{trigger_type(w)['id']}"
    ),
    ("GET", "/api/v1/triggers"): lambda w: w.call("GET", "/api/v1/triggers"),
    ("POST", "/api/v1/triggers"): lambda w: w.call(
        "POST", "/api/v1/triggers", {"type": "core.st2.generic.actiontrigger"}
    ),
    ("GET", "/api/v1/triggers/{trigger_id}"): lambda w: w.call(
        "GET", f"/api/v1/triggers/{w.trigger['id']}"
    ),
    ("PUT", "/api/v1/triggers/{trigger_id}"): lambda w: w.call(
        "PUT", f"/api/v1/triggers/{w.trigger['id']}", w.trigger
    ),
    ("DELETE", "/api/v1/triggers/{trigger_id}"): lambda w: w.call(
        "DELETE", f"/api/v1/triggers/{w.trigger['id']}"
    ),
    ("GET", "/api/v1/triggerinstances"): lambda w: w.call("GET", "/api/v1/triggerinstances"),
    ("GET", "/api/v1/triggerinstances/{instance_id}"): lambda w: w.call(
        "GET", f"/api/v1/triggerinstances/{w.fired[0]}"
    ),
    ("POST", "/api/v1/triggerinstances/{trigger_instance_id}/re_emit"): lambda w: w.call(
        "POST", f"/api/v1/triggerinstances/{w.fired[0]}/re_emit", {}
    ),
    ("GET", "/api/v1/webhooks"): lambda w: w.call("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks/{hook}"): lambda w: (
        w.rule and w.call("POST", "/api/v1/webhooks/cov", {})
    ),
    ("GET", "/api/v1/webhooks/{url}"): lambda w: w.rule and w.call("GET", "/api/v1/webhooks/cov"),
    # sensor types and pack configs
    ("GET", "/api/v1/sensortypes"): lambda w: w.call("GET", "/api/v1/sensortypes"),
    ("GET", "/api/v1/sensortypes/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/sensortypes/sensing.Watcher"
    ),
    ("PUT", "/api/v1/sensortypes/{ref_or_id}"): lambda w: w.call(
        "PUT", "/api/v1/sensortypes/sensing.Watcher", {"enabled": False}
    ),
    ("GET", "/api/v1/configs"): lambda w: w.call("GET", "/api/v1/configs"),
    ("GET", "/api/v1/configs/{pack_ref}"): lambda w: (
        made(w.call("PUT", "/api/v1/configs/cfg", VALUES), 200),  # none until one is saved
        w.call("GET", "/api/v1/configs/cfg"),
    )[1],
    ("PUT", "/api/v1/configs/{pack_ref}"): lambda w: w.call("PUT", "/api/v1/configs/cfg", VALUES),
    ("GET", "/api/v1/config_schemas"): lambda w: w.call("GET", "/api/v1/config_schemas"),
    ("GET", "/api/v1/config_schemas/{pack_ref}"): lambda w: w.call(
        "GET", "/api/v1/config_schemas/cfg"
    ),
    # service registry
    ("GET", "/api/v1/service_registry/groups"): lambda w: w.call(
        "GET", "/api/v1/service_registry/groups"
    ),
    ("GET", "/api/v1/service_registry/groups/{group_id}/members"): lambda w: w.call(
        "GET", "/api/v1/service_registry/groups/api/members"
    ),
    # the views st2web reads
    ("GET", "/api/v1/actions/views/entry_point/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/actions/views/entry_point/demo.greet"
    ),
    ("GET", "/api/v1/executions/{id}/attribute/{attribute}"): lambda w: w.call(
        "GET", execution_path(w, "/attribute/status")
    ),
    ("GET", "/api/v1/executions/{id}/children"): lambda w: w.call(
        "GET", execution_path(w, "/children")
    ),
    ("GET", "/api/v1/executions/{id}/result"): lambda w: w.call(
        "GET", execution_path(w, "/result")
    ),
    ("GET", "/api/v1/executions/views/filters"): lambda w: w.call(
        "GET", "/api/v1/executions/views/filters"
    ),
    ("GET", "/api/v1/packs/index"): lambda w: w.call("GET", "/api/v1/packs/index"),
    ("POST", "/api/v1/packs/index/search"): lambda w: w.call(
        "POST", "/api/v1/packs/index/search", {"query": "demo"}
    ),
    ("GET", "/api/v1/packs/index/health"): lambda w: w.call("GET", "/api/v1/packs/index/health"),
    ("GET", "/api/v1/packs/views/files/{ref_or_id}"): lambda w: w.call(
        "GET", "/api/v1/packs/views/files/demo"
    ),
    ("GET", "/api/v1/packs/views/file/{ref_or_id}/{file_path}"): lambda w: w.call(
        "GET", "/api/v1/packs/views/file/demo/pack.yaml"
    ),
    ("GET", "/api/v1/rules/views"): lambda w: w.rule and w.call("GET", "/api/v1/rules/views"),
    ("GET", "/api/v1/rules/views/{ref_or_id}"): lambda w: w.call(
        "GET", f"/api/v1/rules/views/{w.rule['ref']}"
    ),
    ("GET", "/api/v1/ruleenforcements/views"): lambda w: (
        w.fired and w.call("GET", "/api/v1/ruleenforcements/views")
    ),
    ("GET", "/api/v1/ruleenforcements/views/{id}"): lambda w: w.call(
        "GET", f"/api/v1/ruleenforcements/views/{w.fired[1]}"
    ),
    # auth and stream
    ("POST", "/auth/v1/tokens"): lambda w: APIClient().post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("admin", PASSWORD)
    ),
    ("POST", "/auth/v1/tokens/validate"): lambda w: w.call(
        "POST", "/auth/v1/tokens/validate", {"token": "nope"}
    ),
    ("GET", "/auth/v1/sso"): lambda w: APIClient().get("/auth/v1/sso"),
    ("GET", "/stream/v1/stream"): lambda w: stream(w, "/stream/v1/stream"),
    ("GET", "/stream/v1/executions/{id}/output"): lambda w: stream(
        w, f"/stream/v1/executions/{w.execution['id']}/output"
    ),
}

# How the endpoints not covered are called, to check that they still are not: their path
# with a made-up or real name (an answer other than StackStorm's success means not covered).
UNCOVERED_PATHS = {
    "{ref_or_id}": "core.local",
    "{id}": "0" * 24,
    "{attribute}": "status",
    "{file_path}": "pack.yaml",
    "{inquiry_id}": "0" * 24,
}


def test_the_reference_has_stackstorms_121_operations():
    operations = spec_operations()
    assert len(operations) == 121
    assert set(CALLS) | set(NOT_COVERED) == set(operations)
    assert not set(CALLS) & set(NOT_COVERED)


@pytest.mark.parametrize("operation", sorted(CALLS), ids=" ".join)
def test_a_covered_endpoint_answers_as_stackstorm(operation, world):
    expected = spec_operations()[operation]
    response = CALLS[operation](world)
    assert response.status_code == expected, (operation, response.status_code, response.content)


@pytest.mark.parametrize("operation", sorted(NOT_COVERED), ids=" ".join)
def test_an_endpoint_listed_as_not_covered_is_not(operation, admin_api):
    method, path = operation
    for name, value in UNCOVERED_PATHS.items():
        path = path.replace(name, value)
    response = getattr(admin_api, method.lower())(path, {}, format="json")
    expected = spec_operations()[operation]
    assert response.status_code != expected, (
        f"{method} {operation[1]} answers {expected} now: remove it from NOT_COVERED "
        "(and from README's list)"
    )


def test_how_many_are_covered():
    """README says how many, and lists the others."""
    assert len(CALLS) == 121 - len(NOT_COVERED) == 115
