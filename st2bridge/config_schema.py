"""Pack config schemas (a pack's config.schema.yaml) and config values, as StackStorm reads
them: the schema's items are written as action parameters are (type, description, default,
required, secret, enum, and nested `properties`, `items`, `additionalProperties`), and a
config is the pack's values for them.

Pure: no database, no datastore, no settings. st2bridge.configs stores configs and renders
their `{{ st2kv... }}` values with the walk here (render_dynamic); the portal builds its
config form from the same schema with the parameter form machinery.

- Secret items are masked wherever a config is shown (`mask`, at any depth: a secret
  property of an array's objects is masked in every item); a value sent back masked keeps
  the stored one (`keep_masked`), as a rule's masked secret parameters do.
- Validation (`check_values`) is StackStorm's: defaults filled in first (so a required item
  with a default is satisfied), a null default allows null, items outside the schema
  allowed. Its message names the attribute and never quotes a secret value.
- At run time a config is its stored values, dynamic values rendered, then the schema's
  defaults for what is still missing (`with_defaults`), as StackStorm's
  ContentPackConfigLoader builds `self.config` and `config_context`.
"""

import copy
import re

import jsonschema

from .constants import MASK
from .errors import InvalidInput
from .params import TYPES, is_template, to_json_schema

ITEM_NAME = re.compile(r"^\w+$")
_DROP = object()  # keep_masked: a masked secret with nothing stored is left out


# --- the schema ---------------------------------------------------------------------------


def check_schema(attributes):
    """Raise InvalidInput naming the item when config.schema.yaml cannot be a config schema:
    a mapping of item names (letters, digits, underscores) to JSON-schema definitions."""
    if not isinstance(attributes, dict):
        raise InvalidInput("the config schema must be a mapping of item names to definitions")
    for name, spec in attributes.items():
        if not isinstance(name, str) or not ITEM_NAME.match(name):
            raise InvalidInput(f"{name!r} is not a valid config item name")
        _check_item(name, spec)


def _check_item(where, spec):
    if spec is None:
        return  # StackStorm reads an empty item as "any type"
    if not isinstance(spec, dict):
        raise InvalidInput(f"{where}: must be a mapping, not {type(spec).__name__}")
    kind = spec.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    for name in kinds:
        if name is not None and name not in TYPES:
            raise InvalidInput(f"{where}.type: {name!r} is not one of {TYPES}")
    for flag in ("secret", "immutable"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise InvalidInput(f"{where}.{flag}: must be true or false")
    if "required" in spec and not isinstance(spec["required"], bool | list):
        raise InvalidInput(f"{where}.required: must be true, false or a list of names")
    try:
        jsonschema.Draft4Validator.check_schema(to_json_schema(spec))
    except jsonschema.SchemaError as error:
        path = ".".join(str(part) for part in error.absolute_path)
        raise InvalidInput(f"{where}{'.' + path if path else ''}: {error.message}") from None


def _child(spec, key):
    """The definition of `key` inside the object defined by `spec` ({} when none says)."""
    if not isinstance(spec, dict):
        return {}
    properties = spec.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get(key), dict):
        return properties[key]
    for pattern, definition in (spec.get("patternProperties") or {}).items():
        if isinstance(definition, dict) and re.search(pattern, key):
            return definition
    additional = spec.get("additionalProperties")
    return additional if isinstance(additional, dict) else {}


def _item(spec, index):
    """The definition of item `index` of the array defined by `spec`."""
    items = spec.get("items") if isinstance(spec, dict) else None
    if isinstance(items, dict):
        return items
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        return items[index]
    return {}


def root(attributes):
    """The schema's items as the definition of one object (the config)."""
    return {"type": "object", "properties": attributes or {}}


# --- secrets ------------------------------------------------------------------------------


def _walk(value, spec, at_secret):
    """`value` with at_secret(value) in place of every value a secret item defines."""
    if isinstance(spec, dict) and spec.get("secret"):
        return at_secret(value)
    if isinstance(value, dict):
        found = {key: _walk(item, _child(spec, key), at_secret) for key, item in value.items()}
        return {key: item for key, item in found.items() if item is not _DROP}
    if isinstance(value, list):
        found = [_walk(item, _item(spec, index), at_secret) for index, item in enumerate(value)]
        return [item for item in found if item is not _DROP]
    return value


def mask(values, attributes):
    """A copy of config values with every secret item shown as ******** (at any depth)."""
    return _walk(copy.deepcopy(values or {}), root(attributes), lambda value: MASK)


def secret_texts(values, attributes):
    """The texts of every secret value (scalars inside secret objects and arrays too), for
    scrubbing them from what a process prints."""
    found = []

    def collect(value):
        if isinstance(value, dict | list):
            items = value.values() if isinstance(value, dict) else value
            for item in items:
                collect(item)
        elif value not in (None, "") and not isinstance(value, bool):
            found.append(str(value))
        return value

    _walk(values or {}, root(attributes), collect)
    return sorted(set(found), key=len, reverse=True)


def has_secrets(values, attributes):
    return bool(secret_texts(values, attributes))


def keep_masked(values, stored, attributes):
    """`values` sent back with ******** for secret items (a config read back from the API, a
    portal form whose secret field was left blank): those keep the `stored` value at the
    same place, or are left out when nothing is stored there."""
    return _keep(copy.deepcopy(values or {}), stored or {}, root(attributes))


def _keep(value, stored, spec):
    if isinstance(spec, dict) and spec.get("secret") and value == MASK:
        return stored if stored is not _DROP and stored is not None else _DROP
    if isinstance(value, dict):
        before = stored if isinstance(stored, dict) else {}
        kept = {
            key: _keep(item, before.get(key, _DROP), _child(spec, key))
            for key, item in value.items()
        }
        return {key: item for key, item in kept.items() if item is not _DROP}
    if isinstance(value, list):
        before = stored if isinstance(stored, list) else []
        kept = [
            _keep(item, before[index] if index < len(before) else _DROP, _item(spec, index))
            for index, item in enumerate(value)
        ]
        return [item for item in kept if item is not _DROP]
    return value


# --- defaults and validation --------------------------------------------------------------


def with_defaults(attributes, values, replace_none=False):
    """A copy of `values` with the default of every item it lacks, in nested objects and in
    each object of an array too, as StackStorm assigns them. `replace_none`: an explicit null
    counts as missing (what validation does before checking required items)."""
    return _defaults(attributes or {}, copy.deepcopy(values or {}), replace_none)


def _defaults(properties, config, replace_none):
    if not isinstance(config, dict):
        return config
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        missing = name not in config or (replace_none and config[name] is None)
        if "default" in spec and missing:
            config[name] = copy.deepcopy(spec["default"])
        value = config.get(name)
        if value is not None and spec.get("type") == "object":
            _defaults(spec.get("properties") or {}, value, replace_none)
        elif value and spec.get("type") == "array" and isinstance(value, list):
            items = spec.get("items")
            if isinstance(items, dict) and isinstance(items.get("properties"), dict):
                for item in value:
                    _defaults(items["properties"], item, replace_none)
    return config


def _allow_default_none(spec):
    """StackStorm's allow_default_none: an item whose default is null may be null."""
    if not isinstance(spec, dict):
        return spec
    spec = dict(spec)
    if "default" in spec and spec["default"] is None and isinstance(spec.get("type"), str):
        spec["type"] = [spec["type"], "null"]
    if isinstance(spec.get("properties"), dict):
        spec["properties"] = {k: _allow_default_none(v) for k, v in spec["properties"].items()}
    if isinstance(spec.get("items"), dict):
        spec["items"] = _allow_default_none(spec["items"])
    return spec


def values_schema(attributes):
    """The JSON schema a config must fit: every item as defined, others allowed."""
    properties = {name: _allow_default_none(spec or {}) for name, spec in attributes.items()}
    return to_json_schema({"type": "object", "properties": properties})


def check_values(pack, attributes, values):
    """Raise InvalidInput when `values` do not fit the schema: 'Failed validating attribute
    "<item.path>" in config for pack "<pack>": <problem>'. A secret value is never quoted."""
    if not isinstance(values, dict):
        raise InvalidInput(f'The config of pack "{pack}" must be a mapping of item names to values')
    attributes = attributes or {}
    instance = with_defaults(attributes, values, replace_none=True)
    validator = jsonschema.Draft4Validator(values_schema(attributes))
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        where, problem = _describe(error, attributes)
        raise InvalidInput(
            f'Failed validating attribute "{where}" in config for pack "{pack}": {problem}'
        )
    _refuse_decrypt_kv_on_secrets(attributes, values)


def _describe(error, attributes):
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return ".".join([*path, missing[0]]), f"'{missing[0]}' is a required property"
    if _is_secret(attributes, list(error.absolute_path)):
        return ".".join(path), (
            f"the value (secret, not shown) fails '{error.validator}': {error.validator_value!r}"
        )
    return ".".join(path), error.message


def _is_secret(attributes, path):
    spec = root(attributes)
    for part in path:
        spec = _item(spec, part) if isinstance(part, int) else _child(spec, part)
        if spec.get("secret"):
            return True
    return False


def _refuse_decrypt_kv_on_secrets(attributes, values):
    for name, value in values.items():
        spec = attributes.get(name) or {}
        if spec.get("secret") and is_template(value) and "decrypt_kv" in value:
            raise InvalidInput(
                'Values specified as "secret: True" in config schema are automatically '
                'decrypted by default. Use of "decrypt_kv" jinja filter is not allowed for '
                "such values. Please check the specified values in the config or the default "
                "values in the schema."
            )


# --- dynamic values -----------------------------------------------------------------------


def render_dynamic(values, attributes, render_one):
    """A copy of `values` with each template value (at any depth) replaced by
    render_one(key, template, secret): `key` is its dotted path ("auth.token", "hosts.0"),
    `secret` whether a secret item defines it."""
    return _render(copy.deepcopy(values or {}), root(attributes), [], render_one)


def _render(value, spec, path, render_one):
    if isinstance(value, dict):
        return {
            key: _render(item, _child(spec, key), [*path, str(key)], render_one)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _render(item, _item(spec, index), [*path, str(index)], render_one)
            for index, item in enumerate(value)
        ]
    if is_template(value):
        return render_one(".".join(path), value, bool(spec.get("secret")))
    return value
