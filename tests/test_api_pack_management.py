"""POST /api/v1/packs/install, /uninstall and /register: administrators install packs from a
local directory under ST2_PACK_INSTALL_ROOTS into ST2_PACKS_INSTALL_DIR, and nothing else
(other paths, tricks with .. and symlinks, the Exchange); each install or removal is recorded
as a finished execution whose id is the answer, as StackStorm answers."""

import json
import os
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from st2bridge import shapes
from st2bridge.models import Action, ActionAlias, Execution, Pack, Policy, Rule

from .catalog_support import register_bundled_packs
from .pack_support import pack_yaml

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def places(db, settings, tmp_path):
    register_bundled_packs()
    installed, sources = tmp_path / "installed", tmp_path / "sources"
    installed.mkdir()
    sources.mkdir()
    settings.ST2_PACKS_INSTALL_DIR = installed
    settings.ST2_PACK_INSTALL_ROOTS = [sources]
    return installed, sources


def make_pack(directory, ref="hello", actions=("say",)):
    (directory / "actions").mkdir(parents=True, exist_ok=True)
    (directory / "aliases").mkdir(exist_ok=True)
    (directory / "policies").mkdir(exist_ok=True)
    (directory / "rules").mkdir(exist_ok=True)
    (directory / "pack.yaml").write_text(pack_yaml(name=ref, ref=ref))
    for name in actions:
        action = {"name": name, "runner_type": "noop", "description": f"{name}."}
        (directory / "actions" / f"{name}.yaml").write_text(yaml.safe_dump(action))
    alias = {"name": "say_it", "action_ref": f"{ref}.{actions[0]}", "formats": ["say it"]}
    (directory / "aliases" / "say.yaml").write_text(yaml.safe_dump(alias))
    policy = {
        "name": "say.retry",
        "resource_ref": f"{ref}.{actions[0]}",
        "policy_type": "action.retry",
        "parameters": {"retry_on": "failure"},
    }
    (directory / "policies" / "retry.yaml").write_text(yaml.safe_dump(policy))
    rule = {
        "name": "hourly",
        "trigger": {"type": "core.st2.IntervalTimer", "parameters": {"unit": "hours", "delta": 1}},
        "action": {"ref": f"{ref}.{actions[0]}"},
    }
    (directory / "rules" / "hourly.yaml").write_text(yaml.safe_dump(rule))
    return directory


def install(api, *sources):
    body = {"packs": [f"file://{source}" for source in sources]}
    return api.post("/api/v1/packs/install", body, format="json")


def finished(api, response, status=202):
    assert response.status_code == status, response.json()
    execution = api.get(f"/api/v1/executions/{response.json()['execution_id']}").json()
    return execution


def test_an_administrator_installs_a_pack_from_an_allowed_directory(admin_api, places):
    installed, sources = places
    source = make_pack(sources / "hello")
    execution = finished(admin_api, install(admin_api, source))
    assert execution["status"] == "succeeded"
    assert execution["action"]["ref"] == "packs.install"
    assert execution["result"]["output"]["packs_list"] == ["hello"]
    assert execution["context"]["user"] == "admin"
    # An execution like any other: shaped as st2bridge.shapes.EXECUTION says.
    assert not list(Draft202012Validator(shapes.EXECUTION.schema()).iter_errors(execution))
    pack = Pack.objects.get(ref="hello")
    assert pack.path == str(installed / "hello")
    assert (installed / "hello" / "actions" / "say.yaml").is_file()
    assert Action.objects.filter(ref="hello.say").exists()
    assert ActionAlias.objects.filter(ref="hello.say_it").exists()
    assert Policy.objects.filter(ref="hello.say.retry").exists()
    assert Rule.objects.filter(ref="hello.hourly").exists()


def test_installing_again_replaces_the_installed_version(admin_api, places):
    installed, sources = places
    source = make_pack(sources / "hello")
    finished(admin_api, install(admin_api, source))
    (source / "actions" / "say.yaml").unlink()
    make_pack(source, actions=("shout",))
    finished(admin_api, install(admin_api, source))
    assert sorted(Action.objects.filter(pack="hello").values_list("name", flat=True)) == ["shout"]
    assert not (installed / "hello" / "actions" / "say.yaml").exists()
    assert [p.name for p in installed.iterdir()] == ["hello"]  # no staging left behind


def test_members_may_not_install_uninstall_or_register(alice_api, places):
    installed, sources = places
    source = make_pack(sources / "hello")
    assert install(alice_api, source).status_code == 403
    assert not any(installed.iterdir())
    uninstall = alice_api.post("/api/v1/packs/uninstall", {"packs": ["demo"]}, format="json")
    assert uninstall.status_code == 403
    assert alice_api.post("/api/v1/packs/register", {}, format="json").status_code == 403


def test_installs_are_off_until_an_administrator_configures_them(admin_api, settings, places):
    settings.ST2_PACKS_INSTALL_DIR = None
    response = install(admin_api, make_pack(places[1] / "hello"))
    assert response.status_code == 400
    assert "ST2_PACKS_INSTALL_DIR and ST2_PACK_INSTALL_ROOTS" in response.json()["faultstring"]


def attacks(tmp_path, sources, installed):
    """(a name, what is asked for) for each way of reaching outside an allowed root."""
    outside = make_pack(tmp_path / "outside" / "evil", ref="evil")
    escaping = make_pack(sources / "escaping", ref="escaping")
    (escaping / "actions" / "passwd").symlink_to("/etc/passwd")
    (sources / "link_out").symlink_to(outside)
    fifo = make_pack(sources / "fifo", ref="fifo")
    os.mkfifo(fifo / "actions" / "pipe")
    system = make_pack(sources / "core_again", ref="core")
    bundled = make_pack(sources / "demo_again", ref="demo")
    (sources / "no_pack").mkdir()
    (installed / "inside").mkdir()
    return [
        ("outside the roots", f"file://{outside}"),
        ("dot-dot out of a root", f"file://{sources}/../outside/evil"),
        ("encoded dot-dot", f"file://{sources}/%2e%2e/outside/evil"),
        ("a symlink in a root leading out", f"file://{sources}/link_out"),
        ("a pack with a symlink leading out", f"file://{escaping}"),
        ("a pack with a fifo", f"file://{fifo}"),
        ("another host", f"file://evil.example.com{sources}/escaping"),
        ("a relative path", "file:relative/path"),
        ("no such directory", f"file://{sources}/missing"),
        ("not a pack", f"file://{sources}/no_pack"),
        ("a system pack's ref", f"file://{system}"),
        ("a bundled pack's ref", f"file://{bundled}"),
        ("the install directory itself", f"file://{installed}/inside"),
        ("the Exchange", "hello"),
        ("a git repository", "https://github.com/StackStorm-Exchange/stackstorm-hello.git"),
    ]


def test_nothing_outside_the_allowed_roots_is_installed(admin_api, places, tmp_path):
    installed, sources = places
    for name, source in attacks(tmp_path, sources, installed):
        response = admin_api.post("/api/v1/packs/install", {"packs": [source]}, format="json")
        assert response.status_code == 400, (name, response.json())
        assert response.json()["faultstring"].startswith("packs: "), name
    assert [p.name for p in installed.iterdir()] == ["inside"]
    assert not Pack.objects.filter(ref__in=["evil", "escaping", "fifo"]).exists()
    assert not Execution.objects.filter(action_ref="packs.install").exists()


def test_one_refused_source_installs_none_of_the_others(admin_api, places):
    installed, sources = places
    good = make_pack(sources / "hello")
    body = {"packs": [f"file://{good}", "file:///etc"]}
    assert admin_api.post("/api/v1/packs/install", body, format="json").status_code == 400
    assert not any(installed.iterdir())


def test_uninstall_removes_what_the_pack_registered_and_its_directory(admin_api, places):
    installed, sources = places
    finished(admin_api, install(admin_api, make_pack(sources / "hello")))
    trigger_ref = Rule.objects.get(ref="hello.hourly").trigger_ref
    response = admin_api.post("/api/v1/packs/uninstall", {"packs": ["hello"]}, format="json")
    execution = finished(admin_api, response)
    assert execution["status"] == "succeeded" and execution["action"]["ref"] == "packs.uninstall"
    assert not (installed / "hello").exists()
    assert not Pack.objects.filter(ref="hello").exists()
    for model in (Action, ActionAlias, Policy, Rule):
        assert not model.objects.filter(pack="hello").exists(), model.__name__
    assert admin_api.get(f"/api/v1/triggers/{trigger_ref}").status_code == 404


@pytest.mark.parametrize(
    ("ref", "status", "message"),
    [
        ("demo", 400, "was not installed through the API"),
        ("core", 400, "is a system pack"),
        ("nope", 404, 'Resource with a ref or id "nope" not found'),
    ],
)
def test_uninstall_refuses_packs_it_did_not_install(admin_api, ref, status, message):
    response = admin_api.post("/api/v1/packs/uninstall", {"packs": [ref]}, format="json")
    assert response.status_code == status
    assert message in response.json()["faultstring"]
    assert Pack.objects.filter(ref="demo").exists()


def test_register_answers_the_counts_stackstorm_answers(admin_api):
    response = admin_api.post("/api/v1/packs/register", {"packs": ["demo"]}, format="json")
    assert response.status_code == 200
    counts = response.json()
    assert counts["actions"] == Action.objects.filter(pack="demo").count()
    assert counts["rule_types"] == 2 and counts["policy_types"] == 3
    assert set(counts) >= {"runners", "triggers", "rules", "aliases", "policies"}
    only = admin_api.post("/api/v1/packs/register", {"types": ["action"]}, format="json").json()
    assert set(only) == {"actions", "runners"}
    missing = admin_api.post("/api/v1/packs/register", {"packs": ["nope"]}, format="json")
    assert missing.status_code == 400
    assert missing.json()["faultstring"].startswith('Pack "nope" not found on disk: ')


def test_a_stream_waiting_for_the_install_ends_at_once(admin_api, places, settings):
    """`st2 pack install` opens the stream after the answer: it gets the final update."""
    settings.ST2_STREAM_MAX_SECONDS = 5
    response = install(admin_api, make_pack(places[1] / "hello"))
    execution_id = response.json()["execution_id"]
    query = f"?end_event=st2.execution__update&end_execution_id={execution_id}"
    stream = admin_api.get(f"/stream/v1/stream{query}")
    text = b"".join(stream.streaming_content).decode()
    event, data = text.strip().split("\n")
    assert event == "event: st2.execution__update"
    assert json.loads(data.removeprefix("data: "))["status"] == "succeeded"


def test_the_install_directory_is_registered_on_every_start(tmp_path):
    """settings.py adds ST2_PACKS_INSTALL_DIR to ST2_PACKS_DIRS when it is set."""
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.ST2_PACKS_DIRS[-1])"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ST2_PACKS_INSTALL_DIR": str(tmp_path / "made"),
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.stdout.strip() == str(tmp_path / "made")
    assert (tmp_path / "made").is_dir()
