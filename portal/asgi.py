"""The site as one ASGI application (gunicorn with uvicorn's worker: portal/gunicorn_conf.py).

Two halves, split by path:

- /stream/... (the event streams, /stream/v1/* and the aliases without /v1) go to Django's
  ASGI handler. Their views stay synchronous for the short part (credentials, the per-user
  cap, the selection), then answer with a body that is an asynchronous iterator
  (st2bridge.api.stream): an idle open stream is a suspended coroutine on the event loop,
  costing memory, not a thread. Django's handler watches for the client's disconnect and
  cancels the body at once.
- Everything else goes to the WSGI application in a real thread pool (a2wsgi), WEB_THREADS
  threads per process as gunicorn's gthread worker had: Django's ASGI handler would run each
  synchronous view through sync_to_async, paying a thread hop (and, with its per-request
  ThreadSensitiveContext, a new thread) per request: the whole site served that way answered
  GET /api/v1/user at 0.67x the rate (bench/RESULTS.md).

The access log is written here, as gunicorn's was: method, path without its query string
(StackStorm clients may put credentials there), status, bytes, milliseconds, request id.
"""

import logging
import os
import time

import django
from a2wsgi import WSGIMiddleware
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

access_log = logging.getLogger("portal.access")


class StreamHandler(ASGIHandler):
    """Django's ASGI handler, for the stream routes only, without its ThreadSensitiveContext:
    that context gives each request a thread of its own for its synchronous parts and keeps it
    until the response ends, so every open stream would hold an idle thread. Without it, the
    synchronous part of a stream request (middleware and the view: a few milliseconds) runs on
    asgiref's one shared thread, and an open stream holds no thread at all (200 open streams:
    7 threads in the process, against 206 with the stock handler; bench/RESULTS.md)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


def is_stream(path):
    return path == "/stream" or path.startswith("/stream/")


class Site:
    """Routes each request to its half and logs it."""

    def __init__(self, threads):
        django.setup(set_prefix=False)  # as Django's get_asgi_application() does
        self.streams = StreamHandler()
        self.pages = WSGIMiddleware(WSGIHandler(), workers=threads)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets: the connection closes unanswered
        app = self.streams if is_stream(scope["path"]) else self.pages
        started = time.monotonic()
        sent = {"status": 0, "bytes": 0, "request_id": "-"}

        async def logged_send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"x-request-id":
                        sent["request_id"] = value.decode("latin1")
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, logged_send)
        finally:
            client = (scope.get("client") or ("-",))[0]
            access_log.info(
                '%s "%s %s" %s %s %sms "%s"',
                client,
                scope["method"],
                scope["path"],
                sent["status"],
                sent["bytes"],
                int((time.monotonic() - started) * 1000),
                sent["request_id"],
            )


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = Site(threads=int(os.environ.get("WEB_THREADS", "16")))
