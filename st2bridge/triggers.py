"""Trigger types and triggers (notes §5.3, §6.1-6.2): the built-in types, the shared,
reference-counted triggers behind rules, and timer schedules. Trigger types changed through
the API: st2bridge.triggertypes."""

import hashlib
import json
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

from .bodies import describe
from .errors import InvalidInput
from .formats import isotime
from .models import Trigger, TriggerType
from .pack_files import YAML_LOADER
from .records import upsert_by_ref

INTERVAL, DATE, CRON, WEBHOOK = (
    "core.st2.IntervalTimer",
    "core.st2.DateTimer",
    "core.st2.CronTimer",
    "core.st2.webhook",
)
TIMER_TYPES = (INTERVAL, DATE, CRON)
BUILTIN_TRIGGER_TYPES_FILE = Path(__file__).with_name("trigger_types.yaml")


def register_builtin_trigger_types():
    specs = yaml.load(BUILTIN_TRIGGER_TYPES_FILE.read_text(), Loader=YAML_LOADER)  # noqa: S506  # nosec B506
    save_trigger_types("core", [(spec, "") for spec in specs])
    return len(specs)


def save_trigger_type(pack, spec, metadata_file=""):
    """Create or update a trigger type; one without parameters gets its shadow trigger."""
    return save_trigger_types(pack, [(spec, metadata_file)])[0]


def save_trigger_types(pack, specs):
    """save_trigger_type for each (spec, metadata_file) of `specs`, in a few statements
    whatever their number (a pack's sensors declare dozens): the types that changed are
    updated, the new ones created, and each type without parameters has its shadow trigger.
    Returns the trigger types, in the order of `specs`."""
    wanted = {}
    for spec, metadata_file in specs:
        wanted[f"{pack}.{spec['name']}"] = {
            "pack": pack,
            "name": spec["name"],
            "description": spec.get("description") or "",
            "payload_schema": spec.get("payload_schema") or {},
            "parameters_schema": spec.get("parameters_schema") or {},
            "tags": spec.get("tags") or [],
            "metadata_file": metadata_file,
        }
    existing = {row.ref: row for row in TriggerType.objects.filter(ref__in=wanted)}
    rows = upsert_by_ref(TriggerType, wanted, existing)
    _keep_shadows([row for row in rows.values() if not row.parameters_schema])
    return [rows[f"{pack}.{spec['name']}"] for spec, _ in specs]


def _keep_shadows(trigger_types):
    have = set(
        Trigger.objects.filter(ref__in=[row.ref for row in trigger_types]).values_list(
            "ref", flat=True
        )
    )
    for trigger_type in trigger_types:
        if trigger_type.ref not in have:
            keep_shadow(trigger_type)


def keep_shadow(trigger_type):
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


# --- the API shapes (st2bridge.shapes.TRIGGER, TRIGGER_INSTANCE) ------------------------------


def trigger_to_api(trigger):
    """StackStorm's trigger object; `description` only when one was given (POST /triggers)."""
    data = {
        "id": trigger.id,
        "ref": trigger.ref,
        "uid": f"trigger:{trigger.pack}:{trigger.name}:{trigger.parameters_hash}",
        "name": trigger.name,
        "pack": trigger.pack,
        "type": trigger.type,
        "parameters": trigger.parameters,
    }
    if trigger.description:
        data["description"] = trigger.description
    return data


def instance_to_api(instance):
    """StackStorm's shape, and `posted_by` (ours): who caused the instance (a webhook's
    poster, the user of the execution behind an actiontrigger, who re-emitted it); absent
    for timers."""
    data = {
        "id": instance.id,
        "trigger": instance.trigger,
        "payload": instance.payload,
        "occurrence_time": isotime(instance.occurrence_time),
        "status": instance.status,
    }
    if instance.posted_by:
        data["posted_by"] = instance.posted_by
    return data
