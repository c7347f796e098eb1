"""The rest of the st2 CLI (st2client 3.9.0) against a live server: action aliases (create,
list, execute), policy types and policies, timers, roles and role assignments, the service
registry, `execution pause` and `resume` (StackStorm's refusal for what is not a workflow),
`pack install` / `pack remove` from a local directory, and `pack search` / `pack show` of
the configured pack index."""

import json

import pytest
import yaml
from django.contrib.auth.models import Group

from st2bridge.models import Execution, Pack, TeamAccess

from .catalog_support import register_bundled_packs
from .cli_support import St2, output, parsed, st2_binary
from .conftest import PASSWORD
from .pack_support import pack_yaml

pytestmark = pytest.mark.cli


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


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_action_aliases_are_created_listed_and_run(st2, tmp_path):
    alias = {
        "name": "greet_someone",
        "pack": "demo",
        "description": "Say hello.",
        "action_ref": "demo.greet",
        "formats": ["say {{greeting}} to {{name}}"],
    }
    created = parsed(st2("action-alias", "create", write_yaml(tmp_path / "a.yaml", alias), "-j"))
    assert created["ref"] == "demo.greet_someone"
    listed = parsed(st2("action-alias", "list", "-j"))
    assert [(item["ref"], item["description"]) for item in listed] == [
        ("demo.greet_someone", "Say hello.")
    ]
    matched = st2("action-alias", "match", "say hi to Ada")
    assert matched.returncode == 0 and "| greet_someone |" in matched.stdout, output(matched)
    run = st2("action-alias", "execute", "say hi to Ada")
    assert run.returncode == 0, output(run)
    execution = Execution.objects.get(action_ref="demo.greet")
    assert execution.id in run.stdout
    assert execution.parameters == {"greeting": "hi", "name": "Ada"}
    assert execution.context["source_channel"] == "cli"


def test_policy_types_and_policies_are_listed(st2, tmp_path):
    types = parsed(st2("policy-type", "list", "-j"))
    assert [(item["resource_type"], item["name"]) for item in types] == [
        ("action", "concurrency"),
        ("action", "concurrency.attr"),
        ("action", "retry"),
    ]
    assert parsed(st2("policy-type", "get", "action.retry", "-j"))["name"] == "retry"
    policy = {
        "name": "greet.retry",
        "pack": "demo",
        "resource_ref": "demo.greet",
        "policy_type": "action.retry",
        "parameters": {"retry_on": "timeout"},
    }
    created = parsed(st2("policy", "create", write_yaml(tmp_path / "p.yaml", policy), "-j"))
    assert created["parameters"] == {"retry_on": "timeout", "max_retry_count": 2}
    assert [item["ref"] for item in parsed(st2("policy", "list", "-j"))] == ["demo.greet.retry"]


def test_timers_are_the_timer_triggers_of_rules(st2, tmp_path):
    rule = {
        "name": "hourly",
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours", "delta": 1}},
        "action": {"ref": "core.noop"},
    }
    created = parsed(st2("rule", "create", write_yaml(tmp_path / "r.yaml", rule), "-j"))
    timers = parsed(st2("timer", "list", "-j"))
    assert [(f"{item['pack']}.{item['name']}", item["type"]) for item in timers] == [
        (created["trigger"]["ref"], "core.st2.IntervalTimer")
    ]
    assert parsed(st2("timer", "list", "--timer-type", "core.st2.CronTimer", "-j")) == []
    shown = parsed(st2("timer", "get", created["trigger"]["ref"], "-j"))
    assert shown["parameters"] == {"unit": "hours", "delta": 1}


def test_roles_and_role_assignments_show_the_teams(st2, alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["demo"])
    group.user_set.add(alice)
    roles = parsed(st2("role", "list", "-j"))
    assert [item["name"] for item in roles] == ["system_admin", "admin", "observer", "ops"]
    system = parsed(st2("role", "list", "--system", "-j"))
    assert [item["name"] for item in system] == ["system_admin", "admin", "observer"]
    assignments = parsed(st2("role-assignment", "list", "--user", "alice", "-j"))
    assert [(item["user"], item["role"]) for item in assignments] == [("alice", "ops")]


def test_the_service_registry_lists_this_server(st2):
    groups = st2("service-registry", "group", "list")
    assert groups.returncode == 0 and "api" in groups.stdout, output(groups)
    members = st2("service-registry", "member", "list", "--group-id", "api", "-j")
    assert parsed(members)[0]["group_id"] == "api"


@pytest.mark.parametrize(("command", "verb"), [("pause", "pause"), ("resume", "resume")])
def test_pause_and_resume_answer_stackstorms_refusal(st2, command, verb):
    launched = st2("run", "core.local", "cmd=true", "-a")
    assert launched.returncode == 0, output(launched)
    execution = Execution.objects.get()
    result = st2("execution", command, execution.id)
    assert result.returncode == 1, output(result)
    assert "400 Client Error: Bad Request" in result.stdout
    assert (
        f'Unable to {verb} liveaction "{execution.id}" because it is not supported by the '
        '"local-shell-cmd" runner.'
    ) in result.stdout


def test_a_pack_is_installed_from_a_local_directory_and_removed(st2, settings, tmp_path):
    settings.ST2_PACKS_INSTALL_DIR = tmp_path / "installed"
    settings.ST2_PACK_INSTALL_ROOTS = [tmp_path / "sources"]
    settings.ST2_STREAM_POLL_INTERVAL = 0.05
    (tmp_path / "installed").mkdir()
    source = tmp_path / "sources" / "hello"
    (source / "actions").mkdir(parents=True)
    (source / "pack.yaml").write_text(pack_yaml(name="hello", author="me"))
    write_yaml(source / "actions" / "say.yaml", {"name": "say", "runner_type": "noop"})
    installed = st2("pack", "install", f"file://{source}", "-j")
    assert installed.returncode == 0, output(installed)
    assert parsed(installed)["ref"] == "hello"
    assert Pack.objects.get(ref="hello").path == str(tmp_path / "installed" / "hello")
    removed = st2("pack", "remove", "hello")
    assert removed.returncode == 0, output(removed)
    assert not Pack.objects.filter(ref="hello").exists()
    refused = st2("pack", "install", "stackstorm-nope")
    assert refused.returncode == 1
    assert "does not reach the StackStorm Exchange" in refused.stdout


def test_pack_search_and_show_read_the_configured_index(st2, settings, tmp_path):
    index = tmp_path / "index.json"
    index.write_text(
        json.dumps(
            {
                "packs": {
                    "aws": {"name": "aws", "description": "Amazon.", "keywords": ["cloud"]},
                    "sky": {"name": "sky", "description": "Uses the cloud.", "version": "1.2.0"},
                    "csv": {"name": "csv", "description": "CSV files.", "keywords": ["text"]},
                }
            }
        )
    )
    settings.ST2_PACK_INDEX_URLS = [f"file://{index}"]
    found = st2("pack", "search", "cloud", "-j")
    assert found.returncode == 0, output(found)
    assert [pack["name"] for pack in parsed(found)] == ["aws", "sky"]  # keyword, then text
    shown = st2("pack", "show", "sky", "-j")
    assert shown.returncode == 0, output(shown)
    assert parsed(shown)["version"] == "1.2.0"
    missing = st2("pack", "search", "nothing-like-it", "-j")
    assert missing.returncode == 0, output(missing)
    assert missing.stdout == "No matching items found\n"
