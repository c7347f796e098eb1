"""End-to-end speed of core.noop against a baseline measured in the same run.

    .venv/bin/python bench/executions.py            # SQLite in a throwaway directory
    scripts/with-postgres .venv/bin/python bench/executions.py --workers 2   # on PostgreSQL

It builds its own site in a temporary directory (migrate, register packs, a `bench` user; on
the database DATABASE_URL names, if any), starts gunicorn (portal/gunicorn_conf.py, --web
processes, 2 as `make run`) on a free 127.0.0.1 port and --workers worker processes
(`manage.py run_worker`, default settings; one as `make run` starts), and measures over real
HTTP:

  baseline    authenticated GET /api/v1/user: sequential latency, then the same number of
              requests as the throughput run from the same client threads (rate)
  latency     sequential core.noop: from the start of the POST until a GET of the execution
              shows `succeeded` (the client polls every --poll-ms)
  throughput  --executions core.noop POSTs from --threads client threads; the clock stops
              when the API reports all of them `succeeded`
  backlog     --executions core.noop requested in one transaction (in a manage.py shell,
              through the function the API's POST calls), so that the running workers see
              the whole backlog at once: how fast they claim it, competing for the same rows

After the throughput and backlog phases it reads back, from the database, who claimed each of
their executions: a claim is recorded as the stream event of the move to `scheduled`, naming
the worker (an event is appended for every move that wins, never overwritten). It prints the
claims per second (first claim to last; in the throughput phase bounded by the POSTs' rate),
how they split between the worker processes, and checks that every execution was claimed
exactly once: an execution claimed twice or never fails the run.

Each phase is bounded in count and in time. The figures are printed beside the baseline as
ratios, because absolute numbers depend on the machine. Ctrl-C stops everything.
"""

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
TARGET_P50_MS = 50
TARGET_RATE = 100
RATES = ("baseline_rate", "launch_rate", "noop_rate")  # figures: (count, seconds) each
COMPLETED = {"succeeded", "failed", "timeout", "abandoned", "canceled"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-runs", type=int, default=200, help="sequential noops")
    parser.add_argument("--executions", type=int, default=1000, help="noops for the rate")
    parser.add_argument("--threads", type=int, default=8, help="client threads for the rate")
    parser.add_argument("--poll-ms", type=float, default=5, help="client poll interval")
    parser.add_argument("--phase-seconds", type=float, default=50, help="cap of each phase")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--web", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="gunicorn processes (WEB_CONCURRENCY)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args()
    if args.workers < 1 or args.web < 1:
        parser.error("--workers and --web must be at least 1")
    return args


# --- the site under test --------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_environment(data_dir, port):
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    if not os.environ.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(data_dir / "portal.sqlite3")
    return env


def manage(env, *args, extra_env=None):
    """Run a manage.py command to completion and return its standard output; its output is
    shown only if it fails."""
    done = subprocess.run(  # noqa: S603 (argv list, no shell)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, **(extra_env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


CREATE_USER = """
import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="bench")
user.is_active = True
user.set_password(os.environ["BENCH_PASSWORD"])
user.save()
"""

# A backlog: BENCH_BACKLOG core.noop requested in one transaction, as the API's POST does each.
BACKLOG = """
import os
from django.db import transaction
from st2bridge.executions import request_execution
with transaction.atomic():
    for _ in range(int(os.environ["BENCH_BACKLOG"])):
        request_execution("core.noop", {}, user="bench", staff=False)
"""

# The claims of the core.noop executions started after BENCH_SINCE: each one's stream event of
# the move to `scheduled`, with the worker it names and the time of the move.
CLAIMS = """
import json, os
from django.utils.dateparse import parse_datetime
from st2bridge.models import Execution, StreamEvent
since = parse_datetime(os.environ["BENCH_SINCE"])
launched = Execution.objects.filter(action_ref="core.noop", start_timestamp__gt=since)
ids = set(launched.values_list("id", flat=True))
events = StreamEvent.objects.filter(name="st2.execution__update", created_at__gte=since)
claims = [
    [execution_id, data["liveaction"]["runner_info"].get("worker", ""),
     data["log"][-1]["timestamp"]]
    for execution_id, data in events.values_list("execution_id", "data").iterator()
    if execution_id in ids and data["status"] == "scheduled"
]
print(json.dumps({"executions": sorted(ids), "claims": claims}))
"""


class Site:
    """gunicorn and the workers, started in sessions of their own so that Ctrl-C reaches only
    this script, which then stops them in order."""

    def __init__(self, env, data_dir):
        self.env = env
        self.data_dir = data_dir
        self.processes = {}

    def start(self, name, args):
        with open(self.data_dir / f"{name}.log", "w") as log:  # the child keeps its own copy
            self.processes[name] = subprocess.Popen(  # noqa: S603 (argv list, no shell)
                args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name, lines=30):
        path = self.data_dir / f"{name}.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def stop(self):
        # The workers first, so that they are not left polling a database whose server went away.
        for name in sorted(self.processes, key="gunicorn".__eq__):
            process = self.processes[name]
            if process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(site, base_url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        site.check_alive()
        try:
            requests.get(f"{base_url}/api/v1", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up, or busy importing
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{site.tail('gunicorn')}")


def login(base_url, password):
    response = requests.post(f"{base_url}/auth/v1/tokens", auth=("bench", password), timeout=30)
    response.raise_for_status()
    return response.json()["token"]


# --- measuring ------------------------------------------------------------------------------


class Client:
    """One requests.Session per thread (a Session is not meant to be shared)."""

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = token

    def get_user(self):
        response = self.session.get(f"{self.base_url}/api/v1/user", timeout=30)
        response.raise_for_status()

    def launch_noop(self):
        response = self.session.post(
            f"{self.base_url}/api/v1/executions", json={"action": "core.noop"}, timeout=30
        )
        response.raise_for_status()
        return response.json()["id"]

    def status(self, execution_id):
        response = self.session.get(
            f"{self.base_url}/api/v1/executions/{execution_id}",
            params={"include_attributes": "status"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["status"]

    def count(self, **filters):
        response = self.session.get(
            f"{self.base_url}/api/v1/executions",
            params={"action": "core.noop", "limit": 1, **filters},
            timeout=30,
        )
        response.raise_for_status()
        return int(response.headers["X-Total-Count"])

    def noop_until_succeeded(self, poll_seconds, deadline):
        execution_id = self.launch_noop()
        while time.monotonic() < deadline:
            status = self.status(execution_id)
            if status == "succeeded":
                return
            if status in COMPLETED:
                raise RuntimeError(f"core.noop {execution_id} ended {status}")
            time.sleep(poll_seconds)
        raise TimeoutError


def sequential(operation, runs, seconds):
    """Latencies (ms) of up to `runs` sequential calls, stopping after `seconds`."""
    latencies = []
    deadline = time.monotonic() + seconds
    while len(latencies) < runs and time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            operation(deadline)
        except TimeoutError:
            break
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def concurrently(make_operation, total, threads, seconds):
    """Run `total` operations from `threads` threads; returns (done, elapsed seconds)."""
    lock = threading.Lock()
    state = {"left": total, "done": 0, "error": None}
    deadline = time.monotonic() + seconds

    def loop():
        operation = make_operation()
        while time.monotonic() < deadline and state["error"] is None:
            with lock:
                if state["left"] == 0:
                    return
                state["left"] -= 1
            try:
                operation()
            except Exception as error:  # reported by the main thread
                state["error"] = error
                return
            with lock:
                state["done"] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if state["error"] is not None:
        raise state["error"]
    return state["done"], time.perf_counter() - started


def wait_for_succeeded(client, since, expected, seconds, poll_seconds=0.01):
    """Poll until `expected` noops launched after `since` have succeeded; returns the count."""
    deadline = time.monotonic() + seconds
    succeeded = 0
    while time.monotonic() < deadline:
        succeeded = client.count(status="succeeded", timestamp_gt=since)
        if succeeded >= expected:
            break
        time.sleep(poll_seconds)
    return succeeded


def percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def read_claims(env, since):
    """Who claimed the core.noop executions started after `since`, as the database recorded
    it: {"executions", "claimed" (once), "twice" (or more), "never", "seconds" (first claim to
    last), "by_worker" {name: claims}}."""
    recorded = json.loads(
        manage(env, "shell", "-c", CLAIMS, extra_env={"BENCH_SINCE": since}).splitlines()[-1]
    )
    per_execution = Counter(execution_id for execution_id, _, _ in recorded["claims"])
    moments = [datetime.fromisoformat(moment) for _, _, moment in recorded["claims"]]
    return {
        "executions": len(recorded["executions"]),
        "claimed": sum(1 for count in per_execution.values() if count == 1),
        "twice": sum(1 for count in per_execution.values() if count > 1),
        "never": len(set(recorded["executions"]) - set(per_execution)),
        "seconds": (max(moments) - min(moments)).total_seconds() if moments else 0.0,
        "by_worker": Counter(worker for _, worker, _ in recorded["claims"]),
    }


# --- reporting ------------------------------------------------------------------------------


def append_results(heading, intro, lines):
    """Append a section to bench/RESULTS.md: `heading` (with today's date), a paragraph, and
    the printed figures as a code block."""
    section = ["", f"## {heading} ({datetime.now(UTC):%Y-%m-%d})", "", intro, "", "```"]
    results = Path(__file__).resolve().parent / "RESULTS.md"
    with results.open("a") as out:
        out.write("\n".join([*section, *lines, "```"]) + "\n")
    print(f"\nappended to {results}")


def database_label():
    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)  # never print the credentials
        return f"{parts.scheme} on {parts.hostname}:{parts.port or 'default port'}"
    return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), temporary file"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(args, figures):
    """The rows of the result table: (what, count, p50, p99, per second, vs baseline)."""
    base_lat, noop_lat = figures["baseline_latency"], figures["noop_latency"]
    base_p50, noop_p50 = percentile(base_lat, 0.5), percentile(noop_lat, 0.5)
    base_rate, launch_rate, noop_rate = (
        done / seconds for done, seconds in (figures[k] for k in RATES)
    )
    return [
        ("what", "count", "p50 ms", "p99 ms", "per s", "vs baseline"),
        ("GET /api/v1/user, sequential", len(base_lat), f"{base_p50:.1f}",
         f"{percentile(base_lat, 0.99):.1f}", "", "1.0x (baseline)"),
        ("core.noop POST->succeeded, seq.", len(noop_lat), f"{noop_p50:.1f}",
         f"{percentile(noop_lat, 0.99):.1f}", "", f"{noop_p50 / base_p50:.1f}x the p50"),
        (f"GET /api/v1/user, {args.threads} threads", figures["baseline_rate"][0], "", "",
         f"{base_rate:.0f}", "1.0x (baseline)"),
        (f"core.noop POST->succeeded, {args.threads} threads", figures["noop_rate"][0], "",
         "", f"{noop_rate:.0f}", f"{noop_rate / base_rate:.2f}x the rate"),
        ("  the POSTs alone", figures["launch_rate"][0], "", "",
         f"{launch_rate:.0f}", f"{launch_rate / base_rate:.2f}x the rate"),
    ]  # fmt: skip


def verdict(args, figures):
    noop_p50 = percentile(figures["noop_latency"], 0.5)
    done, seconds = figures["noop_rate"]
    all_done = done == args.executions
    complete = all_done and len(figures["noop_latency"]) == args.latency_runs
    p50_ok = "met" if noop_p50 < TARGET_P50_MS else "NOT met"
    rate_ok = "met" if all_done and done / seconds >= TARGET_RATE else "NOT met"
    note = "" if complete else f"\n          (a phase hit its {args.phase_seconds:g} s cap)"
    return f"targets:  p50 < {TARGET_P50_MS} ms {p50_ok}; >= {TARGET_RATE} noops/s {rate_ok}{note}"


def claim_lines(args, figures):
    """The claims of the throughput and backlog phases, and the check that none was double."""
    lines = [
        f"claims, read back from the database ({args.workers} worker processes, each named by"
        " its pid):",
        f"{'phase':11} {'executions':>10} {'once':>6} {'twice':>6} {'never':>6} {'claims/s':>9}"
        "  split between the workers",
    ]
    for phase in ("throughput", "backlog"):
        claims = figures[f"{phase}_claims"]
        total = sum(claims["by_worker"].values())
        rate = total / claims["seconds"] if claims["seconds"] else float("nan")
        split = ", ".join(
            f"pid {name.split(':')[-2] if name.count(':') >= 2 else name} {count}"
            f" ({100 * count / total:.0f}%)"
            for name, count in sorted(claims["by_worker"].items())
        )
        lines.append(
            f"{phase:11} {claims['executions']:10d} {claims['claimed']:6d} {claims['twice']:6d}"
            f" {claims['never']:6d} {rate:9.0f}  {split}"
        )
    return lines


def claims_verdict(figures):
    """(ok, the line saying so): every execution of both phases claimed exactly once."""
    wrong = sum(figures[f"{phase}_claims"][key] for phase in ("throughput", "backlog")
                for key in ("twice", "never"))  # fmt: skip
    said = "met" if wrong == 0 else f"NOT met ({wrong} claimed twice or never)"
    return wrong == 0, f"check:    each execution claimed exactly once: {said}"


def report(args, figures):
    rows = table(args, figures)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    print()
    print(f"st2bridge executions benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine:  {os.cpu_count()} cores, {cpu_model()}, {platform.system()}")
    print(f"software: Python {platform.python_version()}, {database_label()}")
    print(
        f"site:     gunicorn {args.web} uvicorn-worker processes, {args.workers} worker"
        f" process(es) (default settings); client polls every {args.poll_ms:g} ms"
    )
    print()
    for row in rows:
        cells = [str(cell) for cell in row]
        print("  ".join([cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(
            cells[1:], widths[1:], strict=True)]))  # fmt: skip
    print()
    print("\n".join(claim_lines(args, figures)))
    print()
    print(verdict(args, figures))
    print(claims_verdict(figures)[1])


# --- the run --------------------------------------------------------------------------------


def measure(args, base_url, token, site):
    client = Client(base_url, token)
    poll = args.poll_ms / 1000
    cap = args.phase_seconds
    figures = {}
    print("warming up...", flush=True)
    sequential(lambda _deadline: client.get_user(), 20, 10)
    warm = sequential(lambda deadline: client.noop_until_succeeded(poll, deadline), 5, 20)
    if len(warm) < 5:
        raise RuntimeError(f"core.noop does not complete:\n{site.tail('worker-1')}")

    print("baseline: GET /api/v1/user...", flush=True)
    figures["baseline_latency"] = sequential(
        lambda _deadline: client.get_user(), args.latency_runs, cap
    )
    figures["baseline_rate"] = concurrently(
        lambda: Client(base_url, token).get_user, args.executions, args.threads, cap
    )
    site.check_alive()

    print("latency: sequential core.noop...", flush=True)
    figures["noop_latency"] = sequential(
        lambda deadline: client.noop_until_succeeded(poll, deadline), args.latency_runs, cap
    )
    site.check_alive()

    print(f"throughput: {args.executions} core.noop...", flush=True)
    time.sleep(0.5)  # let the previous phase's last work settle
    since = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    launched, launch_seconds = concurrently(
        lambda: Client(base_url, token).launch_noop, args.executions, args.threads, cap
    )
    figures["launch_rate"] = (launched, launch_seconds)
    succeeded = wait_for_succeeded(client, since, launched, cap)
    figures["noop_rate"] = (succeeded, time.perf_counter() - started)
    site.check_alive()
    figures["throughput_claims"] = read_claims(site.env, since)

    print(f"backlog: {args.executions} core.noop requested at once...", flush=True)
    since = datetime.now(UTC).isoformat()
    manage(site.env, "shell", "-c", BACKLOG, extra_env={"BENCH_BACKLOG": str(args.executions)})
    wait_for_succeeded(client, since, args.executions, cap)
    site.check_alive()
    figures["backlog_claims"] = read_claims(site.env, since)
    return figures


def interrupted(*_signal_args):
    """SIGTERM (from a CI runner, say) unwinds like Ctrl-C, so the processes get stopped."""
    raise KeyboardInterrupt


def start_workers(site, count):
    for number in range(1, count + 1):
        site.start(f"worker-{number}", [sys.executable, "manage.py", "run_worker"])


def start_site(env, site, base_url, workers):
    """A fresh site with a `bench` user; returns that user's token."""
    password = secrets.token_urlsafe(16)
    manage(env, "migrate", "--noinput")
    manage(env, "register_packs")
    manage(env, "shell", "-c", CREATE_USER, extra_env={"BENCH_PASSWORD": password})
    gunicorn = [sys.executable, "-m", "gunicorn"]  # the app: portal/gunicorn_conf.py
    site.start("gunicorn", [*gunicorn, "--config", "portal/gunicorn_conf.py"])
    start_workers(site, workers)
    wait_until_serving(site, base_url)
    return login(base_url, password)


def on_throwaway_site(name, keep, bench, prepare=None):
    """Run `bench(env, site, base_url)` and return its exit status, on a site of its own in a
    new temporary directory; `prepare(data_dir, env)`, if given, first adds to its
    environment. Ctrl-C or SIGTERM stops it (130). The directory goes afterwards, unless
    `keep` or the bench failed: its logs tell why."""
    signal.signal(signal.SIGTERM, interrupted)
    data_dir = Path(tempfile.mkdtemp(prefix=f"st2bridge-bench-{name}-"))
    port = free_port()
    env = site_environment(data_dir, port)
    if prepare is not None:
        env |= prepare(data_dir, env)
    site = Site(env, data_dir)
    try:
        print(f"setting up in {data_dir} ({database_label()})...", flush=True)
        return bench(env, site, f"http://127.0.0.1:{port}")
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the site", file=sys.stderr)
        return 130
    except Exception:  # requests' errors too
        keep = True
        raise
    finally:
        site.stop()
        if keep:
            print(f"data and logs kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def main():
    args = parse_args()

    def bench(env, site, base_url):
        token = start_site(env, site, base_url, args.workers)
        figures = measure(args, base_url, token, site)
        report(args, figures)
        return 0 if claims_verdict(figures)[0] else 1

    def web_processes(data_dir, env):
        return {"WEB_CONCURRENCY": str(args.web)}

    return on_throwaway_site("executions", args.keep, bench, web_processes)


if __name__ == "__main__":
    sys.exit(main())
