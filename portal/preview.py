"""The launch a generated form describes, as an `st2 run` command line and as a curl call to
the API: shown beside the form, secrets masked, every value quoted for a POSIX shell."""

import json
import shlex

from django import forms

from portal.forms import blank_row, is_given
from st2bridge.params import MASK, ordered_parameters

TOKEN_PLACEHOLDER = "<your token>"  # noqa: S105 - shown instead of a token, never a real one


def preview_values(form, merged):
    """What launching the form as it stands would send, for the preview: typed values where a
    field is valid, the text as typed where it is not yet; secrets as ********. Values equal
    to their default are left out: the command means the same and reads shorter."""
    values = {}
    for name, spec in ordered_parameters(merged):
        field = form.fields.get(name)
        if field is None or field.disabled:
            continue
        typed = form[name].value()
        try:
            value = field.clean(typed)
        except forms.ValidationError:
            value = _as_typed(typed)
        if not is_given(spec, value) or value == spec.get("default"):
            continue
        values[name] = MASK if spec.get("secret") else value
    return values


def _as_typed(value):
    if isinstance(value, list):  # rows
        return [row for row in value if not blank_row(row)] or None
    return value


def _cli_text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value)  # true/false, numbers, JSON lists and mappings


def st2_run_command(ref, values):
    """`st2 run <ref> key=value …`, each value quoted for a POSIX shell."""
    words = ["st2", "run", shlex.quote(ref)]
    words += [f"{name}={shlex.quote(_cli_text(value))}" for name, value in values.items()]
    return " ".join(words)


def curl_command(api_url, ref, values):
    """The POST /executions call with curl; the token is a placeholder."""
    body = json.dumps({"action": ref, "parameters": values})
    lines = [
        f"curl -X POST {shlex.quote(api_url.rstrip('/') + '/executions')}",
        f"-H {shlex.quote('X-Auth-Token: ' + TOKEN_PLACEHOLDER)}",
        f"-H {shlex.quote('Content-Type: application/json')}",
        f"--data {shlex.quote(body)}",
    ]
    return " \\\n  ".join(lines)


def command_preview(form, merged, ref, api_url):
    values = preview_values(form, merged)
    return {"st2_run": st2_run_command(ref, values), "curl": curl_command(api_url, ref, values)}
