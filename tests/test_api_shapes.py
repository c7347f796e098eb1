"""Every shape st2bridge/shapes.py declares is what the API answers, so the declaration (and
the include_attributes allow-lists and OpenAPI schemas derived from it) cannot drift from the
services' `to_api` functions: real objects, made through the API (and the services where the
API makes none), are read back through the API, and every answer has only declared fields,
every required one, values valid against the declared schemas, and between them the answers
of a shape show every field it declares."""

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from django.test import override_settings
from jsonschema import Draft202012Validator, FormatChecker

from st2bridge import dispatch, executions, shapes, team_admin
from st2bridge.models import Execution, RuleEnforcement, Trigger, TriggerInstance
from st2bridge.packs import register_pack, register_packs
from st2bridge.worker import Worker

from .catalog_support import register_bundled_packs
from .config_support import register_with, write_config_pack
from .conftest import login
from .pack_support import pack_yaml
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value):
    """What st2bridge.formats.isotime writes: UTC, microseconds, "Z"."""
    return not isinstance(value, str) or (
        value.endswith("Z") and bool(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ"))
    )


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


# --- real examples of each shape, as the API answers them ----------------------------------

EXAMPLES = {}


def examples_of(shape):
    def register(function):
        EXAMPLES[shape.name] = function
        return function

    return register


@examples_of(shapes.ERROR)
def error_examples(admin_api, alice_api, **_):
    body = {"name": "twice", "pack": "default", "runner_type": "noop"}
    ok(admin_api.post("/api/v1/actions", body, format="json"), 201)
    return [
        ok(alice_api.get("/api/v1/actions/nope.nope"), 404),
        ok(admin_api.post("/api/v1/actions", body, format="json"), 409),
        ok(alice_api.get("/api/v1/executions?limit=0"), 400),
    ]


@examples_of(shapes.TOKEN)
def token_examples(admin_user, **_):
    return [ok(login(admin_user.username, ttl=60), 201)]


@examples_of(shapes.TOKEN_VALIDITY)
def token_validity_examples(alice_api, admin_user, **_):
    token = login(admin_user.username).json()["token"]
    validate = "/auth/v1/tokens/validate"
    return [
        ok(alice_api.post(validate, {"token": token}, format="json")),
        ok(alice_api.post(validate, {"token": "nope"}, format="json")),
    ]


@examples_of(shapes.USER)
def user_examples(admin_api, alice_api, anon_api, **_):
    key = ok(alice_api.post("/api/v1/apikeys", {}, format="json"), 201)["key"]
    return [
        ok(admin_api.get("/api/v1/user")),
        ok(anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=key)),
    ]


@examples_of(shapes.VERSION)
def version_examples(alice_api, **_):
    return [ok(alice_api.get("/api/v1"))]


@examples_of(shapes.EXTENSIONS)
def extensions_examples(alice_api, **_):
    return [ok(alice_api.get("/api/v1/extensions"))]


@examples_of(shapes.API_KEY)
def api_key_examples(admin_api, alice_api, anon_api, **_):
    body = {"metadata": {"name": "ci"}, "expires_at": "2099-01-01T00:00:00Z"}
    used = ok(alice_api.post("/api/v1/apikeys", body, format="json"), 201)
    ok(anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=used["key"]))  # sets last_used_at
    ok(alice_api.post("/api/v1/apikeys", {}, format="json"), 201)
    return [
        *ok(alice_api.get("/api/v1/apikeys")),
        *ok(admin_api.get("/api/v1/apikeys?show_secrets=true")),
        ok(admin_api.get(f"/api/v1/apikeys/{used['id']}")),
        ok(alice_api.put(f"/api/v1/apikeys/{used['id']}", {"enabled": False}, format="json")),
    ]


@examples_of(shapes.NEW_API_KEY)
def new_api_key_examples(admin_api, alice_api, **_):
    imported = {"key_hash": "a" * 64, "user": "alice"}
    return [
        ok(alice_api.post("/api/v1/apikeys", {"metadata": {"a": "b"}}, format="json"), 201),
        ok(admin_api.post("/api/v1/apikeys", imported, format="json"), 201),
    ]


def full_pack(root):
    """A pack on disk whose pack.yaml has every field StackStorm's pack schema knows, and a
    trigger type (sensors/*.yaml)."""
    directory = Path(root, "full")
    (directory / "sensors").mkdir(parents=True)
    metadata = {
        "ref": "full",
        "name": "full",
        "description": "Every field.",
        "keywords": ["all"],
        "version": "1.2.3",
        "author": "someone",
        "email": "someone@example.com",
        "contributors": ["another"],
        "dependencies": ["core"],
        "system": {"debian": True},
        "stackstorm_version": ">=3.9.0",
        "python_versions": ["3"],
    }
    (directory / "pack.yaml").write_text(yaml.safe_dump(metadata))
    sensor = {"class_name": "Pinger", "entry_point": "pinger.py"}
    sensor["trigger_types"] = [{"name": "ping", "description": "A ping."}]
    (directory / "sensors" / "ping.yaml").write_text(yaml.safe_dump(sensor))
    assert not register_pack(directory).errors


def gaps_pack(root):
    """A pack with what this server cannot fully take: an action of a runner it cannot run,
    a rule naming a missing action, a sensor, and an action file it refuses."""
    directory = Path(root, "gaps")
    for folder in ("actions", "rules", "sensors"):
        (directory / folder).mkdir(parents=True)
    metadata = {"ref": "gaps", "name": "gaps", "description": "Gaps.", "version": "0.1.0"}
    (directory / "pack.yaml").write_text(yaml.safe_dump({**metadata, "author": "someone"}))
    flow = {"name": "flow", "runner_type": "orquesta", "entry_point": "flow.yaml"}
    (directory / "actions" / "flow.yaml").write_text(yaml.safe_dump(flow))
    (directory / "actions" / "broken.yaml").write_text("name: [unclosed")
    rule = {
        "name": "orphan",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "orphan"}},
        "action": {"ref": "gaps.missing"},
    }
    (directory / "rules" / "orphan.yaml").write_text(yaml.safe_dump(rule))
    sensor = {
        "class_name": "Watcher",
        "entry_point": "watcher.py",
        "description": "Watches.",
        "poll_interval": 30,
        "trigger_types": [{"name": "seen", "description": "Something was seen."}],
    }
    (directory / "sensors" / "watcher.yaml").write_text(yaml.safe_dump(sensor))
    (directory / "sensors" / "watcher.py").write_text("")
    register_packs([directory])


@examples_of(shapes.SENSOR_TYPE)
def sensor_type_examples(admin_api, alice_api, tmp_path, **_):
    gaps_pack(tmp_path)
    listed = ok(alice_api.get("/api/v1/sensortypes"))
    changed = ok(
        admin_api.put("/api/v1/sensortypes/gaps.Watcher", {"enabled": False}, format="json")
    )
    return [*listed, changed]


@examples_of(shapes.PACK_PROBLEM)
def pack_problem_examples(admin_api, tmp_path, **_):
    gaps_pack(tmp_path)
    return ok(admin_api.get("/api/v1/packs/views/problems"))


@examples_of(shapes.PACK)
def pack_examples(alice_api, admin_api, tmp_path, **_):
    full_pack(tmp_path)
    return [*ok(admin_api.get("/api/v1/packs")), ok(alice_api.get("/api/v1/packs/core"))]


@examples_of(shapes.PACK_FILE)
def pack_file_examples(alice_api, **_):
    return ok(alice_api.get("/api/v1/packs/views/files/demo"))


def pack_indexes(root):
    """file:// URLs of an index listing a pack with every field an index entry has, of a
    malformed index and of a missing one."""
    entry = {
        "name": "indexed",
        "ref": "indexed",
        "description": "A pack an index lists.",
        "keywords": ["listed"],
        "version": "0.1.0",
        "author": "someone",
        "email": "someone@example.com",
        "contributors": ["another"],
        "python_versions": ["3"],
        "stackstorm_version": ">=3.9",
        "repo_url": "https://example.com/indexed",
        "content": {"actions": {"count": 1, "resources": ["do"]}},
    }
    good, bad = Path(root, "index.json"), Path(root, "bad.json")
    good.write_text(json.dumps({"packs": {"indexed": entry, "other": {"name": "other"}}}))
    bad.write_text("[]")
    return [f"file://{good}", f"file://{bad}", f"file://{root}/missing.json"]


@examples_of(shapes.PACK_INDEX)
def pack_index_examples(alice_api, tmp_path, **_):
    empty = ok(alice_api.get("/api/v1/packs/index"))
    with override_settings(ST2_PACK_INDEX_URLS=pack_indexes(tmp_path)):
        return [empty, ok(alice_api.get("/api/v1/packs/index"))]


@examples_of(shapes.PACK_INDEX_ENTRY)
def pack_index_entry_examples(alice_api, tmp_path, **_):
    search = "/api/v1/packs/index/search"
    with override_settings(ST2_PACK_INDEX_URLS=pack_indexes(tmp_path)):
        return [
            *ok(alice_api.post(search, {"query": "LISTED"}, format="json")),
            ok(alice_api.post(search, {"pack": "other"}, format="json")),
        ]


@examples_of(shapes.PACK_INDEX_HEALTH)
def pack_index_health_examples(alice_api, tmp_path, **_):
    none = ok(alice_api.get("/api/v1/packs/index/health"))
    with override_settings(ST2_PACK_INDEX_URLS=pack_indexes(tmp_path)):
        return [none, ok(alice_api.get("/api/v1/packs/index/health"))]


@examples_of(shapes.RUNNER_TYPE)
def runner_type_examples(admin_api, **_):
    runners = ok(admin_api.get("/api/v1/runnertypes"))
    changed = ok(admin_api.put("/api/v1/runnertypes/noop", {"enabled": False}, format="json"))
    return [*runners, ok(admin_api.get("/api/v1/runnertypes/local-shell-cmd")), changed]


@examples_of(shapes.ACTION)
def action_examples(admin_api, alice_api, tmp_path, **_):
    gaps_pack(tmp_path)
    body = {"name": "mine", "pack": "default", "runner_type": "noop", "tags": [{"name": "a"}]}
    created = ok(admin_api.post("/api/v1/actions", body, format="json"), 201)
    changed = ok(
        admin_api.put(f"/api/v1/actions/{created['id']}", {**body, "enabled": False}, format="json")
    )
    return [
        created,
        changed,
        *ok(alice_api.get("/api/v1/actions")),
        ok(alice_api.get("/api/v1/actions/core.local")),
        *ok(alice_api.get("/api/v1/actions/views/overview")),
        ok(alice_api.get("/api/v1/actions/views/overview/core.local")),
        ok(alice_api.get("/api/v1/actions/gaps.flow")),
    ]


@examples_of(shapes.PARAMETERS)
def parameters_examples(alice_api, **_):
    return [ok(alice_api.get("/api/v1/actions/views/parameters/core.local"))]


def hook_rule(api, name, url, action="core.noop", **parameters):
    body = {
        "name": name,
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url}},
        "action": {"ref": action, "parameters": parameters},
    }
    return ok(api.post("/api/v1/rules", body, format="json"), 201)


@examples_of(shapes.EXECUTION)
def execution_examples(alice_api, alice, **_):
    launch = {"action": "core.local", "parameters": {"cmd": "echo hello"}}
    launched = ok(alice_api.post("/api/v1/executions", launch, format="json"), 201)
    run_to_completion(launched["id"])
    parent = Execution.objects.get(pk=launched["id"])
    # No API sets a parent (StackStorm's workflows do); the service takes one.
    child = executions.request_execution("core.noop", {}, user="alice", staff=False, parent=parent)
    hook_rule(alice_api, "on_shapes", "shapes")
    ok(alice_api.post("/api/v1/webhooks/shapes", {"x": 1}, format="json"), 202)
    re_run = ok(
        alice_api.post(f"/api/v1/executions/{launched['id']}/re_run", {}, format="json"), 201
    )
    canceled = ok(alice_api.delete(f"/api/v1/executions/{re_run['id']}"))
    return [
        launched,
        re_run,
        canceled,
        ok(alice_api.get(f"/api/v1/executions/{launched['id']}")),
        ok(alice_api.get(f"/api/v1/executions/{child.id}?show_secrets=true")),
        *ok(alice_api.get("/api/v1/executions")),
    ]


@examples_of(shapes.EXECUTION_FILTERS)
def execution_filters_examples(alice_api, admin_api, **_):
    ok(alice_api.post("/api/v1/executions", {"action": "core.noop"}, format="json"), 201)
    hook_rule(alice_api, "on_filters", "filters")
    ok(alice_api.post("/api/v1/webhooks/filters", {}, format="json"), 202)
    return [
        ok(alice_api.get("/api/v1/executions/views/filters")),
        ok(admin_api.get("/api/v1/executions/views/filters?types=user,status")),
    ]


@examples_of(shapes.KEY_VALUE_PAIR)
def key_value_pair_examples(admin_api, alice_api, **_):
    system = {"name": "k", "value": "v", "description": "A key.", "ttl": 600}
    ok(admin_api.put("/api/v1/keys/k", system, format="json"))
    secret = {"name": "s", "value": "hush", "secret": True, "scope": "st2kv.user"}
    return [
        ok(alice_api.put("/api/v1/keys/s?scope=st2kv.user", secret, format="json")),
        ok(alice_api.get("/api/v1/keys/s?scope=st2kv.user&decrypt=true")),
        *ok(admin_api.get("/api/v1/keys?scope=all")),
        *ok(alice_api.get("/api/v1/keys?scope=all")),
    ]


@examples_of(shapes.CONFIG)
def config_examples(admin_api, alice_api, tmp_path, **_):
    register_with(write_config_pack(tmp_path / "packs"))
    values = {"api_token": "t", "auth": {"username": "u"}}
    return [
        ok(admin_api.put("/api/v1/configs/cfg", values, format="json")),
        ok(admin_api.get("/api/v1/configs/cfg?show_secrets=true")),
        *ok(alice_api.get("/api/v1/configs")),
    ]


@examples_of(shapes.CONFIG_SCHEMA)
def config_schema_examples(alice_api, tmp_path, **_):
    register_with(write_config_pack(tmp_path / "packs"))
    return [
        ok(alice_api.get("/api/v1/config_schemas/cfg")),
        *ok(alice_api.get("/api/v1/config_schemas")),
    ]


@examples_of(shapes.RULE)
def rule_examples(alice_api, admin_api, tmp_path, **_):
    created = hook_rule(alice_api, "on_rule", "rule", "core.local", cmd="echo {{ trigger.body }}")
    changed = ok(
        alice_api.put(
            f"/api/v1/rules/{created['id']}", {**created, "enabled": False}, format="json"
        )
    )
    gaps_pack(tmp_path)
    orphan = ok(admin_api.get("/api/v1/rules/gaps.orphan"))
    return [created, changed, orphan, *ok(admin_api.get("/api/v1/rules?show_secrets=true"))]


@examples_of(shapes.TRIGGER_TYPE)
def trigger_type_examples(admin_api, alice_api, tmp_path, **_):
    full_pack(tmp_path)
    body = {"name": "made", "pack": "default", "payload_schema": {"type": "object"}}
    created = ok(admin_api.post("/api/v1/triggertypes", body, format="json"), 201)
    return [
        created,
        ok(admin_api.put("/api/v1/triggertypes/default.made", body, format="json")),
        *ok(alice_api.get("/api/v1/triggertypes")),
        ok(alice_api.get("/api/v1/triggertypes/full.ping")),
    ]


@examples_of(shapes.TRIGGER)
def trigger_examples(alice_api, admin_api, **_):
    rule = hook_rule(alice_api, "on_trigger", "trigger")
    timer = {"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours", "delta": 1}}
    created = ok(
        admin_api.post("/api/v1/triggers", {**timer, "description": "hourly"}, format="json"), 201
    )
    timer_rule = {
        "name": "hourly",
        "pack": "default",
        "trigger": timer,
        "action": {"ref": "core.noop"},
    }
    ok(admin_api.post("/api/v1/rules", timer_rule, format="json"), 201)
    return [
        created,
        ok(admin_api.put(f"/api/v1/triggers/{created['id']}", created, format="json")),
        *ok(alice_api.get("/api/v1/timers")),
        ok(alice_api.get(f"/api/v1/timers/{created['ref']}")),
        *ok(admin_api.get("/api/v1/triggers")),
        ok(alice_api.get(f"/api/v1/triggers/{rule['trigger']['ref']}")),
        ok(admin_api.get("/api/v1/triggers/core.st2.generic.actiontrigger")),
        *ok(alice_api.get("/api/v1/webhooks")),
        ok(alice_api.get("/api/v1/webhooks/trigger")),
    ]


@examples_of(shapes.TRIGGER_INSTANCE)
def trigger_instance_examples(alice_api, admin_api, **_):
    rule = hook_rule(alice_api, "on_instance", "instance")
    ok(alice_api.post("/api/v1/webhooks/instance", {"x": 1}, format="json"), 202)
    # As a timer fires: nobody posted it.
    dispatch.dispatch(Trigger.objects.get(ref=rule["trigger"]["ref"]), {"timer": True})
    posted = TriggerInstance.objects.exclude(posted_by="").first()
    return [
        *ok(admin_api.get("/api/v1/triggerinstances")),
        ok(alice_api.get(f"/api/v1/triggerinstances/{posted.id}")),
    ]


@examples_of(shapes.RE_EMITTED)
def re_emitted_examples(alice_api, admin_api, **_):
    hook_rule(alice_api, "on_re_emit", "re_emit")
    ok(alice_api.post("/api/v1/webhooks/re_emit", {"x": 1}, format="json"), 202)
    instance = TriggerInstance.objects.get()
    return [ok(admin_api.post(f"/api/v1/triggerinstances/{instance.id}/re_emit", {}))]


@examples_of(shapes.RULE_ENFORCEMENT)
def rule_enforcement_examples(alice_api, admin_api, **_):
    hook_rule(alice_api, "runs", "enforce")
    hook_rule(alice_api, "fails", "enforce", "core.local", cmd="{{ trigger.body.no.such }}")
    ok(alice_api.post("/api/v1/webhooks/enforce", {}, format="json"), 202)
    failed = RuleEnforcement.objects.get(status=RuleEnforcement.FAILED)
    return [
        *ok(admin_api.get("/api/v1/ruleenforcements")),
        ok(alice_api.get(f"/api/v1/ruleenforcements/{failed.id}")),
    ]


@examples_of(shapes.RULE_VIEW)
def rule_view_examples(alice_api, admin_api, tmp_path, **_):
    created = hook_rule(alice_api, "on_view", "view", "core.local", cmd="echo {{ trigger.body }}")
    gaps_pack(tmp_path)
    return [
        ok(admin_api.get("/api/v1/rules/views/gaps.orphan")),
        *ok(admin_api.get("/api/v1/rules/views?show_secrets=true")),
        ok(alice_api.get(f"/api/v1/rules/views/{created['ref']}")),
    ]


@examples_of(shapes.RULE_ENFORCEMENT_VIEW)
def rule_enforcement_view_examples(alice_api, admin_api, **_):
    hook_rule(alice_api, "viewed", "viewed")
    hook_rule(alice_api, "fails_view", "viewed", "core.local", cmd="{{ trigger.body.no.such }}")
    ok(alice_api.post("/api/v1/webhooks/viewed", {}, format="json"), 202)
    failed = RuleEnforcement.objects.get(status=RuleEnforcement.FAILED)
    listed = ok(admin_api.get("/api/v1/ruleenforcements/views"))
    assert all(view["trigger_instance"] for view in listed)
    assert any(view["execution"] for view in listed)
    TriggerInstance.objects.all().delete()  # an instance gone: {} in its place
    return [*listed, ok(alice_api.get(f"/api/v1/ruleenforcements/views/{failed.id}"))]


@examples_of(shapes.TEAM)
def team_examples(admin_api, alice_api, **_):
    body = {"name": "ops", "members": ["alice"], "packs": ["core", "nosuchpack"]}
    team = ok(admin_api.post("/api/v1/teams", body, format="json"), 201)
    return [team, *ok(alice_api.get("/api/v1/teams")), ok(admin_api.get("/api/v1/teams/ops"))]


@examples_of(shapes.USER_ACCESS)
def user_access_examples(admin_api, alice_api, **_):
    ok(admin_api.post("/api/v1/teams", {"name": "ops", "members": ["alice"]}, format="json"), 201)
    return [*ok(admin_api.get("/api/v1/useraccess")), ok(alice_api.get("/api/v1/useraccess/alice"))]


@examples_of(shapes.GRANTABLE)
def grantable_examples(admin_api, **_):
    return ok(admin_api.get("/api/v1/grantables?q=core&limit=5"))


@examples_of(shapes.AUDIT_RECORD)
def audit_record_examples(admin_api, alice_api, **_):
    ok(alice_api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}}, format="json"), 201)
    return ok(admin_api.get("/api/v1/audit"))


# --- the rest of StackStorm's API (issue 17) ----------------------------------------------


@examples_of(shapes.RULE_TYPE)
def rule_type_examples(alice_api, **_):
    types = ok(alice_api.get("/api/v1/ruletypes"))
    return [*types, ok(alice_api.get(f"/api/v1/ruletypes/{types[0]['id']}"))]


def chat_pack(root):
    """A pack on disk with an alias and a policy, each with a description."""
    directory = Path(root, "chat")
    for folder in ("aliases", "policies"):
        (directory / folder).mkdir(parents=True)
    (directory / "pack.yaml").write_text(pack_yaml(name="chat"))
    alias = {"name": "hi", "description": "Hi.", "action_ref": "demo.greet", "formats": ["hi"]}
    (directory / "aliases" / "hi.yaml").write_text(yaml.safe_dump(alias))
    policy = {
        "name": "greet.retry",
        "description": "Once more.",
        "resource_ref": "demo.greet",
        "policy_type": "action.retry",
        "parameters": {"retry_on": "failure"},
    }
    (directory / "policies" / "retry.yaml").write_text(yaml.safe_dump(policy))
    assert not register_pack(directory).errors


GREET_ALIAS = {
    "name": "greet_someone",
    "pack": "demo",
    "action_ref": "demo.greet",
    "formats": [{"display": "greet <name>", "representation": ["greet {{name}}"]}, "hey {{name}}"],
    "ack": {"format": "Greeting {{ execution.parameters.name }}", "extra": {"color": "green"}},
}


def alias_of(admin_api, body=GREET_ALIAS):
    return ok(admin_api.post("/api/v1/actionalias", body, format="json"), 201)


@examples_of(shapes.ACTION_ALIAS)
def action_alias_examples(admin_api, alice_api, tmp_path, **_):
    chat_pack(tmp_path)
    created = alias_of(admin_api)
    changed = ok(admin_api.put(f"/api/v1/actionalias/{created['id']}", created, format="json"))
    return [created, changed, *ok(alice_api.get("/api/v1/actionalias")),
            ok(alice_api.get("/api/v1/actionalias/chat.hi"))]  # fmt: skip


@examples_of(shapes.ALIAS_MATCH)
def alias_match_examples(admin_api, alice_api, **_):
    alias_of(admin_api)
    match = "/api/v1/actionalias/match"
    return [
        ok(alice_api.post(match, {"command": "greet Ada"}, format="json")),
        ok(alice_api.post(match, {"command": "hey Ada"}, format="json")),
    ]


@examples_of(shapes.ALIAS_HELP)
def alias_help_examples(admin_api, alice_api, **_):
    alias_of(admin_api)
    return [
        ok(alice_api.get("/api/v1/actionalias/help")),
        ok(alice_api.get("/api/v1/actionalias/help?filter=nothing")),
    ]


CHAT = {"source_channel": "ops", "user": "chatty"}


@examples_of(shapes.ALIAS_EXECUTION)
def alias_execution_examples(admin_api, alice_api, **_):
    alias_of(admin_api)
    alias_of(admin_api, {**GREET_ALIAS, "name": "quiet", "ack": {}})
    body = {"name": "greet_someone", "format": "greet {{name}}", "command": "greet Ada", **CHAT}
    quiet = {**body, "name": "quiet"}
    return [
        ok(alice_api.post("/api/v1/aliasexecution", body, format="json"), 201),
        ok(admin_api.post("/api/v1/aliasexecution?show_secrets=true", quiet, format="json"), 201),
    ]


@examples_of(shapes.ALIAS_EXECUTIONS)
def alias_executions_examples(admin_api, alice_api, **_):
    alias_of(admin_api)
    path = "/api/v1/aliasexecution/match_and_execute"
    return [ok(alice_api.post(path, {"command": "hey Bob", **CHAT}, format="json"), 201)]


@examples_of(shapes.POLICY_TYPE)
def policy_type_examples(alice_api, **_):
    types = ok(alice_api.get("/api/v1/policytypes"))
    return [*types, ok(alice_api.get("/api/v1/policytypes/action.retry"))]


@examples_of(shapes.POLICY)
def policy_examples(admin_api, alice_api, tmp_path, **_):
    chat_pack(tmp_path)
    body = {
        "name": "local.limit",
        "pack": "default",
        "resource_ref": "core.local",
        "policy_type": "action.concurrency",
        "parameters": {"threshold": 2},
    }
    created = ok(admin_api.post("/api/v1/policies", body, format="json"), 201)
    changed = ok(admin_api.put(f"/api/v1/policies/{created['id']}", created, format="json"))
    return [created, changed, *ok(alice_api.get("/api/v1/policies")),
            ok(alice_api.get("/api/v1/policies/chat.greet.retry"))]  # fmt: skip


@examples_of(shapes.ASYNC_REQUEST)
def async_request_examples(admin_api, tmp_path, **_):
    (tmp_path / "installed").mkdir()
    source = tmp_path / "sources" / "hello"
    source.mkdir(parents=True)
    (source / "pack.yaml").write_text(pack_yaml(name="hello"))
    places = {"ST2_PACKS_INSTALL_DIR": tmp_path / "installed"}
    with override_settings(**places, ST2_PACK_INSTALL_ROOTS=[tmp_path / "sources"]):
        install = {"packs": [f"file://{source}"]}
        installed = ok(admin_api.post("/api/v1/packs/install", install, format="json"), 202)
        removed = admin_api.post("/api/v1/packs/uninstall", {"packs": ["hello"]}, format="json")
    return [installed, ok(removed, 202)]


@examples_of(shapes.PACKS_REGISTERED)
def packs_registered_examples(admin_api, **_):
    register = "/api/v1/packs/register"
    return [
        ok(admin_api.post(register, {}, format="json")),
        ok(admin_api.post(register, {"packs": ["demo"], "types": ["rules"]}, format="json")),
    ]


def ops_team(admin_api):
    team = {"name": "ops", "members": ["alice"], "packs": ["core"], "actions": ["demo.greet"]}
    return ok(admin_api.post("/api/v1/teams", team, format="json"), 201)


@examples_of(shapes.ROLE)
def role_examples(admin_api, **_):
    ops_team(admin_api)
    return [*ok(admin_api.get("/api/v1/rbac/roles")), ok(admin_api.get("/api/v1/rbac/roles/ops"))]


@examples_of(shapes.ROLE_ASSIGNMENT)
def role_assignment_examples(admin_api, alice_api, **_):
    ops_team(admin_api)
    mine = ok(alice_api.get("/api/v1/rbac/role_assignments?user=alice"))
    return [
        *ok(admin_api.get("/api/v1/rbac/role_assignments")),
        *mine,
        ok(alice_api.get(f"/api/v1/rbac/role_assignments/{mine[0]['id']}")),
    ]


@examples_of(shapes.PERMISSION_TYPES)
def permission_types_examples(admin_api, **_):
    return [ok(admin_api.get("/api/v1/rbac/permission_types"))]


@examples_of(shapes.RESOURCE_PERMISSION_TYPES)
def resource_permission_types_examples(admin_api, **_):
    every = ok(admin_api.get("/api/v1/rbac/permission_types"))
    return [ok(admin_api.get(f"/api/v1/rbac/permission_types/{name}")) for name in every]


@examples_of(shapes.SERVICE_GROUPS)
def service_groups_examples(admin_api, **_):
    Worker(concurrency=1, name="shapes-worker").tick()
    return [ok(admin_api.get("/api/v1/service_registry/groups"))]


@examples_of(shapes.SERVICE_MEMBERS)
def service_members_examples(admin_api, **_):
    Worker(concurrency=1, name="shapes-worker").tick()
    members = "/api/v1/service_registry/groups/{}/members"
    return [ok(admin_api.get(members.format(group))) for group in ("api", "worker")]


@examples_of(shapes.SSO)
def sso_examples(anon_api, **_):
    return [ok(anon_api.get("/auth/v1/sso"))]


TEMPLATE = {
    "ref": "ops.greet",
    "name": "Greet",
    "description": "Greets, politely.",
    "action": "demo.greet",
    "parameters": {
        "name": {"mode": "exposed", "pattern": "^[a-z]+$"},
        "times": {"mode": "fixed", "value": 2, "shown": True},
    },
}


@examples_of(shapes.LAUNCH_TEMPLATE)
def launch_template_examples(admin_api, alice_api, **_):
    template = ok(admin_api.post("/api/v1/templates", TEMPLATE, format="json"), 201)
    body = {"name": "ops", "members": ["alice"], "templates": ["ops.greet"]}
    ok(admin_api.post("/api/v1/teams", body, format="json"), 201)
    return [
        template,
        *ok(alice_api.get("/api/v1/templates")),
        ok(admin_api.get(f"/api/v1/templates/{template['id']}")),
    ]


@examples_of(shapes.LAUNCH_TEMPLATE_VERSION)
def launch_template_version_examples(admin_api, **_):
    ok(admin_api.post("/api/v1/templates", TEMPLATE, format="json"), 201)
    ok(admin_api.put("/api/v1/templates/ops.greet", {**TEMPLATE, "name": "Hi"}, format="json"))
    versions = "/api/v1/templates/ops.greet/versions"
    return [*ok(admin_api.get(versions)), ok(admin_api.get(f"{versions}/1"))]


# --- the checks ----------------------------------------------------------------------------


def shape_errors(shape, answers):
    """What in `answers` departs from `shape`, as readable lines."""
    validator = Draft202012Validator(shape.schema(), format_checker=FORMATS)
    errors, seen = [], set()
    for index, answer in enumerate(answers):
        seen |= set(answer)
        undeclared = set(answer) - set(shape.fields)
        missing = set(shape.required) - set(answer)
        if undeclared:
            errors.append(f"answer {index}: undeclared fields {sorted(undeclared)}")
        if missing:
            errors.append(f"answer {index}: required fields missing {sorted(missing)}")
        for error in validator.iter_errors(answer):
            path = "".join(f"{step}: " for step in error.absolute_path)
            errors.append(f"answer {index}: {path}{error.message}")
    never = set(shape.fields) - seen
    if never:
        errors.append(f"declared but in no answer: {sorted(never)}")
    return errors


def with_worker(shape):
    """Executions run in an in-process worker, whose threads see committed rows only."""
    if shape is shapes.EXECUTION:
        return pytest.param(shape, marks=pytest.mark.django_db(transaction=True))
    return shape


@pytest.mark.parametrize("shape", [with_worker(s) for s in shapes.ALL], ids=lambda s: s.name)
def test_the_api_answers_each_shape_as_declared(
    shape, admin_user, alice, admin_api, alice_api, anon_api, tmp_path
):
    answers = EXAMPLES[shape.name](
        admin_user=admin_user,
        alice=alice,
        admin_api=admin_api,
        alice_api=alice_api,
        anon_api=anon_api,
        tmp_path=tmp_path,
    )
    assert answers
    assert shape_errors(shape, answers) == []


def test_every_example_is_of_a_declared_shape():
    assert set(EXAMPLES) == {shape.name for shape in shapes.ALL}


def test_the_check_finds_each_kind_of_drift():
    action = shapes.ACTION
    answer = {name: "x" for name in action.fields} | {"enabled": True}
    assert shape_errors(action, [answer]) == [
        "answer 0: id: 'x' does not match '^[0-9a-f]{24}$'",
        "answer 0: parameters: 'x' is not of type 'object'",
        "answer 0: output_schema: 'x' is not of type 'object'",
        "answer 0: tags: 'x' is not of type 'array'",
        "answer 0: notify: 'x' is not of type 'object'",
    ]
    valid = {**answer, "id": "a" * 24, "parameters": {}, "output_schema": {}, "tags": []}
    valid["notify"] = {}
    assert shape_errors(action, [valid]) == []
    assert shape_errors(action, [{**valid, "extra": 1}]) == [
        "answer 0: undeclared fields ['extra']"
    ]
    without = {key: value for key, value in valid.items() if key not in ("ref", "metadata_file")}
    assert shape_errors(action, [without]) == [
        "answer 0: required fields missing ['ref']",
        "answer 0: 'ref' is a required property",
        "declared but in no answer: ['metadata_file', 'ref']",
    ]


def test_statuses_are_the_models():
    assert shapes.EXECUTION.fields["status"]["enum"] == [
        Execution.REQUESTED, Execution.SCHEDULED, Execution.RUNNING, *Execution.COMPLETED[:4],
        Execution.CANCELING, Execution.CANCELED,
    ]  # fmt: skip
    instance = shapes.TRIGGER_INSTANCE.fields["status"]["enum"]
    assert instance == [
        TriggerInstance.PENDING,
        TriggerInstance.PROCESSING,
        TriggerInstance.PROCESSED,
        TriggerInstance.FAILED,
    ]
    assert shapes.USER_ACCESS.fields["reason"]["enum"] == sorted(team_admin.REASONS)
    enforcement = shapes.RULE_ENFORCEMENT.fields["status"]["enum"]
    assert enforcement == [RuleEnforcement.SUCCEEDED, RuleEnforcement.FAILED]


@pytest.mark.parametrize("shape", shapes.ALL, ids=lambda s: s.name)
def test_every_shape_is_a_valid_json_schema(shape):
    """A schema the validator ignores in part (a keyword of the wrong type) checks nothing
    there: GET /actionalias/help's help strings once had a `description` that was a schema."""
    Draft202012Validator.check_schema(shape.schema())
