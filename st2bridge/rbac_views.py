"""StackStorm's RBAC read views (/rbac/roles, /rbac/role_assignments,
/rbac/permission_types) over this server's teams (st2bridge.teams): what StackStorm's RBAC
tools would show of who may do what here. Nothing is written through them: teams are managed
at /api/v1/teams and in the portal.

- Roles: StackStorm's three system roles (system_admin, admin, observer), and one role per
  team, granting on each pack it grants `pack_view`, `action_view` and `action_execute`
  ("pack:<ref>"), and on each action it grants `action_view` and `action_execute`
  ("action:<pack>:<name>"): what a team lets its members see and run.
- Role assignments: a superuser holds system_admin, a staff user admin (both: administrators
  here), a team's member its team's role. Users in no team hold nothing: with
  ST2_DEFAULT_ACCESS=all they see and run everything, as StackStorm without RBAC.
- Ids: a team's role is its id in 24 hex digits; an assignment joins the user's and the
  team's (system roles: formats.fixed_id); so every id reads back without a table.

As in StackStorm, roles and permission types are for administrators; a user reads the
assignments of their own (?user=<themselves>), administrators everyone's.
"""

import re
from functools import cache
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from . import access, teams
from .errors import NotFound
from .formats import fixed_id

PERMISSION_TYPES_FILE = Path(__file__).with_name("rbac_permission_types.yaml")
SYSTEM_ROLES = ("system_admin", "admin", "observer")
PACK_GRANT = ["pack_view", "action_view", "action_execute"]
ACTION_GRANT = ["action_view", "action_execute"]
SOURCE = "teams"  # where an assignment comes from (StackStorm: its assignment file)
_SYSTEM_PART = {"system_admin": "fffffffffff1", "admin": "fffffffffff2"}
_ADMIN_REFUSAL = "Administrator access required"
ASSIGNMENT_ID = re.compile(r"[0-9a-f]{24}")
MAX_PK = 2**31 - 1  # what every database's integer keys hold


def _require_admin(caller):
    access.require_admin(caller, refusal=_ADMIN_REFUSAL)


# --- permission types ------------------------------------------------------------------------


@cache
def _permission_types():
    return yaml.safe_load(PERMISSION_TYPES_FILE.read_text())


def permission_types(caller, resource_type=None):
    """{resource type: {permission type: description}}, or one resource type's."""
    _require_admin(caller)
    every = _permission_types()
    if resource_type is None:
        return every
    if resource_type not in every:
        raise NotFound(f"Invalid resource type: {resource_type}")
    return every[resource_type]


# --- roles -----------------------------------------------------------------------------------


def roles(caller, name=None, system=None):
    _require_admin(caller)
    found = [_system_role(role) for role in SYSTEM_ROLES]
    found += [_team_role(group) for group in Group.objects.select_related("access")]
    return [
        role
        for role in found
        if (name is None or role["name"] == name) and (system is None or role["system"] == system)
    ]


def find_role(caller, name_or_id):
    for role in roles(caller):
        if name_or_id in (role["id"], role["name"]):
            return role
    raise NotFound(f'Role with name or id "{name_or_id}" not found')


def _system_role(name):
    return {
        "id": fixed_id(f"role:{name}"),
        "name": name,
        "description": name,
        "enabled": True,
        "system": True,
        "permission_grants": [],
        "permission_grant_objects": [],
    }


def _team_role(group):
    grant = getattr(group, "access", None)
    packs = teams.granted_refs(grant.packs) if grant else []
    actions = teams.granted_refs(grant.actions) if grant else []
    objects = [_grant(group, f"pack:{ref}", PACK_GRANT) for ref in sorted(packs)]
    objects += [
        _grant(group, "action:{}:{}".format(*ref.split(".", 1)), ACTION_GRANT)
        for ref in sorted(actions)
        if "." in ref
    ]
    return {
        "id": f"{group.pk:024x}",
        "name": group.name,
        "description": f'Team "{group.name}": what its members may see and run.',
        "enabled": True,
        "system": False,
        "permission_grants": [item["id"] for item in objects],
        "permission_grant_objects": objects,
    }


def _grant(group, resource_uid, permission_types):
    return {
        "id": fixed_id(f"grant:{group.pk}:{resource_uid}"),
        "resource_uid": resource_uid,
        "permission_types": list(permission_types),
    }


# --- role assignments ------------------------------------------------------------------------


def role_assignments(caller, user=None, role=None, source=None, remote=None):
    """Assignments matching the filters; a non-admin must ask for their own (?user=)."""
    if user != caller.username:
        _require_admin(caller)
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if user is not None:
        users = users.filter(username=user)
    found = [item for person in users.prefetch_related("groups") for item in _assignments(person)]
    return [
        item
        for item in found
        if (role is None or item["role"] == role)
        and (source is None or item["source"] == source)
        and (remote is None or item["is_remote"] == remote)
    ]


def find_role_assignment(caller, assignment_id):
    person = None
    if ASSIGNMENT_ID.fullmatch(assignment_id) and int(assignment_id[:12], 16) <= MAX_PK:
        users = get_user_model().objects.filter(is_active=True)
        person = users.filter(pk=int(assignment_id[:12], 16)).first()
    for item in _assignments(person) if person is not None else []:
        if item["id"] == assignment_id:
            if person.username != caller.username:
                _require_admin(caller)
            return item
    raise NotFound(f'Role assignment with id "{assignment_id}" not found')


def _assignments(person):
    found = []
    for role, flag in (("system_admin", person.is_superuser), ("admin", person.is_staff)):
        if flag:
            description = "Superuser" if role == "system_admin" else "Staff user"
            found.append(_assignment(person, role, _SYSTEM_PART[role], description))
    for group in person.groups.all():
        description = f'Member of team "{group.name}"'
        found.append(_assignment(person, group.name, f"{group.pk:012x}", description))
    return found


def _assignment(person, role, part, description):
    return {
        "id": f"{person.pk:012x}{part}",
        "user": person.username,
        "role": role,
        "source": SOURCE,
        "description": description,
        "is_remote": False,
    }
