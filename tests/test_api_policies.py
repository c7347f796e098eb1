"""/api/v1/policytypes and /api/v1/policies: StackStorm's core policy types, and policies
from packs' policies/*.yaml or the API, checked against their type (defaults filled in),
shown to whoever sees their action, changed by administrators. Not enforced yet."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group

from st2bridge.models import Policy, TeamAccess
from st2bridge.packs import register_pack

from .catalog_support import register_bundled_packs
from .pack_support import pack_yaml

pytestmark = pytest.mark.django_db

RETRY = {
    "name": "greet.retry",
    "pack": "demo",
    "resource_ref": "demo.greet",
    "policy_type": "action.retry",
    "parameters": {"retry_on": "timeout"},
}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def test_policy_types_are_stackstorms_core_ones(alice_api):
    response = alice_api.get("/api/v1/policytypes")
    assert response.status_code == 200
    types = response.json()
    assert [item["ref"] for item in types] == [
        "action.concurrency",
        "action.concurrency.attr",
        "action.retry",
    ]
    retry = types[2]
    assert retry["uid"] == "policy_type:action:retry"
    assert retry["module"] == "st2actions.policies.retry"
    assert retry["parameters"]["retry_on"]["enum"] == ["failure", "timeout"]
    assert alice_api.get(f"/api/v1/policytypes/{retry['id']}").json() == retry
    assert alice_api.get("/api/v1/policytypes/action.retry").json() == retry
    assert alice_api.get("/api/v1/policytypes?name=retry").json() == [retry]
    assert alice_api.get("/api/v1/policytypes?resource_type=trigger").json() == []
    missing = alice_api.get("/api/v1/policytypes/action.nope")
    assert missing.status_code == 404
    assert missing.json()["faultstring"] == (
        'PolicyType with a reference of id "action.nope" not found.'
    )


def test_policy_type_ids_are_the_same_on_every_server(alice_api):
    from st2bridge.formats import fixed_id

    ids = {item["ref"]: item["id"] for item in alice_api.get("/api/v1/policytypes").json()}
    assert ids["action.concurrency"] == fixed_id("policy_type:action.concurrency")


def test_admin_creates_changes_and_deletes_a_policy_defaults_filled(admin_api):
    response = admin_api.post("/api/v1/policies", RETRY, format="json")
    assert response.status_code == 201, response.json()
    policy = response.json()
    assert policy["ref"] == "demo.greet.retry"
    assert policy["uid"] == "policy:demo:greet.retry"
    assert policy["parameters"] == {"retry_on": "timeout", "max_retry_count": 2}
    assert admin_api.get("/api/v1/policies/demo.greet.retry").json() == policy
    changed = admin_api.put(
        f"/api/v1/policies/{policy['id']}",
        {**policy, "parameters": {"retry_on": "failure", "delay": 5}},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["parameters"] == {"retry_on": "failure", "delay": 5, "max_retry_count": 2}
    duplicate = admin_api.post("/api/v1/policies", RETRY, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["conflict-id"] == policy["id"]
    assert admin_api.delete(f"/api/v1/policies/{policy['id']}").status_code == 204
    assert not Policy.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"policy_type": "action.nope"}, 'Referenced policy_type "action.nope" doesnt exist'),
        ({"parameters": {}}, "'retry_on' is a required property"),
        ({"parameters": {"retry_on": "always"}}, "'always' is not one of"),
        ({"parameters": {"retry_on": "failure", "max_retry_count": 9}}, "maximum of 5"),
        ({"parameters": {"retry_on": "failure", "colour": 1}}, "('colour' was unexpected)"),
        ({"resource_ref": None}, "resource_ref"),
    ],
)
def test_a_policy_that_does_not_fit_its_type_is_400(admin_api, change, message):
    response = admin_api.post("/api/v1/policies", {**RETRY, **change}, format="json")
    assert response.status_code == 400
    assert message in response.json()["faultstring"]


def test_members_read_policies_of_their_actions_and_change_none(admin_api, alice_api, alice):
    group = Group.objects.create(name="greeters")
    TeamAccess.objects.create(group=group, actions=["demo.greet"])
    group.user_set.add(alice)
    mine = admin_api.post("/api/v1/policies", RETRY, format="json").json()
    other = {**RETRY, "name": "local.limit", "pack": "core_extra", "resource_ref": "core.local"}
    other.update(policy_type="action.concurrency", parameters={"threshold": 2})
    other = admin_api.post("/api/v1/policies", other, format="json").json()
    assert [item["ref"] for item in alice_api.get("/api/v1/policies").json()] == [mine["ref"]]
    assert alice_api.get(f"/api/v1/policies/{other['id']}").status_code == 404
    assert alice_api.post("/api/v1/policies", RETRY, format="json").status_code == 403
    assert alice_api.delete(f"/api/v1/policies/{mine['id']}").status_code == 403


def test_policies_of_system_packs_cannot_be_changed(admin_api):
    Policy.objects.create(
        ref="core.local.limit", pack="core", name="local.limit", resource_ref="core.local",
        policy_type="action.concurrency", parameters={"threshold": 1, "action": "delay"},
    )  # fmt: skip
    response = admin_api.delete("/api/v1/policies/core.local.limit")
    assert response.status_code == 400
    assert "system level packs" in response.json()["faultstring"]


def test_packs_register_their_policies(tmp_path, admin_api):
    directory = Path(tmp_path, "limits")
    (directory / "policies").mkdir(parents=True)
    (directory / "pack.yaml").write_text(pack_yaml(name="limits"))
    policy = {
        "name": "greet.concurrency",
        "resource_ref": "demo.greet",
        "policy_type": "action.concurrency",
        "parameters": {"threshold": 3},
    }
    (directory / "policies" / "greet.yaml").write_text(yaml.safe_dump(policy))
    bad = {**policy, "name": "bad", "parameters": {"threshold": "many"}}
    (directory / "policies" / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = register_pack(directory)
    assert any("bad.yaml" in error and "'many' is not of type" in error for error in result.errors)
    shown = admin_api.get("/api/v1/policies?pack=limits").json()
    assert [(item["ref"], item["parameters"]) for item in shown] == [
        ("limits.greet.concurrency", {"threshold": 3, "action": "delay"})
    ]
    assert shown[0]["metadata_file"] == "policies/greet.yaml"
