"""Rule criteria regexes (issue 12, attack 4): a backtracking pattern in a criterion, matched
against a webhook body, hung a web process until gunicorn killed it. Patterns now run on the
regex package with settings.ST2_REGEX_TIMEOUT: a timeout is a failed enforcement saying so."""

import pytest

from st2bridge.models import Execution, RuleEnforcement, TriggerInstance

from ..catalog_support import register_bundled_packs
from .support import finishes_within

pytestmark = pytest.mark.django_db
LIMIT = 10  # seconds: 40x ST2_REGEX_TIMEOUT, room for a busy machine; unbounded, it runs for hours
TIMED_OUT = 'the pattern "(a|aa)+$" timed out after 0.25 s (ST2_REGEX_TIMEOUT)'


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def hook_rule(api, name, criteria):
    body = {
        "name": name,
        "pack": "demo",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "deploy"}},
        "criteria": criteria,
        "action": {"ref": "core.local", "parameters": {"cmd": "echo {{ trigger.body.msg }}"}},
    }
    response = api.post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["ref"]


def post_hook(api, body):
    with finishes_within(LIMIT):
        return api.post("/api/v1/webhooks/deploy", body, format="json")


def enforcements(ref):
    return [(e.status, e.failure_reason) for e in RuleEnforcement.objects.filter(rule_ref=ref)]


def test_the_issue_s_pattern_and_body_answer_at_once(alice_api):
    # The regex package sees through (a+)+$: no match, no enforcement, quickly.
    ref = hook_rule(alice_api, "evil", {"trigger.body.msg": {"type": "regex", "pattern": "(a+)+$"}})
    response = post_hook(alice_api, {"msg": "a" * 30 + "!"})
    assert response.status_code == 202
    assert enforcements(ref) == []
    assert not Execution.objects.exists()
    assert TriggerInstance.objects.get().status == "processed"


@pytest.mark.parametrize("operator", ["regex", "iregex", "matchregex"])
def test_a_pattern_past_its_time_limit_is_a_failed_enforcement(alice_api, operator):
    evil = hook_rule(
        alice_api, "evil", {"trigger.body.msg": {"type": operator, "pattern": "(a|aa)+$"}}
    )
    fine = hook_rule(alice_api, "fine", {"trigger.body.msg": {"type": "exists", "pattern": "x"}})
    response = post_hook(alice_api, {"msg": "a" * 40 + "!"})
    assert response.status_code == 202
    assert enforcements(evil) == [
        ("failed", f'Failed to evaluate criterion "trigger.body.msg" ({operator}): {TIMED_OUT}')
    ]
    assert [e.rule_ref for e in Execution.objects.all()] == [fine]
    assert TriggerInstance.objects.get().status == "processing_failed"


def test_a_timeout_inside_search_fails_the_rule_once(alice_api):
    # Every item would wait for the pattern again: the first timeout stops the rule.
    criteria = {
        "trigger.body.items": {
            "type": "search",
            "condition": "any",
            "pattern": {"item.msg": {"type": "regex", "pattern": "(a|aa)+$"}},
        }
    }
    ref = hook_rule(alice_api, "evil", criteria)
    response = post_hook(alice_api, {"items": [{"msg": "a" * 40 + "!"}] * 50})
    assert response.status_code == 202
    [(status, reason)] = enforcements(ref)
    assert status == "failed"
    assert reason.endswith(TIMED_OUT)
    assert not Execution.objects.exists()


def test_a_wildcard_still_matches_as_a_shell_glob(alice_api):
    ref = hook_rule(
        alice_api, "glob", {"trigger.body.msg": {"type": "matchwildcard", "pattern": "core.*"}}
    )
    post_hook(alice_api, {"msg": "core.local"})
    post_hook(alice_api, {"msg": "xcore.local"})
    assert enforcements(ref) == [("succeeded", "")]
