"""No silent gaps, over HTTP: an action whose runner this server cannot run says so
(`unsupported`, an extension) and is refused at launch with 400 naming the runner; a rule
naming a missing action says so (`warnings`) and, when it fires, records a failed
enforcement with the reason."""

import pytest
from django.conf import settings

from st2bridge.models import Execution, RuleEnforcement, TriggerInstance
from st2bridge.packs import register_packs
from st2bridge.runners import REGISTRY

from .catalog_support import register_bundled_packs
from .pack_support import write_pack

pytestmark = pytest.mark.django_db
CANNOT_RUN = (
    'Runner "remote-shell-cmd" cannot run on this server (it runs: '
    + ", ".join(sorted(REGISTRY))
    + ")."
)
LOST_RULE = """\
    name: lost
    enabled: true
    trigger:
      type: core.st2.webhook
      parameters: {url: lost-hook}
    action:
      ref: gone.act
"""


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def test_an_action_of_a_runner_that_cannot_run_here_says_so(alice_api):
    remote = alice_api.get("/api/v1/actions/core.remote").json()
    assert remote["unsupported"] == CANNOT_RUN
    assert "unsupported" not in alice_api.get("/api/v1/actions/core.local").json()
    listed = {item["ref"]: item for item in alice_api.get("/api/v1/actions?pack=core").json()}
    assert listed["core.remote"]["unsupported"] == CANNOT_RUN
    assert "unsupported" not in listed["core.noop"]


def test_launching_it_is_refused_with_400_naming_the_runner(alice_api):
    body = {"action": "core.remote", "parameters": {"cmd": "uptime", "hosts": "web1"}}

    response = alice_api.post("/api/v1/executions", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "faultstring": f'Unable to execute action "core.remote". {CANNOT_RUN}'
    }
    assert not Execution.objects.exists()


def test_a_rule_firing_such_an_action_records_a_failed_enforcement(admin_api):
    rule = {
        "name": "remote_on_hook",
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "remote-hook"}},
        "action": {"ref": "core.remote", "parameters": {"cmd": "uptime", "hosts": "web1"}},
    }
    assert admin_api.post("/api/v1/rules", rule, format="json").status_code == 201

    assert admin_api.post("/api/v1/webhooks/remote-hook", {}, format="json").status_code == 202

    [enforcement] = admin_api.get("/api/v1/ruleenforcements").json()
    assert enforcement["status"] == "failed"
    assert enforcement["failure_reason"] == f'Unable to execute action "core.remote". {CANNOT_RUN}'
    assert not Execution.objects.exists()


def test_a_pack_rule_naming_a_missing_action_warns_and_its_firing_fails(admin_api, tmp_path):
    write_pack(tmp_path, "p", rules={"lost.yaml": LOST_RULE})
    report = register_packs([tmp_path], [settings.ST2_RUNNER_TYPES_FILE])
    warning = 'action "gone.act" is not registered: when the rule fires, its enforcement fails.'
    assert report.warnings == [
        f"{(tmp_path / 'p').resolve()}/rules/lost.yaml: rule p.lost: {warning}"
    ]

    rule = admin_api.get("/api/v1/rules/p.lost").json()
    assert (rule["enabled"], rule["warnings"]) == (True, [warning])
    assert "warnings" not in admin_api.get("/api/v1/rules?pack=p&include_attributes=name").json()[0]

    response = admin_api.post("/api/v1/webhooks/lost-hook", {"n": 1}, format="json")

    assert response.status_code == 202
    [enforcement] = admin_api.get("/api/v1/ruleenforcements?rule_ref=p.lost").json()
    assert (enforcement["status"], enforcement["failure_reason"]) == (
        "failed",
        'Action "gone.act" cannot be found.',
    )
    assert TriggerInstance.objects.get().status == TriggerInstance.FAILED
    assert not Execution.objects.exists()
    assert RuleEnforcement.objects.get().rule_ref == "p.lost"


def test_a_rule_without_problems_has_no_warnings(admin_api):
    rule = {
        "name": "fine",
        "pack": "default",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "fine"}},
        "action": {"ref": "core.noop"},
    }
    created = admin_api.post("/api/v1/rules", rule, format="json").json()
    assert "warnings" not in created
