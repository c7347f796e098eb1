"""Triggers created, changed and deleted through the API (StackStorm's POST, PUT and DELETE
/triggers), by administrators: a trigger is what rules fire from, shared by every rule with
its type and parameters (st2bridge.triggers), so a member changes triggers only through their
rules. Reading them is st2bridge.access's.

As in StackStorm, POST is idempotent: a trigger of that type with those parameters (or the
type's own trigger, for a type without parameters) is answered again, 201 with its id.
Unlike StackStorm, a change cannot pull a trigger from under its rules: its type and ref (what
rules and trigger instances name) never change, its parameters change only while no rule
uses it, and it is deleted only when no rule uses it."""

import uuid

from django.db import IntegrityError, transaction

from . import access, triggers
from .bodies import check_body
from .errors import Conflict, InvalidInput
from .models import Rule, Trigger, TriggerType
from .records import refuse_duplicate

TRIGGER_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "id": {"type": ["string", "null"]},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\s]+$"},
        "pack": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "type": {"type": "string", "minLength": 1},
        "parameters": {"type": ["object", "null"]},
        "description": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def _refuse_non_admin(caller):
    access.require_admin(
        caller,
        refusal=f'User "{caller.username}" may not change triggers: administrator access is '
        "required (rules create the triggers they use).",
    )


def _trigger_type(body):
    check_body(body, TRIGGER_SCHEMA)
    trigger_type = TriggerType.objects.filter(ref=body["type"]).first()
    if trigger_type is None:
        raise InvalidInput(
            f'Trigger type with reference "{body["type"]}" doesn\'t exist in the database'
        )
    parameters = body.get("parameters") or {}
    if not trigger_type.parameters_schema and parameters:
        raise InvalidInput(f'parameters: trigger type "{trigger_type.ref}" takes no parameters.')
    if trigger_type.parameters_schema:
        triggers.check_trigger_parameters(trigger_type, parameters)
    return trigger_type, parameters


def create_trigger(caller, body):
    """POST /triggers: the trigger of this type and parameters, made if there is none."""
    _refuse_non_admin(caller)
    trigger_type, parameters = _trigger_type(body)
    digest = triggers.parameters_hash(parameters)
    existing = Trigger.objects.filter(type=trigger_type.ref, parameters_hash=digest).first()
    if existing is not None:
        return existing
    name = body.get("name") or str(uuid.uuid4())
    pack = body.get("pack") or trigger_type.pack
    trigger = Trigger(
        ref=f"{pack}.{name}",
        pack=pack,
        name=name,
        type=trigger_type.ref,
        parameters=parameters,
        parameters_hash=digest,
        description=body.get("description") or "",
    )
    return _save(trigger, force_insert=True)


def update_trigger(caller, trigger, body):
    """PUT /triggers/{ref_or_id}: a new description, or new parameters for a trigger no rule
    uses; its type and ref stay."""
    _refuse_non_admin(caller)
    trigger_type, parameters = _trigger_type(body)
    if trigger_type.ref != trigger.type:
        raise InvalidInput(f'type: a trigger\'s type cannot change (it is "{trigger.type}").')
    for field in ("name", "pack"):
        if body.get(field) not in (None, getattr(trigger, field)):
            raise InvalidInput(
                f"{field}: a trigger cannot be renamed (rules and trigger instances name it "
                f'"{trigger.ref}").'
            )
    if parameters != trigger.parameters:
        if trigger.ref_count > 0 or _used_by_rules(trigger):
            raise InvalidInput(
                "parameters: rules use this trigger; change their trigger parameters instead."
            )
        trigger.parameters = parameters
        trigger.parameters_hash = triggers.parameters_hash(parameters)
    trigger.description = body.get("description") or ""
    return _save(trigger)


def delete_trigger(caller, trigger):
    """DELETE /triggers/{ref_or_id}; refused while rules use it, and for the trigger of a type
    without parameters, which lives as long as its type."""
    _refuse_non_admin(caller)
    if trigger.ref == trigger.type:
        raise InvalidInput(
            f'Trigger "{trigger.ref}" belongs to its trigger type: delete the type instead.'
        )
    rule = _used_by_rules(trigger)
    if rule is not None:
        raise Conflict(
            f'Trigger "{trigger.ref}" is used by rule "{rule[1]}": delete the rule or change '
            "its trigger first.",
            conflict_id=rule[0],
        )
    trigger.delete()


def _used_by_rules(trigger):
    return Rule.objects.filter(trigger_ref=trigger.ref).values_list("id", "ref").first()


def _save(trigger, force_insert=False):
    """Save, or 409 naming the trigger that has this ref, or this type and parameters."""
    refuse_duplicate(trigger, f'Tried to save duplicate unique keys (trigger ref "{trigger.ref}")')
    try:
        with transaction.atomic():
            trigger.save(force_insert=force_insert)
    except IntegrityError:
        other = (
            Trigger.objects.filter(type=trigger.type, parameters_hash=trigger.parameters_hash)
            .exclude(pk=trigger.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if other is None:
            refuse_duplicate(trigger, f'Tried to save duplicate unique keys ("{trigger.ref}")')
            raise
        raise Conflict(
            "Tried to save duplicate unique keys (a trigger of this type with these "
            "parameters exists)",
            conflict_id=other,
        ) from None
    return trigger
