"""Forms generated from merged parameter schemas (portal.forms), every parameter kind, using
the bundled demo pack's actions merged with their runners by st2bridge.params."""

import re
from pathlib import Path

import pytest
import yaml
from django import forms

from portal.forms import RowsField, build_form, cleaned_parameters, error_summary
from portal.preview import command_preview, curl_command, st2_run_command
from st2bridge.params import merge_parameters, ordered_parameters

from .portal_support import TARGETS

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = {
    runner["name"]: runner.get("runner_parameters") or {}
    for runner in yaml.safe_load((ROOT / "st2bridge" / "runner_types.yaml").read_text())
}


def merged(action):
    meta = yaml.safe_load((ROOT / "packs" / "demo" / "actions" / f"{action}.yaml").read_text())
    return merge_parameters(RUNNERS[meta["runner_type"]], meta.get("parameters"))


@pytest.fixture
def deploy():
    return merged("deploy")


def test_fields_follow_stackstorms_order(deploy):
    form = build_form(deploy)
    assert list(form.fields) == [name for name, _ in ordered_parameters(deploy)]
    assert list(form.fields)[:2] == ["environment", "version"]


def test_string_fields(deploy):
    form = build_form(deploy)
    version = form.fields["version"]
    assert isinstance(version, forms.CharField)
    assert isinstance(version.widget, forms.TextInput)
    assert version.required and version.max_length == 64
    assert version.widget.attrs["pattern"] == deploy["version"]["pattern"]
    assert version.help_text.startswith("Version to deploy")


def test_multiline_default_gives_a_textarea():
    notes = build_form(merged("notes"))
    assert isinstance(notes.fields["notes"].widget, forms.Textarea)
    assert notes.fields["notes"].initial.startswith("First line of the note.\n")
    assert isinstance(notes.fields["title"].widget, forms.TextInput)


def test_long_max_length_gives_a_textarea():
    form = build_form({"body": {"type": "string", "maxLength": 5000}})
    assert isinstance(form.fields["body"].widget, forms.Textarea)


def test_numbers_carry_their_limits_and_defaults(deploy):
    form = build_form(deploy)
    replicas, canary = form.fields["replicas"], form.fields["canary_percent"]
    assert isinstance(replicas, forms.IntegerField) and replicas.initial == 2
    assert (replicas.min_value, replicas.max_value) == (1, 20)
    assert isinstance(canary, forms.FloatField) and canary.max_value == 100
    html = str(form["replicas"])
    assert 'min="1"' in html and 'max="20"' in html and 'value="2"' in html


def test_boolean_is_an_optional_checkbox(deploy):
    field = build_form(deploy).fields["dry_run"]
    assert isinstance(field, forms.BooleanField)
    assert not field.required and field.initial is True


def test_enum_is_a_select(deploy):
    field = build_form(deploy).fields["environment"]
    assert isinstance(field, forms.ChoiceField)
    values = [value for value, _ in field.choices]
    assert values == ["", "development", "staging", "production"]
    greeting = build_form(merged("greet")).fields["greeting"]
    assert greeting.choices[0] == ("", "(not set)") and greeting.initial == "hello"
    with_default = {"e": {"type": "string", "enum": ["a", "b"], "required": True, "default": "b"}}
    assert [value for value, _ in build_form(with_default).fields["e"].choices] == ["a", "b"]


def test_a_required_enum_without_default_starts_at_choose_and_untouched_is_refused(deploy):
    """Defect 1: the first value was preselected, so Run untouched launched it while the
    command preview showed no value."""
    html = str(build_form(deploy)["environment"])
    assert '<option value="" selected>Choose…</option>' in html
    form = build_form(deploy, data={"version": "1.4.2"})
    assert cleaned_parameters(form, deploy) is None
    assert form.errors["environment"] == ["This field is required."]
    preview = command_preview(form, deploy, "demo.deploy", API)
    assert "environment" not in preview["st2_run"] and "environment" not in preview["curl"]


BOOLEANS = {
    "loud": {"type": "boolean"},
    "quiet": {"type": "boolean", "default": False},
    "must": {"type": "boolean", "required": True},
}


def test_a_boolean_without_default_is_three_state_and_untouched_sends_nothing():
    """Defect: a box without a default sent false when left alone."""
    form = build_form(BOOLEANS)
    assert [value for value, _ in form.fields["loud"].choices] == ["", "true", "false"]
    assert form.fields["loud"].choices[0] == ("", "(not set)")
    assert form.fields["must"].choices[0] == ("", "Choose…")
    assert isinstance(form.fields["quiet"].widget, forms.CheckboxInput)  # has a default
    untouched = build_form(BOOLEANS, data={"must": "false"})
    assert cleaned_parameters(untouched, BOOLEANS) == {"must": False}
    chosen = build_form(BOOLEANS, data={"loud": "false", "must": "true", "quiet": "on"})
    assert cleaned_parameters(chosen, BOOLEANS) == {"loud": False, "must": True, "quiet": True}
    preview = command_preview(untouched, BOOLEANS, "x.y", API)
    assert preview["st2_run"] == "st2 run x.y must=false"
    form = build_form(BOOLEANS, data={})
    assert cleaned_parameters(form, BOOLEANS) is None
    assert form.errors["must"] == ["This field is required."]


def test_objects_and_untyped_arrays_are_json_textareas(deploy):
    form = build_form({**deploy, "anything": {"type": "array"}})
    for name in ("options", "anything"):
        assert isinstance(form.fields[name].widget, forms.Textarea), name
    assert "{}</textarea>" in str(form["options"])


def test_json_fields_hint_at_the_shape_their_schema_expects():
    spec = {
        "target": {
            "type": "object",
            "properties": {
                "host": {"type": "string"},
                "port": {"type": "integer", "default": 22},
                "tls": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "free": {"type": "object", "description": "Anything."},
        "records": {"type": "array", "items": {"type": "object"}},
    }
    form = build_form(spec)
    target = '{"host": "text", "port": 22, "tls": true, "tags": ["text"]}'
    assert form.fields["target"].widget.attrs["placeholder"] == target
    assert form.fields["target"].help_text == f"JSON object, such as {target}."
    assert form.fields["free"].help_text == 'Anything. JSON object, such as {"name": "value"}.'
    assert form.fields["records"].widget.attrs["placeholder"] == '[{"name": "value"}]'
    html = str(form["target"])
    assert "placeholder=" in html and 'aria-describedby="id_target_helptext"' in html


def test_secret_is_a_password_input_never_rendered(deploy):
    form = build_form(deploy, data={"api_token": "s3cret", "environment": "nowhere"})
    assert isinstance(form.fields["api_token"].widget, forms.PasswordInput)
    assert form.fields["api_token"].initial is None
    form.is_valid()
    assert "s3cret" not in str(form["api_token"])


def test_immutable_is_disabled_and_never_submitted():
    notes = merged("notes")
    form = build_form(notes, data={"cmd": "rm -rf /", "title": "T"})
    assert form.fields["cmd"].disabled
    assert "disabled" in str(form["cmd"])
    values = cleaned_parameters(form, notes)
    assert values == {"title": "T"}
    assert "cmd" not in values


def test_query_values_prefill(deploy):
    form = build_form(deploy, initial={"version": "1.2.3", "replicas": "4"})
    assert 'value="1.2.3"' in str(form["version"])
    assert 'value="4"' in str(form["replicas"])


def valid_deploy(**extra):
    return {"environment": "staging", "version": "1.4.2", "replicas": "2", **extra}


def test_cleaned_parameters_are_typed_values_the_user_gave(deploy):
    data = valid_deploy(
        services='["web", "api"]',
        hosts='[{"host": "a", "port": 80}]',
        options='{"x": 1}',
        api_token="tok",
        dry_run="on",
    )
    values = cleaned_parameters(build_form(deploy, data=data), deploy)
    assert values == {
        "environment": "staging",
        "version": "1.4.2",
        "replicas": 2,
        "services": ["web", "api"],
        "hosts": [{"host": "a", "port": 80}],
        "options": {"x": 1},
        "api_token": "tok",
    }  # dry_run ticked, as its default: not sent


def test_empty_optional_fields_are_left_to_the_defaults(deploy):
    values = cleaned_parameters(build_form(deploy, data=valid_deploy(canary_percent="")), deploy)
    assert "canary_percent" not in values and "api_token" not in values
    assert values["dry_run"] is False  # unticked, unlike its default
    assert "debug" not in values  # a runner's box left at its default is not sent


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("replicas", "many", "Enter a whole number."),
        ("replicas", "50", "Ensure this value is less than or equal to 20."),
        ("environment", "moon", "Select a valid choice."),
        ("services", "[1, 2]", "Item 0 must be of type string."),
        ("options", "[1]", "Enter a JSON object."),
        ("options", "{nope", "Not valid JSON"),
    ],
)
def test_form_errors_are_on_their_field(deploy, field, value, message):
    form = build_form(deploy, data=valid_deploy(**{field: value}))
    assert cleaned_parameters(form, deploy) is None
    assert message in " ".join(form.errors[field])


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("version", "-bad", "version: '-bad' does not match"),
        ("services", '["a", "a"]', "services: ['a', 'a'] has non-unique elements"),
        ("hosts", '[{"port": 80}]', "hosts.0: 'host' is a required property"),
    ],
)
def test_schema_errors_from_params_are_on_their_field(deploy, field, value, message):
    """What only the shared schema module checks (pattern, uniqueness, nested items) comes
    back from st2bridge.params and lands beside the field it names."""
    form = build_form(deploy, data=valid_deploy(**{field: value}))
    assert cleaned_parameters(form, deploy) is None
    [error] = form.errors[field]
    assert error.startswith(message)


def test_required_missing(deploy):
    form = build_form(deploy, data={"environment": "staging"})
    assert cleaned_parameters(form, deploy) is None
    assert form.errors["version"] == ["This field is required."]


def test_every_error_of_a_submit_is_shown_at_once_beside_its_field(deploy):
    """Defect 5: the schema's checks (pattern, uniqueness) waited until the fields' own checks
    (required, type, limits, choices, JSON) passed, so errors came one submit at a time."""
    data = {
        "environment": "",  # required
        "version": "-bad",  # pattern (the schema's)
        "replicas": "lots",  # type
        "canary_percent": "500",  # maximum
        "services": '["a", "a"]',  # uniqueItems (the schema's)
        "options": "{nope",  # JSON
    }
    form = build_form(deploy, data=data)
    assert cleaned_parameters(form, deploy) is None
    assert {name: len(errors) for name, errors in form.errors.items()} == dict.fromkeys(data, 1)
    assert form.errors["version"][0].startswith("version: '-bad' does not match")
    assert form.errors["services"][0].startswith("services: ['a', 'a'] has non-unique")
    assert form.errors["canary_percent"] == ["Ensure this value is less than or equal to 100."]
    assert form.errors["options"][0].startswith("Not valid JSON")
    summary = error_summary(form)
    in_form_order = [name for name in form.fields if name in data]
    assert [item["label"] for item in summary] == in_form_order
    targets = {item["label"]: item["target"] for item in summary}
    assert targets["version"] == "id_version" and targets["services"] == "id_services-0"
    assert summary[0] == {
        "label": "environment",
        "target": "id_environment",
        "message": "This field is required.",
    }
    assert 'aria-invalid="true"' in str(form["version"]) and "is-invalid" in str(form["version"])


def test_no_error_summary_before_a_submit_or_after_an_add_row(deploy):
    assert error_summary(build_form(deploy)) == []
    form = build_form(deploy, data={"hosts-0-host": "a"})
    assert form.add_row("hosts") and error_summary(form) == []


# --- arrays as rows (demo.every_type has one parameter of every kind) -----------------------


@pytest.fixture
def every():
    return merged("every_type")


def rows_of(html, name):
    """The value of each row input of `name` (scalar items), template row excluded."""
    html = html.split("<template", 1)[0]
    return re.findall(rf'name="{name}-\d+"(?: [^>]*?value="([^"]*)")?', html)


def test_arrays_of_scalars_are_rows_of_typed_inputs(every):
    form = build_form(every)
    for name in ("names", "numbers", "sizes"):
        assert isinstance(form.fields[name], RowsField), name
    names = str(form["names"])
    assert (
        '<input type="text" name="names-0" maxlength="40" class="form-control" id="id_names-0"'
        in names
    )
    assert 'aria-label="names item 1"' in names
    numbers = str(form["numbers"])
    assert 'type="number" name="numbers-0" value="1" min="0" max="100" step="1"' in numbers
    assert rows_of(numbers, "numbers") == ["1", "2", ""]  # the default, then a blank row
    sizes = str(form["sizes"])
    assert '<select name="sizes-0" class="form-select" id="id_sizes-0"' in sizes
    assert '<option value="large">large</option>' in sizes
    for html in (names, numbers, sizes):
        assert '<template class="row-template">' in html and "-__index__" in html
        assert 'add-row" name="add-row" value="' in html and "formnovalidate" in html
        assert 'remove-row" hidden' in html


def test_arrays_of_objects_with_properties_are_rows_of_sub_fields(every, deploy):
    hosts = build_form(every)["hosts"]
    assert isinstance(hosts.field, RowsField) and hosts.widget_type == "rows"
    html = str(hosts)
    assert 'role="group" aria-label="hosts item 1"' in html
    host = '<label class="form-label small mb-0" for="id_hosts-0-host">host (required)</label>'
    assert f'<div class="col-sm">{host}<input type="text" name="hosts-0-host"' in html
    assert 'type="number" name="hosts-0-port" min="1" max="65535" step="1"' in html
    assert '<select name="hosts-0-tls" class="form-select" id="id_hosts-0-tls">' in html
    assert '<option value="" selected>(not set)</option>' in html  # a boolean: three states
    assert isinstance(build_form(deploy).fields["hosts"], RowsField)


@pytest.mark.parametrize(
    "items",
    [
        {"type": "object"},  # no properties
        {"type": "object", "properties": {"tags": {"type": "array"}}},  # not flat
        {"type": "object", "properties": {"a-b": {"type": "string"}}},  # not a field name
        {"type": "array"},
        {"type": "null"},
    ],
)
def test_other_arrays_stay_json(items):
    form = build_form({"things": {"type": "array", "items": items}})
    assert isinstance(form.fields["things"].widget, forms.Textarea)


def every_data(**extra):
    return {"text": "hi", **extra}


def test_rows_become_typed_lists(every):
    data = every_data(
        **{"names-0": "a", "names-7": "b", "names-3": "  "},  # gaps and blanks, as JS leaves them
        **{"numbers-0": "5", "numbers-1": " 60 "},
        **{"sizes-0": "large", "sizes-1": ""},
        **{"hosts-0-host": "web", "hosts-0-port": "80", "hosts-0-tls": "true"},
        **{"hosts-1-host": "", "hosts-1-port": "", "hosts-2-host": "db"},
    )
    values = cleaned_parameters(build_form(every, data=data), every)
    assert values == {
        "text": "hi",
        "names": ["a", "b"],
        "numbers": [5, 60],
        "sizes": ["large"],
        "hosts": [{"host": "web", "port": 80, "tls": True}, {"host": "db"}],
    }


def test_no_rows_means_the_default_and_emptied_rows_an_empty_list(every):
    values = cleaned_parameters(build_form(every, data=every_data()), every)
    assert "names" not in values and "hosts" not in values  # optional, no default: not sent
    assert values["numbers"] == []  # the default [1, 2] was emptied: that is what is sent
    required = {"xs": {"type": "array", "items": {"type": "string"}, "required": True}}
    form = build_form(required, data={"xs-0": " "})
    assert cleaned_parameters(form, required) is None
    assert form.errors["xs"] == ["This field is required."]


PORTS = {"targets": TARGETS}


def test_defaults_of_array_item_properties_are_shown_in_every_row_and_applied():
    """Defect 7: `port` default 22 in an array of objects was neither shown nor sent."""
    html = str(build_form(PORTS)["targets"])
    assert re.search(r'name="targets-0-port" value="22"[^>]* placeholder="22"', html)
    assert 'name="targets-__index__-port" value="22"' in html  # rows added by forms.js
    data = {
        "targets-0-host": "a",
        **{"targets-1-host": "b", "targets-1-port": "2222"},
        **{"targets-2-host": "c", "targets-2-port": ""},  # emptied: the default again
        **{"targets-3-host": "", "targets-3-port": "22"},  # the blank row: left out
    }
    values = cleaned_parameters(build_form(PORTS, data=data), PORTS)
    assert values == {
        "targets": [
            {"host": "a", "port": 22},
            {"host": "b", "port": 2222},
            {"host": "c", "port": 22},
        ]
    }
    as_text = build_form(PORTS, data={"targets": '[{"host": "d"}]'})
    assert cleaned_parameters(as_text, PORTS) == {"targets": [{"host": "d", "port": 22}]}
    with_default = {"targets": {**PORTS["targets"], "default": [{"host": "x"}]}}
    shown = str(build_form(with_default)["targets"])
    assert 'name="targets-0-host" value="x"' in shown
    assert 'name="targets-0-port" value="22"' in shown
    preview = command_preview(build_form(PORTS, data=data), PORTS, "x.y", API)
    assert '"port": 22' in preview["curl"]


def test_rows_also_take_text_as_the_api_does(every):
    data = every_data(names='["a", "b"]', numbers="3, 4", hosts='[{"host": "h"}]')
    values = cleaned_parameters(build_form(every, data=data), every)
    assert values["names"] == ["a", "b"] and values["numbers"] == [3, 4]
    assert values["hosts"] == [{"host": "h"}]


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"numbers-0": "5", "numbers-1": "500"}, "numbers", "Item 2: Ensure this value is less"),
        ({"numbers-0": "x"}, "numbers", "Item 1: Enter a whole number."),
        ({"sizes-0": "huge"}, "sizes", "Item 1: Select a valid choice."),
        ({"names-0": "n" * 41}, "names", "Item 1: Ensure this value has at most 40"),
        ({"hosts-0-host": "h", "hosts-0-port": "0"}, "hosts", "Item 1: port: Ensure this"),
        ({"names": "[1]"}, "names", "Item 0 must be of type string."),
        ({"hosts": "{nope"}, "hosts", "Not valid JSON"),
    ],
)
def test_a_bad_item_is_named_beside_its_field(every, data, field, message):
    form = build_form(every, data=every_data(**data))
    assert cleaned_parameters(form, every) is None
    assert " ".join(form.errors[field]).startswith(message)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"names-0": "a", "names-1": "a"}, "names", "names: ['a', 'a'] has non-unique"),
        ({"hosts-0-port": "80"}, "hosts", "hosts.0: 'host' is a required property"),
    ],
)
def test_schema_errors_about_rows_are_beside_their_field(every, data, field, message):
    form = build_form(every, data=every_data(**data))
    assert cleaned_parameters(form, every) is None
    assert form.errors[field][0].startswith(message)


def test_rows_keep_the_input_when_shown_again(every):
    data = every_data(**{"numbers-0": "5", "numbers-4": "lots", "hosts-0-host": "web"})
    form = build_form(every, data=data)
    assert cleaned_parameters(form, every) is None
    assert rows_of(str(form["numbers"]), "numbers") == ["5", "lots", ""]
    assert 'name="hosts-0-host" value="web"' in str(form["hosts"])


def test_add_row_shows_the_form_again_one_row_longer_unchecked(every):
    form = build_form(every, data=every_data(text="", **{"names-0": "a"}))
    assert form.add_row("names")
    assert form.quiet and form.errors == {}  # nothing refused while the user is still typing
    assert rows_of(str(form["names"]), "names") == ["a", "", ""]
    assert not build_form(every, data=every_data()).add_row("text")  # only rows fields
    prefixed = build_form(every, data={"trigger-names-0": "a"}, prefix="trigger")
    assert prefixed.add_row("trigger-names")
    assert 'name="trigger-names-1"' in str(prefixed["names"])


def test_prefill_of_rows_from_the_query_string(every):
    form = build_form(every, initial={"names": "a, b", "hosts": '[{"host": "h", "port": 1}]'})
    assert rows_of(str(form["names"]), "names") == ["a", "b", ""]
    assert 'name="hosts-0-port" value="1"' in str(form["hosts"])


def test_immutable_array_rows_are_disabled_without_buttons():
    spec = {
        "xs": {"type": "array", "items": {"type": "integer"}, "default": [1], "immutable": True}
    }
    html = str(build_form(spec)["xs"])
    assert 'name="xs-0" value="1"' in html and "disabled" in html
    assert "add-row" not in html and "<template" not in html


def test_browser_side_checks_where_html_can(every):
    form = build_form(every)
    assert " required " in str(form["text"]) and 'minlength="1"' in str(form["text"])
    assert 'maxlength="200"' in str(form["text"])
    assert 'step="1"' in str(form["count"]) and 'min="1" max="10"' in str(form["count"])
    assert 'step="any"' in str(form["ratio"])
    assert 'pattern="^[A-Z]{3}-[0-9]+$"' in str(form["code"])
    unanchored = build_form({"s": {"type": "string", "pattern": "ab+"}})
    assert unanchored.fields["s"].widget.attrs["pattern"] == r"[\s\S]*(?:ab+)[\s\S]*"


# --- the same launch from a shell -----------------------------------------------------------

API = "https://st2.example.com/api/v1"


def test_st2_run_and_curl_quote_every_value():
    values = {"cmd": "echo 'hi' $(id)", "n": 3, "ok": True, "xs": ["a b"], "m": {"k": 1}}
    assert st2_run_command("core.local", values) == (
        "st2 run core.local cmd='echo '\"'\"'hi'\"'\"' $(id)' n=3 ok=true "
        "xs='[\"a b\"]' m='{\"k\": 1}'"
    )
    assert curl_command(API, "core.local", {"cmd": "it's"}) == (
        "curl -X POST https://st2.example.com/api/v1/executions \\\n"
        "  -H 'X-Auth-Token: <your token>' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        """  --data '{"action": "core.local", "parameters": {"cmd": "it'"'"'s"}}'"""
    )


def test_preview_of_a_filled_form_masks_the_secret(every):
    data = every_data(
        text="it's $HOME", api_secret="hunter2", flag="on", **{"names-0": "a", "names-1": "b"}
    )
    preview = command_preview(build_form(every, data=data), every, "demo.every_type", API)
    assert preview["st2_run"] == (
        "st2 run demo.every_type text='it'\"'\"'s $HOME' api_secret='********' flag=true "
        "names='[\"a\", \"b\"]' numbers='[]'"
    )
    assert '"api_secret": "********"' in preview["curl"] and "hunter2" not in str(preview)


def test_preview_on_first_render_uses_the_initial_values(every):
    form = build_form(every, initial={"text": "hello", "count": "4", "names": "x,y"})
    preview = command_preview(form, every, "demo.every_type", API)
    assert preview["st2_run"] == 'st2 run demo.every_type text=hello count=4 names=\'["x", "y"]\''
    assert '"count": 4' in preview["curl"]  # typed, like the launch


def test_preview_shows_what_is_typed_even_when_not_valid_yet(every):
    form = build_form(every, data=every_data(count="lots", mode="changed"))
    preview = command_preview(form, every, "demo.every_type", API)
    assert "count=lots" in preview["st2_run"]
    assert "mode" not in preview["st2_run"]  # immutable: never submitted


def test_textarea_line_breaks_reach_the_action_as_newlines():
    notes = merged("notes")
    form = build_form(notes, data={"notes": "one\r\ntwo\r\n"})
    assert cleaned_parameters(form, notes)["notes"] == "one\ntwo\n"


def test_a_form_wide_error_is_in_the_summary_linked_to_its_box(deploy):
    form = build_form(deploy, data=valid_deploy())
    form.add_error(None, "The API refused this.")
    [item] = error_summary(form)
    assert item == {
        "label": "The form",
        "target": "form-error-1",
        "message": "The API refused this.",
    }
