"""The budget of one template render: what it may spend (settings.ST2_TEMPLATE_MAX_SECONDS,
settings.ST2_TEMPLATE_MAX_LENGTH, MAX_INT_DIGITS) and the checks that refuse an operation
before it would spend more. Every check raises InvalidInput naming the limit.

Plain Python on the values a template handles (it knows Jinja's Undefined and Namespace only
to size them); st2bridge/jinja_bounds.py wires these checks into Jinja (the environment, the
compiled code, the filters): keeping them apart keeps each readable. The limits are read from
settings when a render starts (within_bounds), so tests and operators may change them; outside
a render a check gets the sizes with a fresh deadline.

Sizes are measured as a value prints: printed_size() walks a value once but counts a part
referenced n times n times, and stops once past the limit.
"""

import contextvars
import math
import re
import string
import time
from collections.abc import Collection, Mapping

from django.conf import settings
from jinja2.runtime import Undefined
from jinja2.utils import Namespace

from .errors import InvalidInput

MAX_INT_DIGITS = 4300  # Python's own limit for printing an int (sys.int_info)
MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
MAX_DEPTH = 100  # values nested deeper are refused (request bodies stop at ST2_MAX_JSON_DEPTH)


# --- the limits of one render -----------------------------------------------------------------


class _Limits:
    """Read from settings when a render starts (tests and operators change them)."""

    __slots__ = ("seconds", "length", "deadline")

    def __init__(self):
        self.seconds = settings.ST2_TEMPLATE_MAX_SECONDS
        self.length = settings.ST2_TEMPLATE_MAX_LENGTH
        self.deadline = time.monotonic() + self.seconds


_CURRENT = contextvars.ContextVar("template_limits", default=None)


def within_bounds(work, *args):
    """work(*args) as one render: the limits read from settings now, one deadline for all of
    it. A call, not a context manager: this runs on every webhook."""
    token = _CURRENT.set(_Limits())
    try:
        return work(*args)
    finally:
        _CURRENT.reset(token)


def current_limits():
    return _CURRENT.get() or _Limits()  # outside a render: the sizes, with a fresh deadline


def tick():
    limits = current_limits()
    if time.monotonic() > limits.deadline:
        raise InvalidInput(
            f"rendering took longer than {limits.seconds:g} s (ST2_TEMPLATE_MAX_SECONDS)"
        )


def too_long(what):
    return InvalidInput(
        f"{what} would be longer than {current_limits().length} characters or items "
        "(ST2_TEMPLATE_MAX_LENGTH)"
    )


def check_length(what, estimate):
    if estimate > current_limits().length:
        raise too_long(what)


def check_int(what, bits):
    if bits > MAX_INT_BITS:
        raise InvalidInput(f"{what} would make an integer longer than {MAX_INT_DIGITS} digits")


def printed_size(value, limit=None, seen=None, depth=0):
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
    limit = current_limits().length if limit is None else limit
    total = 2
    for item in items:
        total += printed_size(item, limit - total, seen, depth + 1) + 2
        if total > limit:
            break
    seen[id(value)] = total
    return total


def _parts(value):
    """What `value` prints of, or None for a value that prints small."""
    # A lazy value (an st2kv lookup) is no Collection: it prints small until it is read.
    if isinstance(value, Undefined | range):
        return None
    if isinstance(value, Mapping):
        return [part for pair in value.items() for part in pair]
    if isinstance(value, Namespace):
        return _parts(value._Namespace__attrs)
    return value if isinstance(value, Collection) else None


def measured(value):
    """`value`, once checked printable within the length limit."""
    if type(value) is not str:
        check_length("a value", printed_size(value))
    elif len(value) > current_limits().length:
        raise too_long("a string")
    return value


_SMALL_TYPES = frozenset({int, float, bool, type(None)})


def finalized(value):
    """Every printed value: the time limit, and its printed size (fast for the usual kinds)."""
    limits = _CURRENT.get() or _Limits()
    if time.monotonic() > limits.deadline:
        tick()
    kind = type(value)
    if kind is str:
        if len(value) > limits.length:
            raise too_long("a string")
    elif kind not in _SMALL_TYPES:
        measured(value)
    return value


# --- operators and methods --------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, int)


def _power(left, right):
    if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        # |left| >= 2: the result has at least `right` bits (and a huge right is no float)
        check_int('"**"', right if right > MAX_INT_BITS else right * math.log2(abs(left)))


def _times(left, right):
    if _is_int(left) and _is_int(right):
        check_int('"*"', left.bit_length() + right.bit_length())
        return
    sequence, count = (left, right) if _is_int(right) else (right, left)
    if _is_int(count) and count > 0 and isinstance(sequence, str | bytes | list | tuple):
        check_length('"*"', printed_size(sequence) * count)


def _plus(left, right):
    sequences = str | bytes | list | tuple
    if isinstance(left, sequences) and isinstance(right, sequences):
        check_length('"+"', printed_size(left) + printed_size(right))


_PRINTF_SPEC = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _printf_size(fmt, args):
    """A bound on the length of `fmt % args`: widths and precisions can ask for any size."""
    specs = _PRINTF_SPEC.findall(fmt)
    values = args if isinstance(args, tuple) else (args,)
    widths = sum(int(n) for _key, *numbers in specs for n in numbers if n.isdigit())
    if any("*" in numbers for _key, *numbers in specs):
        widths += sum(abs(value) for value in values if _is_int(value))
    named = any(key for key, *_numbers in specs)  # %(name)s may use one value many times
    return len(fmt) + widths + printed_size(args) * (len(specs) if named else 1)


def _modulo(left, right):
    if isinstance(left, str):
        check_length('"%"', _printf_size(left, right))


def format_size(fmt, args, kwargs):
    """A bound on the length of `fmt.format(*args, **kwargs)`."""
    try:
        parsed = string.Formatter().parse(fmt)
        fields = [spec or "" for _text, name, spec, _ in parsed if name is not None]
    except ValueError:
        return 0  # str.format reports it
    widths = sum(int(n) for spec in fields for n in re.findall(r"\d+", spec))
    if any("{" in spec for spec in fields):  # nested {:{width}}
        widths += sum(abs(value) for value in (*args, *kwargs.values()) if _is_int(value))
    return len(fmt) + widths + len(fields) * (printed_size(args) + printed_size(kwargs))


BINOP_CHECKS = {"**": _power, "*": _times, "+": _plus, "%": _modulo}


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
    "join": lambda sep, items: len(sep) * len(items) + printed_size(items),
    "translate": lambda text, table: len(text) * max(map(printed_size, table.values()), default=1),
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


def check_call(function, args, kwargs):
    """Size checks before `function(*args, **kwargs)`; returns the args to call it with."""
    receiver = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    if name == "join" and isinstance(receiver, str | bytes) and args:
        args = (list(args[0]), *args[1:])  # maybe a generator: counted, then joined
    for value in (*args, *kwargs.values()):
        measured(value)
    if isinstance(receiver, str | bytes | int) and name in _METHOD_SIZES:
        check_length(f"{name}()", _method_estimate(name, receiver, args, kwargs))
    elif isinstance(receiver, list | dict | set) and name not in _SHALLOW_METHODS:
        measured(receiver)
    return args


# --- filters whose arguments choose the result's size -----------------------------------------


def _depth(value, level=0):
    if isinstance(value, Mapping):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return level
    return max((_depth(item, level + 1) for item in value), default=level + 1)


def _text_size(value):
    return len(value) if isinstance(value, str) else printed_size(value)


def _indent_size(s, width=4, first=False, blank=False):
    text = s if isinstance(s, str) else str(s)
    pad = width if isinstance(width, str) else " " * min(width, current_limits().length + 1)
    return len(text) + (text.count("\n") + 1) * len(pad)


def _replace_size(s, old, new, count=None):
    text = s if isinstance(s, str) else str(s)
    return len(text) + _occurrences(text, str(old), count) * (len(str(new)) - len(str(old)))


def _tojson_size(value, indent=None):
    if indent is None:
        return 0
    step = len(indent) if isinstance(indent, str) else indent  # json makes " " * indent first
    return max(step, printed_size(value) * (1 + step * _depth(value)))


def _urlize_size(value, trim_url_limit=None, nofollow=False, target=None, rel=None, *_):
    extra = len(str(target or "")) + len(str(rel or ""))
    return _text_size(value) * (3 + extra // 4)


# Filters with a parameter that chooses the result's size: a bound on it (None: no bound).
FILTER_SIZES = {
    "center": lambda value, width=80: width,
    "indent": _indent_size,
    "format": lambda value, *args, **kwargs: _printf_size(str(value), kwargs or args),
    "replace": _replace_size,
    "batch": lambda value, linecount, fill_with=None: None if fill_with is None else linecount,
    "slice": lambda value, slices, fill_with=None: slices,
    "urlize": _urlize_size,
    "tojson": _tojson_size,
}
