"""A pack's config, edited by administrators through a form generated from the pack's config
schema with the machinery of action forms (portal/forms.py, st2bridge.params), saved through
the API (PUT /api/v1/configs/<pack>), which validates it against the same schema.

Secrets never reach the browser: secret fields are password fields shown empty; left blank,
they keep the stored value (the API keeps a secret sent back masked). Secrets inside arrays
(password inputs) and objects (JSON) are shown masked, and kept when sent back so. Config
items the schema does not name are kept as they are.
"""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render

from portal.access import st2_login_required
from portal.form_rows import ADD_ROW, RowsField
from portal.forms import add_error, build_form, cleaned_parameters, error_summary
from st2bridge.client import ApiError
from st2bridge.params import MASK

KEEP_SECRET_HELP = "Leave blank to keep the stored value."  # noqa: S105 - help text
ATTRIBUTE = re.compile(r'^Failed validating attribute "(\w+)')


@st2_login_required
def pack_config(request, ref):
    """GET: the form, filled with the pack's config (secrets blank). POST: save it, then
    back here; or, for the no-JavaScript "Add a row" button, the same form one row longer."""
    if not request.st2_is_admin:
        raise PermissionDenied("Only administrators edit pack configs.")
    pack = request.st2.get_pack(ref)
    schema = request.st2.get_config_schema(ref)
    if not schema:
        raise Http404(f'Pack "{ref}" has no config schema.')
    current = request.st2.get_config(ref)
    if request.method == "POST":
        form = config_form(schema, current, data=request.POST)
        if not form.add_row(request.POST.get(ADD_ROW, "")) and _save(request, ref, form, schema):
            messages.success(request, f"The config of {ref} was saved.")
            return redirect("pack_config", ref=ref)
    else:
        form = config_form(schema, current)
    status = 400 if form.is_bound and not form.quiet else 200
    context = {
        "pack": pack,
        "form": form,
        "configured": bool(current),
        "error_summary": error_summary(form),
    }
    return render(request, "portal/configs/edit.html", context, status=status)


def config_form(schema, current, data=None):
    """The schema's items as fields, pre-filled with the current values; a secret that has a
    stored value may be left blank."""
    shown = {
        name: value
        for name, value in current.items()
        if name in schema and not schema[name].get("secret")
    }
    form = build_form(schema, data=data, initial=shown)
    for name, spec in schema.items():
        if spec.get("secret") and name in current:
            form.fields[name].required = False
            form.fields[name].help_text = f"{form.fields[name].help_text} {KEEP_SECRET_HELP}"
        if isinstance(form.fields[name], RowsField):
            _hide_secret_columns(form.fields[name], spec)
    form.current = current
    return form


def _hide_secret_columns(field, spec):
    """Secret properties of an array's objects typed into password inputs (they show what is
    stored masked, and a value typed there is not shown on the screen)."""
    properties = (spec.get("items") or {}).get("properties") or {}
    for key, item_field in field.item_fields.items():
        if (properties.get(key) or {}).get("secret"):
            item_field.widget = forms.PasswordInput(
                render_value=True, attrs={"autocomplete": "off"}
            )


def _save(request, ref, form, schema):
    """PUT the config the form describes; False (errors on the form) when refused."""
    values = cleaned_parameters(form, schema, rerun=True)
    if values is None:
        return False
    kept_secrets = {
        name: MASK
        for name, spec in schema.items()
        if spec.get("secret") and name in form.current and name not in values
    }
    others = {name: value for name, value in form.current.items() if name not in schema}
    try:
        request.st2.set_config(ref, {**others, **values, **kept_secrets})
    except ApiError as error:
        if error.status != 400:
            raise
        named = ATTRIBUTE.match(error.faultstring)
        if named and named.group(1) in form.fields:
            form.add_error(named.group(1), error.faultstring)
        else:
            add_error(form, error.faultstring)
        return False
    return True
