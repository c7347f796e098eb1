"""What every runner takes and gives back. Runners are plain Python with no database access:
the worker builds a RunRequest, calls Runner.run() in a thread of its own (in its own loop
for `inline` runners) and records the RunResult. Output chunks and cancellation go through the
request; actions reach the API (the datastore among it) with the request's
api_url and auth_token, as the execution's user."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMEOUT = "timeout"
CANCELED = "canceled"


@dataclass
class RunRequest:
    execution_id: str
    action: dict  # action metadata: ref, pack, name, entry_point, runner_type, parameters
    pack_path: str | None  # entry points are relative to <pack_path>/actions/
    parameters: dict  # final values: runner and action parameters merged, cast, defaulted
    timeout: float | None  # seconds; None means no limit
    on_output: Callable[[str, str], None]  # ("stdout" | "stderr", text chunk)
    cancel: threading.Event
    config: dict = field(default_factory=dict)  # the pack config, for Python actions
    # ST2_ACTION_API_URL and ST2_ACTION_AUTH_TOKEN of the action's process (runners whose
    # `action_api` is true): a token of the execution's user, valid while it runs
    api_url: str = ""
    auth_token: str = ""
    max_output_bytes: int = 1_000_000  # per stream
    # http-request: refuse loopback, link-local and cloud metadata addresses (non-staff users
    # while ST2_HTTP_PROTECT_LOCAL is on; see runners/http_request.py)
    protect_local_addresses: bool = False

    @property
    def pack(self):
        return self.action.get("pack") or ""


@dataclass
class RunResult:
    status: str  # SUCCEEDED | FAILED | TIMEOUT | CANCELED
    result: dict | list | str | int | None


class RunnerUnavailable(InvalidInput):
    """The runner type is unknown, or known only as metadata (it cannot execute here)."""


class Runner:
    """One subclass per runner module, registered by name in runners.REGISTRY."""

    name = ""
    # Names of the runner's own parameters (as in runner_types.yaml). They configure the run
    # and are never handed to the action itself: not as script arguments, not to run().
    runner_parameters = frozenset()
    # True for a runner whose run() returns at once without I/O: the worker then calls it in
    # its own loop instead of a thread of its own.
    inline = False
    # True for a runner that starts a process of the action: the worker gives it a token of
    # the execution's user for ST2_ACTION_AUTH_TOKEN (RunRequest.auth_token).
    action_api = False

    def run(self, request: RunRequest) -> RunResult:
        raise NotImplementedError

    def action_parameters(self, request):
        """The action's own parameter values, without the runner's, in the order given."""
        return {
            name: value
            for name, value in request.parameters.items()
            if name not in self.runner_parameters
        }


class RunRefused(ValueError):
    """The request cannot run as given (bad entry point, cwd, env, sudo not allowed...). Runners
    turn it into a failed result carrying the message; nothing was started."""


def entry_point_path(request):
    """The action's entry point file, which must lie inside its pack. StackStorm resolves entry
    points under <pack>/actions/; a path that is absolute or climbs out of the pack (`..`,
    symlinks) is refused, so an action can only run code its pack ships."""
    entry_point = request.action.get("entry_point") or ""
    if not entry_point:
        raise RunRefused(f'Action "{request.action.get("ref")}" has no entry point.')
    if not request.pack_path:
        raise RunRefused(f'The pack of action "{request.action.get("ref")}" is not on disk.')
    if Path(entry_point).is_absolute():
        raise RunRefused(f'Entry point "{entry_point}" must be relative to the pack.')
    pack = Path(request.pack_path).resolve()
    path = (pack / "actions" / entry_point).resolve()
    if not path.is_relative_to(pack):
        raise RunRefused(f'Entry point "{entry_point}" is outside the pack.')
    if not path.is_file():
        raise RunRefused(f'Entry point "{entry_point}" does not exist in the pack.')
    return path
