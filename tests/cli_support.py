"""Run the official `st2` CLI (st2client 3.9.0, in a virtualenv of its own) against a server.

The CLI is found through ST2_CLI (`make test` sets it), else in .venv-st2client at the repo
root. Each St2 gets its own HOME, so ~/.st2 (token cache and config) starts empty, and an
environment built from scratch: no ST2_* variable of the developer's shell leaks in.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLI = REPO_ROOT / ".venv-st2client" / "bin" / "st2"
TIMEOUT = 60  # seconds per command; generous, a command normally takes well under one


def st2_binary():
    """The st2 executable, or a failed test saying how to install it (never a skip)."""
    path = Path(os.environ.get("ST2_CLI") or DEFAULT_CLI)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"The st2 CLI was not found at {path}. Run `make test`, which builds it, or: "
            "python3 -m venv .venv-st2client && "
            ".venv-st2client/bin/pip install st2client==3.9.0",
            pytrace=False,
        )
    return path


class St2:
    """`st2 ARGS...` as a user with an empty HOME would run it against `server_url`."""

    def __init__(self, binary, server_url, home):
        self.binary = binary
        self.home = home
        self.base_env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ST2_AUTH_URL": f"{server_url}/auth/v1",
            "ST2_API_URL": f"{server_url}/api/v1",
            "ST2_STREAM_URL": f"{server_url}/stream/v1",
            "COLUMNS": "200",  # else the CLI probes the terminal and prints blank lines
            "TERM": "dumb",  # no ANSI colours
        }

    def __call__(self, *args, env_extra=None, timeout=TIMEOUT):
        return subprocess.run(
            [str(self.binary), *args],
            env={**self.base_env, **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args):
        """`st2 ARGS...` in the background; finish it with finish()."""
        return subprocess.Popen(
            [str(self.binary), *args],
            env=self.base_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def st2_dir(self):
        return self.home / ".st2"


def signed_in(server_url, home, username="admin", password=None):
    """The CLI of an empty HOME (created here) after `st2 login <username>`."""
    from .conftest import PASSWORD

    home.mkdir()
    st2 = St2(st2_binary(), server_url, home)
    result = st2("login", username, "-p", password or PASSWORD)
    assert result.returncode == 0, output(result)
    return st2


def output(result):
    """Everything a command printed, for assertions and failure messages."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def parsed(result, returncode=0):
    """The JSON a `st2 ... -j` that exited with `returncode` printed; [] for an empty list,
    which the CLI shows as "No matching items found" even with -j."""
    assert result.returncode == returncode, output(result)
    if result.stdout.strip() == "No matching items found":
        return []
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"st2 did not print JSON:\n{output(result)}", pytrace=False)


def refused(result):
    """True when the CLI shows the server's 401 and exits 1."""
    return result.returncode == 1 and "401 Client Error: Unauthorized" in result.stdout


def finish(process, timeout=TIMEOUT):
    """Wait for a process of St2.start(); the CompletedProcess it amounts to. A process still
    running after `timeout` is killed, and the test fails showing what it printed so far."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(
            f"st2 still running after {timeout}s:\n--- stdout\n{stdout}--- stderr\n{stderr}",
            pytrace=False,
        )
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def async_execution_id(result):
    """The id `st2 run ... -a` printed in its hint `st2 execution get <id>`."""
    assert result.returncode == 0, output(result)
    found = re.search(r"st2 execution get (\S+)", result.stdout)
    assert found, output(result)
    return found.group(1)
