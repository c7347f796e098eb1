"""Sandboxed Jinja2 as StackStorm uses it in parameters: `{{ st2kv.system.key }}`,
`{{ st2kv.user.key }}`, `{{ other_param }}`, and the filters people rely on.

A template reads what its user may read through the API: system secrets decrypt (`decrypt_kv`,
`.value(True)`) only for administrators (`datastore_context(..., system_decrypt=True)`).

A template comes from whoever launches an action or writes a rule and renders in a web
process, so every render does bounded work (issue 12): the sandbox and its bounds on time,
sizes and integers are st2bridge/jinja_bounds.py. Breaking a bound raises InvalidInput, a 400
through the API and a failed enforcement in rules. The filters here keep to the same bounds,
and regular expressions (regex_match, regex_replace) stop after settings.ST2_REGEX_TIMEOUT.

Rendering reads the datastore, so this module belongs to the side that launches and fires
(executions, dispatch). Whether a value is a template at all is st2bridge.params.is_template,
pure, which the portal uses too.
"""

import functools
import json
import re

import regex
import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError

from . import datastore
from .errors import InvalidInput
from .jinja_bounds import bounded_environment, check_length, measured, tick, within_bounds
from .rules.operators import PatternTimeout, compile_pattern, regex_time_limit

CACHED_SOURCE = 2000  # compiled templates up to this length are kept (the webhook hot path)


# --- the datastore ----------------------------------------------------------------------------


class KeyLookup:
    """`st2kv.system.a.b` reads the item named "a.b": attribute access builds the dotted name,
    and the value is fetched only when the template prints or filters it."""

    def __init__(self, scope, owner, name="", may_decrypt=True, decrypted=False):
        self._scope, self._owner, self._name = scope, owner, name
        self._may_decrypt = may_decrypt
        self._decrypted = decrypted  # secrets print as their plaintext (secret config items)

    def __getattr__(self, part):
        if part.startswith("_"):
            raise AttributeError(part)
        name = f"{self._name}.{part}" if self._name else part
        return KeyLookup(self._scope, self._owner, name, self._may_decrypt, self._decrypted)

    __getitem__ = __getattr__

    def _label(self):
        return f"st2kv.{'system' if self._scope == 'system' else 'user'}.{self._name}"

    def value(self, decrypt=False, required=True):
        item = datastore.get_item(self._scope, self._name, self._owner)
        if decrypt and item is not None and item.secret and not self._may_decrypt:
            # As GET /api/v1/keys/<name>?decrypt=true refuses it (datastore._check_decrypt).
            raise InvalidInput(f'only administrators may decrypt system secret "{self._label()}"')
        found = None if item is None else datastore.shown_value(item, decrypt)[0]
        if found in (None, "") and required:
            raise InvalidInput(
                f'Referenced datastore item "{self._label()}" doesn\'t exist or it contains '
                "an empty string"
            )
        return found or ""

    def __str__(self):  # a missing item prints as "", a secret as its ciphertext (notes §4.6)
        return self.value(decrypt=self._decrypted, required=False)

    def __int__(self):
        return int(self.value(decrypt=self._decrypted))

    def __float__(self):
        return float(self.value(decrypt=self._decrypted))


def datastore_context(username, *, system_decrypt=False, decrypted=False):
    """`st2kv` for a render on behalf of `username`; system secrets decrypt only when
    `system_decrypt` (the caller passes it for administrators), their own secrets always.
    `decrypted`: secrets print as plaintext without `| decrypt_kv` (StackStorm renders the
    values of secret config items so)."""
    return {
        "st2kv": {
            "system": KeyLookup("system", None, may_decrypt=system_decrypt, decrypted=decrypted),
            "user": KeyLookup("user", username, decrypted=decrypted),
        }
    }


# --- st2's filters ----------------------------------------------------------------------------


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


def _regex_flags(ignorecase):
    return regex.IGNORECASE if ignorecase else 0


def _regex_match(value, pattern, ignorecase=False):
    compiled = compile_pattern(pattern, _regex_flags(ignorecase))
    try:
        with regex_time_limit(pattern) as timeout:
            return compiled.match(str(_resolved(value)), timeout=timeout) is not None
    except PatternTimeout as error:
        raise InvalidInput(f"regex_match: {error}") from None


def _regex_replace(value, pattern, replacement, ignorecase=False):
    """re.sub, with the output counted as it grows (an empty pattern matches everywhere)."""
    if not isinstance(replacement, str):  # as re.sub; the regex package fails obscurely
        raise TypeError(f"regex_replace: the replacement must be a string, not {replacement!r}")
    compiled = compile_pattern(pattern, _regex_flags(ignorecase))
    text = str(_resolved(value))
    produced = [len(text)]

    def expand(match):
        piece = match.expand(replacement)
        produced[0] += len(piece)
        check_length("regex_replace", produced[0])
        return piece

    try:
        with regex_time_limit(pattern) as timeout:
            return compiled.sub(expand, text, timeout=timeout)
    except PatternTimeout as error:
        raise InvalidInput(f"regex_replace: {error}") from None


class _YamlDumper(yaml.SafeDumper):
    """yaml.safe_dump in pure Python, with the time limit checked at every node."""

    def represent_data(self, data):
        tick()
        return super().represent_data(data)


def _to_yaml_string(value):
    return yaml.dump(_resolved(value), Dumper=_YamlDumper, default_flow_style=False)


ST2_FILTERS = {
    "decrypt_kv": _decrypt_kv,
    "int": _int,
    "to_json_string": lambda v: json.dumps(_resolved(v)),
    "to_yaml_string": _to_yaml_string,
    "json_escape": lambda v: json.dumps(str(_resolved(v)))[1:-1],
    "regex_match": _regex_match,
    "regex_replace": _regex_replace,
    "use_none": _use_none,
}


# --- the environment --------------------------------------------------------------------------


NONE_MAGIC = "%*****__%NONE%__*****%"  # what use_none prints; a value rendering to it is None
ENVIRONMENT = bounded_environment(ST2_FILTERS, undefined=StrictUndefined, autoescape=False)
LONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


@functools.lru_cache(maxsize=1024)
def _cached_template(source):
    return ENVIRONMENT.from_string(source)


@functools.lru_cache(maxsize=1024)
def _cached_expression(source):
    return ENVIRONMENT.compile_expression(source, undefined_to_none=False)


def _template(source):
    # Compiling costs far more than rendering; short templates (rules') are compiled once.
    if len(source) <= CACHED_SOURCE:
        return _cached_template(source)
    return ENVIRONMENT.from_string(source)


def _expression(source):
    if len(source) <= CACHED_SOURCE:
        return _cached_expression(source)
    return ENVIRONMENT.compile_expression(source, undefined_to_none=False)


# --- rendering --------------------------------------------------------------------------------


# What a template can cause (a wrong type, a bad pattern, a bound); anything else is a bug.
# Jinja's truncate checks its arguments with assert.
_RENDER_ERRORS = (
    AssertionError,
    TemplateError,
    InvalidInput,
    ArithmeticError,
    AttributeError,
    LookupError,
    TypeError,
    ValueError,
    RuntimeError,
    re.error,
    regex.error,
    yaml.YAMLError,
)


def _invalid(error, label):
    """The InvalidInput that reports a render error, naming `label` and the problem."""
    if isinstance(error, UndefinedError):
        variable = re.search(r"'([^']+)' is undefined", str(error))
        name = variable.group(1) if variable else str(error)
        return InvalidInput(f'Dependency unsatisfied in variable "{name}"')
    if isinstance(error, TemplateSyntaxError | InvalidInput):
        problem = error.message
    elif isinstance(error, RecursionError):
        problem = "calls or values nested too deeply"
    else:
        problem = str(error)
    return InvalidInput(f'Failed to render parameter "{label}": {problem}')


def _render_text(template, context):
    return _template(template).render(context)


def render(template, context, label):
    """Render one template within the bounds; errors become InvalidInput naming `label`."""
    try:
        text = within_bounds(_render_text, template, context)
    except _RENDER_ERRORS as error:
        raise _invalid(error, label) from None
    return None if text == NONE_MAGIC else text


def _evaluate(expression, context):
    value = measured(_expression(expression)(**context))
    if isinstance(value, KeyLookup):
        value = str(value)  # as it prints: decrypted only where the lookup says so
    return value


def render_keeping_type(template, context, label):
    """A lone `{{ expr }}` evaluates to the expression's own value (criteria patterns keep
    their type: `{{ trigger.limit }}` stays an int); anything else renders to text."""
    lone = LONE_EXPRESSION.match(template)
    if lone is None:
        return render(template, context, label)
    try:
        value = within_bounds(_evaluate, lone["expression"], context)
        as_text = isinstance(value, StrictUndefined)  # render() names the missing variable
    except TemplateSyntaxError:
        as_text = True  # render() reports it as it reports any template's
    except _RENDER_ERRORS as error:
        raise _invalid(error, label) from None
    return render(template, context, label) if as_text else value
