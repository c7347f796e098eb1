"""Array parameters as rows of inputs, for the generated forms of portal/forms.py: one typed
input per item (an array of scalars), or one row of sub-fields per item (an array of flat
objects, whose properties' defaults are shown in every row and applied to what is sent)."""

import json
import re

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}
_ROW_KEY = re.compile(r"(\d{1,4})(?:-(\w+))?")  # "0" or "0-host", after "<name>-"
INDEX = "__index__"  # where forms.js puts a new row's index
ADD_ROW = "add-row"  # the "Add a row" button's name: no parameter name has a dash


def shown_value(value):
    """A value as one line of text: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def check_items(items, item_type):
    """Refuse a JSON list whose items are not of `item_type` (when it is a JSON type)."""
    expected = _JSON_TYPES.get(item_type)
    if not expected:
        return
    for index, item in enumerate(items):
        if not isinstance(item, expected) or (isinstance(item, bool) and item_type != "boolean"):
            raise forms.ValidationError(f"Item {index} must be of type {item_type}.")


def _shown_row(value):
    return "" if value is None else shown_value(value)


def blank_row(row, defaults=None):
    """Whether a row holds nothing of the user's: every input empty or at its default."""
    if not isinstance(row, dict):
        return not _shown_row(row).strip()
    defaults = defaults or {}
    return all(
        not _shown_row(text).strip() or (key in defaults and text == defaults[key])
        for key, text in row.items()
    )


def _text_items(text):
    try:
        return json.loads(text)
    except ValueError:
        return [item.strip() for item in text.split(",") if item.strip()]


def _trim(field):
    """Numbers and choices are read without surrounding spaces; text is kept as typed."""
    return not isinstance(field, forms.CharField)


class RowsWidget(forms.Widget):
    """An array as rows of inputs named `name-0`, `name-1`, … (items with properties:
    `name-0-key`), one blank row more, a <template> row that static/js/forms.js clones, and an
    "Add a row" submit button: without JavaScript it posts the form, which comes back one row
    longer with the input kept. A row of sub-fields is a Bootstrap row, one column each."""

    use_fieldset = True
    label = ""  # the parameter's name, for the rows' labels (build_form sets it)

    def __init__(self, item_fields, keyed, attrs=None):
        self.item_fields, self.keyed = item_fields, keyed
        self.extra_rows = 1
        super().__init__(attrs)

    @property
    def defaults(self):
        """{key: the default as text} of the sub-fields that have one."""
        return {
            key: shown_value(field.item_default)
            for key, field in self.item_fields.items()
            if getattr(field, "item_default", None) is not None
        }

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
        if attrs.get("autofocus") and shown:  # the first input of the first row
            shown[0] = shown[0].replace("<input ", "<input autofocus ", 1)
        parts = [format_html_join("", "{}", ((row,) for row in shown))]
        if not disabled:
            template = self._render_row(name, label, base_id, INDEX, self._blank(), "{n}", False)
            parts.append(format_html('<template class="row-template">{}</template>', template))
            parts.append(
                format_html(
                    '<button type="submit" class="btn btn-outline-secondary btn-sm add-row" '
                    'name="{}" value="{}" formnovalidate aria-label="Add a row to {}">'
                    "Add a row</button>",
                    ADD_ROW,
                    name,
                    label,
                )
            )
        return format_html(
            '<div class="array-rows" id="{}" data-next="{}">{}</div>',
            base_id,
            len(rows),
            format_html_join("", "{}", ((part,) for part in parts)),
        )

    def _blank(self):
        return {**dict.fromkeys(self.item_fields, ""), **self.defaults} if self.keyed else ""

    def _render_row(self, name, label, base_id, index, row, number, disabled):
        """One row. `number` is "{n}" in the template row: forms.js renumbers the labels."""
        item = f"{label} item {number}"
        extra = {"disabled": True} if disabled else {}
        if self.keyed:
            columns = format_html_join(
                "",
                '<div class="col-sm"><label class="form-label small mb-0" for="{}">{}{}</label>'
                "{}</div>",
                (
                    (
                        f"{base_id}-{index}-{key}",
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
                '<div class="array-row row g-2 align-items-end mb-2" role="group" '
                'aria-label="{}" data-label="{} item {{n}}">',
                item,
                label,
            )
        else:
            field = self.item_fields[""]
            columns = format_html(
                '<div class="col">{}</div>',
                field.widget.render(
                    f"{name}-{index}",
                    row,
                    {
                        "id": f"{base_id}-{index}",
                        "aria-label": item,
                        "data-label": f"{label} item {{n}}",
                        **extra,
                    },
                ),
            )
            opening = format_html('<div class="{}">', "array-row row g-2 mb-2")
        remove = ""
        if not disabled:
            remove = format_html(
                '<div class="col-auto"><button type="button" '
                'class="btn btn-outline-secondary btn-sm remove-row" hidden{}>Remove</button>'
                "</div>",
                flatatt(
                    {"aria-label": f"Remove {item}", "data-label": f"Remove {label} item {{n}}"}
                ),
            )
        return format_html("{}{}{}</div>", opening, columns, remove)


class RowsField(forms.Field):
    """An array of scalars (one typed input per item) or of flat objects (one row of
    sub-fields per item, a sub-field left empty taking its default). Blank rows are ignored;
    no rows at all means "not given", or an empty list when the default is a non-empty one
    (so emptying it is possible)."""

    def __init__(self, *, item_fields, keyed, empty=None, item_type=None, **kwargs):
        self.item_fields, self.keyed = item_fields, keyed
        self.empty, self.item_type = empty, item_type
        super().__init__(widget=RowsWidget(item_fields, keyed), **kwargs)

    @property
    def item_defaults(self):
        """{key: default} of the items' properties that have one (rows of objects only)."""
        if not self.keyed:
            return {}
        return {
            key: field.item_default
            for key, field in self.item_fields.items()
            if getattr(field, "item_default", None) is not None
        }

    def prepare_value(self, value):
        """Rows to show: the list as text per item (or per key, a key not given showing its
        default), blank rows dropped; text (a JSON list or a comma list, as in ?name=a,b) is
        read as a list first."""
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = _text_items(value)
        if not isinstance(value, list):
            value = [value]
        rows, defaults = [], self.item_defaults
        for item in value:
            if self.keyed:
                if isinstance(item, dict):
                    item = {**defaults, **item}
                    rows.append({key: _shown_row(item.get(key)) for key in self.item_fields})
            else:
                rows.append(_shown_row(item))
        shown_defaults = self.widget.defaults
        return [row for row in rows if not blank_row(row, shown_defaults)]

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
        check_items(parsed, "object" if self.keyed else self.item_type)
        if self.keyed:
            return [self._with_defaults(item) for item in parsed]
        return parsed

    def _with_defaults(self, item):
        missing = {key: value for key, value in self.item_defaults.items() if key not in item}
        return {**item, **missing}

    def _from_rows(self, rows):
        items, errors = [], []
        shown_defaults = self.widget.defaults
        for row in rows:
            if blank_row(row, shown_defaults):
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
        item, errors, defaults = {}, [], self.item_defaults
        for key, field in self.item_fields.items():
            text = _shown_row(row.get(key))
            if not text.strip():
                if key in defaults:
                    item[key] = defaults[key]
                continue
            try:
                item[key] = field.clean(text.strip() if _trim(field) else text)
            except forms.ValidationError as error:
                errors.extend(f"{key}: {message}" for message in error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return item
