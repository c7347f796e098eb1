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
