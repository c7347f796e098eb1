"""Executions: the history, one execution's page with its live status partial, cancel, and
the full output as a download."""

import json
from datetime import date

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.access import st2_login_required
from portal.paging import page_number, pager, window

RUNNING = ("requested", "scheduled", "running", "pending", "delayed", "canceling")
STATUSES = ("requested", "scheduled", "running", "succeeded", "failed", "timeout", "canceling")
STATUSES += ("canceled", "abandoned")
OUTPUT_KEYS = ("stdout", "stderr")
LARGE_OUTPUT_CHARS = 64 * 1024
LARGE_OUTPUT_LINES = 500
LIST_FIELDS = "id,action,status,start_timestamp,end_timestamp,elapsed_seconds,context"


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)


def _is_large(text):
    return len(text) > LARGE_OUTPUT_CHARS or text.count("\n") > LARGE_OUTPUT_LINES


def execution_context(execution, output_so_far=""):
    """What the templates show of an execution dict from the API (secrets already masked)."""
    result = execution.get("result")
    output = {}
    rest = result
    if isinstance(result, dict):
        output = {key: result[key] for key in OUTPUT_KEYS if isinstance(result.get(key), str)}
        rest = {key: value for key, value in result.items() if key not in output}
    action = execution.get("action") or {}
    stdout, stderr = output.get("stdout", ""), output.get("stderr", "")
    return {
        "execution": execution,
        "ref": action.get("ref") or (execution.get("liveaction") or {}).get("action", ""),
        "running": execution.get("status") in RUNNING,
        "cancelable": execution.get("status") in ("requested", "scheduled", "running", "delayed"),
        "parameters": [
            (name, _shown(value))
            for name, value in sorted((execution.get("parameters") or {}).items())
        ],
        "stdout": stdout,
        "stderr": stderr,
        "output_so_far": output_so_far,
        "large_output": any(_is_large(text) for text in (stdout, stderr, output_so_far)),
        "result_json": _shown(rest) if rest not in (None, {}, "") else "",
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


def _day(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def history_filters(query):
    """The history's filters from the query string, as (shown in the form, sent to the API,
    errors). Dates are whole UTC days: `to` includes its day."""
    shown = {name: query.get(name, "").strip() for name in ("action", "status", "user")}
    shown.update(since=query.get("since", "").strip(), until=query.get("until", "").strip())
    api = {name: shown[name] for name in ("action", "status", "user") if shown[name]}
    errors = {}
    if shown["status"] and shown["status"] not in STATUSES:
        errors["status"] = "Pick a status from the list."
        api.pop("status")
    bounds = (("since", "timestamp_gt", "00:00:00"), ("until", "timestamp_lt", "23:59:59"))
    for name, lookup, clock in bounds:
        if shown[name]:
            day = _day(shown[name])
            if day is None:
                errors[name] = "Enter a date as YYYY-MM-DD."
            else:
                api[lookup] = f"{day.isoformat()}T{clock}Z"
    return shown, api, errors


@st2_login_required
def execution_list(request):
    shown, api_filters, errors = history_filters(request.GET)
    page = page_number(request.GET)
    executions, total = request.st2.list_executions(
        **window(page), include_attributes=LIST_FIELDS, **api_filters
    )
    context = {
        "executions": [_list_row(execution) for execution in executions],
        "filters": shown,
        "errors": errors,
        "statuses": STATUSES,
        **pager(total, page, shown),
    }
    return render(request, "portal/executions/list.html", context, status=400 if errors else 200)


def _list_row(execution):
    return {
        "id": execution["id"],
        "ref": (execution.get("action") or {}).get("ref", ""),
        "status": execution.get("status", ""),
        "user": (execution.get("context") or {}).get("user", ""),
        "started": execution.get("start_timestamp", ""),
        "elapsed": execution.get("elapsed_seconds"),
    }
