"""What StackStorm's models accept in pack metadata (st2common/models/api/pack.py, sensor.py,
trigger.py), with its tolerance and its refusals, for the loader (st2bridge.packs). Pure: no
database.

Tolerance: StackStorm validates with `allow_default_none`, so an optional field set to null
(`description:` left empty) counts as not given and takes its default
(bodies.without_null_optionals); a required one set to null is refused by name.
"""

import re

import jsonschema

from .bodies import describe, without_null_optionals
from .pack_files import RegistrationError

PACK_REF_PATTERN = r"^[a-z0-9_]+$"
PACK_VERSION_PATTERN = (
    r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[\da-z\-]+(?:\.[\da-z\-]+)*)?"
    r"(?:\+[\da-z\-]+(?:\.[\da-z\-]+)*)?$"
)
ST2_VERSION_PATTERN = r"^((>?>|>=|=|<=|<?<)\s*[0-9]+\.[0-9]+\.[0-9]+?(\s*,)?\s*)+$"
MINIMUM_POLL_INTERVAL = 4  # seconds, StackStorm's
RESERVED_PACK_REFS = {"_global"}

_STRINGS = {"type": "array", "items": {"type": "string"}}
# PackAPI: pack.yaml. Keys it does not list are kept (StackStorm allows them too).
PACK_SCHEMA = {
    "type": "object",
    "required": ["name", "description", "version", "author"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "ref": {"type": "string", "pattern": PACK_REF_PATTERN},
        "uid": {"type": "string"},
        "description": {"type": "string"},
        "keywords": _STRINGS,
        "version": {"type": "string", "pattern": PACK_VERSION_PATTERN},
        "stackstorm_version": {"type": "string", "pattern": ST2_VERSION_PATTERN},
        "python_versions": {
            "type": "array",
            "items": {"type": "string", "enum": ["2", "3"]},
            "minItems": 1,
            "maxItems": 2,
            "uniqueItems": True,
        },
        "author": {"type": "string"},
        "email": {"type": "string"},
        "contributors": {"type": "array", "items": {"type": "string", "maxLength": 100}},
        "files": _STRINGS,
        "dependencies": _STRINGS,
        "system": {"type": "object"},
        "path": {"type": "string"},
    },
}
# TriggerTypeAPI: the trigger_types of sensors/*.yaml, and triggers/*.yaml.
TRIGGER_TYPE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string"},
        "pack": {"type": "string"},
        "description": {"type": "string"},
        "payload_schema": {"type": "object"},
        "parameters_schema": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "object"}},
        "metadata_file": {"type": "string"},
    },
    "additionalProperties": False,
}
# sensors/*.yaml. StackStorm's sensor registrar does not validate them against SensorTypeAPI:
# it takes the keys it knows (a class name and an entry point are needed), and from each
# trigger type the keys TriggerTypeAPI knows (a name is needed): other keys are ignored,
# such as `payload_info` in the email pack.
SENSOR_TRIGGER_TYPE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        key: TRIGGER_TYPE_SCHEMA["properties"][key]
        for key in ("name", "description", "payload_schema", "parameters_schema", "tags")
    },
}
SENSOR_SCHEMA = {
    "type": "object",
    "required": ["class_name"],
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "class_name": {"type": "string"},
        "pack": {"type": "string"},
        "description": {"type": "string"},
        "artifact_uri": {"type": "string"},
        "entry_point": {"type": "string"},
        "enabled": {"type": "boolean"},
        "trigger_types": {"type": "array", "items": SENSOR_TRIGGER_TYPE_SCHEMA},
        "poll_interval": {"type": "number"},
        "metadata_file": {"type": "string"},
    },
}

_VALIDATORS = {}


def checked(path, data, schema):
    """`data` with null optional fields dropped, after validating it against `schema`;
    RegistrationError naming the file and the field otherwise."""
    data = without_null_optionals(data, schema)
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = jsonschema.Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise RegistrationError(path, describe(error))
    return data


def in_pack(path, data, pack):
    """`data` with its pack set; StackStorm refuses a file whose `pack` is another one."""
    declared = data.get("pack") or pack
    if declared != pack:
        raise RegistrationError(
            path, f'Model is in pack "{pack}" but field "pack" is different: {declared}'
        )
    return {**data, "pack": pack}


# --- pack.yaml -----------------------------------------------------------------------------


def checked_pack(path, metadata):
    """pack.yaml as StackStorm's PackAPI takes it: a version written as a number is text
    ("version: 1.0" would be refused as not semver either way)."""
    if metadata.get("version") not in (None, "") and not isinstance(metadata["version"], str):
        metadata = {**metadata, "version": str(metadata["version"])}
    try:
        return checked(path, metadata, PACK_SCHEMA)
    except RegistrationError as error:
        if error.reason.startswith("version: "):
            raise RegistrationError(
                path,
                f'Pack version "{metadata["version"]}" doesn\'t follow a valid semver format. '
                "Valid versions and formats include: 0.1.0, 0.2.1, 1.1.0, etc.",
            ) from None
        if error.reason.startswith("ref: "):
            raise RegistrationError(
                path,
                "Pack ref / name can only contain valid word characters (a-z, 0-9 and _), "
                "dashes are not allowed.",
            ) from None
        raise


def pack_ref(path, metadata, directory_name):
    """StackStorm's rule (st2common.util.pack.get_pack_ref_from_metadata): `ref` when
    pack.yaml has one, else the directory's name when it is a valid ref, else `name` when it
    is; `_global` is reserved."""
    if metadata.get("ref"):
        ref = metadata["ref"]
    elif re.match(PACK_REF_PATTERN, directory_name):
        ref = directory_name
    elif re.match(PACK_REF_PATTERN, metadata["name"]):
        ref = metadata["name"]
    else:
        raise RegistrationError(
            path,
            f'Pack name "{metadata["name"]}" contains invalid characters and "ref" attribute '
            'is not available. You either need to add "ref" attribute which contains only word '
            "characters to the pack metadata file or update name attribute to contain only "
            "word characters.",
        )
    if ref in RESERVED_PACK_REFS:
        raise RegistrationError(path, f'Pack ref "{ref}" is reserved and cannot be used.')
    return ref


# --- sensors -------------------------------------------------------------------------------


def checked_sensor(path, data, pack):
    """A sensors/*.yaml as StackStorm's sensor registrar takes it: its trigger types keep
    only the keys TriggerTypeAPI knows."""
    data = checked(path, in_pack(path, data, pack), SENSOR_SCHEMA)
    known = SENSOR_TRIGGER_TYPE_SCHEMA["properties"]
    data["trigger_types"] = [
        {key: value for key, value in spec.items() if key in known}
        for spec in data.get("trigger_types") or []
    ]
    if not data.get("entry_point"):
        raise RegistrationError(path, "Sensor definition missing entry_point")
    interval = data.get("poll_interval")
    if interval and interval < MINIMUM_POLL_INTERVAL:
        raise RegistrationError(
            path, f"Minimum possible poll_interval is {MINIMUM_POLL_INTERVAL} seconds"
        )
    return data


def sensor_entry_point(metadata_file, entry_point, class_name):
    """StackStorm's SensorTypeDB.entry_point: the module path of the sensor's file, relative
    to the pack, then the class (`sensors.github_repository_sensor.GithubRepositorySensor`)."""
    folder = metadata_file.rsplit("/", 1)[0] if "/" in metadata_file else ""
    module = f"{folder}/{entry_point}" if folder else entry_point
    module = module.removesuffix(".py").replace("/", ".")
    return f"{module}.{class_name}"
