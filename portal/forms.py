"""Forms generated from an action's merged parameter schema.

One place maps a parameter's schema to a Django form field (`to_form_field`); the final,
server-side validation always goes through st2bridge.params (the same module the API
validates with), so the form and the API cannot disagree. Every error of a submit is shown at
once: the fields' own checks and the schema's, each beside its field, and listed in an error
summary above the form (`error_summary`). Arrays become rows of inputs (portal/form_rows.py);
portal/preview.py shows the same launch as an `st2 run` command line and a curl call.
"""

import json
import re

from django import forms
from django.forms.boundfield import BoundField
from django.forms.utils import ErrorDict

from st2bridge.errors import InvalidInput
from st2bridge.params import (
    MASK,
    cast_value,
    check_overrides,
    ordered_parameters,
    value_errors,
    with_defaults,
)

from .form_rows import RowsField, RowsWidget, check_items, shown_value

LONG_STRING = 200
_JSON_TYPES = {"object": dict, "array": list}
_SCALARS = ("string", "integer", "number", "boolean")
_ITEM_KEYS = ("required", "default", "description", "immutable", "secret", "position")
REQUIRED_CHOICE = ("", "Choose…")  # a required select starts here: untouched is refused
NOT_SET_CHOICE = ("", "(not set)")  # an optional select left here sends nothing
_EXAMPLES = {"string": "text", "integer": 1, "number": 1.5, "boolean": True}


class JSONTextField(forms.CharField):
    """A JSON document in a textarea: a list (of `item_type` items) or a mapping. In a rule's
    action parameters (`templates`), text that is not JSON but holds Jinja is kept as text."""

    widget = forms.Textarea
    templates = False

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
            if self.templates and ("{{" in text or "{%" in text):
                return text
            raise forms.ValidationError(f"Not valid JSON: {error}") from None
        if not isinstance(parsed, _JSON_TYPES[self.kind]):
            raise forms.ValidationError(f"Enter a JSON {self.kind}.")
        if self.kind == "array":
            check_items(parsed, self.item_type)
        return parsed


class MultilineTextField(forms.CharField):
    """Text in a textarea. Browsers send its line breaks as CRLF; actions get "\\n"."""

    widget = forms.Textarea

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


# --- arrays as rows ------------------------------------------------------------------------


def _item_field(spec):
    """The field of one array item (or one key of an item): a typed input or a select;
    None when the item is not a scalar (the array then stays a JSON textarea). The item's
    default, if any, is kept as `item_default`: rows show it and apply it."""
    if not isinstance(spec, dict):
        return None
    default = spec.get("default")
    spec = {key: value for key, value in spec.items() if key not in _ITEM_KEYS}
    if not spec.get("enum") and spec.get("type") not in _SCALARS:
        return None
    field = to_form_field(spec)
    if isinstance(field.widget, forms.Textarea):
        field.widget = forms.TextInput(attrs=field.widget.attrs)
    field.item_default = default
    if default is not None and "placeholder" not in field.widget.attrs:
        if not isinstance(field.widget, forms.Select):
            field.widget.attrs["placeholder"] = shown_value(default)
    return field


def _rows_field(spec, common):
    """Rows for an array of scalars or of objects with scalar properties; else None."""
    items = spec.get("items")
    if not isinstance(items, dict):
        return None
    default = spec.get("default")
    options = {"empty": [] if isinstance(default, list) and default else None, **common}
    if items.get("type") == "object" or "properties" in items:
        properties = items.get("properties")
        if not isinstance(properties, dict) or not properties:
            return None
        required = set(items["required"]) if isinstance(items.get("required"), list) else set()
        fields = {}
        for key, key_spec in properties.items():
            field = _item_field(key_spec) if re.fullmatch(r"\w+", key) else None
            if field is None:
                return None
            field.key_required = key in required or key_spec.get("required") is True
            fields[key] = field
        return RowsField(item_fields=fields, keyed=True, **options)
    field = _item_field(items)
    if field is None:
        return None
    return RowsField(item_fields={"": field}, keyed=False, item_type=items.get("type"), **options)


# --- JSON hints -----------------------------------------------------------------------------


def example_value(spec):
    """A value of the shape `spec` describes, to show what a JSON field expects: the
    default where there is one, else an example built from its properties or items."""
    if not isinstance(spec, dict):
        return "value"
    if spec.get("default") is not None:
        return spec["default"]
    if spec.get("enum"):
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "object" or isinstance(spec.get("properties"), dict):
        properties = spec.get("properties")
        if not isinstance(properties, dict) or not properties:
            return {"name": "value"}
        return {key: example_value(value) for key, value in properties.items()}
    if kind == "array":
        return [example_value(spec.get("items") if isinstance(spec.get("items"), dict) else {})]
    return _EXAMPLES.get(kind, "value")


def json_hint(spec):
    """One line of JSON showing what a JSON field expects (its properties or items)."""
    shape = {key: value for key, value in spec.items() if key != "default"}
    return json.dumps(example_value(shape))


# --- one field per parameter ----------------------------------------------------------------


def _is_long_text(spec):
    default = spec.get("default")
    if isinstance(default, str) and "\n" in default:
        return True
    max_length = spec.get("maxLength")
    if max_length is not None:
        return max_length > LONG_STRING
    description = (spec.get("description") or "").lower()
    return "lines" in description or "multi-line" in description


def _html_pattern(pattern):
    """A JSON-schema pattern (a search) as an HTML pattern (which must match it all)."""
    if pattern.startswith("^") and pattern.endswith("$"):
        return pattern
    return f"[\\s\\S]*(?:{pattern})[\\s\\S]*"


def _choice_field(values, common, default=None):
    """A select of `values` with a blank choice first: a required one without a default
    starts at "Choose…", so Run untouched is refused beside it instead of sending whatever
    came first; an optional one may be left at "(not set)", which sends nothing."""
    by_text = {shown_value(choice): choice for choice in values}
    choices = [(text, text) for text in by_text]
    if not common["required"]:
        choices = [NOT_SET_CHOICE, *choices]
    elif default is None:
        choices = [REQUIRED_CHOICE, *choices]
    return forms.TypedChoiceField(
        choices=choices, coerce=by_text.__getitem__, empty_value=None, **common
    )


def to_form_field(spec):
    """The Django form field for one parameter's (merged) schema."""
    field = _field_for(spec)
    widget = field.widget
    if isinstance(widget, forms.CheckboxInput):
        widget.attrs["class"] = "form-check-input"
    elif isinstance(widget, forms.Select):
        widget.attrs["class"] = "form-select"
    elif not isinstance(widget, RowsWidget):
        widget.attrs["class"] = "form-control"
    widget.attrs.pop("cols", None)  # Django's cols="40" would make a phone screen scroll sideways
    return field


def _field_for(spec):
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
        return _choice_field(spec["enum"], common, spec.get("default"))
    if kind == "boolean":
        if spec.get("default") is None:
            # Tri-state: an untouched box would send false; left "(not set)", nothing is sent.
            return _choice_field([True, False], common)
        return forms.BooleanField(**{**common, "required": False})
    if kind in ("integer", "number"):
        field_class = forms.IntegerField if kind == "integer" else forms.FloatField
        limits = {"min_value": spec.get("minimum"), "max_value": spec.get("maximum")}
        field = field_class(**limits, **common)
        if kind == "integer":
            field.widget.attrs["step"] = 1
        return field
    if kind == "array":
        field = _rows_field(spec, common)
        if field is not None:
            return field
    if kind in ("array", "object"):
        return _json_field(spec, kind, common)
    lengths = {"min_length": spec.get("minLength"), "max_length": spec.get("maxLength")}
    field_class = MultilineTextField if _is_long_text(spec) else forms.CharField
    field = field_class(strip=False, **lengths, **common)
    if spec.get("pattern") and field_class is forms.CharField:
        field.widget.attrs["pattern"] = _html_pattern(spec["pattern"])
        field.widget.attrs["title"] = f"Must match the pattern {spec['pattern']}"
    return field


def _json_field(spec, kind, common):
    """A JSON textarea whose placeholder and help show the shape the schema expects."""
    hint = json_hint(spec)
    help_text = f"{common['help_text']} JSON {kind}, such as {hint}.".strip()
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    field = JSONTextField(
        kind=kind, item_type=items.get("type"), **{**common, "help_text": help_text}
    )
    field.widget.attrs.update({"placeholder": hint, "rows": 3, "spellcheck": "false"})
    return field


class StyledBoundField(BoundField):
    """A field whose input says it is invalid to Bootstrap (`is-invalid`), beside aria-invalid
    and aria-describedby, which Django adds."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if self.errors and not isinstance(widget, RowsWidget):
            attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
        return attrs


class PortalForm(forms.Form):
    """A portal form: Bootstrap's invalid state on fields with errors, and `quiet`: shown
    again with the input kept and nothing checked (a reload, an "Add a row")."""

    bound_field_class = StyledBoundField
    required_css_class = "required"
    error_css_class = "has-error"
    quiet = False

    def full_clean(self):
        if not self.quiet:
            return super().full_clean()
        self._errors, self.cleaned_data = ErrorDict(), {}
        return None


class ParametersForm(PortalForm):
    def add_row(self, html_name):
        """One blank row more for the rows field posted as `html_name` (the no-JavaScript
        "Add a row" button); the form is then shown again, not checked. False if no such field."""
        for name, field in self.fields.items():
            if isinstance(field, RowsField) and self.add_prefix(name) == html_name:
                field.widget.extra_rows += 1
                self.quiet = True
                return True
        return False


REUSED_SECRET_HELP = "Leave blank to reuse the value of the original run."  # noqa: S105


def build_form(merged, data=None, initial=None, rerun=False, prefix=None):
    """A form of every parameter in StackStorm's order; defaults (then `initial`) pre-fill it.
    For a re-run (`rerun`), secret fields may stay blank: the server reuses the original.
    `prefix` keeps the names of two forms on one page apart."""
    form = ParametersForm(data=data, prefix=prefix)
    for name, spec in ordered_parameters(merged):
        field = to_form_field(spec)
        field.label = name
        if isinstance(field, RowsField):
            field.widget.label = name
        if rerun and spec.get("secret"):
            field.required = False
            field.help_text = f"{field.help_text} {REUSED_SECRET_HELP}".strip()
        if "default" in spec and spec["default"] is not None and not spec.get("secret"):
            field.initial = spec["default"]
        if initial and name in initial and not spec.get("immutable"):
            field.initial = initial_value(field, initial[name])
        form.fields[name] = field
    return form


def initial_value(field, value):
    """A value (from a past run, a rule, the query string) as a field shows it: a select's
    options are JSON text (true, not Python's True)."""
    if isinstance(field, forms.TypedChoiceField) and not isinstance(value, str):
        return shown_value(value)
    return value


def _given(form, name, spec):
    """Whether the user gave a value for `name` (an empty box means: use the default)."""
    if spec.get("immutable"):
        return False
    return is_given(spec, form.cleaned_data.get(name))


def is_given(spec, value):
    if spec.get("type") == "boolean" and not spec.get("enum") and spec.get("default") is not None:
        # A box cannot say "not given": a box left at its default is not sent.
        return value != spec["default"]
    return value not in (None, "")


def cleaned_parameters(form, merged, rerun=False):
    """The values the user gave, checked by the form's fields and by st2bridge.params; None
    when either refuses them, with every error beside its field at once (the schema checks
    the fields that passed their own checks, so nothing waits for a second submit).
    For a re-run, secrets left blank are left out: the server holds the original values."""
    form.is_valid()
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
    messages, values = [], {}
    try:
        check_overrides(merged, given)
    except InvalidInput as error:
        messages.append(error.message)
    for name, value in given.items():
        try:
            values[name] = cast_value(name, merged[name], value)
        except InvalidInput as error:
            messages.append(error.message)
    messages += value_errors(merged, with_defaults(merged, {**reused, **values}))
    add_errors(form, messages)
    return None if form.errors else values


def add_errors(form, messages):
    """Each message beside the field it names, unless that field already shows an error of
    its own (then the schema saw no value of it: "'x' is a required property" says nothing
    new); a message naming no field goes above the form."""
    for message in messages:
        name = _field_named(form, message)
        if name is None or name not in form.errors:
            form.add_error(name, message)


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


# --- the error summary ----------------------------------------------------------------------


def non_field_error_id(form, number):
    """The id of a form-wide error's box (portal/partials/_fields.html), counted from 1."""
    return f"{form.prefix or 'form'}-error-{number}"


def error_summary(form, label_prefix=""):
    """The errors of a bound form for the summary above it, in the form's order: {"label",
    "target" (the id of the input to focus, or of a form-wide error's box), "message"}."""
    if not form.is_bound or form.quiet:
        return []
    items = [
        {"label": "The form", "target": non_field_error_id(form, number), "message": text}
        for number, text in enumerate(form.non_field_errors(), start=1)
    ]
    for field in form:
        items += [
            {"label": f"{label_prefix}{field.label}", "target": field.id_for_label, "message": m}
            for m in field.errors
        ]
    return items
