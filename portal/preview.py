"""The launch a generated form describes, as an `st2 run` command line and as a curl call to
the API: shown beside the form, secrets masked, every value quoted for a POSIX shell. Also the
curl call that fires a webhook rule, for the rule's page."""

import json
import shlex
from urllib.parse import quote

from django import forms

from portal.form_rows import RowsField, blank_row
from portal.forms import is_given
from st2bridge.params import MASK, is_template, ordered_parameters

TOKEN_PLACEHOLDER = "<your token>"  # noqa: S105 - shown instead of a token, never a real one
API_KEY_PLACEHOLDER = "<your API key>"  # never a real key


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
            value = _as_typed(field, typed)
        if not is_given(spec, value) or value == spec.get("default"):
            continue
        values[name] = MASK if spec.get("secret") else value
    return values


def _as_typed(field, value):
    if isinstance(field, RowsField) and isinstance(value, list):
        return [row for row in value if not blank_row(row, field.widget.defaults)] or None
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
    body = {"action": ref, "parameters": values}
    return _curl(f"{api_url.rstrip('/')}/executions", f"X-Auth-Token: {TOKEN_PLACEHOLDER}", body)


def _curl(url, credential, body):
    """A curl POST of `body` as JSON, one option a line; `credential` is a header line."""
    lines = [
        f"curl -X POST {shlex.quote(url)}",
        f"-H {shlex.quote(credential)}",
        f"-H {shlex.quote('Content-Type: application/json')}",
        f"--data {shlex.quote(json.dumps(body))}",
    ]
    return " \\\n  ".join(lines)


def command_preview(form, merged, ref, api_url):
    values = preview_values(form, merged)
    return {"st2_run": st2_run_command(ref, values), "curl": curl_command(api_url, ref, values)}


# --- webhooks ------------------------------------------------------------------------------


def webhook_url(api_url, url):
    """Where to post to fire the rules of the webhook trigger with this `url` parameter."""
    return f"{api_url.rstrip('/')}/webhooks/{quote(str(url).strip('/'), safe='/')}"


def example_body(criteria):
    """A JSON body that meets a rule's literal `equals` criteria on trigger.body (others left
    out):
    {"trigger.body.env": equals "prod"} gives {"env": "prod"}."""
    body = {}
    for key, spec in (criteria or {}).items():
        path = key.split(".")
        if path[:2] != ["trigger", "body"] or len(path) < 3 or spec.get("type") != "equals":
            continue
        if is_template(spec.get("pattern")):
            continue
        node = body
        for part in path[2:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = spec.get("pattern")
    return body


def webhook_curl(url, body):
    """The curl call that fires a webhook; the API key is a placeholder (an X-Auth-Token
    header works as well)."""
    return _curl(url, f"St2-Api-Key: {API_KEY_PLACEHOLDER}", body)
