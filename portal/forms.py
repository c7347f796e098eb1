"""Forms generated from an action's merged parameter schema.

One place maps a parameter's schema to a Django form field (`to_form_field`); the final,
server-side validation always goes through st2bridge.params (the same module the API
validates with), so the form and the API cannot disagree.
"""

import json

from django import forms

from st2bridge.errors import InvalidInput
from st2bridge.params import (
    MASK,
    cast_value,
    check_overrides,
    check_values,
    ordered_parameters,
    with_defaults,
)

LONG_STRING = 200
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value)


class JSONTextField(forms.CharField):
    """A JSON document in a textarea: a list (of `item_type` items) or a mapping."""

    widget = forms.Textarea

    def __init__(self, *, kind, item_type=None, **kwargs):
        self.kind, self.item_type = kind, item_type
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, indent=2)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from None
        if not isinstance(parsed, _JSON_TYPES[self.kind]):
            raise forms.ValidationError(f"Enter a JSON {self.kind}.")
        expected = _JSON_TYPES.get(self.item_type)
        if self.kind == "array" and expected:
            for index, item in enumerate(parsed):
                if not isinstance(item, expected) or (
                    isinstance(item, bool) and self.item_type != "boolean"
                ):
                    raise forms.ValidationError(f"Item {index} must be of type {self.item_type}.")
        return parsed


def _is_long_text(spec):
    default = spec.get("default")
    if isinstance(default, str) and "\n" in default:
        return True
    max_length = spec.get("maxLength")
    if max_length is not None:
        return max_length > LONG_STRING
    description = (spec.get("description") or "").lower()
    return "lines" in description or "multi-line" in description


def to_form_field(spec):
    """The Django form field for one parameter's (merged) schema."""
    kind = spec.get("type")
    common = {
        "required": bool(spec.get("required")),
        "help_text": spec.get("description", ""),
        "disabled": bool(spec.get("immutable")),
    }
    if spec.get("secret"):
        return forms.CharField(
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            strip=False,
            **common,
        )
    if spec.get("enum"):
        by_text = {_shown(choice): choice for choice in spec["enum"]}
        choices = [(text, text) for text in by_text]
        if not common["required"]:
            choices = [("", "—"), *choices]
        return forms.TypedChoiceField(
            choices=choices, coerce=by_text.__getitem__, empty_value=None, **common
        )
    if kind == "boolean":
        return forms.BooleanField(**{**common, "required": False})
    if kind in ("integer", "number"):
        field_class = forms.IntegerField if kind == "integer" else forms.FloatField
        limits = {"min_value": spec.get("minimum"), "max_value": spec.get("maximum")}
        return field_class(**limits, **common)
    if kind in ("array", "object"):
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        return JSONTextField(kind=kind, item_type=items.get("type"), **common)
    lengths = {"min_length": spec.get("minLength"), "max_length": spec.get("maxLength")}
    field = forms.CharField(strip=False, **lengths, **common)
    if _is_long_text(spec):
        field.widget = forms.Textarea(attrs=field.widget.attrs)
    if spec.get("pattern"):
        field.widget.attrs["pattern"] = spec["pattern"]
    return field


class ParametersForm(forms.Form):
    required_css_class = "required"
    error_css_class = "has-error"


REUSED_SECRET_HELP = "Leave blank to reuse the value of the original run."  # noqa: S105


def build_form(merged, data=None, initial=None, rerun=False, prefix=None):
    """A form of every parameter in StackStorm's order; defaults (then `initial`) pre-fill it.
    For a re-run (`rerun`), secret fields may stay blank: the server reuses the original.
    `prefix` keeps the names of two forms on one page apart."""
    form = ParametersForm(data=data, prefix=prefix)
    for name, spec in ordered_parameters(merged):
        field = to_form_field(spec)
        if rerun and spec.get("secret"):
            field.required = False
            field.help_text = f"{field.help_text} {REUSED_SECRET_HELP}".strip()
        if "default" in spec and spec["default"] is not None and not spec.get("secret"):
            field.initial = spec["default"]
        if initial and name in initial and not spec.get("immutable"):
            field.initial = initial[name]
        form.fields[name] = field
    return form


def _given(form, name, spec):
    """Whether the user gave a value for `name` (an empty box means: use the default)."""
    if spec.get("immutable"):
        return False
    if spec.get("type") == "boolean" and not spec.get("enum"):
        # An unticked box cannot say "not given": a box left at its default is not sent.
        return form.cleaned_data.get(name) != spec.get("default")
    return form.cleaned_data.get(name) not in (None, "")


def cleaned_parameters(form, merged, rerun=False):
    """The values the user gave, checked by st2bridge.params; None (with errors added to the
    form) when the form or the schema refuses them. Call after form.is_valid().
    For a re-run, secrets left blank are left out: the server holds the original values."""
    if not form.is_valid():
        return None
    given = {
        name: form.cleaned_data[name]
        for name, spec in merged.items()
        if name in form.cleaned_data and _given(form, name, spec)
    }
    reused = {
        name: MASK
        for name, spec in merged.items()
        if rerun and spec.get("secret") and name not in given
    }
    try:
        check_overrides(merged, given)
        values = {name: cast_value(name, merged[name], value) for name, value in given.items()}
        check_values(merged, with_defaults(merged, {**reused, **values}))
    except InvalidInput as error:
        add_error(form, error.message)
        return None
    return values


def add_error(form, message):
    """Show a schema (or API) refusal beside the field it names, else above the form."""
    form.add_error(_field_named(form, message), message)


def _field_named(form, message):
    """The field an InvalidInput message names ("name: ..." or "'name' is a required ..."),
    else None (a form-wide error)."""
    head = message.split(":", 1)[0].split(".", 1)[0].strip()
    if head in form.fields:
        return head
    for name in form.fields:
        if message.startswith(f"'{name}' "):
            return name
    return None
