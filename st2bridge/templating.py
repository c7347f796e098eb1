"""Sandboxed Jinja2 as StackStorm uses it in parameters: `{{ st2kv.system.key }}`,
`{{ st2kv.user.key }}`, `{{ other_param }}`, and the filters people rely on.

A template reads what its user may read through the API: system secrets decrypt (`decrypt_kv`,
`.value(True)`) only for administrators (`datastore_context(..., system_decrypt=True)`).

A template comes from whoever launches an action or writes a rule and renders in a web
process, so every render does bounded work (issue 12); breaking a bound raises InvalidInput,
a 400 through the API and a failed enforcement in rules:

- time: settings.ST2_TEMPLATE_MAX_SECONDS, checked at every loop iteration, call, filter,
  attribute access, operator and output. One built-in operation cannot be interrupted, so
  the sizes below bound those;
- sizes: no string, list or output beyond settings.ST2_TEMPLATE_MAX_LENGTH characters or
  items, measured as the value prints (a list holding one long string n times counts it n
  times). Checked before the operation that would build it (`*`, `+`, `~`, `%`, `str.format`,
  the methods and filters taking a width or a count), and wherever a value is printed,
  compared, hashed or handed to a filter or a call;
- integers: `**` and `*` refuse results beyond MAX_INT_DIGITS decimal digits;
- regular expressions (regex_match, regex_replace) stop after settings.ST2_REGEX_TIMEOUT.
"""

import contextvars
import functools
import json
import math
import re
import string
import textwrap
import time
from collections.abc import Collection, Mapping

import regex
import yaml
from django.conf import settings
from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
    pass_environment,
    pass_eval_context,
)
from jinja2 import filters as jinja_filters
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from . import datastore
from .errors import InvalidInput
from .rules.operators import PatternTimeout, compile_pattern, regex_time_limit

MAX_INT_DIGITS = 4300  # Python's own limit for printing an int (sys.int_info)
MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
MAX_DEPTH = 100  # values nested deeper are refused (request bodies stop at ST2_MAX_JSON_DEPTH)
CACHED_SOURCE = 2000  # compiled templates up to this length are kept (the webhook hot path)


# --- the datastore ----------------------------------------------------------------------------


class KeyLookup:
    """`st2kv.system.a.b` reads the item named "a.b": attribute access builds the dotted name,
    and the value is fetched only when the template prints or filters it."""

    def __init__(self, scope, owner, name="", may_decrypt=True):
        self._scope, self._owner, self._name = scope, owner, name
        self._may_decrypt = may_decrypt

    def __getattr__(self, part):
        if part.startswith("_"):
            raise AttributeError(part)
        name = f"{self._name}.{part}" if self._name else part
        return KeyLookup(self._scope, self._owner, name, self._may_decrypt)

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
        return self.value(required=False)

    def __int__(self):
        return int(self.value())

    def __float__(self):
        return float(self.value())


def datastore_context(username, *, system_decrypt=False):
    """`st2kv` for a render on behalf of `username`; system secrets decrypt only when
    `system_decrypt` (the caller passes it for administrators), their own secrets always."""
    return {
        "st2kv": {
            "system": KeyLookup("system", None, may_decrypt=system_decrypt),
            "user": KeyLookup("user", username),
        }
    }


# --- the bounds of one render -----------------------------------------------------------------


class _Limits:
    """Read from settings when a render starts (tests and operators change them)."""

    __slots__ = ("seconds", "length", "deadline")

    def __init__(self):
        self.seconds = settings.ST2_TEMPLATE_MAX_SECONDS
        self.length = settings.ST2_TEMPLATE_MAX_LENGTH
        self.deadline = time.monotonic() + self.seconds


_CURRENT = contextvars.ContextVar("template_limits", default=None)


def _limits():
    return _CURRENT.get() or _Limits()  # outside a render: the sizes, with a fresh deadline


def _tick():
    limits = _limits()
    if time.monotonic() > limits.deadline:
        raise InvalidInput(
            f"rendering took longer than {limits.seconds:g} s (ST2_TEMPLATE_MAX_SECONDS)"
        )


def _too_long(what):
    return InvalidInput(
        f"{what} would be longer than {_limits().length} characters or items "
        "(ST2_TEMPLATE_MAX_LENGTH)"
    )


def _check_length(what, estimate):
    if estimate > _limits().length:
        raise _too_long(what)


def _check_int(what, bits):
    if bits > MAX_INT_BITS:
        raise InvalidInput(f"{what} would make an integer longer than {MAX_INT_DIGITS} digits")


def _size(value, limit=None, seen=None, depth=0):
    """About len(str(value)), stopping once past `limit`. A value referenced n times counts
    n times, as it prints, but is walked once: sizes grow with what the template built."""
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value)
    if kind is int:
        return value.bit_length() // 3 + 2
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    items = _parts(value)
    if items is None:
        return 8
    if depth > MAX_DEPTH:
        raise InvalidInput(f"values nested deeper than {MAX_DEPTH} levels")
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    seen[id(value)] = 0  # a value inside itself prints as [...]
    limit = _limits().length if limit is None else limit
    total = 2
    for item in items:
        total += _size(item, limit - total, seen, depth + 1) + 2
        if total > limit:
            break
    seen[id(value)] = total
    return total


def _parts(value):
    """What `value` prints of, or None for a value that prints small."""
    if isinstance(value, Undefined | KeyLookup | range):
        return None
    if isinstance(value, Mapping):
        return [part for pair in value.items() for part in pair]
    if isinstance(value, Namespace):
        return _parts(value._Namespace__attrs)
    return value if isinstance(value, Collection) else None


def _measured(value):
    """`value`, once checked printable within the length limit."""
    if type(value) is not str:
        _check_length("a value", _size(value))
    elif len(value) > _limits().length:
        raise _too_long("a string")
    return value


def _depth(value, level=0):
    if isinstance(value, Mapping):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return level
    return max((_depth(item, level + 1) for item in value), default=level + 1)


def _text_size(value):
    return len(value) if isinstance(value, str) else _size(value)


# --- operators and methods --------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, int)


def _power(left, right):
    if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        # |left| >= 2: the result has at least `right` bits (and a huge right is no float)
        _check_int('"**"', right if right > MAX_INT_BITS else right * math.log2(abs(left)))


def _times(left, right):
    if _is_int(left) and _is_int(right):
        _check_int('"*"', left.bit_length() + right.bit_length())
        return
    sequence, count = (left, right) if _is_int(right) else (right, left)
    if _is_int(count) and count > 0 and isinstance(sequence, str | bytes | list | tuple):
        _check_length('"*"', _size(sequence) * count)


def _plus(left, right):
    sequences = str | bytes | list | tuple
    if isinstance(left, sequences) and isinstance(right, sequences):
        _check_length('"+"', _size(left) + _size(right))


_PRINTF_SPEC = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _printf_size(fmt, args):
    """A bound on the length of `fmt % args`: widths and precisions can ask for any size."""
    specs = _PRINTF_SPEC.findall(fmt)
    values = args if isinstance(args, tuple) else (args,)
    widths = sum(int(n) for _key, *numbers in specs for n in numbers if n.isdigit())
    if any("*" in numbers for _key, *numbers in specs):
        widths += sum(abs(value) for value in values if _is_int(value))
    named = any(key for key, *_numbers in specs)  # %(name)s may use one value many times
    return len(fmt) + widths + _size(args) * (len(specs) if named else 1)


def _modulo(left, right):
    if isinstance(left, str):
        _check_length('"%"', _printf_size(left, right))


def _format_size(fmt, args, kwargs):
    """A bound on the length of `fmt.format(*args, **kwargs)`."""
    try:
        parsed = string.Formatter().parse(fmt)
        fields = [spec or "" for _text, name, spec, _ in parsed if name is not None]
    except ValueError:
        return 0  # str.format reports it
    widths = sum(int(n) for spec in fields for n in re.findall(r"\d+", spec))
    if any("{" in spec for spec in fields):  # nested {:{width}}
        widths += sum(abs(value) for value in (*args, *kwargs.values()) if _is_int(value))
    return len(fmt) + widths + len(fields) * (_size(args) + _size(kwargs))


_BINOP_CHECKS = {"**": _power, "*": _times, "+": _plus, "%": _modulo}


def _occurrences(text, old, count=-1):
    found = text.count(old)
    return found if count is None or count < 0 else min(found, count)


def _padded(text, width, *_args):
    return width


def _tabs_expanded(text, tabsize=8):
    return len(text) + text.count(b"\t" if isinstance(text, bytes) else "\t") * tabsize


# Methods of str/bytes (and int.to_bytes) whose result size an argument chooses: a bound on it.
_METHOD_SIZES = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _tabs_expanded,
    "replace": lambda text, old, new, count=-1: (
        len(text) + _occurrences(text, old, count) * (len(new) - len(old))
    ),
    "join": lambda sep, items: len(sep) * len(items) + _size(items),
    "translate": lambda text, table: len(text) * max(map(_size, table.values()), default=1),
    "to_bytes": lambda number, length=1, *_args, **_kwargs: length,
}
# Container methods that do not compare or hash the container's items.
_SHALLOW_METHODS = frozenset(
    "append extend insert pop popitem clear copy reverse keys values items get setdefault "
    "update add discard".split()
)


def _method_estimate(name, receiver, args, kwargs):
    try:
        return _METHOD_SIZES[name](receiver, *args, **kwargs)
    except (TypeError, ValueError, AttributeError):
        return 0  # a wrong call: the method itself reports it


def _check_call(function, args, kwargs):
    """Size checks before `function(*args, **kwargs)`; returns the args to call it with."""
    receiver = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    if name == "join" and isinstance(receiver, str | bytes) and args:
        args = (list(args[0]), *args[1:])  # maybe a generator: counted, then joined
    for value in (*args, *kwargs.values()):
        _measured(value)
    if isinstance(receiver, str | bytes | int) and name in _METHOD_SIZES:
        _check_length(f"{name}()", _method_estimate(name, receiver, args, kwargs))
    elif isinstance(receiver, list | dict | set) and name not in _SHALLOW_METHODS:
        _measured(receiver)
    return args


# --- filters ----------------------------------------------------------------------------------


class _TickingWrapper(textwrap.TextWrapper):
    def _handle_long_word(self, reversed_chunks, cur_line, cur_len, width):
        _tick()  # splitting a long word copies the rest of it: quadratic on a long word
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)


@pass_environment
def _wordwrap(
    environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True
):
    """Jinja's wordwrap, with the time limit checked while a long word is split."""
    wrapstring = environment.newline_sequence if wrapstring is None else wrapstring
    lines = 2 * len(s) // max(width, 1) + s.count("\n") + 1
    _check_length("wordwrap", len(s) + lines * len(wrapstring))
    wrapper = _TickingWrapper(
        width=width,
        expand_tabs=False,
        replace_whitespace=False,
        break_long_words=break_long_words,
        break_on_hyphens=break_on_hyphens,
    )
    return wrapstring.join(wrapstring.join(wrapper.wrap(line)) for line in s.splitlines())


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    """Jinja's join, with the items counted first (the separator repeats between each)."""
    items = list(value)
    _check_length("join", len(str(d)) * len(items) + _size(items))
    return jinja_filters.sync_do_join(eval_ctx, items, d, attribute)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    """Jinja's sum; lists and tuples are added in linear time (sum() copies the total at
    every step: a thousand lists of a thousand took seconds)."""
    if not isinstance(start, list | tuple):
        return jinja_filters.sync_do_sum(environment, iterable, attribute, start)
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(environment, attribute), iterable)
    total = list(start)
    for item in iterable:
        if not isinstance(item, type(start)):
            kind = type(start).__name__
            raise TypeError(f'can only concatenate {kind} (not "{type(item).__name__}") to {kind}')
        total.extend(item)
        _check_length("sum", len(total))
    return type(start)(total)


def _indent_size(s, width=4, first=False, blank=False):
    text = s if isinstance(s, str) else str(s)
    pad = width if isinstance(width, str) else " " * min(width, _limits().length + 1)
    return len(text) + (text.count("\n") + 1) * len(pad)


def _replace_size(s, old, new, count=None):
    text = s if isinstance(s, str) else str(s)
    return len(text) + _occurrences(text, str(old), count) * (len(str(new)) - len(str(old)))


def _tojson_size(value, indent=None):
    if indent is None:
        return 0
    step = len(indent) if isinstance(indent, str) else indent  # json makes " " * indent first
    return max(step, _size(value) * (1 + step * _depth(value)))


def _urlize_size(value, trim_url_limit=None, nofollow=False, target=None, rel=None, *_):
    extra = len(str(target or "")) + len(str(rel or ""))
    return _text_size(value) * (3 + extra // 4)


# Filters with a parameter that chooses the result's size: a bound on it (None: no bound).
_FILTER_SIZES = {
    "center": lambda value, width=80: width,
    "indent": _indent_size,
    "format": lambda value, *args, **kwargs: _printf_size(str(value), kwargs or args),
    "replace": _replace_size,
    "batch": lambda value, linecount, fill_with=None: None if fill_with is None else linecount,
    "slice": lambda value, slices, fill_with=None: slices,
    "urlize": _urlize_size,
    "tojson": _tojson_size,
}


def _bounded_filter(name, function):
    """`function` with the time limit, its arguments measured, a bound on what a size
    parameter asks for, and its result measured."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) else 0  # context or environment
    estimate = _FILTER_SIZES.get(name)

    @functools.wraps(function)
    def run(*args, **kwargs):
        _tick()
        for value in (*args[skip:], *kwargs.values()):
            _measured(value)
        if estimate is not None:
            try:
                size = estimate(*args[skip:], **kwargs)
            except (TypeError, ValueError, AttributeError):
                size = None  # a wrong call: the filter itself reports it
            if size is not None:
                _check_length(name, size)
        return _measured(function(*args, **kwargs))

    return run


def _lipsum(n=5, html=True, min=20, max=100):  # Jinja's names
    if _is_int(n) and _is_int(max):
        _check_length("lipsum()", n * max * 12)
    return generate_lorem_ipsum(n, html, min, max)


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
        _check_length("regex_replace", produced[0])
        return piece

    try:
        with regex_time_limit(pattern) as timeout:
            return compiled.sub(expand, text, timeout=timeout)
    except PatternTimeout as error:
        raise InvalidInput(f"regex_replace: {error}") from None


class _YamlDumper(yaml.SafeDumper):
    """yaml.safe_dump in pure Python, with the time limit checked at every node."""

    def represent_data(self, data):
        _tick()
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


def _internal_call(method, node):
    """A node compiling to `environment.<method>(<node>)` (see _Code.visit_Call; Jinja forbids
    new node types, and its parser never makes an EnvironmentAttribute)."""
    return nodes.Call(
        nodes.EnvironmentAttribute(method), [node], [], None, None, lineno=node.lineno
    )


class _Bounds(NodeTransformer):
    """Routes through the environment what the sandbox does not see: loops (checked at each
    iteration), `~` (sized before joining), and comparison operands and dict keys (sized
    before they are compared or hashed, which walks them)."""

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _internal_call("bounded_loop", node.iter)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return _internal_call("bounded_join", parts)

    def visit_Compare(self, node):
        self.generic_visit(node)
        node.expr = _measured_node(node.expr)
        for operand in node.ops:
            operand.expr = _measured_node(operand.expr)
        return node

    def visit_Pair(self, node):
        self.generic_visit(node)
        node.key = _measured_node(node.key)
        return node


def _measured_node(node):
    if isinstance(node, nodes.Const):
        return node
    return _internal_call("measured", node)


_INTERNAL_CALLS = frozenset({"bounded_loop", "bounded_join", "measured"})


class _Code(CodeGenerator):
    def visit_Call(self, node, frame, forward_caller=False):
        internal = isinstance(node.node, nodes.EnvironmentAttribute)
        if not (internal and node.node.name in _INTERNAL_CALLS):
            return super().visit_Call(node, frame, forward_caller=forward_caller)
        self.write(f"environment.{node.node.name}(")
        self.visit(node.args[0], frame)
        self.write(")")


def _bounded_loop(iterable):
    deadline = _limits().deadline
    for item in iterable:
        if time.monotonic() > deadline:
            _tick()
        yield item


def _bounded_join(parts):
    """`~`: "".join(map(str, parts)), each part sized before it is printed."""
    limit = _limits().length
    for part in parts:
        if type(part) is not str and _size(part, limit) > limit:
            raise _too_long("the output")
    return _bounded_concat(map(str, parts))


def _bounded_concat(parts):
    """ "".join(parts) for the output and buffers (macros, blocks), counting as it goes: a loop
    may print one long string many times."""
    limit = _limits().length
    texts, total = [], 0
    for part in parts:
        total += len(part)
        if total > limit:
            raise _too_long("the output")
        texts.append(part)
    return "".join(texts)


_SMALL_TYPES = frozenset({int, float, bool, type(None)})


def _finalized(value):
    """Every printed value: the time limit, and its printed size (fast for the usual kinds)."""
    limits = _CURRENT.get() or _Limits()
    if time.monotonic() > limits.deadline:
        _tick()
    kind = type(value)
    if kind is str:
        if len(value) > limits.length:
            raise _too_long("a string")
    elif kind not in _SMALL_TYPES:
        _measured(value)
    return value


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with the bounds of the module docstring."""

    code_generator_class = _Code
    intercepted_binops = frozenset(_BINOP_CHECKS)
    concat = staticmethod(_bounded_concat)
    bounded_join = staticmethod(_bounded_join)
    bounded_loop = staticmethod(_bounded_loop)
    measured = staticmethod(_measured)

    def _generate(self, source, *args, **kwargs):
        return super()._generate(_Bounds().visit(source), *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        _tick()
        _BINOP_CHECKS[operator](left, right)
        result = super().call_binop(context, operator, left, right)
        if type(result) is int:
            _check_int(f'"{operator}"', result.bit_length())
        return result

    def getattr(self, obj, attribute):
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _tick()
        if isinstance(argument, tuple):
            _measured(argument)  # hashed
        return super().getitem(obj, argument)

    def call(self, context, function, /, *args, **kwargs):
        _tick()
        args = _check_call(function, args, kwargs)
        result = super().call(context, function, *args, **kwargs)
        receiver = getattr(function, "__self__", None)
        if isinstance(receiver, list | dict | set):  # grown by append, update, ...
            _check_length(f"{getattr(function, '__name__', 'a call')}()", len(receiver))
        return _measured(result)

    def wrap_str_format(self, value):
        formatted = super().wrap_str_format(value)
        if formatted is None:
            return None
        fmt, is_map = value.__self__, value.__name__ == "format_map"

        @functools.wraps(formatted)
        def checked(*args, **kwargs):
            mapping = args[0] if is_map and args and isinstance(args[0], Mapping) else kwargs
            _check_length("format()", _format_size(fmt, () if is_map else args, mapping))
            return formatted(*args, **kwargs)

        return checked


def _environment():
    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalized)
    env.filters.update(ST2_FILTERS)
    env.filters.update({"wordwrap": _wordwrap, "sum": _sum, "join": _join})
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: _bounded_filter(name, test) for name, test in env.tests.items()}
    env.globals["lipsum"] = _lipsum
    return env


NONE_MAGIC = "%*****__%NONE%__*****%"  # what use_none prints; a value rendering to it is None
ENVIRONMENT = _environment()
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


def is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


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


def render(template, context, label):
    """Render one template within the bounds; errors become InvalidInput naming `label`."""
    token = _CURRENT.set(_Limits())  # not a context manager: this runs on every webhook
    try:
        text = _template(template).render(context)
    except _RENDER_ERRORS as error:
        raise _invalid(error, label) from None
    finally:
        _CURRENT.reset(token)
    return None if text == NONE_MAGIC else text


def render_keeping_type(template, context, label):
    """A lone `{{ expr }}` evaluates to the expression's own value (criteria patterns keep
    their type: `{{ trigger.limit }}` stays an int); anything else renders to text."""
    lone = LONE_EXPRESSION.match(template)
    if lone is None:
        return render(template, context, label)
    token = _CURRENT.set(_Limits())
    try:
        value = _measured(_expression(lone["expression"])(**context))
        if isinstance(value, KeyLookup):
            value = value.value(required=False)
        as_text = isinstance(value, StrictUndefined)  # render() names the missing variable
    except TemplateSyntaxError:
        as_text = True  # render() reports it as it reports any template's
    except _RENDER_ERRORS as error:
        raise _invalid(error, label) from None
    finally:
        _CURRENT.reset(token)
    return render(template, context, label) if as_text else value
