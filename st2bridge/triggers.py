"""Trigger types and triggers (notes §5.3, §6.1-6.2): the built-in types, the shared,
reference-counted triggers behind rules, and timer schedules."""

import hashlib
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml
from apscheduler.triggers.cron import CronTrigger
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import catalog
from .bodies import check_body, describe
from .errors import Conflict, InvalidInput
from .models import Rule, Trigger, TriggerType

INTERVAL, DATE, CRON, WEBHOOK = (
    "core.st2.IntervalTimer",
    "core.st2.DateTimer",
    "core.st2.CronTimer",
    "core.st2.webhook",
)
TIMER_TYPES = (INTERVAL, DATE, CRON)
BUILTIN_TRIGGER_TYPES_FILE = Path(__file__).with_name("trigger_types.yaml")


def register_builtin_trigger_types():
    specs = yaml.safe_load(BUILTIN_TRIGGER_TYPES_FILE.read_text())
    for spec in specs:
        save_trigger_type("core", spec)
    return len(specs)


def save_trigger_type(pack, spec, metadata_file=""):
    """Create or update a trigger type; one without parameters gets its shadow trigger."""
    ref = f"{pack}.{spec['name']}"
    trigger_type, _ = TriggerType.objects.update_or_create(
        ref=ref,
        defaults={
            "pack": pack,
            "name": spec["name"],
            "description": spec.get("description") or "",
            "payload_schema": spec.get("payload_schema") or {},
            "parameters_schema": spec.get("parameters_schema") or {},
            "tags": spec.get("tags") or [],
            "metadata_file": metadata_file,
        },
    )
    _keep_shadow(trigger_type)
    return trigger_type


def _keep_shadow(trigger_type):
    """A type without parameters has one trigger of the same ref, shared by all its rules."""
    if not trigger_type.parameters_schema:
        Trigger.objects.get_or_create(
            ref=trigger_type.ref,
            defaults={
                "pack": trigger_type.pack,
                "name": trigger_type.name,
                "type": trigger_type.ref,
                "parameters_hash": parameters_hash({}),
            },
        )


# --- trigger types through the API (admins only) --------------------------------------------

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
    catalog._require_admin(caller, "trigger_type_create")
    fields = _checked_type_fields(body)
    catalog._refuse_system_pack(fields["pack"])
    _refuse_duplicate(fields["ref"])
    try:
        with transaction.atomic():
            trigger_type = TriggerType.objects.create(**fields)
            _keep_shadow(trigger_type)
    except IntegrityError:  # created by someone else at the same moment
        _refuse_duplicate(fields["ref"])
        raise
    return trigger_type


def update_trigger_type(caller, trigger_type, body):
    """PUT /triggertypes/{ref_or_id}: a full replacement of a type outside the system packs.
    Unlike StackStorm, the ref stays (rules and triggers name it), and the new parameters
    schema must still accept the trigger parameters of every rule using the type."""
    catalog._require_admin(caller, "trigger_type_modify")
    catalog._refuse_system_pack(trigger_type.pack)
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
        _keep_shadow(updated)
    return updated


def delete_trigger_type(caller, trigger_type):
    """DELETE /triggertypes/{ref_or_id}: the type and its triggers (shadow included). Refused
    while rules use it: they would silently never fire again."""
    catalog._require_admin(caller, "trigger_type_delete")
    catalog._refuse_system_pack(trigger_type.pack)
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
    from .params import to_json_schema

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


def _refuse_duplicate(ref):
    existing = TriggerType.objects.filter(ref=ref).values_list("id", flat=True).first()
    if existing is not None:
        raise Conflict(
            f"Tried to save duplicate unique keys (trigger type ref {ref} already exists)",
            conflict_id=existing,
        )


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
                check_trigger_parameters(trigger_type, parameters)
        except InvalidInput as error:
            raise InvalidInput(
                f'parameters_schema: rule "{rule.ref}" uses this type and its trigger '
                f"parameters would no longer fit ({error.message})"
            ) from None


def parameters_hash(parameters):
    return hashlib.md5(
        json.dumps(parameters, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()


# --- triggers behind rules -------------------------------------------------------------------


def acquire_trigger(type_ref, parameters):
    """The trigger a rule with this type and parameters uses, its reference count raised."""
    trigger_type = TriggerType.objects.filter(ref=type_ref).first()
    if trigger_type is None:
        raise InvalidInput(f'trigger.type: trigger type "{type_ref}" does not exist.')
    parameters = parameters or {}
    if not trigger_type.parameters_schema:
        if parameters:
            raise InvalidInput(
                f'trigger.parameters: trigger type "{type_ref}" takes no parameters.'
            )
        trigger = Trigger.objects.get(ref=type_ref)
    else:
        check_trigger_parameters(trigger_type, parameters)
        trigger = _shared_trigger(trigger_type, parameters)
    Trigger.objects.filter(pk=trigger.pk).update(ref_count=F("ref_count") + 1)
    return trigger


def _shared_trigger(trigger_type, parameters):
    digest = parameters_hash(parameters)
    existing = Trigger.objects.filter(type=trigger_type.ref, parameters_hash=digest).first()
    if existing is not None:
        return existing
    name = str(uuid.uuid4())
    try:
        with transaction.atomic():
            return Trigger.objects.create(
                ref=f"{trigger_type.pack}.{name}",
                pack=trigger_type.pack,
                name=name,
                type=trigger_type.ref,
                parameters=parameters,
                parameters_hash=digest,
            )
    except IntegrityError:  # another rule created the same trigger at the same moment
        return Trigger.objects.get(type=trigger_type.ref, parameters_hash=digest)


def release_trigger(trigger_ref):
    """A rule stopped using this trigger; parameterised triggers go when nobody uses them."""
    with transaction.atomic():
        Trigger.objects.filter(ref=trigger_ref).update(ref_count=F("ref_count") - 1)
        # A shadow trigger (ref == its type's ref) lives as long as its type does.
        Trigger.objects.filter(ref=trigger_ref, ref_count__lte=0).exclude(type=trigger_ref).delete()


def check_trigger_parameters(trigger_type, parameters):
    from .params import to_json_schema

    schema = to_json_schema(trigger_type.parameters_schema)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft4Validator(schema).iter_errors(parameters)
    )
    if error is not None:
        raise InvalidInput(f"trigger.parameters: {describe(error)}")
    if trigger_type.ref in TIMER_TYPES:
        _zone(parameters)
    if trigger_type.ref == CRON:
        _cron(parameters)
    if trigger_type.ref == DATE:
        _date(parameters)


def _zone(parameters):
    try:
        return ZoneInfo(parameters.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"trigger.parameters.timezone: unknown time zone {parameters['timezone']!r}"
        ) from None


def _cron(parameters):
    fields = {key: value for key, value in parameters.items() if key != "timezone"}
    try:
        return CronTrigger(timezone=_zone(parameters), **fields)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"trigger.parameters: {error}") from None


def _date(parameters):
    moment = parse_datetime(parameters["date"])
    if moment is None:
        raise InvalidInput(
            f"trigger.parameters.date: {parameters['date']!r} is not a date and time."
        )
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=_zone(parameters))


# --- timers ------------------------------------------------------------------------------------

UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
MISFIRE_GRACE = timedelta(minutes=5)  # a tick missed for longer than this is skipped


def last_due(trigger, now):
    """The latest tick of a timer trigger that is due at `now` (within the misfire grace and
    after the trigger was created), or None."""
    parameters = trigger.parameters
    earliest = max(trigger.created_at, now - MISFIRE_GRACE)
    if trigger.type == INTERVAL:
        step = timedelta(seconds=UNITS[parameters["unit"]] * parameters["delta"])
        ticks = (now - trigger.created_at) // step
        due = trigger.created_at + ticks * step
        return due if ticks >= 1 and due > earliest else None
    if trigger.type == DATE:
        moment = _date(parameters)
        return moment if earliest < moment <= now else None
    return _last_cron_tick(_cron(parameters), now, earliest)


def _last_cron_tick(cron, now, since):
    tick, found = cron.get_next_fire_time(None, since + timedelta(microseconds=1)), None
    while tick is not None and tick <= now:
        found = tick
        tick = cron.get_next_fire_time(tick, tick + timedelta(seconds=1))
    return found


def timer_payload(trigger, due_at):
    schedule = {"type": trigger.type, **trigger.parameters}
    return {"executed_at": str(due_at.astimezone(ZoneInfo("UTC"))), "schedule": schedule}
