"""Alias formats read as StackStorm's ActionAliasFormatParser reads them: the cases of its
own unit tests (st2common test_action_alias_utils.py), matching, ambiguity and help strings,
and the bounds a command from any caller cannot get past."""

import time
from types import SimpleNamespace

import pytest

from st2bridge.alias_formats import (
    MAX_COMMAND,
    NoMatch,
    check_formats,
    extract,
    format_strings,
    helpstrings,
    matching,
)
from st2bridge.errors import InvalidInput

pytestmark = pytest.mark.django_db(databases=[])  # pure: no database


@pytest.mark.parametrize(
    ("representation", "command", "expected"),
    [
        ("", "", {}),
        ("", "a=foobar1", {"a": "foobar1"}),
        ("foo", 'foo a="foobar2 poonies bar"', {"a": "foobar2 poonies bar"}),
        ("foo", "foo a='foobar2 poonies bar'", {"a": "foobar2 poonies bar"}),
        ("foo", 'foo a={"foobar2": "poonies"}', {"a": '{"foobar2": "poonies"}'}),
        (
            "",
            'a=foobar1 b="boobar2 3 4" c=\'coobar3 4\' d={"a": "b"}',
            {"a": "foobar1", "b": "boobar2 3 4", "c": "coobar3 4", "d": '{"a": "b"}'},
        ),
        (
            "{{ captain }} is my captain",
            'Malcolm Reynolds is my captain weirdo="River Tam"',
            {"captain": "Malcolm Reynolds", "weirdo": "River Tam"},
        ),
        ("skip {{a}} more skip {{b}} and skip more.", "skip a1 more skip b1 and skip more.",
         {"a": "a1", "b": "b1"}),
        ("skip {{a}} more skip {{b}}", "skip a1 more skip b1", {"a": "a1", "b": "b1"}),
        ("skip {{a}} more skip {{b}} and skip more.",
         'skip "a1 a2" more skip b1 and skip more.', {"a": "a1 a2", "b": "b1"}),
        ("acl {{a}} {{b}} {{c}} {{d=1}}", 'acl "a1 a2" "b1" "c1"',
         {"a": "a1 a2", "b": "b1", "c": "c1", "d": "1"}),
        ("acl {{a=test}}", "acl", {"a": "test"}),
        ("skip {{a}} more skip.", 'skip {"a": "b", "c": "d"} more skip.',
         {"a": '{"a": "b", "c": "d"}'}),
        ("s {{a}} more {{ b }} more {{ c=99 }} more {{ d = 99 }}",
         "s one more two more three more", {"a": "one", "b": "two", "c": "three", "d": "99"}),
        ("skip {{ a = value }} more", "skip one more", {"a": "one"}),
        ("skip {{ a = value }} more", "skip more", {"a": "value"}),
        ("two by two hands of {{ color = {{ colors.default_color }} }}",
         "two by two hands of", {"color": "{{ colors.default_color }}"}),
        ("testing {{ a }}", "testing value b=value2", {"a": "value", "b": "value2"}),
        ("testing {{ a=new }}", 'testing b="another value"', {"a": "new", "b": "another value"}),
        ("testing {{ b=abc }} {{ c=xyz }}", 'testing newvalue d={"1": "2"} e="long value"',
         {"b": "newvalue", "c": "xyz", "d": '{"1": "2"}', "e": "long value"}),
        ("skip {{d=test1}} more skip {{e=test1}}.", "skip more skip",
         {"d": "test1", "e": "test1"}),
        ("skip {{d=test}} more skip {{e=test}}", "skip ponies more skip",
         {"d": "ponies", "e": "test"}),
        ("{{ p0='http' }} g {{ p1=p }} a {{ url }} {{ p2={'a':'b'} }} {{ p3={{ e.i }} }}",
         "g a http://google.com {{ execution.id }} p4='testing' p5={'a':'c'}",
         {"p0": "http", "p1": "p", "url": "http://google.com", "p2": "{{ execution.id }}",
          "p3": "{{ e.i }}", "p4": "testing", "p5": "{'a':'c'}"}),
        ("foo bar", "foo bar pony1=foo pony2=bar", {"pony1": "foo", "pony2": "bar"}),
        (r"^\s*foo (?P<issue_key>[A-Z][A-Z0-9]+-[0-9]+)", "foo ASDF-1234",
         {"issue_key": "ASDF-1234"}),
        (r"foo (?P<issue_key>[A-Z][A-Z0-9]+-[0-9]+)\s*$", "foo ASDF-1234",
         {"issue_key": "ASDF-1234"}),
        (r"^\s*foo (?P<issue_key>[A-Z][A-Z0-9]+-[0-9]+) bar\s*$", "foo ASDF-1234 bar",
         {"issue_key": "ASDF-1234"}),
        ("run {{cmd}} on {{hosts}}", "run date on localhost",
         {"cmd": "date", "hosts": "localhost"}),
    ],
)  # fmt: skip
def test_stackstorms_parser_cases(representation, command, expected):
    assert extract(representation, command) == expected


@pytest.mark.parametrize(
    ("representation", "command"),
    [
        ("foo bar ponies", "foo lulz ponies"),
        ("skip {{d}} more skip {{e}}.", ""),
        (r"^\s*foo (?P<issue_key>[A-Z][A-Z0-9]+-[0-9]+)", "bar foo ASDF-1234"),
        (r"foo (?P<issue_key>[A-Z][A-Z0-9]+-[0-9]+)\s*$", "foo ASDF-1234 bar"),
        # ^...$ of the format's own, in a branch or a group, are anchors too.
        (r"^\s*foo|bar$", "xfoo baz"),
        (r"^(?:\s*foo|bar$)", "xfoo baz"),
    ],
)
def test_a_command_that_does_not_fit_says_so(representation, command):
    with pytest.raises(NoMatch, match="doesn't match format string"):
        extract(representation, command)


def test_anchors_inside_classes_and_escapes_are_not_anchors():
    # [$] and \$ are literal dollars: the end anchor is still added, so text after fails.
    assert extract(r"pay {{amount}}[$]", "pay 5$") == {"amount": "5"}
    with pytest.raises(NoMatch):
        extract(r"pay {{amount}}\$", "pay 5$ tip")


# A format with anchors of its own is not wrapped in ^...$: each match is one execution.
EVERY_SUM = r"(?:^|\s)sum (?P<x>\d+)(?=\s|$)"


def test_match_multiple_gives_one_set_per_match():
    representation = EVERY_SUM.replace("sum", "add")
    assert extract(representation, "add 1 add 2", multiple=True) == [{"x": "1"}, {"x": "2"}]


def test_a_command_too_long_is_refused():
    with pytest.raises(InvalidInput, match=f"longer than {MAX_COMMAND}"):
        extract("run {{cmd}}", "run " + "x" * MAX_COMMAND)


def test_a_costly_command_stops_at_the_regex_time_limit(settings):
    settings.ST2_REGEX_TIMEOUT = 0.05
    started = time.monotonic()
    with pytest.raises((InvalidInput, NoMatch)):
        extract(r"^(a|aa)+$", "a" * 60 + "b")  # catastrophic backtracking
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "formats",
    [["deploy {{ app,env }}"], [{"representation": ["unbalanced ( {{x}}"]}], [42]],
)
def test_unusable_formats_are_refused_by_name(formats):
    with pytest.raises(InvalidInput, match=r"formats\[0\]|neither a dictionary nor a string"):
        check_formats(formats)


def alias(name, *formats, enabled=True, pack="demo", description=""):
    return SimpleNamespace(
        name=name, formats=list(formats), enabled=enabled, pack=pack, description=description
    )


def test_format_strings_are_plain_formats_and_representations():
    formats = ["a {{x}}", {"display": "b <y>", "representation": ["b {{y}}", "bee {{y}}"]}]
    assert format_strings(formats) == ["a {{x}}", "b {{y}}", "bee {{y}}"]


def test_matching_finds_the_one_enabled_format():
    ping = alias("ping", "ping {{host}}", "ping {{host}} count {{count}}")
    deploy = alias("deploy", {"display": "deploy <app>", "representation": ["deploy {{app}}"]})
    off = alias("off", "deploy {{app}}", enabled=False)
    found = matching("deploy web", [ping, deploy, off])
    assert (found.alias, found.display, found.representation) == (
        deploy,
        "deploy <app>",
        "deploy {{app}}",
    )


def test_matching_refuses_ambiguity_and_nothing():
    first, second = alias("a", "run {{x}}"), alias("b", "run {{y}}")
    with pytest.raises(InvalidInput, match="matched more than 1 pattern"):
        matching("run it", [first, second])
    with pytest.raises(InvalidInput, match="Command 'nothing' matched no patterns"):
        matching("nothing", [first])


def test_multiple_formats_are_tried_when_no_other_matches():
    single = alias("single", "add {{x}}")
    multiple = alias("multi", {"representation": [EVERY_SUM], "match_multiple": True})
    assert matching("add 1", [single, multiple]).alias is single
    found = matching("sum 1 sum 2", [single, multiple])
    assert found.alias is multiple and found.match_multiple


def test_help_lists_displays_by_pack_filter_and_page():
    aliases = [
        alias("a", "ping {{host}}", pack="net", description="Ping."),
        alias("b", {"display": "deploy <app>", "representation": ["deploy {{app}}"]}),
        alias("c", "hidden {{x}}", enabled=False),
        alias("d", "Ping twice {{host}}", pack="net", description="Twice."),
    ]
    assert helpstrings(aliases) == {
        "available": 3,
        "helpstrings": [
            {"pack": "net", "display": "ping {{host}}", "description": "Ping."},
            {"pack": "demo", "display": "deploy <app>", "description": ""},
            {"pack": "net", "display": "Ping twice {{host}}", "description": "Twice."},
        ],
    }
    assert helpstrings(aliases, search="^ping", pack="net")["available"] == 2
    page = helpstrings(aliases, limit=1, offset=1)
    assert page["available"] == 3
    assert [item["display"] for item in page["helpstrings"]] == ["deploy <app>"]
    with pytest.raises(InvalidInput, match="filter: not a valid regular expression"):
        helpstrings(aliases, search="(")
