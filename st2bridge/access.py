"""Who may see and change what: the one place every list and detail goes through, in API views
and services alike (issue 13; GUIDE §3 ex. 12, after NetBox's RestrictedQuerySet.restrict).
What a team grants is decided in st2bridge.teams (scopes, and who may run an action); this
module applies it. `caller` is an st2bridge.auth.Caller: staff and superusers are admins.

Seeing. `visible_<area>(caller, rows=None)` narrows a queryset (default: every row of the
area) to what the caller sees; `find_<area>(caller, key)` is one row of that or NotFound, the
same answer whether the row is missing or hidden, so a refusal says nothing of what exists.
Admins see everything. Others see:
- packs and actions: what their teams grant (a pack where they see an action, a whole pack);
- sensor types: those of the packs they see;
- rules: their own (which they may still switch off or delete when their action is no longer
  granted), and rules whose action they see;
- executions, their output, stream events and counts (issue 16): their own;
- trigger instances (issue 12): one they posted (`posted_by`: a webhook's poster, the user of
  the execution behind an actiontrigger, the staff member who re-emitted it, the owner of
  an expiring key, the user of a failed template execution), or one that enforced a rule
  of theirs, except an actiontrigger instance: it carries an execution's parameters and
  result, so only that execution's user reads it, whoever's rule it enforced. Which rules
  an instance may enforce at all: rule_may_see_instance (the server's own events concern
  only the users they name);
- rule enforcements: of a rule of theirs, or whose execution they see;
- action aliases and policies: those of actions they see;
- launch templates (issue 18): those their teams grant;
- webhooks (core.st2.webhook triggers): those a rule of theirs uses, in /webhooks and in
  /triggers alike; other triggers, trigger types and runner types: all (their parameters are
  schedules and schemas);
- API keys: their own. (Datastore items: st2bridge.datastore, by scope and owner.)
- teams (issue 14): the teams they are in; users (what each may run): themselves.
Each rule is one filter with subqueries, so a page of rows costs the same few queries.

Changing. require_admin, require_owner and require_may_re_emit refuse with 403 (services
call them before they change anything); refuse_system_pack with 400.
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q

from . import teams
from .constants import ACTION_TRIGGER, INTERNAL_TRIGGER_PREFIX, SERVER_EVENTS
from .errors import AccessDenied, InvalidInput, NotFound
from .models import (
    Action,
    ActionAlias,
    ApiKey,
    AuditRecord,
    Execution,
    ExecutionCount,
    LaunchTemplate,
    Pack,
    Policy,
    Rule,
    RuleEnforcement,
    RunnerType,
    SensorType,
    StreamEvent,
    Trigger,
    TriggerInstance,
    TriggerType,
)
from .records import by_ref_or_id
from .triggers import WEBHOOK

SYSTEM_PACKS = {"core", "packs", "linux", "chatops"}
TEAM_ID = re.compile(r"[0-9]{1,18}")  # a team's id: digits that fit the database's integers


# --- changing -------------------------------------------------------------------------------


def require_admin(caller, permission=None, *, refusal=None):
    """Raise AccessDenied (403) unless `caller` is an admin. The answer is `refusal` when
    given, else StackStorm's for a missing RBAC `permission` ("action_create")."""
    if caller.is_admin:
        return
    raise AccessDenied(
        refusal or f'User "{caller.username}" doesn\'t have required permission "{permission}"'
    )


def require_owner(caller, owner, thing):
    """Raise AccessDenied (403) unless `caller` is `owner` (a username) or an admin; `thing`
    names what they may not change ('rule "demo.r"')."""
    if caller.is_admin or caller.username == owner:
        return
    raise AccessDenied(f'User "{caller.username}" may not change {thing}.')


def require_may_re_emit(caller):
    """Re-emitting runs every rule of the trigger again, as their owners: admins only.
    Checked before the instance is looked up: a member learns nothing of the id."""
    require_admin(
        caller,
        refusal=f'User "{caller.username}" may not re-emit trigger instances: administrator '
        "access is required.",
    )


def require_may_post(caller, trigger_type):
    """The server's own events (SERVER_EVENTS, and StackStorm's internal trigger types,
    core.st2.*: action triggers, datastore changes, timers, ...) are the server's to emit: a
    member posting one to /webhooks/st2 would forge a key's expiry, a grant or an execution's
    end for others' rules, which may run as staff. Staff may (to try their rules); the
    instance then concerns nobody else (no audience)."""
    if trigger_type.startswith(INTERNAL_TRIGGER_PREFIX):
        require_admin(
            caller,
            refusal=f'User "{caller.username}" may not post trigger "{trigger_type}": the '
            "server emits it.",
        )


def refuse_system_pack(pack):
    """Nobody changes the content of a system pack through the API (400, as StackStorm)."""
    if pack in SYSTEM_PACKS:
        raise InvalidInput("Resources belonging to system level packs can't be manipulated")


def may_see_secrets(caller):
    """Unmasked secret parameters (?show_secrets=true) are for admins only."""
    return caller.is_admin


# --- the catalog ----------------------------------------------------------------------------


def visible_packs(caller, packs=None):
    """Packs where the caller's teams let them see something."""
    packs = Pack.objects.all() if packs is None else packs
    scope = teams.allowed_scope(caller.user)
    return packs if scope == teams.ALL else packs.filter(ref__in=scope.pack_refs())


def find_pack(caller, ref_or_id):
    return by_ref_or_id(
        visible_packs(caller), ref_or_id, f'Resource with a ref or id "{ref_or_id}" not found'
    )


def visible_actions(caller, actions=None):
    """Actions the caller's teams grant, whole packs or one by one."""
    actions = Action.objects.all() if actions is None else actions
    scope = teams.allowed_scope(caller.user)
    if scope == teams.ALL:
        return actions
    return actions.filter(Q(pack__in=scope.packs) | Q(ref__in=scope.actions))


def find_action(caller, ref_or_id, message=None):
    """A visible action by ref or id; `message` replaces the usual 404 answer."""
    return by_ref_or_id(visible_actions(caller), ref_or_id, message)


def visible_runner_types(caller, runners=None):
    """Every runner type: everyone sees them."""
    return RunnerType.objects.all() if runners is None else runners


def find_runner_type(caller, name_or_id):
    message = f'Resource with a name or id "{name_or_id}" not found'
    return by_ref_or_id(visible_runner_types(caller), name_or_id, message, ref_field="name")


def visible_sensor_types(caller, sensor_types=None):
    """Sensor types of the packs the caller sees."""
    sensor_types = SensorType.objects.all() if sensor_types is None else sensor_types
    scope = teams.allowed_scope(caller.user)
    return sensor_types if scope == teams.ALL else sensor_types.filter(pack__in=scope.pack_refs())


def find_sensor_type(caller, ref_or_id):
    return by_ref_or_id(visible_sensor_types(caller), ref_or_id)


# --- rules ----------------------------------------------------------------------------------


def visible_rules(caller, rules=None):
    """The caller's own rules, and rules whose action they see."""
    rules = Rule.objects.all() if rules is None else rules
    scope = teams.allowed_scope(caller.user)
    if scope == teams.ALL:
        return rules
    return rules.filter(Q(created_by=caller.username) | _granted_actions(scope, "action_ref"))


def _granted_actions(scope, field):
    """Rows whose `field` names an action the Scope grants (whole packs or one by one)."""
    granted = Q(**{f"{field}__in": scope.actions})
    for pack in scope.packs:
        granted |= Q(**{f"{field}__startswith": f"{pack}."})
    return granted


def find_rule(caller, ref_or_id):
    return by_ref_or_id(visible_rules(caller), ref_or_id)


# --- action aliases and policies (of actions) ----------------------------------------------


def visible_aliases(caller, aliases=None):
    """Action aliases whose action the caller sees."""
    aliases = ActionAlias.objects.all() if aliases is None else aliases
    scope = teams.allowed_scope(caller.user)
    return aliases if scope == teams.ALL else aliases.filter(_granted_actions(scope, "action_ref"))


def find_alias(caller, ref_or_id):
    return by_ref_or_id(visible_aliases(caller), ref_or_id)


def visible_policies(caller, policies=None):
    """Policies of actions the caller sees (a policy's resource is an action)."""
    policies = Policy.objects.all() if policies is None else policies
    scope = teams.allowed_scope(caller.user)
    if scope == teams.ALL:
        return policies
    return policies.filter(_granted_actions(scope, "resource_ref"))


def find_policy(caller, ref_or_id):
    return by_ref_or_id(visible_policies(caller), ref_or_id)


# --- launch templates (issue 18) -------------------------------------------------------------


def visible_templates(caller, templates=None):
    """Launch templates the caller's teams grant (by ref); a template grants nothing on its
    action, which stays hidden unless granted itself."""
    templates = LaunchTemplate.objects.all() if templates is None else templates
    scope = teams.allowed_scope(caller.user)
    return templates if scope == teams.ALL else templates.filter(ref__in=scope.templates)


def find_template(caller, ref_or_id):
    return by_ref_or_id(
        visible_templates(caller), ref_or_id, f'Launch template "{ref_or_id}" not found'
    )


# --- executions and their events ------------------------------------------------------------


def visible_executions(caller, executions=None):
    """The caller's own executions."""
    executions = Execution.objects.all() if executions is None else executions
    return executions if caller.is_admin else executions.filter(user=caller.username)


def sees_all_executions(caller):
    """Whether visible_executions() is every execution (the executions counted per hour are
    counted for everyone at once, so only such a caller may page by them)."""
    return caller.is_admin


def visible_execution_counts(caller, counts=None):
    """The counts (st2bridge.execution_counts) of the caller's own executions."""
    counts = ExecutionCount.objects.all() if counts is None else counts
    return counts if caller.is_admin else counts.filter(user=caller.username)


def find_execution(caller, execution_id):
    """A visible execution by id, or the latest one for "last"."""
    executions = visible_executions(caller)
    found = (
        executions.order_by("-start_timestamp").first()
        if execution_id == "last"
        else executions.filter(pk=execution_id).first()
    )
    if found is None:
        raise NotFound(f'Unable to identify resource with id "{execution_id}".')
    return found


def visible_stream_events(caller, events=None):
    """Stream events of the caller's own executions (each event names its user)."""
    events = StreamEvent.objects.all() if events is None else events
    return events if caller.is_admin else events.filter(user=caller.username)


def may_see_stream_event(caller, event):
    """visible_stream_events() for one event already read (the streams' shared poller reads
    every new event once for all the streams of a process): the same rule."""
    return caller.is_admin or event.user == caller.username


# --- triggers, trigger instances, enforcements ----------------------------------------------


def visible_trigger_types(caller, trigger_types=None):
    """Every trigger type: everyone sees them."""
    return TriggerType.objects.all() if trigger_types is None else trigger_types


def find_trigger_type(caller, ref_or_id):
    return by_ref_or_id(visible_trigger_types(caller), ref_or_id)


def visible_triggers(caller, triggers=None):
    """Triggers, without the webhooks no rule of the caller uses."""
    triggers = Trigger.objects.all() if triggers is None else triggers
    if caller.is_admin:
        return triggers
    theirs = Rule.objects.filter(created_by=caller.username).order_by().values("trigger_ref")
    return triggers.filter(~Q(type=WEBHOOK) | Q(ref__in=theirs))


def find_trigger(caller, ref_or_id):
    return by_ref_or_id(visible_triggers(caller), ref_or_id)


def visible_webhooks(caller, webhooks=None):
    """The webhooks (default: every webhook trigger) that rules of the caller use."""
    webhooks = Trigger.objects.filter(type=WEBHOOK) if webhooks is None else webhooks
    return visible_triggers(caller, webhooks)


def visible_trigger_instances(caller, instances=None):
    """Instances the caller posted, or that enforced a rule of theirs (not actiontriggers)."""
    instances = TriggerInstance.objects.all() if instances is None else instances
    if caller.is_admin:
        return instances
    enforced_theirs = RuleEnforcement.objects.filter(rule_owner=caller.username)
    return instances.filter(
        Q(posted_by=caller.username)
        | (
            Q(pk__in=enforced_theirs.values("trigger_instance_id"))
            & ~Q(trigger_type=ACTION_TRIGGER)
        )
    )


def rule_may_see_instance(owner, owner_is_staff, instance):
    """Whether a rule of `owner` (a username) may match, and so read, trigger instance
    `instance`. Staff's rules see every instance. An actiontrigger carries an execution's
    parameters and result: only its user's rules see it (a member's rule never copies
    another's result). The server's own events (SERVER_EVENTS) concern some users only (a
    key's owner, a template execution's user, a team's members when its grant changed):
    their instance names them in its context (`audience`), and only their rules see it, so
    a member learns nothing of others' keys, executions or teams through a rule."""
    if owner_is_staff:
        return True
    if instance.trigger_type == ACTION_TRIGGER:
        return owner == instance.posted_by
    if instance.trigger_type in SERVER_EVENTS:
        return owner in (instance.context or {}).get("audience", ())
    return True


def find_trigger_instance(caller, instance_id):
    found = visible_trigger_instances(caller).filter(pk=instance_id).first()
    if found is None:
        raise NotFound(f'Trigger instance with id "{instance_id}" not found')
    return found


def visible_enforcements(caller, enforcements=None):
    """Enforcements of the caller's rules, and those whose execution they see."""
    enforcements = RuleEnforcement.objects.all() if enforcements is None else enforcements
    if caller.is_admin:
        return enforcements
    return enforcements.filter(
        Q(rule_owner=caller.username)
        | Q(execution_id__in=visible_executions(caller).order_by().values("id"))
    )


def find_enforcement(caller, enforcement_id):
    found = visible_enforcements(caller).filter(pk=enforcement_id).first()
    if found is None:
        raise NotFound(f'Rule enforcement with id "{enforcement_id}" not found')
    return found


# --- API keys -------------------------------------------------------------------------------


def visible_api_keys(caller, keys=None):
    """The caller's own API keys (with their users loaded)."""
    keys = ApiKey.objects.select_related("user") if keys is None else keys
    return keys if caller.is_admin else keys.filter(user=caller.user)


# --- teams and users ------------------------------------------------------------------------


def visible_teams(caller, groups=None):
    """Teams (Django groups) the caller is in; admins see every team."""
    groups = Group.objects.all() if groups is None else groups
    return groups if caller.is_admin else groups.filter(user=caller.user)


def find_team(caller, id_or_name):
    """A visible team by id (all digits) or else by name; the same 404 for a missing one."""
    teams = visible_teams(caller)
    found = None
    if TEAM_ID.fullmatch(id_or_name):
        found = teams.filter(pk=int(id_or_name)).first()
    if found is None:
        found = teams.filter(name=id_or_name).first()
    if found is None:
        raise NotFound(f'Team "{id_or_name}" not found')
    return found


def visible_users(caller, users=None):
    """Users whose access the caller may read: themselves; admins, everyone."""
    users = get_user_model().objects.all() if users is None else users
    return users if caller.is_admin else users.filter(pk=caller.user.pk)


def find_user(caller, username):
    found = visible_users(caller).filter(username=username).first()
    if found is None:
        raise NotFound(f'User "{username}" not found')
    return found


def visible_audit_records(caller):
    """The audit log (st2bridge.audit): administrators only, every record."""
    require_admin(caller, refusal="Only administrators may read the audit log.")
    return AuditRecord.objects.all()
