"""Managing teams through the API (issue 14): /api/v1/teams, /api/v1/useraccess and
/api/v1/grantables. Admins change teams; members read their own teams and access; a change
applies from the next request on, with the same credentials.

Users: admin (staff), alice (in the "ops" team: the core pack and demo.greet), bob (in no team
unless a test says so)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from st2bridge.models import Execution, TeamAccess
from st2bridge.packs import register_packs

from .catalog_support import register_bundled_packs
from .conftest import client_for, make_user

pytestmark = pytest.mark.django_db

GREET = {"name": "team"}
DEPLOY = {"environment": "staging", "version": "1.0.0"}
TEAMS = "/api/v1/teams"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture
def ops(admin_api, alice):
    response = admin_api.post(
        TEAMS,
        {"name": "ops", "members": ["alice"], "packs": ["core"], "actions": ["demo.greet"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def launch(api, ref, parameters=None):
    return api.post(
        "/api/v1/executions", {"action": ref, "parameters": parameters or {}}, format="json"
    )


def team_names(api, **query):
    response = api.get(TEAMS, query)
    assert response.status_code == 200, response.json()
    return [team["name"] for team in response.json()]


# --- creating, reading, changing, deleting --------------------------------------------------


def test_extensions_list_teams(admin_api, alice_api):
    for api in (admin_api, alice_api):
        assert api.get("/api/v1/extensions").json()["teams"] is True


def test_admin_creates_a_team_and_reads_it_by_id_or_name(admin_api, ops):
    assert ops == {
        "id": ops["id"],
        "name": "ops",
        "members": ["alice"],
        "packs": ["core"],
        "actions": ["demo.greet"],
        "templates": [],
        "unregistered": [],
    }
    assert ops["id"] == str(Group.objects.get(name="ops").pk)
    assert admin_api.get(f"{TEAMS}/{ops['id']}").json() == ops
    assert admin_api.get(f"{TEAMS}/ops").json() == ops
    listed = admin_api.get(TEAMS)
    assert listed.json() == [ops] and listed["X-Total-Count"] == "1"
    assert admin_api.get(TEAMS, {"include_attributes": "name"}).json() == [
        {"id": ops["id"], "name": "ops"}
    ]


def test_a_new_team_needs_only_a_name(admin_api):
    response = admin_api.post(TEAMS, {"name": "release"}, format="json")
    assert response.status_code == 201
    assert response.json()["members"] == response.json()["packs"] == []
    assert TeamAccess.objects.filter(group__name="release").exists()


def test_duplicate_name_is_409_with_conflict_id(admin_api, ops):
    again = admin_api.post(TEAMS, {"name": "ops"}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "faultstring": 'Team "ops" already exists.',
        "conflict-id": ops["id"],  # a string, as every id in the API
    }
    other = admin_api.post(TEAMS, {"name": "release"}, format="json").json()
    renamed = admin_api.put(f"{TEAMS}/{other['id']}", {"name": "ops"}, format="json")
    assert renamed.status_code == 409
    assert Group.objects.get(pk=other["id"]).name == "release"


@pytest.mark.parametrize(
    ("body", "faultstring"),
    [
        ({}, "'name' is a required property"),
        ({"name": ""}, "name: '' should be non-empty"),
        ({"name": "x" * 151}, "name: "),
        ({"name": 7}, "name: 7 is not of type 'string'"),
        ({"name": " ops"}, "name: must not begin or end with a space."),
        ({"name": "42"}, "name: must not be digits only"),
        ({"name": "a/b"}, 'name: must not contain "/"'),
        ({"name": "t", "packs": ["not a ref!"]}, 'packs: "not a ref!" is not a pack ref'),
        ({"name": "t", "packs": "core"}, "packs: 'core' is not of type 'array'"),
        ({"name": "t", "actions": ["nodot"]}, 'actions: "nodot" is not an action ref (pack.name).'),
        ({"name": "t", "members": ["alice", "nobody"]}, 'members: user "nobody" does not exist.'),
        ({"name": "t", "colour": "red"}, "Additional properties are not allowed"),
    ],
)
def test_bad_input_is_400_naming_the_field(admin_api, alice, body, faultstring):
    response = admin_api.post(TEAMS, body, format="json")
    assert response.status_code == 400
    assert response.json()["faultstring"].startswith(faultstring), response.json()
    assert not Group.objects.exists()


def install_pack(directory, pack, action):
    """Register a pack of one local-shell-cmd action with the real loader."""
    (directory / pack / "actions").mkdir(parents=True)
    (directory / pack / "pack.yaml").write_text(
        f"ref: {pack}\nname: {pack}\nversion: 0.1.0\ndescription: A pack.\nauthor: someone\n"
    )
    (directory / pack / "actions" / f"{action}.yaml").write_text(
        f"name: {action}\npack: {pack}\nrunner_type: local-shell-cmd\n"
        "parameters:\n  cmd:\n    default: echo hello\n"
    )
    report = register_packs([directory / pack], [settings.ST2_RUNNER_TYPES_FILE])
    assert not report.errors, report.errors


def test_refs_not_registered_yet_are_granted_and_listed_as_such(
    admin_api, bob, bob_api, settings, tmp_path
):
    """As StackStorm's RBAC grants on any resource_uid: a pack can be granted before it is
    installed, and the grant works once it is."""
    settings.ST2_DEFAULT_ACCESS = "none"
    body = {"name": "early", "members": ["bob"], "packs": ["later"], "actions": ["demo.gone"]}
    team = admin_api.post(TEAMS, body, format="json").json()
    assert team["unregistered"] == ["demo.gone", "later"]
    missing = launch(bob_api, "later.hello")
    assert missing.status_code == 400  # granted, so not refused: there is no such action yet
    assert "later.hello" in missing.json()["faultstring"]

    install_pack(tmp_path, "later", "hello")
    assert launch(bob_api, "later.hello").status_code == 201
    assert admin_api.get(f"{TEAMS}/early").json()["unregistered"] == ["demo.gone"]


def test_put_renames_and_replaces_only_what_it_names(admin_api, ops, bob):
    renamed = admin_api.put(f"{TEAMS}/{ops['id']}", {"name": "operations"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json() == {**ops, "name": "operations"}
    assert admin_api.get(f"{TEAMS}/ops").status_code == 404

    changed = admin_api.put(
        f"{TEAMS}/operations",
        {**renamed.json(), "packs": [], "actions": ["demo.deploy", "demo.deploy"]},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["packs"] == [] and changed.json()["actions"] == ["demo.deploy"]
    assert changed.json()["members"] == ["alice"]
    members = admin_api.put(
        f"{TEAMS}/operations", {"name": "operations", "members": ["bob"]}, format="json"
    )
    assert members.json()["members"] == ["bob"]
    assert members.json()["actions"] == ["demo.deploy"]


def test_put_gives_a_group_made_in_the_django_admin_its_grants(admin_api):
    group = Group.objects.create(name="bare")  # no TeamAccess row
    assert admin_api.get(f"{TEAMS}/bare").json()["packs"] == []
    response = admin_api.put(
        f"{TEAMS}/{group.pk}", {"name": "bare", "packs": ["demo"]}, format="json"
    )
    assert response.status_code == 200
    assert TeamAccess.objects.get(group=group).packs == ["demo"]


def test_members_are_added_and_removed_one_by_one(admin_api, ops, bob):
    added = admin_api.put(f"{TEAMS}/{ops['id']}/members/bob")
    assert added.status_code == 200 and added.json()["members"] == ["alice", "bob"]
    assert admin_api.put(f"{TEAMS}/ops/members/bob").json()["members"] == ["alice", "bob"]
    assert admin_api.delete(f"{TEAMS}/ops/members/alice").status_code == 204
    assert admin_api.get(f"{TEAMS}/ops").json()["members"] == ["bob"]

    missing = admin_api.delete(f"{TEAMS}/ops/members/alice")
    assert missing.status_code == 404
    assert missing.json() == {"faultstring": 'User "alice" is not a member of team "ops"'}
    unknown = admin_api.put(f"{TEAMS}/ops/members/nobody")
    assert unknown.status_code == 400
    assert unknown.json() == {"faultstring": 'username: user "nobody" does not exist.'}
    assert admin_api.put(f"{TEAMS}/nothing/members/bob").status_code == 404


def test_delete_removes_the_team_and_what_it_granted(admin_api, ops, alice_api):
    assert launch(alice_api, "demo.greet", GREET).status_code == 201
    assert admin_api.delete(f"{TEAMS}/{ops['id']}").status_code == 204
    assert not Group.objects.filter(name="ops").exists()
    assert not TeamAccess.objects.exists()
    assert admin_api.get(f"{TEAMS}/ops").status_code == 404
    assert admin_api.delete(f"{TEAMS}/ops").status_code == 404


def test_listing_teams_costs_the_same_for_3_or_30_teams(admin_api, alice, bob):
    def queries_for_listing():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(TEAMS, {"limit": 50}).status_code == 200
        return len(queries)

    for number in range(3):
        body = {"name": f"t{number}", "members": ["alice", "bob"], "actions": ["demo.greet"]}
        admin_api.post(TEAMS, body, format="json")
    few = queries_for_listing()
    for number in range(3, 30):
        body = {"name": f"t{number}", "members": ["alice"], "actions": [f"demo.a{number}"]}
        admin_api.post(TEAMS, body, format="json")
    assert queries_for_listing() == few
    assert team_names(admin_api, member="bob") == ["t0", "t1", "t2"]
    assert team_names(admin_api, name="t7") == ["t7"]


# --- the same rules as the enforcement ------------------------------------------------------


def test_a_member_granted_a_pack_runs_its_actions_and_no_others(admin_api, bob, bob_api):
    """With ST2_DEFAULT_ACCESS=all, bob in no team runs everything; joining narrows it, on his
    very next request with the same token."""
    assert launch(bob_api, "core.noop").status_code == 201
    admin_api.post(TEAMS, {"name": "demo-team", "packs": ["demo"]}, format="json")
    assert admin_api.put(f"{TEAMS}/demo-team/members/bob").status_code == 200

    assert launch(bob_api, "demo.greet", GREET).status_code == 201
    assert launch(bob_api, "demo.deploy", DEPLOY).status_code == 201
    refused = launch(bob_api, "core.noop")
    assert refused.status_code == 403
    assert refused.json() == {
        "faultstring": 'User "bob" may not run action "core.noop": no team of theirs grants it.'
    }
    actions = {action["ref"] for action in bob_api.get("/api/v1/actions").json()}
    assert actions and all(ref.startswith("demo.") for ref in actions)


def test_a_removed_member_loses_access_at_once(settings, admin_api, ops, alice_api):
    settings.ST2_DEFAULT_ACCESS = "none"
    key = alice_api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}}, format="json")
    with_key = APIClient()
    with_key.credentials(HTTP_ST2_API_KEY=key.json()["key"])
    for api in (alice_api, with_key):
        assert launch(api, "demo.greet", GREET).status_code == 201

    assert admin_api.delete(f"{TEAMS}/ops/members/alice").status_code == 204
    for api in (alice_api, with_key):
        refused = launch(api, "demo.greet", GREET)
        assert refused.status_code == 403
        assert refused.json()["faultstring"].endswith("they are in no team.")
        assert api.get("/api/v1/actions/demo.greet").status_code == 404
    assert Execution.objects.filter(user="alice").count() == 2


def test_a_grant_taken_away_is_refused_on_the_next_request(admin_api, ops, alice_api):
    assert launch(alice_api, "demo.greet", GREET).status_code == 201
    admin_api.put(f"{TEAMS}/ops", {"name": "ops", "actions": []}, format="json")
    assert launch(alice_api, "demo.greet", GREET).status_code == 403
    assert launch(alice_api, "core.noop").status_code == 201  # the pack grant stays


def change_routes(team):
    return [
        ("post", TEAMS, {"name": "mine", "members": ["alice"], "packs": ["demo"]}),
        ("put", f"{TEAMS}/{team}", {"name": "ops", "packs": ["demo"], "actions": ["demo.deploy"]}),
        ("delete", f"{TEAMS}/{team}", None),
        ("put", f"{TEAMS}/{team}/members/bob", None),
        ("put", f"{TEAMS}/{team}/members/alice", None),
        ("delete", f"{TEAMS}/{team}/members/alice", None),
    ]


@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("team", ["ops", "id", "missing", "12345"])
def test_non_staff_get_403_on_every_change_route(request, ops, bob, who, team):
    """A member of the team and a user in no team alike, whether the team exists or not (the
    refusal comes first, so it says nothing of what exists)."""
    api = client_for(request.getfixturevalue(who))
    team = ops["id"] if team == "id" else team
    before = admin_view()
    for method, path, body in change_routes(team):
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.json())
        assert response.json() == {
            "faultstring": f'User "{who}" may not change teams: administrator access is required.'
        }
    assert admin_view() == before


def admin_view():
    return sorted(
        (group.name, sorted(group.user_set.values_list("username", flat=True)), group.access.packs)
        for group in Group.objects.select_related("access")
    )


def test_a_staff_user_who_is_not_superuser_manages_teams(ops):
    carol = client_for(make_user("carol", is_staff=True))
    assert carol.put(f"{TEAMS}/ops/members/carol").status_code == 200
    assert carol.delete(f"{TEAMS}/ops").status_code == 204


def test_without_credentials_every_route_is_401(anon_api, ops):
    for method, path, body in change_routes("ops"):
        assert getattr(anon_api, method)(path, body, format="json").status_code == 401
    for path in (TEAMS, f"{TEAMS}/ops", "/api/v1/useraccess", "/api/v1/grantables"):
        assert anon_api.get(path).status_code == 401


# --- what members read ----------------------------------------------------------------------


def test_members_read_only_their_own_teams(admin_api, ops, alice_api, bob_api):
    admin_api.post(TEAMS, {"name": "secret", "members": ["bob"]}, format="json")
    assert team_names(alice_api) == ["ops"]
    assert alice_api.get(f"{TEAMS}/ops").json() == ops
    hidden = alice_api.get(f"{TEAMS}/secret")
    missing = alice_api.get(f"{TEAMS}/nothing")
    assert hidden.status_code == missing.status_code == 404
    assert (
        hidden.json()["faultstring"].replace("secret", "nothing") == missing.json()["faultstring"]
    )
    assert team_names(alice_api, member="bob") == []
    assert team_names(bob_api) == ["secret"]
    assert team_names(admin_api) == ["ops", "secret"]


# --- who may run what -----------------------------------------------------------------------


def access_of(api, username):
    response = api.get(f"/api/v1/useraccess/{username}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_each_users_access_says_what_and_why(settings, admin_api, ops, bob):
    make_user("dave", is_active=False)
    assert access_of(admin_api, "alice") == {
        "username": "alice",
        "enabled": True,
        "is_admin": False,
        "teams": ["ops"],
        "everything": False,
        "packs": ["core"],
        "actions": ["demo.greet"],
        "templates": [],
        "reason": "teams",
        "why": "what their teams grant",
    }
    assert access_of(admin_api, "admin")["reason"] == "admin"
    assert access_of(admin_api, "admin")["everything"] is True
    assert access_of(admin_api, "bob")["reason"] == "default_all"
    assert access_of(admin_api, "dave")["reason"] == "disabled"
    settings.ST2_DEFAULT_ACCESS = "none"
    bob_access = access_of(admin_api, "bob")
    assert (bob_access["reason"], bob_access["everything"]) == ("default_none", False)


def test_who_may_run_an_action(settings, admin_api, ops, bob):
    make_user("carol")
    make_user("dave", is_active=False)
    body = {"name": "release", "members": ["carol"], "actions": ["demo.deploy"]}
    assert admin_api.post(TEAMS, body, format="json").status_code == 201

    def who(action):
        response = admin_api.get("/api/v1/useraccess", {"action": action})
        assert response.status_code == 200, response.json()
        return [user["username"] for user in response.json()]

    assert who("demo.deploy") == ["admin", "bob", "carol"]  # bob: in no team, default all
    assert who("demo.greet") == ["admin", "alice", "bob"]
    assert who("core.local") == ["admin", "alice", "bob"]
    settings.ST2_DEFAULT_ACCESS = "none"
    assert who("demo.deploy") == ["admin", "carol"]
    bad = admin_api.get("/api/v1/useraccess", {"action": "nodot"})
    assert bad.status_code == 400 and bad.json()["faultstring"].startswith("action: ")


def test_members_read_only_their_own_access(ops, alice_api, bob):
    listed = alice_api.get("/api/v1/useraccess").json()
    assert [user["username"] for user in listed] == ["alice"]
    assert access_of(alice_api, "alice")["packs"] == ["core"]
    other = alice_api.get("/api/v1/useraccess/bob")
    missing = alice_api.get("/api/v1/useraccess/nobody")
    assert other.status_code == missing.status_code == 404
    assert alice_api.get("/api/v1/useraccess", {"user": "bob"}).json() == []


# --- finding what to grant ------------------------------------------------------------------


def grantables(api, **query):
    response = api.get("/api/v1/grantables", query)
    assert response.status_code == 200, response.json()
    return [(item["kind"], item["ref"]) for item in response.json()], response


def test_grantables_search_packs_and_actions_every_word(admin_api):
    found, _ = grantables(admin_api, q="greet")
    assert found == [("action", "demo.greet")]
    found, _ = grantables(admin_api, q="DEMO deploy")
    assert ("action", "demo.deploy") in found and ("action", "demo.greet") not in found
    found, _ = grantables(admin_api, q="demo")
    assert found[0] == ("pack", "demo") and ("action", "demo.notes") in found
    found, _ = grantables(admin_api, q="demo", kind="pack")
    assert found == [("pack", "demo")]
    assert grantables(admin_api, q="zzz-nothing")[0] == []


def test_grantables_page_across_packs_and_actions(admin_api):
    everything, response = grantables(admin_api, limit=100)
    total = int(response["X-Total-Count"])
    assert len(everything) == total > 10
    kinds = [kind for kind, _ in everything]
    assert kinds == sorted(kinds, key=lambda kind: kind != "pack")  # packs first
    pages = []
    for offset in range(0, total, 3):
        page, response = grantables(admin_api, limit=3, offset=offset)
        assert response["X-Total-Count"] == str(total)
        pages += page
    assert pages == everything


def test_grantables_are_for_admins_and_check_their_input(admin_api, alice_api):
    refused = alice_api.get("/api/v1/grantables", {"q": "demo"})
    assert refused.status_code == 403
    for query, faultstring in (
        ({"kind": "rule"}, 'kind: must be "pack", "action" or "template".'),
        ({"q": "x" * 201}, "q: at most 200 characters."),
        ({"q": "a b c d e f g h i"}, "q: at most 8 words."),
    ):
        response = admin_api.get("/api/v1/grantables", query)
        assert response.status_code == 400
        assert response.json() == {"faultstring": faultstring}
