"""Teams: which actions a user may see and run (issue 5, item 7).

A team is a Django group; its TeamAccess row grants whole packs and single actions (a group
without one grants nothing). Staff and superusers see and run everything. A user in no group
gets settings.ST2_DEFAULT_ACCESS: `all` (StackStorm without RBAC) or `none`. A user in one or
more groups gets the union of their groups' grants, a pack grant covering every action of the
pack; so with the default `all`, joining a team narrows what a user sees.

How it is applied: what is outside the scope is not there for reading (st2bridge.access:
lists filtered, a named action or pack "not found", the same answer as for a missing one);
running it (launch, re-run, a rule naming it, a rule firing for an owner who lost it) is
refused here with 403 naming the action, decided from the ref before the action is looked up,
so a refusal says nothing of what exists.

Runner parameters that change how an action's process starts, or where its requests go
(RESTRICTED_RUNNER_PARAMETERS), may be set only by staff (issue 12): a member who sends one
is refused with 403 naming it, when launching, re-running, saving a rule, and when a rule of a
member fires. The action's own metadata (a default, `immutable`) fixes them for everyone.

The scope costs one query per user and is kept on the user object, which the API loads anew
for each request: so it is computed at most once per request and never outlives one, and a
change to a team (st2bridge/team_admin.py, behind /api/v1/teams and the portal's Teams pages)
applies from the next request on.
"""

from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model

from .constants import SYSTEM_USER
from .errors import AccessDenied, InvalidInput
from .params import cast_value

ALL = "all"  # the scope of admins, and of users in no team while ST2_DEFAULT_ACCESS is `all`
_CACHE = "_st2_team_scope"


class Scope(NamedTuple):
    """What a user who is not an admin may see and run."""

    packs: frozenset
    actions: frozenset
    in_team: bool = True  # False: the ST2_DEFAULT_ACCESS=none scope of a user in no team
    disabled: bool = False  # True: a deactivated user (whose rules must no longer run)
    # Launch templates granted (issue 18): each may be run as its template says, and grants
    # nothing on its action (allows() does not look here).
    templates: frozenset = frozenset()

    def allows(self, action_ref):
        return pack_of(action_ref) in self.packs or action_ref in self.actions

    def allows_template(self, template_ref):
        return template_ref in self.templates

    def pack_refs(self):
        """Packs with something visible: granted whole, or holding a granted action."""
        return self.packs | {pack_of(ref) for ref in self.actions}


DISABLED = Scope(frozenset(), frozenset(), in_team=False, disabled=True)


def pack_of(action_ref):
    return action_ref.split(".", 1)[0]


# --- deciding (pure) ------------------------------------------------------------------------


def scope_from_grants(is_admin, grants, default_access):
    """ALL or a Scope, from the (packs, actions[, templates]) of each of the user's groups
    (Nones for a group without a TeamAccess row) and ST2_DEFAULT_ACCESS."""
    if is_admin:
        return ALL
    if not grants:
        return ALL if default_access == "all" else Scope(frozenset(), frozenset(), False)
    packs, actions, templates = set(), set(), set()
    for pack_refs, action_refs, *template_refs in grants:
        packs.update(granted_refs(pack_refs))
        actions.update(granted_refs(action_refs))
        templates.update(granted_refs(template_refs[0] if template_refs else None))
    return Scope(frozenset(packs), frozenset(actions), templates=frozenset(templates))


def granted_refs(values):
    """The refs of a grant list; anything else stored there (None, a non-list) grants nothing."""
    return [value for value in values if isinstance(value, str)] if isinstance(values, list) else []


def refusal(scope, username, action_ref):
    """The 403 for running `action_ref`, or None when `scope` allows it."""
    if scope == ALL or scope.allows(action_ref):
        return None
    why = "no team of theirs grants it" if scope.in_team else "they are in no team"
    if scope.disabled:
        why = "the user is disabled"
    return AccessDenied(f'User "{username}" may not run action "{action_ref}": {why}.')


# --- for a user (the API's callers) ---------------------------------------------------------


def allowed_scope(user):
    """ALL or the Scope of `user` (a Django user), computed once per user object."""
    scope = getattr(user, _CACHE, None)
    if scope is None:
        is_admin = user.is_staff or user.is_superuser
        grants = [] if is_admin else _grants(user)
        scope = scope_from_grants(is_admin, grants, settings.ST2_DEFAULT_ACCESS)
        setattr(user, _CACHE, scope)
    return scope


def _grants(user):
    """One query: (packs, actions, templates) of each group of the user (Nones without a
    row)."""
    return list(user.groups.values_list("access__packs", "access__actions", "access__templates"))


def check_may_run(user, action_ref):
    """Raise AccessDenied (403, naming the action) unless `user` may run `action_ref`."""
    check_scope(allowed_scope(user), user.username, action_ref)


def check_scope(scope, username, action_ref):
    error = refusal(scope, username, action_ref)
    if error is not None:
        raise error


# --- runner parameters only staff may set ---------------------------------------------------

# Runner parameters that change how an action's process starts or where its requests go, and
# why. Staff may set them; others may not (403), unless settings.ST2_RESTRICT_RUNNER_PARAMETERS
# is false (StackStorm lets anyone who may run an action set them). Only runner parameters
# count: an action's own parameter that happens to be called `env` is the action's business.
RESTRICTED_RUNNER_PARAMETERS = {
    "env": "it sets variables in the action's process environment",
    "cwd": "it chooses the directory the action's process starts in",
    "sudo": "it runs the action's process as root",
    "sudo_password": "it is the password given to sudo",
    "kwarg_op": "it changes how arguments are written on the action's command line",
    "content_version": "it chooses which version of the pack's code runs",
    "http_proxy": "it sends the action's HTTP requests through another host",
    "https_proxy": "it sends the action's HTTPS requests through another host",
    "url_hosts_blacklist": "it changes which hosts the action's HTTP requests may reach",
    "url_hosts_whitelist": "it changes which hosts the action's HTTP requests may reach",
}


def staff_only_parameters(runner_parameters, merged, given):
    """The names in `given` that only staff may set: restricted parameters of the action's
    runner type (`runner_parameters`) given a value other than the action's default (a value
    the action's metadata gives anyway changes nothing: forms send defaults back). Immutable
    ones are left to params.check_overrides: nobody may set them (400)."""
    if not settings.ST2_RESTRICT_RUNNER_PARAMETERS:
        return []
    return sorted(
        name
        for name, value in (given or {}).items()
        if name in RESTRICTED_RUNNER_PARAMETERS
        and name in (runner_parameters or {})
        and not (merged.get(name) or {}).get("immutable")
        and not _is_default(merged.get(name) or {}, name, value)
    )


def _is_default(spec, name, value):
    try:
        value = cast_value(name, spec, value)
    except InvalidInput:
        return False
    return value == spec.get("default")


def check_runner_parameters(is_staff, runner_parameters, merged, given, where=""):
    """Raise AccessDenied (403) naming the first parameter of `given` that only staff may
    set, unless `is_staff`. `where` prefixes the message ("action.parameters: " for rules)."""
    if is_staff:
        return
    names = staff_only_parameters(runner_parameters, merged, given)
    if names:
        name = names[0]
        raise AccessDenied(
            f'{where}{name}: only staff may set the runner parameter "{name}": '
            f"{RESTRICTED_RUNNER_PARAMETERS[name]}."
        )


# --- for rule owners (usernames, in the rule engine) ----------------------------------------


class Owner(NamedTuple):
    """What the rule engine needs to know of a rule's owner."""

    scope: object  # ALL or a Scope
    is_staff: bool


def owners_by_username(usernames):
    """{username: Owner} in one query. A deactivated user may run nothing (their rules fail
    their enforcements, saying so). An unknown user is treated as in no team, except the
    system user of pack rules (registered by admins), who may run everything as staff."""
    rows = _owner_rows(sorted(usernames))
    found, disabled = {}, set()
    for username, is_active, staff, superuser, group_id, packs, actions in rows:
        is_admin, grants = found.setdefault(username, (staff or superuser, []))
        if group_id is not None:
            grants.append((packs, actions))
        if not is_active:
            disabled.add(username)
    owners = {
        username: Owner(
            DISABLED
            if username in disabled
            else scope_from_grants(is_admin, grants, settings.ST2_DEFAULT_ACCESS),
            is_admin and username not in disabled,
        )
        for username, (is_admin, grants) in found.items()
    }
    for username in usernames:
        if username not in owners:
            unknown_admin = username == SYSTEM_USER
            scope = scope_from_grants(unknown_admin, [], settings.ST2_DEFAULT_ACCESS)
            owners[username] = Owner(scope, unknown_admin)
    return owners


def scopes_by_username(usernames):
    """{username: ALL or Scope} (owners_by_username without staff status)."""
    return {name: owner.scope for name, owner in owners_by_username(usernames).items()}


def _owner_rows(usernames):
    """(username, is_active, is_staff, is_superuser, group id, packs, actions) per group of
    each user (group fields None for a user in no group): one query, the groups and their
    TeamAccess rows outer-joined."""
    users = get_user_model().objects.filter(username__in=usernames)
    return users.values_list(
        "username", "is_active", "is_staff", "is_superuser",
        "groups", "groups__access__packs", "groups__access__actions",
    )  # fmt: skip
