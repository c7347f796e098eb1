"""Purging 1,000,000 stream events while the API answers: GET /api/v1/user's p50 with and
without the purge running, and the longest purge batch (issue 18: p50 within 2x, each batch
under 10 ms).

    .venv/bin/python bench/retention.py            # SQLite in a throwaway directory
    DATABASE_URL=postgres://... .venv/bin/python bench/retention.py

It builds its own site as bench/executions.py does (temporary data dir, migrate, register
packs, a `bench` user, gunicorn on a free 127.0.0.1 port; no worker, so nothing else purges),
fills --events stream events two days old with plain SQL inserts (in one manage.py shell), and
measures over real HTTP:

  baseline   --requests sequential authenticated GET /api/v1/user
  purging    the same GETs, sequential, while `manage.py purge` (st2bridge.retention, the
             worker's batches without its time budget) deletes every event older than
             ST2_STREAM_EVENTS_TTL (1 day); the GETs go on until the purge has ended

and prints both p50s, their ratio, the purge's rows, batches, duration and longest batch as it
reported them. Ctrl-C stops everything. The figures are appended to bench/RESULTS.md
(--no-results: not).
"""

import argparse
import re
import secrets
import subprocess
import sys
import time

import executions as base  # bench/executions.py: the site, the client loops, the report bits
from executions import ROOT, manage, percentile

TARGET_RATIO = 2.0
TARGET_BATCH_MS = 10.0

FILL = """
import os, time
from datetime import timedelta
from django.db import connection, transaction
from django.utils import timezone
total, chunk = int(os.environ["BENCH_EVENTS"]), 10000
when = timezone.now() - timedelta(days=2)
sql = (
    'INSERT INTO st2bridge_streamevent (name, execution_id, "user", data, created_at)'
    " VALUES (%s, %s, %s, %s, %s)"
)
row = ("st2.execution__update", "0123456789abcdef01234567", "bench", '{"status": "running"}', when)
started = time.perf_counter()
with connection.cursor() as cursor:
    for done in range(0, total, chunk):
        with transaction.atomic():
            cursor.executemany(sql, [row] * min(chunk, total - done))
print(f"{total} stream events in {time.perf_counter() - started:.1f} s")
"""
PURGED = re.compile(r"stream events: deleted (\d+) .* in (\d+) batches, the longest ([\d.]+) ms")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="stream events to purge")
    parser.add_argument("--requests", type=int, default=300, help="sequential GETs, baseline")
    parser.add_argument("--phase-seconds", type=float, default=300, help="cap of the purge")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    return parser.parse_args()


def start_site(env, site, base_url, args):
    password = secrets.token_urlsafe(16)
    manage(env, "migrate", "--noinput")
    manage(env, "register_packs")
    manage(env, "shell", "-c", base.CREATE_USER, extra_env={"BENCH_PASSWORD": password})
    print(f"filling {args.events} stream events...", flush=True)
    done = subprocess.run(  # noqa: S603 (argv list, no shell)
        [sys.executable, "manage.py", "shell", "-c", FILL],
        cwd=ROOT, env={**env, "BENCH_EVENTS": str(args.events)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(done.stdout.strip().splitlines()[-1], flush=True)
    gunicorn = [sys.executable, "-m", "gunicorn"]  # the app: portal/gunicorn_conf.py
    site.start("gunicorn", [*gunicorn, "--config", "portal/gunicorn_conf.py"])
    base.wait_until_serving(site, base_url)
    return base.login(base_url, password)


def timed_get(client):
    started = time.perf_counter()
    client.get_user()
    return (time.perf_counter() - started) * 1000


def measure(args, base_url, token, site):
    client = base.Client(base_url, token)
    for _ in range(10):  # warm the gunicorn processes
        client.get_user()
    baseline = [timed_get(client) for _ in range(args.requests)]
    print("purging...", flush=True)
    output = site.data_dir / "purge.out"  # a file: a pipe would fill up before it is read
    with open(output, "w") as out, open(site.data_dir / "purge.log", "w") as log:
        purge = subprocess.Popen(  # noqa: S603 (argv list, no shell)
            [sys.executable, "manage.py", "purge", "-v", "2"], cwd=ROOT, env=site.env,
            stdout=out, stderr=log, text=True,
        )  # fmt: skip
    started = time.monotonic()
    during = []
    while purge.poll() is None:
        if time.monotonic() - started > args.phase_seconds:
            purge.kill()
            raise RuntimeError(f"the purge took over {args.phase_seconds} s")
        during.append(timed_get(client))
    seconds = time.monotonic() - started
    out = output.read_text()
    if purge.returncode != 0:
        raise RuntimeError(f"manage.py purge exited with {purge.returncode}:\n{out}")
    found = PURGED.search(out)
    if found is None:
        raise RuntimeError(f"manage.py purge printed no stream events line:\n{out}")
    rows, batches, longest = int(found[1]), int(found[2]), float(found[3])
    each = [float(ms) for ms in re.findall(r"^  \d+ rows in ([\d.]+) ms$", out, re.M)]
    return baseline, during, (rows, batches, seconds, longest, each)


def report(args, baseline, during, purge):
    rows, batches, seconds, longest, each = purge
    over = sum(ms > TARGET_BATCH_MS for ms in each)
    base_p50 = percentile(baseline, 0.5)
    during_p50 = percentile(during, 0.5) if during else float("nan")
    ratio = during_p50 / base_p50
    lines = [
        f"GET /api/v1/user p50, no purge:      {base_p50:.1f} ms ({len(baseline)} requests)",
        f"GET /api/v1/user p50, purge running: {during_p50:.1f} ms ({len(during)} requests)"
        f" = {ratio:.2f}x",
        f"purge: {rows} stream events in {batches} batches, {seconds:.1f} s"
        f" ({rows / seconds:.0f} rows/s)",
        f"batches: p50 {percentile(each, 0.5):.1f} ms, p99 {percentile(each, 0.99):.1f} ms,"
        f" the longest {longest:.1f} ms; {over} of {len(each)} over {TARGET_BATCH_MS:.0f} ms",
        f"targets: p50 within {TARGET_RATIO:.0f}x {'met' if ratio <= TARGET_RATIO else 'NOT met'};"
        f" batches under {TARGET_BATCH_MS:.0f} ms"
        f" {'met' if longest <= TARGET_BATCH_MS else 'NOT met'}",
    ]
    print("\n" + "\n".join(lines))
    if not args.no_results:
        base.append_results(
            f"Retention: purging {args.events} stream events (bench/retention.py)",
            f"{base.database_label()}; {base.cpu_model()}.",
            lines,
        )


def main():
    args = parse_args()

    def bench(env, site, base_url):
        token = start_site(env, site, base_url, args)
        report(args, *measure(args, base_url, token, site))
        return 0

    return base.on_throwaway_site("retention", args.keep, bench)


if __name__ == "__main__":
    sys.exit(main())
