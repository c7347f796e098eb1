"""What a caller may send when launching (issue 12, attacks 1, 6 and the JSON part of 8),
written as the attacks: runner parameters that change how a process starts are staff-only
(403 naming them, launch and re-run alike), a denied `env` variable is 400 for everyone,
reserved context keys from callers are dropped, and request bodies holding NaN, Infinity or
nesting deeper than ST2_MAX_JSON_DEPTH are 400 on every endpoint.

Users: bob, a member of a team granted only the `demo` pack; admin (staff); alice, in no team
(ST2_DEFAULT_ACCESS=all lets her run everything, and she is not staff either)."""

import json

import pytest

from st2bridge.models import Action, Execution, RuleEnforcement

from ..catalog_support import change_action, register_bundled_packs
from ..worker_support import Worker, run_until

pytestmark = pytest.mark.django_db

BASH_ENV = {"BASH_ENV": "$(id >&2)"}
DEPLOY = {"environment": "staging", "version": "1.0.0"}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture(autouse=True)
def shell_action(db, catalog):
    """demo.shell: a shell command action whose metadata fixes no runner parameter (as
    StackStorm's core.local leaves kwarg_op, cwd and env open), added to the demo pack."""
    from st2bridge.models import Pack

    Action.objects.create(
        ref="demo.shell",
        pack=Pack.objects.get(ref="demo").ref,
        name="shell",
        runner_type="local-shell-cmd",
        parameters={"cmd": {"required": True}},
    )


def launch(api, action, parameters=None, **body):
    return api.post(
        "/api/v1/executions",
        {"action": action, "parameters": parameters or {}, **body},
        format="json",
    )


def fault(response, status):
    assert response.status_code == status, response.json()
    return response.json()["faultstring"]


# --- runner parameters that change how a process starts -------------------------------------


def test_bash_env_through_env_is_403_for_a_member_naming_env(member_api):
    response = launch(member_api, "demo.deploy", {**DEPLOY, "env": BASH_ENV})
    assert fault(response, 403) == (
        'env: only staff may set the runner parameter "env": '
        "it sets variables in the action's process environment."
    )
    assert not Execution.objects.exists()


def test_bash_env_is_400_for_staff_too_naming_the_variable(admin_api):
    message = fault(launch(admin_api, "demo.deploy", {**DEPLOY, "env": BASH_ENV}), 400)
    assert message.startswith('env: "BASH_ENV" may not be set')
    assert not Execution.objects.exists()


@pytest.mark.parametrize("variable", ["PYTHONWARNINGS", "BROWSER"])
def test_python_interpreter_variables_are_refused(member_api, admin_api, variable):
    env = {"env": {variable: "ignore::antigravity.x"}}
    assert "env" in fault(launch(member_api, "demo.greet", {"name": "x", **env}), 403)
    assert f'"{variable}"' in fault(launch(admin_api, "demo.greet", {"name": "x", **env}), 400)


def test_a_denied_default_env_is_refused_at_launch(admin_api, member_api):
    """The check is on the final env: a denied variable in the action's own default (staff
    changed the action, or it came that way in a pack) is a 400 when anyone launches it."""
    deploy = Action.objects.get(ref="demo.deploy")
    env = {"env": {"default": {"LD_PRELOAD": "/srv/evil.so"}}}
    change_action("demo.deploy", parameters={**deploy.parameters, **env})
    for api in (admin_api, member_api):
        assert '"LD_PRELOAD"' in fault(launch(api, "demo.deploy", DEPLOY), 400)


@pytest.mark.parametrize(
    "action, parameters",
    [
        ("demo.deploy", {**DEPLOY, "cwd": "/var/lib"}),
        ("demo.deploy", {**DEPLOY, "content_version": "main"}),
        ("demo.shell", {"cmd": "id", "env": {"GREETING": "hi"}}),
        ("demo.shell", {"cmd": "id", "sudo": True}),
        ("demo.shell", {"cmd": "id", "sudo_password": "x"}),
        ("demo.shell", {"cmd": "id", "kwarg_op": "-o"}),
        ("demo.shell", {"cmd": "id", "cwd": "/"}),
        ("demo.greet", {"name": "x", "env": {"GREETING": "hi"}}),
        ("demo.fetch_status", {"http_proxy": "http://10.0.0.1:3128"}),
        ("demo.fetch_status", {"https_proxy": "http://10.0.0.1:3128"}),
        ("demo.fetch_status", {"url_hosts_blacklist": []}),
        ("demo.fetch_status", {"url_hosts_whitelist": ["127.0.0.1"]}),
    ],
)
def test_runner_parameters_are_staff_only(member_api, admin_api, action, parameters):
    [name] = set(parameters) - {"environment", "version", "name", "cmd"}
    message = fault(launch(member_api, action, parameters), 403)
    assert message.startswith(f'{name}: only staff may set the runner parameter "{name}"')
    assert launch(admin_api, action, parameters).status_code == 201
    assert Execution.objects.get().user == "admin"


def test_defaults_are_not_sent(member_api):
    """A value the action's metadata gives anyway changes nothing (the portal's form sends
    kwarg_op's default back); immutable defaults run for everyone."""
    given = {"cmd": "id", "kwarg_op": "--", "sudo": "false", "env": None}
    assert launch(member_api, "demo.shell", given).status_code == 201
    notes = launch(member_api, "demo.notes")  # kwarg_op, sudo... immutable in its metadata
    assert notes.status_code == 201, notes.json()


def test_immutable_runner_parameters_stay_400_for_everyone(member_api, admin_api):
    for api in (member_api, admin_api):
        message = fault(launch(api, "demo.notes", {"kwarg_op": "-"}), 400)
        assert message == "Override of immutable parameter(s) ['kwarg_op'] is unsupported."


def test_without_the_restriction_anyone_may_set_them_as_in_stackstorm(member_api, settings):
    settings.ST2_RESTRICT_RUNNER_PARAMETERS = False
    assert launch(member_api, "demo.deploy", {**DEPLOY, "cwd": "/srv"}).status_code == 201
    # The deny-list of env variables holds whatever the setting.
    assert "BASH_ENV" in fault(launch(member_api, "demo.deploy", {**DEPLOY, "env": BASH_ENV}), 400)


# --- re-run --------------------------------------------------------------------------------


def re_run(api, execution_id, parameters=None):
    return api.post(
        f"/api/v1/executions/{execution_id}/re_run",
        {"parameters": parameters or {}},
        format="json",
    )


@pytest.mark.parametrize(
    "carried", [{"cwd": "/var/lib"}, {"sudo": True}, {"kwarg_op": "-o"}, {"env": {"A": "b"}}]
)
def test_re_run_carrying_a_runner_parameter_is_403_for_a_member(member_api, admin_api, carried):
    """What a re-run carries counts as sent by whoever re-runs it: staff launched this one
    for bob with a restricted value; bob may not launch it again."""
    original = launch(admin_api, "demo.shell", {"cmd": "id", **carried}, user="bob").json()
    [name] = carried
    assert fault(re_run(member_api, original["id"]), 403).startswith(f"{name}: only staff")
    assert re_run(admin_api, original["id"]).status_code == 201


def test_re_run_overriding_a_runner_parameter_is_403(member_api):
    original = launch(member_api, "demo.shell", {"cmd": "id"}).json()
    message = fault(re_run(member_api, original["id"], {"sudo": True}), 403)
    assert message.startswith("sudo: only staff")
    assert re_run(member_api, original["id"], {"cmd": "true"}).status_code == 201


def test_re_run_of_a_denied_env_is_400_for_staff(admin_api):
    original = launch(admin_api, "demo.deploy", {**DEPLOY, "env": {"A": "b"}}).json()
    response = re_run(admin_api, original["id"], {"env": BASH_ENV})
    assert "BASH_ENV" in fault(response, 400)


def test_re_run_does_not_render_recorded_values_again(admin_api, alice_api):
    """A recorded value is data: re-running what a rule recorded from a webhook body does not
    render the template text it holds (the owner is staff, who may decrypt: only rendering
    once keeps the secret out)."""
    secret = "pl41ntext-s3cret"
    key = {"name": "db_password", "value": secret, "secret": True}
    assert admin_api.put("/api/v1/keys/db_password", key, format="json").status_code == 200
    rule = {
        "name": "echo_hook",
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "echo"}},
        "action": {"ref": "core.echo", "parameters": {"message": "{{ trigger.body.msg }}"}},
    }
    assert admin_api.post("/api/v1/rules", rule, format="json").status_code == 201
    text = "{{ st2kv.system.db_password | decrypt_kv }}"
    posted = alice_api.post("/api/v1/webhooks/echo", {"msg": text}, format="json")
    assert posted.status_code == 202
    original = Execution.objects.get()
    rerun = re_run(admin_api, original.id)
    assert rerun.status_code == 201, rerun.json()
    assert rerun.json()["parameters"]["message"] == text
    # The portal's "Run again" form sends every value back: unchanged, it is still data.
    resent = re_run(admin_api, original.id, {"message": text})
    assert resent.json()["parameters"]["message"] == text
    for execution in Execution.objects.all():
        assert secret not in json.dumps(execution.parameters)


# --- reserved context keys ---------------------------------------------------------------


def test_reserved_context_keys_from_callers_are_dropped(alice_api):
    forged = {
        "user": "admin",
        "api_user": "admin",
        "parent": {"user": "admin", "execution_id": "0" * 24},
        "rule": {"id": "0" * 24, "name": "x"},
        "trigger_instance": {"id": "0" * 24},
        "rule_depth": -15,
        "re-run": {"ref": "0" * 24},
        "pack": "core",
        "mine": {"kept": True},
    }
    response = launch(alice_api, "core.noop", context=forged)
    assert response.status_code == 201, response.json()
    context = response.json()["context"]
    assert context == {"user": "alice", "pack": "core", "mine": {"kept": True}}
    header = alice_api.post(
        "/api/v1/executions",
        {"action": "core.noop"},
        format="json",
        HTTP_ST2_CONTEXT=json.dumps({"rule_depth": -15, "parent": {"user": "admin"}}),
    )
    assert header.json()["context"] == {"user": "alice", "pack": "core"}


def test_negative_rule_depth_does_not_lengthen_a_self_triggering_chain(alice_api, settings):
    settings.ST2_RULE_CHAIN_LIMIT = 3
    loop = {
        "name": "loop",
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.generic.actiontrigger"},
        "criteria": {"trigger.action_ref": {"type": "equals", "pattern": "core.noop"}},
        "action": {"ref": "core.noop"},
    }
    assert alice_api.post("/api/v1/rules", loop, format="json").status_code == 201
    assert launch(alice_api, "core.noop", context={"rule_depth": -15}).status_code == 201
    worker = Worker(concurrency=1, poll_interval=0.01)
    try:
        run_until(lambda: RuleEnforcement.objects.filter(status="failed").exists(), worker)
    finally:
        worker.drain()
    chained = Execution.objects.filter(rule_ref="default.loop").order_by("start_timestamp")
    assert [e.context["rule_depth"] for e in chained] == [1, 2, 3]


# --- JSON bodies ---------------------------------------------------------------------------


def send(api, method, path, text):
    return getattr(api, method)(path, text, content_type="application/json")


def nested(depth):
    """A launch body nested `depth` levels deep in all (the body itself is level 1)."""
    inner = '{"a": ' * (depth - 2) + "{}" + "}" * (depth - 2)
    return '{"action": "core.noop", "context": ' + inner + "}"


def test_minus_infinity_in_context_is_400(alice_api):
    body = '{"action": "core.noop", "context": {"rule_depth": -Infinity}}'
    message = fault(send(alice_api, "post", "/api/v1/executions", body), 400)
    assert message.startswith("body.context.rule_depth: -Infinity is not a JSON number")


@pytest.mark.parametrize(
    "method, path, text",
    [
        ("post", "/api/v1/executions", '{"action": "core.noop", "parameters": {"x": NaN}}'),
        ("post", "/api/v1/executions", '{"action": "core.noop", "context": {"n": 1e999}}'),
        ("put", "/api/v1/keys/k", '{"name": "k", "value": "v", "metadata": {"n": NaN}}'),
        ("put", "/api/v1/keys/k", '{"name": "k", "value": "v", "ttl": Infinity}'),
        ("post", "/api/v1/webhooks/anything", '{"n": [NaN]}'),
        ("post", "/api/v1/rules", '{"name": "r", "criteria": {"x": -Infinity}}'),
    ],
)
def test_non_finite_numbers_are_400_on_every_endpoint(alice_api, method, path, text):
    message = fault(send(alice_api, method, path, text), 400)
    assert "is not a JSON number" in message


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_nesting_deeper_than_the_limit_is_400(alice_api, depth):
    message = fault(send(alice_api, "post", "/api/v1/executions", nested(depth)), 400)
    assert "nested deeper than 64 levels (ST2_MAX_JSON_DEPTH)" in message
    assert not Execution.objects.exists()


def test_nesting_up_to_the_limit_is_accepted(alice_api):
    response = send(alice_api, "post", "/api/v1/executions", nested(64))
    assert response.status_code == 201, response.json()


def test_deep_st2_context_header_is_400(alice_api):
    header = '{"a": ' * 100 + "1" + "}" * 100
    response = alice_api.post(
        "/api/v1/executions", {"action": "core.noop"}, format="json", HTTP_ST2_CONTEXT=header
    )
    assert "nested deeper than" in fault(response, 400)
