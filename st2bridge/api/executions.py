"""/api/v1/executions (notes §4): launch, list (StackStorm's filters and sort), get, output,
result, one attribute, children, cancel, re-run, and PUT (a status: cancel, or StackStorm's
refusal to pause or resume what is not a workflow); /executions/views/filters (the values
each filter may take, for st2web's History)."""

import gzip
import json

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import access, executions, history, launch_templates, lifecycle
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
    paginate,
    parse_timestamp,
    query_bool,
    query_filters,
    query_int,
    query_sort,
    route,
    show_secrets,
)

# Query parameters -> fields: StackStorm's filters (also the keys sort= takes), time bounds.
FILTERS = executions.FILTER_FIELDS
BOUNDS = {"timestamp_gt": "start_timestamp__gt", "timestamp_lt": "start_timestamp__lt"}
NEWEST_FIRST = ("-start_timestamp", "action_ref", "id")  # StackStorm's default
OLDEST_FIRST = ("start_timestamp", "action_ref", "id")
# The filters history.Selection serves from an index in the list's order and the counts
# tables (issue 16). A query with another filter, "null" for one (but parent), or sort= is
# filtered by `filtered`, and counted by counting.
INDEXED = ("action", "status", "user", "rule", "trigger_type", "trigger_instance", "parent")
# What ?exclude_attributes may name: excluding anything else (the action or the runner) would
# break the masking of secret parameters, so StackStorm refuses it.
EXCLUDABLE = ("result", "trigger_instance", "status")
# What a rule, its trigger and trigger instance started: the `origin` the model keeps.
ORIGIN = {"rule", "trigger", "trigger_type", "trigger_instance"}
ATTRIBUTES = ("result", "trigger_instance", "status")  # /executions/{id}/attribute/{name}
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
    """The history.Selection the query asks for, or None when it asks for more than one
    serves (see INDEXED). StackStorm's `rule` and `trigger_type` filters match names: they
    become the refs (pack.name) of that name among the executions counted."""
    params = request.query_params
    given = {name: params[name] for name in FILTERS if params.get(name) not in (None, "")}
    if "sort" in params or not set(given) <= set(INDEXED):
        return None
    if any(value == "null" for name, value in given.items() if name != "parent"):
        return None
    equal = {FILTERS[name]: given[name] for name in ("action", "status", "user") if name in given}
    for name, column in (("rule", "rule_ref"), ("trigger_type", "trigger_type")):
        if name in given:
            equal[f"{column}__in"] = history.refs_named(column, given[name])
    bounds = query_filters(request, BOUNDS)
    parent = given.get("parent", "")
    return history.Selection(
        equal=equal,
        action_contains=action_part(request),
        top_level=parent == "null",
        parent="" if parent == "null" else parent,
        trigger_instance=given.get("trigger_instance", ""),
        ids=listed_ids(request),
        after=bounds.get("start_timestamp__gt"),
        before=bounds.get("start_timestamp__lt"),
        oldest_first=oldest_first(request),
    )


def oldest_first(request):
    """Whether the list goes oldest first: for sort_asc or timestamp_gt, unless sort_desc or
    timestamp_lt is there too (notes §4.4)."""
    params = request.query_params
    if "timestamp_lt" in params or "sort_desc" in params:
        return False
    return "timestamp_gt" in params or "sort_asc" in params


def action_part(request):
    """The action_contains extension's text, bounded."""
    part = request.query_params.get(ACTION_CONTAINS) or ""
    if len(part) > ACTION_CONTAINS_MAX:
        raise InvalidInput(
            f'Parameter "{ACTION_CONTAINS}" is longer than {ACTION_CONTAINS_MAX} characters'
        )
    return part


def listed_ids(request):
    """The ids ?id= lists (a hundred at most)."""
    ids = request.query_params.get("id")
    return ids.split(",")[:100] if ids else []


def filtered(request, queryset):
    """The executions the query asks for, in the order it asks (notes §4.4): StackStorm's
    filters, where "null" means "none" (?parent=null: top-level executions) and `timestamp`
    is one moment or a range t1..t2; the time bounds, ids and action_contains. Then sort=,
    else newest first: oldest first for sort_asc or timestamp_gt (unless sort_desc or
    timestamp_lt is there too) or a range in order, newest first for a reversed range."""
    params = request.query_params
    order = NEWEST_FIRST
    for param, field in FILTERS.items():
        value = params.get(param)
        if value in (None, ""):
            continue
        if param == "timestamp":  # every execution has one: "null" is no timestamp (400)
            queryset, order = in_time(queryset, value)
        elif value == "null":
            queryset = queryset.filter(**null_lookup(field))
        else:
            queryset = queryset.filter(**{field: value})
    queryset = queryset.filter(**query_filters(request, BOUNDS))
    part = action_part(request)
    if part:
        queryset = queryset.filter(action_ref__icontains=part)
    ids = listed_ids(request)
    if ids:
        queryset = queryset.filter(pk__in=ids)
    if "timestamp_lt" in params or "sort_desc" in params:
        order = NEWEST_FIRST
    elif oldest_first(request):
        order = OLDEST_FIRST
    return queryset.order_by(*query_sort(request, FILTERS, order))


def null_lookup(field):
    """The lookup of "no value in this field": no parent, no such key in `origin` (or the
    runner snapshot), or the empty text the model stores for none."""
    if field == "parent_id" or "__" in field:
        return {f"{field}__isnull": True}
    return {field: ""}


def in_time(queryset, value):
    """?timestamp=: (executions started at that moment, or within t1..t2 both included; the
    order: a range in order lists oldest first, a reversed one newest first)."""
    first, dots, last = value.partition("..")
    if not dots:
        return queryset.filter(start_timestamp=parse_timestamp("timestamp", value)), NEWEST_FIRST
    start, end = parse_timestamp("timestamp", first), parse_timestamp("timestamp", last)
    order = OLDEST_FIRST if start <= end else NEWEST_FIRST
    within = {"start_timestamp__gte": min(start, end), "start_timestamp__lte": max(start, end)}
    return queryset.filter(**within), order


def named(request, param):
    """The top-level field names a comma-separated attribute list names."""
    raw = request.query_params.get(param, "")
    return {part.strip().split(".")[0] for part in raw.split(",") if part.strip()}


def selector(request):
    """attribute_selector for executions, with StackStorm's allow-list of exclusions."""
    for name in sorted(named(request, "exclude_attributes")):
        if name not in EXCLUDABLE:
            raise InvalidInput(f"Invalid or unsupported exclude attribute specified: {name}")
    return attribute_selector(request, EXECUTION)


def left_out(request, fields):
    """Whether the response shows none of `fields`, so that the column behind them is not
    even read (a result may be megabytes a row)."""
    include = named(request, "include_attributes")
    excluded = named(request, "exclude_attributes")
    return (bool(include) and not (include & fields)) or fields <= excluded


class ExecutionList(ApiView):
    def get(self, request):
        select = selector(request)
        unmasked = show_secrets(request, self.caller)
        selection = selected(request)
        if selection is None:
            rows = filtered(request, access.visible_executions(self.caller))
        else:
            rows = selection.executions(self.caller)
        rows = rows.select_related(None)
        if left_out(request, {"result", "result_size"}):
            rows = rows.defer("result")  # it may be megabytes a row: not even read
        if left_out(request, ORIGIN):
            rows = rows.defer("origin")
        page, headers = self._page(request, selection, rows)
        return Response([select(to_api(item, unmasked)) for item in page], headers=headers)

    def _page(self, request, selection, rows):
        """(page, headers): through the Selection's indexes and counts when there is one."""
        if selection is None:
            return paginate(request, rows, self.caller, 100)
        limit, offset = page_window(request, self.caller, 100)
        total = selection.total(self.caller)
        return selection.page(self.caller, rows, offset, limit, total), page_headers(total, limit)

    def post(self, request):
        execution = executions.launch(self.caller, json_body(request), header_context(request))
        return Response(to_api(execution), status=201)


class ExecutionDetail(ApiView):
    def get(self, request, execution_id):
        select = selector(request)
        execution = access.find_execution(self.caller, execution_id)
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
        if launch_templates.template_of(execution):  # through its template, as it is now
            new = launch_templates.re_run(self.caller, execution, json_body(request))
        else:
            new = executions.re_run(self.caller, execution, json_body(request))
        return Response(to_api(new), status=201)


class ExecutionResult(ApiView):
    """The result alone as JSON text (StackStorm's text/json): compact, or indented with
    pretty_format; gzipped with compress; as an attachment with download."""

    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        pretty = query_bool(request, "pretty_format")
        result = execution.result if execution.result is not None else {}
        text = json.dumps(
            result, indent=2 if pretty else None, separators=None if pretty else (",", ":")
        )
        name = f"execution_{execution.id}_result.json"
        if query_bool(request, "compress"):
            response = HttpResponse(gzip.compress(text.encode()), content_type="application/x-gzip")
            response["Content-Encoding"] = "gzip"
            name += ".gz"
        else:
            response = HttpResponse(text, content_type="text/json")
        if query_bool(request, "download"):
            response["Content-Disposition"] = f"attachment; filename={name}"
        return response


class ExecutionAttribute(ApiView):
    def get(self, request, execution_id, name):
        execution = access.find_execution(self.caller, execution_id)
        if name not in ATTRIBUTES:
            raise InvalidInput(
                f'Invalid attribute "{name}" specified. Valid attributes are: '
                f"{', '.join(ATTRIBUTES)}"
            )
        return Response(to_api(execution).get(name, {}))


class ExecutionChildren(ApiView):
    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        depth = query_int(request, "depth")
        visible = access.visible_executions(self.caller)
        children = executions.descendants(visible, execution, -1 if depth is None else depth)
        unmasked = show_secrets(request, self.caller)
        return Response([to_api(child, unmasked) for child in children])


class ExecutionFilters(ApiView):
    def get(self, request):
        types = [name for name in request.query_params.get("types", "").split(",") if name]
        visible = access.visible_executions(self.caller)
        return Response(executions.filter_values(visible, types))


EXECUTION_ID = r"(?P<execution_id>[^/]+)"

urlpatterns = [
    route(r"api/v1/executions", ExecutionList),
    route(r"api/v1/executions/views/filters", ExecutionFilters),
    route(rf"api/v1/executions/{EXECUTION_ID}", ExecutionDetail),
    route(rf"api/v1/executions/{EXECUTION_ID}/output", ExecutionOutput),
    route(rf"api/v1/executions/{EXECUTION_ID}/re_run", ExecutionReRun),
    route(rf"api/v1/executions/{EXECUTION_ID}/result", ExecutionResult),
    route(rf"api/v1/executions/{EXECUTION_ID}/attribute/(?P<name>[^/]+)", ExecutionAttribute),
    route(rf"api/v1/executions/{EXECUTION_ID}/children", ExecutionChildren),
]
