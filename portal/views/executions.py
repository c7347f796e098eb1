"""An execution's page, and the partial its script polls while the execution runs."""

import json

from django.shortcuts import render

from portal.access import st2_login_required

RUNNING = ("requested", "scheduled", "running", "pending", "delayed", "canceling")
OUTPUT_KEYS = ("stdout", "stderr")


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)


def execution_context(execution):
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
        "parameters": [
            (name, _shown(value))
            for name, value in sorted((execution.get("parameters") or {}).items())
        ],
        "stdout": output.get("stdout", ""),
        "stderr": output.get("stderr", ""),
        "result_json": _shown(rest) if rest not in (None, {}, "") else "",
    }


@st2_login_required
def execution_detail(request, execution_id):
    context = execution_context(request.st2.get_execution(execution_id))
    return render(request, "portal/executions/detail.html", context)


@st2_login_required
def execution_status(request, execution_id):
    context = execution_context(request.st2.get_execution(execution_id))
    response = render(request, "portal/executions/_status.html", context)
    response["Cache-Control"] = "no-store"
    return response
