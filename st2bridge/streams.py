"""Event streams (notes §8): which events a stream sends, and the polling that sends them as
server-sent events. Events live in one table, so any web process can serve any client. Each
stream has two bodies: a synchronous one that polls for rows newer than the last it sent
(WSGI servers, Django's test client), and an asynchronous one (portal.asgi) that waits, holding
no thread, for the rows the process's one poller reads (st2bridge.stream_hub). A caller's
stream holds only what st2bridge.access lets them see (their own executions' events; staff:
all). How many streams a web process holds open is the API's business (st2bridge.api.stream)."""

import fnmatch
import json
import time
from typing import NamedTuple

from django.conf import settings

from . import access, executions, stream_hub
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
    the lifetime runs out, or `gone()` says the client went away. This is the synchronous
    body (WSGI servers, Django's test client); events_async() is the one portal.asgi serves."""
    last_id = StreamEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    yield "\n"
    finished = _finished_frame(caller, selection)
    if finished is not None:
        yield finished
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


async def events_async(caller, selection):
    """events() for an event loop: the same text, the events coming from the process's one
    poller (st2bridge.stream_hub) instead of a query per stream and tick. The server cancels
    it the moment the client goes away."""
    hub = stream_hub.hub()
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    subscriber = await hub.subscribe(stream_hub.Subscriber)
    try:
        yield "\n"
        finished = await hub.run(_finished_frame, caller, selection)
        if finished is not None:
            yield finished
            return
        while True:
            for event in await _next_events(hub, subscriber, caller):
                if not access.may_see_stream_event(caller, event) or not selection.wants(event):
                    continue
                quiet_since = time.monotonic()
                yield frame(event.name, event.data)
                if selection.ends_with(event):
                    return
            if time.monotonic() >= deadline:
                return  # the client reconnects
            if subscriber.behind or subscriber.pending:
                continue
            if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
                quiet_since = time.monotonic()
                yield "\n"
            await subscriber.wait(
                min(
                    deadline - time.monotonic(),
                    quiet_since + settings.ST2_STREAM_HEARTBEAT - time.monotonic(),
                )
            )
    finally:
        hub.unsubscribe(subscriber)


async def _next_events(hub, subscriber, caller):
    """The events offered to `subscriber` since it last took some; for a stream that fell
    more than stream_hub.MAX_PENDING behind (a client reading slower than events come), the
    next of them read from the table itself, until it has caught up with the poller."""
    if not subscriber.behind:
        return subscriber.take()
    upto = hub.delivered
    newer = await hub.run(_visible_events, caller, subscriber.last_id, upto)
    if newer:
        subscriber.last_id = newer[-1].id
    if len(newer) < BATCH and hub.delivered == upto:
        subscriber.behind = False  # on the loop: no offer came between the read and now
    return newer


def _visible_events(caller, after, upto):
    newer = access.visible_stream_events(caller).filter(id__gt=after, id__lte=upto)
    return list(newer.order_by("id")[:BATCH])


def _finished_frame(caller, selection):
    """The frame ending a stream at once, when the execution it is to end with finished
    before the stream began (a client asking after the fact, as `st2 pack install` does,
    would otherwise wait for an event that came and went): its last update."""
    if selection.end_event != "st2.execution__update" or not selection.end_execution_id:
        return None
    found = access.visible_executions(caller).filter(
        pk=selection.end_execution_id, status__in=Execution.COMPLETED
    )
    finished = found.first()
    return None if finished is None else frame(selection.end_event, executions.to_api(finished))


def execution_output(execution, output_type, gone):
    """The text of /stream/v1/executions/{id}/output, `execution` being one the caller sees
    (access.find_execution): as on /stream/v1/stream, a bare newline at once and after each
    quiet heartbeat period; between them stored output chunks (of `output_type` unless it is
    empty or "all"), then new ones, then an EOF event once the execution is done. The
    synchronous body; execution_output_async() is the one portal.asgi serves."""
    last_id = 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    yield "\n"
    while time.monotonic() < deadline and not gone():
        frames, last_id, done = _output_since(execution, output_type, last_id)
        if frames:
            quiet_since = time.monotonic()
        yield from frames
        if done:
            return
        if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
            quiet_since = time.monotonic()
            yield "\n"
        time.sleep(settings.ST2_STREAM_POLL_INTERVAL)


OUTPUT_RECHECK = 5  # seconds: an output stream looks again even when no event named it


async def execution_output_async(execution, output_type):
    """execution_output() for an event loop: it reads the table when the process's poller
    (st2bridge.stream_hub) sees an event of the execution (each chunk and status change is
    one), and every OUTPUT_RECHECK seconds in any case."""
    hub = stream_hub.hub()
    last_id = 0
    deadline = time.monotonic() + settings.ST2_STREAM_MAX_SECONDS
    quiet_since = time.monotonic()
    subscriber = await hub.subscribe(
        lambda after: stream_hub.Subscriber(after, executions={execution.id})
    )
    try:
        yield "\n"
        while time.monotonic() < deadline:
            frames, last_id, done = await hub.run(_output_since, execution, output_type, last_id)
            if frames:
                quiet_since = time.monotonic()
            for text in frames:
                yield text
            if done:
                return
            if time.monotonic() - quiet_since >= settings.ST2_STREAM_HEARTBEAT:
                quiet_since = time.monotonic()
                yield "\n"
            heartbeat_due = quiet_since + settings.ST2_STREAM_HEARTBEAT - time.monotonic()
            await subscriber.wait(min(OUTPUT_RECHECK, heartbeat_due, deadline - time.monotonic()))
    finally:
        hub.unsubscribe(subscriber)


def _output_since(execution, output_type, last_id):
    """The output frames of `execution` after chunk `last_id` (of `output_type` unless it is
    empty or "all"), ending with EOF once it is done: (frames, new last_id, done)."""
    chunks = ExecutionOutput.objects.filter(execution=execution, id__gt=last_id)
    if output_type not in (None, "", "all"):
        chunks = chunks.filter(output_type=output_type)
    frames = []
    for chunk in chunks.order_by("id"):
        last_id = chunk.id
        frames.append(
            frame("st2.execution.output__create", executions.output_to_api(execution, chunk))
        )
    execution.refresh_from_db(fields=["status"])
    done = execution.status in Execution.COMPLETED
    if done:
        frames.append("event: EOF\ndata: ''\n\n")
    return frames, last_id, done
