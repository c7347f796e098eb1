"""/api/v1/actions and its views: lookups, filters, attribute selection, paging, admin-only
writes with StackStorm's validation, and runner + action parameters merged (notes §3.2-3.4)."""

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from st2bridge import catalog, records
from st2bridge.models import Action, Pack, RunnerType

pytestmark = pytest.mark.django_db
NOT_FOUND = "The resource could not be found."
SUDO = {"type": "boolean", "default": False, "description": "Run the command with sudo."}
ACTION_FIELDS = {
    "id", "uid", "ref", "pack", "name", "description", "enabled", "entry_point",
    "runner_type", "parameters", "output_schema", "tags", "notify",
}  # fmt: skip


@pytest.fixture
def catalog_rows(db):
    """Two runners, four packs, and a core.local shaped like StackStorm's."""
    RunnerType.objects.create(
        name="local-shell-cmd",
        runner_parameters={
            "cmd": {"type": "string", "description": "The command."},
            "sudo": SUDO,
            "timeout": {"type": "integer", "default": 60},
        },
    )
    RunnerType.objects.create(name="noop")
    for ref in ("core", "default", "demo", "other"):
        Pack.objects.create(ref=ref, name=ref)
    local = Action.objects.create(
        ref="core.local",
        pack="core",
        name="local",
        description="Run a command.",
        runner_type="local-shell-cmd",
        parameters={"cmd": {"required": True}, "sudo": {"immutable": True}},
        tags=[{"name": "shell", "value": "yes"}],
        metadata_file="actions/local.yaml",
    )
    noop = Action.objects.create(ref="demo.noop", pack="demo", name="noop", runner_type="noop")
    return {"local": local, "noop": noop}


def post(api, **body):
    return api.post("/api/v1/actions", body, format="json")


def created(api, **body):
    response = post(api, **body)
    assert response.status_code == 201, response.json()
    return response.json()


# --- reading -------------------------------------------------------------------------------


def test_get_by_ref_and_by_id(alice_api, catalog_rows):
    by_ref = alice_api.get("/api/v1/actions/core.local")
    assert by_ref.status_code == 200
    action = by_ref.json()
    assert set(action) == ACTION_FIELDS | {"metadata_file"}
    assert action["ref"] == "core.local" and action["uid"] == "action:core:local"
    assert action["pack"] == "core" and action["name"] == "local"
    assert action["runner_type"] == "local-shell-cmd"
    assert action["parameters"] == {"cmd": {"required": True}, "sudo": {"immutable": True}}
    assert action["notify"] == {} and action["entry_point"] == ""
    assert action["tags"] == [{"name": "shell", "value": "yes"}]
    by_id = alice_api.get(f"/api/v1/actions/{action['id']}")
    assert by_id.json() == action
    assert "metadata_file" not in alice_api.get("/api/v1/actions/demo.noop").json()


def test_unknown_action_is_404(alice_api, catalog_rows):
    for ref_or_id in ("1", "core.nope", "nope.local"):
        response = alice_api.get(f"/api/v1/actions/{ref_or_id}")
        assert response.status_code == 404
        assert response.json() == {
            "faultstring": f'Resource with a reference or id "{ref_or_id}" not found'
        }


def test_ref_splits_on_first_dot_and_unicode_names_work(admin_api, catalog_rows):
    dotted = created(admin_api, name="st2.dummy.action1", pack="demo", runner_type="noop")
    assert dotted["ref"] == "demo.st2.dummy.action1"
    assert admin_api.get("/api/v1/actions/demo.st2.dummy.action1").json()["id"] == dotted["id"]
    unicode = created(admin_api, name="действие", pack="demo", runner_type="noop")
    assert unicode["uid"] == "action:demo:действие"
    encoded = admin_api.get("/api/v1/actions/" + quote("demo.действие"))
    assert encoded.json()["id"] == unicode["id"]


def test_list_has_no_default_limit(alice_api, catalog_rows):
    response = alice_api.get("/api/v1/actions")
    assert [item["ref"] for item in response.json()] == ["core.local", "demo.noop"]
    assert response["X-Total-Count"] == "2"
    assert "X-Limit" not in response
    page = alice_api.get("/api/v1/actions?limit=1&offset=1")
    assert [item["ref"] for item in page.json()] == ["demo.noop"]
    assert page["X-Limit"] == "1" and page["X-Total-Count"] == "2"


def test_filters_are_allow_listed(alice_api, catalog_rows):
    def refs(query):
        response = alice_api.get(f"/api/v1/actions?{query}")
        assert response.status_code == 200, response.json()
        return [item["ref"] for item in response.json()]

    local_id, noop_id = catalog_rows["local"].id, catalog_rows["noop"].id
    assert refs("name=local") == ["core.local"]
    assert refs("pack=demo") == ["demo.noop"]
    assert refs("tags=shell") == ["core.local"]
    assert refs("tags=yes") == []
    assert refs(f"id={noop_id}") == ["demo.noop"]
    assert refs(f"id={local_id},{noop_id}") == ["core.local", "demo.noop"]
    assert refs("runner_type=noop&enabled=false&sort=-name") == ["core.local", "demo.noop"]
    invalid = alice_api.get("/api/v1/actions?id=invalidid")
    assert invalid.status_code == 400
    assert "not a valid ObjectId" in invalid.json()["faultstring"]


def test_include_and_exclude_attributes(alice_api, catalog_rows):
    included = alice_api.get("/api/v1/actions?include_attributes=entry_point").json()
    assert [set(item) for item in included] == [{"id", "ref", "entry_point"}] * 2
    only_id = alice_api.get("/api/v1/actions/core.local?include_attributes=id").json()
    assert set(only_id) == {"id", "ref"}
    cli = alice_api.get("/api/v1/actions?include_attributes=ref,pack,description&pack=core")
    assert cli.json() == [
        {"id": catalog_rows["local"].id, "ref": "core.local", "pack": "core",
         "description": "Run a command."}
    ]  # fmt: skip
    excluded = alice_api.get("/api/v1/actions?exclude_attributes=parameters,notify").json()
    assert all("parameters" not in item and "notify" not in item for item in excluded)
    assert all("runner_type" in item for item in excluded)
    both = alice_api.get("/api/v1/actions?include_attributes=ref&exclude_attributes=ref")
    assert both.status_code == 400
    assert "mutually exclusive" in both.json()["faultstring"]
    unknown = alice_api.get("/api/v1/actions?include_attributes=nope")
    assert unknown.json() == {
        "faultstring": "Invalid or unsupported include attribute specified: nope"
    }
    not_excludable = alice_api.get("/api/v1/actions?exclude_attributes=description")
    assert not_excludable.status_code == 400


def test_limit_rules(alice_api, admin_api, catalog_rows):
    zero = alice_api.get("/api/v1/actions?limit=0")
    assert zero.status_code == 400
    assert zero.json()["faultstring"] == (
        'Limit, "0" specified, must be a positive number or -1 for full result set.'
    )
    negative = alice_api.get("/api/v1/actions?limit=-22")
    assert negative.status_code == 400
    assert negative.json()["faultstring"] == 'Limit, "-22" specified, must be a positive number.'
    too_many = alice_api.get("/api/v1/actions?limit=1000")
    assert too_many.status_code == 403
    assert too_many.json()["faultstring"] == 'Limit "1000" specified, maximum value is "100"'
    assert alice_api.get("/api/v1/actions?limit=-1").status_code == 403
    assert admin_api.get("/api/v1/actions?limit=1000").status_code == 200
    everything = admin_api.get("/api/v1/actions?limit=-1")
    assert len(everything.json()) == 2 and "X-Limit" not in everything


def test_trailing_slash_auth_and_unknown_methods(alice_api, anon_api, catalog_rows):
    assert alice_api.get("/api/v1/actions/").status_code == 200
    assert alice_api.get("/api/v1/actions/core.local/").json()["ref"] == "core.local"
    assert anon_api.get("/api/v1/actions").status_code == 401
    for response in (
        alice_api.patch("/api/v1/actions/core.local", {}, format="json"),
        alice_api.post("/api/v1/actions/core.local", {}, format="json"),
        alice_api.put("/api/v1/actions", {}, format="json"),
        alice_api.delete("/api/v1/actions/views/overview"),
        alice_api.post("/api/v1/actions/views/parameters/core.local"),
    ):
        assert response.status_code == 404
        assert response.json() == {"faultstring": NOT_FOUND}


# --- creating ------------------------------------------------------------------------------


def test_post_fills_stackstorm_defaults(admin_api, catalog_rows):
    action = created(admin_api, id="foobar", ref="x.y", uid="z", name="hello", runner_type="noop")
    assert action["id"] != "foobar" and len(action["id"]) == 24
    assert action["pack"] == "default" and action["ref"] == "default.hello"
    assert action["uid"] == "action:default:hello"
    assert action["enabled"] is True
    assert action["entry_point"] == "" and action["description"] == ""
    assert action["notify"] == {} and action["tags"] == [] and action["parameters"] == {}
    stored = Action.objects.get(pk=action["id"])
    assert stored.ref == "default.hello" and stored.runner_type == "noop"
    disabled = created(admin_api, name="off", pack="demo", runner_type="noop", enabled=False)
    assert disabled["enabled"] is False


def test_post_round_trips_fields(admin_api, catalog_rows):
    body = {
        "name": "echo",
        "pack": "demo",
        "description": "Echo a message.",
        "runner_type": "local-shell-cmd",
        "entry_point": "",
        "parameters": {"message": {"type": "string", "position": 0}, "cmd": {"default": "x"}},
        "output_schema": {"stdout": {"type": "string"}},
        "tags": [{"name": "demo", "value": "1"}],
        "notify": {"on-failure": {"message": "broke", "routes": ["ops"]}},
    }
    action = created(admin_api, **body)
    got = admin_api.get("/api/v1/actions/demo.echo").json()
    assert got == action
    assert {key: got[key] for key in body} == body


def test_duplicate_ref_is_409_with_conflict_id(admin_api, catalog_rows):
    first = created(admin_api, name="twice", pack="demo", runner_type="noop")
    again = post(admin_api, name="twice", pack="demo", runner_type="noop")
    assert again.status_code == 409
    assert "Tried to save duplicate unique keys" in again.json()["faultstring"]
    assert again.json()["conflict-id"] == first["id"]
    assert created(admin_api, name="twice", pack="other", runner_type="noop")["pack"] == "other"
    assert Action.objects.filter(name="twice").count() == 2


def test_duplicate_found_by_the_unique_index_in_a_race(admin_api, catalog_rows, monkeypatch):
    """Two writers pass the pre-check together; the database's unique index decides."""
    original = records.refuse_duplicate
    calls = []

    def check_after_the_other_writer(row, message, unique="ref"):
        calls.append(row.ref)
        if len(calls) > 1:
            original(row, message, unique)

    monkeypatch.setattr(records, "refuse_duplicate", check_after_the_other_writer)
    response = post(admin_api, name="noop", pack="demo", runner_type="noop")
    assert response.status_code == 409
    assert response.json()["conflict-id"] == catalog_rows["noop"].id
    assert Action.objects.filter(ref="demo.noop").count() == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "x", "runner_type": "xyz"}, "RunnerType xyz is not found."),
        (
            {"name": "x", "runner_type": "noop", "pack": "ghost"},
            'Content pack "ghost" is not found.',
        ),
        ({"runner_type": "noop"}, "'name' is a required property"),
        ({"name": "x"}, "'runner_type' is a required property"),
        ({"name": "", "runner_type": "noop"}, "name: '' should be non-empty"),
        ({"name": "a/b", "runner_type": "noop"}, 'name: must not contain "/".'),
        ({"name": "x", "runner_type": "noop", "foo": 1}, "('foo' was unexpected)"),
        ({"name": "x", "runner_type": "noop", "enabled": "yes"}, "enabled: 'yes' is not of type"),
        ({"name": "x", "runner_type": "noop", "data_files": []}, "data_files:"),
        ({"name": "x", "runner_type": "noop", "notify": {"on-x": {}}}, "('on-x' was unexpected)"),
        (
            {"name": "x", "runner_type": "noop", "parameters": {"a": {"dummyfield": True}}},
            "('dummyfield' was unexpected)",
        ),
        (
            {
                "name": "x",
                "runner_type": "noop",
                "parameters": {"a": {"type": ["string", "object"]}},
            },
            "['string', 'object'] is not valid under any of the given schemas",
        ),
        (
            {"name": "x", "runner_type": "noop", "parameters": {"a": {"immutable": True}}},
            "Immutable param a requires a default value.",
        ),
        (
            {
                "name": "x",
                "runner_type": "noop",
                "parameters": {"a": {"position": 0}, "b": {"position": 0}},
            },
            "Parameters a and b have same position 0. Position values have to be unique.",
        ),
    ],
)
def test_post_validation_errors_are_400(admin_api, catalog_rows, body, message):
    response = post(admin_api, **body)
    assert response.status_code == 400, response.json()
    assert message in response.json()["faultstring"]
    assert Action.objects.count() == 2


def test_runner_parameter_overrides(admin_api, catalog_rows):
    typed = post(
        admin_api,
        name="st2.dummy.action14",
        pack="demo",
        runner_type="local-shell-cmd",
        parameters={"sudo": {"type": "string"}},
    )
    assert typed.status_code == 400
    assert typed.json()["faultstring"] == (
        'The attribute "type" for the runner parameter "sudo" in action '
        '"demo.st2.dummy.action14" cannot be overridden.'
    )
    allowed = created(
        admin_api,
        name="st2.dummy.action15",
        pack="demo",
        runner_type="local-shell-cmd",
        parameters={"sudo": {"default": True, "immutable": True}},
    )
    assert allowed["parameters"] == {"sudo": {"default": True, "immutable": True}}


def test_body_must_be_a_json_object(admin_api, catalog_rows):
    response = admin_api.post("/api/v1/actions", [1], format="json")
    assert response.json() == {"faultstring": "Input body needs to be an object, got: array"}
    empty = admin_api.post("/api/v1/actions")
    assert empty.status_code == 400
    assert "is a required property" in empty.json()["faultstring"]


# --- replacing and deleting ----------------------------------------------------------------


def test_put_is_a_full_replacement_keeping_the_pack(admin_api, catalog_rows):
    action = created(
        admin_api,
        name="job",
        pack="demo",
        runner_type="noop",
        description="old",
        notify={"on-complete": {"message": "done"}},
        tags=[{"name": "t"}],
    )
    response = admin_api.put(
        f"/api/v1/actions/{action['id']}",
        {"name": "job", "runner_type": "noop", "description": "new"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    updated = admin_api.get("/api/v1/actions/demo.job").json()
    assert updated["id"] == action["id"] and updated["pack"] == "demo"
    assert updated["description"] == "new"
    assert updated["notify"] == {} and updated["tags"] == []
    assert response.json() == updated


def test_put_accepts_the_whole_get_object_back(admin_api, catalog_rows):
    action = admin_api.get("/api/v1/actions/demo.noop").json()
    action["enabled"] = False
    response = admin_api.put(f"/api/v1/actions/{action['id']}", action, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == action
    assert Action.objects.get(pk=action["id"]).enabled is False


def test_put_can_rename_but_not_onto_another_action(admin_api, catalog_rows):
    other = created(admin_api, name="other", pack="demo", runner_type="noop")
    clash = admin_api.put(
        f"/api/v1/actions/{other['id']}", {"name": "noop", "runner_type": "noop"}, format="json"
    )
    assert clash.status_code == 409
    assert clash.json()["conflict-id"] == catalog_rows["noop"].id
    moved = admin_api.put(
        "/api/v1/actions/demo.other",
        {"name": "renamed", "pack": "other", "runner_type": "noop"},
        format="json",
    )
    assert moved.json()["ref"] == "other.renamed" and moved.json()["id"] == other["id"]
    assert admin_api.get("/api/v1/actions/demo.other").status_code == 404
    missing = admin_api.put(
        "/api/v1/actions/demo.ghost", {"name": "g", "runner_type": "noop"}, format="json"
    )
    assert missing.status_code == 404


def test_put_validates_like_post(admin_api, catalog_rows):
    response = admin_api.put(
        "/api/v1/actions/demo.noop", {"name": "noop", "runner_type": "xyz"}, format="json"
    )
    assert response.json() == {"faultstring": "RunnerType xyz is not found."}
    empty = admin_api.put("/api/v1/actions/demo.noop", {}, format="json")
    assert empty.status_code == 400
    assert Action.objects.get(ref="demo.noop").runner_type == "noop"


def test_delete_then_404(admin_api, catalog_rows):
    action_id = catalog_rows["noop"].id
    assert admin_api.delete(f"/api/v1/actions/{action_id}").status_code == 204
    response = admin_api.get(f"/api/v1/actions/{action_id}")
    assert response.status_code == 404
    assert response.json() == {
        "faultstring": f'Resource with a reference or id "{action_id}" not found'
    }
    assert admin_api.delete(f"/api/v1/actions/{action_id}").status_code == 404


def test_delete_body_remove_files(admin_api, catalog_rows):
    refused = admin_api.delete("/api/v1/actions/demo.noop", {"remove_files": True}, format="json")
    assert refused.status_code == 400
    assert Action.objects.filter(ref="demo.noop").exists()
    kept = admin_api.delete("/api/v1/actions/demo.noop", {"remove_files": False}, format="json")
    assert kept.status_code == 204
    assert not Action.objects.filter(ref="demo.noop").exists()


def test_writes_are_for_admins(alice_api, catalog_rows):
    denied = [
        post(alice_api, name="mine", pack="demo", runner_type="noop"),
        alice_api.put(
            "/api/v1/actions/demo.noop",
            {"name": "noop", "runner_type": "noop", "description": "hacked"},
            format="json",
        ),
        alice_api.delete("/api/v1/actions/demo.noop"),
    ]
    for response in denied:
        assert response.status_code == 403
        assert response.json()["faultstring"].startswith('User "alice" doesn\'t have required')
    assert list(Action.objects.values_list("ref", "description")) == [
        ("core.local", "Run a command."),
        ("demo.noop", ""),
    ]


def test_system_pack_actions_cannot_be_changed(admin_api, catalog_rows):
    message = {"faultstring": "Resources belonging to system level packs can't be manipulated"}
    responses = [
        post(admin_api, name="new", pack="core", runner_type="noop"),
        admin_api.put(
            "/api/v1/actions/core.local",
            {"name": "local", "runner_type": "local-shell-cmd"},
            format="json",
        ),
        admin_api.put(
            "/api/v1/actions/demo.noop",
            {"name": "noop", "pack": "core", "runner_type": "noop"},
            format="json",
        ),
        admin_api.delete("/api/v1/actions/core.local"),
    ]
    for response in responses:
        assert response.status_code == 400
        assert response.json() == message
    assert Action.objects.filter(pack="core").count() == 1
    assert Action.objects.get(ref="demo.noop").pack == "demo"


# --- views ---------------------------------------------------------------------------------

MERGED_LOCAL = {
    "cmd": {"type": "string", "description": "The command.", "required": True},
    "sudo": {**SUDO, "immutable": True},
    "timeout": {"type": "integer", "default": 60},
}


def test_parameters_view_merges_runner_and_action(alice_api, catalog_rows):
    for ref_or_id in ("core.local", catalog_rows["local"].id):
        response = alice_api.get(f"/api/v1/actions/views/parameters/{ref_or_id}")
        assert response.status_code == 200
        assert response.json() == {"parameters": MERGED_LOCAL}
    assert alice_api.get("/api/v1/actions/views/parameters/demo.noop/").json() == {"parameters": {}}
    missing = alice_api.get("/api/v1/actions/views/parameters/core.nope")
    assert missing.status_code == 404
    assert missing.json()["faultstring"].startswith(
        'Database lookup for ref="core.nope" resulted in exception.'
    )


def test_overview_lists_actions_with_merged_parameters(alice_api, catalog_rows):
    response = alice_api.get("/api/v1/actions/views/overview")
    assert response.status_code == 200
    items = response.json()
    assert [item["ref"] for item in items] == ["core.local", "demo.noop"]
    assert items[0]["parameters"] == MERGED_LOCAL
    assert set(items[0]) == ACTION_FIELDS | {"metadata_file"}
    assert response["X-Total-Count"] == "2" and "X-Limit" not in response
    named = alice_api.get("/api/v1/actions/views/overview?name=noop").json()
    assert [item["ref"] for item in named] == ["demo.noop"]
    assert alice_api.get("/api/v1/actions/views/overview?limit=-22").status_code == 400
    assert alice_api.get("/api/v1/actions/views/overview?limit=0").status_code == 400
    trimmed = alice_api.get("/api/v1/actions/views/overview?include_attributes=parameters")
    assert set(trimmed.json()[0]) == {"id", "ref", "parameters"}


def test_overview_detail_by_ref_and_id(alice_api, catalog_rows):
    by_ref = alice_api.get("/api/v1/actions/views/overview/core.local")
    assert by_ref.status_code == 200
    assert by_ref.json()["parameters"] == MERGED_LOCAL
    by_id = alice_api.get(f"/api/v1/actions/views/overview/{catalog_rows['local'].id}")
    assert by_id.json() == by_ref.json()
    assert alice_api.get("/api/v1/actions/views/overview/core.nope").status_code == 404


def test_overview_query_count_does_not_grow_with_actions(alice_api, catalog_rows):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert alice_api.get("/api/v1/actions/views/overview").status_code == 200
        return len(captured)

    queries()  # warm up: a token's first use is recorded once
    before = queries()
    for n in range(6):
        runner = "noop" if n % 2 else "local-shell-cmd"
        Action.objects.create(ref=f"other.a{n}", pack="other", name=f"a{n}", runner_type=runner)
    assert queries() == before


# --- lists of thousands: each action rendered once per content (issue 16) --------------------

ODD_PARAMETERS = {
    "note": {"type": "string", "default": 'naïve ☃ \u2028 and \u2029, "quoted"\n\ttab'},
    "ratio": {"type": "number", "default": 1e-07, "maximum": 1e16, "minimum": -0.0},
    "flags": {"type": "array", "default": [1.5, True, None, {"b": 2, "a": 1}]},
}


def test_lists_are_byte_for_byte_the_rendering_of_each_action(alice_api, catalog_rows):
    Action.objects.create(
        ref="demo.odd", pack="demo", name="odd", description="Ünïcode \u2028 — ok",
        runner_type="local-shell-cmd", parameters=ODD_PARAMETERS, tags=[{"name": "é"}],
    )  # fmt: skip
    actions = list(Action.objects.order_by("pack", "name"))
    for path, expected in (
        ("/api/v1/actions", [catalog.action_to_api(a) for a in actions]),
        (
            "/api/v1/actions/views/overview",
            [catalog.action_to_api(a, catalog.merged_parameters(a)) for a in actions],
        ),
    ):
        for _ in range(2):  # rendered, then kept
            response = alice_api.get(path)
            assert response.content == JSONRenderer().render(expected), path
            assert response["Content-Type"] == "application/json"
        page = alice_api.get(f"{path}?limit=1&offset=1&include_attributes=parameters")
        assert page.content == JSONRenderer().render(
            [{key: expected[1][key] for key in ("id", "ref", "parameters")}]
        )
        assert page["X-Total-Count"] == "3" and page["X-Limit"] == "1"


def test_a_changed_action_or_runner_is_listed_as_it_is_now(alice_api, catalog_rows):
    def listed(path):
        return {item["ref"]: item for item in alice_api.get(path).json()}

    overview = "/api/v1/actions/views/overview"
    assert listed("/api/v1/actions")["core.local"]["description"] == "Run a command."
    assert "extra" not in listed(overview)["core.local"]["parameters"]
    Action.objects.filter(ref="core.local").update(description="Changed.")
    assert listed("/api/v1/actions")["core.local"]["description"] == "Changed."
    assert listed(overview)["core.local"]["description"] == "Changed."
    RunnerType.objects.filter(name="local-shell-cmd").update(
        runner_parameters={"extra": {"type": "string"}}
    )
    assert listed(overview)["core.local"]["parameters"]["extra"] == {"type": "string"}
    catalog_rows["noop"].delete()
    assert "demo.noop" not in listed("/api/v1/actions")
    assert "demo.noop" not in listed(overview)
