"""StackStorm's own web UI (st2web), built, served for the browser tests.

The build is read from ../shared/reference/st2web (a tarball, outside the project, as the
reference packs are): it is unpacked into a temporary directory at test time, its config.js
pointed at the live test server, and served by a small HTTP server on another local port, so
st2web calls the embedded API across origins, with CORS, as it calls a StackStorm server.
"""

import functools
import http.server
import tarfile
import threading
from pathlib import Path

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


def point_at(build, base_url):
    """config.js naming `base_url` as the StackStorm server (with hosts, st2web uses the auth
    and stream URLs as given and appends /v1 to the API's)."""
    (build / "config.js").write_text(CONFIG.format(base=base_url.rstrip("/")))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class StaticServer:
    """A directory served over HTTP on a free 127.0.0.1 port, in a thread."""

    def __init__(self, directory):
        handler = functools.partial(QuietHandler, directory=str(directory))
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
