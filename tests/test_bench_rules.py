"""bench/rules.py runs end to end on a tiny scale and prints every figure it promises: the
round-by-round rates, the per-rule cost and its verdict on both targets. Whether the targets
are met is for a full run on a quiet machine (bench/RESULTS.md), not for this test."""

import re

from .bench_support import run_bench

TINY = [
    "--urls", "1", "--rules-per-url", "10", "--latency-runs", "3",
    "--requests", "20", "--threads", "2", "--rounds", "2", "--no-results",
]  # fmt: skip


def test_bench_rules_prints_its_figures():
    out = run_bench("rules.py", *TINY)
    for number in (1, 2):
        assert re.search(rf"round {number}: GET /api/v1/user, 2 threads +20 +\d+", out), out
        assert re.search(rf"round {number}: webhook, 1 rule matches +20 +\d+ +[\d.]+x", out), out
    for matching in (0, 1, 2, 5, 10):
        assert re.search(rf"webhook, +{matching} of 10 rules match, seq\. +3 ", out), out
    assert "rate runs: 40 of 40 webhooks, 40 executions requested" in out, out
    assert re.search(r"per matching rule: -?[\d.]+ ms", out), out
    assert re.search(r"targets: +webhook rate >= 0\.4x baseline (NOT )?met \(median", out), out
