"""bench/api.py runs end to end on a tiny scale and prints every figure it promises: each
endpoint's rate, p50 and CPU per request, its ratio to the bare view and the verdicts. Whether
the targets are met is for a full run (bench/RESULTS.md), not for this test. The Python load
generator is used, so that the test needs no wrk; wrk's report is parsed as below."""

import re
import sys
from pathlib import Path

import pytest

from .bench_support import run_bench

BENCH = str(Path(__file__).resolve().parent.parent / "bench")
sys.path.insert(0, BENCH)
import api as bench_api  # noqa: E402 - bench/api.py, while its directory is on the path

sys.path.remove(BENCH)  # bench/portal.py is no `portal` package

TINY = [
    "--loader", "python", "--seconds", "1", "--rounds", "2", "--connections", "4",
    "--actions", "3", "--executions", "3", "--no-results",
]  # fmt: skip
ROWS = (
    r"bare Django JSON view \(baseline\)", r"GET /api/v1/user", r"GET /api/v1/user, by API key",
    r"GET /api/v1/actions\?limit=50", r"GET /api/v1/executions\?limit=50", r"GET /api/v1/packs",
    r"GET /api/v1/actions/core\.local",
)  # fmt: skip
FIGURES = r" +\d+ +[\d.]+ +[\d.]+ +[\d.]+x +[\d.]+x +[\d.]+ [\d.]+ +"

WRK_REPORT = """Running 1s test @ http://127.0.0.1:18931/
  2 threads and 16 connections
  Latency Distribution
     50%   {p50}
     99%  272.24ms
  113 requests in 1.05s, 110.68KB read
{bad}Requests/sec:    108.04
"""


def test_bench_api_prints_its_figures():
    out = run_bench("api.py", *TINY)
    assert "the Python generator (2 processes, 4 connections)" in out, out
    for row in ROWS:
        assert re.search(rf"^{row}{FIGURES}\S", out, re.M), (row, out)
    assert re.search(r"^bare Django JSON view \(baseline\).* 1\.00x +1\.00 1\.00 +baseline$",
                     out, re.M), out  # fmt: skip
    assert len(re.findall(r">= 0\.30x (NOT )?met", out)) == 2, out
    assert len(re.findall(r">= 0\.20x (NOT )?met", out)) == 2, out
    assert re.search(r"^targets: +\d of 4 met", out, re.M), out


@pytest.mark.parametrize(("p50", "ms"), [("13.80ms", 13.8), ("880.00us", 0.88), ("1.20s", 1200)])
def test_wrk_report_is_read(p50, ms):
    assert bench_api.parse_wrk(WRK_REPORT.format(p50=p50, bad=""), "url") == (113, 108.04, ms)


def test_wrk_report_with_errors_fails_the_run():
    report = WRK_REPORT.format(p50="13.80ms", bad="  Non-2xx or 3xx responses: 61\n")
    with pytest.raises(RuntimeError, match="errors"):
        bench_api.parse_wrk(report, "url")


def test_api_profile_prints_cpu_statements_and_modules():
    out = run_bench(
        "api_profile.py", "/api/v1/executions?limit=50", "--requests", "5", "--repeat", "2",
        "--actions", "2", "--executions", "3", "--top", "3",
    )  # fmt: skip
    assert re.search(r"^GET /api/v1/executions\?limit=50 by token: \d+ bytes$", out, re.M), out
    assert re.search(r"^CPU per request: \d+ us \(best of 2 runs of 5; median", out, re.M), out
    assert re.search(r"^SQL statements per request: [1-9]$", out, re.M), out
    assert re.search(r"^ +\d+ us +[\d.]+%  st2bridge/", out, re.M), out


def test_the_bare_view_is_not_served_by_the_site(client):
    """Only bench/api_settings.py adds it; the site's own URLs answer 404 there."""
    response = client.get("/api/v1/bench/bare")
    assert response.status_code == 404
    assert response.json() == {"faultstring": "The resource could not be found."}
