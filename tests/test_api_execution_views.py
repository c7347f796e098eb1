"""Executions as StackStorm shapes them for st2web (issue 17): what started a rule-started
execution embedded in it, every filter StackStorm offers with its sort, the result, one
attribute, children, /executions/views/filters, and StackStorm's refusals."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from st2bridge import executions
from st2bridge.models import Execution

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
MASK = "********"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def launch(api, action, **parameters):
    body = {"action": action, "parameters": parameters}
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def hook_rule(api, name, url, action="core.noop", **parameters):
    body = {
        "name": name,
        "pack": "default",
        "description": f"Runs {action} on /{url}.",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": url}},
        "action": {"ref": action, "parameters": parameters},
    }
    response = api.post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def fire(api, url, payload):
    assert api.post(f"/api/v1/webhooks/{url}", payload, format="json").status_code == 202


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()]


def test_a_rule_started_execution_embeds_its_rule_trigger_type_and_instance(alice_api):
    rule = hook_rule(
        alice_api, "deploys", "deploy", "demo.deploy",
        environment="staging", version="{{ trigger.body.version }}", api_token="canary-4242",
    )  # fmt: skip
    fire(alice_api, "deploy", {"version": "1.2"})
    [execution] = alice_api.get("/api/v1/executions").json()
    assert execution["rule"] == alice_api.get(f"/api/v1/rules/{rule['ref']}").json()
    assert execution["rule"]["action"]["parameters"]["api_token"] == MASK
    assert (
        execution["trigger"] == alice_api.get(f"/api/v1/triggers/{rule['trigger']['ref']}").json()
    )
    assert execution["trigger"]["type"] == "core.st2.webhook"
    trigger_type = alice_api.get("/api/v1/triggertypes/core.st2.webhook").json()
    assert execution["trigger_type"] == trigger_type
    instance = execution["trigger_instance"]
    assert instance == alice_api.get(f"/api/v1/triggerinstances/{instance['id']}").json() | {
        "status": "processing"  # as it was when the execution was requested
    }
    assert instance["payload"]["body"] == {"version": "1.2"}
    assert execution["parameters"]["version"] == "1.2"
    assert "canary-4242" not in json.dumps(execution)
    one = alice_api.get(f"/api/v1/executions/{execution['id']}").json()
    assert {key: one[key] for key in ("rule", "trigger", "trigger_type")} == {
        key: execution[key] for key in ("rule", "trigger", "trigger_type")
    }


def test_what_started_it_is_as_it_was_then(alice_api):
    rule = hook_rule(alice_api, "then", "then")
    fire(alice_api, "then", {})
    alice_api.put(f"/api/v1/rules/{rule['id']}", {**rule, "description": "Changed."}, format="json")
    alice_api.delete(f"/api/v1/rules/{rule['id']}")
    [execution] = alice_api.get("/api/v1/executions").json()
    assert execution["rule"]["description"] == "Runs core.noop on /then."
    assert execution["trigger"]["ref"] == rule["trigger"]["ref"]


def test_an_execution_a_person_started_embeds_none_of_it(alice_api):
    execution = launch(alice_api, "core.noop")
    for field in ("rule", "trigger", "trigger_type", "trigger_instance"):
        assert field not in execution
        assert field not in alice_api.get(f"/api/v1/executions/{execution['id']}").json()


def test_history_as_st2web_asks_for_it_labels_rule_started_executions(alice_api):
    hook_rule(alice_api, "labels", "labels")
    fire(alice_api, "labels", {})
    manual = launch(alice_api, "core.noop")
    fields = "id,status,start_timestamp,action.ref,rule.ref,trigger.type,context.user"
    listed = alice_api.get(f"/api/v1/executions?parent=null&limit=50&include_attributes={fields}")
    by_rule, by_hand = listed.json()[1], listed.json()[0]
    assert by_hand["id"] == manual["id"] and "rule" not in by_hand and "trigger" not in by_hand
    assert by_rule["rule"]["ref"] == "default.labels"
    assert by_rule["trigger"]["type"] == "core.st2.webhook"


def test_every_filter_stackstorm_offers(alice_api, admin_api, alice):
    rule = hook_rule(alice_api, "filtered", "filtered")
    fire(alice_api, "filtered", {})
    [by_rule] = ids(alice_api.get("/api/v1/executions?rule=filtered"))
    local = launch(alice_api, "core.local", cmd="true")["id"]
    noop = launch(alice_api, "core.noop")["id"]
    child = executions.request_execution(
        "core.noop", {}, user="alice", staff=False, parent=Execution.objects.get(pk=local)
    ).id
    trigger = alice_api.get(f"/api/v1/triggers/{rule['trigger']['ref']}").json()
    instance = Execution.objects.get(pk=by_rule).trigger_instance_id
    cases = {
        "action=core.local": [local],
        "runner=local-shell-cmd": [local],
        "runner=noop": [child, noop, by_rule],
        "rule=filtered": [by_rule],
        "rule=null": [child, noop, local],
        "trigger_type=st2.webhook": [by_rule],
        f"trigger={trigger['name']}": [by_rule],
        f"trigger_instance={instance}": [by_rule],
        "trigger_instance=null": [child, noop, local],
        f"parent={local}": [child],
        "parent=null": [noop, local, by_rule],
        f"liveaction={noop}": [noop],
        "user=alice": [child, noop, local, by_rule],
        "user=bob": [],
        "status=requested": [child, noop, local, by_rule],
        f"id={noop},{local}": [noop, local],
    }
    for query, expected in cases.items():
        assert ids(alice_api.get(f"/api/v1/executions?{query}")) == expected, query
    assert ids(admin_api.get("/api/v1/executions?user=alice")) == [child, noop, local, by_rule]


def at(execution_id, moment):
    Execution.objects.filter(pk=execution_id).update(start_timestamp=moment)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_timestamp_filters_and_the_order_they_imply(alice_api):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    first, second, third = (launch(alice_api, "core.noop")["id"] for _ in range(3))
    for n, execution_id in enumerate((first, second, third)):
        at(execution_id, base + timedelta(minutes=n))
    t0, t1, t2 = (stamp(base + timedelta(minutes=n)) for n in range(3))
    assert ids(alice_api.get(f"/api/v1/executions?timestamp={t1}")) == [second]
    assert ids(alice_api.get(f"/api/v1/executions?timestamp={t0}..{t1}")) == [first, second]
    assert ids(alice_api.get(f"/api/v1/executions?timestamp={t2}..{t1}")) == [third, second]
    assert ids(alice_api.get(f"/api/v1/executions?timestamp_gt={t0}")) == [second, third]
    assert ids(alice_api.get(f"/api/v1/executions?timestamp_lt={t2}")) == [second, first]
    both = f"/api/v1/executions?timestamp_gt={t0}&timestamp_lt={stamp(base + timedelta(hours=1))}"
    assert ids(alice_api.get(both)) == [third, second]  # timestamp_lt: newest first
    assert ids(alice_api.get("/api/v1/executions?sort_asc=1")) == [first, second, third]
    assert ids(alice_api.get("/api/v1/executions?sort_asc=1&sort_desc=1")) == [third, second, first]
    for bad in ("yesterday", "null", f"{t0}..", f"..{t1}"):
        refused = alice_api.get(f"/api/v1/executions?timestamp={bad}")
        assert refused.status_code == 400, bad
        assert "timestamp" in refused.json()["faultstring"]


def test_sort_by_filter_names_as_stackstorm_honours_it(alice_api):
    noop = launch(alice_api, "core.noop")["id"]
    local = launch(alice_api, "core.local", cmd="true")["id"]
    echo = launch(alice_api, "core.echo", message="hi")["id"]
    assert ids(alice_api.get("/api/v1/executions?sort=action")) == [echo, local, noop]
    assert ids(alice_api.get("/api/v1/executions?sort=-action")) == [noop, local, echo]
    assert ids(alice_api.get("/api/v1/executions?sort=runner,-action")) == [local, echo, noop]
    # Names that are not filters are ignored, as StackStorm ignores them: the default order.
    assert ids(alice_api.get("/api/v1/executions?sort=password")) == [echo, local, noop]


def test_inquiries_list_no_ordinary_execution(alice_api):
    launch(alice_api, "core.noop")
    launch(alice_api, "core.local", cmd="true")
    response = alice_api.get("/api/v1/executions?runner=inquirer&limit=50&offset=0")
    assert response.json() == []
    assert response["X-Total-Count"] == "0"


def test_the_result_alone(alice_api):
    execution_id = launch(alice_api, "core.noop")["id"]
    url = f"/api/v1/executions/{execution_id}/result"
    empty = alice_api.get(url)
    assert empty.status_code == 200 and empty.content == b"{}"
    result = {"stdout": "foo bar", "code": 0}
    Execution.objects.filter(pk=execution_id).update(result=result)
    compact = alice_api.get(url)
    assert compact["Content-Type"] == "text/json"
    assert json.loads(compact.content) == result
    assert b'":' in compact.content and b'": ' not in compact.content  # no spaces
    pretty = alice_api.get(f"{url}?pretty_format=1").content.decode()
    assert json.loads(pretty) == result and '\n  "code": 0' in pretty
    download = alice_api.get(f"{url}?download=1")
    assert download["Content-Disposition"] == (
        f"attachment; filename=execution_{execution_id}_result.json"
    )
    compressed = alice_api.get(f"{url}?compress=1&download=1")
    assert compressed["Content-Type"] == "application/x-gzip"
    assert compressed["Content-Disposition"].endswith(".json.gz")
    assert gzip.decompress(compressed.content) == compact.content


def test_one_attribute(alice_api, bob_api):
    execution_id = launch(alice_api, "core.noop")["id"]
    url = f"/api/v1/executions/{execution_id}/attribute"
    assert alice_api.get(f"{url}/status").json() == "requested"
    assert alice_api.get(f"{url}/result").json() == {}
    assert alice_api.get(f"{url}/trigger_instance").json() == {}
    refused = alice_api.get(f"{url}/start_timestamp")
    assert refused.status_code == 400
    assert refused.json()["faultstring"] == (
        'Invalid attribute "start_timestamp" specified. Valid attributes are: '
        "result, trigger_instance, status"
    )
    assert bob_api.get(f"{url}/status").status_code == 404


def test_children_level_by_level(alice_api, bob_api):
    parent = launch(alice_api, "core.noop")["id"]
    url = f"/api/v1/executions/{parent}/children"
    assert alice_api.get(url).json() == []  # no workflows yet: nothing has children
    top = Execution.objects.get(pk=parent)
    child = executions.request_execution("core.noop", {}, user="alice", staff=False, parent=top)
    grandchild = executions.request_execution(
        "core.noop", {}, user="alice", staff=False, parent=child
    )
    assert ids(alice_api.get(url)) == [child.id, grandchild.id]
    assert ids(alice_api.get(f"{url}?depth=-1")) == [child.id, grandchild.id]
    assert ids(alice_api.get(f"{url}?depth=1")) == [child.id]
    assert alice_api.get(url).json()[0]["parent"] == parent
    assert bob_api.get(url).status_code == 404


def test_only_stackstorms_attributes_may_be_excluded(alice_api):
    execution_id = launch(alice_api, "core.noop")["id"]
    for name in ("action", "runner", "parameters", "log"):
        for url in ("/api/v1/executions", f"/api/v1/executions/{execution_id}"):
            refused = alice_api.get(f"{url}?exclude_attributes={name}")
            assert refused.status_code == 400, (url, name)
            assert refused.json()["faultstring"] == (
                f"Invalid or unsupported exclude attribute specified: {name}"
            )
    kept = alice_api.get("/api/v1/executions?exclude_attributes=result,trigger_instance,status")
    assert kept.status_code == 200
    assert "status" not in kept.json()[0] and kept.json()[0]["action"]["ref"] == "core.noop"


def test_the_filters_view_lists_the_values_each_filter_may_take(alice_api, bob_api, admin_api):
    hook_rule(alice_api, "valued", "valued")
    fire(alice_api, "valued", {})
    launch(alice_api, "core.local", cmd="true")
    launch(bob_api, "core.echo", message="bob's")
    mine = alice_api.get("/api/v1/executions/views/filters")
    assert mine.status_code == 200
    assert mine.json() == {
        "action": ["core.local", "core.noop"],
        "status": ["requested"],
        "rule": ["valued"],
        "runner": ["local-shell-cmd", "noop"],
        "trigger": [mine.json()["trigger"][0]],
        "trigger_type": ["st2.webhook"],
        "user": ["alice"],
    }
    everyone = admin_api.get("/api/v1/executions/views/filters?types=action,user").json()
    assert everyone == {
        "action": ["core.echo", "core.local", "core.noop"],
        "user": ["alice", "bob"],
    }
