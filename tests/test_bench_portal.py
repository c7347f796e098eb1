"""bench/portal.py runs end to end on a tiny scale and prints every figure it promises: p50,
p95, the ratio to the sign-in page and the API calls of each page, with its verdict. Whether
the target is met is for a full run (bench/RESULTS.md), not for this test; the API calls
are the catalog's promise, so they are checked here."""

import os
import re

from .bench_support import run_bench

TINY = [
    "--actions", "60", "--packs", "3", "--executions", "200", "--busy-actions", "5",
    "--rules", "3", "--samples", "5", "--no-results",
]  # fmt: skip
ROW = r" +[\d.]+ +[\d.]+ +[\d.]+x +{calls} +\d+  (met|NOT met)"


def test_bench_portal_prints_its_figures():
    out = run_bench("portal.py", *TINY)
    # On the database asked for: DATABASE_URL's under make test's PostgreSQL run.
    database = "postgres on" if os.environ.get("DATABASE_URL") else "SQLite"
    assert re.search(
        rf"catalog written and registered in \d+ s, executions inserted in [\d.]+ s \({database}",
        out,
    ), out
    assert re.search(r"sign-in page \(baseline\) +[\d.]+ +[\d.]+ +1\.0x +0 +0\n", out), out
    pages = {
        r"actions \(60 \+ bundled\)": 1,
        r"actions, last page": 1,
        r"actions, search 'restart nginx'": 1,
        r"packs \(3 \+ bundled\)": 4,  # the packs, their counts, config schemas, problems
        r"action page bench_00\.action_00000": 3,
        r"history \(200 executions\)": 1,
        r"history of a member \(100 theirs\)": 1,
        r"rules list \(3 rules\)": 1,
    }
    for page, calls in pages.items():
        assert re.search(page + ROW.format(calls=calls), out), (page, out)
    assert "target: p50 under 50 ms for each page" in out
    assert re.search(r"machine while timed: load average [\d.]+ then [\d.]+ on \d+ cores", out)
