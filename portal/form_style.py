"""Bootstrap's classes on Django's form widgets, in one place: `form-control` (`form-select`,
`form-check-input`) on every input, and `is-invalid` on a field with errors. Django itself adds
`aria-invalid` and `aria-describedby`, pointing at `<id>_helptext` and `<id>_error` (the ids
templates/portal/_styled_field.html gives the help text and the errors)."""

from django import forms
from django.forms.boundfield import BoundField

CHECKS = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


def control_class(widget):
    if isinstance(widget, CHECKS):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class StyledBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        classes = [attrs.get("class") or widget.attrs.get("class") or control_class(widget)]
        if self.errors:
            classes.append("is-invalid")
        attrs["class"] = " ".join(classes)
        return attrs


class StyledForm(forms.Form):
    bound_field_class = StyledBoundField
