"""Criteria operators with StackStorm's names, aliases and semantics (notes §5.4, §11 item 8).

Each operator is `function(value, pattern) -> bool`; `value` comes from the trigger payload and
`pattern` from the rule. As in StackStorm:

- there is no type casting: `equals(1, "1")` is False;
- a null pattern never matches (except for `nequals`, `exists` and `nexists`);
- an operation the value's type does not support (`lessthan` between a string and a number,
  `iequals` on a number, `regex` on a missing value, an unparseable timestamp, a bad regular
  expression) is an error, not a quiet False: StackStorm reports it as no match plus a failed
  rule enforcement, so here it raises `OperatorError` (a `ValueError`) for the caller to record;
- a missing key reads as None (`MISSING` is accepted wherever None is).

`search` is the one operator with more arguments: `search(value, pattern, condition, check)`,
where `check(key, criterion, item) -> bool` evaluates one sub-criterion against one list item;
`criteria.criteria_match` supplies it, as StackStorm's rule filter does.

Patterns (`regex`, `iregex`, `matchregex`, `matchwildcard`) run on the `regex` package in its
`re`-compatible mode, stopped after settings.ST2_REGEX_TIMEOUT seconds (read at each match, the
one setting this module reads): a backtracking pattern such as `(a|aa)+$` fails its enforcement
with PatternTimeout instead of holding a web process.
"""

import contextlib
import fnmatch
import functools
from datetime import UTC, datetime

import regex as regex_package
from django.conf import settings


class _Missing:
    """The value of a key that is absent from the payload (StackStorm reads it as None)."""

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()

SEARCH_CONDITIONS = ("any", "all", "any2any", "all2any")


class OperatorError(ValueError):
    """The operator cannot compare this value with this pattern (a failed enforcement)."""


class UnrecognizedCondition(OperatorError):
    pass


class PatternTimeout(OperatorError):
    """A regular expression ran past settings.ST2_REGEX_TIMEOUT."""


class UnknownOperator(ValueError):
    def __init__(self, name):
        self.name = name
        super().__init__(f"operator {name} not in list of allowed operators: {list(OPERATORS)}")


def _operator(name):
    """Decorate an operator: MISSING reads as None, bytes as text, and type errors raised by
    the comparison become OperatorError naming the operator."""

    def decorate(func):
        @functools.wraps(func)
        def run(value, pattern, *args, **kwargs):
            value = None if value is MISSING else _text(value)
            pattern = _text(pattern)
            try:
                return func(value, pattern, *args, **kwargs)
            except (OperatorError, UnknownOperator):
                raise
            except (
                TypeError,
                AttributeError,
                ValueError,
                OverflowError,
                regex_package.error,
            ) as error:
                raise OperatorError(f"{name}: {error}") from error

        return run

    return decorate


def _text(value):
    # StackStorm decodes bytes so payloads from sensors compare as text.
    return value.decode("utf-8") if isinstance(value, bytes) else value


# --- equality and containment ----------------------------------------------------------------


@_operator("equals")
def equals(value, pattern):
    return pattern is not None and value == pattern


@_operator("nequals")
def nequals(value, pattern):
    return value != pattern


@_operator("iequals")
def iequals(value, pattern):
    return pattern is not None and value.lower() == pattern.lower()


@_operator("contains")
def contains(value, pattern):
    return pattern is not None and pattern in value


@_operator("icontains")
def icontains(value, pattern):
    return pattern is not None and pattern.lower() in value.lower()


@_operator("ncontains")
def ncontains(value, pattern):
    return pattern is not None and pattern not in value


@_operator("incontains")
def incontains(value, pattern):
    return pattern is not None and pattern.lower() not in value.lower()


@_operator("inside")
def inside(value, pattern):
    return pattern is not None and value in pattern


@_operator("ninside")
def ninside(value, pattern):
    return pattern is not None and value not in pattern


# --- prefixes, suffixes, patterns ------------------------------------------------------------


@_operator("startswith")
def startswith(value, pattern):
    return pattern is not None and value.startswith(pattern)


@_operator("istartswith")
def istartswith(value, pattern):
    return pattern is not None and value.lower().startswith(pattern.lower())


@_operator("endswith")
def endswith(value, pattern):
    return pattern is not None and value.endswith(pattern)


@_operator("iendswith")
def iendswith(value, pattern):
    return pattern is not None and value.lower().endswith(pattern.lower())


def compile_pattern(pattern, flags=0):
    """`pattern` compiled by the regex package with re's syntax and behaviour (VERSION0)."""
    return regex_package.compile(pattern, flags | regex_package.VERSION0)


@contextlib.contextmanager
def regex_time_limit(pattern):
    """Yields the timeout to pass to a match; turns the regex package's TimeoutError into
    PatternTimeout naming the pattern."""
    timeout = settings.ST2_REGEX_TIMEOUT
    try:
        yield timeout
    except TimeoutError:
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        raise PatternTimeout(
            f'the pattern "{shown}" timed out after {timeout:g} s (ST2_REGEX_TIMEOUT)'
        ) from None


def _found(pattern, value, flags=0, anchored=False):
    compiled = compile_pattern(pattern, flags)
    with regex_time_limit(pattern) as timeout:
        if anchored:
            return compiled.match(value, timeout=timeout) is not None
        return compiled.search(value, timeout=timeout) is not None


@_operator("matchwildcard")
def match_wildcard(value, pattern):
    # fnmatch.fnmatch on POSIX: the shell pattern as a regular expression, matched whole.
    return pattern is not None and _found(fnmatch.translate(pattern), value, anchored=True)


@_operator("matchregex")
def match_regex(value, pattern):
    # Deprecated in StackStorm in favour of regex/iregex; anchored at the start, DOTALL.
    return pattern is not None and _found(pattern, value, regex_package.DOTALL, anchored=True)


@_operator("regex")
def regex(value, pattern):
    return pattern is not None and _found(pattern, value)


@_operator("iregex")
def iregex(value, pattern):
    return pattern is not None and _found(pattern, value, regex_package.IGNORECASE)


# --- ordering and time -----------------------------------------------------------------------


@_operator("lessthan")
def less_than(value, pattern):
    return pattern is not None and value < pattern


@_operator("greaterthan")
def greater_than(value, pattern):
    return pattern is not None and value > pattern


def parse_timestamp(value):
    """A datetime, an ISO 8601 string or `str(datetime)`; naive values are taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age_seconds(value):
    return (datetime.now(UTC) - parse_timestamp(value)).total_seconds()


@_operator("timediff_lt")
def timediff_lt(value, pattern):
    """True when `value` lies less than `pattern` seconds in the past."""
    return pattern is not None and _age_seconds(value) < float(pattern)


@_operator("timediff_gt")
def timediff_gt(value, pattern):
    """True when `value` lies more than `pattern` seconds in the past."""
    return pattern is not None and _age_seconds(value) > float(pattern)


# --- presence --------------------------------------------------------------------------------


@_operator("exists")
def exists(value, pattern):
    # The pattern is ignored (but rule validation still requires one).
    return value is not None


@_operator("nexists")
def nexists(value, pattern):
    return value is None


# --- search over lists -----------------------------------------------------------------------


@_operator("search")
def search(value, pattern, condition, check):
    """Match the list `value` (a dict counts as a one-item list) against the sub-criteria in
    `pattern` ({"item.<field>": {"type": ..., "pattern": ...}}):

    - any: some item matches every sub-criterion;   - all: every item matches every one;
    - any2any: some item matches some sub-criterion; - all2any: every item matches some one.

    As in Python (and StackStorm), an empty list matches `all`/`all2any` and not `any`/`any2any`.
    """
    if condition not in SEARCH_CONDITIONS:
        raise UnrecognizedCondition(
            f"The '{condition}' condition is not recognized for type search, 'any', 'all', "
            "'any2any' and 'all2any' are allowed"
        )
    items = [value] if isinstance(value, dict) else value
    over_items = any if condition in ("any", "any2any") else all
    over_criteria = any if condition in ("any2any", "all2any") else all
    sub_criteria = list(pattern.items())
    return over_items(
        over_criteria(check(key, criterion, item) for key, criterion in sub_criteria)
        for item in items
    )


# --- lookup ----------------------------------------------------------------------------------

# Names and order as in StackStorm (the order shows in the "allowed operators" message).
OPERATORS = {
    "matchwildcard": match_wildcard,
    "matchregex": match_regex,
    "regex": regex,
    "iregex": iregex,
    "eq": equals,
    "equals": equals,
    "nequals": nequals,
    "neq": nequals,
    "ieq": iequals,
    "iequals": iequals,
    "contains": contains,
    "icontains": icontains,
    "ncontains": ncontains,
    "incontains": incontains,
    "startswith": startswith,
    "istartswith": istartswith,
    "endswith": endswith,
    "iendswith": iendswith,
    "lt": less_than,
    "lessthan": less_than,
    "gt": greater_than,
    "greaterthan": greater_than,
    "td_lt": timediff_lt,
    "timediff_lt": timediff_lt,
    "td_gt": timediff_gt,
    "timediff_gt": timediff_gt,
    "exists": exists,
    "nexists": nexists,
    "inside": inside,
    "in": inside,
    "ninside": ninside,
    "nin": ninside,
    "search": search,
}
OPERATOR_NAMES = tuple(OPERATORS)
SEARCH = "search"


def is_known(name):
    """Whether a rule may name this operator (exact, case-sensitive, as StackStorm validates)."""
    return isinstance(name, str) and name in OPERATORS


def get_operator(name):
    """The operator for a stored rule; like StackStorm's matcher, the name is case-insensitive."""
    if isinstance(name, str) and name.lower() in OPERATORS:
        return OPERATORS[name.lower()]
    raise UnknownOperator(name)
