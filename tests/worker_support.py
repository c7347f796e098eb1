"""Helpers for tests that run executions for real: an in-process worker driven tick by
tick, and worker subprocesses (manage.py run_worker) sharing the test database (the SQLite
file, or the PostgreSQL test database)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import connection

from st2bridge.models import Execution
from st2bridge.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def run_until(predicate, worker=None, timeout=30):
    """Tick an in-process worker (or just wait) until predicate() holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None:
            worker.tick()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def status_of(execution_id):
    return Execution.objects.values_list("status", flat=True).get(pk=execution_id)


def run_to_completion(execution_id, timeout=30):
    worker = Worker(concurrency=2, poll_interval=0.05)
    try:
        run_until(lambda: status_of(execution_id) in Execution.COMPLETED, worker, timeout)
    finally:
        worker.drain()
    return Execution.objects.get(pk=execution_id)


def subprocess_database_env():
    """The environment that points a subprocess at the test database: pytest-django has
    renamed it (connection.settings_dict["NAME"]), the environment still names the real one."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    url = urlsplit(os.environ["DATABASE_URL"])
    return {"DATABASE_URL": url._replace(path="/" + quote(name)).geturl()}


def start_worker_process(**env):
    """A real worker process on the test database."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--poll-interval", "0.1"],
        cwd=ROOT,
        env={
            **os.environ,
            **subprocess_database_env(),
            "PORTAL_DATA_DIR": str(settings.DATA_DIR),
            "ST2_HEARTBEAT_INTERVAL": "1",
            **{key: str(value) for key, value in env.items()},
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker_process(process, sig=signal.SIGTERM, timeout=60):
    """Stop a worker process: it lets running work finish for up to ST2_WORKER_GRACE (20 s)
    before it exits, which on a busy machine can take a while longer."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        raise
