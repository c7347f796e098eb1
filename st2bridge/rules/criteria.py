"""Rule criteria: validate them and match them against a trigger instance (notes §5.4).

Pure functions: no database (the operators read one setting, the regex timeout). Criteria are
StackStorm's dict

    {"trigger.body.name": {"type": "equals", "pattern": "st2"},
     "trigger.fields": {"type": "search", "condition": "any",
                        "pattern": {"item.name": {"type": "equals", "pattern": "Status"}}}}

and all of them must match (AND). A key is a path into the context (`{"trigger": payload,
"st2kv": ...}`): dotted fields, `['quoted-field']`, `[0]` list indexes (a numeric dotted part
works too), `[*]`/`*` (the first match wins, as in StackStorm); anything after `#` is ignored so
one field can be tested twice (`trigger.count#2`).
"""

import functools
import re
from collections.abc import Mapping

from .operators import (
    MISSING,
    SEARCH,
    SEARCH_CONDITIONS,
    OperatorError,
    PatternTimeout,
    UnknownOperator,
    get_operator,
    is_known,
)

__all__ = [
    "MISSING",
    "CriteriaError",
    "CriteriaTimeout",
    "UnknownCriteriaOperator",
    "check_criteria",
    "criteria_match",
    "lookup",
]


class CriteriaError(ValueError):
    """A criterion could not be evaluated: StackStorm records a failed rule enforcement."""


class UnknownCriteriaOperator(CriteriaError):
    """A stored rule names an operator that does not exist (it fails the whole rule)."""


class CriteriaTimeout(CriteriaError, PatternTimeout):
    """A pattern ran past its time limit: it fails the whole rule, even inside `search` (a
    PatternTimeout, so that the search operator passes it on as it is)."""


# --- validation (rule create/update) ----------------------------------------------------------


def check_criteria(criteria):
    """Raise ValueError with StackStorm's message for the first invalid criterion.

    As StackStorm requires, every criterion names a known operator (exact case) and a non-null
    `pattern`, even `exists`/`nexists`. A `search` criterion must also have a known `condition`
    and a dict of sub-criteria, which are checked the same way (StackStorm only finds those
    mistakes when the rule fires)."""
    if not isinstance(criteria, Mapping):
        raise ValueError("Criteria should be a dict.")
    for key, criterion in criteria.items():
        if not isinstance(criterion, Mapping):
            raise ValueError(f"For field: {key}, criterion should be a dict.")
        operator = criterion.get("type")
        if operator is None:
            raise ValueError(f"Operator not specified for field: {key}")
        if not is_known(operator):
            raise ValueError(f"For field: {key}, {UnknownOperator(operator)}")
        pattern = criterion.get("pattern")
        if pattern is None:
            raise ValueError(f"For field: {key}, no pattern specified for operator {operator}")
        if operator == SEARCH:
            _check_search(key, criterion.get("condition"), pattern)


def _check_search(key, condition, pattern):
    if condition not in SEARCH_CONDITIONS:
        raise ValueError(
            f"For field: {key}, the '{condition}' condition is not recognized for type search, "
            "'any', 'all', 'any2any' and 'all2any' are allowed"
        )
    if not isinstance(pattern, Mapping):
        raise ValueError(f"For field: {key}, the search pattern should be a dict of criteria.")
    check_criteria(pattern)


# --- lookup ------------------------------------------------------------------------------------

_SEGMENT = re.compile(
    r"""
      \[\s*(?:(?P<index>-?\d+)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<star>\*))\s*\]
    | (?P<dot>\.)?(?:'(?P<qsq>[^']*)'|"(?P<qdq>[^"]*)"|(?P<name>[^.\[\]'"\s]+))
    """,
    re.VERBOSE,
)


@functools.lru_cache(maxsize=1024)
def parse_key(key):
    """A criteria key as a tuple of ("field", name) / ("index", n) / ("any",) steps."""
    path = key.split("#", 1)[0].strip()
    steps, position = [], 0
    while position < len(path):
        found = _SEGMENT.match(path, position)
        bracket = found is not None and found.group(0).startswith("[")
        if not found or (not bracket and bool(found["dot"]) != (position > 0)):
            raise CriteriaError(f'Invalid criteria key "{key}"')
        position = found.end()
        if found["index"] is not None:
            steps.append(("index", int(found["index"])))
        elif found["star"] or found["name"] == "*":
            steps.append(("any",))
        else:
            name = next(
                found[g] for g in ("sq", "dq", "qsq", "qdq", "name") if found[g] is not None
            )
            steps.append(("field", name))
    if not steps:
        raise CriteriaError(f'Invalid criteria key "{key}"')
    return tuple(steps)


def lookup(context, key):
    """The value at `key` in `context`, or MISSING when the path leads nowhere."""
    return next(_walk(context, parse_key(key)), MISSING)


def _walk(value, steps):
    if not steps:
        yield value
        return
    step, rest = steps[0], steps[1:]
    for child in _children(value, step):
        yield from _walk(child, rest)


def _children(value, step):
    is_list = isinstance(value, list | tuple)
    if step[0] == "any":
        yield from value.values() if isinstance(value, Mapping) else value if is_list else ()
    elif step[0] == "field":
        name = step[1]
        if isinstance(value, Mapping):
            if name in value:
                yield value[name]
        elif is_list and name.isdigit() and int(name) < len(value):
            yield value[int(name)]
    elif is_list and -len(value) <= step[1] < len(value):
        yield value[step[1]]


# --- matching ----------------------------------------------------------------------------------


def criteria_match(criteria, context, render_pattern=lambda pattern: pattern):
    """(matched, reason) for a trigger instance's context against a rule's criteria.

    String patterns go through `render_pattern` first (the caller's Jinja renderer, which should
    keep the type of a lone `{{ expr }}`); its errors propagate. A criterion that cannot be
    evaluated (type mismatch, bad regex or timestamp, unknown operator at match time) raises
    CriteriaError: StackStorm counts it as no match and records a failed enforcement."""
    if not criteria:
        return True, "no criteria"
    if not context.get("trigger"):
        return False, "the trigger payload is empty"
    for key, criterion in criteria.items():
        matched, reason = _match_one(key, criterion, context, render_pattern)
        if not matched:
            return False, reason
    return True, f"all {len(criteria)} criteria matched"


def _match_one(key, criterion, context, render_pattern):
    if not isinstance(criterion, Mapping) or "type" not in criterion:
        return False, f'criterion "{key}" has no operator type'
    name = criterion["type"]
    try:
        operator = get_operator(name)
    except UnknownOperator as error:
        raise UnknownCriteriaOperator(f"For field: {key}, {error}") from None
    pattern = criterion.get("pattern")
    if isinstance(pattern, str):
        pattern = render_pattern(pattern)
    value = lookup(context, key)
    try:
        if name.lower() == SEARCH:
            check = functools.partial(_check_item, render_pattern=render_pattern)
            matched = operator(value, pattern, criterion.get("condition"), check)
        else:
            matched = operator(value, pattern)
    except PatternTimeout as error:
        raise CriteriaTimeout(f'Failed to evaluate criterion "{key}" ({name}): {error}') from None
    except (OperatorError, CriteriaError) as error:
        raise CriteriaError(f'Failed to evaluate criterion "{key}" ({name}): {error}') from None
    if matched:
        return True, ""
    shown = "missing" if value is MISSING else _short(value)
    return False, f'criterion "{key}" ({name} {_short(pattern)}) did not match {shown}'


def _check_item(key, criterion, item, render_pattern):
    """One sub-criterion of `search` against one list item (keys start with `item.`). As in
    StackStorm, a sub-criterion that cannot be evaluated on an item just does not match it;
    a timeout stops the rule (each item would wait for it again)."""
    try:
        return _match_one(key, criterion, {"item": item}, render_pattern)[0]
    except (UnknownCriteriaOperator, CriteriaTimeout):
        raise
    except CriteriaError:
        return False


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
