"""/api/v1/executions (notes §4): launch, list, get, output, cancel, re-run."""

import json

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import access, executions, history, lifecycle
from st2bridge.errors import InvalidInput
from st2bridge.executions import to_api
from st2bridge.shapes import EXECUTION

from .base import (
    ApiView,
    attribute_selector,
    check_json,
    json_body,
    page_headers,
    page_window,
    query_filters,
    route,
    show_secrets,
)

FILTERS = {
    "action": "action_ref",
    "status": "status",
    "user": "user",
    "rule": "rule_ref",
    "trigger_instance": "trigger_instance_id",
    "trigger_type": "trigger_type",  # the trigger type's ref (StackStorm's matches its name)
    "timestamp_gt": "start_timestamp__gt",
    "timestamp_lt": "start_timestamp__lt",
}
COUNTED = ("action_ref", "status", "user", "rule_ref", "trigger_type")  # history.Selection
OUTPUT_TYPES = ("stdout", "stderr", "all")
# An extension (GET /extensions says `execution_action_contains`): executions whose action ref
# contains this text, case-insensitively; LIKE's wildcards in it match only themselves.
ACTION_CONTAINS = "action_contains"
ACTION_CONTAINS_MAX = 100  # characters


def header_context(request):
    raw = request.headers.get("St2-Context")
    if not raw:
        return None
    try:
        context = json.loads(raw)
    except (ValueError, RecursionError):
        context = raw
    if isinstance(context, dict):
        check_json(context, "St2-Context")
    else:
        kind = type(context).__name__
        raise InvalidInput(
            f"Unable to convert st2-context from the headers into JSON (was {kind})."
        )
    return context


def selected(request):
    """The history.Selection the query string asks for."""
    lookups = query_filters(request, FILTERS)
    part = request.query_params.get(ACTION_CONTAINS) or ""
    if len(part) > ACTION_CONTAINS_MAX:
        raise InvalidInput(
            f'Parameter "{ACTION_CONTAINS}" is longer than {ACTION_CONTAINS_MAX} characters'
        )
    parent = request.query_params.get("parent") or ""
    ids = request.query_params.get("id")
    return history.Selection(
        equal={name: value for name, value in lookups.items() if name in COUNTED},
        action_contains=part,
        top_level=parent == "null",
        parent="" if parent == "null" else parent,
        trigger_instance=lookups.get("trigger_instance_id", ""),
        ids=ids.split(",")[:100] if ids else [],
        after=lookups.get("start_timestamp__gt"),
        before=lookups.get("start_timestamp__lt"),
        oldest_first="sort_asc" in request.query_params or "timestamp_gt" in request.query_params,
    )


def _result_left_out(request):
    """Whether the response shows neither `result` nor `result_size`."""

    def named(param):
        raw = request.query_params.get(param, "")
        return {part.strip().split(".")[0] for part in raw.split(",") if part.strip()}

    include, shown = named("include_attributes"), {"result", "result_size"}
    return (bool(include) and not (include & shown)) or shown <= named("exclude_attributes")


class ExecutionList(ApiView):
    def get(self, request):
        selection = selected(request)
        unmasked = show_secrets(request, self.caller)
        select = attribute_selector(request, EXECUTION)
        limit, offset = page_window(request, self.caller, 100)
        rows = selection.executions(self.caller).select_related(None)
        if _result_left_out(request):
            rows = rows.defer("result")  # it may be megabytes a row: not even read
        total = selection.total(self.caller)
        page = selection.page(self.caller, rows, offset, limit, total)
        data = [select(to_api(item, unmasked)) for item in page]
        return Response(data, headers=page_headers(total, limit))

    def post(self, request):
        execution = executions.launch(self.caller, json_body(request), header_context(request))
        return Response(to_api(execution), status=201)


class ExecutionDetail(ApiView):
    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        select = attribute_selector(request, EXECUTION)
        return Response(select(to_api(execution, show_secrets(request, self.caller))))

    def delete(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        if not lifecycle.cancel(self.caller, execution):
            state = execution.status
            return Response({"faultstring": f"Action cannot be canceled. State = {state}."})
        return Response(to_api(execution))


class ExecutionOutput(ApiView):
    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        output_type = request.query_params.get("output_type") or "all"
        if output_type not in OUTPUT_TYPES:
            raise InvalidInput(f"output_type: must be one of {', '.join(OUTPUT_TYPES)}")
        text = executions.output_text(execution, output_type)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class ExecutionReRun(ApiView):
    def post(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        new = executions.re_run(self.caller, execution, json_body(request))
        return Response(to_api(new), status=201)


urlpatterns = [
    route(r"api/v1/executions", ExecutionList),
    route(r"api/v1/executions/(?P<execution_id>[^/]+)", ExecutionDetail),
    route(r"api/v1/executions/(?P<execution_id>[^/]+)/output", ExecutionOutput),
    route(r"api/v1/executions/(?P<execution_id>[^/]+)/re_run", ExecutionReRun),
]
