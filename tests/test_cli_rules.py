"""`st2 rule ...`, `st2 trigger list`, `st2 webhook list` and `st2 rule-enforcement list` with
the official CLI (st2client 3.9.0) against a live server. A webhook POST over HTTP fires the
rule, and a real worker process (manage.py run_worker, sharing the test database) runs the
execution it requests; a disabled rule and a payload that fails the criteria start nothing.
"""

import textwrap

import pytest
import requests

from st2bridge.models import Execution, RuleEnforcement, TriggerInstance

from .catalog_support import register_bundled_packs
from .cli_support import St2, output, parsed, st2_binary
from .conftest import PASSWORD
from .worker_support import run_until, start_worker_process, status_of, stop_worker_process

pytestmark = pytest.mark.cli

QUICK = 15  # seconds; a generous bound for something that normally takes one or two
RULE_YAML = """\
    name: on_deploy
    pack: default
    description: Echo what a deploy hook says.
    enabled: true
    trigger:
      type: core.st2.webhook
      parameters:
        url: deploys
    criteria:
      trigger.body.kind:
        type: equals
        pattern: deploy
    action:
      ref: core.local
      parameters:
        cmd: "echo got {{ trigger.body.x }}"
    """
REF = "default.on_deploy"


@pytest.fixture
def st2(live_server, tmp_path, admin_user):
    """The CLI after `st2 login admin`, with the bundled packs registered."""
    register_bundled_packs()
    home = tmp_path / "home"
    home.mkdir()
    st2 = St2(st2_binary(), live_server.url, home)
    result = st2("login", "admin", "-p", PASSWORD)
    assert result.returncode == 0, output(result)
    return st2


@pytest.fixture
def worker(st2):
    """A real worker process for this test; SIGTERM at the end."""
    process = start_worker_process(ST2_WORKER_GRACE=1, ST2_WORKER_CONCURRENCY=2)
    yield process
    stop_worker_process(process)


@pytest.fixture
def rule_file(tmp_path):
    path = tmp_path / "on_deploy.yaml"
    path.write_text(textwrap.dedent(RULE_YAML))
    return path


def create_rule(st2, rule_file):
    rule = parsed(st2("rule", "create", str(rule_file), "-j"))
    assert rule["ref"] == REF
    return rule


class Webhook:
    """POST {api}/webhooks/<url> over HTTP with the token `st2 auth -t` prints."""

    def __init__(self, st2, base_url):
        result = st2("auth", "admin", "-p", PASSWORD, "-t")
        assert result.returncode == 0, output(result)
        self.url = f"{base_url}/api/v1/webhooks/deploys"
        self.headers = {"X-Auth-Token": result.stdout.strip()}

    def post(self, body):
        response = requests.post(self.url, json=body, headers=self.headers, timeout=QUICK)
        assert response.status_code == 202, response.text
        assert response.json() == body
        return response


# --- rule create / get / list / disable / enable / delete, trigger list, webhook list ------


def test_rule_lifecycle_with_the_cli(st2, rule_file):
    created = create_rule(st2, rule_file)
    assert created["name"] == "on_deploy"
    assert created["pack"] == "default"
    assert created["enabled"] is True
    assert created["trigger"]["type"] == "core.st2.webhook"
    assert created["trigger"]["parameters"] == {"url": "deploys"}
    assert created["criteria"] == {"trigger.body.kind": {"type": "equals", "pattern": "deploy"}}
    assert created["action"] == {
        "ref": "core.local",
        "parameters": {"cmd": "echo got {{ trigger.body.x }}"},
    }
    assert created["context"] == {"user": "admin"}

    shown = parsed(st2("rule", "get", REF, "-j"))
    assert shown["id"] == created["id"]
    assert shown["trigger"]["ref"] == created["trigger"]["ref"]
    assert shown["action"] == created["action"]

    listed = parsed(st2("rule", "list", "-j"))
    assert listed == [
        {
            "ref": REF,
            "pack": "default",
            "description": "Echo what a deploy hook says.",
            "enabled": True,
        }
    ]

    trigger_types = {item["ref"] for item in parsed(st2("trigger", "list", "-j"))}
    assert {"core.st2.webhook", "core.st2.IntervalTimer"} <= trigger_types
    assert parsed(st2("webhook", "list", "-j")) == [{"url": "deploys", "type": "core.st2.webhook"}]

    disabled = parsed(st2("rule", "disable", REF, "-j"))
    assert disabled["id"] == created["id"]
    assert disabled["enabled"] is False
    assert [item["ref"] for item in parsed(st2("rule", "list", "--disabled", "-j"))] == [REF]
    assert parsed(st2("rule", "list", "--enabled", "-j")) == []
    assert parsed(st2("rule", "get", REF, "-j"))["enabled"] is False
    enabled = parsed(st2("rule", "enable", REF, "-j"))
    assert enabled["enabled"] is True
    # The round trip (GET, then PUT of what it returned) changed nothing else.
    assert {k: v for k, v in enabled.items() if k != "enabled"} == {
        k: v for k, v in created.items() if k != "enabled"
    }

    again = st2("rule", "create", str(rule_file))
    assert again.returncode == 2, output(again)
    assert "409 Client Error: Conflict" in again.stdout, output(again)

    deleted = st2("rule", "delete", REF)
    assert deleted.returncode == 0, output(deleted)
    assert f'Resource with id "{REF}" has been successfully deleted.' in deleted.stdout
    gone = st2("rule", "get", REF)
    assert gone.returncode == 1, output(gone)
    assert f'Rule "{REF}" is not found.' in gone.stdout
    assert parsed(st2("rule", "list", "-j")) == []
    assert parsed(st2("webhook", "list", "-j")) == []  # the rule's trigger went with it
    missing = st2("rule", "delete", REF)
    assert missing.returncode == 2, output(missing)
    assert f'Rule "{REF}" is not found.' in missing.stdout


TRIGGER_TYPE_YAML = """\
    name: deployed
    pack: demo
    description: {description}
    payload_schema:
      type: object
      properties:
        service:
          type: string
          required: true
    """


def test_trigger_type_create_update_delete_with_the_cli(st2, tmp_path):
    path = tmp_path / "deployed.yaml"
    path.write_text(textwrap.dedent(TRIGGER_TYPE_YAML).format(description="A deploy finished."))
    created = parsed(st2("trigger", "create", str(path), "-j"))
    assert created["ref"] == "demo.deployed"
    assert created["payload_schema"]["properties"]["service"]["required"] is True
    listed = parsed(st2("trigger", "list", "-p", "demo", "-j"))
    assert listed == [{"ref": "demo.deployed", "pack": "demo", "description": "A deploy finished."}]
    assert [t["ref"] for t in parsed(st2("trigger", "getspecs", "demo.deployed", "-j"))] == [
        "demo.deployed"
    ]

    again = st2("trigger", "create", str(path))
    assert again.returncode == 2, output(again)
    assert "409 Client Error: Conflict" in again.stdout, output(again)

    path.write_text(textwrap.dedent(TRIGGER_TYPE_YAML).format(description="Deploys."))
    updated = parsed(st2("trigger", "update", "demo.deployed", str(path), "-j"))
    assert (updated["id"], updated["description"]) == (created["id"], "Deploys.")

    deleted = st2("trigger", "delete", "demo.deployed")
    assert deleted.returncode == 0, output(deleted)
    assert "has been successfully deleted" in deleted.stdout
    gone = st2("trigger", "get", "demo.deployed")
    assert gone.returncode == 1, output(gone)


# --- a webhook POST fires the rule ----------------------------------------------------------


def test_webhook_post_runs_the_rules_action(st2, worker, rule_file, live_server):
    rule = create_rule(st2, rule_file)
    hook = Webhook(st2, live_server.url)
    hook.post({"kind": "deploy", "x": "v-1.2.3"})

    enforcements = parsed(st2("rule-enforcement", "list", "-j"))
    assert len(enforcements) == 1, enforcements
    enforcement = enforcements[0]
    execution_id = enforcement["execution_id"]
    assert execution_id
    assert enforcement["rule"]["ref"] == REF
    instance = TriggerInstance.objects.get(pk=enforcement["trigger_instance_id"])
    assert instance.trigger == rule["trigger"]["ref"]
    assert instance.payload["body"] == {"kind": "deploy", "x": "v-1.2.3"}

    run_until(lambda: status_of(execution_id) in Execution.COMPLETED, timeout=QUICK)
    execution = parsed(st2("execution", "get", execution_id, "-j"))
    assert execution["status"] == "succeeded", execution
    assert execution["action"]["ref"] == "core.local"
    assert execution["parameters"] == {"cmd": "echo got v-1.2.3"}
    assert execution["result"]["stdout"] == "got v-1.2.3"
    assert execution["context"]["user"] == "admin"  # the rule's owner

    shown = parsed(st2("rule-enforcement", "get", enforcement["id"], "-j"))
    assert shown["execution_id"] == execution_id
    by_rule = parsed(st2("rule-enforcement", "list", "--rule", REF, "-j"))
    assert [item["id"] for item in by_rule] == [enforcement["id"]]
    by_execution = parsed(st2("rule-enforcement", "list", "--execution", execution_id, "-j"))
    assert [item["id"] for item in by_execution] == [enforcement["id"]]


def test_non_matching_payload_and_disabled_rule_start_nothing(st2, worker, rule_file, live_server):
    create_rule(st2, rule_file)
    hook = Webhook(st2, live_server.url)

    hook.post({"kind": "rollback", "x": "no"})  # fails the criteria
    assert TriggerInstance.objects.count() == 1
    assert parsed(st2("rule-enforcement", "list", "-j")) == []

    assert parsed(st2("rule", "disable", REF, "-j"))["enabled"] is False
    hook.post({"kind": "deploy", "x": "off"})  # would match, but the rule is off
    assert TriggerInstance.objects.count() == 2
    assert not Execution.objects.exists()  # enforcement happens before the POST is answered
    assert parsed(st2("rule-enforcement", "list", "-j")) == []

    # On again: the same payload now runs, and it is the only execution there is.
    assert parsed(st2("rule", "enable", REF, "-j"))["enabled"] is True
    hook.post({"kind": "deploy", "x": "on"})
    (enforcement,) = parsed(st2("rule-enforcement", "list", "-j"))
    execution_id = enforcement["execution_id"]
    run_until(lambda: status_of(execution_id) in Execution.COMPLETED, timeout=QUICK)
    assert parsed(st2("execution", "get", execution_id, "-j"))["result"]["stdout"] == "got on"
    assert [item["id"] for item in parsed(st2("execution", "list", "-j"))] == [execution_id]
    assert RuleEnforcement.objects.count() == 1
