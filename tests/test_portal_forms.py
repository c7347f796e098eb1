"""Forms generated from merged parameter schemas (portal.forms), every parameter kind, using
the bundled demo pack's actions merged with their runners by st2bridge.params."""

from pathlib import Path

import pytest
import yaml
from django import forms

from portal.forms import build_form, cleaned_parameters
from st2bridge.params import merge_parameters, ordered_parameters

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
    assert [value for value, _ in field.choices] == ["development", "staging", "production"]
    greeting = build_form(merged("greet")).fields["greeting"]
    assert greeting.choices[0] == ("", "—") and greeting.initial == "hello"


def test_arrays_and_objects_are_json_textareas(deploy):
    form = build_form(deploy)
    for name in ("services", "hosts", "options"):
        assert isinstance(form.fields[name].widget, forms.Textarea), name
    assert str(form["services"]).endswith("[]</textarea>")
    assert "{}</textarea>" in str(form["options"])


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
