"""bench/packs.py runs end to end on a tiny pack set and prints every figure it promises:
cold with the pure-Python loader (the baseline) and with the C loader, warm, one file changed
and a new process, in wall and CPU seconds, and its verdict on both targets. Whether the
targets are met is for a full run (bench/RESULTS.md), not for this test."""

import re

from .bench_support import run_bench
from .pack_support import NOOP_ACTION, write_pack

FIGURE = r"\s+\d+\.\d\d s\s+\d+\.\d\d s"


def test_bench_packs_prints_its_figures(tmp_path):
    source = tmp_path / "source"
    for ref in ("alpha", "beta"):
        # An alias naming its pack, as StackStorm's networking_utils does: each copy says its own.
        alias = f"name: hi\npack: {ref}\naction_ref: {ref}.a\nformats: ['hi']\n"
        action = NOOP_ACTION.format(name="a", description="d")
        write_pack(source, ref, {"a.yaml": action}, aliases={"hi.yaml": alias})

    out = run_bench("packs.py", "--source", str(source), "--actions", "3", "--no-results")
    assert re.search(r"pack set: 4 packs, 4 actions, 12 files; load average [\d. ]+", out), out
    assert re.search(rf"cold, pure-Python YAML loader \(baseline\){FIGURE}", out), out
    assert re.search(rf"cold, C?SafeLoader{FIGURE}\s+CPU [\d.]+x less than the baseline", out)
    for label in ("warm, nothing changed", "one action file changed"):
        assert re.search(rf"{label}{FIGURE}", out), out
    assert re.search(rf"manage.py register_packs, no change{FIGURE}\s+\(a new process\)", out)
    assert re.search(
        r"targets: cold < 5 s \(wall (NOT )?met, CPU (NOT )?met\); "
        r"warm < 1 s \(wall (NOT )?met, CPU (NOT )?met\)",
        out,
    ), out
