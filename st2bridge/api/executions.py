"""/api/v1/executions (notes §4): launch, list, get, output, cancel, re-run, and PUT (a status:
cancel, or StackStorm's refusal to pause or resume what is not a workflow)."""

import json

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import access, executions, lifecycle
from st2bridge.errors import InvalidInput
from st2bridge.executions import to_api
from st2bridge.shapes import EXECUTION

from .base import (
    ApiView,
    attribute_selector,
    check_json,
    json_body,
    paginate,
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
    "timestamp_gt": "start_timestamp__gt",
    "timestamp_lt": "start_timestamp__lt",
}
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


def filtered(request, queryset):
    queryset = queryset.filter(**query_filters(request, FILTERS))
    part = request.query_params.get(ACTION_CONTAINS)
    if part:
        if len(part) > ACTION_CONTAINS_MAX:
            raise InvalidInput(
                f'Parameter "{ACTION_CONTAINS}" is longer than {ACTION_CONTAINS_MAX} characters'
            )
        queryset = queryset.filter(action_ref__icontains=part)
    parent = request.query_params.get("parent")
    if parent == "null":
        queryset = queryset.filter(parent__isnull=True)
    elif parent:
        queryset = queryset.filter(parent_id=parent)
    ids = request.query_params.get("id")
    if ids:
        queryset = queryset.filter(pk__in=ids.split(",")[:100])
    oldest_first = "sort_asc" in request.query_params or "timestamp_gt" in request.query_params
    return queryset.order_by("start_timestamp" if oldest_first else "-start_timestamp", "id")


def _result_left_out(request):
    """Whether the response shows neither `result` nor `result_size`."""

    def named(param):
        raw = request.query_params.get(param, "")
        return {part.strip().split(".")[0] for part in raw.split(",") if part.strip()}

    include, shown = named("include_attributes"), {"result", "result_size"}
    return (bool(include) and not (include & shown)) or shown <= named("exclude_attributes")


class ExecutionList(ApiView):
    def get(self, request):
        queryset = filtered(request, access.visible_executions(self.caller))
        unmasked = show_secrets(request, self.caller)
        select = attribute_selector(request, EXECUTION)
        if _result_left_out(request):
            queryset = queryset.defer("result")  # it may be megabytes a row: not even read
        page, headers = paginate(request, queryset.select_related(None), self.caller, 100)
        return Response([select(to_api(item, unmasked)) for item in page], headers=headers)

    def post(self, request):
        execution = executions.launch(self.caller, json_body(request), header_context(request))
        return Response(to_api(execution), status=201)


class ExecutionDetail(ApiView):
    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        select = attribute_selector(request, EXECUTION)
        return Response(select(to_api(execution, show_secrets(request, self.caller))))

    def put(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        execution = lifecycle.update(self.caller, execution, json_body(request))
        return Response(to_api(execution, show_secrets(request, self.caller)))

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
