"""bench/history.py and bench/catalog.py run end to end on a tiny scale and print every figure
they promise: each call's median at each size, its growth and verdict; the catalog's first and
median times and sizes, and the verdict. Whether the targets are met is for full runs on a quiet
machine (bench/RESULTS.md), not for this test."""

import re

from .bench_support import run_bench

HISTORY_CALLS = (
    "API limit=50 (newest first)", "API offset=900", "API last page (size-50)",
    "API middle page (size/2)", "API action=core.local", "API status=failed", "API user=ben",
    "API dates (the last day)", "portal history page",
)  # fmt: skip
CATALOG_CALLS = (
    "GET /api/v1/actions (all)", "GET /api/v1/actions/views/overview (all)",
    "overview, 25 with include_attributes",
)  # fmt: skip


def test_bench_history_prints_each_call_at_each_size_with_its_growth():
    out = run_bench("history.py", "--sizes", "60,300", "--samples", "2")
    for size in ("60", "300"):
        assert re.search(rf"^{size} executions \((SQLite|PostgreSQL) [\d.]+\): filled in [\d.]+ s, "
                         rf"X-Total-Count {size}$", out, re.M), out  # fmt: skip
    assert re.search(r"^baseline: GET /api/v1/user +[\d.]+ +[\d.]+ +[\d.]+x$", out, re.M), out
    for call in HISTORY_CALLS:
        assert re.search(
            rf"^{re.escape(call)} +[\d.]+ +[\d.]+ +[\d.]+x  (met|NOT met)$", out, re.M
        ), call
    assert re.search(r"target: each call grows < 2x from 60 to 300 executions: \d of 9 met", out)


def test_bench_catalog_prints_the_whole_lists_times_and_sizes():
    out = run_bench("catalog.py", "--actions", "200", "--samples", "2")
    assert re.search(r"^212 actions \((SQLite|PostgreSQL) [\d.]+\)", out, re.M), out  # +12 bundled
    for call in CATALOG_CALLS:
        assert re.search(rf"^{re.escape(call)} +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+$", out, re.M), call
    assert re.search(r"target: GET /api/v1/actions \(all\) under 150 ms median: (NOT )?met", out)
