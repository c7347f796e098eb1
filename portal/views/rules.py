"""Rules: the list with an on/off switch per rule, a rule's page with its recent enforcements,
create and edit (trigger type and action with generated parameter forms), delete."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal import preview
from portal import rule_editor as editor
from portal.access import public_api_url, st2_login_required
from portal.form_rows import ADD_ROW
from portal.forms import (
    add_error,
    build_form,
    cleaned_parameters,
    error_summary,
    shown_value,
)
from portal.paging import page_number, pager, window
from st2bridge.client import ApiError

WEBHOOK_TRIGGER = "core.st2.webhook"


@st2_login_required
def rule_list(request):
    filters = {name: request.GET.get(name, "").strip() for name in ("pack", "enabled")}
    if filters["enabled"] not in ("", "true", "false"):
        filters["enabled"] = ""
    page = page_number(request.GET)
    rules, total = request.st2.list_rules(**window(page), **filters)
    context = {"rules": rules, "filters": filters, **pager(total, page, filters)}
    return render(request, "portal/rules/list.html", context)


@st2_login_required
@require_POST
def rule_toggle(request, ref):
    """Flip `enabled` by sending the whole rule back (as `st2 rule enable` does); the switch
    then shows what the API answered. htmx gets the switch alone; a plain post, the list."""
    rule = request.st2.get_rule(ref)
    rule["enabled"] = request.POST.get("enabled") == "true"
    rule = request.st2.update_rule(ref, rule)
    if request.headers.get("HX-Request"):
        return render(request, "portal/rules/_switch.html", {"rule": rule})
    return redirect("rules")


@st2_login_required
def rule_detail(request, ref):
    rule = request.st2.get_rule(ref)
    enforcements = request.st2.list_enforcements(rule["ref"], limit=10)
    context = {
        "rule": rule,
        "criteria": editor.rows_from_criteria(rule.get("criteria")),
        "trigger_parameters": _shown_items(rule["trigger"].get("parameters")),
        "action_parameters": _shown_items(rule["action"].get("parameters")),
        "enforcements": enforcements,
        "webhook": _webhook(request, rule),
    }
    return render(request, "portal/rules/detail.html", context)


def _webhook(request, rule):
    """For a webhook rule: the URL to post to and a curl call whose body meets the rule's
    `equals` criteria (the credential a placeholder, never a real one); else None."""
    trigger = rule["trigger"]
    url = (trigger.get("parameters") or {}).get("url")
    if trigger.get("type") != WEBHOOK_TRIGGER or not url:
        return None
    address = preview.webhook_url(public_api_url(request), url)
    body = preview.example_body(rule.get("criteria"))
    return {"url": address, "curl": preview.webhook_curl(address, body)}


def _shown_items(values):
    return [(name, shown_value(value)) for name, value in sorted((values or {}).items())]


@st2_login_required
def rule_delete(request, ref):
    rule = request.st2.get_rule(ref)
    if request.method == "POST":
        request.st2.delete_rule(ref)
        return redirect("rules")
    return render(request, "portal/rules/confirm_delete.html", {"rule": rule})


# --- create and edit -------------------------------------------------------------------------


@st2_login_required
def rule_create(request):
    return _edit(request, None)


@st2_login_required
def rule_edit(request, ref):
    return _edit(request, request.st2.get_rule(ref))


def _edit(request, rule):
    """GET: the editor (from the rule, or ?trigger_type=&action_ref= for a new one). POST
    with "reload" (the no-JavaScript way to change trigger type or action), "Add a row" or a
    Jinja switch re-renders with the input kept and nothing checked; a plain POST saves
    through the API, whose refusals show on the form, every error of the page at once."""
    trigger_types = {t["ref"]: t for t in request.st2.list_trigger_types()}
    actions = sorted(action["ref"] for action in request.st2.list_actions())
    choices = {"trigger_types": sorted(trigger_types), "actions": actions}
    choices["current_name"] = rule["name"] if rule else None
    reloading = False
    if request.method == "POST":
        page = _editor(request, rule, choices, trigger_types, request.POST)
        reloading = _reloading(request, page)
        if not reloading:
            saved = _save(request, rule, page)
            if saved is not None:
                return redirect("rule", ref=saved["ref"])
            page["error_summary"] = _error_summary(page)
    else:
        page = _editor(request, rule, choices, trigger_types, None)
    page["rule"] = rule
    partial = request.headers.get("HX-Request") and reloading
    template = "portal/rules/_editor.html" if partial else "portal/rules/edit.html"
    status = 400 if request.method == "POST" and not reloading else 200
    return render(request, template, page, status=status)


def _reloading(request, page):
    """Whether this POST only shows the editor again: a new trigger type or action, a
    trigger parameter's "Add a row", a parameter switched to Jinja or back. Nothing is
    checked then: the user is still filling the form in."""
    adding = any(
        form.add_row(request.POST.get(ADD_ROW, ""))
        for form in (page["trigger_form"], page["action_form"])
    )
    reloading = adding or "reload" in request.POST or editor.JINJA_TOGGLE in request.POST
    if reloading:
        for form in (page["form"], page["trigger_form"], page["action_form"]):
            form.quiet = True
    return reloading


def _editor(request, rule, choices, trigger_types, data):
    """The whole editor: the static form, the trigger's and the action's parameter forms,
    and the criteria rows; from posted `data`, else from `rule` (or the query string)."""
    if data is not None:
        form = editor.RuleForm(data, **choices)
        trigger_type, action_ref = data.get("trigger_type", ""), data.get("action_ref", "")
    elif rule is None:
        trigger_type = request.GET.get("trigger_type", "core.st2.webhook")
        action_ref = request.GET.get("action_ref", "")
        initial = {"trigger_type": trigger_type, "action_ref": action_ref}
        form = editor.RuleForm(initial=initial, **choices)
    else:
        trigger_type, action_ref = rule["trigger"]["type"], rule["action"]["ref"]
        form = editor.RuleForm(initial=_rule_initial(rule), **choices)
    trigger_spec = editor.trigger_parameters_spec(trigger_types.get(trigger_type))
    action_spec = _action_spec(request, action_ref)
    stored = (rule or {}).get("action", {}).get("parameters") or {}
    kept = _kept_secrets(rule, action_ref, action_spec)
    jinja = editor.jinja_parameters(action_spec, data, stored)
    if data is not None:
        rows = editor.criteria_rows(data)
        trigger_form = build_form(trigger_spec, data=data, prefix="trigger")
        action_form = editor.action_parameters_form(
            action_spec, data=data, jinja=jinja, kept_secrets=kept
        )
        switched = action_form.fields.get(data.get(editor.JINJA_TOGGLE, ""))
        if switched is not None:  # the field just switched to Jinja or back takes the focus
            switched.widget.attrs["autofocus"] = True
    else:
        rows = editor.rows_from_criteria(rule.get("criteria")) if rule else []
        given = (rule or {}).get("trigger", {}).get("parameters") or {}
        trigger_form = build_form(trigger_spec, initial=given, prefix="trigger")
        action_form = editor.action_parameters_form(
            action_spec, initial=editor.initial_values(stored), jinja=jinja, kept_secrets=kept
        )
    return {
        "form": form,
        "trigger_form": trigger_form,
        "trigger_spec": trigger_spec,
        "payload_fields": editor.payload_fields(trigger_types.get(trigger_type)),
        "action_form": action_form,
        "action_spec": action_spec,
        "kept_secrets": kept,
        "criteria": rows,
        "criteria_rows": editor.shown_criteria(rows),
        "operators": editor.OPERATOR_CHOICES,
        "error_summary": [],
    }


def _rule_initial(rule):
    return {
        "name": rule["name"],
        "pack": rule["pack"],
        "description": rule.get("description", ""),
        "enabled": rule.get("enabled", True),
        "trigger_type": rule["trigger"]["type"],
        "action_ref": rule["action"]["ref"],
    }


def _kept_secrets(rule, action_ref, action_spec):
    """The secret parameters the rule holds for this action (the API shows them as ********):
    left blank, they keep their value. None once the rule names another action."""
    if rule is None or rule["action"]["ref"] != action_ref:
        return set()
    stored = rule["action"].get("parameters") or {}
    return {name for name, spec in action_spec.items() if spec.get("secret") and name in stored}


def _action_spec(request, action_ref):
    if not action_ref:
        return {}
    try:
        return request.st2.action_parameters(action_ref)
    except ApiError as error:
        if error.status != 404:
            raise
        return {}


def _save(request, rule, page):
    """The saved rule, or None with every refusal shown beside its field."""
    form, trigger_form, action_form = page["form"], page["trigger_form"], page["action_form"]
    criteria, page["criteria_errors"] = editor.criteria_from_rows(page["criteria"])
    page["criteria_rows"] = editor.shown_criteria(page["criteria"], page["criteria_errors"])
    trigger_values = cleaned_parameters(trigger_form, page["trigger_spec"])
    action_values = editor.action_values(action_form, page["action_spec"], page["kept_secrets"])
    if not form.is_valid() or page["criteria_errors"] or None in (trigger_values, action_values):
        return None
    body = {
        **(rule or {}),
        "name": form.cleaned_data["name"],
        "pack": form.cleaned_data["pack"],
        "description": form.cleaned_data["description"],
        "enabled": form.cleaned_data["enabled"],
        "trigger": {"type": form.cleaned_data["trigger_type"], "parameters": trigger_values},
        "criteria": criteria,
        "action": {"ref": form.cleaned_data["action_ref"], "parameters": action_values},
    }
    try:
        if rule is None:
            return request.st2.create_rule(body)
        return request.st2.update_rule(rule["ref"], body)
    except ApiError as error:
        # 403: an action the user's teams do not grant, or a runner parameter only staff may
        # set; shown on the form with the input kept, like a 400.
        if error.status not in (400, 403, 409):
            raise
        _show_refusal(page, error.faultstring)
        return None


def _error_summary(page):
    """Every error of the editor, in the page's order, for the summary above it."""
    criteria = [
        {
            "label": f"Criterion {row['index'] + 1}",
            "target": f"criteria-{row['index']}-key",
            "message": row["error"],
        }
        for row in page["criteria_rows"]
        if row["error"]
    ]
    return [
        *error_summary(page["form"]),
        *error_summary(page["trigger_form"], "Trigger parameter "),
        *criteria,
        *error_summary(page["action_form"], "Action parameter "),
    ]


RULE_FIELDS = {
    "name": "name",
    "pack": "pack",
    "action.ref": "action_ref",
    "trigger.type": "trigger_type",
}


def _show_refusal(page, message):
    """Put the API's faultstring beside the field it names ("action.parameters: cmd: ...",
    "trigger.type: ...", "name: ..."), else above the rule form."""
    head, _, rest = message.partition(":")
    if head in RULE_FIELDS:
        page["form"].add_error(RULE_FIELDS[head], message)
    elif head == "action.parameters":
        add_error(page["action_form"], rest.strip())
    elif head.startswith("trigger.parameters"):
        add_error(page["trigger_form"], rest.strip())
    else:
        page["form"].add_error("name" if "already exists" in message else None, message)
