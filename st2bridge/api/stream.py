"""/stream/v1: server-sent events (notes §8). Which events a stream sends, and the polling
that sends them, are st2bridge.streams'; this module holds the streams' open connections.
As st2stream, also served without the version (/stream/stream, ...). The stream views, and
they alone, accept the `auth-token` cookie (a browser's EventSource sends no headers; see
st2bridge.api.authentication).

The views are synchronous for the short part (credentials, the cap, the selection). Served by
portal.asgi, they answer with an asynchronous body: an open stream is a coroutine waiting on
the event loop, holding no thread, and ends the moment its client goes away. Elsewhere (a WSGI
server, Django's test client) the body is the synchronous one, which holds its thread.

Each process caps the streams it holds open (StreamSlots): ST2_STREAMS_PER_USER per user, and
ST2_STREAMS_PER_PROCESS in all; beyond either, 429 with Retry-After."""

import inspect
import socket
import threading
import weakref
from collections import Counter
from functools import partial

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse

from st2bridge import access, streams
from st2bridge.errors import TooManyRequests

from .authentication import TokenCookieAuthentication
from .base import ApiView, route

RETRY_AFTER = 10  # seconds a refused client waits: others' streams may close at any moment


class StreamSlots:
    """The open streams of this web process, counted in memory under a lock.

    The count lives in the process, not the database, because what a stream uses up is the
    memory (or, served synchronously, a thread) of the process that serves it: the count is
    exact, costs no query, is released the moment the response closes, and dies with its
    process. So ST2_STREAMS_PER_USER caps one user's streams per web process: with
    WEB_CONCURRENCY processes behind one address, a user may hold up to that many times as many
    in all.

    `process_limit` caps this process's streams whoever opened them; None (the default)
    means settings.ST2_STREAMS_PER_PROCESS.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._open = Counter()  # username -> open streams
        self.process_limit = None

    def claim(self, username):
        """Take a slot for `username` or raise TooManyRequests. Returns the function that gives
        the slot back (HeldStream calls it exactly once)."""
        per_user = settings.ST2_STREAMS_PER_USER
        with self._lock:
            if self._open[username] >= per_user:
                raise TooManyRequests(
                    f'Too many open streams: user "{username}" already has {per_user} open '
                    "on this server (ST2_STREAMS_PER_USER). Close one and try again.",
                    RETRY_AFTER,
                )
            limit = self.process_limit
            if limit is None:
                limit = settings.ST2_STREAMS_PER_PROCESS
            if self._open.total() >= limit:
                raise TooManyRequests(
                    "Too many open streams: this server is serving as many as it may "
                    f"({limit}, ST2_STREAMS_PER_PROCESS). Try again later.",
                    RETRY_AFTER,
                )
            self._open[username] += 1
        return partial(self._release, username)

    def _release(self, username):
        with self._lock:
            self._open[username] -= 1
            if self._open[username] <= 0:
                del self._open[username]

    def count(self, username=None):
        with self._lock:
            return self._open.total() if username is None else self._open[username]


SLOTS = StreamSlots()


class HeldStream:
    """A stream response's body that holds a slot and gives it back exactly once: when the
    server closes the response (the stream ended, or a write to a client that went away
    failed), or, should nothing close it, when it is garbage-collected. A generator's own
    `finally` would not do: it never runs for a generator closed before its first step."""

    def __init__(self, body, release):
        self._body = body
        self._release = weakref.finalize(self, release)

    def __iter__(self):
        return self._body

    def close(self):
        try:
            self._body.close()
        finally:
            self._release()


class AsyncHeldStream(HeldStream):
    """HeldStream for an asynchronous body. Django's ASGI handler cancels the body when the
    client goes away (its own `finally` runs then) and closes the response after, which gives
    the slot back."""

    def __aiter__(self):
        return self._body

    def close(self):
        self._release()


def client_gone(request):
    """For the synchronous bodies: True once the client has closed its connection, found by
    peeking at the socket gunicorn's own workers hand a WSGI application
    (environ["gunicorn.socket"], when portal.wsgi is served that way): end-of-file there means
    the client went away, so the stream ends within a poll interval instead of at the next
    heartbeat write. Elsewhere (runserver, the test client, TLS sockets, which cannot peek) it
    is always False and a failed write ends the stream. portal.asgi needs none of this: the
    ASGI server reports the disconnect and the asynchronous body is cancelled."""
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError, ValueError):  # nothing to read yet; TLS
        return False
    except OSError:  # reset by the peer, or already closed
        return True


def comma_list(request, name):
    return [item for item in request.query_params.get(name, "").split(",") if item]


def selection(request):
    """The events a /stream/v1/stream client asks for, from its query parameters."""
    return streams.Selection(
        patterns=tuple(comma_list(request, "events")) or streams.DEFAULT_EVENTS,
        execution_ids=frozenset(comma_list(request, "execution_ids")),
        action_refs=frozenset(comma_list(request, "action_refs")),
        end_event=request.query_params.get("end_event"),
        end_execution_id=request.query_params.get("end_execution_id"),
    )


def served_async(request):
    """True when the request came through an ASGI server (portal.asgi), which can serve an
    asynchronous body."""
    return isinstance(getattr(request, "_request", request), ASGIRequest)


def sse_response(caller, body):
    """The response for a stream of `caller`'s, holding one of their slots while it is open
    (429 if none is free). `body`: a generator, or an async generator (served_async)."""
    release = SLOTS.claim(caller.username)
    held = AsyncHeldStream(body, release) if inspect.isasyncgen(body) else HeldStream(body, release)
    response = StreamingHttpResponse(held, content_type="text/event-stream; charset=UTF-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class StreamView(ApiView):
    """A stream: the usual credentials, then the `auth-token` cookie (GET only)."""

    def get_authenticators(self):
        return [*super().get_authenticators(), TokenCookieAuthentication()]


class Stream(StreamView):
    def get(self, request):
        if served_async(request):
            body = streams.events_async(self.caller, selection(request))
        else:
            body = streams.events(self.caller, selection(request), partial(client_gone, request))
        return sse_response(self.caller, body)


class ExecutionOutputStream(StreamView):
    def get(self, request, execution_id):
        execution = access.find_execution(self.caller, execution_id)
        output_type = request.query_params.get("output_type")
        if served_async(request):
            body = streams.execution_output_async(execution, output_type)
        else:
            gone = partial(client_gone, request)
            body = streams.execution_output(execution, output_type, gone)
        return sse_response(self.caller, body)


urlpatterns = [
    route(r"stream/(?:v1/)?stream", Stream),
    route(r"stream/(?:v1/)?executions/(?P<execution_id>[^/]+)/output", ExecutionOutputStream),
]
