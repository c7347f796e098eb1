"""/api/v1/rbac/...: StackStorm's RBAC read views over the teams. Roles and permission types
for administrators; a user reads their own role assignments, administrators everyone's."""

import pytest
from django.contrib.auth.models import Group

from st2bridge.models import TeamAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(alice, bob):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"], actions=["demo.greet", 7])
    group.user_set.add(alice, bob)
    return group


def test_roles_are_the_system_roles_and_the_teams(admin_api, ops):
    response = admin_api.get("/api/v1/rbac/roles")
    assert response.status_code == 200
    roles = {role["name"]: role for role in response.json()}
    assert list(roles) == ["system_admin", "admin", "observer", "ops"]
    assert roles["admin"]["system"] is True and roles["admin"]["permission_grants"] == []
    team = roles["ops"]
    assert team["id"] == f"{ops.pk:024x}" and team["system"] is False
    assert [
        (grant["resource_uid"], grant["permission_types"])
        for grant in team["permission_grant_objects"]
    ] == [
        ("pack:core", ["pack_view", "action_view", "action_execute"]),
        ("action:demo:greet", ["action_view", "action_execute"]),
    ]
    assert team["permission_grants"] == [g["id"] for g in team["permission_grant_objects"]]
    assert admin_api.get(f"/api/v1/rbac/roles/{team['id']}").json() == team
    assert admin_api.get("/api/v1/rbac/roles/ops").json() == team
    system = admin_api.get("/api/v1/rbac/roles?system=true").json()
    assert [role["name"] for role in system] == ["system_admin", "admin", "observer"]
    assert admin_api.get("/api/v1/rbac/roles/nope").status_code == 404


def test_roles_and_permission_types_are_for_administrators(alice_api, ops):
    for path in (
        "/api/v1/rbac/roles",
        "/api/v1/rbac/roles/ops",
        "/api/v1/rbac/permission_types",
        "/api/v1/rbac/permission_types/action",
    ):
        response = alice_api.get(path)
        assert response.status_code == 403, path
        assert response.json()["faultstring"] == "Administrator access required"


def test_assignments_map_staff_and_team_membership(admin_api, admin_user, alice, ops):
    everyone = admin_api.get("/api/v1/rbac/role_assignments").json()
    assert sorted((item["user"], item["role"]) for item in everyone) == [
        ("admin", "admin"),
        ("admin", "system_admin"),
        ("alice", "ops"),
        ("bob", "ops"),
    ]
    alices = admin_api.get("/api/v1/rbac/role_assignments?user=alice").json()
    assert alices == [
        {
            "id": f"{alice.pk:012x}{ops.pk:012x}",
            "user": "alice",
            "role": "ops",
            "source": "teams",
            "description": 'Member of team "ops"',
            "is_remote": False,
        }
    ]
    by_role = admin_api.get("/api/v1/rbac/role_assignments?role=system_admin").json()
    assert [item["user"] for item in by_role] == ["admin"]
    assert admin_api.get("/api/v1/rbac/role_assignments?remote=true").json() == []


def test_a_user_reads_only_their_own_assignments(alice_api, bob, ops):
    own = alice_api.get("/api/v1/rbac/role_assignments?user=alice")
    assert own.status_code == 200 and [item["role"] for item in own.json()] == ["ops"]
    assert alice_api.get(f"/api/v1/rbac/role_assignments/{own.json()[0]['id']}").status_code == 200
    assert alice_api.get("/api/v1/rbac/role_assignments").status_code == 403
    assert alice_api.get("/api/v1/rbac/role_assignments?user=bob").status_code == 403
    bobs = f"{bob.pk:012x}{ops.pk:012x}"
    assert alice_api.get(f"/api/v1/rbac/role_assignments/{bobs}").status_code == 403


def test_an_unknown_assignment_is_404(admin_api, ops):
    for assignment_id in ("nope", "0" * 24, "f" * 24):
        response = admin_api.get(f"/api/v1/rbac/role_assignments/{assignment_id}")
        assert response.status_code == 404, assignment_id


def test_permission_types_are_stackstorms(admin_api):
    every = admin_api.get("/api/v1/rbac/permission_types").json()
    assert "action" in every and "inquiry" in every and len(every) == 17
    assert every["action"]["action_execute"] == (
        'Ability to execute (run) an action. Also implies "action_view" permission.'
    )
    action = admin_api.get("/api/v1/rbac/permission_types/action").json()
    assert action == every["action"]
    missing = admin_api.get("/api/v1/rbac/permission_types/nope")
    assert missing.status_code == 404
    assert missing.json()["faultstring"] == "Invalid resource type: nope"
