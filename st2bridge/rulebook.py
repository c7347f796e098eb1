"""Rules: create, change, delete and show them (notes §5.1-5.3). Who may do what is decided
here: everyone may create rules, which run their action as the rule's owner, naming only
actions their teams let them run (st2bridge.teams); only the owner or an admin may change or
delete a rule."""

from django.db import IntegrityError, transaction

from . import catalog, params, teams, triggers
from .bodies import check_body
from .errors import AccessDenied, Conflict, InvalidInput, NotFound
from .formats import without_nulls
from .models import Action, Rule, TriggerType
from .rules.criteria import check_criteria

SYSTEM_USER = "stanley"  # who runs the actions of rules registered from pack directories
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


def find_rule(ref_or_id):
    lookup = {"ref": ref_or_id} if "." in ref_or_id else {"pk": ref_or_id}
    rule = Rule.objects.filter(**lookup).first()
    if rule is None:
        raise NotFound(f'Resource with a reference or id "{ref_or_id}" not found')
    return rule


def to_api(rule, unmasked=False, merged=None):
    """StackStorm's rule object; secret action parameters masked unless `unmasked`."""
    action_parameters = rule.action_parameters
    if not unmasked:
        action_parameters = params.mask_secrets(action_parameters, merged or {})
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


def merged_parameters_by_action(rules):
    """{action ref: merged parameter schema} for the actions of `rules`, in two queries."""
    actions = Action.objects.filter(ref__in={rule.action_ref for rule in rules})
    merged = catalog.merged_parameters_for(list(actions))
    by_id = {action.id: action.ref for action in actions}
    return {by_id[action_id]: schema for action_id, schema in merged.items()}


# --- writing -------------------------------------------------------------------------------


def create_rule(caller, body):
    _check_may_run(caller, body)
    fields = checked_fields(body)
    rule = Rule(**fields, created_by=caller.username, context={"user": caller.username})
    return _save_new(rule)


def save_rule_from_disk(pack, body, metadata_file):
    """Register a rule from a pack directory (rules/*.yaml): create, or update in place."""
    body = {**body, "pack": pack}
    existing = Rule.objects.filter(ref=f"{pack}.{body.get('name')}").first()
    if existing is not None:
        return _update(existing, {**body, "metadata_file": metadata_file}, strict=False)
    fields = checked_fields({**body, "metadata_file": metadata_file}, strict=False)
    rule = Rule(**fields, created_by=SYSTEM_USER, context={"user": SYSTEM_USER})
    rule.enabled = body.get("enabled", True)  # a pack's rules are on unless they say otherwise
    return _save_new(rule)


def update_rule(caller, rule, body):
    _require_owner(caller, rule)
    _check_may_run(caller, body, rule)
    return _update(rule, body)


def delete_rule(caller, rule):
    _require_owner(caller, rule)
    with transaction.atomic():
        rule.delete()
        triggers.release_trigger(rule.trigger_ref)


def set_enabled(caller, rule, enabled):
    _require_owner(caller, rule)
    Rule.objects.filter(pk=rule.pk).update(enabled=enabled)
    rule.refresh_from_db()
    return rule


def _check_may_run(caller, body, rule=None):
    """403 when the rule would name an action the caller may not run, checked before the
    action is looked up (a refusal says nothing of what exists). A rule whose action its
    owner can no longer run may still be saved switched off, its action unchanged."""
    check_body(body, RULE_SCHEMA)
    action_ref = body["action"]["ref"]
    if rule is not None and action_ref == rule.action_ref and not body.get("enabled", False):
        return
    teams.check_may_run(caller.user, action_ref)


def _require_owner(caller, rule):
    if caller.is_admin or rule.created_by == caller.username:
        return
    raise AccessDenied(f'User "{caller.username}" may not change rule "{rule.ref}".')


def _update(rule, body, strict=True):
    fields = checked_fields(body, strict)
    _keep_masked_secrets(rule, fields)
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
        _save(rule)
    return rule


def _keep_masked_secrets(rule, fields):
    """A body read back from GET (`st2 rule enable`) holds ******** for secret action
    parameters: keep the stored value instead of saving the mask."""
    if fields["action_ref"] != rule.action_ref:
        return
    merged = merged_parameters_by_action([rule]).get(rule.action_ref, {})
    given, stored = fields["action_parameters"], rule.action_parameters or {}
    for name, value in given.items():
        if value == params.MASK and name in stored and merged.get(name, {}).get("secret"):
            given[name] = stored[name]


def _save_new(rule):
    with transaction.atomic():
        rule.trigger_ref = _acquire(rule.trigger_type, rule.trigger_parameters)
        _save(rule)
    return rule


def _acquire(type_ref, parameters):
    """The trigger ref a rule uses. A pack's rule may name a trigger type that is not
    registered (yet): it points at the type's ref and fires once such a trigger exists."""

    if not TriggerType.objects.filter(ref=type_ref).exists():
        return type_ref
    return triggers.acquire_trigger(type_ref, parameters).ref


def _save(rule):
    duplicate = Rule.objects.filter(ref=rule.ref).exclude(pk=rule.pk).first()
    if duplicate is not None:
        raise Conflict(_duplicate_message(rule.ref), conflict_id=duplicate.id)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        existing = Rule.objects.filter(ref=rule.ref).values_list("id", flat=True).first()
        raise Conflict(_duplicate_message(rule.ref), conflict_id=existing) from None


def _duplicate_message(ref):
    return f"Tried to save duplicate unique keys (rule ref {ref} already exists)"


def checked_fields(body, strict=True):
    """Validate a rule body (schema, trigger type and parameters, criteria, action and its
    parameters) and return the model fields it sets. Rules of pack directories are not
    `strict`: like StackStorm, they may name a trigger type or action that is not there yet."""
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
    _check_action(action_ref, action_parameters, strict)
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


def _check_action(action_ref, values, strict):
    action = Action.objects.filter(ref=action_ref).first()
    if action is None and not strict:
        return
    if action is None:
        raise InvalidInput(f'action.ref: action "{action_ref}" does not exist.')
    merged = catalog.merged_parameters(action)
    try:
        params.check_rule_values(merged, values)
    except InvalidInput as error:
        raise InvalidInput(f"action.parameters: {error.message}") from None
