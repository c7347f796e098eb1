"""bench/executions.py runs end to end on a tiny scale, with two worker processes and two web
processes, and prints every figure it promises: the baseline, the noop latency and rates, and
the claims of the throughput and backlog phases read back from the database, how they split
between the two workers, and the check that each execution was claimed exactly once (the run
fails otherwise). Whether the speed targets are met is for full runs (bench/RESULTS.md), not for
this test. It runs on SQLite, and on PostgreSQL where DATABASE_URL names one (make test)."""

import re

from .bench_support import run_bench

TINY = ["--latency-runs", "5", "--executions", "60", "--threads", "2", "--workers", "2"]
TINY += ["--web", "2"]
RATE = r" +[\d.]+  pid (\d+) (\d+) \(\d+%\)(?:, pid (\d+) (\d+) \(\d+%\))?$"


def test_bench_executions_with_two_workers_prints_the_claims_and_their_split():
    out = run_bench("executions.py", *TINY)

    assert "gunicorn 2 uvicorn-worker processes, 2 worker process(es)" in out, out
    assert re.search(r"^GET /api/v1/user, sequential +5 +[\d.]+ +[\d.]+ +1\.0x", out, re.M), out
    assert re.search(r"^core\.noop POST->succeeded, seq\. +5 +[\d.]+ +[\d.]+ +[\d.]+x", out, re.M)
    assert re.search(r"^core\.noop POST->succeeded, 2 threads +60 +\d+ +[\d.]+x", out, re.M), out
    workers = set()
    for phase in ("throughput", "backlog"):
        found = re.search(rf"^{phase} +60 +60 +0 +0{RATE}", out, re.M)
        assert found, (phase, out)
        split = dict(zip(found.groups()[::2], found.groups()[1::2], strict=True))
        split.pop(None, None)  # one worker may have claimed the whole phase
        assert sum(int(count) for count in split.values()) == 60, (phase, out)
        workers |= set(split)
    assert len(workers) == 2, out  # each worker process claimed something
    assert re.search(r"^targets: +p50 < 50 ms (NOT )?met; >= 100 noops/s (NOT )?met", out, re.M)
    assert "check:    each execution claimed exactly once: met" in out, out
