"""Sandboxed Jinja2 as StackStorm uses it in parameters: `{{ st2kv.system.key }}`,
`{{ st2kv.user.key }}`, `{{ other_param }}`, and the filters people rely on."""

import json
import re

import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from . import datastore
from .errors import InvalidInput


class KeyLookup:
    """`st2kv.system.a.b` reads the item named "a.b": attribute access builds the dotted name,
    and the value is fetched only when the template prints or filters it."""

    def __init__(self, scope, owner, name=""):
        self._scope, self._owner, self._name = scope, owner, name

    def __getattr__(self, part):
        if part.startswith("_"):
            raise AttributeError(part)
        return KeyLookup(self._scope, self._owner, f"{self._name}.{part}" if self._name else part)

    __getitem__ = __getattr__

    def value(self, decrypt=False, required=True):
        found = datastore.get_value(self._scope, self._name, self._owner, decrypt=decrypt)
        if found in (None, "") and required:
            label = "st2kv.system" if self._scope == "system" else "st2kv.user"
            raise InvalidInput(
                f'Referenced datastore item "{label}.{self._name}" doesn\'t exist or it contains '
                "an empty string"
            )
        return found or ""

    def __str__(self):  # a missing item prints as "" (notes §4.6); decrypt_kv insists
        return self.value(required=False)

    def __int__(self):
        return int(self.value())

    def __float__(self):
        return float(self.value())


def _decrypt_kv(value):
    return value.value(decrypt=True) if isinstance(value, KeyLookup) else value


def _resolved(value):
    return value.value() if isinstance(value, KeyLookup) else value


def _int(value, default=0):
    try:
        return int(_resolved(value))
    except (TypeError, ValueError):
        return default


def _use_none(value):
    return NONE_MAGIC if value is None else value


def _regex_match(value, pattern):
    return re.match(pattern, str(_resolved(value))) is not None


def _regex_replace(value, pattern, replacement):
    return re.sub(pattern, replacement, str(_resolved(value)))


def _environment():
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(
        {
            "decrypt_kv": _decrypt_kv,
            "int": _int,
            "to_json_string": lambda v: json.dumps(_resolved(v)),
            "to_yaml_string": lambda v: yaml.safe_dump(_resolved(v), default_flow_style=False),
            "json_escape": lambda v: json.dumps(str(_resolved(v)))[1:-1],
            "regex_match": _regex_match,
            "regex_replace": _regex_replace,
            "use_none": _use_none,
        }
    )
    return env


NONE_MAGIC = "%*****__%NONE%__*****%"  # what use_none prints; a value rendering to it is None
ENVIRONMENT = _environment()
LONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


def is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render(template, context, label):
    """Render one template; errors become InvalidInput naming `label` and the problem."""
    try:
        text = ENVIRONMENT.from_string(template).render(context)
        return None if text == NONE_MAGIC else text
    except UndefinedError as error:
        variable = re.search(r"'([^']+)' is undefined", str(error))
        name = variable.group(1) if variable else str(error)
        raise InvalidInput(f'Dependency unsatisfied in variable "{name}"') from None
    except TemplateSyntaxError as error:
        raise InvalidInput(f'Failed to render parameter "{label}": {error.message}') from None
    except InvalidInput as error:
        raise InvalidInput(f'Failed to render parameter "{label}": {error.message}') from None
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError, re.error) as error:
        raise InvalidInput(f'Failed to render parameter "{label}": {error}') from None


def render_keeping_type(template, context, label):
    """A lone `{{ expr }}` evaluates to the expression's own value (criteria patterns keep
    their type: `{{ trigger.limit }}` stays an int); anything else renders to text."""
    lone = LONE_EXPRESSION.match(template)
    if lone is None:
        return render(template, context, label)
    try:
        expression = ENVIRONMENT.compile_expression(lone["expression"], undefined_to_none=False)
        value = expression(**context)
    except Exception:  # noqa: BLE001 - render() reports the problem the same way as elsewhere
        return render(template, context, label)
    if isinstance(value, KeyLookup):
        return value.value(required=False)
    return render(template, context, label) if isinstance(value, StrictUndefined) else value


def datastore_context(username):
    return {
        "st2kv": {
            "system": KeyLookup("system", None),
            "user": KeyLookup("user", username),
        }
    }
