"""The launch template editor (issue 18): a form with the template's ref, name and description
and, for each parameter of its action, what the template does with it (leave it to the
action, fix it hidden or shown, expose it) and how it narrows an exposed one (choices,
minimum, maximum, pattern). Values are typed as text and cast as the API casts them
(st2bridge.params); the API checks the whole against the action's schema again, and its
refusals ("parameters.<name>.<what>: ...") are shown beside the field they name."""

import json

from django import forms

from st2bridge.errors import InvalidInput
from st2bridge.params import cast_value, ordered_parameters

from .forms import PortalForm

LEFT, EXPOSED, FIXED, SHOWN = "", "exposed", "fixed", "shown"
MODES = [
    (LEFT, "Left to the action (its default; cannot be set)"),
    (EXPOSED, "Exposed: the user sets it"),
    (FIXED, "Fixed, hidden"),
    (SHOWN, "Fixed, shown read-only"),
]
NUMBERS = ("integer", "number")
# What an API refusal names after "parameters.<name>." -> the editor's field.
API_FIELDS = {"value": "value", "default": "value", "enum": "enum", "minimum": "minimum"}
API_FIELDS.update({"maximum": "maximum", "pattern": "pattern", "mode": "mode"})


def _styled(field):
    css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
    field.widget.attrs["class"] = css
    return field


def _row_fields(spec):
    """{key: field} of one parameter's row; narrowing only where the type takes it."""
    kind = spec.get("type")
    value_help = "Fixed: its value. Exposed: its default (empty: the action's)."
    if kind in ("array", "object"):
        value_help += " JSON."
    fields = {
        "mode": forms.ChoiceField(choices=MODES, required=False, label="Use"),
        "value": forms.CharField(required=False, strip=False, label="Value", help_text=value_help),
    }
    if spec.get("secret"):
        fields["value"].help_text = "A secret is exposed or left to the action, never fixed."
    if spec.get("enum") or kind == "string":
        choices = spec.get("enum")
        hint = f" Of: {', '.join(json.dumps(c) for c in choices)}." if choices else ""
        fields["enum"] = forms.CharField(
            required=False,
            label="Choices",
            help_text=f"Exposed: the only values allowed, separated by commas.{hint}",
        )
    if kind in NUMBERS:
        number = forms.IntegerField if kind == "integer" else forms.FloatField
        for bound in ("minimum", "maximum"):
            limit = spec.get(bound)
            note = f" The action's: {limit}." if limit is not None else ""
            fields[bound] = number(required=False, label=bound.capitalize(), help_text=note)
    if kind == "string" and not spec.get("enum"):
        fields["pattern"] = forms.CharField(
            required=False,
            max_length=500,
            label="Pattern",
            help_text="Exposed: a regular expression the value must match.",
        )
    return {key: _styled(field) for key, field in fields.items()}


class TemplateForm(PortalForm):
    """`rows`: [(parameter name, its spec, [bound fields of its row])] in StackStorm's order."""

    def __init__(self, merged, data=None, initial=None, editing=False):
        super().__init__(data=data, initial=initial)
        self.merged, self.editing = merged, editing
        self.fields["ref"] = _styled(
            forms.CharField(
                max_length=400,
                disabled=editing,
                help_text="pack.name, unique; it does not change afterwards.",
            )
        )
        self.fields["name"] = _styled(forms.CharField(max_length=200))
        self.fields["description"] = _styled(
            forms.CharField(required=False, max_length=4000, widget=forms.Textarea({"rows": 2}))
        )
        self.keys = {}
        for name, spec in ordered_parameters(merged):
            if spec.get("immutable"):
                continue  # the action fixes it for everyone: no template changes it
            fields = _row_fields(spec)
            self.keys[name] = list(fields)
            for key, field in fields.items():
                self.fields[f"{name}__{key}"] = field

    @property
    def rows(self):
        return [
            (name, self.merged[name], [self[f"{name}__{key}"] for key in keys])
            for name, keys in self.keys.items()
        ]

    def body(self, action):
        """The template as the API takes it, or None with the errors beside the fields."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        parameters = {}
        for name, keys in self.keys.items():
            entry = self._entry(name, keys, data)
            if entry is not None:
                parameters[name] = entry
        if self.errors:
            return None
        body = {"name": data["name"], "description": data["description"], "action": action}
        return {"ref": data["ref"], **body, "parameters": parameters}

    def _entry(self, name, keys, data):
        mode, text = data[f"{name}__mode"], data[f"{name}__value"]
        if mode == LEFT:
            return None
        if mode in (FIXED, SHOWN):
            return {
                "mode": "fixed",
                "value": self._cast(name, "value", text),
                "shown": mode == SHOWN,
            }
        entry = {"mode": "exposed"}
        if text != "":
            entry["default"] = self._cast(name, "value", text)
        if "enum" in keys and data[f"{name}__enum"].strip():
            choices = [part.strip() for part in data[f"{name}__enum"].split(",") if part.strip()]
            entry["enum"] = [self._cast(name, "enum", choice) for choice in choices]
        for key in ("minimum", "maximum", "pattern"):
            if key in keys and data[f"{name}__{key}"] not in (None, ""):
                entry[key] = data[f"{name}__{key}"]
        return entry

    def _cast(self, name, key, text):
        try:
            return cast_value(name, self.merged[name], text)
        except InvalidInput as error:
            self.add_error(f"{name}__{key}", error.message.split(": ", 1)[-1])
            return None

    def add_api_error(self, message):
        """An API refusal beside the field it names ("parameters.x.maximum: ...", "ref: ...")."""
        head = message.split(":", 1)[0]
        parts = head.split(".")
        field = None
        if parts[0] == "parameters" and len(parts) >= 2 and parts[1] in self.keys:
            key = API_FIELDS.get(parts[2] if len(parts) > 2 else "mode", "mode")
            field = f"{parts[1]}__{key}" if key in self.keys[parts[1]] else f"{parts[1]}__mode"
        elif head in ("ref", "name", "description") and not (head == "ref" and self.editing):
            field = head
        self.add_error(field, message)


def initial_of(template):
    """The editor's initial values for an existing template (as GET /templates shows it)."""
    initial = {key: template.get(key, "") for key in ("ref", "name", "description")}
    for name, entry in template.get("parameters", {}).items():
        if entry.get("mode") == "fixed":
            initial[f"{name}__mode"] = SHOWN if entry.get("shown") else FIXED
            initial[f"{name}__value"] = _text(entry.get("value"))
            continue
        initial[f"{name}__mode"] = EXPOSED
        initial[f"{name}__value"] = _text(entry.get("default"))
        if entry.get("enum"):
            initial[f"{name}__enum"] = ", ".join(_text(choice) for choice in entry["enum"])
        for key in ("minimum", "maximum", "pattern"):
            if key in entry:
                initial[f"{name}__{key}"] = entry[key]
    return initial


def _text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
