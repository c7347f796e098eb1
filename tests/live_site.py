"""A throwaway copy of the whole site, run as in production: gunicorn and a worker process
(what `manage.py serve` starts, here as separate processes so one can be killed alone) on a free
loopback port, SQLite in a temporary directory, the bundled packs, and an administrator. For tests
and scripts that need real processes to load, fuzz or kill.

    with LiveSite(WEB_CONCURRENCY="2") as site:
        token = site.token()
        requests.get(f"{site.url}/api/v1/actions", headers={"X-Auth-Token": token})
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN, PASSWORD = "siteadmin", "site-password-not-secret-123"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveSite:
    def __init__(self, **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._settings = settings
        self._tmp = None
        self.server = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="live-site-")
        self.data_dir = Path(self._tmp.name)
        self.env = {
            **os.environ,
            "PORTAL_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": "",
            "SQLITE_PATH": str(self.data_dir / "portal.sqlite3"),
            "PORT": str(self.port),
            "ST2_LOGIN_FAILURES_PER_USER": "1000000",
            "ST2_LOGIN_FAILURES_PER_ADDRESS": "1000000",
            "DJANGO_SUPERUSER_USERNAME": ADMIN,
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "LOG_LEVEL": "WARNING",
            **self._settings,
        }
        for step in (["migrate", "--noinput", "-v", "0"], ["register_packs"], ["ensure_admin"]):
            self.manage(*step)
        self.log_path = self.data_dir / "server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.web = self._spawn(*self.web_command())
        self.workers = []
        self.start_worker()
        self.wait_until_up()
        return self

    def __exit__(self, *exc_info):
        for process in [self.web, *self.workers]:
            if process.poll() is None:
                process.terminate()
        for process in [self.web, *self.workers]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        self._log.close()
        self._tmp.cleanup()

    def _spawn(self, *command):
        return subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def web_command(self):
        """The web server's command line: `make run`'s (portal/gunicorn_conf.py)."""
        return [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "portal/gunicorn_conf.py",
        ]

    def start_worker(self):
        worker = self._spawn(sys.executable, "manage.py", "run_worker")
        self.workers.append(worker)
        return worker

    def manage(self, *args):
        command = [sys.executable, "manage.py", *args]
        subprocess.run(command, cwd=ROOT, env=self.env, check=True)  # noqa: S603

    def wait_until_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/openapi.json", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the site at {self.url} did not come up:\n{self.log()[-3000:]}")

    # --- helpers --------------------------------------------------------------------------

    def add_user(self, username, password=PASSWORD, staff=False):
        """A user of the site (not staff unless asked), by default with the admin's password."""
        code = (
            "from django.contrib.auth import get_user_model; get_user_model().objects"
            f".create_user({username!r}, password={password!r}, is_staff={staff!r})"
        )
        self.manage("shell", "-v", "0", "-c", code)

    def token(self, username=ADMIN, password=PASSWORD):
        credentials = b64encode(f"{username}:{password}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - loopback URL of ours
            f"{self.url}/auth/v1/tokens",
            data=b"{}",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)["token"]

    def log(self):
        return self.log_path.read_text(errors="replace")

    def web_processes(self):
        """Process ids of gunicorn's workers (its master restarts any that die)."""
        listing = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.web.pid)],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(pid) for pid in listing.stdout.split()]
