"""gunicorn settings for `make run`. The access log leaves out query strings, because
StackStorm clients may put credentials there (?x-auth-token=, ?st2-api-key=)."""

import os

# Loopback unless told otherwise: only a TLS proxy (OPERATIONS.md) should face the network.
bind = os.environ.get("PORTAL_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, so that open event streams (/stream/v1) do not hold a whole process each; they may
# hold at most half of a process's threads (post_worker_init below).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-request-id}o)s"'
limit_request_line = 8190  # gunicorn's maximum: long filter queries; longer ones get 414
graceful_timeout = 10
timeout = 60


def post_worker_init(worker):
    """Open event streams may hold at most half of this process's threads, so that the other
    half always serves other requests (st2bridge/api/stream.py answers 429 beyond)."""
    from st2bridge.api.stream import SLOTS

    SLOTS.process_limit = worker.cfg.threads // 2
    if SLOTS.process_limit == 0:
        worker.log.warning("WEB_THREADS=1: every event stream is refused (429); streams need 2+")
