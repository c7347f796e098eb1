"""Criteria operators, one by one, against StackStorm's semantics (notes §5.4, §11 item 8)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from st2bridge.rules.operators import (
    MISSING,
    OPERATOR_NAMES,
    OPERATORS,
    OperatorError,
    PatternTimeout,
    UnknownOperator,
    UnrecognizedCondition,
    get_operator,
    is_known,
)

ALIASES = {
    "eq": "equals",
    "neq": "nequals",
    "ieq": "iequals",
    "lt": "lessthan",
    "gt": "greaterthan",
    "td_lt": "timediff_lt",
    "td_gt": "timediff_gt",
    "in": "inside",
    "nin": "ninside",
}


def op(name, value, pattern):
    return OPERATORS[name](value, pattern)


# --- the catalogue -----------------------------------------------------------------------------


def test_every_stackstorm_operator_and_alias_is_known():
    assert set(OPERATOR_NAMES) == {
        "equals", "nequals", "iequals", "lessthan", "greaterthan", "matchwildcard",
        "matchregex", "regex", "iregex", "contains", "ncontains", "icontains", "incontains",
        "startswith", "istartswith", "endswith", "iendswith", "timediff_lt", "timediff_gt",
        "exists", "nexists", "inside", "ninside", "search", *ALIASES,
    }  # fmt: skip
    assert all(is_known(name) for name in OPERATOR_NAMES)


@pytest.mark.parametrize("alias, name", ALIASES.items())
def test_aliases_are_the_same_function(alias, name):
    assert OPERATORS[alias] is OPERATORS[name]


def test_validation_is_exact_but_matching_ignores_case():
    assert not is_known("Equals")
    assert not is_known("bogus")
    assert not is_known(None)
    assert not is_known(["equals"])
    assert get_operator("EQUALS") is OPERATORS["equals"]


def test_unknown_operator_lists_the_valid_ones():
    with pytest.raises(UnknownOperator) as raised:
        get_operator("bogus")
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith("operator bogus not in list of allowed operators: [")
    assert "'matchwildcard', 'matchregex'" in str(raised.value)
    assert "'nin', 'search']" in str(raised.value)


# --- equality ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["equals", "eq"])
def test_equals(name):
    assert op(name, "st2", "st2")
    assert op(name, 5, 5)
    assert op(name, {"a": [1]}, {"a": [1]})
    assert not op(name, "st2", "St2")
    assert not op(name, 1, "1")  # no type casting
    assert not op(name, None, None)  # a null pattern never matches


@pytest.mark.parametrize("name", ["nequals", "neq"])
def test_nequals(name):
    assert op(name, "a", "b")
    assert op(name, 1, "1")
    assert not op(name, "a", "a")
    assert op(name, "a", None)  # StackStorm does not special-case a null pattern here
    assert op(name, MISSING, "x")


@pytest.mark.parametrize("name", ["iequals", "ieq"])
def test_iequals(name):
    assert op(name, "WatchEvent", "watchevent")
    assert not op(name, "watchevent", "watchevents")
    assert not op(name, "a", None)
    with pytest.raises(OperatorError, match="iequals"):
        op(name, 5, "5")


# --- containment -------------------------------------------------------------------------------


def test_contains_on_strings_lists_and_dicts():
    assert op("contains", "hello world", "lo wo")
    assert op("contains", ["a", "b"], "b")
    assert op("contains", {"key": 1}, "key")
    assert not op("contains", "hello", "Hello")
    assert not op("contains", ["ab"], "a")  # list membership, not substring
    assert not op("contains", [1, 2], "1")
    assert not op("contains", "hello", None)


def test_contains_on_a_missing_value_is_an_error():
    with pytest.raises(OperatorError, match="contains"):
        op("contains", MISSING, "x")


def test_ncontains():
    assert op("ncontains", "hello", "bye")
    assert op("ncontains", ["a"], "b")
    assert not op("ncontains", "hello", "ell")
    assert not op("ncontains", ["a"], "a")
    assert not op("ncontains", "hello", None)


def test_icontains_and_incontains():
    assert op("icontains", "Hello World", "WORLD")
    assert not op("icontains", "Hello", "bye")
    assert op("incontains", "Hello", "BYE")
    assert not op("incontains", "Hello", "HELL")
    assert not op("icontains", "Hello", None)
    assert not op("incontains", "Hello", None)
    # Like StackStorm, the case-insensitive forms only work on strings.
    with pytest.raises(OperatorError):
        op("icontains", ["A"], "a")


@pytest.mark.parametrize("name", ["inside", "in"])
def test_inside_is_reversed_contains(name):
    assert op(name, "b", ["a", "b"])
    assert op(name, "ell", "hello")
    assert op(name, "k", {"k": 1})
    assert not op(name, "c", ["a", "b"])
    assert not op(name, 1, ["1"])
    assert not op(name, "a", None)


@pytest.mark.parametrize("name", ["ninside", "nin"])
def test_ninside(name):
    assert op(name, "c", ["a", "b"])
    assert not op(name, "a", ["a", "b"])
    assert not op(name, "a", None)


def test_inside_a_non_container_is_an_error():
    with pytest.raises(OperatorError, match="inside"):
        op("inside", 1, 5)


# --- prefixes and suffixes ---------------------------------------------------------------------


def test_startswith_and_endswith():
    assert op("startswith", "refs/heads/main", "refs/heads/")
    assert not op("startswith", "refs/tags/v1", "refs/heads/")
    assert not op("startswith", "Refs", "refs")
    assert op("endswith", "report.csv", ".csv")
    assert not op("endswith", "report.CSV", ".csv")
    assert not op("startswith", "x", None)
    assert not op("endswith", "x", None)


def test_istartswith_and_iendswith():
    assert op("istartswith", "Refs/Heads/main", "refs/heads")
    assert not op("istartswith", "refs", "heads")
    assert op("iendswith", "report.CSV", ".csv")
    assert not op("iendswith", "report.csv", ".txt")


def test_prefix_of_a_number_is_an_error():
    with pytest.raises(OperatorError, match="startswith"):
        op("startswith", 123, "1")


# --- ordering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lessthan", "lt"])
def test_lessthan(name):
    assert op(name, 1, 2)
    assert op(name, 1.5, 2)
    assert not op(name, 2, 2)
    assert op(name, "a", "b")  # same types compare natively
    assert not op(name, 1, None)


@pytest.mark.parametrize("name", ["greaterthan", "gt"])
def test_greaterthan(name):
    assert op(name, 3, 2)
    assert not op(name, 2, 2)
    assert not op(name, 2, None)


@pytest.mark.parametrize("name", ["lessthan", "lt", "greaterthan", "gt"])
@pytest.mark.parametrize("value, pattern", [("10", 5), (10, "5"), (None, 5), ([1], 1)])
def test_ordering_never_casts_types(name, value, pattern):
    with pytest.raises(OperatorError, match="not supported between instances"):
        op(name, value, pattern)


# --- patterns ----------------------------------------------------------------------------------


def test_matchwildcard_is_a_shell_glob():
    assert op("matchwildcard", "core.local", "core.*")
    assert op("matchwildcard", "file1.txt", "file?.txt")
    assert op("matchwildcard", "b", "[abc]")
    assert not op("matchwildcard", "xcore.local", "core.*")
    assert not op("matchwildcard", "core.local", "core")
    assert not op("matchwildcard", "a", None)


def test_matchregex_is_anchored_at_the_start_with_dotall():
    assert op("matchregex", "value", "^value$")
    assert op("matchregex", "value and more", "val")  # anchored at the start only
    assert not op("matchregex", "my value", "value")
    assert op("matchregex", "line1\nline2", "line1.line2")  # DOTALL
    assert not op("matchregex", "a", None)


def test_regex_searches_anywhere_case_sensitively():
    assert op("regex", "my value", "value")
    assert op("regex", "abc123", r"\d+$")
    assert not op("regex", "My Value", "value")
    assert not op("regex", "line1\nline2", "line1.line2")  # no DOTALL
    assert not op("regex", "a", None)


def test_iregex_searches_case_insensitively():
    assert op("iregex", "My Value", "value")
    assert op("iregex", "ERROR: disk", "^error")
    assert not op("iregex", "warning", "error")
    assert not op("iregex", "a", None)


@pytest.mark.parametrize("name", ["matchregex", "regex", "iregex", "matchwildcard"])
def test_pattern_operators_on_a_non_string_are_errors(name):
    with pytest.raises(OperatorError, match=name):
        op(name, 42, "4")


def test_a_bad_regular_expression_is_an_error():
    with pytest.raises(OperatorError, match="regex"):
        op("regex", "abc", "(unclosed")


def test_bytes_are_compared_as_text():
    assert op("equals", b"st2", "st2")
    assert op("regex", b"abc", b"b")


@pytest.mark.parametrize("name", ["matchregex", "regex", "iregex"])
def test_a_pattern_past_the_time_limit_is_an_error(settings, name):
    settings.ST2_REGEX_TIMEOUT = 0.05
    with pytest.raises(PatternTimeout, match=r'"\(a\|aa\)\+\$" timed out after 0.05 s'):
        op(name, "a" * 40 + "!", "(a|aa)+$")


@pytest.mark.parametrize(
    "value, pattern",
    [
        ("v1.1", r"^v(?P<major>\d+)\.(?P=major)$"),
        ("[x]", r"[[x]]"),  # the regex package's own syntax would read a nested set
        ("a--b", r"[a-]--"),
        ("ab", r"(?i)AB"),
        ("line1\nline2", r"line1.line2"),
    ],
)
@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # re's own warning
def test_patterns_behave_as_python_re(value, pattern):
    assert op("regex", value, pattern) == (re.search(pattern, value) is not None)


def test_a_wildcard_with_many_stars_stays_fast(settings):
    settings.ST2_REGEX_TIMEOUT = 0.05
    assert not op("matchwildcard", "a" * 5000 + "!", "*a*a*a*a*a*a*a*b")


# --- time --------------------------------------------------------------------------------------


def ago(seconds):
    return datetime.now(UTC) - timedelta(seconds=seconds)


@pytest.mark.parametrize("name", ["timediff_lt", "td_lt"])
def test_timediff_lt_recent_timestamps(name):
    assert op(name, ago(10).isoformat(), 60)
    assert not op(name, ago(120).isoformat(), 60)
    assert not op(name, ago(10).isoformat(), None)


@pytest.mark.parametrize("name", ["timediff_gt", "td_gt"])
def test_timediff_gt_old_timestamps(name):
    assert op(name, ago(120).isoformat(), 60)
    assert not op(name, ago(10).isoformat(), 60)
    assert not op(name, ago(120).isoformat(), None)


def test_timediff_reads_every_usual_timestamp_form():
    moment = ago(30)
    forms = [
        moment.isoformat(),  # 2024-05-01T12:00:00.123456+00:00
        moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # StackStorm's API form
        str(moment),  # 2024-05-01 12:00:00.123456+00:00 (what str(datetime) gives)
        str(moment.replace(tzinfo=None)),  # naive: taken as UTC
        moment.astimezone(UTC).astimezone().isoformat(),  # another offset, same instant
        moment,  # a datetime object
    ]
    for form in forms:
        assert op("timediff_lt", form, 60), form
        assert op("timediff_gt", form, 10), form


def test_timediff_pattern_may_be_a_numeric_string():
    assert op("timediff_lt", ago(5).isoformat(), "60")
    assert op("timediff_gt", ago(5).isoformat(), "1.5")


@pytest.mark.parametrize("value", ["yesterday", None, MISSING, "2024-13-45"])
def test_timediff_on_something_that_is_not_a_timestamp_is_an_error(value):
    with pytest.raises(OperatorError, match="timediff"):
        op("timediff_lt", value, 60)


def test_timediff_with_a_non_numeric_pattern_is_an_error():
    with pytest.raises(OperatorError):
        op("td_gt", ago(5).isoformat(), "a minute")


# --- presence ----------------------------------------------------------------------------------


def test_exists_and_nexists_look_at_the_value_only():
    for present in ["", 0, False, [], {}, "x"]:
        assert op("exists", present, "ignored")
        assert not op("nexists", present, "ignored")
    for absent in [None, MISSING]:
        assert not op("exists", absent, "ignored")
        assert op("nexists", absent, "ignored")


def test_missing_reads_as_none_everywhere():
    assert op("inside", MISSING, [None])
    assert op("nequals", MISSING, "x")
    assert not op("equals", MISSING, "x")
    assert not MISSING
    assert repr(MISSING) == "MISSING"


# --- search ------------------------------------------------------------------------------------


def by_equality(key, criterion, item):
    """A check function for sub-criteria: "item.<field>" equals the pattern."""
    return item.get(key.split(".", 1)[1]) == criterion["pattern"]


FIELDS = [
    {"field_name": "Status", "to_value": "Approved"},
    {"field_name": "Assigned to", "to_value": "Stanley"},
]
STATUS_APPROVED = {
    "item.field_name": {"type": "equals", "pattern": "Status"},
    "item.to_value": {"type": "equals", "pattern": "Approved"},
}
STATUS_OR_STANLEY = {
    "item.field_name": {"type": "equals", "pattern": "Status"},
    "item.to_value": {"type": "equals", "pattern": "Stanley"},
}


def search(value, pattern, condition):
    return OPERATORS["search"](value, pattern, condition, by_equality)


def test_search_any_one_item_matches_every_sub_criterion():
    assert search(FIELDS, STATUS_APPROVED, "any")
    assert not search(FIELDS, STATUS_OR_STANLEY, "any")


def test_search_all_every_item_matches_every_sub_criterion():
    assert not search(FIELDS, STATUS_APPROVED, "all")
    assert search([FIELDS[0], dict(FIELDS[0])], STATUS_APPROVED, "all")


def test_search_any2any_one_item_matches_one_sub_criterion():
    assert search(FIELDS, STATUS_OR_STANLEY, "any2any")
    assert not search(FIELDS, {"item.field_name": {"pattern": "Nope"}}, "any2any")


def test_search_all2any_every_item_matches_one_sub_criterion():
    assert search(FIELDS, STATUS_OR_STANLEY, "all2any")
    assert not search(FIELDS, STATUS_APPROVED, "all2any")


def test_search_wraps_a_dict_as_a_one_item_list():
    assert search(FIELDS[0], STATUS_APPROVED, "all")


def test_search_over_an_empty_list():
    assert not search([], STATUS_APPROVED, "any")
    assert not search([], STATUS_APPROVED, "any2any")
    assert search([], STATUS_APPROVED, "all")
    assert search([], STATUS_APPROVED, "all2any")


@pytest.mark.parametrize("condition", [None, "some", "ANY"])
def test_search_needs_a_known_condition(condition):
    with pytest.raises(UnrecognizedCondition, match="'any', 'all', 'any2any' and 'all2any'"):
        search(FIELDS, STATUS_APPROVED, condition)


def test_search_over_a_missing_value_is_an_error():
    with pytest.raises(OperatorError, match="search"):
        search(MISSING, STATUS_APPROVED, "any")
