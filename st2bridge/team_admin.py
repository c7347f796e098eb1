"""Managing teams through the API (issue 14): create, rename and delete teams, add and remove
members, set what a team grants, find packs and actions to grant, and say who may run what.
What a grant allows is st2bridge.teams's; which teams and users a caller may read is
st2bridge.access's, and every change here is for admins (staff) only, refused before anything
is looked up, so a refusal says nothing of what exists.

A team is a Django group with a TeamAccess row (packs, actions). A change is a plain write of
those rows: the API loads each caller's user, and with it their scope, anew for every request
(teams.allowed_scope keeps a scope on the user object only), so a grant or a membership
applies, and a removal bites, from the very next request.

Refs to packs and actions that are not registered are accepted, checked for their form only,
as StackStorm's RBAC does: st2-rbac-backend validates a role's permission grants by the form of
their resource_uid and their permission types, and never looks the resource up. So a team can
be granted a pack before it is installed, and keeps the grant while the pack is re-registered.
A typo is not silent: each team lists its grants that name nothing registered now
(`unregistered`), and the portal flags them. Members differ: a membership is a row pointing at
a user, so an unknown username is refused (400), where StackStorm's assignment files may name
any user its authentication backend knows.
"""

import re
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Prefetch, Q

from . import access, audit, server_events, teams
from .bodies import check_body
from .errors import InvalidInput, NotFound
from .models import Action, LaunchTemplate, Pack, TeamAccess
from .records import save_or_409

PACK_REF = re.compile(r"^[\w-]+$")
ACTION_REF = re.compile(r"^[\w-]+\.\S+$")
NAME_LENGTH = 150  # Group.name's
MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 8

_NAME = {"type": "string", "minLength": 1, "maxLength": NAME_LENGTH}
_STRINGS = {"type": "array", "items": {"type": "string"}}
CREATE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _NAME,
        "members": _STRINGS,
        "packs": _STRINGS,
        "actions": _STRINGS,
        "templates": _STRINGS,  # launch templates (issue 18): running them, not their actions
    },
    "additionalProperties": False,
}
# PUT takes a team as GET shows it: id and unregistered are the server's and are ignored;
# members and grants (packs, actions, templates) replace what the team has when given, and are
# kept when left out.
UPDATE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        **CREATE_SCHEMA["properties"],
        "id": {"type": "string"},
        "unregistered": _STRINGS,
    },
    "additionalProperties": False,
}


def _refuse_non_admin(caller):
    access.require_admin(
        caller,
        refusal=f'User "{caller.username}" may not change teams: administrator access is required.',
    )


# --- checks ---------------------------------------------------------------------------------


def check_name(name):
    """A team's name (the schema checked its type and length): usable in a URL by name."""
    if name != name.strip():
        raise InvalidInput("name: must not begin or end with a space.")
    if name.isdigit():
        raise InvalidInput("name: must not be digits only: a number addresses a team by its id.")
    if "/" in name or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInput('name: must not contain "/" or control characters.')
    return name


GRANT_FIELDS = ("packs", "actions", "templates")
GRANT_KINDS = ("pack", "action", "template")  # as core.st2.team.grant_changed names them
REF_FORMS = {
    "packs": (PACK_REF, "a pack ref (letters, digits, _ or -)"),
    "actions": (ACTION_REF, "an action ref (pack.name)"),
    "templates": (ACTION_REF, "a launch template ref (pack.name)"),
}


def check_refs(field, refs):
    """`refs` (pack refs for field "packs", action refs for "actions", template refs for
    "templates") sorted, without duplicates; InvalidInput naming the field and the first ref
    of the wrong form."""
    pattern, form = REF_FORMS[field]
    for ref in refs:
        if not pattern.match(ref):
            raise InvalidInput(f'{field}: "{ref}" is not {form}.')
    return sorted(set(refs))


def _users(field, usernames):
    """The users named, or InvalidInput naming the field and the first unknown one."""
    found = {
        user.username: user for user in get_user_model().objects.filter(username__in=usernames)
    }
    for username in usernames:
        if username not in found:
            raise InvalidInput(f'{field}: user "{username}" does not exist.')
    return list(found.values())


def grants_of(team):
    """(pack refs, action refs, template refs) a team grants; nothing for a group without a
    TeamAccess row."""
    try:
        row = team.access
    except TeamAccess.DoesNotExist:
        return [], [], []
    return tuple(teams.granted_refs(getattr(row, field)) for field in GRANT_FIELDS)


# --- reading --------------------------------------------------------------------------------


class TeamView(NamedTuple):
    id: str
    name: str
    members: list  # usernames
    packs: list
    actions: list
    templates: list  # launch templates (issue 18)
    unregistered: list  # granted refs (packs, actions, templates) that name nothing registered


def team_to_api(team):
    """A TeamView as the API answers it (st2bridge.shapes.TEAM)."""
    return team._asdict()


def with_details(groups):
    """`groups` (a queryset) with what describe() reads, loaded in two more queries."""
    members = get_user_model().objects.order_by("username").only("username")
    return groups.select_related("access").prefetch_related(Prefetch("user_set", members))


def visible_teams(caller, member=None, name=None):
    """The teams the caller may read, by name; `member` keeps the teams of that user, `name`
    the team of that name."""
    groups = access.visible_teams(caller).order_by("name")
    if member:
        groups = groups.filter(user__username=member)
    if name:
        groups = groups.filter(name=name)
    return with_details(groups)


def describe(groups):
    """A TeamView of each group (loaded by with_details); two queries find the unregistered
    refs of them all."""
    grants = [(group, *grants_of(group)) for group in groups]
    packs = {ref for _, granted, _, _ in grants for ref in granted}
    actions = {ref for _, _, granted, _ in grants for ref in granted}
    templates = {ref for _, _, _, granted in grants for ref in granted}
    registered = set(Pack.objects.filter(ref__in=packs).values_list("ref", flat=True))
    registered |= set(Action.objects.filter(ref__in=actions).values_list("ref", flat=True))
    known = set(LaunchTemplate.objects.filter(ref__in=templates).values_list("ref", flat=True))
    return [
        TeamView(
            str(group.pk),
            group.name,
            [user.username for user in group.user_set.all()],
            pack_refs,
            action_refs,
            template_refs,
            sorted(
                {ref for ref in (*pack_refs, *action_refs) if ref not in registered}
                | {ref for ref in template_refs if ref not in known}
            ),
        )
        for group, pack_refs, action_refs, template_refs in grants
    ]


def view_of(team):
    """The TeamView of one team (a group), read afresh."""
    return describe(with_details(Group.objects.filter(pk=team.pk)))[0]


def find_team(caller, id_or_name):
    """One visible team, as describe() shows it."""
    return view_of(access.find_team(caller, id_or_name))


# --- changing -------------------------------------------------------------------------------


def create_team(caller, body):
    _refuse_non_admin(caller)
    check_body(body, CREATE_SCHEMA)
    name = check_name(body["name"])
    members = _users("members", body.get("members", []))
    grants = {field: check_refs(field, body.get(field, [])) for field in GRANT_FIELDS}
    with transaction.atomic():
        team = save_or_409(Group(name=name), f'Team "{name}" already exists.', unique="name")
        TeamAccess.objects.create(group=team, **grants)
        team.user_set.set(members)
        view = audited(caller, "create", None, view_of(team))
    grants_changed(caller.username, None, view)
    return view


def grants_changed(by, before, after):
    """Fire core.st2.team.grant_changed (st2bridge.server_events) for each grant a team
    gained or lost from `before` to `after` (TeamViews; None where there is no team), for
    its members (before the change, for a team deleted); `by`: a username. The Django admin
    calls it too."""
    team = after or before
    server_events.emit_grant_changes(
        {"id": str(team.id), "name": team.name},
        team.members,
        _grants_by_kind(before),
        _grants_by_kind(after),
        by,
    )


def _grants_by_kind(view):
    """{"pack": refs, "action": refs, "template": refs} a TeamView grants ({} for None)."""
    if view is None:
        return {}
    pairs = zip(GRANT_KINDS, GRANT_FIELDS, strict=True)
    return {kind: getattr(view, field) for kind, field in pairs}


def members_of(team):
    return list(team.user_set.values_list("username", flat=True))


def update_team(caller, id_or_name, body):
    """Rename; and replace the members, packs or actions given."""
    _refuse_non_admin(caller)
    team = access.find_team(caller, id_or_name)
    before = view_of(team)
    check_body(body, UPDATE_SCHEMA)
    team.name = check_name(body["name"])
    members = _users("members", body["members"]) if "members" in body else None
    grants = {field: check_refs(field, body[field]) for field in GRANT_FIELDS if field in body}
    with transaction.atomic():
        save_or_409(team, f'Team "{team.name}" already exists.', unique="name")
        if grants:
            row, _ = TeamAccess.objects.select_for_update().get_or_create(group=team)
            for field, refs in grants.items():
                setattr(row, field, refs)
            row.save(update_fields=list(grants))
        if members is not None:
            team.user_set.set(members)
        after = audited(caller, "update", before, view_of(team))
    grants_changed(caller.username, before, after)
    return after


def delete_team(caller, id_or_name):
    """The team, its grants and its memberships; its members lose what it granted."""
    _refuse_non_admin(caller)
    delete_groups(caller, Group.objects.filter(pk=access.find_team(caller, id_or_name).pk))


def delete_groups(by, groups):
    """Delete teams (a queryset of groups) for `by` (a Caller, or the Django admin's
    audit.Actor): each recorded in the audit log, and the grants each loses fired."""
    views = describe(with_details(groups))
    with transaction.atomic():
        groups.delete()
        for view in views:
            audited(by, "delete", view, None)
    for view in views:
        grants_changed(by.username, view, None)


def add_member(caller, id_or_name, username):
    """Add a user to a team (adding a member again changes nothing)."""
    _refuse_non_admin(caller)
    team = access.find_team(caller, id_or_name)
    before = view_of(team)
    users = _users("username", [username])
    with transaction.atomic():
        team.user_set.add(*users)
        return audited(caller, "member_add", before, view_of(team))


def remove_member(caller, id_or_name, username):
    _refuse_non_admin(caller)
    team = access.find_team(caller, id_or_name)
    member = team.user_set.filter(username=username).first()
    if member is None:
        raise NotFound(f'User "{username}" is not a member of team "{team.name}"')
    before = view_of(team)
    with transaction.atomic():
        team.user_set.remove(member)
        audited(caller, "member_remove", before, view_of(team))


def audited(by, verb, before, after):
    """Record a team's change in the audit log (TeamViews before and after, None when there
    is none), by a Caller or an audit.Actor (the Django admin's); returns `after`."""
    shown = [{} if view is None else team_to_api(view) for view in (before, after)]
    team_id = (after or before).id
    audit.record(by, f"team.{verb}", "team", team_id, audit.diff(*shown))
    return after


# --- who may run what -----------------------------------------------------------------------

REASONS = {
    "admin": "staff: sees and runs everything",
    "teams": "what their teams grant",
    "default_all": "in no team, and ST2_DEFAULT_ACCESS is all: everything",
    "default_none": "in no team, and ST2_DEFAULT_ACCESS is none: nothing",
    "disabled": "the user is disabled: nothing",
}


class UserAccess(NamedTuple):
    username: str
    enabled: bool
    is_admin: bool
    teams: list  # names
    everything: bool  # sees and runs every pack and action
    packs: list  # granted whole (empty when `everything`)
    actions: list  # granted one by one
    templates: list  # launch templates granted (issue 18)
    reason: str  # a key of REASONS


def access_to_api(user_access):
    """A UserAccess as the API answers it (st2bridge.shapes.USER_ACCESS)."""
    return {**user_access._asdict(), "why": REASONS[user_access.reason]}


def visible_users(caller, username=None, action=None):
    """Users whose access the caller may read (their own; admins, everyone's), by username;
    `username` keeps that one, `action` those who may run that action."""
    users = access.visible_users(caller).order_by("username")
    if username:
        users = users.filter(username=username)
    if action:
        users = _who_may_run(users, action)
    return _with_teams(users)


def _with_teams(users):
    return users.prefetch_related(
        Prefetch("groups", Group.objects.select_related("access").order_by("name"))
    )


def _who_may_run(users, action_ref):
    """`users` narrowed to the enabled ones who may run `action_ref`. Teams are few: their
    grants are read once and matched here, the same way teams.Scope.allows decides."""
    if not ACTION_REF.match(action_ref):
        raise InvalidInput(f'action: "{action_ref}" is not an action ref (pack.name).')
    granting = [
        row.group_id
        for row in TeamAccess.objects.all()
        if teams.scope_from_grants(False, [(row.packs, row.actions)], "none").allows(action_ref)
    ]
    may = Q(is_staff=True) | Q(is_superuser=True) | Q(groups__in=granting)
    if settings.ST2_DEFAULT_ACCESS == "all":
        may |= Q(groups__isnull=True)
    return users.filter(may, is_active=True).distinct()


def find_user_access(caller, username):
    access.find_user(caller, username)  # NotFound for others' and missing users alike
    return describe_users(visible_users(caller, username=username))[0]


def describe_users(users):
    """A UserAccess of each user (loaded by visible_users), deciding as teams.allowed_scope."""
    return [_user_access(user) for user in users]


def _user_access(user):
    is_admin = user.is_staff or user.is_superuser
    groups = list(user.groups.all())
    scope = teams.scope_from_grants(
        is_admin, [grants_of(group) for group in groups], settings.ST2_DEFAULT_ACCESS
    )
    packs, actions, templates = [], [], []
    if not user.is_active:
        everything, reason = False, "disabled"
    elif scope == teams.ALL:
        everything, reason = True, "admin" if is_admin else "default_all"
    else:
        everything = False
        packs, actions = sorted(scope.packs), sorted(scope.actions)
        templates = sorted(scope.templates)
        reason = "teams" if scope.in_team else "default_none"
    names = [group.name for group in groups]
    return UserAccess(
        user.username, user.is_active, is_admin, names, everything, packs, actions, templates,
        reason,
    )  # fmt: skip


# --- finding what to grant ------------------------------------------------------------------


class Grantable(NamedTuple):
    kind: str  # "pack" | "action" | "template"
    ref: str
    description: str


def grantable_to_api(grantable):
    return grantable._asdict()


class CatalogMatches:
    """Packs, then actions, matching a search: counted and sliced by the database, as a
    queryset is, so the API's paging reads one page whatever the size of the catalog."""

    def __init__(self, parts):
        self.parts = parts  # [(kind, queryset of (ref, description))]
        self._sizes = None

    def sizes(self):
        if self._sizes is None:
            self._sizes = [rows.count() for _, rows in self.parts]
        return self._sizes

    def count(self):
        return sum(self.sizes())

    def __getitem__(self, window):
        """The matches in `window` (a slice of the packs followed by the actions)."""
        start, stop = window.start or 0, window.stop
        found = []
        for (kind, rows), size in zip(self.parts, self.sizes(), strict=True):
            end = size if stop is None else min(stop, size)
            if start < end:
                found += [Grantable(kind, ref, _text(text)) for ref, text in rows[start:end]]
            start = max(0, start - size)
            stop = None if stop is None else stop - size
        return found


def _text(value):
    return value if isinstance(value, str) else ""


def search_catalog(caller, query="", kind=""):
    """Packs and actions whose ref, name or description hold every word of `query`, for an
    admin choosing what to grant (`kind` "pack", "action" or "template" keeps one kind);
    launch templates by ref or name."""
    _refuse_non_admin(caller)
    if kind not in ("", "pack", "action", "template"):
        raise InvalidInput('kind: must be "pack", "action" or "template".')
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"q: at most {MAX_QUERY_LENGTH} characters.")
    words = query.split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"q: at most {MAX_QUERY_WORDS} words.")
    packs = Pack.objects.order_by("ref")
    actions = Action.objects.order_by("ref")
    templates = LaunchTemplate.objects.order_by("ref")
    for word in words:
        templates = templates.filter(Q(ref__icontains=word) | Q(action_ref__icontains=word))
        packs = packs.filter(
            Q(ref__icontains=word)
            | Q(name__icontains=word)
            | Q(metadata__description__icontains=word)
        )
        actions = actions.filter(Q(ref__icontains=word) | Q(description__icontains=word))
    parts = [
        ("pack", packs.values_list("ref", "metadata__description")),
        ("action", actions.values_list("ref", "description")),
        ("template", templates.values_list("ref", "action_ref")),
    ]
    return CatalogMatches([(name, rows) for name, rows in parts if kind in ("", name)])
