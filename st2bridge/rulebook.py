"""Rules: create, change, delete and show them (notes §5.1-5.3). Everyone may create rules,
which run their action as the rule's owner, naming only actions their teams let them run and
setting runner parameters only staff may set if they are staff (st2bridge.teams); only the
owner or an admin may change or delete a rule, and who sees which rule is st2bridge.access's.

Secret action parameter values (those the action's schema marks secret) are stored encrypted
in secret_action_parameters, as executions store theirs, and masked in action_parameters;
rules saved before that hold them in action_parameters, which still works."""

import json

from cryptography.fernet import InvalidToken
from django.db import transaction
from django.db.models import F

from . import access, audit, bodies, catalog, datastore, params, teams, triggers
from .bodies import check_body
from .constants import MASK, SYSTEM_USER
from .errors import AccessDenied, InvalidInput
from .formats import without_nulls
from .models import Action, Rule, RunnerType, Trigger, TriggerType
from .records import save_or_409
from .rules.criteria import check_criteria
from .runners.environment import check_env

RULE_SCHEMA = {
    "type": "object",
    "required": ["name", "trigger", "action"],
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/]+$"},
        "pack": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "description": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "trigger": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string"},
                "parameters": {"type": ["object", "null"]},
                "ref": {"type": "string"},
                "description": {"type": "string"},
            },
        },
        "criteria": {"type": ["object", "null"]},
        "action": {
            "type": "object",
            "required": ["ref"],
            "properties": {
                "ref": {"type": "string"},
                "parameters": {"type": ["object", "null"]},
                "description": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "type": {
            "type": "object",
            "properties": {
                "ref": {"enum": ["standard", "backstop"]},
                "parameters": {"type": "object"},
            },
        },
        "tags": {"type": "array"},
        "context": {"type": "object"},
        "metadata_file": {"type": "string"},
    },
    "additionalProperties": False,
}


# --- reading -------------------------------------------------------------------------------


def to_api(rule, unmasked=False, merged=None):
    """StackStorm's rule object; secret action parameters masked unless `unmasked`."""
    if unmasked:
        action_parameters = stored_values(rule.action_parameters, rule.secret_action_parameters)
    else:
        action_parameters = params.mask_secrets(rule.action_parameters, merged or {})
    return without_nulls(
        {
            "id": rule.id,
            "uid": f"rule:{rule.pack}:{rule.name}",
            "ref": rule.ref,
            "name": rule.name,
            "pack": rule.pack,
            "description": rule.description,
            "enabled": rule.enabled,
            "type": rule.type or {"ref": "standard", "parameters": {}},
            "trigger": {
                "type": rule.trigger_type,
                "parameters": rule.trigger_parameters,
                "ref": rule.trigger_ref,
            },
            "criteria": rule.criteria,
            "action": {"ref": rule.action_ref, "parameters": action_parameters},
            "tags": rule.tags,
            "context": rule.context,
            "metadata_file": rule.metadata_file,
        }
    )


def views_to_api(caller, rules, unmasked=False):
    """StackStorm's rule view (GET /rules/views): each rule as to_api shows it, its action
    and trigger each with a `description` (the action's, the trigger's or else its type's;
    "" when there is none, or the caller may not see the action), and its `warnings` as
    /rules has them. A few queries a page."""
    rules = list(rules)
    merged = merged_parameters_by_action(rules)
    warnings = reference_warnings(rules)
    visible = access.visible_actions(caller).filter(ref__in={rule.action_ref for rule in rules})
    of_actions = dict(visible.values_list("ref", "description"))
    refs = {rule.trigger_ref for rule in rules}
    of_triggers = dict(Trigger.objects.filter(ref__in=refs).values_list("ref", "description"))
    refs = {rule.trigger_type for rule in rules}
    of_types = dict(TriggerType.objects.filter(ref__in=refs).values_list("ref", "description"))
    views = []
    for rule in rules:
        data = to_api(rule, unmasked, merged.get(rule.action_ref))
        data["action"]["description"] = of_actions.get(rule.action_ref, "")
        described = of_triggers.get(rule.trigger_ref) or of_types.get(rule.trigger_type, "")
        data["trigger"]["description"] = described
        if rule in warnings:
            data["warnings"] = warnings[rule]
        views.append(data)
    return views


def merged_parameters_by_action(rules):
    """{action ref: merged parameter schema} for the actions of `rules`, in two queries."""
    actions = Action.objects.filter(ref__in={rule.action_ref for rule in rules})
    merged = catalog.merged_parameters_for(list(actions))
    by_id = {action.id: action.ref for action in actions}
    return {by_id[action_id]: schema for action_id, schema in merged.items()}


def stored_values(action_parameters, secret_action_parameters):
    """A rule's action parameter values with its secrets restored (decrypted)."""
    values = dict(action_parameters or {})
    if secret_action_parameters:
        try:
            values.update(json.loads(datastore.decrypt(secret_action_parameters)))
        except InvalidToken:
            raise InvalidInput(
                "The rule's secret action parameters cannot be decrypted with the datastore "
                "keys (ST2_DATASTORE_KEY)."
            ) from None
    return values


def sealed_values(values, merged):
    """(action_parameters, secret_action_parameters) to store: `values` with the secret ones
    masked, and the secret ones as encrypted JSON ("" when there are none)."""
    secret = {
        name: value for name, value in values.items() if (merged.get(name) or {}).get("secret")
    }
    public = {name: MASK if name in secret else value for name, value in values.items()}
    return public, datastore.encrypt(json.dumps(secret)) if secret else ""


# --- writing -------------------------------------------------------------------------------


def create_rule(caller, body):
    _check_may_run(caller, body)
    fields = checked_fields(body, staff=caller.is_admin)
    rule = Rule(**fields, created_by=caller.username, context={"user": caller.username})
    return _save_new(rule, staff=caller.is_admin, audited=(caller, None))


def save_rule_from_disk(pack, body, metadata_file):
    """Register a rule from a pack directory (rules/*.yaml): create, or update in place.
    Pack directories are installed by admins: their rules are checked as staff's. As in
    StackStorm, a rule is off unless its file says `enabled: true`."""
    body = {**body, "pack": pack}
    existing = Rule.objects.filter(ref=f"{pack}.{body.get('name')}").first()
    if existing is not None:
        return _update(existing, {**body, "metadata_file": metadata_file}, True, strict=False)
    fields = checked_fields({**body, "metadata_file": metadata_file}, strict=False, staff=True)
    rule = Rule(**fields, created_by=SYSTEM_USER, context={"user": SYSTEM_USER})
    return _save_new(rule, staff=True)


def without_null_optionals(body):
    """A rule file's body with its optional fields set to null left out, as StackStorm's
    RuleAPI takes them (bodies.without_null_optionals)."""
    return bodies.without_null_optionals(body, RULE_SCHEMA)


# --- rules whose trigger type or action is missing ------------------------------------------


def rules_from_packs():
    """The rules registered from pack directories."""
    return list(Rule.objects.exclude(metadata_file=""))


def reference_warnings(rules):
    """{rule: [warning, ...]} for those of `rules` whose trigger type or action is not
    registered (StackStorm registers them: they fire once it is, and a firing whose action
    is missing records a failed enforcement). Two queries whatever the number of rules."""
    types = set(
        TriggerType.objects.filter(ref__in={rule.trigger_type for rule in rules}).values_list(
            "ref", flat=True
        )
    )
    actions = set(
        Action.objects.filter(ref__in={rule.action_ref for rule in rules}).values_list(
            "ref", flat=True
        )
    )
    found = {}
    for rule in rules:
        texts = []
        if rule.trigger_type not in types:
            texts.append(
                f'trigger type "{rule.trigger_type}" is not registered: the rule cannot fire '
                "until a pack (or the API) registers it."
            )
        if rule.action_ref not in actions:
            texts.append(
                f'action "{rule.action_ref}" is not registered: when the rule fires, its '
                "enforcement fails."
            )
        if texts:
            found[rule] = texts
    return found


def bind_pending_triggers():
    """Point the pack rules registered before their trigger type was (their trigger_ref is
    the type's ref, a placeholder) at their trigger, now that the type takes parameters and
    is registered. Yields (rule, reason) for those whose parameters the type refuses."""
    pending = Rule.objects.filter(trigger_ref=F("trigger_type")).exclude(metadata_file="")
    with_parameters = set(
        TriggerType.objects.filter(ref__in=pending.values("trigger_type"))
        .exclude(parameters_schema={})
        .values_list("ref", flat=True)
    )
    for rule in pending.filter(trigger_type__in=with_parameters):
        try:
            with transaction.atomic():
                rule.trigger_ref = _acquire(rule.trigger_type, rule.trigger_parameters)
                rule.save(update_fields=["trigger_ref"])
        except InvalidInput as error:
            yield rule, error.message


def update_rule(caller, rule, body):
    access.require_owner(caller, rule.created_by, f'rule "{rule.ref}"')
    _check_may_run(caller, body, rule)
    return _update(rule, body, caller.is_admin, audited=(caller, _audit_views(rule)))


def delete_rule(caller, rule):
    access.require_owner(caller, rule.created_by, f'rule "{rule.ref}"')
    before = _audit_views(rule)
    with transaction.atomic():
        rule.delete()
        triggers.release_trigger(rule.trigger_ref)
        audit.record(caller, "rule.delete", "rule", rule.ref, audit.deleted(before[0]))


def _audit_views(rule):
    """(as shown, secrets masked; as stored, to tell which fields changed)."""
    merged = merged_parameters_by_action([rule]).get(rule.action_ref)
    return to_api(rule, merged=merged), to_api(rule, unmasked=True)


def _audited(rule, caller, before):
    """Record a rule's creation (`before` None) or change in the audit log."""
    after = _audit_views(rule)
    if before is None:
        audit.record(caller, "rule.create", "rule", rule.ref, audit.created(after[0]))
        return
    changes = audit.diff(before[0], after[0], before[1], after[1])
    verb = "update"
    if set(changes) == {"enabled"}:
        verb = "enable" if rule.enabled else "disable"
    audit.record(caller, f"rule.{verb}", "rule", rule.ref, changes)


def _check_may_run(caller, body, rule=None):
    """403 when the rule would name an action the caller may not run, checked before the
    action is looked up (a refusal says nothing of what exists). A rule whose action its
    owner can no longer run may still be saved switched off, its action unchanged."""
    check_body(body, RULE_SCHEMA)
    action_ref = body["action"]["ref"]
    if rule is not None and action_ref == rule.action_ref and not body.get("enabled", False):
        return
    teams.check_may_run(caller.user, action_ref)


def _update(rule, body, staff, strict=True, audited=None):
    """Change `rule` as `body` says; `audited`: (caller, _audit_views before) to record the
    change in the audit log, in the same transaction."""
    fields = checked_fields(body, strict, staff=staff, existing=rule)
    old_trigger = rule.trigger_ref
    with transaction.atomic():
        if (fields["trigger_type"], fields["trigger_parameters"]) != (
            rule.trigger_type,
            rule.trigger_parameters,
        ):
            fields["trigger_ref"] = _acquire(fields["trigger_type"], fields["trigger_parameters"])
            triggers.release_trigger(old_trigger)
        else:
            fields["trigger_ref"] = old_trigger
        for name, value in fields.items():
            setattr(rule, name, value)
        _refuse_shared_webhook(rule, staff)
        _save(rule)
        if audited is not None:
            _audited(rule, *audited)
    return rule


def _keep_masked_secrets(existing, action_ref, values, merged):
    """A body read back from GET (`st2 rule enable`) holds ******** for secret action
    parameters: `values` with the stored value instead of the mask."""
    if existing is None or action_ref != existing.action_ref:
        return values
    stored = stored_values(existing.action_parameters, existing.secret_action_parameters)
    return {
        name: stored[name]
        if value == MASK and name in stored and merged.get(name, {}).get("secret")
        else value
        for name, value in values.items()
    }


def _save_new(rule, staff, audited=None):
    with transaction.atomic():
        rule.trigger_ref = _acquire(rule.trigger_type, rule.trigger_parameters)
        _refuse_shared_webhook(rule, staff)
        _save(rule)
        if audited is not None:
            _audited(rule, *audited)
    return rule


def _refuse_shared_webhook(rule, staff):
    """403 when a member's webhook rule would share its url with someone else's rule: rules of
    one url share one trigger, so every post to it (body and headers) would reach both."""
    if staff or rule.trigger_type != triggers.WEBHOOK:
        return
    url = str((rule.trigger_parameters or {}).get("url", "")).strip("/")
    spellings = [url, f"/{url}", f"{url}/", f"/{url}/"]  # a post reaches each of them
    others = Rule.objects.filter(
        trigger_type=triggers.WEBHOOK, trigger_parameters__url__in=spellings
    ).exclude(pk=rule.pk)
    if others.exclude(created_by=rule.created_by).exists():
        raise AccessDenied(
            f'trigger.parameters.url: the webhook url "{url}" is used by another user\'s rule; '
            "choose another url."
        )


def _acquire(type_ref, parameters):
    """The trigger ref a rule uses. A pack's rule may name a trigger type that is not
    registered (yet): it points at the type's ref and fires once such a trigger exists."""

    if not TriggerType.objects.filter(ref=type_ref).exists():
        return type_ref
    return triggers.acquire_trigger(type_ref, parameters).ref


def _save(rule):
    """Save, answering 409 with the id of the rule that already has this ref."""
    save_or_409(rule, f"Tried to save duplicate unique keys (rule ref {rule.ref} already exists)")


def checked_fields(body, strict=True, *, staff, existing=None):
    """Validate a rule body (schema, trigger type and parameters, criteria, action and its
    parameters) and return the model fields it sets, secrets sealed. Rules of pack
    directories are not `strict`: like StackStorm, they may name a trigger type or action that
    is not there yet. `staff`: whether the caller may set runner parameters only staff may
    set. `existing`: the rule being replaced, whose secrets a masked value keeps."""
    check_body(body, RULE_SCHEMA)
    pack = body.get("pack") or "default"
    trigger_type = body["trigger"]["type"]
    trigger_parameters = body["trigger"].get("parameters") or {}
    _check_trigger(trigger_type, trigger_parameters, strict)
    criteria = body.get("criteria") or {}
    try:
        check_criteria(criteria)
    except ValueError as error:
        raise InvalidInput(str(error)) from None  # StackStorm's message names the field
    action_ref = body["action"]["ref"]
    action_parameters = body["action"].get("parameters") or {}
    merged = _check_action(action_ref, action_parameters, strict, staff) or {}
    values = _keep_masked_secrets(existing, action_ref, action_parameters, merged)
    action_parameters, secret_action_parameters = sealed_values(values, merged)
    return {
        "pack": pack,
        "name": body["name"],
        "ref": f"{pack}.{body['name']}",
        "description": body.get("description") or "",
        "enabled": body.get("enabled", False),
        "trigger_type": trigger_type,
        "trigger_parameters": trigger_parameters,
        "criteria": criteria,
        "action_ref": action_ref,
        "action_parameters": action_parameters,
        "secret_action_parameters": secret_action_parameters,
        "type": body.get("type") or {"ref": "standard", "parameters": {}},
        "tags": body.get("tags") or [],
        "metadata_file": body.get("metadata_file") or "",
    }


def _check_trigger(type_ref, parameters, strict):

    trigger_type = TriggerType.objects.filter(ref=type_ref).first()
    if trigger_type is None and not strict:
        return
    if trigger_type is None:
        raise InvalidInput(f'trigger.type: trigger type "{type_ref}" does not exist.')
    if trigger_type.parameters_schema:
        triggers.check_trigger_parameters(trigger_type, parameters)
    elif parameters:
        raise InvalidInput(f'trigger.parameters: trigger type "{type_ref}" takes no parameters.')


def _check_action(action_ref, values, strict, staff):
    """The merged parameter schema of the rule's action (None when a pack's rule names an
    action not registered yet), after checking the rule's values for it: runner parameters
    only staff may set (403), then names, types and a literal `env` (400)."""
    action = Action.objects.filter(ref=action_ref).first()
    if action is None and not strict:
        return None
    if action is None:
        raise InvalidInput(f'action.ref: action "{action_ref}" does not exist.')
    runner = RunnerType.objects.filter(name=action.runner_type).first()
    runner_parameters = runner.runner_parameters if runner else {}
    merged = params.merge_parameters(runner_parameters, action.parameters)
    where = "action.parameters: "
    teams.check_runner_parameters(staff, runner_parameters, merged, values, where)
    try:
        params.check_rule_values(merged, values)
        if "env" in (runner_parameters or {}) and isinstance(values.get("env"), dict):
            check_env(values["env"])  # its names are literal (only values are rendered)
    except InvalidInput as error:
        raise InvalidInput(f"{where}{error.message}") from None
    return merged
