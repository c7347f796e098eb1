"""`make run`'s last step: the web server (gunicorn with uvicorn's worker serving
portal.asgi; settings in portal/gunicorn_conf.py) and the execution worker together.
SIGTERM or Ctrl-C stops both; if either dies, the other is stopped too."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_TIMEOUT = 30


class Command(BaseCommand):
    help = "Serve the site with gunicorn and run the worker until stopped."

    def handle(self, *args, **options):
        bin_dir = Path(sys.executable).parent
        children = [
            subprocess.Popen(  # noqa: S603 - fixed argv of our own programs
                [str(bin_dir / "gunicorn"), "--config", "portal/gunicorn_conf.py"],
                cwd=settings.BASE_DIR,
            ),
            subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=settings.BASE_DIR),
        ]
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        self._stop(children)
        return None

    def _stop(self, children):
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped the web server and the worker.")
