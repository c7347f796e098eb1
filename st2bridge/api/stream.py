"""/stream/v1: server-sent events (notes §8). Events live in one table, so any web process
can serve any client; each connection polls for rows newer than the last it sent."""

import fnmatch
import json
import time

from django.conf import settings
from django.http import StreamingHttpResponse

from st2bridge import executions
from st2bridge.models import Execution, ExecutionOutput, StreamEvent

from .base import ApiView, route

DEFAULT_EVENTS = [
    "st2.announcement__*",
    "st2.execution__create",
    "st2.execution__update",
    "st2.execution__delete",
    "st2.liveaction__create",
    "st2.liveaction__update",
    "st2.liveaction__delete",
]
EXECUTION_EVENTS = ("st2.execution__", "st2.liveaction__", "st2.execution.output__")


def frame(name, data):
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def comma_list(request, name):
    return [item for item in request.query_params.get(name, "").split(",") if item]


def event_stream(request, caller):
    """The StreamingHttpResponse body: a bare newline at once, then matching events, a bare
    newline after each quiet heartbeat period, until end_event or the lifetime runs out."""
    patterns = comma_list(request, "events") or DEFAULT_EVENTS
    execution_ids = set(comma_list(request, "execution_ids"))
    action_refs = set(comma_list(request, "action_refs"))
    end_event = request.query_params.get("end_event")
    end_execution_id = request.query_params.get("end_execution_id")
    last_id = StreamEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    yield "\n"
    while True:
        events = StreamEvent.objects.filter(id__gt=last_id).order_by("id")
        if not caller.is_admin:
            events = events.filter(user=caller.username)
        for event in events[:500]:
            last_id = event.id
            if not any(fnmatch.fnmatchcase(event.name, p) for p in patterns):
                continue
            if event.name.startswith(EXECUTION_EVENTS):
                if execution_ids and event.execution_id not in execution_ids:
                    continue
                ref = event.data.get("action_ref") or (event.data.get("action") or {}).get("ref")
                if action_refs and ref not in action_refs:
                    continue
            quiet_since = time.monotonic()
            yield frame(event.name, event.data)
            if (
                event.name == end_event
                and event.execution_id == end_execution_id
                and event.data.get("status") in Execution.COMPLETED
            ):
                return
        if time.monotonic() >= deadline:
            return  # the client reconnects; pending events were delivered first
        if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
            quiet_since = time.monotonic()
            yield "\n"
        time.sleep(settings.ST2_STREAM_POLL_INTERVAL)


def output_stream(execution, output_type):
    """Stored output chunks, then new ones, then an EOF event once the execution is done."""
    last_id = 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    while time.monotonic() < deadline:
        chunks = ExecutionOutput.objects.filter(execution=execution, id__gt=last_id)
        if output_type not in (None, "", "all"):
            chunks = chunks.filter(output_type=output_type)
        for chunk in chunks.order_by("id"):
            last_id = chunk.id
            yield frame("st2.execution.output__create", executions.output_to_api(execution, chunk))
        execution.refresh_from_db(fields=["status"])
        if execution.status in Execution.COMPLETED:
            yield "event: EOF\ndata: ''\n\n"
            return
        time.sleep(settings.ST2_STREAM_POLL_INTERVAL)


def sse_response(body):
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=UTF-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class Stream(ApiView):
    def get(self, request):
        return sse_response(event_stream(request, self.caller))


class ExecutionOutputStream(ApiView):
    def get(self, request, execution_id):
        execution = executions.find_execution(self.caller, execution_id)
        return sse_response(output_stream(execution, request.query_params.get("output_type")))


urlpatterns = [
    route(r"stream/v1/stream", Stream),
    route(r"stream/v1/executions/(?P<execution_id>[^/]+)/output", ExecutionOutputStream),
]
