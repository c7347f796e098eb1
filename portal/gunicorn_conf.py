"""gunicorn settings for `make run`. The access log leaves out query strings, because
StackStorm clients may put credentials there (?x-auth-token=, ?st2-api-key=)."""

import os

# Loopback unless told otherwise: only a TLS proxy (OPERATIONS.md) should face the network.
bind = os.environ.get("PORTAL_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, so that open event streams (/stream/v1) do not hold a whole process each.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-request-id}o)s"'
limit_request_line = 8190  # gunicorn's maximum: long filter queries; longer ones get 414
graceful_timeout = 10
timeout = 60
