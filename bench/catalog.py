"""The whole catalog from the API: GET /api/v1/actions and /api/v1/actions/views/overview
with 5,000 actions and no limit (issue 16).

    .venv/bin/python bench/catalog.py [--actions 5000] [--samples 20]
    scripts/with-postgres .venv/bin/python bench/catalog.py     # on PostgreSQL

A throwaway site (tests/live_site.py: gunicorn and a worker; SQLite in a temporary directory,
or the empty database DATABASE_URL names) gets --actions actions in 50 packs beside the
bundled ones, inserted with plain SQL: each with eight parameters (about 1.2 KB, as the
4,400 actions of the issue's measure were), a description and a tag, of four runner types
in turn (local-shell-cmd, python-script, http-request, noop), so the overview merges real
runner parameters. Then, as the administrator, over real HTTP: the first request of each
(what a web process does once per action and view: render each action and keep it), then
--samples rounds of every call in turn: the list and the overview, whole, and the overview
as a portal page asks for it (include_attributes, a page of 25). Target: the whole list
under 150 ms median.
"""

import argparse
import json
import os
import secrets
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.history import WARM_UP_ROUNDS, database_label, measure  # noqa: E402
from tests.live_site import LiveSite  # noqa: E402

TARGET_MS = 150
RUNNERS = ("local-shell-cmd", "python-script", "http-request", "noop")
CALLS = {
    "GET /api/v1/actions (all)": "/api/v1/actions",
    "GET /api/v1/actions/views/overview (all)": "/api/v1/actions/views/overview",
    "overview, 25 with include_attributes": (
        "/api/v1/actions/views/overview?limit=25&offset=2500"
        "&include_attributes=ref,pack,name,description,runner_type"
    ),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=20, help="timed requests per call")
    return parser.parse_args()


def action_row(number):
    """(id, ref, pack, name, description, runner_type, parameters, tags) of action `number`."""
    pack, name = f"bench_{number % 50:02d}", f"action_{number:05d}"
    parameters = {
        f"option_{letter}": {
            "type": kind,
            "description": f"Option {letter} of {name}: what it changes, in a sentence or two.",
            **({"default": default} if default is not None else {}),
        }
        for letter, kind, default in (
            ("a", "string", "primary"), ("b", "integer", 22), ("c", "boolean", True),
            ("d", "string", None), ("e", "array", ["x", "y"]), ("f", "number", 1.5),
            ("g", "object", {"key": "value"}), ("h", "string", "graceful"),
        )
    }  # fmt: skip
    parameters["option_a"]["required"] = True
    return (
        secrets.token_hex(12), f"{pack}.{name}", pack, name,
        f"Restart the service of group {number % 97} on every host of it, gracefully.",
        RUNNERS[number % len(RUNNERS)], json.dumps(parameters),
        json.dumps([{"name": "group", "value": str(number % 97)}]),
    )  # fmt: skip


COLUMNS = (
    "id", "ref", "pack", "name", "description", "runner_type", "parameters", "tags",
    "enabled", "entry_point", "output_schema", "notify", "metadata_file",
)  # fmt: skip
FIXED = (True, "", "{}", "{}", "")  # enabled .. metadata_file


def insert_actions(site, count):
    rows = [action_row(number) + FIXED for number in range(count)]
    columns = ", ".join(f'"{column}"' for column in COLUMNS)
    if os.environ.get("DATABASE_URL"):
        import psycopg

        marks = ", ".join(["%s"] * len(COLUMNS))
        with psycopg.connect(os.environ["DATABASE_URL"]) as database, database.cursor() as cursor:
            cursor.executemany(f"INSERT INTO st2bridge_action ({columns}) VALUES ({marks})", rows)  # noqa: S608
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as database:
            database.execute("VACUUM ANALYZE st2bridge_action")
        return
    marks = ", ".join("?" * len(COLUMNS))
    with sqlite3.connect(site.env["SQLITE_PATH"], timeout=60) as database:
        database.executemany(f"INSERT INTO st2bridge_action ({columns}) VALUES ({marks})", rows)  # noqa: S608


def main():
    options = parse_args()
    with LiveSite(DATABASE_URL=os.environ.get("DATABASE_URL", ""), LOG_LEVEL="ERROR") as site:
        api = requests.Session()
        api.headers["X-Auth-Token"] = site.token()
        insert_actions(site, options.actions)
        label = database_label()
        first = {}
        for name, path in CALLS.items():
            started = time.perf_counter()
            response = api.get(site.url + path)
            first[name] = time.perf_counter() - started
            response.raise_for_status()
        total = int(api.get(f"{site.url}/api/v1/actions?limit=1").headers["X-Total-Count"])
        sizes = {name: len(api.get(site.url + path).content) for name, path in CALLS.items()}
        times = measure({"catalog": (site, api, None, CALLS)}, options.samples)["catalog"]
    warm = f"{options.samples} samples after {WARM_UP_ROUNDS} rounds to warm up"
    print(f"{total:,} actions ({label}); {warm}")
    print(f"{'call':42} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'MB':>6}")
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        print(
            f"{name:42} {first[name] * 1000:9.1f} {statistics.median(values) * 1000:8.1f}"
            f" {p95 * 1000:8.1f} {sizes[name] / 1e6:6.2f}"
        )
    p50 = statistics.median(times["GET /api/v1/actions (all)"]) * 1000
    verdict = "met" if p50 < TARGET_MS else "NOT met"
    print(f"target: GET /api/v1/actions (all) under {TARGET_MS} ms median: {verdict}")


if __name__ == "__main__":
    main()
