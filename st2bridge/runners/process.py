"""One child process for a runner: output streamed as it arrives and capped, timeout and cancel
enforced on the whole process tree.

The child starts a session of its own, so it and everything it spawns share one process group
that can be killed at once; a shell's background jobs do not outlive a timeout or a cancel.
It runs as the action account (runners/sandbox.py: ST2_ACTION_USER when the worker is root)
in a known environment (action_env), never the worker's.
"""

import codecs
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from .base import CANCELED, TIMEOUT, RunRefused
from .environment import check_env

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
KILL_GRACE_SECONDS = 2.0  # between SIGTERM and SIGKILL
READER_JOIN_SECONDS = 2.0  # after a kill, for output still in the pipes
CHUNK_BYTES = 64 * 1024
TRUNCATION_MARKER = "\n[output truncated after {limit} bytes]\n"
# StackStorm reports a timed-out action with the exit code of SIGKILL, whatever really ended it.
TIMEOUT_RETURN_CODE = -9
# The PATH and LANG of every action process, whatever the worker's own.
ACTION_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ACTION_LANG = "C.UTF-8"


@dataclass
class ProcessOutcome:
    return_code: int | None
    stdout: str
    stderr: str
    ending: str | None = None  # None when the process ended by itself, else TIMEOUT or CANCELED

    @property
    def timed_out(self):
        return self.ending == TIMEOUT

    @property
    def canceled(self):
        return self.ending == CANCELED


def action_env(request, extra, account, with_token=True):
    """The child's environment, the same on every worker host. Nothing comes from the worker's
    own environment, which holds secrets (database URL, datastore key, Django secret key) and
    whatever its shell set up: a fixed PATH, the action account's HOME, LANG, then the action's
    `env` (refused whole if it sets a variable that changes how a process starts: the API
    refuses it too, but a record or an action's metadata default may carry one), then, as
    StackStorm, its own ST2_ACTION_* variables (with the API's URL and the execution's token
    when the worker gave them), last so that `env` cannot fake them.

    Without `with_token`, the token and URL stay out: the Python action host gets them over
    its channel and sets them in its own os.environ, where another process of the action user
    cannot read them (/proc/<pid>/environ shows only the environment a process started with)."""
    env = {"PATH": ACTION_PATH, "HOME": account.home, "LANG": ACTION_LANG}
    env.update(checked_env(extra))
    env["ST2_ACTION_PACK_NAME"] = request.pack
    env["ST2_ACTION_EXECUTION_ID"] = str(request.execution_id)
    if with_token:
        env.update(api_env(request))
    return env


def api_env(request):
    """ST2_ACTION_API_URL and ST2_ACTION_AUTH_TOKEN, when the worker gave them."""
    if not request.auth_token:
        return {}
    return {"ST2_ACTION_API_URL": request.api_url, "ST2_ACTION_AUTH_TOKEN": request.auth_token}


def checked_env(env):
    """The action's `env` as strings, checked by the same rules as the API's (deny-list,
    names, values); RunRefused naming the variable otherwise."""
    try:
        check_env(env)
    except InvalidInput as error:
        raise RunRefused(str(error)) from None
    return {name: str(value) for name, value in (env or {}).items()}


def checked_cwd(cwd, account):
    """None (the worker's own directory, as StackStorm) or an existing directory that the
    action account can enter."""
    if cwd in (None, ""):
        return None
    if not isinstance(cwd, str) or not Path(cwd).is_dir():
        raise RunRefused(f'Working directory "{cwd}" does not exist.')
    if not account.can_enter(cwd):
        raise RunRefused(f'The action user "{account.name}" cannot enter "{cwd}".')
    return cwd


def run_process(
    argv, request, *, env, account, cwd=None, stdin_data=None, pass_fds=(), on_poll=None
):
    """Run argv (never through a shell) as `account` until it ends, times out or is canceled.

    The run is over when the process has exited AND its output pipes are closed: a background
    child still writing to them keeps the run going, within the timeout. `on_poll` is called
    on the caller's thread about every POLL_SECONDS while the process runs."""
    try:
        process = subprocess.Popen(  # noqa: S603 (argv list, no shell)
            argv,
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            pass_fds=pass_fds,
            **account.popen_arguments(),
        )
    except OSError as error:  # missing program or interpreter, not executable, ...
        raise RunRefused(f"Could not start {argv[0]}: {error.strerror or error}.") from error
    readers = [
        _StreamReader("stdout", process.stdout, request),
        _StreamReader("stderr", process.stderr, request),
    ]
    for reader in readers:
        reader.start()
    if stdin_data is not None:
        _feed_stdin(process, stdin_data)
    ending = _wait(process, readers, request, on_poll)
    if ending:
        _kill_group(process)
    for reader in readers:
        # Daemon threads: a pipe held open by a process that left the group must not hang us.
        reader.join(READER_JOIN_SECONDS if ending else None)
    return ProcessOutcome(process.wait(), readers[0].text(), readers[1].text(), ending)


def _feed_stdin(process, data):
    try:
        process.stdin.write(data)
        process.stdin.close()
    except BrokenPipeError:
        log.info("Process %s exited before reading its input", process.pid)


def _wait(process, readers, request, on_poll):
    deadline = None if request.timeout is None else time.monotonic() + request.timeout
    while True:
        if on_poll:
            on_poll()
        if process.poll() is not None and not any(reader.is_alive() for reader in readers):
            return None
        if request.cancel.is_set():
            return CANCELED
        if deadline is not None and time.monotonic() >= deadline:
            return TIMEOUT
        request.cancel.wait(POLL_SECONDS)


def _kill_group(process):
    """SIGTERM to the whole group, a short grace, then SIGKILL to whatever is left of it
    (members that ignore SIGTERM or outlived the leader)."""
    group = process.pid  # start_new_session: the child leads a group with its own pid
    _signal_group(group, signal.SIGTERM)
    try:
        process.wait(KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        log.info("Process group %s ignored SIGTERM", group)
    _signal_group(group, signal.SIGKILL)


def _signal_group(group, signum):
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass  # the whole group is already gone


class _StreamReader(threading.Thread):
    """Reads one pipe to its end, handing each chunk to on_output as soon as it arrives."""

    def __init__(self, output_type, pipe, request):
        super().__init__(daemon=True, name=f"{output_type}-{request.execution_id}")
        self.pipe = pipe
        self.collector = _Collector(output_type, request.on_output, request.max_output_bytes)

    def run(self):
        with self.pipe:
            while chunk := os.read(self.pipe.fileno(), CHUNK_BYTES):
                self.collector.feed(chunk)
        self.collector.finish()

    def text(self):
        return self.collector.text()


class _Collector:
    """Keeps up to `limit` bytes of one stream, then one truncation marker; the rest is read
    and dropped so that the child never blocks on a full pipe."""

    def __init__(self, output_type, on_output, limit):
        self.output_type = output_type
        self.on_output = on_output
        self.limit = limit
        self.kept = 0
        self.truncated = False
        self.parts = []
        # Incremental: a multi-byte character split across two chunks still decodes.
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data):
        if self.truncated:
            return
        room = self.limit - self.kept
        if len(data) > room:
            data, self.truncated = data[:room], True
        self.kept += len(data)
        text = self.decoder.decode(data, final=self.truncated)
        if self.truncated:
            text += TRUNCATION_MARKER.format(limit=self.limit)
        self._emit(text)

    def finish(self):
        if not self.truncated:
            self._emit(self.decoder.decode(b"", final=True))

    def text(self):
        return "".join(self.parts)

    def _emit(self, text):
        if not text:
            return
        self.parts.append(text)
        try:
            self.on_output(self.output_type, text)
        except Exception:  # recording live output failed; the text still reaches the result
            log.exception("on_output failed for %s output", self.output_type)
