"""/api/v1/sensortypes: the sensor types packs declare (sensors/*.yaml), listed, read and
switched on and off as StackStorm answers; who sees them follows the packs (teams)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from st2bridge.models import SensorType, TeamAccess
from st2bridge.packs import register_packs

from .pack_support import write_pack

pytestmark = pytest.mark.django_db
FIELDS = {
    "id", "uid", "ref", "name", "pack", "description", "artifact_uri", "entry_point",
    "enabled", "trigger_types", "poll_interval", "metadata_file",
}  # fmt: skip
WATCHER = """\
    class_name: RepoWatcher
    entry_point: repo_watcher.py
    description: Watches a repository.
    poll_interval: 30
    trigger_types:
      - name: pushed
      - name: tagged
"""
HOOKS = "class_name: HookListener\nentry_point: hooks.py\ntrigger_types: [{name: hooked}]\n"
MAIL = "class_name: Inbox\nentry_point: inbox.py\nenabled: false\n"


@pytest.fixture
def sensors(tmp_path):
    git = write_pack(tmp_path, "git", sensors={"watcher.yaml": WATCHER, "hooks.yaml": HOOKS})
    write_pack(tmp_path, "mail", sensors={"inbox.yaml": MAIL})
    report = register_packs([tmp_path], [settings.ST2_RUNNER_TYPES_FILE])
    assert report.errors == [], report.errors
    return git.resolve()


def refs(response):
    assert response.status_code == 200, response.json()
    return [item["ref"] for item in response.json()]


def test_list_shows_stackstorm_sensor_types_sorted_by_pack_and_name(alice_api, sensors):
    response = alice_api.get("/api/v1/sensortypes")

    assert refs(response) == ["git.HookListener", "git.RepoWatcher", "mail.Inbox"]
    assert response["X-Total-Count"] == "3" and "X-Limit" not in response
    watcher = response.json()[1]
    assert set(watcher) == FIELDS
    assert watcher == {
        **watcher,
        "uid": "sensor_type:git:RepoWatcher",
        "name": "RepoWatcher",
        "pack": "git",
        "description": "Watches a repository.",
        "artifact_uri": f"file://{sensors}/sensors/repo_watcher.py",
        "entry_point": "sensors.repo_watcher.RepoWatcher",
        "enabled": True,
        "trigger_types": ["git.pushed", "git.tagged"],
        "poll_interval": 30,
        "metadata_file": "sensors/watcher.yaml",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pack=mail", ["mail.Inbox"]),
        ("name=HookListener", ["git.HookListener"]),
        ("enabled=false", ["mail.Inbox"]),
        ("enabled=true", ["git.HookListener", "git.RepoWatcher"]),
        ("trigger=git.tagged", ["git.RepoWatcher"]),
        ("limit=1&offset=1", ["git.RepoWatcher"]),
    ],
)
def test_list_filters(alice_api, sensors, query, expected):
    assert refs(alice_api.get(f"/api/v1/sensortypes?{query}")) == expected


def test_include_attributes_keeps_id_and_ref(alice_api, sensors):
    [item, *_] = alice_api.get("/api/v1/sensortypes?include_attributes=enabled").json()
    assert set(item) == {"id", "ref", "enabled"}
    response = alice_api.get("/api/v1/sensortypes?include_attributes=bogus")
    assert response.status_code == 400
    assert response.json() == {
        "faultstring": "Invalid or unsupported include attribute specified: bogus"
    }


def test_get_by_ref_or_id_and_404(alice_api, sensors):
    by_ref = alice_api.get("/api/v1/sensortypes/git.RepoWatcher").json()
    assert alice_api.get(f"/api/v1/sensortypes/{by_ref['id']}").json() == by_ref
    missing = alice_api.get("/api/v1/sensortypes/git.Nope")
    assert missing.status_code == 404
    assert missing.json() == {"faultstring": 'Resource with a reference or id "git.Nope" not found'}


def test_put_switches_enabled_only(admin_api, sensors):
    sensor = admin_api.get("/api/v1/sensortypes/git.RepoWatcher").json()

    response = admin_api.put(
        "/api/v1/sensortypes/git.RepoWatcher",
        {**sensor, "enabled": False, "description": "ignored", "name": "Other"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {**sensor, "enabled": False}
    stored = SensorType.objects.get(ref="git.RepoWatcher")
    assert (stored.enabled, stored.name, stored.description) == (
        False,
        "RepoWatcher",
        "Watches a repository.",
    )
    again = admin_api.put("/api/v1/sensortypes/git.RepoWatcher", {"enabled": True}, format="json")
    assert again.json()["enabled"] is True


def test_put_without_enabled_disables_as_stackstorm_does(admin_api, sensors):
    response = admin_api.put("/api/v1/sensortypes/git.HookListener", {}, format="json")
    assert response.status_code == 200
    assert response.json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "faultstring"),
    [
        ({"enabled": "yes"}, "enabled: 'yes' is not of type 'boolean'"),
        ([True], "Input body needs to be an object, got: array"),
    ],
)
def test_put_refuses_bad_bodies(admin_api, sensors, body, faultstring):
    response = admin_api.put("/api/v1/sensortypes/git.HookListener", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"faultstring": faultstring}
    assert SensorType.objects.get(ref="git.HookListener").enabled is True


def test_only_admins_switch_sensors(alice_api, sensors):
    response = alice_api.put(
        "/api/v1/sensortypes/git.HookListener", {"enabled": False}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "faultstring": 'User "alice" doesn\'t have required permission "sensor_type_modify"'
    }
    assert SensorType.objects.get(ref="git.HookListener").enabled is True


def test_system_pack_sensors_are_not_changed(admin_api):
    SensorType.objects.create(ref="core.Ticker", pack="core", name="Ticker")
    response = admin_api.put("/api/v1/sensortypes/core.Ticker", {"enabled": False}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "faultstring": "Resources belonging to system level packs can't be manipulated"
    }


def test_members_see_the_sensor_types_of_the_packs_they_see(alice, alice_api, sensors):
    team = Group.objects.create(name="mailroom")
    TeamAccess.objects.create(group=team, packs=["mail"])
    team.user_set.add(alice)

    assert refs(alice_api.get("/api/v1/sensortypes")) == ["mail.Inbox"]
    assert alice_api.get("/api/v1/sensortypes/git.RepoWatcher").status_code == 404


def test_anonymous_callers_are_refused(anon_api, sensors):
    assert anon_api.get("/api/v1/sensortypes").status_code == 401
