"""Event streams (notes §8): which events a stream sends, and the polling that sends them as
server-sent events. Events live in one table, so any web process can serve any client; each
stream polls for rows newer than the last it sent. A caller's stream holds only what
st2bridge.access lets them see (their own executions' events; staff: all). How many streams a
web process holds open is the API's business (st2bridge.api.stream)."""

import fnmatch
import json
import time
from typing import NamedTuple

from django.conf import settings

from . import access, executions
from .models import Execution, ExecutionOutput, StreamEvent

DEFAULT_EVENTS = (
    "st2.announcement__*",
    "st2.execution__create",
    "st2.execution__update",
    "st2.execution__delete",
    "st2.liveaction__create",
    "st2.liveaction__update",
    "st2.liveaction__delete",
)
EXECUTION_EVENTS = ("st2.execution__", "st2.liveaction__", "st2.execution.output__")
BATCH = 500  # events read per poll


class Selection(NamedTuple):
    """What a stream's client asked for (/stream/v1/stream's query parameters)."""

    patterns: tuple = DEFAULT_EVENTS  # event name globs
    execution_ids: frozenset = frozenset()  # execution events of these executions only
    action_refs: frozenset = frozenset()  # execution events of these actions only
    end_event: str | None = None  # the stream ends after this event of end_execution_id
    end_execution_id: str | None = None

    def wants(self, event):
        if not any(fnmatch.fnmatchcase(event.name, pattern) for pattern in self.patterns):
            return False
        if event.name.startswith(EXECUTION_EVENTS):
            if self.execution_ids and event.execution_id not in self.execution_ids:
                return False
            ref = event.data.get("action_ref") or (event.data.get("action") or {}).get("ref")
            if self.action_refs and ref not in self.action_refs:
                return False
        return True

    def ends_with(self, event):
        return (
            event.name == self.end_event
            and event.execution_id == self.end_execution_id
            and event.data.get("status") in Execution.COMPLETED
        )


def frame(name, data):
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def events(caller, selection, gone):
    """The text of /stream/v1/stream: a bare newline at once, then the selected events the
    caller may see, a bare newline after each quiet heartbeat period, until the end event or
    the lifetime runs out, or `gone()` says the client went away."""
    last_id = StreamEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    yield "\n"
    finished = _finished_already(caller, selection)
    if finished is not None:
        yield frame(selection.end_event, executions.to_api(finished))
        return
    while True:
        newer = access.visible_stream_events(caller).filter(id__gt=last_id).order_by("id")
        for event in newer[:BATCH]:
            last_id = event.id
            if not selection.wants(event):
                continue
            quiet_since = time.monotonic()
            yield frame(event.name, event.data)
            if selection.ends_with(event):
                return
        if time.monotonic() >= deadline or gone():
            return  # the client reconnects; pending events were delivered first
        if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
            quiet_since = time.monotonic()
            yield "\n"
        time.sleep(settings.ST2_STREAM_POLL_INTERVAL)


def _finished_already(caller, selection):
    """The execution a stream is to end with, when it finished before the stream began (a
    client asking after the fact, as `st2 pack install` does, would otherwise wait for an
    event that came and went): its last update ends the stream at once."""
    if selection.end_event != "st2.execution__update" or not selection.end_execution_id:
        return None
    found = access.visible_executions(caller).filter(
        pk=selection.end_execution_id, status__in=Execution.COMPLETED
    )
    return found.first()


def execution_output(execution, output_type, gone):
    """The text of /stream/v1/executions/{id}/output, `execution` being one the caller sees
    (access.find_execution): as on /stream/v1/stream, a bare newline at once and after each
    quiet heartbeat period; between them stored output chunks (of `output_type` unless it is
    empty or "all"), then new ones, then an EOF event once the execution is done."""
    last_id = 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    yield "\n"
    while time.monotonic() < deadline and not gone():
        chunks = ExecutionOutput.objects.filter(execution=execution, id__gt=last_id)
        if output_type not in (None, "", "all"):
            chunks = chunks.filter(output_type=output_type)
        for chunk in chunks.order_by("id"):
            last_id = chunk.id
            quiet_since = time.monotonic()
            yield frame("st2.execution.output__create", executions.output_to_api(execution, chunk))
        execution.refresh_from_db(fields=["status"])
        if execution.status in Execution.COMPLETED:
            yield "event: EOF\ndata: ''\n\n"
            return
        if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
            quiet_since = time.monotonic()
            yield "\n"
        time.sleep(settings.ST2_STREAM_POLL_INTERVAL)
