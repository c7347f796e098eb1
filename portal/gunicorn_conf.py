"""gunicorn settings for `make run` and the tests' live sites (tests/live_site.py).

Each process runs uvicorn's event loop (portal.web_worker) serving portal.asgi: event streams
(/stream/...) as coroutines on the loop, so an open stream holds no thread, and every other
request in a pool of WEB_THREADS threads, as gunicorn's gthread worker did. The access log
(portal.asgi) leaves out query strings, because StackStorm clients may put credentials there
(?x-auth-token=, ?st2-api-key=)."""

import os
import resource

# Loopback unless told otherwise: only a TLS proxy (OPERATIONS.md) should face the network.
bind = os.environ.get("PORTAL_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
wsgi_app = "portal.asgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "portal.web_worker.WebWorker"
accesslog = "-"
graceful_timeout = 10
timeout = 60


def post_fork(server, worker):
    """Each open event stream is a socket: let a web process open as many files as the system
    allows it (the soft limit is often 1,024, the hard one far higher)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
