"""History at any size: the execution list's API calls and the portal's history page with
1,000, 100,000 and 1,000,000 executions, and how much each grew (issue 16).

    .venv/bin/python bench/history.py [--sizes 1000,100000,1000000] [--samples 20]
    scripts/with-postgres .venv/bin/python bench/history.py     # on PostgreSQL

A throwaway site per size (tests/live_site.py: gunicorn and a worker; SQLite in a temporary
directory, or a new database on the PostgreSQL server DATABASE_URL names, dropped at the end)
is filled with plain SQL, not the API: executemany on SQLite, INSERT ... SELECT FROM
generate_series on PostgreSQL, 100,000 rows a statement. The newest execution is the same at
every size, one every 30 seconds going back (a million span a year), so a bigger table is a
longer history: spread over 5 users, the bundled actions (each with the snapshots the API
shows of it and its runner), 80% succeeded, 15% failed, 5% timed out, every 10th started by a
webhook rule. After each fill, on PostgreSQL, VACUUM ANALYZE (as autovacuum would) and the
counts compacted (as the worker does every few seconds); SQLite gets no ANALYZE, as in
production.

Then, as the administrator, over real HTTP, --samples rounds of every call of every site in
turn (so that other work on shared cores, which comes and goes, falls on every size alike),
after three rounds to warm up:
GET /api/v1/executions?limit=50 newest first, offset=900, the last page (a deep offset read
from the other end), the middle page (the deepest offset there is), filtered by action, by
status, by user, by a day of dates; and the portal's history page (/executions: 25 rows, the
API called over HTTP in the time); and GET /api/v1/user, which no execution changes, as a
baseline: its growth shows how far the sizes' own sites differ. Each call's median at each size, and
its growth from the smallest size to the largest. Target: each grows less than 2x from 1,000
to 1,000,000.
"""

import argparse
import json
import os
import re
import secrets
import sqlite3
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live_site import ADMIN, PASSWORD, LiveSite  # noqa: E402 - after the path is set

TARGET_GROWTH = 2.0
BASELINE = "baseline: GET /api/v1/user"
WARM_UP_ROUNDS = 3
STEP_SECONDS = 30
CHUNK = 100_000
USERS = (ADMIN, "ana", "ben", "cleo", "dev")
STATUSES = ("succeeded",) * 16 + ("failed",) * 3 + ("timeout",)
FILTERED_USER, FILTERED_STATUS, FILTERED_ACTION = "ben", "failed", "core.local"
RULE_EVERY = 10
RESULT = {"stdout": "done\n", "stderr": "", "return_code": 0, "succeeded": True, "failed": False}
COLUMNS = (
    "id", "action_ref", "action", "runner", "parameters", "secret_parameters", "status", "user",
    "context", "result", "log", "start_timestamp", "end_timestamp", "worker", "rule_ref",
    "trigger_instance_id", "trigger_type", "origin",
)  # fmt: skip
QUOTED = ", ".join(f'"{column}"' for column in COLUMNS)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated")
    parser.add_argument("--samples", type=int, default=20, help="timed requests per call")
    options = parser.parse_args()
    options.sizes = sorted(int(size) for size in options.sizes.split(","))
    return options


# --- the data --------------------------------------------------------------------------------


class Snapshots:
    """The bundled actions, each with the snapshots of itself and its runner as the API shows
    them (what an execution records at launch)."""

    def __init__(self, site, api):
        listed = api.get(f"{site.url}/api/v1/actions").json()
        runners = {r["name"]: r for r in api.get(f"{site.url}/api/v1/runnertypes").json()}
        self.refs = sorted(action["ref"] for action in listed)
        by_ref = {action["ref"]: action for action in listed}
        self.actions = [json.dumps(by_ref[ref]) for ref in self.refs]
        self.runners = [json.dumps(runners[by_ref[ref]["runner_type"]]) for ref in self.refs]
        self.packs = [by_ref[ref]["pack"] for ref in self.refs]


def isotime(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sqlite_rows(snapshots, newest, start, stop):
    """Rows start..stop-1 (0 is the newest) as SQLite stores them (Django's formats)."""
    result = json.dumps(RESULT)
    count = len(snapshots.refs)
    for number in range(start, stop):
        which, user = number % count, USERS[number % len(USERS)]
        started = newest - timedelta(seconds=STEP_SECONDS * number)
        ended = started + timedelta(seconds=1.2)
        status = STATUSES[number % len(STATUSES)]
        by_rule = number % RULE_EVERY == 0
        context = {"user": user, "pack": snapshots.packs[which]}
        origin = {}
        if by_rule:
            context["rule"] = {"ref": f"bench.rule_{number % 7}"}
            origin = {
                "rule": {"ref": f"bench.rule_{number % 7}", "name": f"rule_{number % 7}"},
                "trigger_type": {"ref": "core.st2.webhook", "name": "st2.webhook"},
            }
        log = [
            {"status": "requested", "timestamp": isotime(started)},
            {"status": status, "timestamp": isotime(ended)},
        ]
        yield (
            secrets.token_hex(12), snapshots.refs[which], snapshots.actions[which],
            snapshots.runners[which], json.dumps({"n": number}), "", status, user,
            json.dumps(context), result, json.dumps(log),
            started.replace(tzinfo=None).isoformat(" "), ended.replace(tzinfo=None).isoformat(" "),
            "bench-worker", f"bench.rule_{number % 7}" if by_rule else "",
            secrets.token_hex(12) if by_rule else "", "core.st2.webhook" if by_rule else "",
            json.dumps(origin),
        )  # fmt: skip


def fill_sqlite(path, snapshots, newest, start, stop):
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO st2bridge_execution ({QUOTED}) VALUES ({marks})"  # noqa: S608
    with sqlite3.connect(path, timeout=120) as database:
        for chunk_start in range(start, stop, CHUNK):
            chunk = sqlite_rows(snapshots, newest, chunk_start, min(stop, chunk_start + CHUNK))
            database.executemany(sql, chunk)
            database.commit()


# Built from this file's constants only; the values are parameters.
POSTGRESQL_FILL = f"""
INSERT INTO st2bridge_execution ({QUOTED})
SELECT substr(md5(%(salt)s || n), 1, 24), (%(refs)s::text[])[1 + n %% %(count)s],
    (%(actions)s::jsonb[])[1 + n %% %(count)s], (%(runners)s::jsonb[])[1 + n %% %(count)s],
    jsonb_build_object('n', n), '', status, "user",
    jsonb_build_object('user', "user", 'pack', (%(packs)s::text[])[1 + n %% %(count)s])
        || CASE WHEN by_rule THEN jsonb_build_object('rule', jsonb_build_object(
            'ref', 'bench.rule_' || n %% 7)) ELSE '{{}}'::jsonb END,
    %(result)s::jsonb,
    jsonb_build_array(
        jsonb_build_object('status', 'requested', 'timestamp', to_char(started AT TIME ZONE
            'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
        jsonb_build_object('status', status, 'timestamp', to_char(started AT TIME ZONE 'UTC'
            + interval '1.2 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))),
    started, started + interval '1.2 seconds', 'bench-worker',
    CASE WHEN by_rule THEN 'bench.rule_' || n %% 7 ELSE '' END,
    CASE WHEN by_rule THEN substr(md5('instance' || %(salt)s || n), 1, 24) ELSE '' END,
    CASE WHEN by_rule THEN 'core.st2.webhook' ELSE '' END,
    CASE WHEN by_rule THEN jsonb_build_object(
        'rule', jsonb_build_object('ref', 'bench.rule_' || n %% 7, 'name', 'rule_' || n %% 7),
        'trigger_type', jsonb_build_object('ref', 'core.st2.webhook', 'name', 'st2.webhook'))
        ELSE '{{}}'::jsonb END
FROM (
    SELECT n, %(newest)s - n * interval '{STEP_SECONDS} seconds' AS started,
        (%(statuses)s::text[])[1 + n %% {len(STATUSES)}] AS status,
        (%(users)s::text[])[1 + n %% {len(USERS)}] AS "user", n %% {RULE_EVERY} = 0 AS by_rule
    FROM generate_series(%(start)s, %(stop)s - 1) AS n
) AS generated
"""  # noqa: S608


def fill_postgresql(url, snapshots, newest, start, stop):
    import psycopg

    values = {
        "salt": secrets.token_hex(4), "refs": snapshots.refs, "actions": snapshots.actions,
        "runners": snapshots.runners, "packs": snapshots.packs, "count": len(snapshots.refs),
        "result": json.dumps(RESULT), "newest": newest, "statuses": list(STATUSES),
        "users": list(USERS),
    }  # fmt: skip
    with psycopg.connect(url, autocommit=True) as database:
        for chunk_start in range(start, stop, CHUNK):
            chunk_stop = min(stop, chunk_start + CHUNK)
            database.execute(POSTGRESQL_FILL, {**values, "start": chunk_start, "stop": chunk_stop})
        database.execute("VACUUM ANALYZE st2bridge_execution")


def site_database(size):
    """DATABASE_URL for the site of `size` executions: a new database of the server
    DATABASE_URL names, or "" (SQLite in the site's temporary directory)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return ""
    import psycopg

    name = f"bench_history_{size}_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as database:
        database.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(site_url):
    if site_url:
        import psycopg

        name = urlsplit(site_url).path.lstrip("/")
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as database:
            database.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class SizedSite:
    """A throwaway site (LiveSite) holding `size` executions."""

    def __init__(self, size, newest, stack):
        self.size, self.newest = size, newest
        self.database_url = site_database(size)
        stack.callback(drop_database, self.database_url)
        self.site = stack.enter_context(LiveSite(DATABASE_URL=self.database_url, LOG_LEVEL="ERROR"))
        self.api = requests.Session()
        self.api.headers["X-Auth-Token"] = self.site.token()
        self.browser = signed_in(self.site)

    def fill(self, snapshots):
        started = time.perf_counter()
        if self.database_url:
            fill_postgresql(self.database_url, snapshots, self.newest, 0, self.size)
            self.site.manage(
                "shell", "-v", "0", "-c",
                "from st2bridge import execution_counts; execution_counts.compact()",
            )  # fmt: skip
        else:
            fill_sqlite(self.site.env["SQLITE_PATH"], snapshots, self.newest, 0, self.size)
        total = self.api.get(f"{self.site.url}/api/v1/executions?limit=1").headers
        return time.perf_counter() - started, int(total["X-Total-Count"])


# --- the calls -------------------------------------------------------------------------------


def calls(size, newest):
    """{name: path} of the calls timed at `size` executions."""
    day_before = isotime(newest - timedelta(days=1))
    last = max(0, size - 50)
    return {
        BASELINE: "/api/v1/user",
        "API limit=50 (newest first)": "/api/v1/executions?limit=50",
        "API offset=900": "/api/v1/executions?limit=50&offset=900",
        "API last page (size-50)": f"/api/v1/executions?limit=50&offset={last}",
        "API middle page (size/2)": f"/api/v1/executions?limit=50&offset={size // 2}",
        "API action=core.local": f"/api/v1/executions?limit=50&action={FILTERED_ACTION}",
        "API status=failed": f"/api/v1/executions?limit=50&status={FILTERED_STATUS}",
        "API user=ben": f"/api/v1/executions?limit=50&user={FILTERED_USER}",
        "API dates (the last day)": (
            f"/api/v1/executions?limit=50&timestamp_gt={day_before}&timestamp_lt={isotime(newest)}"
        ),
        "portal history page": "/executions",
    }


def signed_in(site):
    """A browser session of the administrator, signed in through the portal's form."""
    browser = requests.Session()
    form = browser.get(f"{site.url}/login").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    data = {"username": ADMIN, "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    browser.post(f"{site.url}/login", data=data, headers={"Referer": site.url}).raise_for_status()
    return browser


def measure(targets, samples):
    """{target: {name: [seconds, ...]}} of `targets` {target: (site, api, browser, paths)}:
    WARM_UP_ROUNDS of every call of every target, then `samples` rounds of them all, in
    turn, so that the machine's load, which drifts, falls on every target alike."""
    times = {target: {name: [] for name in paths} for target, (*_, paths) in targets.items()}
    for rounds in (WARM_UP_ROUNDS, samples):
        for _ in range(rounds):
            for target, (site, api, browser, paths) in targets.items():
                for name, path in paths.items():
                    client = browser if path == "/executions" else api
                    started = time.perf_counter()
                    response = client.get(site.url + path)
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if rounds == samples:
                        times[target][name].append(elapsed)
    return times


def database_label():
    if not os.environ.get("DATABASE_URL"):
        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as database:
        version = database.execute("SHOW server_version").fetchone()[0]
    return f"PostgreSQL {version.split()[0]}"


def main():
    options = parse_args()
    newest = datetime.now(UTC).replace(second=0) - timedelta(minutes=1)
    label = database_label()
    with ExitStack() as stack:
        sites = {size: SizedSite(size, newest, stack) for size in options.sizes}
        first = sites[options.sizes[0]]
        snapshots = Snapshots(first.site, first.api)
        for size, sized in sites.items():
            seconds, total = sized.fill(snapshots)
            print(
                f"{size:,} executions ({label}): filled in {seconds:.1f} s, "
                f"X-Total-Count {total:,}",
                flush=True,
            )
        targets = {
            size: (sized.site, sized.api, sized.browser, calls(size, newest))
            for size, sized in sites.items()
        }
        times = measure(targets, options.samples)
    medians = {
        size: {name: statistics.median(values) for name, values in by_call.items()}
        for size, by_call in times.items()
    }
    report(options.sizes, medians, label)


def report(sizes, medians, label):
    smallest, largest = sizes[0], sizes[-1]
    print(f"\nmedian ms of each call ({label}); growth = {largest:,} / {smallest:,}")
    print("(the baseline does not depend on the executions: its growth is the sites' noise)")
    header = "".join(f"{size:>12,}" for size in sizes)
    print(f"{'call':30}{header}    growth  verdict (< {TARGET_GROWTH:g}x)")
    verdicts = []
    for name in medians[smallest]:
        row = "".join(f"{medians[size][name] * 1000:12.1f}" for size in sizes)
        growth = medians[largest][name] / medians[smallest][name]
        if name == BASELINE:
            print(f"{name:30}{row}  {growth:7.2f}x")
            continue
        verdict = "met" if growth < TARGET_GROWTH else "NOT met"
        verdicts.append(verdict == "met")
        print(f"{name:30}{row}  {growth:7.2f}x  {verdict}")
    print(
        f"target: each call grows < {TARGET_GROWTH:g}x from {smallest:,} to {largest:,} "
        f"executions: {sum(verdicts)} of {len(verdicts)} met"
    )


if __name__ == "__main__":
    main()
