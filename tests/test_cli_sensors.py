"""`st2 sensor list|get|disable|enable` with the official CLI (st2client 3.9.0) against a live
server, for sensor types registered from a pack's sensors/*.yaml."""

import pytest
from django.conf import settings

from st2bridge.models import SensorType
from st2bridge.packs import register_packs

from .cli_support import output, parsed, signed_in
from .pack_support import write_pack

pytestmark = pytest.mark.cli
WATCHER = """\
    class_name: RepoWatcher
    entry_point: repo_watcher.py
    description: Watches a repository.
    poll_interval: 30
    trigger_types: [{name: pushed}]
"""


@pytest.fixture
def st2(live_server, tmp_path, admin_user):
    """The CLI after `st2 login admin`, with a `git` pack of two sensors registered."""
    write_pack(
        tmp_path / "packs",
        "git",
        sensors={"watcher.yaml": WATCHER, "hooks.yaml": "class_name: Hooks\nentry_point: h.py\n"},
    )
    report = register_packs([tmp_path / "packs"], [settings.ST2_RUNNER_TYPES_FILE])
    assert report.errors == [], report.errors
    return signed_in(live_server.url, tmp_path / "home")


def test_sensor_list_shows_them(st2):
    listed = parsed(st2("sensor", "list", "-j"))
    assert [(item["ref"], item["enabled"]) for item in listed] == [
        ("git.Hooks", True),
        ("git.RepoWatcher", True),
    ]
    assert listed[1]["description"] == "Watches a repository."

    table = st2("sensor", "list", "--pack", "git")
    assert table.returncode == 0, output(table)
    assert "git.RepoWatcher" in table.stdout and "Watches a repository." in table.stdout


def test_sensor_get_shows_one(st2):
    sensor = parsed(st2("sensor", "get", "git.RepoWatcher", "-j"))
    assert sensor["entry_point"] == "sensors.repo_watcher.RepoWatcher"
    assert sensor["trigger_types"] == ["git.pushed"]
    missing = st2("sensor", "get", "git.Nope")
    assert missing.returncode == 1, output(missing)
    assert 'Sensor "git.Nope" is not found.' in missing.stdout + missing.stderr


def test_sensor_disable_and_enable(st2):
    disabled = parsed(st2("sensor", "disable", "git.RepoWatcher", "-j"))
    assert disabled["enabled"] is False
    assert SensorType.objects.get(ref="git.RepoWatcher").enabled is False

    enabled = parsed(st2("sensor", "enable", "git.RepoWatcher", "-j"))
    assert enabled["enabled"] is True
    assert SensorType.objects.get(ref="git.RepoWatcher").enabled is True
