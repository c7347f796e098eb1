"""Executions: the history (live: htmx refreshes its results while the page is visible), one
execution's page with its live status partial, cancel, and the full output as a download."""

import json

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from portal.access import st2_login_required
from portal.paging import day_bounds, page_number, pager, window

RUNNING = ("requested", "scheduled", "running", "pending", "delayed", "canceling")
STATUSES = ("requested", "scheduled", "running", "succeeded", "failed", "timeout", "canceling")
STATUSES += ("canceled", "abandoned")
OUTPUT_KEYS = ("stdout", "stderr")
# A page embeds at most this much of each output (its end, where errors are) and of the other
# result fields (their start); the whole output is in the output.txt download.
SHOWN_CHARS = 32 * 1024
LARGE_OUTPUT_LINES = 500  # more lines than this are folded
LIST_FIELDS = (
    "id,action,status,start_timestamp,end_timestamp,elapsed_seconds,context,parameters,rule,"
    "trigger_instance"
)
SUMMARY_CHARS = 80  # a history row's parameters summary, at most
ACTION_CHARS = 100  # the action filter, at most (the API's limit for action_contains)
TEMPLATE_CHARS = 400  # the launch template filter (a ref), at most


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)


def clipped(text, keep_end=True):
    """What a page shows of `text`: all of it, or SHOWN_CHARS of its end (or start), with the
    notice saying so."""
    if len(text) <= SHOWN_CHARS:
        return {"text": text, "notice": ""}
    part = "last" if keep_end else "first"
    return {
        "text": text[-SHOWN_CHARS:] if keep_end else text[:SHOWN_CHARS],
        "notice": f"showing the {part} {SHOWN_CHARS:,} of {len(text):,} characters",
    }


def _output(name, text):
    return {
        "name": name,
        "length": len(text),
        "folded": len(text) > SHOWN_CHARS or text.count("\n") > LARGE_OUTPUT_LINES,
        **clipped(text),
    }


def execution_context(execution, output_so_far=""):
    """What the templates show of an execution dict from the API (secrets already masked)."""
    result = execution.get("result")
    output = {}
    rest = result
    if isinstance(result, dict):
        output = {key: result[key] for key in OUTPUT_KEYS if isinstance(result.get(key), str)}
        rest = {key: value for key, value in result.items() if key not in output}
    action = execution.get("action") or {}
    return {
        "execution": execution,
        "ref": action.get("ref") or (execution.get("liveaction") or {}).get("action", ""),
        "running": execution.get("status") in RUNNING,
        "cancelable": execution.get("status") in ("requested", "scheduled", "running", "delayed"),
        "parameters": [
            (name, _shown(value))
            for name, value in sorted((execution.get("parameters") or {}).items())
        ],
        "outputs": [_output(name, text) for name, text in output.items() if text],
        "output_so_far": clipped(output_so_far),
        "result_json": clipped(_shown(rest) if rest not in (None, {}, "") else "", keep_end=False),
        "template": _template_ref(execution),  # run again through it, not the action
        **started_by(execution),
    }


def _status_context(request, execution_id):
    """One GET of the execution, plus its output so far while it runs (live output)."""
    execution = request.st2.get_execution(execution_id)
    so_far = ""
    if execution.get("status") in RUNNING:
        so_far = request.st2.execution_output(execution_id)
    return execution_context(execution, so_far)


@st2_login_required
def execution_detail(request, execution_id):
    return render(request, "portal/executions/detail.html", _status_context(request, execution_id))


@st2_login_required
def execution_status(request, execution_id):
    response = render(
        request, "portal/executions/_status.html", _status_context(request, execution_id)
    )
    response["Cache-Control"] = "no-store"
    return response


@st2_login_required
@require_POST
def execution_cancel(request, execution_id):
    request.st2.cancel_execution(execution_id)
    return redirect("execution", execution_id=execution_id)


@st2_login_required
def execution_output(request, execution_id):
    """The whole output as a text file (the API checks that the user may see it)."""
    text = request.st2.execution_output(execution_id)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="execution-{execution_id}.txt"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- history -------------------------------------------------------------------------------


def history_filters(query, action_contains=False):
    """The history's filters from the query string, as (shown in the form, sent to the API,
    errors). Dates are whole UTC days: `to` includes its day. The action is found by part of
    its ref where the server offers it (this project's `action_contains` extension), else by
    its whole ref (StackStorm's `action` filter)."""
    exact = ("action", "status", "user", "template")  # template: a launch template's ref
    shown = {name: query.get(name, "").strip() for name in exact}
    shown.update(since=query.get("since", "").strip(), until=query.get("until", "").strip())
    api = {name: shown[name] for name in exact if shown[name]}
    errors = {}
    if len(shown["template"]) > TEMPLATE_CHARS:
        errors["template"] = f"Enter at most {TEMPLATE_CHARS} characters."
        api.pop("template")
    if shown["action"] and len(shown["action"]) > ACTION_CHARS:
        errors["action"] = f"Enter at most {ACTION_CHARS} characters."
        api.pop("action")
    elif shown["action"] and action_contains:
        api["action_contains"] = api.pop("action")
    if shown["status"] and shown["status"] not in STATUSES:
        errors["status"] = "Pick a status from the list."
        api.pop("status")
    times, time_errors = day_bounds(shown)
    return shown, {**api, **times}, {**errors, **time_errors}


@st2_login_required
def execution_list(request):
    """The history. htmx asks for its results alone (HX-Target: history) to refresh them."""
    contains = bool(request.st2_extensions.get("execution_action_contains"))
    shown, api_filters, errors = history_filters(request.GET, contains)
    if not request.st2_extensions.get("execution_template_filter"):
        api_filters.pop("template", None)  # a StackStorm server would ignore it: say so
    page = page_number(request.GET)
    executions, total = request.st2.list_executions(
        **window(page), include_attributes=LIST_FIELDS, **api_filters
    )
    rows = [_list_row(execution) for execution in executions]
    context = {
        "executions": rows,
        "filters": shown,
        "errors": errors,
        "statuses": STATUSES,
        "partial_action": contains,
        "template_filter": bool(request.st2_extensions.get("execution_template_filter")),
        "live": "off" if errors else "fast" if any(row["running"] for row in rows) else "slow",
        **pager(total, page, shown),
    }
    partial = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "history"
    template = "portal/executions/_history.html" if partial else "portal/executions/list.html"
    response = render(request, template, context, status=400 if errors else 200)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    if partial:
        response["Cache-Control"] = "no-store"
    return response


def _list_row(execution):
    return {
        "id": execution["id"],
        "ref": (execution.get("action") or {}).get("ref", ""),
        "status": execution.get("status", ""),
        "running": execution.get("status") in RUNNING,
        "user": (execution.get("context") or {}).get("user", ""),
        "started": execution.get("start_timestamp", ""),
        "elapsed": execution.get("elapsed_seconds"),
        "parameters": parameters_summary(execution.get("parameters") or {}),
        "template": _template_ref(execution),
        **started_by(execution),
    }


def _template_ref(execution):
    """The ref of the launch template an execution ran, if any (its context says)."""
    template = (execution.get("context") or {}).get("template")
    ref = template.get("ref") if isinstance(template, dict) else None
    return ref if isinstance(ref, str) and "/" not in ref else ""


def started_by(execution):
    """What started an execution: `rule` (its ref) when a rule did, as the execution's `rule`
    field says (StackStorm's full rule object, or this project's {"ref"}) or its context;
    `triggered` when a trigger instance did but no rule ref is given; neither when a person
    (or a client) launched it."""
    context = execution.get("context") or {}
    for rule in (execution.get("rule"), context.get("rule")):
        if not isinstance(rule, dict):
            continue
        ref = rule.get("ref") or (
            rule.get("pack") and rule.get("name") and f"{rule['pack']}.{rule['name']}"
        )
        if ref:
            return {"rule": str(ref), "rule_url": _rule_url(str(ref)), "triggered": True}
    triggered = bool(execution.get("trigger_instance") or context.get("trigger_instance"))
    return {"rule": "", "rule_url": "", "triggered": triggered}


def _rule_url(ref):
    try:
        return reverse("rule", args=[ref])
    except NoReverseMatch:  # a ref no portal URL can hold (a "/" in it): shown, not linked
        return ""


def parameters_summary(parameters):
    """`name=value, ...` by name, on one line of at most SUMMARY_CHARS characters. The values
    are the API's, whose secrets are masked."""
    pairs = (f"{name}={_one_line(value)}" for name, value in sorted(parameters.items()))
    text = ", ".join(pairs)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _one_line(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return " ".join(text[: SUMMARY_CHARS * 2].split())
