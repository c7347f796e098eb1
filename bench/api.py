"""The API's read endpoints against a bare Django JSON view, same server, same load, one run.

    .venv/bin/python bench/api.py            # SQLite in a throwaway directory
    DATABASE_URL=postgres://... .venv/bin/python bench/api.py

It builds its own site as bench/executions.py does (temporary data dir, migrate, the bundled
packs and a generated pack of --actions actions, a `bench` user who is not an administrator,
gunicorn with portal/gunicorn_conf.py, as `make run` starts it, and one worker), with one
difference: the settings are bench/api_settings.py, the project's own plus a URL conf that adds
a bare view (bench/api_urls.py: a plain Django function returning a small JsonResponse, under
the API's prefix so that it passes through the same middleware as the API). --executions
core.noop executions are run through the API first, so that a list of 50 has 50 items.

Then, --rounds times, each endpoint in turn is loaded for --seconds by the same load
generator with --connections keep-alive connections:

  wrk (when installed, as the issue's figures were taken: `wrk -t2 -c16 --latency`), or
  a Python generator (--loader python, or when wrk is missing): two processes, each with its
  share of the connections as threads on http.client keep-alive connections. It is slower
  than wrk and takes more of the same cores, so its rates are lower; compare ratios.

It prints each endpoint's requests per second and p50 (the medians over the rounds), its rate
over the bare view's (the median of the rounds' ratios: each round's endpoints saw the same
neighbours on shared cores) and the verdict. Targets (issue 16): GET /api/v1/user at least 0.30x
the bare view (by token and by API key), lists of 50 at least 0.20x. Every response must be a
200: any other status fails the run. The figures are appended to bench/RESULTS.md
(--no-results: not). bench/api_profile.py shows where one read's time goes, in process.
"""

import argparse
import http.client
import json
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import executions as base  # bench/executions.py: the site, its processes, the report bits
import requests
from executions import manage, percentile
from rules import CpuMeter  # bench/rules.py: CPU time of gunicorn's processes, from /proc

BENCH_DIR = Path(__file__).resolve().parent
BARE = "bare Django JSON view (baseline)"
USER_TARGET = 0.30
LIST_TARGET = 0.20


def endpoints():
    """(label, path, credential, target ratio or None). The first is the baseline."""
    return [
        (BARE, "/api/v1/bench/bare", None, None),
        ("GET /api/v1/user", "/api/v1/user", "token", USER_TARGET),
        ("GET /api/v1/user, by API key", "/api/v1/user", "key", USER_TARGET),
        ("GET /api/v1/actions?limit=50", "/api/v1/actions?limit=50", "token", LIST_TARGET),
        ("GET /api/v1/executions?limit=50", "/api/v1/executions?limit=50", "token", LIST_TARGET),
        ("GET /api/v1/packs", "/api/v1/packs", "token", None),
        ("GET /api/v1/actions/core.local", "/api/v1/actions/core.local", "token", None),
    ]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="load per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all endpoints")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument(
        "--loader", choices=("auto", "wrk", "python"), default="auto",
        help="load generator: wrk if installed (auto), or the Python one",
    )  # fmt: skip
    parser.add_argument("--actions", type=int, default=60, help="actions of the generated pack")
    parser.add_argument("--executions", type=int, default=60, help="core.noop runs first")
    parser.add_argument("--note", default="", help="a line saying what this run measures")
    parser.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.connections < 2:
        parser.error("--rounds >= 1, --seconds > 0 and --connections >= 2, please")
    if args.loader == "auto":
        args.loader = "wrk" if shutil.which("wrk") else "python"
    elif args.loader == "wrk" and not shutil.which("wrk"):
        parser.error("--loader wrk: wrk is not installed (apt-get install wrk)")
    return args


# --- the site --------------------------------------------------------------------------------


def write_pack(directory, count):
    """A pack `benchapi` of `count` noop actions with a few parameters each, in StackStorm's
    on-disk format (JSON is YAML)."""
    pack = directory / "benchapi"
    (pack / "actions").mkdir(parents=True)
    (pack / "pack.yaml").write_text(
        json.dumps({"ref": "benchapi", "name": "benchapi", "version": "1.0.0",
                    "description": "Generated by bench/api.py.", "author": "bench",
                    "email": "bench@example.com"})
    )  # fmt: skip
    for number in range(count):
        name = f"action_{number:03d}"
        (pack / "actions" / f"{name}.yaml").write_text(
            json.dumps({
                "name": name, "pack": "benchapi", "runner_type": "noop", "enabled": True,
                "description": f"Generated action {number}.",
                "tags": [{"name": "bench", "value": str(number % 7)}],
                "parameters": {
                    "host": {"type": "string", "required": True, "description": "Which host."},
                    "port": {"type": "integer", "default": 22, "minimum": 1, "maximum": 65535},
                    "mode": {"type": "string", "enum": ["graceful", "immediate"]},
                    "dry_run": {"type": "boolean", "default": True},
                },
            })
        )  # fmt: skip


def start_site(env, site, base_url):
    """Migrate, register the packs, a `bench` user, gunicorn and a worker; returns the user's
    token and a new API key of theirs."""
    password = secrets.token_urlsafe(16)
    manage(env, "migrate", "--noinput")
    manage(env, "register_packs")
    manage(env, "shell", "-c", base.CREATE_USER, extra_env={"BENCH_PASSWORD": password})
    gunicorn = [sys.executable, "-m", "gunicorn"]  # the app: portal/gunicorn_conf.py
    site.start("gunicorn", [*gunicorn, "--config", "portal/gunicorn_conf.py"])
    site.start("worker", [sys.executable, "manage.py", "run_worker"])
    base.wait_until_serving(site, base_url)
    token = base.login(base_url, password)
    response = requests.post(
        f"{base_url}/api/v1/apikeys", json={"user": "bench"},
        headers={"X-Auth-Token": token}, timeout=30,
    )  # fmt: skip
    response.raise_for_status()
    return token, response.json()["key"]


def run_executions(base_url, token, count, seconds=120):
    """`count` core.noop executions through the API, waited for until all have succeeded."""
    client = base.Client(base_url, token)
    since = datetime.now(UTC).isoformat()
    for _ in range(count):
        client.launch_noop()
    done = base.wait_for_succeeded(client, since, count, seconds, poll_seconds=0.1)
    if done < count:
        raise RuntimeError(f"only {done} of {count} core.noop executions succeeded")


def headers_for(credential, token, key):
    return {None: {}, "token": {"X-Auth-Token": token}, "key": {"St2-Api-Key": key}}[credential]


def check_endpoints(base_url, token, key):
    """Each endpoint answers 200 once, and the lists of 50 are full (50 items, or all there
    are at a tiny scale)."""
    for label, path, credential, _target in endpoints():
        response = requests.get(
            base_url + path, headers=headers_for(credential, token, key), timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
        if "limit=50" in path:
            expected = min(50, int(response.headers["X-Total-Count"]))
            if len(response.json()) != expected:
                raise RuntimeError(f"{label}: {len(response.json())} items, not {expected}")


# --- the load --------------------------------------------------------------------------------

WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
WRK_P50 = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_TOTAL = re.compile(r"(\d+) requests in ")
WRK_BAD = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load_wrk(url, headers, connections, seconds):
    """(requests, requests per second, p50 ms) from `wrk -t2`."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(  # noqa: S603 - argv list, no shell
        [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk on {url} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout, url)


def parse_wrk(out, url):
    """(requests, requests per second, p50 ms) from wrk's report; an error if any response
    was not a 2xx or 3xx or any socket error happened."""
    if WRK_BAD.search(out) or not WRK_RATE.search(out) or not WRK_P50.search(out):
        raise RuntimeError(f"wrk on {url}: errors, or no figures:\n{out}")
    p50 = WRK_P50.search(out)
    return (
        int(WRK_TOTAL.search(out)[1]),
        float(WRK_RATE.search(out)[1]),
        float(p50[1]) * UNIT_MS[p50[2]],
    )


def _python_share(url, headers, connections, seconds):
    """One process of the Python generator: `connections` threads, one keep-alive
    http.client connection each, until `seconds` have passed. Returns (latencies ms, errors)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies, errors = [], []
    deadline = time.monotonic() + seconds

    def loop():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.monotonic() < deadline and not errors:
            started = time.perf_counter()
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{response.status} from {target}")
            mine.append((time.perf_counter() - started) * 1000)
        connection.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def load_python(url, headers, connections, seconds, processes=2):
    """(requests, requests per second, p50 ms) from the Python generator."""
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        results = list(pool.map(_python_share, [url] * processes, [headers] * processes,
                                shares, [seconds] * processes))  # fmt: skip
    elapsed = time.perf_counter() - started
    latencies = [ms for share, _ in results for ms in share]
    errors = [error for _, share in results for error in share]
    if errors or not latencies:
        raise RuntimeError(f"the Python generator on {url}: {errors[:3] or 'no answer'}")
    return len(latencies), len(latencies) / elapsed, percentile(latencies, 0.5)


def measure(args, base_url, token, key, site):
    load = load_wrk if args.loader == "wrk" else load_python
    print("warming up...", flush=True)
    for _label, path, credential, _target in endpoints():
        load(base_url + path, headers_for(credential, token, key), args.connections, 1)
    meter = CpuMeter(site)
    rounds = []
    for number in range(1, args.rounds + 1):
        print(f"round {number} of {args.rounds}...", flush=True)
        measured = {}
        for label, path, credential, _target in endpoints():
            headers = headers_for(credential, token, key)
            before = meter.sample()
            done, rate, p50 = load(base_url + path, headers, args.connections, args.seconds)
            after = meter.sample()
            cpu_ms = (after["gunicorn"] - before["gunicorn"]) * 1000 / done if after else None
            measured[label] = (done, rate, p50, cpu_ms)
            site.check_alive()
        rounds.append(measured)
    return rounds


# --- the report ------------------------------------------------------------------------------


def table(rounds):
    """Rows: what, target, req/s and p50 (medians of the rounds), the median ratio to the
    bare view, each round's ratio, the verdict."""
    rows = [("what", "req/s", "p50 ms", "CPU ms", "CPU vs bare", "vs bare", "rounds", "target")]
    verdicts = []
    for label, _path, _credential, target in endpoints():
        rates = [measured[label][1] for measured in rounds]
        ratios = [measured[label][1] / measured[BARE][1] for measured in rounds]
        ratio = statistics.median(ratios)
        p50 = statistics.median(measured[label][2] for measured in rounds)
        cpus = [m[label][3] / m[BARE][3] for m in rounds if m[label][3] and m[BARE][3]]
        cpu = statistics.median(m[label][3] or 0 for m in rounds)
        cpu_ratio = f"{1 / statistics.median(cpus):.2f}x" if cpus else "?"
        if label == BARE:
            verdict = "baseline"
        elif target is None:
            verdict = "(no target)"
        else:
            met = ratio >= target
            verdict = f">= {target:.2f}x {'met' if met else 'NOT met'}"
            verdicts.append(met)
        rows.append(
            (label, f"{statistics.median(rates):.0f}", f"{p50:.2f}", f"{cpu:.2f}", cpu_ratio,
             f"{ratio:.2f}x", " ".join(f"{r:.2f}" for r in ratios), verdict)
        )  # fmt: skip
    return rows, verdicts


def formatted(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            [str(row[0]).ljust(widths[0])]
            + [str(c).rjust(w) for c, w in zip(row[1:-1], widths[1:-1], strict=True)]
            + [str(row[-1])]
        ).rstrip()
        for row in rows
    ]


def report(args, rounds, web):
    rows, verdicts = table(rounds)
    loader = (
        f"wrk -t2 -c{args.connections}" if args.loader == "wrk"
        else f"the Python generator (2 processes, {args.connections} connections)"
    )  # fmt: skip
    requests_done = sum(m[label][0] for m in rounds for label in m)
    lines = [
        f"st2bridge API reads benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine:  {base.os.cpu_count()} cores, {base.cpu_model()}, {base.platform.system()}",
        f"software: Python {base.platform.python_version()}, {base.database_label()}",
        f"site:     gunicorn {web} uvicorn-worker processes (portal/gunicorn_conf.py), one worker; "
        f"a non-admin user; {args.actions} generated actions, {args.executions} executions",
        f"load:     {loader}, {args.seconds:g} s per endpoint, {args.rounds} rounds, "
        f"{requests_done} requests, every one a 200",
    ]
    if args.note:
        lines.append(f"note:     {args.note}")
    lines += [
        "",
        *formatted(rows),
        "",
        "CPU ms: CPU time gunicorn's processes spent per request (from /proc; the load generator",
        "and other tenants of the cores are not in it); CPU vs bare: the bare view's over it.",
    ]
    met = sum(verdicts)
    lines.append(
        f"targets:  {met} of {len(verdicts)} met (GET /api/v1/user >= {USER_TARGET:.2f}x the "
        f"bare view, lists of 50 >= {LIST_TARGET:.2f}x; median of the rounds' ratios)"
    )
    print()
    print("\n".join(lines))
    if not args.no_results:
        base.append_results(
            "bench/api.py — API reads against a bare Django view",
            f"Command: `.venv/bin/python bench/api.py --seconds {args.seconds:g} --rounds "
            f"{args.rounds}`.",
            lines,
        )


def main(argv=None):
    args = parse_args(argv)

    def with_the_bare_view(data_dir, env):
        write_pack(data_dir / "packs", args.actions)
        return {
            "DJANGO_SETTINGS_MODULE": "api_settings",  # bench/api_settings.py: the bare view
            "PYTHONPATH": f"{BENCH_DIR}:{base.ROOT}",
            "ST2_PACKS_EXTRA_DIRS": str(data_dir / "packs"),
            "ST2_SETUP_VIRTUALENVS": "false",
        }

    def bench(env, site, base_url):
        token, key = start_site(env, site, base_url)
        print(f"running {args.executions} core.noop executions...", flush=True)
        run_executions(base_url, token, args.executions)
        check_endpoints(base_url, token, key)
        report(args, measure(args, base_url, token, key, site), env["WEB_CONCURRENCY"])
        return 0

    return base.on_throwaway_site("api", args.keep, bench, with_the_bare_view)


if __name__ == "__main__":
    sys.exit(main())
