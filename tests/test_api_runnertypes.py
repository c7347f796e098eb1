"""/api/v1/runnertypes: list (?name= filters to exactly one, as `st2 run` needs), get by name
or id, and enable/disable by administrators (notes §3.3)."""

import pytest

from st2bridge.models import RunnerType

pytestmark = pytest.mark.django_db
LOCAL_PARAMETERS = {"cmd": {"type": "string"}, "sudo": {"type": "boolean", "default": False}}


@pytest.fixture
def runners(db):
    return {
        "local": RunnerType.objects.create(
            name="local-shell-cmd",
            description="Runs a shell command.",
            runner_package="local_runner",
            runner_module="local_shell_command_runner",
            runner_parameters=LOCAL_PARAMETERS,
            output_key="stdout",
            output_schema={"type": "object"},
        ),
        "local_script": RunnerType.objects.create(name="local-shell-script"),
        "chain": RunnerType.objects.create(name="action-chain"),
    }


def test_list_sorted_by_name_with_default_limit(alice_api, runners):
    response = alice_api.get("/api/v1/runnertypes")
    assert [item["name"] for item in response.json()] == [
        "action-chain",
        "local-shell-cmd",
        "local-shell-script",
    ]
    assert response["X-Total-Count"] == "3" and response["X-Limit"] == "100"


def test_name_filter_returns_exactly_one(alice_api, runners):
    response = alice_api.get("/api/v1/runnertypes/?name=local-shell-cmd")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": runners["local"].id,
            "uid": "runner_type:local-shell-cmd",
            "name": "local-shell-cmd",
            "description": "Runs a shell command.",
            "enabled": True,
            "runner_package": "local_runner",
            "runner_module": "local_shell_command_runner",
            "runner_parameters": LOCAL_PARAMETERS,
            "output_key": "stdout",
            "output_schema": {"type": "object"},
        }
    ]
    assert alice_api.get("/api/v1/runnertypes?name=nope").json() == []
    by_id = alice_api.get(f"/api/v1/runnertypes?id={runners['chain'].id}&enabled=false")
    assert [item["name"] for item in by_id.json()] == ["action-chain"]


def test_get_by_name_or_id(alice_api, runners):
    by_name = alice_api.get("/api/v1/runnertypes/local-shell-cmd")
    assert by_name.status_code == 200
    assert alice_api.get(f"/api/v1/runnertypes/{runners['local'].id}/").json() == by_name.json()
    missing = alice_api.get("/api/v1/runnertypes/1")
    assert missing.status_code == 404
    assert missing.json() == {"faultstring": 'Resource with a name or id "1" not found'}


def test_include_attributes_as_the_cli_asks(alice_api, runners):
    response = alice_api.get("/api/v1/runnertypes?include_attributes=id,name,description")
    assert set(response.json()[0]) == {"id", "name", "description"}
    assert alice_api.get("/api/v1/runnertypes?exclude_attributes=nope").status_code == 400


def test_limit_rules(alice_api, admin_api, runners):
    assert alice_api.get("/api/v1/runnertypes?limit=0").status_code == 400
    assert alice_api.get("/api/v1/runnertypes?limit=-22").status_code == 400
    assert alice_api.get("/api/v1/runnertypes?limit=1000").status_code == 403
    assert admin_api.get("/api/v1/runnertypes?limit=1000").status_code == 200
    page = alice_api.get("/api/v1/runnertypes?limit=1&offset=2")
    assert [item["name"] for item in page.json()] == ["local-shell-script"]


def test_put_applies_only_enabled(admin_api, runners):
    response = admin_api.put(
        "/api/v1/runnertypes/action-chain",
        {"enabled": False, "name": "foobar", "description": "changed"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["enabled"] is False
    assert response.json()["name"] == "action-chain"
    stored = RunnerType.objects.get(pk=runners["chain"].id)
    assert (stored.name, stored.enabled, stored.description) == ("action-chain", False, "")


def test_put_accepts_the_whole_get_object_back(admin_api, runners):
    runner = admin_api.get("/api/v1/runnertypes/local-shell-cmd").json()
    runner["enabled"] = False
    response = admin_api.put(f"/api/v1/runnertypes/{runner['id']}", runner, format="json")
    assert response.json() == runner
    runner["enabled"] = True
    assert admin_api.put(f"/api/v1/runnertypes/{runner['id']}", runner, format="json").json()[
        "enabled"
    ]


def test_put_checks_body_and_target(admin_api, runners):
    bad = admin_api.put("/api/v1/runnertypes/action-chain", {"enabled": "no"}, format="json")
    assert bad.status_code == 400
    assert "is not of type 'boolean'" in bad.json()["faultstring"]
    extra = admin_api.put("/api/v1/runnertypes/action-chain", {"foo": 1}, format="json")
    assert extra.status_code == 400
    missing = admin_api.put("/api/v1/runnertypes/nope", {"enabled": False}, format="json")
    assert missing.status_code == 404


def test_put_is_for_admins(alice_api, runners):
    response = alice_api.put("/api/v1/runnertypes/action-chain", {"enabled": False}, format="json")
    assert response.status_code == 403
    assert RunnerType.objects.get(name="action-chain").enabled is True


def test_unknown_methods_and_auth(alice_api, anon_api, runners):
    assert anon_api.get("/api/v1/runnertypes").status_code == 401
    assert alice_api.post("/api/v1/runnertypes", {}, format="json").status_code == 404
    assert alice_api.delete("/api/v1/runnertypes/action-chain").status_code == 404
    assert RunnerType.objects.count() == 3
