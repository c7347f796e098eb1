"""gunicorn's worker class for `make run` (portal/gunicorn_conf.py): uvicorn's, serving
portal.asgi with the settings gunicorn's gthread worker had."""

import logging

from uvicorn_worker import UvicornWorker


class WebWorker(UvicornWorker):
    # uvicorn's own access log would print query strings (credentials, for StackStorm
    # clients): portal.asgi logs requests instead, to gunicorn's access log. Forwarded headers
    # are left to Django and st2bridge.addresses, as under gunicorn: REMOTE_ADDR stays the peer.
    # On SIGTERM, open event streams get this many seconds before they are closed (within
    # gunicorn's graceful_timeout); their clients reconnect.
    CONFIG_KWARGS = {
        "loop": "auto",
        "http": "auto",
        "access_log": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        access = logging.getLogger("portal.access")
        access.handlers = self.log.access_log.handlers
        access.setLevel(self.log.access_log.level)
        access.propagate = False
