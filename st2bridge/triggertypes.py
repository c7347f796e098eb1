"""Trigger types through the API (notes §6.1): created, replaced and deleted by admins,
outside the system packs; read by everyone (st2bridge.access). Registering the built-in types
and those of pack directories is st2bridge.triggers'."""

import re

import jsonschema
from django.db import transaction

from . import access, triggers
from .bodies import check_body
from .errors import Conflict, InvalidInput
from .formats import without_nulls
from .models import Rule, Trigger, TriggerType
from .params import to_json_schema
from .records import save_or_409

TRIGGER_TYPE_SCHEMA = {
    "type": "object",
    "required": ["name", "pack"],
    "properties": {
        "id": {"type": ["string", "null"]},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\s]+$"},
        "pack": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "description": {"type": ["string", "null"]},
        "payload_schema": {"type": "object"},
        "parameters_schema": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "object"}},
        "metadata_file": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def create_trigger_type(caller, body):
    """POST /triggertypes: 409 with the id of the type that has this ref already."""
    access.require_admin(caller, "trigger_type_create")
    fields = _checked_type_fields(body)
    access.refuse_system_pack(fields["pack"])
    duplicate = (
        f"Tried to save duplicate unique keys (trigger type ref {fields['ref']} already exists)"
    )
    with transaction.atomic():  # the type and its shadow trigger, or neither
        trigger_type = save_or_409(TriggerType(**fields), duplicate)
        triggers.keep_shadow(trigger_type)
    return trigger_type


def update_trigger_type(caller, trigger_type, body):
    """PUT /triggertypes/{ref_or_id}: a full replacement of a type outside the system packs.
    Unlike StackStorm, the ref stays (rules and triggers name it), and the new parameters
    schema must still accept the trigger parameters of every rule using the type."""
    access.require_admin(caller, "trigger_type_modify")
    access.refuse_system_pack(trigger_type.pack)
    fields = _checked_type_fields(body)
    if fields["ref"] != trigger_type.ref:
        raise InvalidInput(
            f'name, pack: a trigger type cannot be renamed ("{trigger_type.ref}" to '
            f'"{fields["ref"]}"); create the new one and move the rules to it.'
        )
    updated = TriggerType(id=trigger_type.id, **fields)
    _check_rules_still_fit(trigger_type, updated)
    with transaction.atomic():
        updated.save(force_update=True)
        if updated.parameters_schema:  # no rule uses the shadow trigger (checked above)
            Trigger.objects.filter(ref=updated.ref, type=updated.ref).delete()
        triggers.keep_shadow(updated)
    return updated


def delete_trigger_type(caller, trigger_type):
    """DELETE /triggertypes/{ref_or_id}: the type and its triggers (shadow included). Refused
    while rules use it: they would silently never fire again."""
    access.require_admin(caller, "trigger_type_delete")
    access.refuse_system_pack(trigger_type.pack)
    users = list(Rule.objects.filter(trigger_type=trigger_type.ref).values_list("id", "ref")[:6])
    if users:
        names = ", ".join(ref for _, ref in users[:5]) + (", ..." if len(users) > 5 else "")
        raise Conflict(
            f'Trigger type "{trigger_type.ref}" is used by rules ({names}): delete them or '
            "change their trigger first.",
            conflict_id=users[0][0],
        )
    with transaction.atomic():
        Trigger.objects.filter(type=trigger_type.ref).delete()
        trigger_type.delete()


def _checked_type_fields(body):
    check_body(body, TRIGGER_TYPE_SCHEMA)
    ref = f"{body['pack']}.{body['name']}"
    if body.get("ref") not in (None, ref):
        raise InvalidInput(f'ref: "{body["ref"]}" does not match pack and name ("{ref}").')
    fields = {
        "ref": ref,
        "pack": body["pack"],
        "name": body["name"],
        "description": body.get("description") or "",
        "payload_schema": body.get("payload_schema") or {},
        "parameters_schema": body.get("parameters_schema") or {},
        "tags": body.get("tags") or [],
        "metadata_file": body.get("metadata_file") or "",
    }
    for name in ("parameters_schema", "payload_schema"):
        _check_schema(name, fields[name])
    return fields


def _check_schema(name, schema):
    """A StackStorm schema (property-level `required: true` allowed) that is valid JSON
    Schema draft 4 once translated, with no $ref (nothing to resolve it against)."""
    nodes = list(_nodes(schema))
    if any("$ref" in node for node in nodes):
        raise InvalidInput(f"{name}: $ref is not supported in trigger type schemas.")
    try:
        jsonschema.Draft4Validator.check_schema(to_json_schema(schema))
    except jsonschema.exceptions.SchemaError as error:
        where = "".join(f".{part}" for part in error.absolute_path)
        raise InvalidInput(f"{name}{where}: not a valid JSON schema: {error.message}") from None
    for node in nodes:  # check_schema lets a bad regular expression through as a key here
        patterns = node.get("patternProperties")
        for pattern in patterns if isinstance(patterns, dict) else ():
            try:
                re.compile(pattern)
            except re.error as error:
                raise InvalidInput(
                    f"{name}: patternProperties {pattern!r} is not a regular expression: {error}"
                ) from None
    if schema and schema.get("type", "object") != "object" and name == "parameters_schema":
        raise InvalidInput(
            f"{name}.type: trigger parameters are an object, not {schema['type']!r}."
        )


def _nodes(value):
    """Every object inside a schema, the schema itself included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _check_rules_still_fit(old, trigger_type):
    """Rules keep their trigger: its parameters must fit the new schema, and a type in use
    cannot gain or lose its parameters (its rules share one trigger without, not with)."""
    rules = Rule.objects.filter(trigger_type=old.ref).only("ref", "trigger_parameters")
    for rule in rules:
        parameters = rule.trigger_parameters or {}
        try:
            if bool(old.parameters_schema) != bool(trigger_type.parameters_schema):
                raise InvalidInput("a type in use cannot gain or lose its parameters.")
            if not trigger_type.parameters_schema and parameters:
                raise InvalidInput("the new type takes no parameters.")
            if trigger_type.parameters_schema:
                triggers.check_trigger_parameters(trigger_type, parameters)
        except InvalidInput as error:
            raise InvalidInput(
                f'parameters_schema: rule "{rule.ref}" uses this type and its trigger '
                f"parameters would no longer fit ({error.message})"
            ) from None


# --- the API shape (st2bridge.shapes.TRIGGER_TYPE) -------------------------------------------


def trigger_type_to_api(trigger_type):
    return without_nulls(
        {
            "id": trigger_type.id,
            "ref": trigger_type.ref,
            "uid": f"trigger_type:{trigger_type.pack}:{trigger_type.name}",
            "name": trigger_type.name,
            "pack": trigger_type.pack,
            "description": trigger_type.description,
            "payload_schema": trigger_type.payload_schema,
            "parameters_schema": trigger_type.parameters_schema,
            "tags": trigger_type.tags,
            "metadata_file": trigger_type.metadata_file or None,
        }
    )
