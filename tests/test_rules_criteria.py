"""Rule criteria: validation, key lookup and matching (notes §5.4, §11 item 8). No database."""

from datetime import UTC, datetime, timedelta

import pytest

from st2bridge.rules.criteria import (
    MISSING,
    CriteriaError,
    CriteriaTimeout,
    UnknownCriteriaOperator,
    check_criteria,
    criteria_match,
    lookup,
)

WEBHOOK = {
    "headers": {"X-GitHub-Event": "push", "Content-Type": "application/json"},
    "body": {
        "name": "st2",
        "count": 7,
        "ref": "refs/heads/main",
        "commits": [
            {"id": "a1", "author": {"name": "alice"}, "files": ["README.md"]},
            {"id": "b2", "author": {"name": "bob"}, "files": ["setup.py", "st2/__init__.py"]},
        ],
        "empty": None,
        "0": "a key that looks like an index",
    },
}
CONTEXT = {"trigger": WEBHOOK, "st2kv": {"system": {"limit": 10}}}


def crit(type_, pattern, **extra):
    return {"type": type_, "pattern": pattern, **extra}


def match(criteria, context=CONTEXT, render=lambda pattern: pattern):
    return criteria_match(criteria, context, render)[0]


# --- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, expected",
    [
        ("trigger.body.name", "st2"),
        ("trigger.body.commits[1].id", "b2"),
        ("trigger.body.commits.1.id", "b2"),  # a numeric dotted part indexes a list
        ("trigger.body.commits[-1].author.name", "bob"),
        ("trigger.body.commits[0].files[0]", "README.md"),
        ("trigger.headers['X-GitHub-Event']", "push"),
        ('trigger.headers["Content-Type"]', "application/json"),
        ("trigger.body.commits[*].author.name", "alice"),  # the first match, as StackStorm
        ("trigger.body.0", "a key that looks like an index"),  # on a dict, digits are a key
        ("trigger.body.name#2", "st2"),  # anything after # is ignored
        ("trigger.body.empty", None),  # present but null
        ("st2kv.system.limit", 10),
    ],
)
def test_lookup_finds_values(key, expected):
    assert lookup(CONTEXT, key) == expected


@pytest.mark.parametrize(
    "key",
    [
        "trigger.body.nope",
        "trigger.nope.deeper",
        "trigger.body.commits[5].id",
        "trigger.body.commits.5",
        "trigger.body.name.first",  # a field of a string
        "trigger.body.count[0]",  # an index into a number
        "trigger.body.commits.id",  # a field of a list
        "trigger.headers['x-github-event']",  # keys are case-sensitive
    ],
)
def test_lookup_of_an_absent_path_is_missing(key):
    assert lookup(CONTEXT, key) is MISSING


@pytest.mark.parametrize("key", ["", ".trigger", "trigger..body", "trigger body", "trigger.a["])
def test_a_malformed_key_is_an_error(key):
    with pytest.raises(CriteriaError, match="Invalid criteria key"):
        lookup(CONTEXT, key)


# --- matching: the examples pack and AND semantics ---------------------------------------------


def test_the_examples_webhook_rule():
    criteria = {"trigger.body.name": crit("equals", "st2")}
    assert criteria_match(criteria, CONTEXT) == (True, "all 1 criteria matched")
    context = {"trigger": {"body": {"name": "other"}}}
    matched, reason = criteria_match(criteria, context)
    assert not matched
    assert reason == "criterion \"trigger.body.name\" (equals 'st2') did not match 'other'"


def test_the_examples_actiontrigger_rule_ands_its_criteria():
    criteria = {
        "trigger.action_name": crit("equals", "local"),
        "trigger.status": crit("equals", "error"),
    }
    assert match(criteria, {"trigger": {"action_name": "local", "status": "error"}})
    assert not match(criteria, {"trigger": {"action_name": "local", "status": "succeeded"}})
    assert not match(criteria, {"trigger": {"action_name": "remote", "status": "error"}})


def test_all_criteria_must_pass_and_the_reason_names_the_first_failure():
    criteria = {
        "trigger.body.name": crit("equals", "st2"),
        "trigger.body.count": crit("gt", 5),
        "trigger.body.ref": crit("startswith", "refs/tags/"),
        "trigger.headers['X-GitHub-Event']": crit("iequals", "PUSH"),
    }
    matched, reason = criteria_match(criteria, CONTEXT)
    assert not matched
    assert reason.startswith('criterion "trigger.body.ref" (startswith ')
    del criteria["trigger.body.ref"]
    assert match(criteria)


def test_the_same_field_twice_with_a_hash_suffix():
    criteria = {
        "trigger.body.count": crit("gt", 5),
        "trigger.body.count#2": crit("lt", 10),
    }
    assert match(criteria)
    criteria["trigger.body.count#2"] = crit("lt", 7)
    assert not match(criteria)


def test_no_criteria_always_match_even_an_empty_payload():
    assert criteria_match({}, {"trigger": {}}) == (True, "no criteria")
    assert criteria_match(None, {"trigger": None}) == (True, "no criteria")


def test_criteria_never_match_an_empty_payload():
    criteria = {"trigger.x": crit("nexists", "any")}
    assert criteria_match(criteria, {"trigger": {}}) == (False, "the trigger payload is empty")
    assert not match(criteria, {"trigger": None})


def test_operator_names_match_case_insensitively_at_match_time():
    assert match({"trigger.body.name": crit("EQUALS", "st2")})


def test_a_stored_criterion_without_type_does_not_match():
    matched, reason = criteria_match({"trigger.body.name": {"pattern": "st2"}}, CONTEXT)
    assert not matched
    assert "no operator type" in reason


# --- missing keys ------------------------------------------------------------------------------


def test_exists_and_nexists_on_missing_present_and_null_keys():
    assert match({"trigger.body.name": crit("exists", "x")})
    assert not match({"trigger.body.nope": crit("exists", "x")})
    assert match({"trigger.body.nope": crit("nexists", "x")})
    assert not match({"trigger.body.name": crit("nexists", "x")})
    # A null value counts as absent, as in StackStorm.
    assert match({"trigger.body.empty": crit("nexists", "x")})


def test_a_missing_key_compares_as_none():
    assert not match({"trigger.body.nope": crit("equals", "x")})
    assert match({"trigger.body.nope": crit("nequals", "x")})
    matched, reason = criteria_match({"trigger.body.nope": crit("equals", "x")}, CONTEXT)
    assert reason.endswith("did not match missing")


# --- errors: no match and a failed enforcement for the caller to record -------------------------


@pytest.mark.parametrize(
    "criterion",
    [
        crit("lessthan", "10"),  # int < str: no casting
        crit("iequals", "7"),  # .lower() on an int
        crit("regex", "7"),
        crit("timediff_lt", 60),
    ],
)
def test_a_type_mismatch_raises_criteria_error_naming_key_and_operator(criterion):
    with pytest.raises(CriteriaError) as raised:
        criteria_match({"trigger.body.count": criterion}, CONTEXT)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith(
        f'Failed to evaluate criterion "trigger.body.count" ({criterion["type"]}): '
    )


def test_a_comparison_with_a_missing_key_is_an_error_too():
    with pytest.raises(CriteriaError, match="not supported between instances of 'NoneType'"):
        criteria_match({"trigger.body.nope": crit("gt", 1)}, CONTEXT)


def test_an_unknown_operator_in_a_stored_rule_is_an_error():
    with pytest.raises(UnknownCriteriaOperator, match="For field: trigger.x, operator bogus"):
        criteria_match({"trigger.x": crit("bogus", 1)}, CONTEXT)


def test_a_malformed_key_at_match_time_is_an_error():
    with pytest.raises(CriteriaError, match="Invalid criteria key"):
        criteria_match({"trigger..x": crit("equals", 1)}, CONTEXT)


# --- rendered (Jinja) patterns -----------------------------------------------------------------


def fake_jinja(context):
    """Stands in for the real renderer: `{{ a.b }}` becomes the value at that path, typed."""

    def render(pattern):
        if pattern.startswith("{{") and pattern.endswith("}}"):
            return lookup(context, pattern[2:-2].strip())
        return pattern

    return render


def test_string_patterns_go_through_the_renderer_and_keep_their_type():
    criteria = {"trigger.body.count": crit("lessthan", "{{ st2kv.system.limit }}")}
    assert match(criteria, render=fake_jinja(CONTEXT))
    assert not match({"trigger.body.count": crit("gt", "{{ st2kv.system.limit }}")}, CONTEXT,
                     fake_jinja(CONTEXT))  # fmt: skip


def test_only_string_patterns_are_rendered():
    seen = []

    def render(pattern):
        seen.append(pattern)
        return pattern

    criteria = {
        "trigger.body.count": crit("equals", 7),
        "trigger.body.name": crit("equals", "st2"),
        "trigger.body.commits": crit("search", {"item.id": crit("equals", "a1")}, condition="any"),
    }
    assert criteria_match(criteria, CONTEXT, render)[0]
    assert seen == ["st2", "a1"]  # the search sub-criterion's pattern is rendered too


def test_renderer_errors_propagate():
    class RenderError(Exception):
        pass

    def broken(pattern):
        raise RenderError(pattern)

    with pytest.raises(RenderError):
        criteria_match({"trigger.body.name": crit("equals", "{{ nope }}")}, CONTEXT, broken)


# --- every operator through criteria_match -----------------------------------------------------


@pytest.mark.parametrize(
    "key, type_, pattern, expected",
    [
        ("trigger.body.name", "neq", "st3", True),
        ("trigger.body.name", "ieq", "ST2", True),
        ("trigger.body.ref", "contains", "heads", True),
        ("trigger.body.ref", "ncontains", "heads", False),
        ("trigger.body.ref", "icontains", "HEADS", True),
        ("trigger.body.ref", "incontains", "TAGS", True),
        ("trigger.body.commits[1].files", "contains", "setup.py", True),
        ("trigger.body.ref", "startswith", "refs/", True),
        ("trigger.body.ref", "istartswith", "REFS/", True),
        ("trigger.body.ref", "endswith", "/main", True),
        ("trigger.body.ref", "iendswith", "/MAIN", True),
        ("trigger.body.count", "lessthan", 8, True),
        ("trigger.body.count", "greaterthan", 7, False),
        ("trigger.body.ref", "matchwildcard", "refs/*/main", True),
        ("trigger.body.ref", "matchregex", "heads", False),
        ("trigger.body.ref", "regex", "heads", True),
        ("trigger.body.ref", "iregex", "HEADS/MAIN$", True),
        ("trigger.body.name", "inside", ["st2", "st3"], True),
        ("trigger.body.name", "in", "xst2x", True),
        ("trigger.body.name", "ninside", ["st3"], True),
        ("trigger.body.name", "nin", ["st2"], False),
    ],
)
def test_each_operator_through_criteria(key, type_, pattern, expected):
    assert match({key: crit(type_, pattern)}) is expected


def test_timediff_through_criteria():
    recent = {"trigger": {"executed_at": str(datetime.now(UTC) - timedelta(seconds=5))}}
    assert match({"trigger.executed_at": crit("td_lt", 60)}, recent)
    assert not match({"trigger.executed_at": crit("td_gt", 60)}, recent)


# --- search ------------------------------------------------------------------------------------

ISSUE = {
    "trigger": {
        "fields": [
            {"field_name": "Status", "to_value": "Approved", "level": 45},
            {"field_name": "Assignee", "to_value": "Stanley", "level": 20},
        ]
    }
}


def search(condition, pattern):
    return {"trigger.fields": {"type": "search", "condition": condition, "pattern": pattern}}


def test_search_any_and_all():
    approved = {
        "item.field_name": crit("equals", "Status"),
        "item.to_value": crit("equals", "Approved"),
    }
    assert match(search("any", approved), ISSUE)
    assert not match(search("all", approved), ISSUE)
    assert match(search("all", {"item.level": crit("gt", 10)}), ISSUE)
    assert not match(search("any", {"item.level": crit("gt", 50)}), ISSUE)


def test_search_any2any_and_all2any_with_hash_suffixed_keys():
    pattern = {
        "item.level#1": crit("greaterthan", 40),
        "item.level#2": crit("lessthan", 30),
    }
    assert match(search("all2any", pattern), ISSUE)  # 45 > 40, 20 < 30
    assert not match(search("all", pattern), ISSUE)
    pattern["item.level#2"] = crit("lessthan", 10)
    assert not match(search("all2any", pattern), ISSUE)
    assert match(search("any2any", pattern), ISSUE)
    assert not match(search("any2any", {"item.level": crit("eq", 99)}), ISSUE)


def test_search_nested_in_search():
    pattern = {
        "item.author.name": crit("equals", "bob"),
        "item.files": {
            "type": "search",
            "condition": "any",
            "pattern": {"item": crit("endswith", "__init__.py")},
        },
    }
    assert match({"trigger.body.commits": crit("search", pattern, condition="any")})
    pattern["item.author.name"] = crit("equals", "alice")
    assert not match({"trigger.body.commits": crit("search", pattern, condition="any")})


def test_search_sub_criterion_errors_only_fail_that_item():
    # "level" is a string on one item: comparing it fails there but another item matches.
    context = {"trigger": {"fields": [{"level": "high"}, {"level": 45}, {}]}}
    assert match(search("any", {"item.level": crit("gt", 40)}), context)
    assert not match(search("all", {"item.level": crit("gt", 40)}), context)


def test_a_timeout_inside_search_fails_the_whole_criteria(settings):
    # Each item would wait for the pattern again: the first timeout stops matching.
    settings.ST2_REGEX_TIMEOUT = 0.05
    context = {"trigger": {"fields": [{"msg": "a" * 40 + "!"}] * 20}}
    with pytest.raises(CriteriaTimeout, match='"item.msg" \\(regex\\).*timed out'):
        criteria_match(search("any", {"item.msg": crit("regex", "(a|aa)+$")}), context)


def test_search_with_a_bad_condition_or_value_is_an_error():
    with pytest.raises(CriteriaError, match="'weird' condition is not recognized"):
        criteria_match(search("weird", {"item.x": crit("eq", 1)}), ISSUE)
    with pytest.raises(CriteriaError, match="search"):
        criteria_match(search("any", {"item.x": crit("eq", 1)}), {"trigger": {"fields": 5}})


def test_search_on_a_dict_treats_it_as_one_item():
    context = {"trigger": {"fields": {"field_name": "Status"}}}
    assert match(search("all", {"item.field_name": crit("eq", "Status")}), context)


# --- validation (create/update) ----------------------------------------------------------------


def test_valid_criteria_pass_validation():
    check_criteria({})
    check_criteria(
        {
            "trigger.body.name": crit("equals", "st2"),
            "trigger.body.name#2": crit("exists", True),
            "trigger.count": crit("lt", 0),
            "trigger.fields": crit("search", {"item.x": crit("eq", 1)}, condition="all2any"),
        }
    )


def test_unknown_operator_message_names_the_key_and_lists_operators():
    with pytest.raises(ValueError) as raised:
        check_criteria({"trigger.body.name": crit("bogus", "st2")})
    message = str(raised.value)
    assert message.startswith(
        "For field: trigger.body.name, operator bogus not in list of allowed operators: ["
    )
    assert "'td_lt', 'timediff_lt'" in message


def test_operator_names_are_validated_exactly():
    with pytest.raises(ValueError, match="operator Equals not in list"):
        check_criteria({"trigger.a": crit("Equals", "x")})


def test_missing_type_is_rejected():
    with pytest.raises(ValueError, match="^Operator not specified for field: trigger.a$"):
        check_criteria({"trigger.a": {"pattern": "x"}})


@pytest.mark.parametrize("operator", ["equals", "exists", "nexists"])
def test_pattern_is_required_even_for_exists_and_nexists(operator):
    message = f"^For field: trigger.a, no pattern specified for operator {operator}$"
    with pytest.raises(ValueError, match=message):
        check_criteria({"trigger.a": {"type": operator}})
    with pytest.raises(ValueError, match=message):
        check_criteria({"trigger.a": {"type": operator, "pattern": None}})


def test_falsy_patterns_are_patterns():
    check_criteria({"trigger.a": crit("equals", 0), "trigger.b": crit("exists", "")})


def test_criteria_and_criterion_must_be_dicts():
    with pytest.raises(ValueError, match="^Criteria should be a dict.$"):
        check_criteria(["trigger.a"])
    with pytest.raises(ValueError, match="For field: trigger.a, criterion should be a dict"):
        check_criteria({"trigger.a": "equals"})


def test_search_criteria_are_validated_deeply():
    with pytest.raises(ValueError, match="For field: trigger.f, the 'None' condition"):
        check_criteria({"trigger.f": crit("search", {"item.x": crit("eq", 1)})})
    with pytest.raises(ValueError, match="search pattern should be a dict"):
        check_criteria({"trigger.f": crit("search", "item.x", condition="any")})
    with pytest.raises(ValueError, match="For field: item.x, operator nope not in list"):
        check_criteria({"trigger.f": crit("search", {"item.x": crit("nope", 1)}, condition="any")})
    with pytest.raises(ValueError, match="For field: item.x, no pattern specified"):
        check_criteria({"trigger.f": crit("search", {"item.x": {"type": "eq"}}, condition="any")})
