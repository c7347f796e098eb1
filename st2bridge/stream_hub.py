"""One poller per web process for every open event stream served asynchronously (under
portal.asgi; st2bridge.streams' async bodies).

A thread of its own reads the stream events newer than the last it read, once per
ST2_STREAM_POLL_INTERVAL and only while some stream is open, and hands them to the event
loop, which offers them to every open stream: an idle stream costs no query and no thread,
and a thousand streams cost one query a tick, not a thousand. Every output chunk and every
status change of an execution is recorded as a stream event naming the execution, so the
same rows tell the output streams (/stream/v1/executions/{id}/output) when to look again.

Why polling and not PostgreSQL's LISTEN/NOTIFY: the poll is one read by primary key per
process and tick, so a process with 1,000 idle streams open spends about 1% of a core on them
all (bench/streams.py, bench/RESULTS.md); the same code serves SQLite; and an event still
reaches every stream within a poll interval, as before. LISTEN/NOTIFY would cut that latency,
at the price of a NOTIFY beside every insert of a stream event (web and worker processes), a
connection held open per web process, and a second path to keep correct beside SQLite's.
"""

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from .models import StreamEvent

logger = logging.getLogger(__name__)

BATCH = 500  # events read per query
MAX_PENDING = 2000  # events a stream may have waiting before it reads the table itself
DB_THREADS = 4  # threads for the streams' own queries (opening, catching up, output)


class Subscriber:
    """An open stream, as the hub sees it: events offered and not yet taken, and a flag that
    wakes its coroutine. `executions`: the execution ids whose events wake it (an output
    stream), or None for every event (an event stream)."""

    def __init__(self, after, executions=None):
        self.last_id = after  # the last event id this stream took (or read itself)
        self.executions = executions
        self.pending = []
        self.behind = False  # offered more than MAX_PENDING: reads the table itself
        self.woken = asyncio.Event()

    def offer(self, events):
        if self.executions is not None:
            if any(event.execution_id in self.executions for event in events):
                self.woken.set()
            return
        if self.behind:
            return
        self.pending.extend(event for event in events if event.id > self.last_id)
        if len(self.pending) > MAX_PENDING:
            self.pending, self.behind = [], True
        self.woken.set()

    def take(self):
        events, self.pending = self.pending, []
        if events:
            self.last_id = events[-1].id
        return events

    async def wait(self, seconds):
        """Until something is offered or `seconds` pass."""
        try:
            await asyncio.wait_for(self.woken.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass  # a heartbeat or the deadline is due
        self.woken.clear()


class Hub:
    """The poller of one process's event loop (see the module's docstring)."""

    def __init__(self, loop):
        self.loop = loop
        self.subscribers = set()  # touched on the loop only
        self.delivered = None  # the last event id offered to the streams (on the loop)
        self.executor = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="stream-db")
        self._started = None

    async def run(self, function, *args):
        """`function(*args)`, which uses the database, in one of the hub's threads."""
        return await self.loop.run_in_executor(self.executor, _with_connection, function, *args)

    async def subscribe(self, make_subscriber):
        """A new Subscriber (made by `make_subscriber(after)`), offered every event read from
        now on; `after` is the last event id already offered."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)
        subscriber = make_subscriber(self.delivered)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber):
        self.subscribers.discard(subscriber)

    async def _start(self):
        self.delivered = await self.run(_last_event_id)
        threading.Thread(
            target=self._poll, args=(self.delivered,), name="stream-hub", daemon=True
        ).start()

    def _poll(self, cursor):
        while not self.loop.is_closed():
            time.sleep(settings.ST2_STREAM_POLL_INTERVAL)
            if not self.subscribers:
                continue  # nobody listens: no query
            try:
                while True:
                    events = list(StreamEvent.objects.filter(id__gt=cursor).order_by("id")[:BATCH])
                    if not events:
                        break
                    cursor = events[-1].id
                    try:
                        self.loop.call_soon_threadsafe(self._deliver, events)
                    except RuntimeError:  # the loop closed meanwhile: the process is stopping
                        return
                    if len(events) < BATCH:
                        break
            except DatabaseError:
                logger.exception("stream hub: reading stream events failed; retrying")
                connection.close()

    def _deliver(self, events):
        self.delivered = events[-1].id
        for subscriber in self.subscribers:
            subscriber.offer(events)


def _last_event_id():
    return StreamEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _with_connection(function, *args):
    """Run `function` as a request would: stale or broken connections replaced first."""
    close_old_connections()
    return function(*args)


_hubs = {}
_hubs_lock = threading.Lock()


def hub():
    """The running event loop's hub."""
    loop = asyncio.get_running_loop()
    with _hubs_lock:
        if loop not in _hubs:
            _hubs[loop] = Hub(loop)
        return _hubs[loop]
