"""bench/streams.py runs end to end on a tiny scale and prints every figure it promises: each
round's p50 with no stream and with the streams open, memory and threads per stream, idle CPU,
one event reaching every stream, slots back after closing, the API's rate under both servers,
and its verdicts. Whether the targets are met is for a full run (bench/RESULTS.md)."""

import re

from .bench_support import run_bench

TINY = [
    "--streams", "20", "--samples", "10", "--rounds", "1", "--idle-seconds", "1",
    "--load-seconds", "1", "--load-connections", "2", "--no-results",
]  # fmt: skip


def test_bench_streams_prints_its_figures():
    out = run_bench("streams.py", *TINY)
    assert re.search(
        r"round 1: GET /api/v1/user p50 [\d.]+ ms with no stream, [\d.]+ ms with 20 open "
        r"\([\d.]+x\); opened in [\d.]+ s",
        out,
    ), out
    assert re.search(r"memory per stream: -?[\d.]+ KB", out), out
    assert re.search(r"web threads: \d+ before the streams, \d+ with 20 open", out), out
    assert re.search(r"idle CPU with 20 open: [\d.]+ % of a core", out), out
    assert "one event to every stream: 20 of 20 reached in" in out, out
    assert re.search(r"all closed: a new stream and a GET served [\d.]+ s after closing", out)
    assert re.search(r"rate uvicorn-worker +\d+ GET /api/v1/user per s", out), out
    assert re.search(r"rate gthread +\d+ GET /api/v1/user per s", out), out
    assert re.search(r"p50 with 20 open streams within 2x of none (NOT )?met \(median", out)
    assert re.search(r"API rate no worse than gthread (NOT )?met \([\d.]+x", out), out
