"""Sensor types (notes §9): registered from the packs' sensors/*.yaml (st2bridge.packs), listed
and switched on and off through /api/v1/sensortypes as StackStorm answers. This server does
not run sensors yet: `enabled` is recorded, for when it does. Who sees which sensor type is
st2bridge.access's."""

from . import access
from .errors import InvalidInput
from .formats import without_nulls
from .models import SensorType
from .records import upsert_by_ref


def save_sensor_types(pack, found, failed_files=()):
    """Make the pack's sensor types those `found` (dicts of checked sensors/*.yaml, see
    pack_schemas, with `trigger_types` as refs and the computed `artifact_uri`,
    `entry_point` and `metadata_file`), in a few statements: the file's `enabled` wins, as
    StackStorm's registrar lets it. Sensor types whose file is gone are deleted; those whose
    file is in `failed_files` (it is there, but could not be read) are kept."""
    wanted = {}
    for sensor in found:
        wanted[f"{pack}.{sensor['class_name']}"] = {
            "pack": pack,
            "name": sensor["class_name"],
            "description": sensor.get("description") or "",
            "artifact_uri": sensor["artifact_uri"],
            "entry_point": sensor["entry_point"],
            "enabled": sensor.get("enabled", True),
            "trigger_types": sensor["trigger_types"],
            "poll_interval": sensor.get("poll_interval"),
            "metadata_file": sensor["metadata_file"],
        }
    existing = {row.ref: row for row in SensorType.objects.filter(pack=pack)}
    upsert_by_ref(SensorType, wanted, existing)
    gone = [
        row.pk
        for ref, row in existing.items()
        if ref not in wanted and row.metadata_file not in failed_files
    ]
    SensorType.objects.filter(pk__in=gone).delete()
    return len(wanted)


def set_enabled(caller, sensor_type, body):
    """PUT /sensortypes/{ref_or_id}: as StackStorm, only `enabled` is applied, and a body
    without it disables the sensor; system packs' sensors are not changed."""
    access.require_admin(caller, "sensor_type_modify")
    access.refuse_system_pack(sensor_type.pack)
    enabled = body.get("enabled", False)
    if not isinstance(enabled, bool):
        raise InvalidInput(f"enabled: {enabled!r} is not of type 'boolean'")
    if enabled != sensor_type.enabled:
        sensor_type.enabled = enabled
        sensor_type.save(update_fields=["enabled"])
    return sensor_type


def to_api(sensor_type):
    """StackStorm's sensor type object."""
    return without_nulls(
        {
            "id": sensor_type.id,
            "uid": f"sensor_type:{sensor_type.pack}:{sensor_type.name}",
            "ref": sensor_type.ref,
            "name": sensor_type.name,
            "pack": sensor_type.pack,
            "description": sensor_type.description or None,
            "artifact_uri": sensor_type.artifact_uri or None,
            "entry_point": sensor_type.entry_point or None,
            "enabled": sensor_type.enabled,
            "trigger_types": sensor_type.trigger_types,
            "poll_interval": _number(sensor_type.poll_interval),
            "metadata_file": sensor_type.metadata_file or None,
        }
    )


def _number(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value
