"""bench/retention.py runs end to end on a tiny scale and prints every figure it promises: the
p50 of GET /api/v1/user with and without the purge, the rows purged and the batches' times.
Whether the targets are met is for a full run (bench/RESULTS.md), not for this test."""

import re

from .bench_support import run_bench


def test_bench_retention_prints_its_figures():
    out = run_bench("retention.py", "--events", "3000", "--requests", "5", "--no-results")
    assert re.search(r"p50, no purge: +[\d.]+ ms \(5 requests\)", out), out
    assert re.search(r"p50, purge running: +[\d.]+ ms \(\d+ requests\) = [\d.]+x", out), out
    assert re.search(r"purge: 3000 stream events in \d+ batches, [\d.]+ s", out), out
    assert re.search(r"batches: p50 [\d.]+ ms, p99 [\d.]+ ms, the longest [\d.]+ ms", out), out
    assert re.search(r"targets: p50 within 2x (NOT )?met; batches under 10 ms (NOT )?met", out)
