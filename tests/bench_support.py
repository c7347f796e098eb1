"""Running a bench/ script as its users do, for the tests that run one on a tiny scale."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script, *args, timeout=300):
    """The standard output of `python bench/<script> args...`, which must succeed."""
    done = subprocess.run(  # noqa: S603 (argv list, no shell)
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
