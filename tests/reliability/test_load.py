"""Load and faults against real processes (tests/live_site.py), loopback only, bounded in time.

1. 50 clients for 60 s mixing reads, launches and webhook posts: no error, no "database is
   locked", p95 latency printed.
2. The same kind of load while a web process and then the worker are killed with SIGKILL:
   every request answered 2xx is in the database afterwards, no execution is left running, and
   none ran twice.
"""

import os
import random
import sqlite3
import statistics
import threading
import time
import uuid
from collections import defaultdict
from contextlib import closing

import pytest
import requests

from tests.live_site import LiveSite

pytestmark = pytest.mark.reliability

FINISHED = ("succeeded", "failed", "timeout", "canceled", "abandoned")


class Load:
    """`clients` threads sending a mix of requests until `seconds` have passed."""

    def __init__(self, site, token, clients, seconds, launch_cmd):
        self.site, self.clients, self.seconds = site, clients, seconds
        self.headers = {"X-Auth-Token": token}
        self.launch_cmd = launch_cmd  # a command template with {marker}
        self.latencies = defaultdict(list)
        self.failures = []  # (kind, status or exception) of requests that got no 2xx
        self.launched = []  # (execution id, marker) answered 201
        self.posted = []  # markers of webhook posts answered 202
        self._lock = threading.Lock()

    def run(self, during=None):
        """Run the load; `during(elapsed)` is called from the main thread once a second."""
        deadline = time.monotonic() + self.seconds
        threads = [
            threading.Thread(target=self._client, args=(deadline,)) for _ in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(1)
            if during is not None:
                during(time.monotonic() - started)
        for thread in threads:
            thread.join(timeout=60)

    def _client(self, deadline):
        session = requests.Session()
        session.headers.update(self.headers)
        while time.monotonic() < deadline:
            kind = random.choices(["read", "launch", "webhook"], weights=[6, 2, 2])[0]
            started = time.monotonic()
            try:
                ok = getattr(self, f"_{kind}")(session)
            except requests.RequestException as error:
                ok = type(error).__name__
            elapsed = time.monotonic() - started
            with self._lock:
                self.latencies[kind].append(elapsed)
                if ok is not True:
                    self.failures.append((kind, ok))

    def _read(self, session):
        path = random.choice(
            ["/api/v1/actions?limit=20", "/api/v1/executions?limit=10", "/api/v1/rules"]
        )
        response = session.get(f"{self.site.url}{path}", timeout=30)
        return response.status_code == 200 or response.status_code

    def _launch(self, session):
        marker = uuid.uuid4().hex
        body = {
            "action": "core.local",
            "parameters": {"cmd": self.launch_cmd.format(marker=marker)},
        }
        response = session.post(f"{self.site.url}/api/v1/executions", json=body, timeout=30)
        if response.status_code != 201:
            return response.status_code
        with self._lock:
            self.launched.append((response.json()["id"], marker))
        return True

    def _webhook(self, session):
        marker = uuid.uuid4().hex
        url = f"{self.site.url}/api/v1/webhooks/load"
        response = session.post(url, json={"marker": marker}, timeout=30)
        if response.status_code != 202:
            return response.status_code
        with self._lock:
            self.posted.append(marker)
        return True

    def report(self, title):
        print(f"\n{title}")
        for kind, values in sorted(self.latencies.items()):
            values = sorted(values)
            p50, p95 = statistics.median(values), values[int(len(values) * 0.95) - 1]
            print(f"  {kind:8} {len(values):6} requests  p50 {p50 * 1000:7.1f} ms", end="")
            print(f"  p95 {p95 * 1000:7.1f} ms")
        print(f"  failures: {len(self.failures)}")


def create_webhook_rule(site, token, cmd):
    rule = {
        "name": "load",
        "pack": "default",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "load"}},
        "criteria": {},
        "action": {"ref": "core.local", "parameters": {"cmd": cmd}},
        "enabled": True,
    }
    response = requests.post(
        f"{site.url}/api/v1/rules", json=rule, headers={"X-Auth-Token": token}, timeout=30
    )
    assert response.status_code == 201, response.text


def database(site):
    return closing(sqlite3.connect(site.data_dir / "portal.sqlite3", timeout=30))


def stored_ids(site):
    with database(site) as db:
        return {row[0] for row in db.execute("SELECT id FROM st2bridge_execution")}


def stored_payloads(site):
    with database(site) as db:
        return " ".join(
            row[0] for row in db.execute("SELECT payload FROM st2bridge_triggerinstance")
        )


def unfinished(site):
    with database(site) as db:
        marks = ",".join("?" * len(FINISHED))
        query = f"SELECT count(*) FROM st2bridge_execution WHERE status NOT IN ({marks})"  # noqa: S608
        return db.execute(query, FINISHED).fetchone()[0]


def test_fifty_clients_for_a_minute_without_an_error():
    with LiveSite(WEB_CONCURRENCY="2", ST2_WORKER_CONCURRENCY="8") as site:
        token = site.token()
        create_webhook_rule(site, token, "true")
        load = Load(site, token, clients=50, seconds=60, launch_cmd="true {marker}")
        load.run()
        load.report("50 clients, 60 s, no faults:")
        log = site.log()
        assert not load.failures, load.failures[:20]
        assert "database is locked" not in log
        assert " ERROR " not in log, log[-5000:]
        assert load.launched and load.posted
        assert {execution for execution, _ in load.launched} <= stored_ids(site)
        payloads = stored_payloads(site)
        assert all(marker in payloads for marker in load.posted)


def test_killed_web_process_and_worker_lose_nothing_and_run_nothing_twice(shared_tmp):
    runs = shared_tmp / "runs.log"
    settings = {
        "WEB_CONCURRENCY": "2",
        "ST2_WORKER_CONCURRENCY": "8",
        "ST2_HEARTBEAT_INTERVAL": "1",
        "ST2_HEARTBEAT_STALE_AFTER": "3",
    }
    with LiveSite(**settings) as site:
        token = site.token()
        create_webhook_rule(site, token, f"echo W-{{{{ trigger.body.marker }}}} >> {runs}")
        killed = []

        def faults(elapsed):
            if elapsed >= 8 and "web" not in killed:
                os.kill(random.choice(site.web_processes()), 9)
                killed.append("web")
            if elapsed >= 15 and "worker" not in killed:
                site.workers[0].kill()
                site.workers[0].wait()
                site.start_worker()
                killed.append("worker")

        load = Load(site, token, clients=30, seconds=30, launch_cmd=f"echo L-{{marker}} >> {runs}")
        load.run(during=faults)
        load.report("30 clients, 30 s, a web process and the worker killed:")
        assert killed == ["web", "worker"]
        deadline = time.monotonic() + 180
        while unfinished(site) and time.monotonic() < deadline:
            time.sleep(1)
        assert unfinished(site) == 0, "executions left unfinished"
        assert {execution for execution, _ in load.launched} <= stored_ids(site)
        payloads = stored_payloads(site)
        assert all(marker in payloads for marker in load.posted)
        lines = runs.read_text().split() if runs.exists() else []
        assert len(lines) == len(set(lines)), "an execution ran twice"
        assert lines, "nothing ran at all"
        assert "database is locked" not in site.log()
