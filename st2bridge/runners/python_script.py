"""python-script: a pack's Python action (a subclass of st2common.runners.base_action.Action)
runs unchanged in a subprocess of its own, hosted by python_action_host.py.

Result as StackStorm's python runner: {"result": <run()'s return value>, "exit_code",
"stdout", "stderr"}, plus "error" (and "traceback" when run() raised) when it did not succeed.
Status: failed when run() raised, returned (False, ...) or the process exited non-zero.

The interpreter is the pack's virtualenv's when the pack has a requirements.txt
(runners/virtualenvs.py), with StackStorm's Python API on the path. The action reaches the
datastore (action_service) and the rest of the API with ST2_ACTION_API_URL and the
execution's ST2_ACTION_AUTH_TOKEN, as the execution's user: the host sets them in its
os.environ from the job, so they are not in the environment the process started with
(runners/process.py action_env).
"""

import json
import logging
import queue
import socket
import threading
from pathlib import Path

from . import sandbox, virtualenvs
from .base import (
    CANCELED,
    FAILED,
    SUCCEEDED,
    TIMEOUT,
    Runner,
    RunRefused,
    RunResult,
    entry_point_path,
)
from .process import TIMEOUT_RETURN_CODE, action_env, api_env, run_process

log = logging.getLogger(__name__)

HOST = Path(__file__).resolve().parent / "python_action_host.py"
CHANNEL_JOIN_SECONDS = 2.0
# -I: isolated, no PYTHON* variable, user site or script directory shapes the interpreter
# (the host sets sys.path itself); -u: print() output reaches on_output while the action runs;
# -B: no __pycache__ written into pack directories.
PYTHON_FLAGS = ("-I", "-u", "-B")


class PythonScriptRunner(Runner):
    name = "python-script"
    runner_parameters = frozenset({"content_version", "debug", "env", "log_level", "timeout"})
    action_api = True

    def run(self, request):
        try:
            account = sandbox.action_account()
            entry_point = entry_point_path(request)
            sandbox.require_readable(account, HOST, "the Python action host")
            sandbox.require_readable(account, entry_point, "the entry point")
            interpreter = virtualenvs.action_python(request.pack, request.pack_path, account)
            env = action_env(request, request.parameters.get("env"), account, with_token=False)
        except RunRefused as refusal:
            return RunResult(FAILED, _output(None, -1, "", "", error=str(refusal)))
        job = {
            "entry_point": str(entry_point),
            "pack": request.pack,
            "config": request.config or {},
            "parameters": self.action_parameters(request),
            "log_level": request.parameters.get("log_level") or "DEBUG",
            # after the pack's own packages: the StackStorm Python API (st2client)
            "python_path": interpreter.paths,
            # what a missing module's error tells to do
            "requirements": str(Path(request.pack_path) / virtualenvs.REQUIREMENTS_FILE),
            "fix": virtualenvs.fix_command(request.pack),
            # ST2_ACTION_API_URL and ST2_ACTION_AUTH_TOKEN, set by the host (action_env)
            "environ": api_env(request),
        }
        channel = ActionChannel(job)
        try:
            argv = [interpreter.python, *PYTHON_FLAGS, str(HOST), str(channel.child_fd)]
            outcome = run_process(
                argv,
                request,
                env=env,
                account=account,
                pass_fds=(channel.child_fd,),
                on_poll=channel.serve,
            )
        except RunRefused as refusal:
            return RunResult(FAILED, _output(None, -1, "", "", error=str(refusal)))
        finally:
            channel.close()
        return python_result(outcome, channel.final, request.timeout)


def python_result(outcome, final, timeout):
    output = _output(None, outcome.return_code, outcome.stdout, outcome.stderr)
    if outcome.timed_out:
        output["exit_code"] = TIMEOUT_RETURN_CODE
        output["error"] = f"Action failed to complete in {timeout:g} seconds"
        return RunResult(TIMEOUT, output)
    if outcome.canceled:
        output["error"] = "Action was canceled."
        return RunResult(CANCELED, output)
    final = final or {}
    if final.get("type") == "error":
        output["error"], output["traceback"] = final["error"], final["traceback"]
        return RunResult(FAILED, output)
    output["result"] = final.get("result")
    succeeded = outcome.return_code == 0 and final.get("status") is not False
    if outcome.return_code != 0:
        output["error"] = f"The action's process exited with code {outcome.return_code}."
    return RunResult(SUCCEEDED if succeeded else FAILED, output)


def _output(result, exit_code, stdout, stderr, error=None):
    output = {"result": result, "exit_code": exit_code, "stdout": stdout, "stderr": stderr}
    if error:
        output["error"] = error
    return output


class ActionChannel:
    """The runner's end of the socket shared with the action host. A reader thread sends the
    job and queues what the action sends back, its result or its error; serve() takes it on
    the runner's own thread."""

    def __init__(self, job):
        self.ours, self.theirs = socket.socketpair()
        self.child_fd = self.theirs.fileno()
        self.inbox = queue.Queue()
        self.final = None  # the action's last message: its result or its error
        self.reader = threading.Thread(target=self._read, args=(job,), daemon=True)
        self.reader.start()

    def _read(self, job):
        try:
            self.ours.sendall(_line(job))
            with self.ours.makefile("rb") as lines:
                for line in lines:
                    self.inbox.put(json.loads(line))
        except OSError as error:  # the host died early; its exit code and stderr tell why
            log.info("Python action channel closed: %s", error)

    def serve(self):
        while True:
            try:
                self.final = self.inbox.get_nowait()
            except queue.Empty:
                return

    def close(self):
        # Our copy of the host's end goes first, so that the reader sees the end of the stream.
        self.theirs.close()
        self.reader.join(CHANNEL_JOIN_SECONDS)
        self.serve()  # what arrived after the last poll, typically the final message
        self.ours.close()


def _line(message):
    return json.dumps(message, default=str).encode("utf-8") + b"\n"
