"""The rule editor's form logic, which needs no StackStorm: the static fields, criteria rows,
the action parameters form (every field accepts Jinja), and turning all of it into a rule
body. portal/views/rules.py fetches and saves through St2Client."""

import json

from django import forms

from st2bridge.errors import InvalidInput
from st2bridge.params import cast_value, is_template, ordered_parameters
from st2bridge.rules.operators import OPERATORS

from .forms import ParametersForm

BLANK_CRITERIA_ROWS = 2  # offered without JavaScript
OPERATOR_CHOICES = [(name, name) for name in sorted(OPERATORS)]


class RuleForm(forms.Form):
    name = forms.RegexField(regex=r"^[^/.]+$", max_length=255, help_text="Letters, digits, _ or -.")
    pack = forms.RegexField(regex=r"^[a-z0-9_]+$", initial="default", max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    enabled = forms.BooleanField(required=False, initial=True)
    trigger_type = forms.ChoiceField(label="Trigger type")
    action_ref = forms.ChoiceField(label="Action")

    def __init__(self, *args, trigger_types=(), actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger_type"].choices = [("", "—")] + [(t, t) for t in trigger_types]
        self.fields["action_ref"].choices = [("", "—")] + [(a, a) for a in actions]


def trigger_parameters_spec(trigger_type):
    """A trigger type's parameters_schema as the merged-parameters shape the forms take."""
    schema = (trigger_type or {}).get("parameters_schema") or {}
    required = set(schema.get("required") or [])
    return {
        name: {**spec, "required": spec.get("required") is True or name in required}
        for name, spec in (schema.get("properties") or {}).items()
    }


def action_parameters_form(merged, data=None, initial=None):
    """One text field per action parameter: a value or Jinja such as {{ trigger.body.x }}.
    Values are cast to the parameter's type on submit; the API validates the rule."""
    form = ParametersForm(data=data, initial=initial, prefix="action")
    for name, spec in ordered_parameters(merged):
        if spec.get("immutable"):
            continue
        kind = spec.get("type", "string")
        big = kind in ("array", "object") or spec.get("secret")
        form.fields[name] = forms.CharField(
            required=False,
            strip=False,
            label=name,
            widget=forms.Textarea(attrs={"rows": 2}) if big else forms.TextInput,
            help_text=f"{kind}{', required' if spec.get('required') else ''}. "
            f"{spec.get('description', '')} Jinja allowed.",
        )
    return form


def action_values(form, merged):
    """{name: value} of the filled fields: Jinja kept as text, the rest cast to its type.
    Errors are added to the form; returns None then."""
    values = {}
    for name, text in form.cleaned_data.items():
        if text in ("", None):
            continue
        try:
            values[name] = text if is_template(text) else cast_value(name, merged[name], text)
        except InvalidInput as error:
            form.add_error(name, error.message)
    return None if form.errors else values


def criteria_rows(data):
    """[(key, operator, pattern)] as typed, blank rows dropped."""
    rows = zip(
        data.getlist("criteria_key"),
        data.getlist("criteria_type"),
        data.getlist("criteria_pattern"),
        strict=False,
    )
    return [(k.strip(), op, p) for k, op, p in rows if k.strip() or p.strip()]


def criteria_from_rows(rows):
    """StackStorm's criteria mapping, and the errors of the rows. A pattern that reads as JSON
    (5, true, ["a", "b"], {...}, "quoted text") is that value; anything else is the text."""
    criteria, errors = {}, []
    for key, operator, pattern in rows:
        if not key:
            errors.append("Every criterion needs a key, such as trigger.body.status.")
        elif operator not in OPERATORS:
            errors.append(f"{key}: pick an operator from the list.")
        elif key in criteria:
            errors.append(f"{key}: only one criterion per key.")
        else:
            criteria[key] = {"type": operator, "pattern": _pattern(pattern)}
    return criteria, errors


def _pattern(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def rows_from_criteria(criteria):
    return [
        (key, spec.get("type", "equals"), _shown_pattern(spec.get("pattern", "")))
        for key, spec in (criteria or {}).items()
    ]


def _shown_pattern(pattern):
    """The text that reads back as `pattern` (text that looks like JSON gets its quotes)."""
    if isinstance(pattern, str) and _pattern(pattern) == pattern:
        return pattern
    return json.dumps(pattern)
