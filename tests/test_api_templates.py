"""Launch templates through the API (issue 18): staff create, version, export and import
them; a member granted only a template runs it with its exposed parameters, and no route
lets them change a fixed value (each attack is a test in the last part).

Users: admin (staff), alice (team "ops": granted the template ops.deploy_staging only),
bob (in another team, granted nothing)."""

import copy

import pytest
import yaml
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from st2bridge.models import Execution, LaunchTemplateVersion, TeamAccess

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db

REF = "ops.deploy_staging"
DEPLOY = {
    "ref": REF,
    "name": "Deploy to staging",
    "description": "Deploys a 1.x version to staging, up to 4 replicas.",
    "action": "demo.deploy",
    "parameters": {
        "environment": {"mode": "fixed", "value": "staging", "shown": True},
        "dry_run": {"mode": "fixed", "value": True},
        "version": {"mode": "exposed", "pattern": r"^1\.[0-9]+\.[0-9]+$", "default": "1.0.0"},
        "replicas": {"mode": "exposed", "minimum": 1, "maximum": 4, "default": 2},
        "api_token": {"mode": "exposed"},
    },
}
GREET = {
    "ref": "ops.greet",
    "name": "Greet politely",
    "action": "demo.greet",
    "parameters": {
        "name": {"mode": "exposed"},
        "greeting": {"mode": "exposed", "enum": ["hello", "hi"]},
        "times": {"mode": "fixed", "value": 1},
    },
}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def team(name, *users, **grants):
    group = Group.objects.create(name=name)
    TeamAccess.objects.create(group=group, **grants)
    group.user_set.add(*users)
    return group


@pytest.fixture
def template(admin_api):
    return created(admin_api, DEPLOY)


@pytest.fixture
def ops(alice, template):
    return team("ops", alice, templates=[REF])


@pytest.fixture
def others(bob):
    return team("others", bob, packs=["core"])


def created(api, body, status=201):
    response = api.post("/api/v1/templates", body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def with_parameter(body, name, entry):
    changed = copy.deepcopy(body)
    changed["parameters"][name] = entry
    return changed


def run(api, ref=REF, **parameters):
    return api.post(f"/api/v1/templates/{ref}/run", {"parameters": parameters}, format="json")


def faultstring(response, status=400):
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()["faultstring"]


# --- creating, reading, versions ------------------------------------------------------------


def test_admin_creates_a_template_at_version_1(admin_api):
    body = created(admin_api, DEPLOY)
    assert body["ref"] == REF and body["version"] == 1 and body["action"] == "demo.deploy"
    assert body["created_by"] == "admin"
    assert body["parameters"]["dry_run"] == {"mode": "fixed", "value": True, "shown": False}
    schema = body["parameters_schema"]
    # What a form shows: exposed ones narrowed, the shown fixed one read-only; not dry_run.
    assert set(schema) == {"environment", "version", "replicas", "api_token"}
    assert schema["environment"]["immutable"] is True
    assert schema["environment"]["default"] == "staging"
    assert schema["replicas"]["maximum"] == 4 and schema["replicas"]["default"] == 2
    assert schema["api_token"]["secret"] is True


def test_duplicate_ref_is_409_with_conflict_id(admin_api, template):
    response = admin_api.post("/api/v1/templates", DEPLOY, format="json")
    assert faultstring(response, 409) == f'Launch template "{REF}" already exists.'
    assert response.json()["conflict-id"] == template["id"]


@pytest.mark.usefixtures("ops")
def test_members_may_not_create_change_or_delete_templates(alice_api):
    refusal = 'User "alice" may not change launch templates: administrator access is required.'
    assert faultstring(alice_api.post("/api/v1/templates", GREET, format="json"), 403) == refusal
    changed = alice_api.put(f"/api/v1/templates/{REF}", DEPLOY, format="json")
    assert faultstring(changed, 403) == refusal
    assert faultstring(alice_api.delete(f"/api/v1/templates/{REF}"), 403) == refusal
    assert faultstring(alice_api.get(f"/api/v1/templates/{REF}/export"), 403) == refusal
    assert faultstring(alice_api.get(f"/api/v1/templates/{REF}/versions"), 403) == refusal


@pytest.mark.usefixtures("ops", "others")
def test_members_see_only_granted_templates_without_hidden_fixed_values(
    admin_api, alice_api, bob_api
):
    created(admin_api, GREET)
    listed = alice_api.get("/api/v1/templates").json()
    assert [item["ref"] for item in listed] == [REF]
    assert "dry_run" not in listed[0]["parameters"]  # fixed and hidden
    assert listed[0]["parameters"]["environment"]["value"] == "staging"  # fixed, shown
    assert bob_api.get("/api/v1/templates").json() == []
    assert {item["ref"] for item in admin_api.get("/api/v1/templates").json()} == {
        REF,
        "ops.greet",
    }
    hidden = bob_api.get(f"/api/v1/templates/{REF}")
    missing = bob_api.get("/api/v1/templates/ops.nothing")
    assert faultstring(hidden, 404).replace(REF, "ops.nothing") == faultstring(missing, 404)


@pytest.mark.usefixtures("ops")
def test_a_template_grants_nothing_on_its_action(alice_api):
    assert alice_api.get("/api/v1/actions/demo.deploy").status_code == 404
    assert alice_api.get("/api/v1/actions").json() == []
    access = alice_api.get("/api/v1/useraccess/alice").json()
    assert access["templates"] == [REF] and access["actions"] == [] and access["packs"] == []


@pytest.mark.usefixtures("ops")
def test_an_edit_adds_a_version_and_executions_keep_theirs(admin_api, alice_api):
    first = run(alice_api, version="1.2.3")
    assert first.status_code == 201, first.json()
    assert first.json()["context"]["template"] == {"ref": REF, "version": 1}
    edited = with_parameter(DEPLOY, "replicas", {"mode": "fixed", "value": 3})
    response = admin_api.put(f"/api/v1/templates/{REF}", edited, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    second = run(alice_api, version="1.2.4")
    assert second.json()["context"]["template"] == {"ref": REF, "version": 2}
    assert second.json()["parameters"]["replicas"] == 3
    # History is not rewritten: the first run and version 1 are as they were.
    assert Execution.objects.get(pk=first.json()["id"]).context["template"]["version"] == 1
    old = admin_api.get(f"/api/v1/templates/{REF}/versions/1").json()
    assert old["parameters"]["replicas"]["mode"] == "exposed"
    listed = admin_api.get(f"/api/v1/templates/{REF}/versions").json()
    assert [item["version"] for item in listed] == [1, 2]


def test_a_page_of_templates_costs_the_same_queries_whatever_its_size(admin_api, template):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_api.get("/api/v1/templates").status_code == 200
        return len(captured)

    few = queries()
    for number in range(5):
        created(admin_api, {**GREET, "ref": f"ops.greet{number}"})
    assert queries() == few


def test_the_ref_of_a_template_does_not_change(admin_api, template):
    renamed = {**DEPLOY, "ref": "ops.elsewhere"}
    response = admin_api.put(f"/api/v1/templates/{REF}", renamed, format="json")
    assert faultstring(response).startswith("ref: a template's ref does not change")


def test_deleting_keeps_the_versions_and_a_new_one_numbers_on(admin_api, template):
    assert admin_api.delete(f"/api/v1/templates/{REF}").status_code == 204
    assert admin_api.get(f"/api/v1/templates/{REF}").status_code == 404
    assert LaunchTemplateVersion.objects.filter(ref=REF).count() == 1
    assert created(admin_api, DEPLOY)["version"] == 2


# --- narrowing is checked against the action ------------------------------------------------

REFUSED = [
    ("greeting", {"mode": "exposed", "enum": ["hello", "bonjour"]}, "parameters.greeting.enum"),
    ("times", {"mode": "exposed", "minimum": 0}, "parameters.times.minimum: 0 is below"),
    ("times", {"mode": "exposed", "maximum": 9}, "parameters.times.maximum: 9 is above"),
    ("times", {"mode": "exposed", "minimum": 4, "maximum": 2}, "parameters.times.minimum"),
    ("times", {"mode": "exposed", "minimum": 6}, "parameters.times.minimum: 6 is above the max"),
    ("times", {"mode": "fixed", "value": 7}, "parameters.times.value"),
    ("times", {"mode": "fixed", "value": "many"}, "parameters.times.value"),
    ("times", {"mode": "exposed", "pattern": "^1$"}, "parameters.times.pattern"),
    ("name", {"mode": "exposed", "pattern": "(unclosed"}, "parameters.name.pattern"),
    ("name", {"mode": "exposed", "minimum": 1}, "parameters.name.minimum"),
    ("name", {"mode": "fixed"}, "parameters.name.value"),
    ("name", {"mode": "fixed", "value": "x", "enum": ["x"]}, "parameters.name.enum"),
    ("name", {"mode": "exposed", "value": "x"}, "parameters.name.value"),
    ("name", {"mode": "hidden"}, "parameters.name.mode"),
    ("greeting", {"mode": "exposed", "enum": ["hi"], "default": "hello"}, "parameters.greeting"),
    ("nickname", {"mode": "exposed"}, 'parameters.nickname: not a parameter of action "demo'),
    ("timeout", {"mode": "exposed", "maximum": 10, "default": 30}, "parameters.timeout.default"),
]


@pytest.mark.parametrize(("name", "entry", "message"), REFUSED)
def test_narrowing_outside_the_action_is_refused_naming_the_field(admin_api, name, entry, message):
    response = admin_api.post(
        "/api/v1/templates", with_parameter(GREET, name, entry), format="json"
    )
    assert faultstring(response).startswith(message)


def test_a_required_parameter_left_out_is_refused(admin_api):
    body = copy.deepcopy(GREET)
    del body["parameters"]["name"]
    response = admin_api.post("/api/v1/templates", body, format="json")
    assert faultstring(response) == "parameters.name: the action requires it: fix it or expose it."


def test_secrets_immutables_and_staff_only_runner_parameters_are_refused(admin_api):
    cases = [
        ("api_token", {"mode": "fixed", "value": "s3cret"}, "parameters.api_token: a secret"),
        ("api_token", {"mode": "exposed", "default": "s3cret"}, "parameters.api_token.default"),
        ("sudo", {"mode": "exposed"}, "parameters.sudo: the action makes it immutable"),
        ("sudo", {"mode": "fixed", "value": False}, "parameters.sudo: the action makes it"),
        ("env", {"mode": "exposed"}, "parameters.env: only staff may set this runner parameter"),
        ("cwd", {"mode": "fixed", "value": "/"}, "parameters.cwd: only staff may set"),
    ]
    for name, entry, message in cases:
        body = with_parameter(DEPLOY, name, entry)
        response = admin_api.post("/api/v1/templates", body, format="json")
        assert faultstring(response).startswith(message), name


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ref", "no-dot", "ref: 'no-dot' does not match"),
        ("name", "", "name: '' should be non-empty"),
        ("action", "demo.nothing", 'action: action "demo.nothing" is not registered.'),
        ("extra", 1, "Additional properties are not allowed ('extra' was unexpected)"),
    ],
)
def test_bad_fields_are_400_naming_them(admin_api, field, value, message):
    response = admin_api.post("/api/v1/templates", {**GREET, field: value}, format="json")
    assert faultstring(response).startswith(message)


# --- YAML -----------------------------------------------------------------------------------


def export(api, ref=REF):
    response = api.get(f"/api/v1/templates/{ref}/export")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/x-yaml")
    return response.content


def import_yaml(api, text):
    data = text.encode() if isinstance(text, str) else text
    return api.generic("POST", "/api/v1/templates/import", data, "application/x-yaml")


def test_yaml_round_trip_gives_the_same_template(admin_api, template):
    text = export(admin_api)
    document = yaml.safe_load(text)
    assert document["ref"] == REF and document["action"] == "demo.deploy"
    assert admin_api.delete(f"/api/v1/templates/{REF}").status_code == 204
    response = import_yaml(admin_api, text)
    assert response.status_code == 201, response.json()
    back = response.json()
    assert back["version"] == 2
    assert back["parameters"] == template["parameters"]
    assert export(admin_api) == text


def test_importing_an_existing_ref_adds_a_version(admin_api, template):
    document = yaml.safe_load(export(admin_api))
    document["parameters"]["replicas"]["maximum"] = 3
    response = import_yaml(admin_api, yaml.safe_dump(document))
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    assert response.json()["parameters"]["replicas"]["maximum"] == 3


@pytest.mark.parametrize(
    ("text", "status", "message"),
    [
        ("a: [1, 2", 400, "body: not valid YAML"),
        ("- just\n- a list\n", 400, "body: a template document is a mapping"),
        ("base: &a [1, 2]\nmore: *a\n", 400, "body: YAML aliases (*name) are not accepted."),
        ("ref: ops.x\nname: X\naction: demo.greet\ndescription: 2024-01-01\n", 400,
         "description: a date is not a JSON value; quote it."),
        ("ref: ops.x\nname: X\naction: demo.greet\nparameters:\n  name: {mode: sometimes}\n",
         400, "parameters.name.mode: 'sometimes' is not one of"),
        (b"ref: \xff\xfe", 400, "body: a template document is UTF-8 text."),
        ("description: " + "x" * 70_000, 413, "body: a template document is at most 65536"),
        ("description: " + "[" * 20_000 + "]" * 20_000, 400, "body: nested too deep."),
        ("description:\n" + "\n".join(f"{'  ' * n}k:" for n in range(1, 70)) + " 1", 400,
         "description.k.k.k.k"),
        ("description: \"it's " + "[" * 100 + "\"", 400, "body: nested too deep."),
        ("1: x\n", 400, "body: keys must be text (got 1)."),
    ],
)  # fmt: skip
def test_bad_yaml_is_a_4xx_naming_the_problem(admin_api, text, status, message):
    assert faultstring(import_yaml(admin_api, text), status).startswith(message)


@pytest.mark.usefixtures("ops")
def test_members_may_not_import(alice_api):
    response = import_yaml(alice_api, yaml.safe_dump(GREET))
    assert faultstring(response, 403).startswith('User "alice" may not change launch templates')


# --- running --------------------------------------------------------------------------------


@pytest.mark.usefixtures("ops")
def test_member_runs_the_template_with_the_fixed_values(alice_api):
    response = run(alice_api, version="1.4.2", replicas="3", api_token="tok")
    assert response.status_code == 201, response.json()
    execution = response.json()
    assert execution["action"]["ref"] == "demo.deploy"
    assert execution["context"]["template"] == {"ref": REF, "version": 1}
    assert execution["context"]["user"] == "alice"
    parameters = execution["parameters"]
    assert parameters["environment"] == "staging" and parameters["dry_run"] is True
    assert parameters["replicas"] == 3 and parameters["version"] == "1.4.2"
    assert parameters["api_token"] == "********"


@pytest.mark.usefixtures("ops")
def test_defaults_of_the_template_apply(alice_api):
    execution = run(alice_api).json()
    assert execution["parameters"]["version"] == "1.0.0"
    assert execution["parameters"]["replicas"] == 2


@pytest.mark.usefixtures("ops")
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"environment": "production"}, f'environment: fixed by launch template "{REF}"'),
        ({"dry_run": False}, f'dry_run: fixed by launch template "{REF}"'),
        ({"timeout": 1}, f'timeout: not a parameter of launch template "{REF}"'),
        ({"nothing": 1}, f'nothing: not a parameter of launch template "{REF}" (it takes: '),
        ({"replicas": 5}, "replicas: 5 is greater than the maximum of 4"),
        ({"replicas": "x"}, "replicas: 'x' is not of type 'integer'"),
        ({"version": "2.0.0"}, "version: '2.0.0' does not match"),
        # Jinja in an exposed value is data: it is not rendered past the pattern.
        ({"version": "{{ '1.0.0' }}"}, "version: \"{{ '1.0.0' }}\" does not match"),
    ],
)
def test_run_refuses_what_the_template_does_not_let_through(alice_api, given, message):
    assert faultstring(run(alice_api, **given)).startswith(message)


@pytest.mark.usefixtures("ops")
def test_enum_narrowing_is_enforced_at_run(admin_api, alice):
    created(admin_api, GREET)
    TeamAccess.objects.filter(group__name="ops").update(templates=[REF, "ops.greet"])
    from .conftest import client_for

    api = client_for(alice)
    assert run(api, "ops.greet", name="x", greeting="hi").status_code == 201
    message = faultstring(run(api, "ops.greet", name="x", greeting="howdy"))
    assert message.startswith("greeting: 'howdy' is not one of ['hello', 'hi']")


@pytest.mark.usefixtures("ops")
def test_run_body_takes_parameters_only(alice_api):
    response = alice_api.post(
        f"/api/v1/templates/{REF}/run", {"parameters": {}, "user": "admin"}, format="json"
    )
    assert faultstring(response).startswith("Additional properties are not allowed ('user'")


@pytest.mark.usefixtures("ops", "others")
def test_an_ungranted_member_cannot_run_it(bob_api):
    assert faultstring(run(bob_api, version="1.0.0"), 404) == f'Launch template "{REF}" not found'


# --- history --------------------------------------------------------------------------------


@pytest.mark.usefixtures("ops")
def test_history_filters_by_template(admin_api, alice_api):
    ran = run(alice_api).json()
    admin_api.post("/api/v1/executions", {"action": "core.noop"}, format="json")
    listed = admin_api.get("/api/v1/executions", {"template": REF}).json()
    assert [item["id"] for item in listed] == [ran["id"]]
    assert alice_api.get("/api/v1/executions", {"template": REF}).json()[0]["id"] == ran["id"]
    assert admin_api.get("/api/v1/executions", {"template": "ops.other"}).json() == []


def test_extensions_and_openapi_list_templates(admin_api, anon_api):
    extensions = admin_api.get("/api/v1/extensions").json()
    assert extensions["templates"] is True and extensions["execution_template_filter"] is True
    document = anon_api.get("/api/v1/openapi.json").json()
    assert "post" in document["paths"]["/api/v1/templates/{ref_or_id}/run"]
    parameters = document["paths"]["/api/v1/executions"]["get"]["parameters"]
    assert "template" in {parameter["name"] for parameter in parameters}


# --- teams grant templates ------------------------------------------------------------------


def test_teams_grant_templates_through_the_api(admin_api, alice_api, template):
    body = {"name": "ops", "members": ["alice"], "templates": [REF, "ops.not_yet"]}
    team_body = admin_api.post("/api/v1/teams", body, format="json").json()
    assert team_body["templates"] == [REF, "ops.not_yet"]
    assert team_body["unregistered"] == ["ops.not_yet"]
    assert run(alice_api).status_code == 201
    response = admin_api.put("/api/v1/teams/ops", {"name": "ops", "templates": []}, format="json")
    assert response.json()["templates"] == []
    assert run(alice_api).status_code == 404  # from the very next request
    bad = admin_api.put("/api/v1/teams/ops", {"name": "ops", "templates": ["x"]}, format="json")
    assert faultstring(bad) == 'templates: "x" is not a launch template ref (pack.name).'
    found = admin_api.get("/api/v1/grantables", {"kind": "template"}).json()
    assert found == [{"kind": "template", "ref": REF, "description": "demo.deploy"}]


# --- the boundary: no route changes a fixed value -------------------------------------------


@pytest.mark.usefixtures("ops")
def test_attack_raw_execution_of_the_action_is_refused(alice_api):
    body = {"action": "demo.deploy", "parameters": {"environment": "production", "version": "1"}}
    response = alice_api.post("/api/v1/executions", body, format="json")
    assert faultstring(response, 403).startswith('User "alice" may not run action "demo.deploy"')


def test_attack_a_forged_template_context_is_dropped(admin_api):
    body = {"action": "core.noop", "context": {"template": {"ref": REF, "version": 1}}}
    response = admin_api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.json()
    assert "template" not in response.json()["context"]
    assert admin_api.get("/api/v1/executions", {"template": REF}).json() == []


@pytest.mark.usefixtures("ops")
def test_attack_re_run_overriding_a_fixed_value_is_refused(alice_api):
    ran = run(alice_api, version="1.2.3").json()
    for name, value in (("environment", "production"), ("dry_run", False), ("timeout", 1)):
        response = alice_api.post(
            f"/api/v1/executions/{ran['id']}/re_run",
            {"parameters": {name: value}},
            format="json",
        )
        assert faultstring(response).startswith(f"{name}: "), name
    assert Execution.objects.count() == 1


@pytest.mark.usefixtures("ops")
def test_re_run_goes_through_the_template_as_it_is_now(admin_api, alice_api):
    ran = run(alice_api, version="1.2.3", api_token="tok").json()
    edited = with_parameter(DEPLOY, "environment", {"mode": "fixed", "value": "development"})
    assert admin_api.put(f"/api/v1/templates/{REF}", edited, format="json").status_code == 200
    response = alice_api.post(
        f"/api/v1/executions/{ran['id']}/re_run", {"parameters": {"replicas": 4}}, format="json"
    )
    assert response.status_code == 201, response.json()
    again = response.json()
    assert again["context"]["template"] == {"ref": REF, "version": 2}
    assert again["context"]["re-run"] == {"ref": ran["id"]}
    assert again["parameters"]["environment"] == "development"  # the current fixed value
    assert again["parameters"]["version"] == "1.2.3"  # the original exposed value
    assert again["parameters"]["replicas"] == 4
    secret = Execution.objects.get(pk=again["id"])
    from st2bridge.executions import stored_parameters

    assert stored_parameters(secret)["api_token"] == "tok"  # reused on the server only


@pytest.mark.usefixtures("ops")
def test_attack_re_run_with_a_value_outside_the_narrowing_is_refused(alice_api):
    ran = run(alice_api, version="1.2.3").json()
    response = alice_api.post(
        f"/api/v1/executions/{ran['id']}/re_run", {"parameters": {"replicas": 20}}, format="json"
    )
    assert faultstring(response).startswith("replicas: 20 is greater than the maximum of 4")


@pytest.mark.usefixtures("ops", "others")
def test_attack_re_run_of_someone_elses_execution_is_not_found(alice_api, bob, bob_api):
    TeamAccess.objects.filter(group__name="others").update(templates=[REF])
    ran = run(bob_api, version="1.2.3").json()
    response = alice_api.post(f"/api/v1/executions/{ran['id']}/re_run", {}, format="json")
    assert response.status_code == 404


@pytest.mark.usefixtures("ops")
def test_attack_re_run_after_the_grant_is_gone_is_refused(alice_api):
    ran = run(alice_api, version="1.2.3").json()
    TeamAccess.objects.filter(group__name="ops").update(templates=[])
    response = alice_api.post(f"/api/v1/executions/{ran['id']}/re_run", {}, format="json")
    assert "which is gone or not yours to run: it cannot be re-run" in faultstring(response, 404)


def test_attack_admin_re_run_of_a_template_execution_also_goes_through_it(admin_api, template):
    ran = run(admin_api, version="1.2.3").json()
    response = admin_api.post(
        f"/api/v1/executions/{ran['id']}/re_run",
        {"parameters": {"environment": "production"}},
        format="json",
    )
    assert faultstring(response).startswith(f'environment: fixed by launch template "{REF}"')


@pytest.mark.usefixtures("ops")
def test_attack_rules_on_the_raw_action_are_refused(alice_api, alice):
    rule = {
        "name": "deploy_prod",
        "pack": "default",
        "enabled": True,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "deploy-prod"}},
        "action": {"ref": "demo.deploy", "parameters": {"environment": "production"}},
    }
    response = alice_api.post("/api/v1/rules", rule, format="json")
    assert faultstring(response, 403).startswith('User "alice" may not run action "demo.deploy"')
    # A rule of hers on an action she was granted, then pointed at the template's action.
    TeamAccess.objects.filter(group__name="ops").update(actions=["core.noop"])
    allowed = {**rule, "action": {"ref": "core.noop", "parameters": {}}}
    response = alice_api.post("/api/v1/rules", allowed, format="json")
    assert response.status_code == 201, response.json()
    changed = {**response.json(), "action": rule["action"]}
    response = alice_api.put("/api/v1/rules/default.deploy_prod", changed, format="json")
    assert faultstring(response, 403).startswith('User "alice" may not run action "demo.deploy"')


@pytest.mark.usefixtures("ops")
def test_attack_a_chat_alias_of_the_raw_action_is_refused(admin_api, alice_api):
    alias = {
        "name": "deploy",
        "pack": "demo",
        "action_ref": "demo.deploy",
        "formats": ["deploy {{version}} to {{environment}}"],
    }
    assert admin_api.post("/api/v1/actionalias", alias, format="json").status_code == 201
    body = {
        "name": "deploy",
        "format": "deploy {{version}} to {{environment}}",
        "command": "deploy 1.2.3 to production",
        "source_channel": "ops-room",
    }
    response = alice_api.post("/api/v1/aliasexecution", body, format="json")
    assert response.status_code == 404, response.json()  # the alias of a hidden action
    assert not Execution.objects.filter(user="alice").exists()


@pytest.mark.usefixtures("ops")
def test_the_raw_re_run_service_refuses_a_template_execution(alice_api, alice):
    """Defence in depth: only the template's re-run may re-run its executions."""
    from st2bridge.auth import Caller
    from st2bridge.errors import InvalidInput
    from st2bridge.executions import re_run

    ran = Execution.objects.get(pk=run(alice_api, version="1.2.3").json()["id"])
    with pytest.raises(InvalidInput, match="ran a launch template: re-run it through"):
        re_run(Caller(alice, "authentication token", "header"), ran, {"parameters": {}})


def test_a_create_racing_another_is_409_not_500(admin_api, template, monkeypatch):
    """The check before the write passes (as when another request creates the same ref
    between the two); the database's unique index then answers, with the same 409."""
    from st2bridge import launch_templates

    checks = []
    real = launch_templates.refuse_duplicate

    def late_check(row, message, unique="ref"):
        checks.append(row.ref)
        if len(checks) > 1:
            real(row, message, unique)

    monkeypatch.setattr(launch_templates, "refuse_duplicate", late_check)
    response = admin_api.post("/api/v1/templates", DEPLOY, format="json")
    assert faultstring(response, 409) == f'Launch template "{REF}" already exists.'
    assert checks == [REF, REF]


def test_an_edit_racing_another_is_409_not_500(admin_api, template, monkeypatch):
    """On SQLite select_for_update locks nothing: another edit may take the next version
    number between this edit's reading it and writing it. That is a 409, not a 500."""
    from st2bridge import launch_templates
    from st2bridge.models import LaunchTemplate, LaunchTemplateVersion

    real_save = LaunchTemplate.save

    def save_after_another_edit(row, *args, **kwargs):
        LaunchTemplateVersion.objects.create(
            ref=row.ref, version=row.version, definition={}, created_by="other"
        )
        monkeypatch.setattr(LaunchTemplate, "save", real_save)  # the other edit is done
        real_save(row, *args, **kwargs)

    monkeypatch.setattr(launch_templates.LaunchTemplate, "save", save_after_another_edit)
    response = admin_api.put(f"/api/v1/templates/{REF}", DEPLOY, format="json")
    assert faultstring(response, 409) == (
        f'Launch template "{REF}" was changed by another request meanwhile; read it again and '
        "retry."
    )
    assert response.json()["conflict-id"] == template["id"]
