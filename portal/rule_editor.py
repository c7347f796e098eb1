"""The rule editor's form logic, which needs no StackStorm: the static fields, criteria rows,
the action parameters form, and turning all of it into a rule body, every error at once.
portal/views/rules.py fetches and saves through St2Client.

The action parameters are the same typed fields as an action's launch form (portal.forms),
less the defaults (a rule that leaves a parameter out gets the action's default when it
fires). A field that can hold any text (a string, a secret, JSON) also takes Jinja, such as
{{ trigger.body.name }}; a typed field that cannot (a number, a select, rows) switches to a
Jinja expression with its "Use a Jinja expression" button, and back."""

import json
import re

from django import forms
from django.core.exceptions import ValidationError

from st2bridge.errors import InvalidInput
from st2bridge.params import MASK, cast_value, holds_template, ordered_parameters
from st2bridge.params import rule_value_errors as schema_errors
from st2bridge.rules.operators import OPERATORS

from .form_rows import RowsField, shown_value
from .forms import (
    JSONTextField,
    ParametersForm,
    PortalForm,
    add_errors,
    initial_value,
    to_form_field,
)

BLANK_CRITERIA_ROWS = 2  # offered without JavaScript
OPERATOR_CHOICES = [(name, name) for name in sorted(OPERATORS)]
NAME = re.compile(r"[A-Za-z0-9_-]+")
NAME_HELP = "Letters (A–Z, a–z), digits, _ or -."
JINJA_FIELD = "action_jinja"  # hidden inputs: the parameters shown as Jinja expressions
JINJA_TOGGLE = "jinja_toggle"  # the button that switches one parameter
_NOT_ON_JINJA = ("default", "minLength", "maxLength", "pattern")


class RuleForm(PortalForm):
    name = forms.CharField(max_length=255, help_text=NAME_HELP)
    pack = forms.RegexField(regex=r"^[a-z0-9_]+$", initial="default", max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    enabled = forms.BooleanField(required=False, initial=True)
    trigger_type = forms.ChoiceField(label="Trigger type")
    action_ref = forms.ChoiceField(label="Action")

    def __init__(self, *args, trigger_types=(), actions=(), current_name=None, **kwargs):
        """`current_name`: the name of the rule edited, kept even if it breaks today's rule
        (a rule made through the API or a pack may have any name without a slash)."""
        super().__init__(*args, **kwargs)
        self.current_name = current_name
        self.fields["trigger_type"].choices = [("", "Choose…")] + [(t, t) for t in trigger_types]
        self.fields["action_ref"].choices = [("", "Choose…")] + [(a, a) for a in actions]
        for field in self.fields.values():
            field.widget.attrs.pop("cols", None)  # as in portal.forms: no sideways scrolling
            field.widget.attrs["class"] = (
                "form-check-input"
                if isinstance(field.widget, forms.CheckboxInput)
                else "form-select"
                if isinstance(field.widget, forms.Select)
                else "form-control"
            )

    def clean_name(self):
        """The portal asks for what its help says: the name becomes part of the rule's ref,
        its URL and `st2 rule get <ref>`, where spaces and signs need quoting. The API, like
        StackStorm's, only refuses a slash."""
        name = self.cleaned_data["name"]
        if name != self.current_name and not NAME.fullmatch(name):
            raise ValidationError(
                "Use only letters (A–Z, a–z), digits, _ or -: no spaces or other signs."
            )
        return name


def trigger_parameters_spec(trigger_type):
    """A trigger type's parameters_schema as the merged-parameters shape the forms take."""
    schema = (trigger_type or {}).get("parameters_schema") or {}
    required = set(schema.get("required") or [])
    return {
        name: {**spec, "required": spec.get("required") is True or name in required}
        for name, spec in (schema.get("properties") or {}).items()
    }


MAX_PAYLOAD_DEPTH = 3  # nested objects listed this deep


def payload_fields(trigger_type, prefix="trigger", depth=0):
    """What criteria and Jinja can read of a trigger type's payload, from its payload_schema:
    [(path such as "trigger.object.id", type or "", description)], nested objects' properties
    after their own line."""
    schema = (trigger_type or {}).get("payload_schema") or {}
    return _schema_fields(schema, prefix, depth)


def _schema_fields(schema, prefix, depth):
    fields = []
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return fields
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        path = f"{prefix}.{name}"
        fields.append((path, _type_name(spec.get("type")), spec.get("description", "")))
        if depth + 1 < MAX_PAYLOAD_DEPTH:
            fields += _schema_fields(spec, path, depth + 1)
    return fields


def _type_name(kind):
    """A schema's `type` as text: "string", "string/null" for a list, "" for anything else."""
    if isinstance(kind, str):
        return kind
    return "/".join(str(name) for name in kind) if isinstance(kind, list) else ""


# --- action parameters ---------------------------------------------------------------------


def takes_text(field):
    """Whether a field's input holds any text (so Jinja too): not a number, select or rows."""
    widget = field.widget
    if isinstance(field, RowsField) or isinstance(widget, (forms.Select, forms.CheckboxInput)):
        return False
    return not isinstance(widget, forms.NumberInput)


def _rule_field(spec, as_jinja, kept_secret):
    """The field of one action parameter in a rule. Left empty, the parameter is not set:
    so only a required parameter without a default is required, and the default is shown
    as help (and as the placeholder where there is one), not filled in."""
    default = spec.get("default")
    required = bool(spec.get("required")) and default is None and not kept_secret
    # Text may be Jinja, whose length and pattern only mean something once rendered: the
    # schema checks them on literal text (action_values), the field does not.
    rule_spec = {key: value for key, value in spec.items() if key not in _NOT_ON_JINJA}
    field = to_form_field({**rule_spec, "required": required})
    if not takes_text(field):
        field.jinja_toggle = "jinja" if as_jinja else "typed"
        if as_jinja:
            field = forms.CharField(
                required=required,
                strip=False,
                help_text=spec.get("description", ""),
                widget=forms.TextInput(attrs={"class": "form-control", "spellcheck": "false"}),
            )
            field.jinja_toggle = "jinja"
            field.help_text = f"{field.help_text} A Jinja expression giving a {spec.get('type')}."
    elif isinstance(field, JSONTextField):
        field.templates = True
    notes = [field.help_text]
    if default is not None:
        notes.append(f"Default: {shown_value(default)}.")
        if not isinstance(field.widget, (forms.Select, forms.CheckboxInput, forms.Textarea)):
            field.widget.attrs.setdefault("placeholder", shown_value(default))
    if takes_text(field) and not spec.get("secret"):
        notes.append("Jinja allowed.")
    if kept_secret:
        notes.append("Leave blank to keep the rule's value.")
        field.kept_secret = True
    field.help_text = " ".join(note for note in notes if note).strip()
    return field


def action_parameters_form(merged, data=None, initial=None, jinja=(), kept_secrets=()):
    """The action's parameters, typed like its launch form. `jinja`: the parameters shown as
    a Jinja expression; `kept_secrets`: the secret parameters the rule holds, which may stay
    blank to keep their value."""
    form = ParametersForm(data=data, prefix="action")
    for name, spec in ordered_parameters(merged):
        if spec.get("immutable"):
            continue
        field = _rule_field(spec, name in jinja, name in kept_secrets)
        field.label = name
        if isinstance(field, RowsField):
            field.widget.label = name
        if initial and name in initial:
            field.initial = initial_value(field, initial[name])
        form.fields[name] = field
    return form


def jinja_parameters(merged, data=None, stored=None):
    """The parameters to show as Jinja: as posted (with the toggle pressed, if it was), or
    those of the rule whose stored value holds Jinja; only parameters with a typed field."""
    if data is not None:
        names = set(data.getlist(JINJA_FIELD))
        toggled = data.get(JINJA_TOGGLE)
        if toggled:
            names ^= {toggled}
    else:
        names = {name for name, value in (stored or {}).items() if holds_template(value)}
    return {name for name in names if name in merged}


def action_values(form, merged, kept_secrets=()):
    """{name: value} of the filled fields: typed values, Jinja kept as text, a kept secret
    left blank as ******** (the API then keeps the stored value); with every error the
    schema finds added beside its field at once. None when there is any error."""
    form.is_valid()
    values = {}
    for name, value in form.cleaned_data.items():
        if value in ("", None, []):
            if name in kept_secrets:
                values[name] = MASK
            continue
        values[name] = value
    messages = []
    for name, value in list(values.items()):
        if isinstance(value, str) and not holds_template(value) and name in merged:
            try:
                values[name] = cast_value(name, merged[name], value)
            except InvalidInput as error:
                messages.append(error.message)
    messages += schema_errors(merged, values)
    add_errors(form, messages)
    return None if form.errors else values


def initial_values(stored):
    """A rule's action parameters as the form's initial values: Jinja and text as they are,
    ******** (a secret, never shown) as nothing."""
    return {name: value for name, value in (stored or {}).items() if value != MASK}


# --- criteria ------------------------------------------------------------------------------


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
    """StackStorm's criteria mapping, and the errors of the rows as {row index: message}. A
    pattern that reads as JSON (5, true, ["a", "b"], {...}, "quoted text") is that value;
    anything else is the text."""
    criteria, errors = {}, {}
    for index, (key, operator, pattern) in enumerate(rows):
        if not key:
            errors[index] = "Every criterion needs a key, such as trigger.body.status."
        elif operator not in OPERATORS:
            errors[index] = f"{key}: pick an operator from the list."
        elif key in criteria:
            errors[index] = f"{key}: only one criterion per key."
        else:
            criteria[key] = {"type": operator, "pattern": _pattern(pattern)}
    return criteria, errors


def shown_criteria(rows, errors=None, blank=BLANK_CRITERIA_ROWS):
    """The rows to render: each with its index (for its inputs' ids) and its error, then
    `blank` empty rows."""
    errors = errors or {}
    rows = [*rows, *[("", "equals", "")] * blank]
    return [
        {"index": index, "key": key, "operator": op, "pattern": pattern, "error": errors.get(index)}
        for index, (key, op, pattern) in enumerate(rows)
    ]


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
