"""Validate request bodies with JSON Schema, answering with a message that names the field."""

import jsonschema

from .errors import InvalidInput


def check_body(body, schema):
    validator = jsonschema.Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        raise InvalidInput(describe(error))
    return body


def describe(error):
    """'field.sub: problem' for nested errors, jsonschema's message alone at the top."""
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def json_type(value):
    """The JSON name of a parsed value's type, for messages ("object", "array", ...)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return names.get(type(value), type(value).__name__)


def without_null_optionals(value, schema):
    """`value` without the keys set to null that `schema` does not require, at every level
    where the schema lists `properties` (objects, and the items of arrays): StackStorm
    validates its API models with `allow_default_none`, so an optional field left empty
    (`description:` in YAML) counts as not given and takes its default. A null where the
    schema requires a value stays, for validation to refuse by name."""
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict) and "properties" in items:
            return [without_null_optionals(item, items) for item in value]
        return value
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, dict):
        return value
    required = set(schema.get("required") or ())
    cleaned = {}
    for key, item in value.items():
        if item is None and key not in required:
            continue
        cleaned[key] = without_null_optionals(item, properties.get(key) or {})
    return cleaned
