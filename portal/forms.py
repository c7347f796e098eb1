"""Forms generated from an action's merged parameter schema.

One place maps a parameter's schema to a Django form field (`to_form_field`); the final,
server-side validation always goes through st2bridge.params (the same module the API
validates with), so the form and the API cannot disagree. portal/preview.py shows the same
launch as an `st2 run` command line and a curl call.
"""

import json
import re

from django import forms
from django.forms.utils import ErrorDict
from django.utils.html import format_html, format_html_join

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
_SCALARS = ("string", "integer", "number")
_ITEM_KEYS = ("required", "default", "description", "immutable", "secret", "position")
_ROW_KEY = re.compile(r"(\d{1,4})(?:-(\w+))?")  # "0" or "0-host", after "<name>-"
INDEX = "__index__"  # where forms.js puts a new row's index
ADD_ROW = "add-row"  # the "Add a row" button's name: no parameter name has a dash


def shown_value(value):
    """A value as one line of text: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _check_items(items, item_type):
    """Refuse a JSON list whose items are not of `item_type` (when it is a JSON type)."""
    expected = _JSON_TYPES.get(item_type)
    if not expected:
        return
    for index, item in enumerate(items):
        if not isinstance(item, expected) or (isinstance(item, bool) and item_type != "boolean"):
            raise forms.ValidationError(f"Item {index} must be of type {item_type}.")


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
        if self.kind == "array":
            _check_items(parsed, self.item_type)
        return parsed


class MultilineTextField(forms.CharField):
    """Text in a textarea. Browsers send its line breaks as CRLF; actions get "\\n"."""

    widget = forms.Textarea

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


# --- arrays as rows ------------------------------------------------------------------------


class RowsWidget(forms.Widget):
    """An array as rows of inputs named `name-0`, `name-1`, … (items with properties:
    `name-0-key`), one blank row more, a <template> row that static/js/forms.js clones, and an
    "Add a row" submit button: without JavaScript it posts the form, which comes back one row
    longer with the input kept. Only phrasing content, so it may sit inside a <p>."""

    use_fieldset = True
    label = ""  # the parameter's name, for the rows' labels (build_form sets it)

    def __init__(self, item_fields, keyed, attrs=None):
        self.item_fields, self.keyed = item_fields, keyed
        self.extra_rows = 1
        super().__init__(attrs)

    def value_from_datadict(self, data, files, name):
        """The rows posted (strings, or {key: string} for items with properties); failing
        those, the field's own `name` as text (JSON or a comma list, as the API takes)."""
        rows = {}
        for key in data:
            found = key.startswith(f"{name}-") and _ROW_KEY.fullmatch(key[len(name) + 1 :])
            if not found:
                continue
            index, key_name = int(found[1]), found[2]
            if self.keyed and key_name in self.item_fields:
                rows.setdefault(index, {})[key_name] = data.get(key)
            elif not self.keyed and key_name is None:
                rows[index] = data.get(key)
        if rows:
            return [rows[index] for index in sorted(rows)]
        return data.get(name, [])

    def value_omitted_from_data(self, data, files, name):
        return False

    def id_for_label(self, id_):
        if not id_:
            return id_
        return f"{id_}-0-{next(iter(self.item_fields))}" if self.keyed else f"{id_}-0"

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**self.attrs, **(attrs or {})}
        base_id = attrs.get("id") or f"id_{name}"
        label = self.label or name
        disabled = bool(attrs.get("disabled"))
        rows = list(value or [])
        if not disabled:
            rows += [self._blank()] * self.extra_rows
        shown = [
            self._render_row(name, label, base_id, index, row, str(index + 1), disabled)
            for index, row in enumerate(rows)
        ]
        parts = [format_html_join("", "{}", ((row,) for row in shown))]
        if not disabled:
            template = self._render_row(name, label, base_id, INDEX, self._blank(), "{n}", False)
            parts.append(format_html('<template class="row-template">{}</template>', template))
            parts.append(
                format_html(
                    '<button type="submit" class="add-row" name="{}" value="{}" '
                    'formnovalidate aria-label="Add a row to {}">Add a row</button>',
                    ADD_ROW,
                    name,
                    label,
                )
            )
        return format_html(
            '<span class="rows" id="{}" data-next="{}">{}</span>',
            base_id,
            len(rows),
            format_html_join("", "{}", ((part,) for part in parts)),
        )

    def _blank(self):
        return dict.fromkeys(self.item_fields, "") if self.keyed else ""

    def _render_row(self, name, label, base_id, index, row, number, disabled):
        """One row. `number` is "{n}" in the template row: forms.js renumbers the labels."""
        item = f"{label} item {number}"
        extra = {"disabled": True} if disabled else {}
        if self.keyed:
            inputs = format_html_join(
                " ",
                '<label class="sub">{}{} {}</label>',
                (
                    (
                        key,
                        " (required)" if getattr(field, "key_required", False) else "",
                        field.widget.render(
                            f"{name}-{index}-{key}",
                            row.get(key, ""),
                            {"id": f"{base_id}-{index}-{key}", **extra},
                        ),
                    )
                    for key, field in self.item_fields.items()
                ),
            )
            opening = format_html(
                '<span class="row" role="group" aria-label="{}" data-label="{} item {{n}}">',
                item,
                label,
            )
        else:
            field = self.item_fields[""]
            inputs = field.widget.render(
                f"{name}-{index}",
                row,
                {
                    "id": f"{base_id}-{index}",
                    "aria-label": item,
                    "data-label": f"{label} item {{n}}",
                    **extra,
                },
            )
            opening = format_html('<span class="{}">', "row")
        remove = ""
        if not disabled:
            remove = format_html(
                '<button type="button" class="remove-row" hidden aria-label="Remove {}" '
                'data-label="Remove {} item {{n}}">Remove</button>',
                item,
                label,
            )
        return format_html("{}{} {}</span>", opening, inputs, remove)


class RowsField(forms.Field):
    """An array of scalars (one typed input per item) or of flat objects (one row of
    sub-fields per item). Blank rows are ignored; no rows at all means "not given", or an
    empty list when the default is a non-empty one (so emptying it is possible)."""

    def __init__(self, *, item_fields, keyed, empty=None, item_type=None, **kwargs):
        self.item_fields, self.keyed = item_fields, keyed
        self.empty, self.item_type = empty, item_type
        super().__init__(widget=RowsWidget(item_fields, keyed), **kwargs)

    def prepare_value(self, value):
        """Rows to show: the list as text per item (or per key), blank rows dropped; text
        (a JSON list or a comma list, as in ?name=a,b) is read as a list first."""
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = _text_items(value)
        if not isinstance(value, list):
            value = [value]
        rows = []
        for item in value:
            if self.keyed:
                if isinstance(item, dict):
                    rows.append({key: _shown_row(item.get(key)) for key in self.item_fields})
            else:
                rows.append(_shown_row(item))
        return [row for row in rows if not blank_row(row)]

    def to_python(self, value):
        if isinstance(value, str):
            items = self._from_text(value)
        else:
            items = self._from_rows(value or [])
        return items if items else self.empty

    def _from_text(self, text):
        """A list given as text (a JSON list, or items separated by commas)."""
        text = text.strip()
        if not text:
            return []
        try:
            parsed = json.loads(text)
        except ValueError:
            if self.keyed:
                raise forms.ValidationError("Not valid JSON: enter a JSON list.") from None
            return self._from_rows([item.strip() for item in text.split(",")])
        if not isinstance(parsed, list):
            raise forms.ValidationError("Enter a JSON array.")
        _check_items(parsed, "object" if self.keyed else self.item_type)
        return parsed

    def _from_rows(self, rows):
        items, errors = [], []
        for row in rows:
            if blank_row(row):
                continue
            number = len(items) + 1
            try:
                items.append(self._clean_row(row))
            except forms.ValidationError as error:
                errors.extend(f"Item {number}: {message}" for message in error.messages)
                items.append(None)
        if errors:
            raise forms.ValidationError(errors)
        return items

    def _clean_row(self, row):
        if not self.keyed:
            text = _shown_row(row)
            return self.item_fields[""].clean(text.strip() if _trim(self.item_fields[""]) else text)
        item, errors = {}, []
        for key, field in self.item_fields.items():
            text = _shown_row(row.get(key))
            if not text.strip():
                continue
            try:
                item[key] = field.clean(text.strip() if _trim(field) else text)
            except forms.ValidationError as error:
                errors.extend(f"{key}: {message}" for message in error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return item


def _trim(field):
    """Numbers and choices are read without surrounding spaces; text is kept as typed."""
    return not isinstance(field, forms.CharField)


def _shown_row(value):
    return "" if value is None else shown_value(value)


def blank_row(row):
    texts = row.values() if isinstance(row, dict) else [row]
    return not any(_shown_row(text).strip() for text in texts)


def _text_items(text):
    try:
        return json.loads(text)
    except ValueError:
        return [item.strip() for item in text.split(",") if item.strip()]


def _item_field(spec):
    """The field of one array item (or one key of an item): a typed input or a select;
    None when the item is not a scalar (the array then stays a JSON textarea)."""
    if not isinstance(spec, dict):
        return None
    spec = {key: value for key, value in spec.items() if key not in _ITEM_KEYS}
    if spec.get("type") == "boolean" and not spec.get("enum"):
        spec["enum"] = [True, False]
    if not spec.get("enum") and spec.get("type") not in _SCALARS:
        return None
    field = to_form_field(spec)
    if isinstance(field.widget, forms.Textarea):
        field.widget = forms.TextInput(attrs=field.widget.attrs)
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
        by_text = {shown_value(choice): choice for choice in spec["enum"]}
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
        field = field_class(**limits, **common)
        if kind == "integer":
            field.widget.attrs["step"] = 1
        return field
    if kind == "array":
        field = _rows_field(spec, common)
        if field is not None:
            return field
    if kind in ("array", "object"):
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        return JSONTextField(kind=kind, item_type=items.get("type"), **common)
    lengths = {"min_length": spec.get("minLength"), "max_length": spec.get("maxLength")}
    field_class = MultilineTextField if _is_long_text(spec) else forms.CharField
    field = field_class(strip=False, **lengths, **common)
    if spec.get("pattern") and field_class is forms.CharField:
        field.widget.attrs["pattern"] = _html_pattern(spec["pattern"])
        field.widget.attrs["title"] = f"Must match the pattern {spec['pattern']}"
    return field


class ParametersForm(forms.Form):
    required_css_class = "required"
    error_css_class = "has-error"
    quiet = False  # re-rendered for "Add a row": the input kept, nothing checked yet

    def full_clean(self):
        if not self.quiet:
            return super().full_clean()
        self._errors, self.cleaned_data = ErrorDict(), {}
        return None

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
            field.initial = initial[name]
        form.fields[name] = field
    return form


def _given(form, name, spec):
    """Whether the user gave a value for `name` (an empty box means: use the default)."""
    if spec.get("immutable"):
        return False
    return is_given(spec, form.cleaned_data.get(name))


def is_given(spec, value):
    if spec.get("type") == "boolean" and not spec.get("enum"):
        # An unticked box cannot say "not given": a box left at its default is not sent.
        return value != spec.get("default")
    return value not in (None, "")


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
