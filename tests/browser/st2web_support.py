"""StackStorm's own web UI (st2web), built, served for the browser tests.

The build is read from ../shared/reference/st2web (a tarball, outside the project, as the
reference packs are): it is unpacked into a temporary directory at test time and served by a
small HTTP server on a local port of its own, either with its config.js naming the live test
server (st2web then calls the embedded API across origins, with CORS), or with no `hosts` and
the API behind the same origin (same_origin: a few lines of proxy standing for StackStorm's
nginx, which serves st2web and passes /api, /auth and /stream to the services).
"""

import contextlib
import functools
import http.client
import http.server
import tarfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

TARBALL = Path(settings.BASE_DIR).parent / "shared" / "reference" / "st2web" / "st2web-build.tar.gz"

CONFIG = """'use strict';
angular.module('main').constant('st2Config', {{
  hosts: [{{
    name: 'test',
    url: '{base}/api',
    auth: '{base}/auth/v1',
    stream: '{base}/stream/v1',
  }}],
}});
"""


def unpack(directory):
    """st2web's build unpacked into `directory`; returns the build directory (index.html)."""
    if not TARBALL.is_file():
        raise FileNotFoundError(f"StackStorm's st2web build not found at {TARBALL}")
    with tarfile.open(TARBALL) as archive:
        archive.extractall(directory, filter="data")
    build = Path(directory) / "build"
    if not (build / "index.html").is_file():
        raise FileNotFoundError(f"{TARBALL} holds no build/index.html")
    return build


NO_HOSTS = """'use strict';
angular.module('main').constant('st2Config', { hosts: [] });
"""


def point_at(build, base_url):
    """config.js naming `base_url` as the StackStorm server (with hosts, st2web uses the auth
    and stream URLs as given and appends /v1 to the API's)."""
    (build / "config.js").write_text(CONFIG.format(base=base_url.rstrip("/")))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class StaticServer:
    """A directory served over HTTP on a free 127.0.0.1 port, in a thread."""

    def __init__(self, directory, handler_class=QuietHandler):
        handler = functools.partial(handler_class, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


API_PATHS = ("/api/", "/auth/", "/stream/")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class SameOriginHandler(QuietHandler):
    """The build's files, and the API paths passed to `upstream` (host, port) as they come,
    answers relayed as they arrive (event streams included). HTTP/1.0: an answer ends when
    its connection closes, so a stream needs no length."""

    protocol_version = "HTTP/1.0"
    upstream = None

    def do_GET(self):
        if self.path.startswith(API_PATHS):
            self.relay()
        else:
            super().do_GET()

    def do_POST(self):
        self.relay()

    do_PUT = do_DELETE = do_OPTIONS = do_POST

    def relay(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.end_headers()
            while chunk := answer.read1(65536):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (an event stream closed)
        finally:
            upstream.close()


@contextlib.contextmanager
def same_origin(build, api_url):
    """The build and the API at `api_url` behind one origin, st2web with no `hosts`."""
    (build / "config.js").write_text(NO_HOSTS)
    target = urlsplit(api_url)
    handler = type("Handler", (SameOriginHandler,), {"upstream": (target.hostname, target.port)})
    with StaticServer(build, handler) as server:
        yield server
