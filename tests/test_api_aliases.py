"""/api/v1/actionalias and /api/v1/aliasexecution: action aliases made by administrators or
registered from packs' aliases/*.yaml, read by whoever sees their action, matched against a
command, and run through the launch path as the caller, so that an alias launches nothing its
caller could not launch directly.

Users: admin (staff); alice in the "net" team (the demo pack and core.local), bob in no team
(ST2_DEFAULT_ACCESS=all, as StackStorm without RBAC)."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group

from st2bridge.models import ActionAlias, Execution, TeamAccess
from st2bridge.packs import register_pack

from .catalog_support import register_bundled_packs
from .pack_support import pack_yaml

pytestmark = pytest.mark.django_db

GREET = {
    "name": "greet_someone",
    "pack": "demo",
    "description": "Say hello.",
    "action_ref": "demo.greet",
    "formats": [
        {"display": "greet <name>", "representation": ["greet {{name}} {{greeting=howdy}}"]},
        "say {{greeting}} to {{name}}",
    ],
    "ack": {"format": "Greeting {{ execution.parameters.name }} ({{ actionalias.ref }})"},
}
RUN = {"name": "run_cmd", "pack": "core", "action_ref": "core.local", "formats": ["run {{cmd}}"]}
CHAT = {"source_channel": "ops-room", "user": "chatty"}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture
def net(alice):
    group = Group.objects.create(name="net")
    TeamAccess.objects.create(group=group, packs=["demo"], actions=["core.local"])
    group.user_set.add(alice)
    return group


def created(api, body):
    response = api.post("/api/v1/actionalias", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def run_alias(api, name, representation, command, **extra):
    body = {"name": name, "format": representation, "command": command, **CHAT, **extra}
    return api.post("/api/v1/aliasexecution", body, format="json")


# --- CRUD ------------------------------------------------------------------------------------


def test_admin_creates_reads_replaces_and_deletes_an_alias(admin_api):
    alias = created(admin_api, GREET)
    assert alias["ref"] == "demo.greet_someone"
    assert alias["uid"] == "action_alias:demo:greet_someone"
    assert alias["enabled"] is True and alias["formats"] == GREET["formats"]
    assert admin_api.get("/api/v1/actionalias/demo.greet_someone").json() == alias
    changed = admin_api.put(
        f"/api/v1/actionalias/{alias['id']}", {**alias, "enabled": False}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert admin_api.delete(f"/api/v1/actionalias/{alias['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/actionalias/{alias['id']}").status_code == 404


def test_a_duplicate_alias_is_409_naming_the_existing_one(admin_api):
    first = created(admin_api, GREET)
    response = admin_api.post("/api/v1/actionalias", GREET, format="json")
    assert response.status_code == 409
    assert response.json()["conflict-id"] == first["id"]


def test_list_filters_pages_and_selects_attributes(admin_api):
    created(admin_api, GREET)
    created(admin_api, RUN)
    listed = admin_api.get("/api/v1/actionalias?pack=demo")
    assert [item["ref"] for item in listed.json()] == ["demo.greet_someone"]
    assert listed["X-Total-Count"] == "1" and listed["X-Limit"] == "100"
    trimmed = admin_api.get("/api/v1/actionalias?include_attributes=action_ref").json()
    assert {frozenset(item) for item in trimmed} == {frozenset({"id", "ref", "action_ref"})}
    bad = admin_api.get("/api/v1/actionalias?include_attributes=nope")
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"formats": ["deploy {{ app,env }}"]}, "formats[0]"),
        ({"formats": [{"representation": ["broken ( {{x}}"]}]}, "formats[0]"),
        ({"action_ref": 7}, "action_ref"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_alias_is_400_naming_the_field(admin_api, change, named):
    response = admin_api.post("/api/v1/actionalias", {**GREET, **change}, format="json")
    assert response.status_code == 400
    assert named in response.json()["faultstring"]


def test_members_may_not_change_aliases(admin_api, alice_api, net):
    alias = created(admin_api, GREET)
    assert alice_api.post("/api/v1/actionalias", RUN, format="json").status_code == 403
    path = f"/api/v1/actionalias/{alias['id']}"
    assert alice_api.put(path, alias, format="json").status_code == 403
    assert alice_api.delete(path).status_code == 403
    assert ActionAlias.objects.filter(pk=alias["id"], enabled=True).exists()


def test_members_see_the_aliases_of_actions_their_team_grants(admin_api, alice_api, net):
    created(admin_api, GREET)
    hidden = created(admin_api, {**RUN, "name": "echo", "action_ref": "core.echo"})
    refs = [item["ref"] for item in alice_api.get("/api/v1/actionalias").json()]
    assert refs == ["demo.greet_someone"]
    assert alice_api.get(f"/api/v1/actionalias/{hidden['id']}").status_code == 404


# --- match and help --------------------------------------------------------------------------


def test_match_answers_the_alias_format_a_command_fits(admin_api, alice_api, net):
    alias = created(admin_api, GREET)
    response = alice_api.post(
        "/api/v1/actionalias/match", {"command": "greet Ada hi"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "actionalias": alias,
        "display": "greet <name>",
        "representation": "greet {{name}} {{greeting=howdy}}",
    }


def test_match_refuses_no_match_and_ambiguity(admin_api):
    created(admin_api, GREET)
    nothing = admin_api.post("/api/v1/actionalias/match", {"command": "dance"}, format="json")
    assert nothing.status_code == 400
    assert nothing.json()["faultstring"] == "Command 'dance' matched no patterns"
    created(admin_api, {**GREET, "name": "again"})
    twice = admin_api.post("/api/v1/actionalias/match", {"command": "greet Ada"}, format="json")
    assert twice.status_code == 400
    assert "matched more than 1 pattern" in twice.json()["faultstring"]


def test_help_lists_the_displays(admin_api, alice_api, net):
    created(admin_api, GREET)
    created(admin_api, {**RUN, "name": "echo", "action_ref": "core.echo"})  # not alice's
    response = alice_api.get("/api/v1/actionalias/help?filter=^greet")
    assert response.json() == {
        "available": 1,
        "helpstrings": [{"pack": "demo", "display": "greet <name>", "description": "Say hello."}],
    }


# --- alias execution -------------------------------------------------------------------------


def test_alias_execution_launches_the_action_with_the_commands_parameters(
    admin_api, alice_api, net
):
    created(admin_api, GREET)
    response = run_alias(
        alice_api, "greet_someone", "say {{greeting}} to {{name}}", "say hi to Ada"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    execution = body["execution"]
    assert execution["status"] == "requested"
    assert execution["action"]["ref"] == "demo.greet"
    assert execution["parameters"] == {"greeting": "hi", "name": "Ada"}
    assert execution["context"] == {
        "action_alias_ref": "demo.greet_someone",
        "user": "alice",
        "api_user": "alice",  # a member cannot name another user
        "source_channel": "ops-room",
        "pack": "demo",
    }
    assert body["actionalias"]["ref"] == "demo.greet_someone"
    assert body["message"] == "Greeting Ada (demo.greet_someone)"
    assert Execution.objects.get(pk=execution["id"]).user == "alice"


def test_an_administrators_alias_execution_records_the_chat_user(admin_api):
    created(admin_api, GREET)
    response = run_alias(
        admin_api, "greet_someone", "say {{greeting}} to {{name}}", "say hi to Ada"
    )
    assert response.json()["execution"]["context"]["api_user"] == "chatty"


def test_values_are_cast_as_at_launch_and_arrays_split_on_commas(admin_api):
    body = {
        "name": "ship",
        "pack": "demo",
        "action_ref": "demo.deploy",
        "formats": ["ship {{version}} to {{environment}} as {{replicas}} of {{services}}"],
    }
    created(admin_api, body)
    response = run_alias(
        admin_api, "ship", body["formats"][0], "ship 1.2.3 to staging as 3 of web, worker"
    )
    assert response.status_code == 201, response.json()
    parameters = response.json()["execution"]["parameters"]
    assert parameters["replicas"] == 3
    assert parameters["services"] == ["web", "worker"]


def test_command_values_are_data_never_templates(admin_api, alice_api, net):
    admin_api.put("/api/v1/keys/secret", {"name": "secret", "value": "hush"}, format="json")
    created(admin_api, RUN)
    command = 'run "echo {{ st2kv.system.secret }}"'
    response = run_alias(alice_api, "run_cmd", "run {{cmd}}", command)
    assert response.status_code == 201, response.json()
    assert response.json()["execution"]["parameters"]["cmd"] == "echo {{ st2kv.system.secret }}"


def test_a_member_cannot_launch_through_an_alias_what_they_cannot_launch(admin_api, alice_api, net):
    created(admin_api, RUN)
    created(admin_api, {**RUN, "name": "echo", "action_ref": "core.echo"})
    # An action their team does not grant: the alias is not there for them.
    hidden = run_alias(alice_api, "echo", "run {{cmd}}", "run ls")
    assert hidden.status_code == 404
    # Runner parameters only staff may set, as key=value pairs of the command.
    for pair in ('env={"A": "1"}', "cwd=/", "sudo_password=x"):
        refused = run_alias(alice_api, "run_cmd", "run {{cmd}}", f"run ls {pair}")
        assert refused.status_code == 403, refused.json()
        assert "only staff may set the runner parameter" in refused.json()["faultstring"]
    # The same command launched directly is refused the same way.
    direct = alice_api.post(
        "/api/v1/executions",
        {"action": "core.local", "parameters": {"cmd": "ls", "cwd": "/"}},
        format="json",
    )
    assert direct.status_code == 403
    assert not Execution.objects.filter(user="alice").exists()


def test_an_aliass_immutable_parameters_are_checked_as_the_callers(admin_api, alice_api, net):
    created(admin_api, {**RUN, "immutable_parameters": {"env": {"DEPLOY": "1"}}})
    refused = run_alias(alice_api, "run_cmd", "run {{cmd}}", "run ls")
    assert refused.status_code == 403
    admin = run_alias(admin_api, "run_cmd", "run {{cmd}}", "run ls")
    assert admin.status_code == 201
    assert admin.json()["execution"]["parameters"]["env"] == {"DEPLOY": "1"}
    overridden = run_alias(admin_api, "run_cmd", "run {{cmd}}", 'run ls env={"X": "1"}')
    assert overridden.status_code == 400
    assert overridden.json()["faultstring"] == "Immutable arguments cannot be overriden: env"


def test_a_team_that_loses_the_action_loses_the_alias(admin_api, alice_api, net):
    created(admin_api, GREET)
    TeamAccess.objects.filter(group=net).update(packs=[])
    response = run_alias(
        alice_api, "greet_someone", "say {{greeting}} to {{name}}", "say hi to Ada"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "nope", "format": "x", "command": "x"}, 404,
         'Unable to identify action alias with name "nope".'),
        ({"name": "greet_someone", "format": "other {{x}}", "command": "other 1"}, 400,
         'Format string "other {{x}}" is not available on the alias "greet_someone"'),
        ({"name": "greet_someone", "format": "say {{greeting}} to {{name}}", "command": "hi"},
         400, 'Command "hi" doesn\'t match format string "say {{greeting}} to {{name}}"'),
        ({"name": "greet_someone", "format": "say {{greeting}} to {{name}}",
          "command": "say yo to Ada"}, 400, "greeting: 'yo' is not one of"),
    ],
)  # fmt: skip
def test_alias_execution_refusals(admin_api, body, status, message):
    created(admin_api, GREET)
    response = admin_api.post("/api/v1/aliasexecution", {**body, **CHAT}, format="json")
    assert response.status_code == status
    assert message in response.json()["faultstring"]


def test_a_disabled_alias_does_not_run(admin_api):
    created(admin_api, {**GREET, "enabled": False})
    response = run_alias(admin_api, "greet_someone", "say {{greeting}} to {{name}}", "say hi to A")
    assert response.status_code == 400
    assert response.json()["faultstring"] == 'Action alias with name "greet_someone" is disabled.'


def test_match_and_execute_runs_each_match_of_a_multiple_format(admin_api, alice_api, net):
    every = r"(?:^|\s)greet (?P<name>\w+)(?=\s|$)"
    created(admin_api, {**GREET, "formats": [{"representation": [every], "match_multiple": True}]})
    body = {"command": "greet Ada greet Bob", **CHAT}
    response = alice_api.post("/api/v1/aliasexecution/match_and_execute", body, format="json")
    assert response.status_code == 201, response.json()
    names = [item["execution"]["parameters"]["name"] for item in response.json()["results"]]
    assert names == ["Ada", "Bob"]
    assert Execution.objects.filter(user="alice", action_ref="demo.greet").count() == 2


# --- aliases of packs on disk ----------------------------------------------------------------


def pack_with_aliases(root, files):
    directory = Path(root, "chat")
    (directory / "aliases").mkdir(parents=True)
    (directory / "pack.yaml").write_text(pack_yaml(name="chat"))
    for name, content in files.items():
        (directory / "aliases" / name).write_text(content)
    return directory


def test_packs_register_their_aliases_and_report_bad_files(tmp_path, admin_api):
    good = yaml.safe_dump({"name": "hello", "action_ref": "demo.greet", "formats": ["hi {{name}}"]})
    directory = pack_with_aliases(
        tmp_path,
        {
            "hello.yaml": good,
            "broken.yaml": "name: [unclosed",
            "other_pack.yaml": yaml.safe_dump({"name": "x", "pack": "demo", "action_ref": "a.b"}),
            "bad_format.yaml": yaml.safe_dump(
                {"name": "bad", "action_ref": "a.b", "formats": ["x {{a,b}}"]}
            ),
        },
    )
    outside = tmp_path / "outside.yaml"
    outside.write_text(yaml.safe_dump({"name": "sneaky", "action_ref": "core.local"}))
    (directory / "aliases" / "sneaky.yaml").symlink_to(outside)
    result = register_pack(directory)
    assert [ref for ref in ActionAlias.objects.values_list("ref", flat=True)] == ["chat.hello"]
    problems = "\n".join(result.errors)
    for name in ("broken.yaml", "other_pack.yaml", "bad_format.yaml", "sneaky.yaml"):
        assert name in problems
    assert "resolves outside the pack directory" in problems
    alias = admin_api.get("/api/v1/actionalias/chat.hello").json()
    assert alias["metadata_file"] == "aliases/hello.yaml"
    (directory / "aliases" / "hello.yaml").unlink()
    register_pack(directory)
    assert not ActionAlias.objects.exists()


def test_the_reference_packs_aliases_register_and_match(admin_api):
    reference = Path(__file__).resolve().parents[2] / "shared" / "reference" / "packs"
    register_pack(reference / "networking_utils")
    refs = sorted(ActionAlias.objects.values_list("ref", flat=True))
    assert refs == ["networking_utils.geoip", "networking_utils.ping"]
    match = "/api/v1/actionalias/match"
    response = admin_api.post(match, {"command": "ping 8.8.8.8"}, format="json")
    assert response.json()["representation"] == "ping {{ host }}"
    # Its two formats both fit this one ("ping {{ host }}" takes "8.8.8.8 count 3" as the
    # host): StackStorm refuses it the same way.
    response = admin_api.post(match, {"command": "ping 8.8.8.8 count 3"}, format="json")
    assert response.status_code == 400
    assert "matched more than 1 pattern" in response.json()["faultstring"]
