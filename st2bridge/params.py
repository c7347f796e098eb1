"""Parameter schemas of actions: the ONE module that merges runner and action parameters,
orders them, and checks them. The API validates with it and the portal builds forms from it.

StackStorm parameters are JSON-schema draft 4 per parameter plus its own keys (`required` as a
boolean, `secret`, `immutable`, `position`); notes §3.4.

Pure: no database, no datastore. It knows what a template looks like (`is_template`), and
renders the templates among launch values with the `render` function its caller passes
(st2bridge.templating's, which reads the datastore).
"""

import copy
import functools
import json
import re

import jsonschema

from .bodies import describe
from .constants import MASK
from .errors import InvalidInput

TYPES = ["string", "integer", "number", "boolean", "object", "array", "null"]
OVERRIDABLE = {"default", "description", "enum", "immutable", "required"}

_ANY = {}
PARAMETER_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"anyOf": [{"type": "string", "enum": TYPES}]},
        "description": {"type": "string"},
        "title": {"type": "string"},
        "default": _ANY,
        "required": {"type": "boolean"},
        "secret": {"type": "boolean"},
        "immutable": {"type": "boolean"},
        "position": {"type": "integer", "minimum": 0},
        "enum": {"type": "array"},
        "items": {"type": ["object", "array"]},
        "properties": {"type": "object"},
        "patternProperties": {"type": "object"},
        "additionalProperties": {"type": ["boolean", "object"]},
        "additionalItems": {"type": ["boolean", "object"]},
        "minItems": {"type": "integer", "minimum": 0},
        "maxItems": {"type": "integer", "minimum": 0},
        "uniqueItems": {"type": "boolean"},
        "minLength": {"type": "integer", "minimum": 0},
        "maxLength": {"type": "integer", "minimum": 0},
        "pattern": {"type": "string"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "exclusiveMinimum": {"type": "boolean"},
        "exclusiveMaximum": {"type": "boolean"},
        "multipleOf": {"type": "number"},
        "minProperties": {"type": "integer", "minimum": 0},
        "maxProperties": {"type": "integer", "minimum": 0},
        "dependencies": {"type": "object"},
        "definitions": {"type": "object"},
        "allOf": {"type": "array"},
        "anyOf": {"type": "array"},
        "oneOf": {"type": "array"},
        "not": {"type": "object"},
        "id": {"type": "string"},
        "$schema": {"type": "string"},
    },
    "additionalProperties": False,
}
PARAMETERS_SCHEMA = {
    "type": "object",
    "patternProperties": {r"^\w+$": PARAMETER_SCHEMA},
    "additionalProperties": False,
}


_PARAMETERS_VALIDATOR = jsonschema.Draft4Validator(PARAMETERS_SCHEMA)
_PARAMETER_VALIDATOR = jsonschema.Draft4Validator(PARAMETER_SCHEMA)
_NAME = re.compile(r"^\w+$")


@functools.lru_cache(maxsize=16384)
def _valid_spec(text):
    return _PARAMETER_VALIDATOR.is_valid(json.loads(text))


def forget_valid_specs():
    """Empty the memo of valid parameter definitions (for benchmarks that start cold)."""
    _valid_spec.cache_clear()


def _known_valid(action_parameters):
    """Whether every parameter definition is valid, each judged once per process: packs
    repeat the same definitions in many actions (registering thousands of actions validated
    each one anew). False sends the caller to the whole check, for its message."""
    if not isinstance(action_parameters, dict):
        return False
    for name, spec in action_parameters.items():
        if not (isinstance(name, str) and _NAME.match(name) and isinstance(spec, dict)):
            return False
        try:
            text = json.dumps(spec, sort_keys=True)
        except (TypeError, ValueError):
            return False
        if not _valid_spec(text):
            return False
    return True


def merge_parameters(runner_parameters, action_parameters):
    """Runner and action parameters merged as StackStorm merges them: every name of either;
    each attribute from the action when it sets it, else from the runner; immutable if
    either says so."""
    merged = copy.deepcopy(runner_parameters or {})
    for name, spec in (action_parameters or {}).items():
        base = merged.get(name, {})
        combined = {**base, **copy.deepcopy(spec)}
        if base.get("immutable") or spec.get("immutable"):
            combined["immutable"] = True
        merged[name] = combined
    return merged


def ordered_parameters(merged):
    """(name, spec) pairs in StackStorm's display order: by position, then required, then name."""

    def sort_key(item):
        name, spec = item
        position = spec.get("position")
        if isinstance(position, int):
            return (0, position, name)
        return (1 if spec.get("required") else 2, 0, name)

    return sorted(merged.items(), key=sort_key)


def check_action_parameters(action_ref, runner_parameters, action_parameters):
    """Raise InvalidInput when an action's parameter metadata is not valid (notes §3.2, §3.4)."""
    action_parameters = action_parameters or {}
    if not _known_valid(action_parameters):
        error = jsonschema.exceptions.best_match(
            _PARAMETERS_VALIDATOR.iter_errors(action_parameters)
        )
        if error is not None:
            raise InvalidInput(f"parameters.{describe(error)}" if error.path else describe(error))
    _check_runner_overrides(action_ref, runner_parameters or {}, action_parameters)
    merged = merge_parameters(runner_parameters, action_parameters)
    _check_positions(merged)
    for name, spec in merged.items():
        if spec.get("immutable") and "default" not in spec:
            raise InvalidInput(f"Immutable param {name} requires a default value.")


def _check_runner_overrides(action_ref, runner_parameters, action_parameters):
    for name, spec in action_parameters.items():
        runner_spec = runner_parameters.get(name)
        if runner_spec is None:
            continue
        for attribute, value in spec.items():
            # Restating the runner's own value is allowed (core.local restates cmd's type).
            if attribute not in OVERRIDABLE and runner_spec.get(attribute) != value:
                raise InvalidInput(
                    f'The attribute "{attribute}" for the runner parameter "{name}" in action '
                    f'"{action_ref}" cannot be overridden.'
                )
        if (
            runner_spec.get("immutable")
            and "default" in spec
            and spec["default"] != runner_spec.get("default")
        ):
            raise InvalidInput(
                f"Param {name} is declared immutable in runner. Cannot override in action."
            )


def _check_positions(merged):
    seen = {}
    for name, spec in sorted(merged.items()):
        position = spec.get("position")
        if position is None:
            continue
        if position in seen:
            raise InvalidInput(
                f"Parameters {seen[position]} and {name} have same position {position}. "
                "Position values have to be unique."
            )
        seen[position] = name
    positions = sorted(seen)
    if positions and positions != list(range(positions[0], positions[0] + len(positions))):
        raise InvalidInput(f"Positions supplied {positions} for parameters are not contiguous.")


def mask_secrets(values, merged):
    """A copy of parameter values with every secret one shown as ********."""
    return {
        name: MASK if (merged.get(name) or {}).get("secret") else value
        for name, value in (values or {}).items()
    }


# --- values --------------------------------------------------------------------------------

_ST2_KEYWORDS = ("required", "secret", "immutable", "position")
_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def to_json_schema(spec):
    """A parameter definition as standard JSON schema: StackStorm's boolean `required` on a
    property becomes the parent's `required` list, its own keywords are dropped."""
    if not isinstance(spec, dict):
        return spec
    schema = {key: value for key, value in spec.items() if key not in _ST2_KEYWORDS}
    if isinstance(spec.get("required"), list):
        schema["required"] = spec["required"]
    if isinstance(spec.get("properties"), dict):
        schema["properties"] = {k: to_json_schema(v) for k, v in spec["properties"].items()}
        required = [
            k
            for k, v in spec["properties"].items()
            if isinstance(v, dict) and v.get("required") is True
        ]
        if required:
            schema["required"] = sorted(set(schema.get("required", [])) | set(required))
    if isinstance(spec.get("items"), dict):
        schema["items"] = to_json_schema(spec["items"])
    return schema


def values_schema(merged):
    """The schema that execution parameters must fit: no parameter outside `merged`."""
    return to_json_schema({"type": "object", "properties": merged, "additionalProperties": False})


def cast_value(name, spec, value):
    """Lenient casting as StackStorm does: "5" -> 5, "true" -> True, JSON text -> list/dict."""
    kind = spec.get("type")
    if value is None or not isinstance(value, str):
        if kind == "string" and value is not None:
            got = type(value).__name__
            raise InvalidInput(
                f'{name}: Value "{value}" must either be a string or None. Got "{got}".'
            )
        return value
    try:
        if kind == "integer":
            return int(value.strip())
        if kind == "number":
            number = float(value.strip())
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "boolean":
            return _BOOLEAN_WORDS[value.strip().lower()]
        if kind in ("array", "object"):
            return _json_or_list(kind, value)
    except (ValueError, KeyError):
        raise InvalidInput(f"{name}: {value!r} is not of type '{kind}'") from None
    return value


def _json_or_list(kind, text):
    try:
        return json.loads(text)
    except ValueError:
        if kind == "array":  # st2 also accepts "a,b,c" for arrays
            return [item.strip() for item in text.split(",") if item.strip()]
        raise


def check_overrides(merged, given):
    unknown = sorted(set(given) - set(merged))
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise InvalidInput(f"Additional properties are not allowed ({listed} {verb} unexpected)")
    immutable = sorted(name for name in given if merged[name].get("immutable"))
    if immutable:
        raise InvalidInput(f"Override of immutable parameter(s) {immutable} is unsupported.")


def _value_errors(merged, values):
    """jsonschema's errors of final values against the merged schema. An explicit null for an
    optional parameter is accepted, as StackStorm accepts it."""
    values = {
        name: value
        for name, value in values.items()
        if value is not None or (merged.get(name) or {}).get("required")
    }
    return jsonschema.Draft4Validator(values_schema(merged)).iter_errors(values)


def check_values(merged, values):
    """Validate final values (defaults applied) against the merged schema, naming the field."""
    error = jsonschema.exceptions.best_match(_value_errors(merged, values))
    if error is not None:
        raise InvalidInput(describe(error))


def value_errors(merged, values):
    """Every message check_values could raise for these values, not only the first: a form
    shows them all at once, each beside the field it names."""
    return [describe(error) for error in _value_errors(merged, values)]


def with_defaults(merged, values):
    """Values plus the default of every parameter not given (None defaults left out)."""
    complete = {
        name: copy.deepcopy(spec["default"])
        for name, spec in merged.items()
        if spec.get("default") is not None
    }
    complete.update(values)
    return complete


# --- templates -----------------------------------------------------------------------------


def is_template(value):
    """Whether `value` is Jinja to render: text holding `{{` or `{%`."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def holds_template(value):
    """Whether `value` is a template or holds one at any depth (mapping values, list items)."""
    if isinstance(value, dict):
        return any(holds_template(item) for item in value.values())
    if isinstance(value, list):
        return any(holds_template(item) for item in value)
    return is_template(value)


def prepare_values(merged, given, render_context, data=(), *, render):
    """Check, cast and render what a caller passed. Returns (shown, final): `shown` is what
    StackStorm records (given values plus defaults that were templates, rendered), `final`
    adds every plain default and is what the runner receives.

    Templates are rendered once, by the side that owns them: the given values named in `data`
    are data (a rule's parameters rendered with a trigger payload, a re-run's recorded values)
    and are never rendered again, whatever text they hold; the action's template defaults and
    the caller's own values are rendered here, with `render(template, context, label)` (the
    caller's: st2bridge.templating.render) against `render_context` plus the values."""
    given = given or {}
    check_overrides(merged, given)
    shown = {name: cast_value(name, merged[name], value) for name, value in given.items()}
    context = {**render_context, **with_defaults(merged, shown)}
    for name, spec in merged.items():
        if name in data and name in shown:
            continue
        template = shown.get(name, spec.get("default") if name not in shown else None)
        if is_template(template):
            shown[name] = cast_value(name, spec, render(template, context, name))
    final = with_defaults(merged, shown)
    check_values(merged, final)
    return shown, final


def check_rule_values(merged, given):
    """Action parameters stored in a rule: known names, no immutable override, required ones
    present, and every literal value valid; a value holding Jinja is checked when it renders."""
    errors = rule_value_errors(merged, given)
    if errors:
        raise InvalidInput(errors[0])


def rule_value_errors(merged, given):
    """Every message check_rule_values could raise, in its order (the first is the one it
    raises): a rule editor shows them all at once, each beside the field it names."""
    given = given or {}
    try:
        check_overrides(merged, given)
    except InvalidInput as error:
        return [error.message]
    errors = [
        f"'{name}' is a required property"
        for name, spec in merged.items()
        if spec.get("required") and name not in given and spec.get("default") is None
    ]
    for name, value in given.items():
        if holds_template(value):
            continue
        try:
            value = cast_value(name, merged[name], value)
        except InvalidInput as error:
            errors.append(error.message)
            continue
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft4Validator(to_json_schema(merged[name])).iter_errors(value)
        )
        if error is not None:
            where = ".".join([name, *(str(part) for part in error.absolute_path)])
            errors.append(f"{where}: {error.message}")
    return errors
